"""Lesson 06's exercise checkers: choose from your own table, the joblib version, Amdahl and Gustafson.

Each checker takes exactly what the learner wrote (a function, a number) and returns a
``check.Verdict``. What the answer should be is computed from the learner's own measured
table or from the laws, never typed in, so a checker agrees with any machine: 1 to 64 cores,
the GIL on or off, a compiled kernel or none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from parlab import system
from parlab.lessons import check
from parlab.lessons.l06_backends import python_serial, workload_tasks
from parlab.measure import amdahl_speedup, gustafson_speedup, time_call
from parlab.results import format_seconds, format_speedup
from parlab.run import WorkerPool
from parlab.workloads import count_primes

__all__ = [
    "CHOOSE",
    "FIXED",
    "HALF",
    "JOBLIB",
    "check_choose",
    "check_half",
    "check_joblib",
    "check_laws",
    "fastest",
    "joblib_workers",
    "sample_tables",
]

CHOOSE = "Exercise 1: choose from your own table"
JOBLIB = "Exercise 2: the joblib version"
HALF = "Exercise 3: how far can your processes go?"
FIXED = "Exercise 4: fixed or scaled?"

NOISE = 0.10  # a pick whose best time is within 10 % of the fastest is as good on a noisy machine
Row = Mapping[str, Any]


# --------------------------------------------------------------------------- exercise 1

def fastest(table: Sequence[Row]) -> dict[str, tuple[int, float]]:
    """{backend: (workers, seconds)} of each backend's fastest row, fastest backend first (lesson 06)."""
    best: dict[str, tuple[int, float]] = {}
    for r in table:
        name, k, t = str(r["backend"]), int(r["workers"]), float(r["median_s"])
        if name not in best or t < best[name][1]:
            best[name] = (k, t)
    return dict(sorted(best.items(), key=lambda kv: kv[1][1]))


def _row(backend: str, workers: int, seconds: float, speedup: float) -> dict[str, Any]:
    return {"backend": backend, "workers": workers, "median_s": seconds, "speedup": speedup,
            "efficiency": speedup / workers, "startup_s": 0.0}


def sample_tables() -> dict[str, list[dict[str, Any]]]:
    """Tables of other machines the checker also hands to ``choose``: the answer must follow the table (lesson 06)."""
    return {
        # A compiled kernel: the fastest by far, though its speedup (against the kernel in one
        # thread) is smaller than the processes' (against pure Python).
        "a 4-core machine with a compiled kernel": [
            _row("serial", 1, 0.80, 1.0), _row("threads", 4, 0.82, 0.98), _row("processes", 4, 0.22, 3.6),
            _row("kernel-threads", 1, 0.04, 1.0), _row("kernel-threads", 4, 0.016, 2.5)],
        # One usable core: nothing parallel beats the serial loop.
        "a 1-core laptop": [
            _row("serial", 1, 0.70, 1.0), _row("threads", 1, 0.74, 0.95), _row("processes", 1, 0.78, 0.90),
            _row("children", 1, 1.10, 0.64)],
        # A free-threaded build without a compiler: threads run Python on every core.
        "an 8-core free-threaded build": [
            _row("serial", 1, 0.90, 1.0), _row("threads", 8, 0.13, 6.9), _row("processes", 8, 0.16, 5.6),
            _row("mpi", 8, 0.45, 2.0)],
    }


def _verdict_on(table: Sequence[Row], picked: object) -> tuple[bool, str]:
    """(good enough, the sentence that explains it) for one table and the learner's pick."""
    best = fastest(table)
    (top, (k, t)), = list(best.items())[:1]
    said = f"the fastest row is {top} on {k} worker{'s' if k != 1 else ''}, {format_seconds(t)}"
    if not isinstance(picked, str) or picked not in best:
        return False, f"choose returned {picked!r}, not a backend of the table ({', '.join(best)}); {said}"
    if picked == top:
        return True, f"{picked}: {said}"
    pk, pt = best[picked]
    if pt <= (1 + NOISE) * t:
        return True, (f"{picked} ({format_seconds(pt)} on {pk}): within {NOISE:.0%} of {top}, as fast "
                      f"on a noisy machine; {said}")
    return False, (f"{picked}: its best row took {format_seconds(pt)} on {pk}, {pt / t:.1f} times as long; "
                   f"{said}")


