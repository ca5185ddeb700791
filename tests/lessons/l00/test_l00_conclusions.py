"""Lesson 00's conclusions: the first sweep's sentences and its serial-fraction estimate, on synthetic sweeps.

Every sentence must agree with its numbers over the regimes learners meet: 1, 2, 16 and 64
usable cores; GIL on and off; a slowdown, about 1×, near the ideal, superlinear, far below; a
noisy machine, and other programs named only when measured busy; more workers than cores
helping (waiting tasks) and not (CPU work); an estimate that projects a ceiling only from
enough points. Each test says what the sentence must and must not say.
"""

from __future__ import annotations

import re

import pytest
from sweeps import CORES, meta, synthetic

from parlab.lessons.l00 import measure as start
from parlab.lessons.words import point_at_cores
from parlab.measure import build_sweep
from parlab.results import Timing


def _up_to(cores: int, efficiency: float) -> dict[int, float]:
    ks = sorted({1, 2, 4, cores // 2, cores} - {0}) if cores > 1 else [1]
    return {k: (1.0 if k == 1 else efficiency * k) for k in ks if k <= cores}


# --------------------------------------------------------------------------- lesson 00: the first sweep

def test_one_core_says_so_and_claims_no_gain():
    text = start.describe_first_sweep(synthetic(1, {1: 0.97}))
    assert "one usable core" in text.lower() and "0.97×" in text
    assert "faster" not in text.split(".")[0]  # no "ran 0.97× faster"
    assert "Amdahl" not in text


@pytest.mark.parametrize("cores", CORES[1:])
def test_below_the_ideal_is_overhead_never_amdahl(cores):
    text = start.describe_first_sweep(synthetic(cores, _up_to(cores, 0.6)))
    top = f"{0.6 * cores:.2f}× on {cores} processes"
    assert top in text and f"of the ideal {cores:.2f}×" in text
    assert "no part of this work has to run serially" in text
    # tasks of 1/(4 × cores) s: far longer than a hand-off, so the pool is named as not the cause
    assert "not the pool: handing out a task costs well under a millisecond" in text
    assert "Amdahl" not in text and "other programs" not in text  # nothing measured them busy


def test_below_the_ideal_with_short_tasks_names_the_pool():
    text = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: 1.2}, serial=0.004))  # 0.5 ms a task
    assert "the pool handing out each task and collecting each result" in text and "not the pool" not in text


@pytest.mark.parametrize(("others", "said"), [
    (1.2, "other programs kept about 1.2 of the 2 usable cores busy meanwhile (measured)"),
    (0.05, None),
    (None, None),
])
def test_other_programs_are_named_only_when_measured_busy(others, said):
    text = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: 1.2}, others=others))
    if said:
        assert said in text
    else:
        assert "other programs" not in text


def test_near_the_ideal_names_the_small_gap_as_overhead():
    text = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: 1.79}))
    assert "near the ideal 2.00×" in text and "small gap" in text and "Amdahl" not in text


@pytest.mark.parametrize("speedup, word", [(0.6, "slower than one"), (0.84, "slower than one"),
                                           (1.02, "about the same as one")])
def test_a_slowdown_of_tiny_tasks_is_the_pools_cost(speedup, word):
    text = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: speedup}, serial=0.004))  # 0.5 ms a task
    assert word in text and "so short that" in text and "Larger tasks hide that cost" in text
    assert ("more than" in text) == (speedup < 0.9)
    assert "about 1×" not in text and "ideal" not in text and "other work" not in text
    if speedup < 0.9:
        assert "about the same" not in text


@pytest.mark.parametrize("speedup", (0.46, 1.0))
def test_a_slowdown_of_long_tasks_is_not_blamed_on_the_pool(speedup):
    text = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: speedup}))  # 0.125 s a task
    assert "cannot explain this" in text and "Run the cell again" in text
    assert "other programs' use of the cores was not measured here" in text  # no blame without a measurement
    assert "Larger tasks" not in text and "Amdahl" not in text


@pytest.mark.parametrize(("others", "said"), [
    (0.9, "other programs kept about 0.9 of the 2 usable cores busy meanwhile (measured)"),
    (0.05, "other programs were quiet meanwhile (about 0.1 of a core, measured)"),
])
def test_a_slowdown_of_long_tasks_names_other_programs_only_as_measured(others, said):
    text = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: 0.8}, others=others))
    assert "cannot explain this" in text and said in text


