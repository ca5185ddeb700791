"""The timing harness: statistics, warnings, the serial-fraction estimate, and sweeps that check results."""

from __future__ import annotations

import os
import random

import pytest

from parlab.measure import (
    MIN_CEILING_POINTS,
    ResultMismatch,
    amdahl_speedup,
    build_sweep,
    estimate_serial_fraction,
    gustafson_speedup,
    speedup_sweep,
    time_call,
    timing_from,
)
from parlab.results import Metadata, SerialFractionEstimate, Timing, format_seconds, format_speedup
from parlab.workloads import fib


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.2, 0.5, 1.0])
def test_the_estimate_recovers_a_known_serial_fraction(fraction):
    ks = [1, 2, 4, 8, 16]
    est = estimate_serial_fraction(ks, [amdahl_speedup(fraction, k) for k in ks])
    assert est.serial_fraction == pytest.approx(fraction, abs=1e-12)
    assert est.points_used == 4  # k = 1 says nothing about the serial fraction
    # Every point of an exact Amdahl curve gives the same Karp-Flatt value.
    assert est.low == pytest.approx(fraction, abs=1e-12) and est.high == pytest.approx(fraction, abs=1e-12)


def test_the_estimate_is_robust_to_measurement_noise():
    rng = random.Random(7)
    ks = [2, 3, 4, 6, 8, 12, 16] * 5
    noisy = [amdahl_speedup(0.1, k) * (1 + rng.uniform(-0.03, 0.03)) for k in ks]
    est = estimate_serial_fraction(ks, noisy)
    assert est.serial_fraction == pytest.approx(0.1, abs=0.01)
    assert est.low < est.serial_fraction < est.high  # the per-point values spread around it


def test_the_estimate_range_is_the_per_point_karp_flatt_values():
    # e_k = (1/s - 1/k) / (1 - 1/k): 1.6x on 2 gives 0.25, 2.5x on 4 gives 0.2.
    est = estimate_serial_fraction([1, 2, 4], [1.0, 1.6, 2.5])
    assert (est.low, est.high) == (pytest.approx(0.2), pytest.approx(0.25))
    assert est.low <= est.serial_fraction <= est.high and est.points_used == 2


def test_the_estimate_clamps_superlinear_and_slowdowns_and_rejects_useless_input():
    superlinear = estimate_serial_fraction([2, 4], [2.2, 4.5])
    assert superlinear.serial_fraction == 0.0 and superlinear.low == superlinear.high == 0.0
    convoy = estimate_serial_fraction([2], [0.6])  # slower than serial: every e_k > 1, clamped
    assert convoy.serial_fraction == 1.0 and convoy.high == 1.0
    with pytest.raises(ValueError, match="more than one worker"):
        estimate_serial_fraction([1], [1.0])
    with pytest.raises(ValueError, match="same length"):
        estimate_serial_fraction([2, 4], [1.5])


def test_a_ceiling_needs_three_points_and_a_serial_part():
    assert MIN_CEILING_POINTS == 3
    assert SerialFractionEstimate(0.25, 3, 0.2, 0.3).ceiling == 4
    assert SerialFractionEstimate(0.25, 2, 0.2, 0.3).ceiling is None  # two points project nothing
    assert SerialFractionEstimate(0.25, 1, 0.25, 0.25).ceiling is None
    assert SerialFractionEstimate(0.0, 5, 0.0, 0.01).ceiling is None  # no serial part: no finite ceiling


@pytest.mark.parametrize(("cores", "used"), [(1, 0), (2, 1), (4, 3), (16, 4)])
def test_build_sweep_estimates_from_points_within_the_cores(cores, used):
    meta = Metadata(cores, "3.13.0", "CPython", False, True, "fork", "Linux x86_64", "2026-12-01T10:00:00+00:00")
    serial = timing_from([1.0])
    measured = [(k, timing_from([1.0 / amdahl_speedup(0.1, k)]), 0.0, None) for k in (1, 2, 3, 4, 8)]
    sweep = build_sweep("s", "threads", None, 8, serial, measured, metadata=meta)
    if used == 0:
        assert sweep.estimate is None
    else:
        assert sweep.estimate is not None and sweep.estimate.points_used == used
        assert sweep.estimate.serial_fraction == pytest.approx(0.1)
        assert (sweep.estimate.ceiling is not None) == (used >= MIN_CEILING_POINTS)
    assert sweep.waiting is False
    none = build_sweep("s", "threads", None, 8, serial, measured, metadata=meta, estimate=False, waiting=True)
    assert none.estimate is None and none.waiting is True


def test_amdahl_and_gustafson_laws():
    assert amdahl_speedup(0.0, 8) == 8
    assert amdahl_speedup(1.0, 8) == 1
    assert amdahl_speedup(0.5, 2) == pytest.approx(4 / 3)
    assert gustafson_speedup(0.0, 8) == 8
    assert gustafson_speedup(0.25, 5) == pytest.approx(4.0)


