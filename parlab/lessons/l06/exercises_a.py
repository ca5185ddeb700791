"""Lesson 06a's exercise checkers: choose from your own table, the joblib version, waits with a time limit.

Each checker takes exactly what the learner wrote (a function, a number) and returns a
``check.Verdict``. What the answer should be is computed from the learner's own measured
table or from the laws, never typed in, so a checker agrees with any machine: 1 to 64 cores,
the GIL on or off, a compiled kernel or none. Lesson 06b's checkers (the laws) are in
``l06b_exercises``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from parlab import system
from parlab.lessons import check
from parlab.lessons.l06.backends import python_serial, workload_tasks
from parlab.results import format_seconds
from parlab.run import WorkerPool
from parlab.workloads import count_primes

__all__ = [
    "CHOOSE",
    "JOBLIB",
    "LIMIT",
    "check_choose",
    "check_joblib",
    "check_within",
    "fastest",
    "joblib_workers",
    "sample_tables",
]

CHOOSE = "Exercise 1: choose from your own table"
JOBLIB = "Exercise 2: the joblib version"
LIMIT = "Exercise 3: many waits, each with a time limit"

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
        return check.not_a_function(CHOOSE, "choose", choose,
                                    hint="Write def choose(table): ... and return a backend's name "
                                         "such as 'processes'.")
    if not table:
        raise ValueError("check_choose needs the measured table: reference.reference_rows(sweeps)")
    tables: dict[str, Sequence[Row]] = {"your own table": list(table), **sample_tables()}
    lines, bad, picks = [], [], {}
    for where, rows in tables.items():
        outcome = check.call(choose, [dict(r) for r in rows], timeout_s=timeout_s)
        failed = check.failure(CHOOSE, outcome, f"choose on {where}")
        if failed:
            return failed
        picks[where] = outcome.value
        ok, why = _verdict_on(rows, outcome.value)
        lines.append(f"{where}: {'✓' if ok else '✗'} {why}")
        if not ok:
            bad.append(where)
    details = "\n".join(lines)
    if not bad:
        return check.right(CHOOSE, "on your table and on three others, choose picked the backend that "
                                   "finished soonest.", details=details)
    return check.wrong(CHOOSE, f"choose did not pick the fastest backend on {', '.join(bad)}.",
                       hint=_choose_hint(tables, picks), details=details)


def _by(column: str, best: Callable[..., Row], *, parallel_only: bool = False) -> Callable[[Sequence[Row]], str]:
    def pick(rows: Sequence[Row]) -> str:
        kept = [r for r in rows if not parallel_only or r["backend"] != "serial"] or list(rows)
        return str(best(kept, key=lambda r: float(r[column]))["backend"])
    return pick


# The wrong rules learners write, each with the words that name it; the first that gives every pick wins.
SPEEDUP_WORDS = ("The speedup column divides by different baselines: the compiled kernel's by the kernel in "
                 "one thread, the others' by the pure-Python loop. Compare what each run took (median_s).")
EFFICIENCY_WORDS = ("Efficiency is the speedup per worker: a backend can use its workers well and still finish "
                    "later. Compare what each run took (median_s).")
SLOWEST_WORDS = "That is the slowest row: the least time (min of median_s) finishes soonest."
SERIAL_WORDS = "'serial' is a row too: on a 1-core laptop nothing parallel beat the loop, and choose should say so."
MISTAKES: list[tuple[Callable[[Sequence[Row]], str], str]] = [
    (_by("speedup", max), SPEEDUP_WORDS),
    (_by("efficiency", max), EFFICIENCY_WORDS),
    (_by("median_s", max), SLOWEST_WORDS),
    (_by("median_s", min, parallel_only=True), SERIAL_WORDS),
]


def _choose_hint(tables: Mapping[str, Sequence[Row]], picks: Mapping[str, object]) -> str:
    """The words for the rule the learner's choose follows, read from its picks on every table."""
    for rule, words in MISTAKES:
        try:
            follows = all(rule(rows) == picks[where] for where, rows in tables.items())
        except (KeyError, TypeError, ValueError):  # a table without that column: not this rule
            follows = False
        if follows:
            return words
    said = set(map(repr, picks.values()))
    if len(said) == 1 and all(isinstance(v, str) for v in picks.values()):
        return (f"choose returns {next(iter(said))} whatever the table: read the rows and return the backend "
                "of the one that took the least time (median_s).")
    return "Return the backend of the row that took the least time (median_s); 'serial' when nothing parallel beat it."


