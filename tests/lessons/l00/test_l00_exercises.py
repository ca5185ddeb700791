"""Lesson 00's exercise checkers: the solution is right, the placeholder "not answered", wrong answers named."""

from __future__ import annotations

import time

import pytest

from parlab.lessons.l00 import exercises as ex
from parlab.measure import amdahl_speedup

WORK, WORKERS = [22] * 4, 2


# --------------------------------------------------------------------------- exercise 1: time_it

def placeholder_time_it(fn, *args):
    """Call fn(*args) several times; return the fastest call's duration in seconds."""


def best(fn, *args):
    times = []
    for _ in range(5):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def once(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def total(fn, *args):
    start = time.perf_counter()
    for _ in range(5):
        fn(*args)
    return time.perf_counter() - start


def mean(fn, *args):
    return total(fn, *args) / 5


def in_ms(fn, *args):
    return 1000 * best(fn, *args)


def cpu_time(fn, *args):
    times = []
    for _ in range(5):
        start = time.process_time()
        fn(*args)
        times.append(time.process_time() - start)
    return min(times)


def returns_result(fn, *args):
    for _ in range(5):
        result = fn(*args)
    return str(result)


def test_time_it_placeholder_is_not_answered():
    verdict = ex.check_time_it(placeholder_time_it)
    assert verdict.status == "not answered" and "write the body of time_it" in str(verdict)


def test_time_it_best_of_several_is_right():
    verdict = ex.check_time_it(best)
    assert verdict.right, str(verdict)


@pytest.mark.parametrize(("answer", "words"), [
    (once, "called fn 1 time(s)"),
    (total, "Return the fastest call's time (min)"),
    (mean, "Return the fastest call's time (min)"),
    (in_ms, "milliseconds"),
    (cpu_time, "time.process_time counts CPU time only"),
    (returns_result, "not a number of seconds"),
])
def test_time_it_wrong_answers_are_named(answer, words):
    verdict = ex.check_time_it(answer)
    assert verdict.status == "wrong" and words in str(verdict)


def test_time_it_that_drops_the_arguments_shows_the_error():
    def no_args(fn, *args):
        return best(fn)

    verdict = ex.check_time_it(no_args)
    assert verdict.status == "error" and "TypeError" in verdict.headline


# --------------------------------------------------------------------------- exercise 2: speedup by hand

def measured() -> tuple[float, float]:
    return ex.best_of(ex.serial_fib, WORK, repeats=3), ex.best_of(ex.parallel_fib, WORK, WORKERS, repeats=3)


def test_speedup_placeholders_are_not_answered():
    verdict = ex.check_speedup(..., ..., ..., ..., work=WORK, workers=WORKERS)
    assert verdict.status == "not answered" and "serial_s, parallel_s, my_speedup, my_efficiency" in verdict.headline


def test_speedup_from_own_timings_is_right():
    s, p = measured()
    verdict = ex.check_speedup(s, p, s / p, s / p / WORKERS, work=WORK, workers=WORKERS)
    assert verdict.right, str(verdict)


def test_speedup_upside_down_is_wrong():
    s, p = measured()
    verdict = ex.check_speedup(s, p, p / s, p / s / WORKERS, work=WORK, workers=WORKERS)
    assert verdict.status == "wrong" and "That is parallel over serial" in verdict.hint


def test_efficiency_in_percent_is_wrong():
    s, p = measured()
    verdict = ex.check_speedup(s, p, s / p, 100 * s / p / WORKERS, work=WORK, workers=WORKERS)
    assert verdict.status == "wrong" and "percentage" in verdict.hint


def test_made_up_timings_are_wrong_even_with_right_arithmetic():
    verdict = ex.check_speedup(10.0, 5.0, 2.0, 1.0, work=WORK, workers=WORKERS)
    assert verdict.status == "wrong" and "far from what this machine takes" in verdict.headline
    assert "serial_s 10.000 s" in verdict.headline


def test_speedup_that_is_not_a_number_is_wrong():
    verdict = ex.check_speedup(1.0, "0.5", 2.0, 1.0, work=WORK, workers=WORKERS)
    assert verdict.status == "wrong" and "parallel_s must be numbers" in verdict.headline


# --------------------------------------------------------------------------- exercise 3: Amdahl

def test_amdahl_placeholder_is_not_answered():
    assert ex.check_amdahl(...).status == "not answered"


def test_amdahl_solution_is_right_and_hides_the_number_in_details():
    verdict = ex.check_amdahl(amdahl_speedup(0.10, 1000))
    assert verdict.right and "9.91" not in verdict.headline and "9.91" in verdict.details


@pytest.mark.parametrize(("answer", "words"), [
    (1000, "1000 is the ideal"),
    (10, "the limit for infinitely many workers"),
    (amdahl_speedup(0.9, 1000), "0.10"),
])
def test_amdahl_wrong_answers_get_hints_but_not_the_answer(answer, words):
    verdict = ex.check_amdahl(answer)
    assert verdict.status == "wrong" and words in verdict.hint
    assert "9.91" not in str(verdict)
