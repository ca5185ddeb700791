"""Lessons 06a and 06b's conclusions: launches, the decision guide, the two serial fractions and exercise 2.

Every sentence must agree with its numbers over the regimes learners meet, on synthetic
sweeps: 1, 2, 16 and 64 usable cores; GIL on and off; a slowdown, about 1×, near the ideal,
superlinear, far below; a noisy serial timing; waiting tasks past the cores; a launch longer
than the run; a choice whose own number shows no gain. Each test says what the sentence must
and must not say.
"""

from __future__ import annotations

import pytest
from sweeps import CORES, meta, synthetic

from parlab.lessons.l06 import guide, strategy
from parlab.measure import build_sweep
from parlab.results import SerialFractionEstimate, Sweep, Timing

# --------------------------------------------------------------------------- lesson 06: launches

def test_launch_free_speedup_above_the_ideal_is_called_an_upper_bound():
    # 0.383 s per run, 0.190 s of it the launch: 0.78 / 0.193 s = 4.04× on 2 cores.
    sweep = synthetic(2, {1: 0.7, 2: 0.78 / 0.383}, backend="children", serial=0.78, startup=0.19)
    text = guide.describe_launch(sweep, 2, "children")
    assert "above the ideal 2.00×" in text and "upper bound" in text and "launch overlaps the work" in text


def test_launch_free_speedup_below_the_ideal_is_not_called_an_upper_bound():
    sweep = synthetic(16, {1: 0.9, 16: 10.0}, backend="mpi", startup=0.005)
    text = guide.describe_launch(sweep, 16, "ranks")
    assert "10.00× on 16 ranks" in text and "upper bound" not in text and "much longer" not in text


def test_a_launch_longer_than_the_run_is_not_subtracted():
    sweep = synthetic(2, {1: 0.5, 2: 0.8}, backend="mpi", startup=2.0)
    text = guide.describe_launch(sweep, 2, "ranks")
    assert "cannot be told apart" in text and "without the launch" not in text


def test_one_core_launch_uses_the_singular():
    sweep = synthetic(1, {1: 0.66}, backend="children", startup=0.1)
    text = guide.describe_launch(sweep, 1, "children")
    assert "0.66× on 1 child: slower than one" in text


# --------------------------------------------------------------------------- lesson 06: the guide

def _guide_sweeps(cores: int, thr: float, proc: float, *, gil: bool = True, noisy: bool = False,
                  with_launchers: bool = True) -> dict[str, Sweep]:
    ks = [1, cores] if cores > 1 else [1]
    serial = synthetic(cores, {1: 1.0}, backend="serial", gil=gil)
    if noisy:  # the serial run's own repeats spread widely
        timing = Timing((0.5, 1.0, 1.6))
        serial = build_sweep("serial", "serial", None, 4 * cores, timing, [(1, timing, 0.0, None)],
                             metadata=meta(cores, gil=gil))
    out = {"serial": serial,
           "threads": synthetic(cores, {k: (thr if k == cores else 0.95) for k in ks}, backend="threads",
                                gil=gil),
           "processes": synthetic(cores, {k: (proc if k == cores else 0.95) for k in ks}, gil=gil)}
    if with_launchers:
        out["children"] = synthetic(cores, {k: (0.8 * k if k > 1 else 0.7) for k in ks}, backend="children",
                                    startup=0.05, gil=gil)
        out["mpi"] = synthetic(cores, {k: (0.8 * k if k > 1 else 0.7) for k in ks}, backend="mpi",
                               startup=0.05, gil=gil)
    return out


def _guide(sweeps: dict[str, Sweep], io: float = 7.8, c: float = 1.8, cores: int = 2) -> str:
    skipped = {"kernel-threads": "no compiler here"}
    return "\n".join(guide.decision_guide(sweeps, skipped, io=(0.4, 0.4 / io, io), c_threads=(0.2, 0.2 / c, c)))


def test_gil_bound_threads_are_worded_with_their_number():
    text = _guide(_guide_sweeps(2, thr=0.78, proc=1.63))
    assert "0.78× on 2 threads: slower than one" in text  # 0.78× never goes without a word
    assert "1.63× on 2 processes" in text and "choose processes" in text
    assert "The GIL is enabled here, so one thread runs Python at a time: 0.78× on 2 threads" in text