# --------------------------------------------------------------------------- exercise 2

def joblib_workers(cores: int | None = None) -> int:
    """The workers exercise 2 asks for: the usable cores, at most 8, so the check stays short (lesson 06)."""
    return max(1, min(cores or system.usable_cores(), 8))


LAZY = (map, filter, zip)  # what a plain Python "parallel" answer returns without computing anything yet


def _lazy(value: object) -> str | None:
    """'a map object' or 'a generator expression' when ``value`` computes nothing until it is read; else None."""
    if isinstance(value, LAZY):
        return f"a {type(value).__name__} object"
    if inspect.isgenerator(value) and value.gi_code.co_name == "<genexpr>":
        return "a generator expression"
    return None


def _listed(fn: Callable[[list[tuple[int, int]], int], Any]) -> Callable[[list[tuple[int, int]], int], Any]:
    """``fn`` with its result read to the end inside the call: a lazy answer pays for its work where it is timed."""

    def run(tasks: list[tuple[int, int]], workers: int) -> Any:
        got = fn(tasks, workers)
        return list(got) if not isinstance(got, list | str | bytes | dict) and hasattr(got, "__iter__") else got
    return run


HERE_SHARE = 0.8  # of the serial loop's CPU time, spent in this process: the work ran here ...
GONE_SHARE = 0.5  # ... unless child processes that ended during the call spent this much: it ran there


def _cpu_s(fn: Callable[[], object]) -> tuple[float, float]:
    """User-mode CPU seconds spent on ``fn()`` here, and by child processes that ended during it.

    User mode only: forking workers copies this process's page tables in kernel mode, which
    costs a large process (a long test run, a notebook holding big arrays) a third of the serial
    loop's CPU or more, while running Python, here or in a thread, is user-mode work. A pool
    started for the call also costs this process some user-mode CPU to start, feed and stop
    (a third to four fifths of a 0.3 s serial loop was seen in a large, busy process), but
    its workers have ended by the time it returns, and their CPU shows as the children's (all of
    it: their kernel-mode time is theirs, not this process's forking). Workers a forkserver
    starts are its children, not this process's, and show nothing here; such a pool forks no
    copy of this process and costs it less.
    """
    before = os.times()
    fn()
    after = os.times()
    ended = (after.children_user + after.children_system) - (before.children_user + before.children_system)
    return after.user - before.user, ended