def check_choose(choose: Callable[[Sequence[Row]], str], table: Sequence[Row], *,
                 timeout_s: float = 10.0) -> check.Verdict:
    """Run the learner's ``choose`` on their own table and on ``sample_tables()``; compare with the fastest rows."""
    if check.is_placeholder(choose):
        return check.not_answered(CHOOSE, "write choose(table) so that it returns a backend's name, "
                                          "then run this cell again.")
    if not callable(choose):
        return check.wrong(CHOOSE, f"choose must be a function, not {type(choose).__name__}.",
                           hint="Write def choose(table): ... and return a backend's name such as 'processes'.")
    if not table:
        raise ValueError("check_choose needs the measured table: reference.reference_rows(sweeps)")
    tables: dict[str, Sequence[Row]] = {"your own table": list(table), **sample_tables()}
    lines, bad = [], []
    for where, rows in tables.items():
        outcome = check.call(choose, [dict(r) for r in rows], timeout_s=timeout_s)
        failed = check.failure(CHOOSE, outcome, f"choose on {where}")
        if failed:
            return failed
        ok, why = _verdict_on(rows, outcome.value)
        lines.append(f"{where}: {'✓' if ok else '✗'} {why}")
        if not ok:
            bad.append(where)
    details = "\n".join(lines)
    if not bad:
        return check.right(CHOOSE, "on your table and on three others, choose picked the backend that "
                                   "finished soonest.", details=details)
    picked_by_speedup = _by_speedup(tables[bad[0]]) == _pick(choose, tables[bad[0]], timeout_s)
    hint = ("The speedup column divides by different baselines: the compiled kernel's by the kernel in "
            "one thread, the others' by the pure-Python loop. Compare what each run took (median_s)."
            if picked_by_speedup else
            "Return the backend of the row that took the least time (median_s); 'serial' when nothing "
            "parallel beat it.")
    return check.wrong(CHOOSE, f"choose did not pick the fastest backend on {', '.join(bad)}.", hint=hint,
                       details=details)


def _by_speedup(rows: Sequence[Row]) -> str:
    return str(max(rows, key=lambda r: float(r["speedup"]))["backend"])


def _pick(choose: Callable[[Sequence[Row]], str], rows: Sequence[Row], timeout_s: float) -> object:
    outcome = check.call(choose, [dict(r) for r in rows], timeout_s=timeout_s)
    return outcome.value if outcome.ok else None


# --------------------------------------------------------------------------- exercise 2

def joblib_workers(cores: int | None = None) -> int:
    """The workers exercise 2 asks for: the usable cores, at most 8, so the check stays short (lesson 06)."""
    return max(1, min(cores or system.usable_cores(), 8))


