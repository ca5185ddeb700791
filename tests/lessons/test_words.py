"""The shared speedup sentences: each regime learners meet, on 1, 2, 16 and 64 cores, CPU-bound and waiting."""

from __future__ import annotations

import re

import pytest

from parlab.lessons import words as conclude
from parlab.measure import ideal_speedup

CORES = [1, 2, 16, 64]


def _number(sentence: str) -> float:
    return float(re.match(r"([0-9.]+)×", sentence).group(1))


@pytest.mark.parametrize("cores", CORES)
@pytest.mark.parametrize("speedup", [0.6, 0.84, 0.89])
def test_a_slowdown_is_called_a_slowdown_never_about_one(cores, speedup):
    text = conclude.describe_speedup(speedup, 2, cores)
    assert "slower" in text and "about" not in text and "ideal" not in text
    assert _number(text) == pytest.approx(speedup, abs=0.005)


@pytest.mark.parametrize("cores", CORES)
def test_about_one_only_between_the_bounds(cores):
    assert "about the same" in conclude.describe_speedup(0.95, 4, cores)
    assert "about the same" in conclude.describe_speedup(1.08, 4, cores)
    assert "about the same" not in conclude.describe_speedup(0.85, 4, cores)


@pytest.mark.parametrize("cores", CORES)
def test_superlinear_is_named(cores):
    text = conclude.describe_speedup(2.4, 2, cores)
    assert "superlinear" in text and "near the ideal" not in text


def test_the_ideal_is_capped_at_the_cores_for_cpu_work_and_not_for_waiting():
    assert ideal_speedup(8, 2) == 2.0
    assert ideal_speedup(8, 2, waiting=True) == 8.0
    cpu = conclude.describe_speedup(1.9, 8, 2)
    assert "near the ideal 2.00×" in cpu and "capped at the 2 usable cores" in cpu
    io = conclude.describe_speedup(7.6, 8, 2, waiting=True, what="threads")
    assert "near the ideal 8.00×" in io and "need no core" in io and "8 threads" in io


def test_far_below_the_ideal_gives_the_share_reached():
    text = conclude.describe_speedup(6.0, 16, 16)
    assert "38% of the ideal 16.00×" in text and "near" not in text
    assert conclude.regime(40.0, 64, 64) == "below-ideal"
    assert conclude.regime(60.0, 64, 64) == "near-ideal"
    assert conclude.regime(1.0, 1, 1) == "same"


def test_oversubscribed_cpu_work_near_the_cap_is_near_the_ideal_not_a_failure():
    assert conclude.regime(1.85, 4, 2) == "near-ideal"
    assert conclude.regime(1.85, 4, 2, waiting=True) == "below-ideal"


def test_a_wide_spread_warns_and_a_narrow_one_does_not():
    assert conclude.spread_warning(1.8, 1.9, 1.95) is None
    warning = conclude.spread_warning(0.9, 1.5, 1.9)
    assert warning and "0.90×" in warning and "1.90×" in warning and "run the cell again" in warning


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="> 0"):
        conclude.regime(0.0, 2, 2)
    with pytest.raises(ValueError, match="workers and cores"):
        ideal_speedup(0, 2)
    with pytest.raises(ValueError, match="low <= high"):
        conclude.spread_warning(2.0, 1.5, 1.0)


def test_above_the_cap_of_the_cores_is_not_called_near_the_ideal():
    text = conclude.describe_speedup(1.3, 2, 1)
    assert "above the ideal 1.00×" in text and "near" not in text and "superlinear" not in text
    assert conclude.regime(1.3, 2, 1, waiting=True) == "below-ideal"  # waiting: the ideal is 2
    assert conclude.regime(2.5, 8, 2) == "above-ideal"


def test_superlinear_waiting_tasks_do_not_blame_the_caches():
    assert "caches" not in conclude.describe_speedup(9.5, 8, 2, waiting=True)
    assert "caches" in conclude.describe_speedup(2.5, 2, 2)


def test_noisiest_warning_names_the_widest_point_or_nothing():
    from parlab.measure import build_sweep, timing_from

    steady = timing_from([0.5, 0.5, 0.5])
    noisy = timing_from([0.3, 0.5, 0.9])
    sweep = build_sweep("s", "processes", None, 4, timing_from([1.0]), [(2, steady, 0.0, None), (3, noisy, 0.0, None)])
    worst, sentence = conclude.noisiest_warning(sweep.points)
    assert worst.workers == 3 and "run the cell again" in sentence
    calm = build_sweep("s", "processes", None, 4, timing_from([1.0]), [(2, steady, 0.0, None)])
    assert conclude.noisiest_warning(calm.points) is None


@pytest.mark.parametrize("cores", CORES)
def test_other_programs_are_blamed_only_when_measured_busy(cores):
    assert "not measured here" in conclude.unexplained(None, cores)
    quiet = conclude.unexplained(0.1, cores)
    assert "quiet meanwhile" in quiet and "kept" not in quiet
    busy = conclude.unexplained(1.5, cores)
    assert f"kept about 1.5 of the {cores} usable core" in busy and "(measured)" in busy
    for sentence in (quiet, busy, conclude.unexplained(None, cores)):
        assert "probably" not in sentence and "may have" not in sentence  # a measurement, not a guess