def check_joblib(primes_parallel: Callable[[list[tuple[int, int]], int], Any], *, cores: int | None = None,
                 repeats: int = 3, busy_check: bool = True,
                 reference: Callable[[list[tuple[int, int]], int], Any] | None = None) -> check.Verdict:
    """The learner's ``primes_parallel(tasks, workers)``: serial results, worker processes, and a speedup.

    Judged in this order: the results (the first call, which also starts the learner's
    workers); where the work ran (the CPU time this process spent on a call, its result read
    to the end: a serial loop, a lazy ``map`` or threads waiting for the GIL spend about the
    serial loop's, worker processes less, and a pool started for the call shows its workers'
    CPU once they end; not on one worker or a free-threaded build); then the speed
    (``check.timed_speed``, each result read inside the timed call).
    With ``busy_check``, a known-good version runs beside it: ``reference``, else parlab's
    process pool started for each run, so it pays the start-up a pool started per call pays.
    When even it misses the speedup asked for, the verdict is "not checked", never "wrong".
    """
    if check.is_placeholder(primes_parallel):
        return check.not_answered(JOBLIB, "fill in the Parallel(...)(delayed(...)...) line, then run this "
                                          "cell again.")
    if not callable(primes_parallel):
        return check.wrong(JOBLIB, f"this needs your function, not {type(primes_parallel).__name__}.",
                           hint="Pass the function itself: ex.check_joblib(primes_parallel).")
    cores = cores or system.usable_cores()
    workers = joblib_workers(cores)
    tasks = workload_tasks(max(48, 16 * workers))  # about 0.3 s serial: joblib's hand-off no longer decides
    expected = python_serial(tasks)
    what = "primes_parallel(tasks, workers)"
    listed = _listed(primes_parallel)
    shape: dict[str, str | None] = {}

    def first_call() -> Any:
        got = primes_parallel(list(tasks), workers)
        shape["lazy"] = _lazy(got)
        return list(got) if not isinstance(got, list | str | bytes | dict) and hasattr(got, "__iter__") else got

    def results() -> check.Verdict | None:
        # The first call starts the learner's workers (loky keeps them): it checks the results and warms up.
        first = check.call(first_call, timeout_s=60)
        failed = check.failure(JOBLIB, first, what)
        got = first.value
        return failed or check.same_results(JOBLIB, list(got) if isinstance(got, tuple) else got, expected, what)

    def elsewhere() -> check.Verdict | None:
        if workers < 2 or not system.gil_enabled():
            return None  # one worker runs here by design; free-threaded threads may run Python at once
        serial_cpu, _ = _cpu_s(lambda: python_serial(tasks))
        theirs, ended = _cpu_s(lambda: check.call(listed, list(tasks), workers, timeout_s=60))
        # Work done here costs about the serial loop's CPU (serial code, a lazy map, GIL-bound threads);
        # worker processes leave this process a smaller share (80 % keeps a right answer clear of
        # "wrong" on a busy machine), and a pool started per call shows its workers' CPU once they end.
        if theirs < HERE_SHARE * serial_cpu or ended >= GONE_SHARE * serial_cpu:
            return None
        numbers = (f"this process spent {theirs:.2f} s of CPU on your call, the serial loop {serial_cpu:.2f} s; "
                   "work done in worker processes costs this process almost none")
        lazy = shape.get("lazy")
        if lazy:
            return check.wrong(JOBLIB, f"your function returned {lazy}: it computes nothing until it is read, "
                                       "and then it runs every task one after another, in this process.",
                               hint="Return the list the workers computed: Parallel(n_jobs=workers)(delayed("
                                    "count_primes)(lo, hi) for lo, hi in tasks) gives one.", details=numbers)
        return check.wrong(JOBLIB, "the results are right, but the work ran in this process, one task after "
                                   "another (serial code, n_jobs=1, or threads waiting for the GIL), not on "
                                   f"{workers} worker processes.",
                           hint="Hand every task to the workers: Parallel(n_jobs=workers)(delayed(count_primes)"
                                "(lo, hi) for lo, hi in tasks), with joblib's default (process) backend.",
                           details=numbers)

    verdict = check.first_failure(results, elsewhere)
    if verdict is not None:
        return verdict
    if busy_check and reference is None:
        reference = _parlab_pool
    learners = partial(check.rerun, JOBLIB, listed, list(tasks), workers, expected=expected,
                       what=f"{what}, called again", timeout_s=60)
    return check.timed_speed(JOBLIB, lambda: python_serial(tasks), learners, workers,
                             reference=None if reference is None else partial(reference, tasks, workers),
                             cores=cores, what="your parallel version", rounds=repeats)


def _parlab_pool(tasks: list[tuple[int, int]], workers: int) -> list[int]:
    """The known-good version: parlab's process pool, started for each run (it pays a pool's start-up)."""
    with WorkerPool("processes", workers, warn=False) as pool:
        return pool.map(count_primes, tasks, star=True, timeout=60).results


