"""Lesson 01a: threads by hand (one-shot wording) and the convoy effect (measurement and wording).

The wording is checked on synthetic numbers over the regimes learners meet: 1, 2, 16 and 64
usable cores; a standard build (GIL on), a free-threaded build (GIL off) and one with the GIL
on again; a stall, no stall and a run that was faster beside the CPU-bound thread.
"""

from __future__ import annotations

import sys

import matplotlib
import matplotlib.pyplot as plt
import pytest

from parlab.lessons.l01 import convoy
from parlab.measure import timing_from
from parlab.results import Metadata, format_seconds, format_speedup

matplotlib.use("Agg")

BUILDS = {
    "standard": {"free": False, "gil_on": True},
    "free-threaded": {"free": True, "gil_on": False},
    "PYTHON_GIL=1": {"free": True, "gil_on": True},
}


def _meta(cores: int, build: str) -> Metadata:
    b = BUILDS[build]
    return Metadata(cores, "3.13.5", "CPython", b["free"], b["gil_on"], "forkserver", "Linux x86_64",
                    "2026-12-01T00:00:00+00:00")


def _result(alone: float, beside: float, short: float, cores: int, build: str) -> convoy.ConvoyResult:
    return convoy.ConvoyResult(20, timing_from([alone] * 3), timing_from([beside] * 3),
                               timing_from([short] * 3), 0.005, 0.001, _meta(cores, build))


# --------------------------------------------------------------------------- threads by hand

@pytest.mark.parametrize("cores", [1, 2, 16, 64])
@pytest.mark.parametrize("build", list(BUILDS))
@pytest.mark.parametrize("speedup", [0.8, 1.0, 1.9, 7.5])
def test_by_hand_cpu_words_follow_the_number_and_the_build(cores, build, speedup):
    workers = 8
    text = convoy.describe_by_hand("count_primes", 1.0, 1.0 / speedup, workers, _meta(cores, build))
    assert format_seconds(1.0) in text and format_speedup(speedup) in text
    assert ("slower" in text) == (speedup < 0.9)
    if cores == 1:
        assert "one usable core" in text
    elif BUILDS[build]["gil_on"] and speedup <= 1.1:
        assert "take turns" in text or "handing the GIL" in text
    elif BUILDS[build]["gil_on"]:
        assert "Unexpected with the GIL on" in text
    if BUILDS[build]["free"] and BUILDS[build]["gil_on"] and cores > 1:
        assert "GIL on again" in text


@pytest.mark.parametrize("speedup", [0.7, 1.0, 6.0, 15.9])
def test_by_hand_waiting_words(speedup):
    text = convoy.describe_by_hand("16 round trips", 0.32, 0.32 / speedup, 16, _meta(2, "standard"),
                                   waiting=True)
    if speedup > 1.1:
        assert "overlapped" in text and "Unexpected" not in text
    else:
        assert "Unexpected for waiting tasks" in text
    assert ("slower" in text) == (speedup < 0.9)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "1", True])
def test_by_hand_rejects_bad_seconds(bad):
    with pytest.raises(ValueError, match="positive number of seconds"):
        convoy.describe_by_hand("x", bad, 1.0, 2, _meta(2, "standard"))


# --------------------------------------------------------------------------- the convoy effect

@pytest.mark.parametrize("cores", [2, 16, 64])
def test_convoy_with_the_gil_on_names_the_effect_and_the_interval(cores):
    text = convoy.describe_convoy(_result(0.05, 0.5, 0.2, cores, "standard"))
    assert "10.00 times as long as alone" in text and "4.00 times as long as alone" in text
    assert "The convoy effect" in text and "switch interval" in text
    assert "shortened the stalls (0.40 times the time with 5 ms)" in text
    assert "Run the cell again" not in text and "GIL on again" not in text


def test_convoy_where_the_short_interval_did_not_help_asks_for_a_rerun():
    text = convoy.describe_convoy(_result(0.05, 0.5, 0.5, 2, "standard"))
    assert "did not shorten the stalls" in text and "Run the cell again" in text


