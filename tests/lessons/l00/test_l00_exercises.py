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


def reads_no_clock(fn, *args):
    return min(fn(*args) for _ in range(5))  # the function's own result, no clock


def fixed_number(fn, *args):
    for _ in range(5):
        fn(*args)
    return 0.02  # the number the first check printed


def clock_read_twice_in_a_row(fn, *args):
    times = []
    for _ in range(5):
        fn(*args)
        start = time.perf_counter()
        times.append(time.perf_counter() - start)
    return min(times)


def with_timeit(fn, *args):
    import timeit
    return min(timeit.repeat(lambda: fn(*args), number=1, repeat=5))


def with_nanoseconds(fn, *args):
    best_ns = None
    for _ in range(4):
        start = time.perf_counter_ns()
        fn(*args)
        took = time.perf_counter_ns() - start
        best_ns = took if best_ns is None else min(best_ns, took)
    return best_ns / 1e9


def test_time_it_placeholder_is_not_answered():
    verdict = ex.check_time_it(placeholder_time_it)
    assert verdict.status == "not answered" and "write the body of time_it" in str(verdict)


@pytest.mark.parametrize("answer", [best, with_timeit, with_nanoseconds])
@pytest.mark.slow
def test_time_it_best_of_several_is_right(answer):
    verdict = ex.check_time_it(answer)
    assert verdict.right, str(verdict)
    assert "time_it(fn, 1)" in verdict.details and "time_it(fn, 3)" in verdict.details


@pytest.mark.parametrize(("answer", "words"), [
    (once, "called fn 1 time(s)"),
    (total, "Return the fastest call's time (min)"),
    (mean, "Return the fastest call's time (min)"),
    (in_ms, "milliseconds"),
    (cpu_time, "time.process_time counts CPU time only"),
    (returns_result, "not a number of seconds"),
    (reads_no_clock, "That is what fn returned: read time.perf_counter() before and after each call"),
    (fixed_number, "about the same number when every call took three times as long"),
    (clock_read_twice_in_a_row, "read just before and just after each call"),
])
@pytest.mark.slow
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


def test_timings_in_milliseconds_are_named():
    s, p = measured()
    verdict = ex.check_speedup(1000 * s, 1000 * p, s / p, s / p / WORKERS, work=WORK, workers=WORKERS)
    assert verdict.status == "wrong" and "milliseconds?" in verdict.headline


def test_speedup_written_differently_is_right():
    # One plain perf_counter reading of each run (not best of several), and the efficiency
    # worked out in one line: both right.
    start = time.perf_counter()
    ex.serial_fib(WORK)
    s = time.perf_counter() - start
    start = time.perf_counter()
    ex.parallel_fib(WORK, WORKERS)
    p = time.perf_counter() - start
    verdict = ex.check_speedup(s, p, s / p, s / (p * WORKERS), work=WORK, workers=WORKERS)
    assert verdict.status == "right", str(verdict)
    verdict = ex.check_speedup(round(s, 4), round(p, 4), round(s, 4) / round(p, 4),
                               round(s, 4) / round(p, 4) / WORKERS, work=WORK, workers=WORKERS)
    assert verdict.status == "right", str(verdict)


def test_a_timing_far_from_parlabs_is_measured_again_before_it_is_called_wrong(monkeypatch):
    # parlab's first three runs were slowed by other work (10 s each); the learner's 0.05 s is
    # then far from them, so parlab measures again before it judges.
    runs = iter([10.0] * 6 + [0.05] * 6)  # serial and parallel, then both again
    monkeypatch.setattr(ex, "_samples", lambda fn, *args, repeats=3: [next(runs) for _ in range(repeats)])
    verdict = ex.check_speedup(0.05, 0.05, 1.0, 0.5, work=WORK, workers=WORKERS)
    assert verdict.status == "right", str(verdict)


@pytest.mark.parametrize(("factor", "status"), [(5.0, "not checked"), (1 / 5, "wrong"), (30.0, "wrong")])
def test_timings_slower_than_parlabs_may_be_load_faster_ones_cannot(monkeypatch, factor, status):
    # parlab measures 0.2 s and 0.1 s now. Five times slower: the learner's machine may have been
    # busy then, so not judged. Five times faster, or thirty times slower: no load explains it.
    monkeypatch.setattr(ex, "_samples", lambda fn, *args, repeats=3: [0.2 if fn is ex.serial_fib else 0.1] * repeats)
    s, p = 0.2 * factor, 0.1 * factor
    verdict = ex.check_speedup(s, p, s / p, s / p / WORKERS, work=WORK, workers=WORKERS)
    assert verdict.status == status, str(verdict)
    if status == "not checked":
        assert "were not judged" in verdict.headline and "Measure both runs again" in verdict.headline
        assert "parallel_s 0.500 s (parlab measured 0.100 s to 0.100 s)" in verdict.details
        assert verdict.must_be_right() is verdict  # a solution cell goes on
    else:
        assert "far from what this machine takes" in verdict.headline


def test_speedup_that_is_not_a_number_is_wrong():
    verdict = ex.check_speedup(1.0, "0.5", 2.0, 1.0, work=WORK, workers=WORKERS)
    assert verdict.status == "wrong" and "parallel_s must be numbers" in verdict.headline


# --------------------------------------------------------------------------- exercise 3: Amdahl

def test_amdahl_placeholder_is_not_answered():
    assert ex.check_amdahl(...).status == "not answered"


def test_amdahl_solution_is_right_and_hides_the_number_in_details():
    verdict = ex.check_amdahl(amdahl_speedup(0.10, 1000))
    assert verdict.right and "9.91" not in verdict.headline and "9.91" in verdict.details


@pytest.mark.parametrize("answer", [1 / (0.10 + 0.90 / 1000), 9.91, 9.9,
                                    amdahl_speedup(serial_fraction=0.1, workers=1000)])
def test_amdahl_written_differently_is_right(answer):
    assert ex.check_amdahl(answer).right


@pytest.mark.parametrize(("answer", "words"), [
    (1000, "1000 is the ideal"),
    (10, "the limit for infinitely many workers"),
    (amdahl_speedup(0.9, 1000), "0.10"),
    (0.10 + 0.90 * 1000, "Gustafson"),
    (amdahl_speedup(0.10, 1000) / 1000, "efficiency"),
])
def test_amdahl_wrong_answers_get_hints_but_not_the_answer(answer, words):
    verdict = ex.check_amdahl(answer)
    assert verdict.status == "wrong" and words in verdict.hint
    assert "9.91" not in str(verdict)