# --------------------------------------------------------------------------- exercise 3

LIMIT_S = 0.5      # each wait's time limit in the check: far above FAST_S, so a busy machine still makes it
FAST_S = 0.05      # the waits that finish in time
SLOW_S = 2.0       # the waits that do not


def limit_delays(fast: int = 20, slow: int = 2) -> list[float]:
    """The delays exercise 3's check hands over: ``fast`` short waits with ``slow`` long ones among them."""
    delays = [FAST_S] * fast
    for i in range(slow):
        delays.insert((i + 1) * len(delays) // (slow + 1), SLOW_S)
    return delays


def _one_after_another(delays: Sequence[float], limit: float) -> float:
    return sum(min(d, limit) for d in delays)


def check_within(fetch_all_within: Callable[..., Any], *, delays: Sequence[float] | None = None,
                 limit: float = LIMIT_S, timeout_s: float = 20.0) -> check.Verdict:
    """The learner's ``async def fetch_all_within(delays, limit)``: i*i per wait, None past the limit, at once.

    The coroutine runs in a thread with its own event loop (``l06_tools.run_async``). Right
    when the results are right and the run took less than half of what the limited waits
    take one after another: a loop that awaits each in turn is named.
    """
    from parlab.lessons.l06.tools import run_async

    if check.is_placeholder(fetch_all_within):
        return check.not_answered(LIMIT, "fill in fetch_all_within with asyncio.wait_for and asyncio.gather, "
                                         "then run this cell again.")
    if not inspect.iscoroutinefunction(fetch_all_within):
        return check.wrong(LIMIT, "fetch_all_within must be a coroutine function: write it with async def.",
                           hint="async def fetch_all_within(delays, limit): ... with await inside.")
    delays = list(delays) if delays is not None else limit_delays()
    expected = [i * i if d < limit else None for i, d in enumerate(delays)]
    outcome = check.call(run_async, fetch_all_within, delays, limit, timeout=timeout_s, timeout_s=timeout_s + 1)
    failed = check.failure(LIMIT, outcome, "fetch_all_within(delays, limit)")
    if failed:
        return failed
    got = outcome.value
    details = (f"{len(delays)} waits, {sum(d >= limit for d in delays)} of them longer than the limit of "
               f"{format_seconds(limit)}; yours took {format_seconds(outcome.seconds)}.")
    if isinstance(got, list) and any(isinstance(v, BaseException) for v in got):
        return check.wrong(LIMIT, "the list holds exceptions where a wait ran past the limit.",
                           hint="Catch TimeoutError inside the coroutine for one wait and return None there.",
                           details=details)
    differs = check.same_results(LIMIT, list(got) if isinstance(got, tuple) else got, expected,
                                 "fetch_all_within(delays, limit)")
    if differs:
        if isinstance(got, list) and got and all(v is None for v in got):
            return check.wrong(LIMIT, "every wait gave None: one limit was put on all the waits together, so "
                                      "the slow ones took the quick ones down with them.",
                               hint="Put wait_for around each fetch, not around the gather: each wait gets "
                                    "its own limit.", details=details)
        if isinstance(got, list) and None not in got and len(got) == len(expected):
            return check.wrong(LIMIT, "every wait ran to its end: the slow ones should give None after "
                                      "the limit.", hint="Wrap each fetch in asyncio.wait_for(..., timeout=limit).",
                               details=details)
        return differs
    serial = _one_after_another(delays, limit)
    if outcome.seconds >= serial / 2:
        return check.wrong(LIMIT, f"the results are right, but the waits ran one after another: "
                                  f"{format_seconds(outcome.seconds)}, where waiting for all at once takes "
                                  f"about {format_seconds(min(limit, max(delays)))}.",
                           hint="Create every coroutine first and await them together with asyncio.gather.",
                           details=details)
    return check.right(LIMIT, "every wait ran at once, and the slow ones gave None at the limit.",
                       details=details)