def test_convoy_with_the_gil_on_again_says_so():
    text = convoy.describe_convoy(_result(0.05, 0.5, 0.2, 2, "PYTHON_GIL=1"))
    assert "GIL on again" in text and "The convoy effect" in text


@pytest.mark.parametrize("cores", [2, 16, 64])
@pytest.mark.parametrize(("beside", "words"), [(0.04, "less time than alone (0.80 times as long)"),
                                               (0.05, "about as long as alone (1.00 times)"),
                                               (0.08, "1.60 times as long as alone")])
def test_convoy_disappears_without_a_gil(cores, beside, words):
    text = convoy.describe_convoy(_result(0.05, beside, beside, cores, "free-threaded"))
    assert "the convoy effect disappears" in text and "The convoy effect:" not in text
    assert words in text


def test_a_stall_without_a_gil_is_blamed_on_other_programs():
    text = convoy.describe_convoy(_result(0.05, 0.5, 0.5, 2, "free-threaded"))
    assert "yet the round trips stalled" in text and "Run the cell again" in text


@pytest.mark.parametrize("build", list(BUILDS))
def test_convoy_on_one_core_names_the_core(build):
    for beside in (0.05, 0.5):
        text = convoy.describe_convoy(_result(0.05, beside, beside, 1, build))
        if BUILDS[build]["gil_on"] and beside == 0.5:
            assert "The convoy effect" in text
        else:
            assert "one usable core" in text


def test_no_stall_with_the_gil_on_is_unexpected():
    text = convoy.describe_convoy(_result(0.05, 0.05, 0.05, 2, "standard"))
    assert "about as long as alone (1.00 times)" in text and "Unexpected with the GIL on" in text


@pytest.mark.parametrize("build", list(BUILDS))
@pytest.mark.parametrize("beside", [0.02, 0.05, 0.4])
def test_describe_beside_follows_the_ratio(build, beside):
    text = convoy.describe_beside(20, 0.05, beside, _meta(2, build))
    ratio = beside / 0.05
    if ratio > 1.1:
        assert f"{ratio:.2f} times as long as alone" in text
    elif ratio < 0.9:
        assert "less time than alone" in text
    if ratio >= convoy.CONVOY:
        assert ("a wait for the GIL" in text) == BUILDS[build]["gil_on"]
    elif not BUILDS[build]["gil_on"]:
        assert "did not wait" in text


def test_busy_thread_restores_the_switch_interval_and_checks_input():
    before = sys.getswitchinterval()
    seen = convoy.busy_thread(sys.getswitchinterval, interval_s=0.002)
    assert seen == pytest.approx(0.002) and sys.getswitchinterval() == before
    with pytest.raises(RuntimeError):
        convoy.busy_thread(lambda: (_ for _ in ()).throw(RuntimeError("boom")), interval_s=0.002)
    assert sys.getswitchinterval() == before
    with pytest.raises(ValueError, match="interval_s"):
        convoy.busy_thread(lambda: None, interval_s=5.0)


def test_measure_convoy_times_checked_round_trips():
    before = sys.getswitchinterval()
    result = convoy.measure_convoy(3, repeats=1)
    assert result.trips == 3 and sys.getswitchinterval() == before
    assert result.interval_s == before and result.short_interval_s == 0.001
    assert min(result.alone.median, result.beside.median, result.beside_short.median) > 0
    assert result.ratio == result.beside.median / result.alone.median
    assert format_seconds(result.alone.median) in convoy.describe_convoy(result)


@pytest.mark.parametrize(("kwargs", "error"), [({"trips": 0}, ValueError), ({"trips": True}, TypeError),
                                               ({"repeats": 0}, ValueError), ({"short_interval_s": 2.0}, ValueError)])
def test_measure_convoy_rejects_bad_input(kwargs, error):
    with pytest.raises(error, match=f"{next(iter(kwargs))} must be"):
        convoy.measure_convoy(**{"trips": 3, **kwargs})


def test_plot_convoy_returns_its_axes():
    ax = convoy.plot_convoy(_result(0.05, 0.5, 0.2, 2, "standard"))
    assert len(ax.patches) == 3 and "20 socket round trips" in ax.get_title()
    plt.close("all")
