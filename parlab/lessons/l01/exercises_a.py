"""The checkers of lesson 01a's exercises; each takes what the learner wrote and returns a check.Verdict.

1. ``check_prediction``: the learner predicts count_primes' speedup on 2 threads; the checker
   measures it on this build and compares (with the GIL on about 1×, without it about
   min(2, cores)×).
2. ``check_hash_threads``: the learner's ``hash_with_threads(buffers, workers)`` with
   ``threading.Thread`` start/join. hashlib lets go of the GIL on large buffers, so the threads
   really run at once: the results must equal the serial hashes, in order (a list, not a
   generator), threads must have been started, run side by side and joined, and it must be
   faster than the serial loop (``check.timed_speed``: 12 windows of 32 MiB, about 0.3 s of
   serial hashing, so that noise cannot decide).
3. ``check_fetch_all``: the learner's ``fetch_all(tasks, workers)`` sends socket round trips to
   a ``SlowServer`` on a ``ThreadPoolExecutor``: the replies in task order, and the waits
   overlapped.

Threads the learner starts are seen through ``threading.setprofile``: each new thread reports
its name, and how many of the learner's threads are alive as it starts, once; then the hook
removes itself from that thread.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import socketserver
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import FrameType, TracebackType
from typing import Any, Self

from parlab import system
from parlab.lessons import check
from parlab.lessons.l01.words import _python_on_threads
from parlab.lessons.words import describe_speedup, regime
from parlab.measure import paired_speedup
from parlab.results import Metadata, format_speedup
from parlab.slowserver import SlowServer
from parlab.workloads import count_primes, request_reply

__all__ = ["EX1", "EX2", "EX3", "PREDICTION_WORKERS", "ThreadWatch", "check_fetch_all",
           "check_hash_threads", "check_prediction", "hash_buffers", "measure_primes_speedup",
           "measure_threads_overlap", "prime_ranges"]

EX1 = "Exercise 1: predict, then measure"
EX2 = "Exercise 2: hashing on threads by hand"
EX3 = "Exercise 3: round trips on a thread pool"
PREDICTION_WORKERS = 2


# --------------------------------------------------------------------------- which threads ran

class ThreadWatch:
    """The threads started while the ``with`` block runs (the checker's own left out), and how (lesson 01a).

    Besides their names it records, from the calls themselves rather than from timing (a busy
    machine can finish one short thread before the next starts): whether a learner's thread was
    joined before another one was started (``t.start(); t.join()`` in one loop runs them one at
    a time), and how many were given no work (``target=work(w)`` runs the work at once, in the
    caller's thread, and hands the thread its result).
    """

    IGNORE = frozenset({"parlab-check"})  # check.call's thread

    def __init__(self) -> None:
        self.started: list[str] = []
        self.idents: set[int] = set()
        self.joined_before_start = False  # a learner's thread ended in join() before another started
        self.without_work = 0  # learner's threads with no target to run (and Thread.run not overridden)
        self._joined = 0
        self._lock = threading.Lock()
        self._previous: Any = None
        self._start: Any = None
        self._join: Any = None

    def _learners(self, thread: threading.Thread) -> bool:
        # The SlowServer's handler threads (socketserver starts one per request) are not the learner's.
        server_side = isinstance(getattr(getattr(thread, "_target", None), "__self__", None),
                                 socketserver.BaseServer)
        return thread.name not in self.IGNORE and not server_side

    def _hook(self, frame: FrameType, event: str, arg: object) -> None:
        thread = threading.current_thread()
        sys.setprofile(None)  # once per thread: no cost on the thread's own work
        if self._learners(thread):
            with self._lock:
                self.started.append(thread.name)
                if thread.ident is not None:
                    self.idents.add(thread.ident)

    def __enter__(self) -> Self:
        watch, start, join = self, threading.Thread.start, threading.Thread.join

        def watched_start(thread: threading.Thread) -> None:
            if watch._learners(thread):
                with watch._lock:
                    watch.joined_before_start |= watch._joined > 0
                    target = getattr(thread, "_target", None)
                    if not callable(target) and type(thread).run is threading.Thread.run:
                        watch.without_work += 1
            start(thread)

        def watched_join(thread: threading.Thread, timeout: float | None = None) -> None:
            join(thread, timeout)
            if not thread.is_alive() and thread.ident in watch.idents:
                with watch._lock:
                    watch._joined += 1

        self._start, self._join = start, join
        threading.Thread.start = watched_start  # type: ignore[method-assign, assignment]
        threading.Thread.join = watched_join  # type: ignore[method-assign, assignment]
        self._previous = threading.getprofile()
        threading.setprofile(self._hook)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        threading.setprofile(self._previous)
        threading.Thread.start, threading.Thread.join = self._start, self._join  # type: ignore[method-assign]

    def one_at_a_time(self) -> bool:
        """Whether the learner's threads were run one after another by construction (never by chance)."""
        return self.joined_before_start or self.without_work > 0

    def still_running(self) -> list[str]:
        """The started threads that are still alive now (never joined, or a pool never shut down)."""
        return [t.name for t in threading.enumerate() if t.ident in self.idents and t.is_alive()]


def _no_threads(exercise: str, what: str) -> check.Verdict:
    return check.wrong(exercise, f"{what} started no threads: it ran the work serially.",
                       hint="Create the threads (threading.Thread(target=..., args=...) or a "
                            "ThreadPoolExecutor) and give the work to them.")


def _left_running(exercise: str, names: Sequence[str]) -> check.Verdict:
    return check.wrong(exercise, f"{len(names)} thread(s) your function started were still running "
                                 "when it returned.",
                       hint="Wait for every thread before you return: call join() on each one (or "
                            "use the pool in a with block, which waits for its threads).",
                       details="still running: " + ", ".join(names))


def _with_details(verdict: check.Verdict, more: str) -> check.Verdict:
    details = f"{verdict.details.rstrip()}\n{more}" if verdict.details else more
    return dataclasses.replace(verdict, details=details)


# --------------------------------------------------------------------------- exercise 1

def prime_ranges(count: int = 8, width: int = 5_000) -> list[tuple[int, int]]:
    """``count`` ranges for count_primes, from 1,000,000 up, about equal work each (lesson 01a).

    About 0.3 s of serial work in all: enough that a burst of other work cannot decide a speedup.
    """
    start = 1_000_000
    return [(start + i * width, start + (i + 1) * width) for i in range(count)]


def measure_primes_speedup(workers: int = PREDICTION_WORKERS, pairs: int = 3) -> float:
    """count_primes serial vs on ``workers`` threads (a started pool), median of interleaved pairs (lesson 01a)."""
    ranges = prime_ranges()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(abs, range(workers)))  # threads started before the clock
        return paired_speedup(lambda: [count_primes(a, b) for a, b in ranges],
                              lambda: list(pool.map(count_primes, *zip(*ranges, strict=True), timeout=60)),
                              workers=workers, pairs=pairs, warmup=0).speedup


def measure_threads_overlap(workers: int = PREDICTION_WORKERS, pairs: int = 3) -> float:
    """hashlib's speedup on ``workers`` threads: it lets go of the GIL on every build (lesson 01a).

    Below the speedup a check asks for, the threads could not get cores of their own just now:
    other programs held them, and no measurement of threads means much.
    """
    data = hash_buffers()
    return paired_speedup(lambda: _serial_hashes(data), lambda: _known_good_hashes(data, workers),
                          workers=workers, pairs=pairs, warmup=1).speedup


def check_prediction(predicted: object, *, measured: float | None = None, meta: Metadata | None = None,
                     tolerance: float | None = None, overlap: float | None = None) -> check.Verdict:
    """Exercise 1: the learner's predicted speedup of count_primes on 2 threads against this build's (lesson 01a).

    ``measured``, ``overlap`` and ``meta`` stand in for the measurements (tests); the tolerance
    is a quarter of the thread count, so "about 1×" and "about 2×" are told apart. A
    prediction that misses is checked against :func:`measure_threads_overlap` too: when even
    hashlib's threads could not run side by side, the machine is too busy to judge, and the
    verdict is "not checked".
    """
    if check.is_placeholder(predicted):
        return check.not_answered(EX1, "set my_prediction to a number (the speedup on 2 threads), "
                                       "then run this cell again.")
    if isinstance(predicted, bool) or not isinstance(predicted, int | float):
        return check.wrong(EX1, f"a prediction must be a number, not {type(predicted).__name__}.",
                           hint="Write a number such as 1.5.")
    meta = meta or Metadata.here()
    workers = PREDICTION_WORKERS
    speedup = measure_primes_speedup(workers) if measured is None else measured
    verdict = check.prediction(EX1, float(predicted), speedup,
                               tolerance=0.25 * workers if tolerance is None else tolerance)
    why = (describe_speedup(speedup, workers, meta.usable_cores, what="threads") + ". "
           + _python_on_threads(regime(speedup, workers, meta.usable_cores), meta))
    need = check.needed_speedup(workers, meta.usable_cores)
    if verdict.status == "wrong" and need is not None:
        if overlap is None and measured is None:
            overlap = measure_threads_overlap(workers)
        if overlap is not None and overlap < need:
            return check.not_checked(
                EX1, f"this machine is too busy to measure threads just now: even hashlib, which lets go of "
                     f"the GIL on every build, ran only {format_speedup(overlap)} as fast on {workers} threads "
                     f"(a free core gives {format_speedup(need)} or more). Run this cell again when it is quieter.",
                details=f"{verdict.details}\n{why}")
    return _with_details(verdict, why)


# --------------------------------------------------------------------------- exercise 2

@functools.lru_cache(maxsize=1)
def hash_buffers(count: int = 12, nbytes: int = 32 << 20, step: int = 1 << 20) -> tuple[memoryview, ...]:
    """``count`` different buffers of ``nbytes`` to hash, about 0.3 s serially (lesson 01a).

    Windows into one pseudo-random block, each ``step`` bytes further on: every window holds
    different bytes (so each digest differs and the order shows) while the memory held is one
    block of ``nbytes + (count - 1) * step`` bytes, not ``count * nbytes``. hashlib takes any
    buffer and lets go of the GIL while it hashes one this large.
    """
    block = memoryview(hashlib.shake_256(b"parlab lesson 01a").digest(nbytes + (count - 1) * step))
    return tuple(block[i * step: i * step + nbytes] for i in range(count))


def _serial_hashes(buffers: Sequence[bytes | memoryview]) -> list[str]:
    return [hashlib.sha256(b).hexdigest() for b in buffers]


def _known_good_hashes(buffers: Sequence[bytes | memoryview], workers: int) -> list[str]:
    """The exercise's answer on a thread pool: timed beside the learner's to tell a busy machine apart."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda b: hashlib.sha256(b).hexdigest(), buffers, timeout=60))


def _run_watched(fn: Callable[..., Any], args: tuple[Any, ...], timeout_s: float) -> tuple[check.Outcome, ThreadWatch]:
    with ThreadWatch() as watch:
        outcome = check.call(fn, *args, timeout_s=timeout_s)
    return outcome, watch


def _correct_and_threaded(exercise: str, fn: Callable[..., Any], args: tuple[Any, ...], expected: list[Any],
                          what: str, timeout_s: float, workers: int) -> check.Verdict | None:
    """The first wrong/error/timeout verdict of one watched call, or None when it passed."""
    outcome, watch = _run_watched(fn, args, timeout_s)
    failed = check.failure(exercise, outcome, what)
    if failed is not None:
        return failed
    got = outcome.value
    if not isinstance(got, list | tuple | str | bytes | dict) and hasattr(got, "__next__"):
        return check.wrong(exercise, f"{what} returned a {type(got).__name__} object, not a list of results.",
                           hint=("A map object or a generator holds no results yet: the work would run only "
                                 "when something reads it, after your function has returned. Return a list: "
                                 "list(pool.map(...)), or the list your threads filled."))
    if isinstance(got, list | tuple) and any(isinstance(g, Future) for g in got):
        return check.wrong(exercise, f"{what} returned Future objects, not their results.",
                           hint="Call .result() on each future (or use pool.map, which gives results).")
    leftover = watch.still_running()
    if isinstance(got, list | tuple) and None in got:
        return check.wrong(exercise, f"{what} returned before every result was in: "
                                     f"{list(got).count(None)} of {len(got)} are still None.",
                           hint="join() every thread before you return the results.")
    different = check.same_results(exercise, list(got) if isinstance(got, tuple) else got, expected, what)
    if different is not None:
        return different
    if not watch.started:
        return _no_threads(exercise, what)
    if leftover:
        return _left_running(exercise, leftover)
    if watch.one_at_a_time() and 2 <= min(workers, len(expected)) and len(watch.started) >= 2:
        return check.wrong(exercise, f"{what} started {len(watch.started)} threads, but they ran one at a "
                                     "time: each had finished before the next one started.",
                           hint=("Start every thread first, then join them all in a second loop (a join() "
                                 "right after each start() waits for that thread before starting the next). "
                                 "And pass the function itself, target=work, args=(w,): target=work(w) runs "
                                 "the work at once, in your own thread."))
    if len(watch.started) < min(workers, len(expected)):
        return check.wrong(exercise, f"{what} started {len(watch.started)} thread(s); it was asked "
                                     f"for {workers}.",
                           hint="Start one thread per worker, or use a pool with max_workers=workers and "
                                "give it every task before you wait for any result (a pool starts a "
                                "thread only when a task finds none idle).")
    return None


def check_hash_threads(fn: object, *, buffers: Sequence[bytes | memoryview] | None = None, workers: int | None = None,
                       cores: int | None = None, repeats: int = 5, timeout_s: float = 30) -> check.Verdict:
    """Exercise 2: ``fn(buffers, workers)`` must give the serial SHA-256 digests in order, on threads, faster (01a)."""
    if check.is_placeholder(fn):
        return check.not_answered(EX2, "write hash_with_threads, then run this cell again.")
    if not callable(fn):
        return check.not_a_function(EX2, "hash_with_threads", fn)
    data = list(hash_buffers() if buffers is None else buffers)
    cores = system.usable_cores() if cores is None else cores
    workers = max(2, min(4, cores)) if workers is None else workers
    expected = _serial_hashes(data)
    what = f"hash_with_threads(buffers, {workers})"
    failed = _correct_and_threaded(EX2, fn, (data, workers), expected, what, timeout_s, workers)
    if failed is not None:
        return failed
    learners = functools.partial(check.rerun, EX2, fn, data, workers, expected=expected, what=what,
                                 timeout_s=timeout_s)
    return check.timed_speed(EX2, lambda: _serial_hashes(data), learners, workers,
                             reference=lambda: _known_good_hashes(data, workers), cores=cores,
                             what="hash_with_threads", rounds=repeats)


# --------------------------------------------------------------------------- exercise 3

def check_fetch_all(fn: object, *, trips: int = 16, workers: int = 8, delay_s: float = 0.02,
                    timeout_s: float = 30) -> check.Verdict:
    """Exercise 3: ``fn(tasks, workers)`` must give every reply in task order, the waits overlapped (lesson 01a).

    The serial time is a real loop over the same round trips, timed with the learner's runs
    and a known-good pool in ``check.timed_speed``. Waiting threads need no core: the speedup
    needed follows the thread count, not the cores.
    """
    if check.is_placeholder(fn):
        return check.not_answered(EX3, "write fetch_all, then run this cell again.")
    if not callable(fn):
        return check.not_a_function(EX3, "fetch_all", fn)
    what = f"fetch_all(tasks, {workers})"
    with SlowServer(delay_s=delay_s) as server:
        tasks = server.tasks(trips)
        expected = [f"reply to {message}" for _, _, message in tasks]
        failed = _correct_and_threaded(EX3, fn, (tasks, workers), expected, what, timeout_s, workers)
        if failed is not None:
            return failed
        # A serial loop over the same round trips, and a known-good pool beside the learner's
        # (if even it cannot overlap the waits now, the machine is too busy to judge).
        learners = functools.partial(check.rerun, EX3, fn, tasks, workers, expected=expected, what=what,
                                     timeout_s=timeout_s)
        verdict = check.timed_speed(EX3, lambda: [request_reply(*task) for task in tasks], learners, workers,
                                    reference=lambda: _known_good_fetch(tasks, workers), what=what, waiting=True)
    if verdict.right:
        return dataclasses.replace(verdict, headline="the replies are right, in order, and the waits overlapped.")
    if verdict.status == "wrong":
        return dataclasses.replace(verdict, hint="Give every round trip to the pool before waiting for any "
                                                 f"(pool.map does), and use max_workers=workers ({workers}).")
    return verdict


def _known_good_fetch(tasks: Sequence[tuple[int, str, str]], workers: int) -> list[str]:
    """Exercise 3's answer on a thread pool: timed beside the learner's to tell a busy machine apart."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda task: request_reply(*task), tasks, timeout=60))