def test_timing_statistics():
    t = timing_from([1.0, 2.0, 3.0, 4.0, 100.0], warmup=[9.0])
    assert t.median == 3.0
    assert t.mad == 1.0
    assert t.mean == 22.0
    assert t.quartiles == (2.0, 4.0)
    assert t.warmup == (9.0,)
    assert any("outlier" in w for w in t.warnings)
    assert any("unstable" in w for w in t.warnings)
    assert timing_from([1.0, 1.01, 0.99]).warnings == []
    assert t.summary() == "3.000 s ± 1.000 s (median ± MAD of 5)"
    with pytest.raises(ValueError):
        Timing(())


def test_time_call_discards_warmup():
    calls = []
    t = time_call(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6 and len(t.values) == 4 and len(t.warmup) == 2
    with pytest.raises(ValueError, match="repeats"):
        time_call(lambda: None, repeats=0)


def test_formats_match_the_sanitize_file():
    assert format_seconds(0.12345) == "0.123 s"
    assert format_speedup(1.954) == "1.95×"


@pytest.mark.parametrize("backend", ["threads", "processes"])
def test_sweep_checks_results_and_reports_every_point(backend):
    progress = []
    sweep = speedup_sweep(fib, [15] * 6, backend=backend, workers=[1, 2, 3], repeats=2,
                          progress=lambda done, total: progress.append((done, total)))
    assert sweep.workers == [1, 2, 3]
    assert progress[-1] == (4, 4)
    for point in sweep.points:
        assert point.run.results == [fib(15)] * 6
        assert point.speedup_low <= point.speedup <= point.speedup_high
        assert point.efficiency == pytest.approx(point.speedup / point.workers)
        assert point.oversubscribed == (point.workers > sweep.metadata.usable_cores)
    assert sweep.metadata.usable_cores >= 1
    assert [row["workers"] for row in sweep.table()] == [1, 2, 3]
    assert "workers" in sweep.summary()


def test_sweep_refuses_a_parallel_result_that_differs_from_serial():
    # os.getpid() differs between the parent (serial) and a process worker.
    with pytest.raises(ResultMismatch, match="differ"):
        speedup_sweep(os.getpid, [()] * 2, backend="processes", workers=[1], star=True, repeats=1)


def test_sweep_validates_before_measuring():
    with pytest.raises(ValueError, match="backend must be one of"):
        speedup_sweep(fib, [1], backend="gpu", workers=[1])
    with pytest.raises(ValueError, match="at least one worker count"):
        speedup_sweep(fib, [1], backend="threads", workers=[])
    with pytest.raises(ValueError, match="serial backend"):
        speedup_sweep(fib, [1], backend="serial", workers=[2])


@pytest.mark.slow
def test_paired_speedup_alternates_which_side_goes_first_when_asked():
    from parlab.measure import paired_speedup

    calls: list[str] = []

    def side(name: str):
        return lambda: calls.append(name) or 42

    paired = paired_speedup(side("s"), side("p"), workers=2, pairs=4, warmup=0, alternate=True)
    assert calls == ["s", "p", "p", "s", "s", "p", "p", "s"]
    assert paired.pairs == 4
    calls.clear()
    paired_speedup(side("s"), side("p"), workers=2, pairs=2, warmup=0)
    assert calls == ["s", "p", "s", "p"]


def test_paired_speedup_adds_pairs_while_noisy_and_says_when_it_stayed_noisy():
    from parlab.measure import paired_speedup

    def clocked(times):  # own_times: each call returns (result, the seconds it "took")
        it = iter(times)
        return lambda: (1, next(it))

    steady = paired_speedup(clocked([1.0] * 40), clocked([0.5] * 40), workers=2, pairs=5, warmup=0,
                            own_times=True, max_pairs=20)
    assert steady.pairs == 5 and not steady.noisy and steady.speedup == 2.0
    # ratios alternating 2.0 and 1.0: a wide interquartile range, so pairs are added up to the cap
    wobbly = [0.5, 1.0] * 20
    noisy = paired_speedup(clocked([1.0] * 40), clocked(wobbly), workers=2, pairs=5, warmup=0,
                           own_times=True, max_pairs=12)
    assert noisy.pairs == 12 and noisy.noisy and noisy.quartiles == (1.0, 2.0)
    with pytest.raises(ValueError, match="max_pairs must be at least pairs"):
        paired_speedup(clocked([1.0]), clocked([1.0]), workers=2, pairs=5, max_pairs=3)


def test_one_slow_repeat_of_three_is_not_called_unstable_but_a_real_spread_is():
    # pyperf's 10 % rule on the standard deviation fires on one slow run out of three (a quiet
    # machine shows that now and then); the median absolute deviation does not.
    assert timing_from([1.0, 1.0, 1.3]).warnings == []
    spread = timing_from([1.0, 1.2, 1.45])
    assert spread.spread_share == pytest.approx(0.2 / 1.2)
    assert spread.warnings == [("unstable: the repeats vary by 17% of the median (median absolute deviation); "
                               "more repeats give a steadier median")]