def test_free_threaded_build_never_blames_the_gil():
    text = _guide(_guide_sweeps(16, thr=14.0, proc=12.0, gil=False))
    assert "without the GIL" in text and "14.00× on 16 threads: near the ideal 16.00×" in text
    assert "one thread runs Python at a time" not in text and "here threads were faster" in text
    slow = _guide(_guide_sweeps(16, thr=3.0, proc=12.0, gil=False))
    assert "one thread runs Python at a time" not in slow and "here processes were faster" in slow


def test_one_core_guide_promises_no_gain():
    text = _guide(_guide_sweeps(1, thr=0.97, proc=0.95), io=7.8, c=0.98)
    assert "one usable core" in text and "0.97× on 1 thread" in text and "0.95× on 1 process" in text
    assert "7.80× on 8 threads: near the ideal 8.00× (waiting tasks need no core" in text


@pytest.mark.parametrize("cores", CORES)
def test_io_past_the_cores_is_near_its_ideal_on_any_machine(cores):
    text = _guide(_guide_sweeps(cores, thr=0.9, proc=0.8 * cores if cores > 1 else 0.95), io=7.8)
    assert "7.80× on 8 threads: near the ideal 8.00×" in text and "more threads than cores help" in text


def test_io_that_did_not_overlap_is_not_praised():
    text = _guide(_guide_sweeps(2, thr=0.8, proc=1.7), io=1.0)
    assert "about the same as one" in text and "here they did not" in text and "help here" not in text


def test_a_thread_speedup_under_the_gil_is_not_explained_away():
    text = _guide(_guide_sweeps(2, thr=1.7, proc=1.8))
    assert "yet 1.70× on 2 threads" in text and "run the sweep again" in text
    assert "so one thread runs Python at a time:" not in text


def test_superlinear_processes_are_named():
    text = _guide(_guide_sweeps(2, thr=0.8, proc=2.5))
    assert "2.50× on 2 processes: more than 2×, superlinear" in text


def test_far_below_on_64_cores_says_the_share_of_the_ideal():
    text = _guide(_guide_sweeps(64, thr=0.9, proc=12.8))
    assert "12.80× on 64 processes: 20% of the ideal 64.00×" in text


def test_hashlib_line_caps_the_ideal_at_the_cores():
    text = _guide(_guide_sweeps(2, thr=0.8, proc=1.7), c=1.8)
    assert "1.80× on 2 threads: near the ideal 2.00×" in text and "no compiler here" in text


def test_more_than_one_machine_does_not_say_mpi_is_the_only_way():
    text = _guide(_guide_sweeps(2, thr=0.8, proc=1.7))
    assert "the one backend here that runs across hosts" not in text
    assert "MPI" in text and "Child scripts (lesson 04) run on several hosts too" in text
    missing = _guide(_guide_sweeps(2, thr=0.8, proc=1.7, with_launchers=False))
    assert "MPI was not measured here: not requested" in missing


def test_noisy_serial_timing_is_noted_without_certainty():
    text = _guide(_guide_sweeps(2, thr=0.8, proc=1.7, noisy=True))
    assert text.startswith("Note: the serial timing was unstable") and "run the sweep again" in text
    assert "other programs" not in text  # instability alone is no measurement of them


# --------------------------------------------------------------------------- lesson 06: two fractions

def test_fractions_name_f_and_alpha_and_tie_them():
    estimate = SerialFractionEstimate(0.227, 1, 0.227, 0.227)
    lines = strategy.describe_fractions(estimate, {1: 0.94, 2: 1.63}, {1: 0.94, 2: 1.68}, 2)
    text = "\n".join(lines)
    assert "Amdahl's f (the serial share of ONE worker's run)" in text and "0.227 from 1 point" in text
    assert "Gustafson's alpha (the serial share of the run on k workers)" in text and "0.320" in text
    assert "alpha = f × S(k)" in text and "f = 0.227 and alpha = 0.370" in text
    assert "close to it" not in text and "growing the problem changed" in text
    assert "0.94× on 1 worker: slower than one" not in text  # 0.94 is "about the same", said so
    assert "0.94× on 1 worker: about the same as one" in text


def test_fractions_that_agree_say_so():
    f = 0.1
    s2 = 1 / (f + (1 - f) / 2)
    alpha = f * s2
    lines = strategy.describe_fractions(SerialFractionEstimate(f, 1, f, f), {2: s2}, {2: 2 - alpha}, 2)
    assert "close to it" in "\n".join(lines)


