"""Lesson 04's conclusions: at-least-once delivery, the children sweep, start-up and the redis import.

Each test says what the sentence must and must not say, on synthetic results over the regimes
learners meet: 1, 2, 16 and 64 usable cores; GIL on and off; slower than one (convoy), about
one, near the ideal, superlinear, far below; a wide spread; more children than cores helping
and hurting; at-least-once execution where tasks rerun.
"""

from __future__ import annotations

import pytest
from sweeps import launched, timing

from parlab import launch
from parlab.coord.board import Outcome
from parlab.lessons.l04 import children as jobs

# --------------------------------------------------------------------------- synthetic results


def job(attempts: list[int], duplicates: list[int | None], *, killed: str | None = None,
        results: list[int] | None = None) -> jobs.JobResult:
    results = results if results is not None else list(range(len(attempts)))
    outcomes = tuple(Outcome(str(i), r, "child-1", a) for i, (r, a) in enumerate(zip(results, attempts, strict=True)))
    reports = tuple(None if d is None else {"done": 1, "duplicates": d, "claims": 1} for d in duplicates)
    completed = tuple(launch.Completed(("python",), -9 if d is None else 0, "", "", 0.1) for d in duplicates)
    return jobs.JobResult("embedded", len(duplicates), outcomes, reports, completed, 0.5, 0.1, killed,
                          ("0",) if killed else ())


# --------------------------------------------------------------------------- lesson 04: delivery


def test_a_clean_run_says_at_least_once_not_exactly_once():
    text = jobs.describe_delivery(job([1, 1, 1, 1], [0, 0]), expected=[0, 1, 2, 3])
    assert "4 tasks, 4 results kept: one per task" in text and "equal to the serial run" in text
    assert "claimed once this time (4 claims)" in text and "at least once" in text
    assert "arrived exactly once" not in text and "each exactly once" not in text


def test_a_killed_child_shows_a_task_claimed_twice():
    text = jobs.describe_delivery(job([2, 1, 1, 1], [None, 0], killed="child-0"), expected=[0, 1, 2, 3])
    assert "claimed 5 times for 4 tasks" in text and "1 task (0) ran or started more than once" in text
    assert "1 claim died with child-0" in text and "0 late results discarded" in text
    assert "at-least-once execution" in text and "safe to run twice" in text
    assert "exactly once" not in text


def test_a_short_lease_shows_work_done_twice_but_one_result_kept():
    text = jobs.describe_delivery(job([2, 2, 1, 3], [2, 2]), expected=[0, 1, 2, 3])
    assert "claimed 8 times for 4 tasks" in text and "3 tasks (0, 1, 3)" in text
    assert "4 late results discarded" in text and "one per task" in text
    assert "died with" not in text


def test_results_that_differ_from_the_serial_run_are_named():
    text = jobs.describe_delivery(job([1, 1], [0], results=[5, 6]), expected=[0, 1])
    assert "DIFFER from the serial run" in text and "equal to" not in text


# --------------------------------------------------------------------------- lesson 04: the sweep


def test_job_summary_names_the_baseline_one_child_with_its_startup():
    text = jobs.job_summary(launched(2, {1: 1.0, 2: 1.31, 3: 1.58}))
    first = text.splitlines()[0]
    assert "16 tasks; 1 child, start-up included: 1.000 s" in first and "serial" not in first
    assert "(more children than cores)" in text.splitlines()[-1]
    assert "Amdahl" not in text


def test_two_cores_oversubscription_helping_is_not_blamed_on_other_programs():
    text = jobs.describe_children(launched(2, {1: 1.0, 2: 1.31, 3: 1.58}))
    assert "1.31× on 2 children: 66% of the ideal 2.00× (one core per worker)" in text
    assert "1.58× on 3 children: 79% of the ideal 2.00× (capped at the 2 usable cores)" in text
    assert "More children than cores did better than one per core" in text
    assert "waiting for the server" in text and "The best was 3 children: 1.58×" in text
    assert "other programs" not in text and "noise" not in text and "about 1×" not in text


def test_a_wide_spread_says_so_and_calls_overlapping_ranges_noise():
    text = jobs.describe_children(launched(2, {1: 1.0, 2: 1.31, 3: 1.58}, spread=0.3))
    assert "or it is noise: the repeats' ranges overlap" in text
    assert "the repeats ranged from" in text and "run the cell again" in text


def test_two_cores_oversubscription_hurting_cpu_work():
    text = jobs.describe_children(launched(2, {1: 1.0, 2: 1.9, 3: 1.5}))
    assert "1.90× on 2 children: near the ideal 2.00×" in text
    assert "slower than one child per core (1.50× against 1.90× with 2 children)" in text
    assert "did better" not in text and "The best was 2 children: 1.90×" in text