def check_joblib(primes_parallel: Callable[[list[tuple[int, int]], int], Any], *, cores: int | None = None,
                 repeats: int = 3, busy_check: bool = True) -> check.Verdict:
    """The learner's ``primes_parallel(tasks, workers)``: serial results, and a speedup (``check.speed``).

    With ``busy_check``, parlab's own process pool runs the same tasks alongside: when even it
    misses the speedup asked for, other programs hold the cores, and the verdict says that the
    speed could not be judged now instead of blaming the learner's code.
    """
    if check.is_placeholder(primes_parallel):
        return check.not_answered(JOBLIB, "fill in the Parallel(...)(delayed(...)...) line, then run this "
                                          "cell again.")
    if not callable(primes_parallel):
        return check.wrong(JOBLIB, f"this needs your function, not {type(primes_parallel).__name__}.",
                           hint="Pass the function itself: ex.check_joblib(primes_parallel).")
    cores = cores or system.usable_cores()
    workers = joblib_workers(cores)
    tasks = workload_tasks(max(24, 8 * workers))
    expected = python_serial(tasks)
    # The first call starts the workers (loky keeps them for the next calls): it checks the
    # results and is the warm-up.
    first = check.call(primes_parallel, list(tasks), workers, timeout_s=60)
    failed = check.failure(JOBLIB, first, "primes_parallel(tasks, workers)")
    if failed:
        return failed
    got = first.value
    if not isinstance(got, list | tuple) and hasattr(got, "__iter__"):
        got = list(got)  # a generator (return_as="generator") gives the same results
    differs = check.same_results(JOBLIB, list(got) if isinstance(got, tuple) else got, expected,
                                 "primes_parallel(tasks, workers)")
    if differs:
        return differs
    # Serial and parallel runs take turns, and each keeps its fastest: a burst of other work
    # on a shared machine then slows one run, not the verdict.
    serial_times, parallel_times, pool_times = [], [], []
    with WorkerPool("processes", workers, warn=False) if busy_check else nullcontext() as pool:
        for _ in range(repeats):
            serial_times.append(time_call(lambda: python_serial(tasks), repeats=1, warmup=0).median)
            again = check.call(primes_parallel, list(tasks), workers, timeout_s=60)
            failed = check.failure(JOBLIB, again, "primes_parallel(tasks, workers), called again")
            if failed:
                return failed
            parallel_times.append(again.seconds)
            if pool is not None:
                pool_times.append(time_call(lambda: pool.map(count_primes, tasks, star=True, timeout=60),
                                            repeats=1, warmup=0).median)
    serial_s, parallel_s = min(serial_times), min(parallel_times)
    verdict = check.speed(JOBLIB, serial_s, parallel_s, workers, cores=cores, what="your parallel version")
    need = check.needed_speedup(workers, cores)
    if verdict.right or not pool_times or need is None:
        return verdict
    # The pool's speedup run by run, each against the serial run just before it (the same load):
    # the median of those says whether this machine could show a speedup at all just now.
    pairs = sorted(s / t for s, t in zip(serial_times, pool_times, strict=True))
    pool_speedup = pairs[len(pairs) // 2]
    if pool_speedup >= need:
        return verdict
    return check.right(JOBLIB, "the results are right; the cores are too busy now to judge the speed: even "
                               "parlab's own process pool missed the speedup asked for. Run this cell again "
                               "when the machine is quieter.",
                       details=f"{verdict.details}\nparlab's process pool, same tasks, alongside: "
                               f"{format_speedup(pool_speedup)} (the median of {len(pairs)} runs).")


# --------------------------------------------------------------------------- exercises 3 and 4

def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def check_half(workers_for_half: object, f_amdahl: float) -> check.Verdict:
    """Workers that give half of Amdahl's ceiling 1/f, for the learner's f (kept in [0.01, 0.5])."""
    if check.is_placeholder(workers_for_half):
        return check.not_answered(HALF, "set workers_for_half to a number of workers, then run this cell again.")
    k = _number(workers_for_half)
    if k is None or k <= 0:
        return check.wrong(HALF, f"workers_for_half must be a positive number, not {workers_for_half!r}.")
    f = min(max(float(f_amdahl), 0.01), 0.5)
    half = 0.5 / f
    got = amdahl_speedup(f, k)
    details = (f"f = {f:.3f}; the ceiling 1/f = {format_speedup(1 / f)}, half of it {format_speedup(half)}; "
               f"Amdahl's speedup on {k:g} worker{'s' if k != 1 else ''}: {format_speedup(got)}.")
    if abs(got - half) <= 0.05 * half or (k >= 2 and k == math.ceil(k) and amdahl_speedup(f, k - 1) < half <= got):
        return check.right(HALF, "on that many workers Amdahl's law gives half of the ceiling.", details=details)
    if abs(k - half) <= 0.05 * half:
        hint = "That is half of the ceiling, a speedup; the question asks how many workers reach it."
    elif abs(k - 1 / f) <= 0.05 / f:
        hint = "On 1/f workers the speedup is already past half of the ceiling: solve S(k) = 1 / (2 f) for k."
    else:
        hint = "Set Amdahl's speedup 1 / (f + (1 - f) / k) equal to half the ceiling and solve for k."
    more = "more" if got < half else "fewer"
    return check.wrong(HALF, f"not quite: half of the ceiling needs {more} workers than that.", hint=hint,
                       details=details)


def check_laws(fixed: object, scaled_256: object, *, fraction: float = 0.02, workers: int = 256) -> check.Verdict:
    """Amdahl's speedup (fixed size) and Gustafson's (scaled) for a 2 % serial fraction on 256 cores."""
    if check.is_placeholder(fixed) or check.is_placeholder(scaled_256):
        return check.not_answered(FIXED, "set both fixed and scaled_256, then run this cell again.")
    a, g = _number(fixed), _number(scaled_256)
    if a is None or g is None:
        return check.wrong(FIXED, "fixed and scaled_256 must both be numbers (speedups).")
    want_a, want_g = amdahl_speedup(fraction, workers), gustafson_speedup(fraction, workers)
    details = (f"yours: fixed {format_speedup(a)}, scaled {format_speedup(g)}; the laws give fixed "
               f"{format_speedup(want_a)} (under the ceiling {format_speedup(1 / fraction)}) and scaled "
               f"{format_speedup(want_g)}.")

    def close(x: float, y: float) -> bool:
        return abs(x - y) <= 0.01 * y

    if close(a, want_a) and close(g, want_g):
        return check.right(FIXED, "the fixed problem stays under Amdahl's ceiling; the growing one passes it.",
                           details=details)
    if close(a, want_g) and close(g, want_a):
        return check.wrong(FIXED, "the two are swapped.", hint="Amdahl's law is for the fixed size, "
                           "Gustafson's for the problem that grows with the cores.", details=details)
    if close(a, 1 / fraction):
        return check.wrong(FIXED, "fixed is Amdahl's ceiling 1/f, the limit for endless workers, not the "
                           "speedup on 256.", hint="Use amdahl_speedup(0.02, 256).", details=details)
    which = [name for name, ok in (("fixed", close(a, want_a)), ("scaled_256", close(g, want_g))) if not ok]
    return check.wrong(FIXED, f"{' and '.join(which)} {'is' if len(which) == 1 else 'are'} not what the law gives.",
                       hint="Both functions take (serial_fraction, workers): amdahl_speedup(0.02, 256) and "
                            "gustafson_speedup(0.02, 256).", details=details)
