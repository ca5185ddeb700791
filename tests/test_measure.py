"""The timing harness: statistics, warnings, the Amdahl fit, and sweeps that check results."""

from __future__ import annotations

import os
import random

import pytest

from parlab.measure import (
    ResultMismatch,
    amdahl_speedup,
    fit_amdahl,
    gustafson_speedup,
    speedup_sweep,
    time_call,
    timing_from,
)
from parlab.results import AmdahlFit, Timing, format_seconds, format_speedup
from parlab.workloads import fib


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.2, 0.5, 1.0])
def test_amdahl_fit_recovers_a_known_serial_fraction(fraction):
    ks = [1, 2, 4, 8, 16]
    fit = fit_amdahl(ks, [amdahl_speedup(fraction, k) for k in ks])
    assert fit.serial_fraction == pytest.approx(fraction, abs=1e-12)
    assert fit.points_used == 4  # k = 1 says nothing about the serial fraction


def test_amdahl_fit_is_robust_to_measurement_noise():
    rng = random.Random(7)
    ks = [2, 3, 4, 6, 8, 12, 16] * 5
    noisy = [amdahl_speedup(0.1, k) * (1 + rng.uniform(-0.03, 0.03)) for k in ks]
    assert fit_amdahl(ks, noisy).serial_fraction == pytest.approx(0.1, abs=0.01)


def test_amdahl_fit_clamps_superlinear_and_rejects_useless_input():
    assert fit_amdahl([2, 4], [2.2, 4.5]).serial_fraction == 0.0
    with pytest.raises(ValueError, match="more than one worker"):
        fit_amdahl([1], [1.0])
    with pytest.raises(ValueError, match="same length"):
        fit_amdahl([2, 4], [1.5])


def test_amdahl_and_gustafson_laws():
    assert amdahl_speedup(0.0, 8) == 8
    assert amdahl_speedup(1.0, 8) == 1
    assert amdahl_speedup(0.5, 2) == pytest.approx(4 / 3)
    assert gustafson_speedup(0.0, 8) == 8
    assert gustafson_speedup(0.25, 5) == pytest.approx(4.0)
    assert AmdahlFit(0.25, 1).max_speedup == 4
    assert AmdahlFit(0.0, 1).max_speedup == float("inf")


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
