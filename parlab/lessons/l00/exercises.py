"""Checkers for lesson 00's exercises: a timing function, a speedup worked out by hand, Amdahl's law.

The learner's ``time_it`` is called on a function whose first call is slow and whose later
calls are fast, so that "best of several repeats" can be told from "one call", "the total"
and "the mean"; its answer is compared with parlab's own measurement of the same function.
The function returns a result that is not its own duration, and is timed twice at two
different lengths: an answer that reads no clock (the function's result, a constant) cannot
follow both.
The speedup exercise checks the learner's arithmetic exactly and their timings against
parlab's own timings of the same work: within NOISE_FACTOR they agree; slower, but within
BUSY_FACTOR, a machine busy when the learner measured may explain it, so it is "not checked";
faster than that, or slower still, no load explains it and it is wrong.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from parlab.lessons import check
from parlab.measure import amdahl_speedup
from parlab.results import format_seconds, format_speedup
from parlab.workloads import fib

__all__ = [
    "AMDAHL",
    "BUSY_FACTOR",
    "NOISE_FACTOR",
    "SCALES",
    "SPEEDUP",
    "TIME_IT",
    "SlowFirstCall",
    "best_of",
    "check_amdahl",
    "check_speedup",
    "check_time_it",
    "parallel_fib",
    "serial_fib",
]

TIME_IT = "Exercise 1: time it"
SPEEDUP = "Exercise 2: speedup and efficiency by hand"
AMDAHL = "Exercise 3: Amdahl's ceiling"
NOISE_FACTOR = 3.0  # a timing within 3× of parlab's own of the same work passes
# Slower than parlab's own by more than NOISE_FACTOR but less than this: a machine busy when the
# learner measured can do that, so it is not judged; beyond it (or 3× faster) no load explains it.
BUSY_FACTOR = 10.0
REL = 1e-9  # arithmetic on the learner's own numbers must agree to rounding
AMDAHL_ROUNDING = 0.02  # 9.91 or 9.9 written by hand is right; 10 (1 / f) is not


class SlowFirstCall:
    """A function to time: its first call sleeps ``first`` s, every later call ``then`` s (lesson 00).

    It returns a list of words, not a number: a ``time_it`` that returns fn's result instead of
    reading the clock gets no number of seconds from it.
    """

    def __init__(self, first: float = 0.3, then: float = 0.02) -> None:
        self.first, self.then, self.calls = first, then, 0

    def __call__(self, scale: float) -> list[str]:
        """Sleep: the first call ``first`` s, later calls ``then * scale`` s; return words, not seconds."""
        self.calls += 1
        seconds = self.first if self.calls == 1 else self.then * scale
        time.sleep(seconds)
        return ["call", str(self.calls)]


def best_of(fn: Callable[..., Any], *args: Any, repeats: int = 5) -> float:
    """parlab's own answer to exercise 1: the fastest of ``repeats`` calls, timed with perf_counter (lesson 00)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


SCALES = (1.0, 3.0)  # time_it is checked twice: the fast calls take 0.02 s, then 0.06 s


def check_time_it(time_it: object, timeout_s: float = 10.0) -> check.Verdict:
    """Exercise 1: ``time_it(fn, *args)`` must return the best of several calls, in seconds (lesson 00).

    Checked at two lengths of the same function (:data:`SCALES`): the answer must follow the
    time the calls really took, which only a clock read around each call can.
    """
    if check.is_placeholder(time_it):
        return check.not_answered(TIME_IT, "write the body of time_it, then run this cell again.")
    if not callable(time_it):
        return check.not_a_function(TIME_IT, "time_it", time_it)
    lines: list[str] = []
    answers: list[float] = []
    for scale in SCALES:
        verdict = _time_it_once(time_it, scale, timeout_s, lines, answers)
        if verdict is not None:
            return verdict
    return check.right(TIME_IT, "time_it returned the fastest of several calls, in seconds.",
                       details="\n".join(lines))


def _time_it_once(time_it: Callable[..., Any], scale: float, timeout_s: float, lines: list[str],
                  answers: list[float]) -> check.Verdict | None:
    """One call of the learner's time_it on a :class:`SlowFirstCall` scaled by ``scale``; a verdict if it is wrong.

    ``lines`` and ``answers`` gather the numbers shown and the learner's answers, scale after scale.
    """
    timed = SlowFirstCall()
    first, then = timed.first, timed.then * scale
    what = f"time_it(fn, {scale:g})"
    outcome = check.call(time_it, timed, scale, timeout_s=timeout_s)
    failed = check.failure(TIME_IT, outcome, what)
    if failed is not None:
        return failed
    got = outcome.value
    if isinstance(got, bool) or not isinstance(got, int | float):
        hint = ("That is what fn returned: read time.perf_counter() before and after each call, and "
                "return the difference." if isinstance(got, list) or (isinstance(got, str) and "call" in got)
                else "Return the duration (a float), not fn's result.")
        return check.wrong(TIME_IT, f"time_it returned {type(got).__name__} {check.short(got, 40)}, not a number "
                                    "of seconds.", hint=hint)
    runs = [best_of(SlowFirstCall(), scale)]
    verdict = _judge_time_it(float(got), timed.calls, first, then, runs, what, lines, answers)
    if verdict is not None and verdict.status == "wrong":  # parlab's own again: a burst of load only adds time
        runs.append(best_of(SlowFirstCall(), scale))
        verdict = _judge_time_it(float(got), timed.calls, first, then, runs, what, lines, answers)
    if verdict is None:
        answers.append(float(got))
    return verdict