def test_gil_bound_threads_are_explained_by_the_build_not_by_other_programs():
    on = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: 0.84}, backend="threads", gil=True))
    assert "0.84× on 2 threads: slower than one" in on and "GIL enabled" in on and "other work" not in on
    off = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: 1.9}, backend="threads", gil=False))
    assert "1.90× on 2 threads: near the ideal 2.00×" in off and "GIL" not in off


def test_superlinear_is_named():
    text = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: 2.4}))
    assert "superlinear" in text and "gap" not in text


def test_the_headline_is_the_point_at_the_cores_not_the_best_one():
    # The best speedup was the single process (1.01×): that is not "reached 1.01× with 1 processes".
    sweep = synthetic(2, {1: 1.01, 2: 0.95})
    assert point_at_cores(sweep).workers == 2
    text = start.describe_first_sweep(sweep)
    assert "0.95× on 2 processes" in text and "1.01×" not in text


def test_uneven_split_is_named_with_its_limit():
    text = start.describe_first_sweep(synthetic(64, {1: 1.0, 2: 1.9, 64: 35.0}, tasks=100))
    assert "do not split evenly over 64 workers" in text and "50.00×" in text


def test_oversubscription_hurting_cpu_and_helping_waits():
    cpu = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: 1.7, 4: 1.6}))
    assert "Past the cores, 1.60× on 4 processes" in cpu and "capped at the 2 usable cores" in cpu
    assert "take turns" in cpu and "can still help" not in cpu
    waits = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: 1.95, 8: 7.8}, backend="threads",
                                                 waiting=True))
    assert "7.80× on 8 threads: near the ideal 8.00×" in waits and "can still help" in waits
    assert "take turns" not in waits


def test_a_noisy_machine_is_flagged():
    noisy = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: 1.5}, spread=0.3))
    assert "repeats ranged from" in noisy
    quiet = start.describe_first_sweep(synthetic(2, {1: 1.0, 2: 1.5}))
    assert "repeats ranged" not in quiet and "other programs" not in quiet


@pytest.mark.parametrize("cores", CORES)
def test_no_sentence_contradicts_its_number(cores):
    for eff in (0.3, 0.6, 0.95, 1.3):
        text = start.describe_first_sweep(synthetic(cores, _up_to(cores, eff)))
        for number in re.findall(r"(\d+\.\d\d)× on \d+ process", text):
            s = float(number)
            if s < 0.9:
                assert "slower" in text
            if s > 1.1 * cores:
                assert "superlinear" in text


# --------------------------------------------------------------------------- lesson 00: the estimate

def test_estimate_on_one_core_is_absent_and_says_why():
    text = start.describe_estimate(synthetic(1, {1: 1.0}))
    assert "No serial-fraction estimate" in text and "one" in text and "ceiling" not in text


def test_estimate_on_two_cores_projects_no_ceiling_and_says_why():
    text = start.describe_estimate(synthetic(2, {1: 1.0, 2: 1.79}))
    assert "estimate" in text and "from 1 point" in text
    assert "No ceiling 1/f is projected" in text and "can give only 1" in text
    assert "overhead" in text and "not a measured serial fraction" in text
    assert "would cap" not in text


@pytest.mark.parametrize("cores", (16, 64))
def test_estimate_from_many_points_names_a_projection_not_a_measurement(cores):
    text = start.describe_estimate(synthetic(cores, _up_to(cores, 0.7)))
    assert "would cap this work at" in text and "a projection" in text and "point by point" in text
    assert "No ceiling" not in text


def test_estimate_capped_at_one_says_a_slowdown_is_no_serial_part():
    text = start.describe_estimate(synthetic(2, {1: 1.0, 2: 0.46}))
    assert "1.000 from 1 point" in text and "capped at 1" in text and "no serial part can cause" in text
    assert "capped" not in start.describe_estimate(synthetic(2, {1: 1.0, 2: 1.5}))


def test_estimate_of_zero_limits_nothing():
    text = start.describe_estimate(synthetic(2, {1: 1.0, 2: 2.4}))
    assert "is 0" in text and "no ceiling is projected" in text and "overhead written" not in text


def test_estimate_left_out_says_so():
    sweep = build_sweep("t", "threads", None, 8, Timing((1.0,)), [(2, Timing((0.5,)), 0.0, None)],
                        metadata=meta(2), estimate=False)
    assert start.describe_estimate(sweep).startswith("No serial-fraction estimate")