def test_fractions_on_one_core_have_no_estimate_and_a_default():
    lines = strategy.describe_fractions(None, {1: 0.97}, {1: 0.96}, 1)
    text = "\n".join(lines)
    assert "no estimate" in text and "1 usable core" in text and "0.10, a value to try, not yours" in text
    assert "no fit" in text and "tied" not in text
    assert strategy.panel_fraction(None) == strategy.DEFAULT_FRACTION
    assert strategy.gustafson_share({1: 0.96}) is None


def test_fractions_on_many_cores_show_the_range_and_superlinear_scaled_points():
    est = SerialFractionEstimate(0.02, 5, 0.01, 0.05)
    scaled = {1: 1.0, 2: 2.0, 16: 18.0, 64: 60.0}
    text = "\n".join(strategy.describe_fractions(est, {2: 1.96, 16: 14.0, 64: 28.0}, scaled, 64))
    assert "from 5 points, 0.010 to 0.050 point by point" in text
    assert "18.00× on 16 workers: more than 16×, superlinear" in text
    assert "your fixed-size run on 64 workers" in text


def test_panel_fraction_is_the_estimate():
    assert strategy.panel_fraction(SerialFractionEstimate(0.3, 2, 0.2, 0.4)) == 0.3


# --------------------------------------------------------------------------- lesson 06: exercise 2

def test_choice_prints_both_numbers_and_the_faster():
    lines = strategy.describe_choice({"threads": (0.4, 0.22, 1.82), "processes": (0.4, 0.31, 1.29)}, 2, 2)
    text = "\n".join(lines)
    assert "threads: serial 0.400 s, parallel 0.220 s: 1.82× on 2 threads" in text
    assert "processes: serial 0.400 s, parallel 0.310 s: 1.29× on 2 processes" in text
    assert "threads were faster here" in text


def test_choice_when_processes_win_or_it_is_a_tie():
    won = "\n".join(strategy.describe_choice({"threads": (0.4, 0.5, 0.8), "processes": (0.4, 0.3, 1.33)}, 2, 2))
    assert "0.80× on 2 threads: slower than one" in won and "processes were faster here" in won
    assert "releases the GIL" not in won
    tie = "\n".join(strategy.describe_choice({"threads": (0.4, 0.4, 1.0), "processes": (0.4, 0.39, 1.03)}, 1, 1))
    assert "About the same here" in tie and "faster here" not in tie and "on 1 thread" in tie
    with pytest.raises(ValueError):
        strategy.describe_choice({}, 2, 2)


def test_choice_when_the_faster_one_did_not_beat_serial():
    text = "\n".join(strategy.describe_choice({"threads": (0.1, 0.11, 0.87), "processes": (0.06, 0.19, 0.31)}, 2, 2))
    assert "0.87× on 2 threads: slower than one" in text and "threads were faster here" in text
    assert "neither beat the serial run" in text and "hash at the same time" not in text


# --------------------------------------------------------------------------- lesson 06: no gain, no support

def test_a_choice_whose_number_shows_no_gain_says_so():
    text = _guide(_guide_sweeps(2, thr=0.8, proc=0.49), c=0.81)
    assert "0.49× on 2 processes: slower than one" in text
    assert text.count("does not support the choice by itself") == 2  # processes and hashlib
    good = _guide(_guide_sweeps(2, thr=0.8, proc=1.8), c=1.8)
    assert "does not support" not in good


def test_one_core_never_asks_for_a_gain():
    text = _guide(_guide_sweeps(1, thr=0.97, proc=0.95), c=0.98)
    assert "does not support" not in text


def test_fractions_from_a_slowdown_are_not_read_as_serial_code():
    est = SerialFractionEstimate(1.0, 1, 1.0, 1.0)
    text = "\n".join(strategy.describe_fractions(est, {1: 0.95, 2: 0.49}, {1: 1.7, 2: 0.75}, 2))
    assert "the fixed-size and the scaled runs gained nothing over one worker" in text and "cannot be compared" in text
    assert "close to it" not in text and "tied by" not in text
    # only the run that gained nothing is said to have gained nothing (the fixed-size one gained 1.53x here)
    one = "\n".join(strategy.describe_fractions(est, {1: 0.95, 2: 1.53}, {1: 1.0, 2: 1.02}, 2))
    assert "the scaled run gained nothing" in one and "fixed-size and" not in one
    flat = "\n".join(strategy.describe_fractions(SerialFractionEstimate(0.045, 1, 0.045, 0.045),
                                                 {2: 1.91}, {1: 1.02, 2: 1.0}, 2))
    assert "scaled 1.00×" in flat and "cannot be compared" in flat and "growing the problem" not in flat