def _judge_time_it(got: float, calls: int, first: float, then: float, runs: list[float], what: str,
                   lines: list[str], answers: list[float]) -> check.Verdict | None:
    own = min(runs)
    shown = (f"{what}: the function sleeps {format_seconds(first)} on its first call and "
             f"{format_seconds(then)} on each later one; parlab's best of 5: {format_seconds(own)}; "
             f"your time_it: {format_seconds(got)} after {calls} call(s)")
    numbers = "\n".join([*lines, shown])
    if calls < 3:
        return check.wrong(TIME_IT, f"time_it called fn {calls} time(s); best of several needs 3 or more.",
                           hint="Repeat the call in a loop (e.g. 5 times) and keep the fastest.", details=numbers)
    if got > 100 * max(runs):
        return check.wrong(TIME_IT, "time_it returned a number 1000 times too large: milliseconds?",
                           hint="time.perf_counter() counts seconds: return the difference as it is.",
                           details=numbers)
    if got < then / NOISE_FACTOR:
        return check.wrong(TIME_IT, "time_it returned far less than the calls took.",
                           hint=("time.process_time counts CPU time only, and sleeping uses none: use "
                                 "time.perf_counter, the wall clock, read just before and just after each "
                                 "call."), details=numbers)
    if got > max(runs) + max(own, 0.02):
        slowest = first * 0.95 <= got < first + then * 2
        return check.wrong(TIME_IT, "time_it returned much more than the fastest call took.",
                           hint=("That is about the first, slow call: keep the minimum over the repeats."
                                 if slowest else "Return the fastest call's time (min), not the total or the mean."),
                           details=numbers)
    if answers and not got > answers[-1] * 1.5:  # the calls took 3 times as long: a clock read around them says so
        return check.wrong(TIME_IT, "time_it gave about the same number when every call took three times "
                                    "as long: it does not measure the calls.",
                           hint=("Read time.perf_counter() just before and just after each fn(*args), and "
                                 "keep the smallest difference; do not return a fixed number."),
                           details=numbers)
    lines.append(shown)
    return None


def serial_fib(work: Sequence[int]) -> list[int]:
    """The serial run of exercise 2: fib of each number, one after another (lesson 00)."""
    return [fib(n) for n in work]


def parallel_fib(work: Sequence[int], workers: int) -> list[int]:
    """The parallel run of exercise 2, pool start-up included, as the learner's run_parallel (lesson 00)."""
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(fib, work))


def _is_number(x: object) -> bool:
    return not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x)