def test_one_core_a_slowdown_is_never_about_one():
    text = jobs.describe_children(launched(1, {1: 1.0, 2: 0.6}))
    assert "1.00× on 1 child: about the same as one (a single worker)" in text
    assert "1 core: children can only take turns" in text
    assert "0.60× on 2 children: slower than one, taking 1.67 times as long" in text
    assert "The best was one child" in text
    assert "about the same as one child per core" not in text and "near the ideal" not in text


def test_convoy_on_two_cores():
    text = jobs.describe_children(launched(2, {1: 1.0, 2: 0.8, 3: 0.7}))
    assert "0.80× on 2 children: slower than one" in text and "The best was one child" in text
    assert "about the same" not in text and "of the ideal" not in text


def test_about_one_on_two_cores():
    text = jobs.describe_children(launched(2, {1: 1.0, 2: 1.05, 3: 1.02}))
    assert "1.05× on 2 children: about the same as one" in text
    assert "about the same as one child per core" in text and "near the ideal" not in text


def test_sixteen_cores_superlinear_is_named():
    text = jobs.describe_children(launched(16, {1: 1.0, 8: 7.5, 16: 18.5, 17: 17.0}))
    assert "18.50× on 16 children: more than 16×, superlinear" in text
    assert "17.00× on 17 children" in text and "about the same as one child per core" in text


def test_sixty_four_cores_far_below_the_ideal_and_gil_off_words_the_same():
    for gil in (True, False):
        text = jobs.describe_children(launched(64, {1: 1.0, 32: 5.0, 64: 6.0, 65: 5.9}, gil=gil))
        assert "6.00× on 64 children: 9% of the ideal 64.00× (one core per worker)" in text
        assert "near the ideal" not in text and "GIL" not in text


def test_startup_against_short_tasks_and_long_tasks():
    short = jobs.describe_startup(launched(2, {1: 1.0, 2: 1.5}, startup=0.1), timing(0.066))
    assert "0.110 s" in short and "0.056 s (one child's time less its start-up, over 16 tasks)" in short
    assert "about 2.0 tasks of work: give each child many more tasks" in short
    long = jobs.describe_startup(launched(2, {1: 1.0, 2: 1.9}, startup=0.1, serial=20.0), timing(0.066))
    assert "0.1 of one task's work: here one task outweighs a child's start" in long
    assert "eats the gain" not in long
    empty = jobs.describe_startup(launched(2, {1: 1.0}, startup=2.0), timing(0.066))
    assert "no measurable time" in empty and "tasks of work" not in empty


@pytest.mark.parametrize(("embedded", "redis", "without", "with_", "must", "must_not"), [
    (0.10, 0.21, 0.11, 0.23, ["0.110 s later", "adds 0.120 s", "accounts for the difference"], ["rest"]),
    (0.166, 0.247, 0.199, 0.417, ["0.081 s later", "adds 0.218 s", "more than the whole 0.081 s difference"],
     ["accounts for"]),
    (0.10, 0.21, 0.11, 0.165, ["adds 0.055 s", "about 50% of the 0.110 s difference"], ["accounts"]),
    (0.10, 0.21, 0.11, 0.12, ["adds 0.010 s", "little of the 0.110 s difference"], ["accounts"]),
    (0.10, 0.21, 0.11, 0.10, ["added no measurable time"], ["accounts", "adds"]),
    (0.20, 0.10, 0.11, 0.23, ["no slower than embedded ones", "adds 0.120 s"], ["later"]),
    (0.100, 0.105, 0.11, 0.23, ["about as fast as embedded ones"], ["later", "slower"]),
])
def test_redis_startup_is_worded_from_the_measured_import(embedded, redis, without, with_, must, must_not):
    text = jobs.describe_redis_startup(embedded, redis, timing(without), timing(with_))
    assert text.startswith(f"from launch to first claim: embedded {embedded:.3f} s, redis {redis:.3f} s")
    for phrase in must:
        assert phrase in text, (phrase, text)
    for phrase in must_not:
        assert phrase not in text, (phrase, text)
    assert "takes time." not in text  # the old unmeasured claim


def test_redis_startup_refuses_a_zero_time():
    with pytest.raises(ValueError, match="must be > 0"):
        jobs.describe_redis_startup(0.0, 0.1, timing(0.1), timing(0.2))


def test_import_cost_times_children_with_and_without_the_import():
    without, with_ = jobs.import_cost("json", repeats=1)
    assert len(without.values) == len(with_.values) == 1 and without.median > 0 and with_.median > 0
    with pytest.raises(ValueError, match="module name"):
        jobs.import_cost("os; import shutil")