def _samples(fn: Callable[..., Any], *args: Any, repeats: int = 3) -> list[float]:
    """Every one of ``repeats`` timed calls of ``fn(*args)``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return times


def _far(got: float, own: Sequence[float]) -> str | None:
    """How ``got`` misses parlab's own timings: None within NOISE_FACTOR of one of them; else
    "faster" (more than NOISE_FACTOR below all), "slower" (above, within BUSY_FACTOR) or "far slower".
    """
    if any(t / NOISE_FACTOR <= got <= t * NOISE_FACTOR for t in own):
        return None
    if got < min(own) / NOISE_FACTOR:
        return "faster"
    return "far slower" if got > max(own) * BUSY_FACTOR else "slower"


def check_speedup(serial_s: object, parallel_s: object, speedup: object, efficiency: object, *,
                  work: Sequence[int], workers: int) -> check.Verdict:
    """Exercise 2: timings near parlab's own; speedup = serial / parallel; efficiency = speedup / workers (lesson 00).

    The arithmetic is checked exactly, the timings against parlab's own (module docstring).
    """
    names = {"serial_s": serial_s, "parallel_s": parallel_s, "my_speedup": speedup, "my_efficiency": efficiency}
    todo = [name for name, value in names.items() if check.is_placeholder(value)]
    if todo:
        return check.not_answered(SPEEDUP, f"replace the ... of {', '.join(todo)}, then run this cell again.")
    bad = [name for name, value in names.items() if not _is_number(value)]
    if bad:
        return check.wrong(SPEEDUP, f"{', '.join(bad)} must be numbers (float), not {type(names[bad[0]]).__name__}.")
    s, p, k, e = (float(v) for v in names.values())  # type: ignore[arg-type]
    if s <= 0 or p <= 0:
        return check.wrong(SPEEDUP, "timings must be positive numbers of seconds.")
    own_serial, own_parallel = _samples(serial_fib, work), _samples(parallel_fib, work, workers)
    if _far(s, own_serial) or _far(p, own_parallel):  # a burst of other work: measure again before judging
        own_serial += _samples(serial_fib, work)
        own_parallel += _samples(parallel_fib, work, workers)
    own_s, own_p = min(own_serial), min(own_parallel)
    details = (f"yours:  serial {format_seconds(s)}, parallel {format_seconds(p)}, speedup {format_speedup(k)}, "
               f"efficiency {e:.3f}\nparlab: serial {format_seconds(own_s)}, parallel {format_seconds(own_p)} "
               f"(best of 3 each), speedup {format_speedup(own_s / own_p)}")
    if not math.isclose(k, s / p, rel_tol=REL):
        hint = ("That is parallel over serial: speedup = serial time / parallel time."
                if math.isclose(k, p / s, rel_tol=REL)
                else "speedup = serial_s / parallel_s, from your own two timings.")
        return check.wrong(SPEEDUP, "my_speedup is not serial_s / parallel_s.", hint=hint, details=details)
    if not math.isclose(e, k / workers, rel_tol=REL):
        hint = ("That is a percentage: keep it a fraction (1.0 = every worker busy all the time)."
                if math.isclose(e, 100 * k / workers, rel_tol=REL) else "efficiency = my_speedup / workers.")
        return check.wrong(SPEEDUP, f"my_efficiency is not my_speedup / workers ({workers}).", hint=hint,
                           details=details)
    timings = (("serial_s", s, own_serial), ("parallel_s", p, own_parallel))
    missed = {name: (_far(got, own), (f"{name} {format_seconds(got)} (parlab measured {format_seconds(min(own))} "
                                      f"to {format_seconds(max(own))})")) for name, got, own in timings}
    far = [words for how, words in missed.values() if how]
    in_ms = [name for name, got, own in timings if 300 * min(own) <= got <= 3000 * max(own)]
    if far and len(in_ms) == 2:  # both about 1000 times parlab's: the unit, not the machine
        return check.wrong(SPEEDUP, "the arithmetic is right, but serial_s and parallel_s look 1000 times too "
                                    "large: milliseconds?",
                           hint="time.perf_counter() counts seconds: keep the difference as it is.", details=details)
    impossible = [words for how, words in missed.values() if how in ("faster", "far slower")]
    if impossible:
        return check.wrong(SPEEDUP, "the arithmetic is right, but a timing is far from what this machine takes: "
                           + "; ".join(impossible) + ".",
                           hint=(f"Measure both runs here (time_it(run_serial), time_it(run_parallel)), in seconds; "
                                 f"within {NOISE_FACTOR:g}× of parlab's own timing passes."), details=details)
    if far:  # slower than parlab's, as a busy machine makes a run: not judged either way
        return check.not_checked(SPEEDUP, "the arithmetic is right; your timings were not judged: they are "
                                 "slower than parlab's own just now, as other programs busy when you measured "
                                 "can make them. Measure both runs again and run this cell.",
                                 details="; ".join(far) + "\n" + details)
    return check.right(SPEEDUP, "your timings agree with parlab's within the noise, and the arithmetic is exact.",
                       details=details)


def check_amdahl(speedup_on_1000: object) -> check.Verdict:
    """Exercise 3: Amdahl's law with 10 % serial code on 1000 workers (lesson 00)."""
    if check.is_placeholder(speedup_on_1000):
        return check.not_answered(AMDAHL, "replace ... with a call to amdahl_speedup, then run this cell again.")
    if not _is_number(speedup_on_1000):
        return check.wrong(AMDAHL, f"the answer must be a number, not {type(speedup_on_1000).__name__}.")
    got = float(speedup_on_1000)  # type: ignore[arg-type]
    expected = amdahl_speedup(0.10, 1000)
    details = f"yours {got:.4f}; amdahl_speedup(0.10, 1000) = {expected:.4f}; 1 / 0.10 = {1 / 0.10:.1f}"
    if math.isclose(got, expected, abs_tol=AMDAHL_ROUNDING):
        return check.right(AMDAHL, "your speedup is the one Amdahl's law gives (open Details for the ceiling).",
                           details=details)
    if math.isclose(got, 1000):
        hint = "1000 is the ideal, with no serial part: the 10 % that stays serial caps it."
    elif math.isclose(got, 10):
        hint = "10 is 1 / f, the limit for infinitely many workers: 1000 workers get a little less."
    elif math.isclose(got, amdahl_speedup(10, 1000)) or math.isclose(got, amdahl_speedup(0.9, 1000)):
        hint = "The serial fraction is 10 % written as a fraction: 0.10 (the part that stays serial)."
    elif math.isclose(got, 0.10 + 0.90 * 1000, rel_tol=1e-3):
        hint = ("That is Gustafson's scaled speedup (the work grows with the workers); Amdahl keeps the "
                "work fixed: 1 / (f + (1 - f) / workers).")
    elif math.isclose(got, expected / 1000, rel_tol=1e-3):
        hint = "That is the efficiency (speedup / workers); the question asks for the speedup itself."
    else:
        hint = "Call amdahl_speedup(serial_fraction, workers) with the fraction that stays serial."
    return check.wrong(AMDAHL, "that is not the speedup Amdahl's law gives.", hint=hint,
                       details=f"yours {got:.4f}")
