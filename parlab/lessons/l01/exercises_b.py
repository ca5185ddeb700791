"""The checkers of lesson 01b's exercises; each takes what the learner wrote and returns a check.Verdict.

1. ``check_lock``: the learner's ``safe_bump(counter, times)`` adds one ``times`` times through
   ``add_one``, a read-modify-write that loses updates on several threads unless a shared
   ``threading.Lock`` holds it together. The checker runs it on several threads, several
   times, with a short switch interval and a counter that pauses now and then between a read
   and the write (an unprotected version loses updates every time, even on a busy machine),
   and compares with the exact count. A deadlock (a lock taken twice) times out.
2. ``check_pipeline``: the learner's ``run_pipeline(items, consumers)`` feeds a bounded
   ``queue.Queue`` to consumer threads that call ``slow_square``; every result must come back
   once, from more than one thread, and every consumer must have stopped *by taking a stop
   signal*. How each consumer ended is recorded, not guessed from whether it is still alive:
   ``threading.excepthook`` catches a consumer that died (of ``TypeError`` after it took STOP
   and went on, of ``queue.Empty`` when no STOP reached it), and a recording ``queue.Queue``
   notes what each consumer took last (a STOP, or nothing before its timeout).
3. ``check_gather``: the learner's ``async def fetch_all(port, key, count, limit)`` fetches
   replies from a ``SlowServer`` with ``asyncio.gather`` and an ``asyncio.Semaphore``. A
   coroutine itself (``await ex.check_gather(fetch_all)``): the replies in order, at most
   ``limit`` in flight, and concurrent: the requests in flight are counted, so the verdict
   needs no clock (a gather over every request under ``Semaphore(limit)`` always has exactly
   ``limit`` in flight at its start; one at a time has one).

A function still holding a ``...`` blank, or using a global name still set to ``...``, is
"not answered yet": the faded scaffolds run without raising.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect
import sys
import textwrap
import threading
import time
import traceback
from collections import Counter as Multiset
from collections.abc import Callable
from typing import Any

from parlab.lessons import check
from parlab.lessons.l01 import consumers as watch
from parlab.lessons.l01.consumers import EX2, slow_square
from parlab.lessons.l01.race import Counter, add_one
from parlab.lessons.l01.waits import ask_async as _ask_async
from parlab.results import format_seconds
from parlab.slowserver import SlowServer

__all__ = ["EX1", "EX2", "EX3", "Counter", "add_one", "ask_async", "check_gather", "check_lock",
           "check_pipeline", "has_blank", "slow_square"]

EX1 = "Exercise 1: protect a counter with a lock"
EX3 = "Exercise 3: many requests with asyncio"


# --------------------------------------------------------------------------- blanks

def _source_tree(fn: Callable[..., Any]) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None


def has_blank(fn: object, *, _seen: set[int] | None = None) -> bool:
    """True if ``fn`` is a placeholder, holds a ``...`` blank, or uses a global still set to ``...`` (lesson 01b).

    Functions of the learner's own module that ``fn`` uses by name are looked at too: a
    blank in the scaffold's helper counts as unanswered.
    """
    if check.is_placeholder(fn):
        return True
    if not inspect.isfunction(fn):
        return False
    seen = _seen if _seen is not None else set()
    if id(fn) in seen:
        return False
    seen.add(id(fn))
    tree = _source_tree(fn)
    if tree is not None and any(isinstance(n, ast.Constant) and n.value is Ellipsis for n in ast.walk(tree)):
        return True
    for name in _names(fn.__code__):
        value = fn.__globals__.get(name)
        if value is Ellipsis:
            return True
        if inspect.isfunction(value) and value.__module__ == fn.__module__ and has_blank(value, _seen=seen):
            return True
    return False


def _names(code: Any) -> set[str]:
    """Global names used by ``code`` and the functions nested in it."""
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _names(const)
    return names


def _makes_own_lock(fn: Callable[..., Any]) -> bool:
    """True if ``fn``'s body itself creates a Lock: a new one per call, shared with nobody."""
    tree = _source_tree(fn)
    if tree is None:
        return False
    return any(isinstance(n, ast.Call) and (getattr(n.func, "attr", None) or getattr(n.func, "id", None))
               in ("Lock", "RLock") for n in ast.walk(tree))


# --------------------------------------------------------------------------- 1. a lock

class _RacyCounter(Counter):
    """A :class:`Counter` whose every ``PAUSE_EVERY``-th read pauses 1 ms after it has read, letting go of the GIL.

    The other threads then run while this one holds a value that is going stale: without a
    shared lock, its write-back loses their updates on any machine. A switch interval alone
    is not enough on a busy one: when other programs hold the cores, the waiting threads are
    not scheduled, nobody asks for the GIL, and one thread can run its whole loop alone.
    """

    PAUSE_EVERY = 200

    def __init__(self) -> None:
        self._value, self._reads = 0, 0
        super().__init__()

    @property
    def value(self) -> int:
        read = self._value
        self._reads += 1
        if self._reads % self.PAUSE_EVERY == 0:
            time.sleep(0.001)
        return read

    @value.setter
    def value(self, new: int) -> None:
        self._value = new


def _counts(fn: Callable[[Counter, int], Any], workers: int, times: int, runs: int) -> list[int]:
    """Run ``fn(counter, times)`` on ``workers`` threads started together, ``runs`` times; the final counts."""
    counts = []
    for _ in range(runs):
        counter: Counter = _RacyCounter()
        start = threading.Barrier(workers)
        errors: list[BaseException] = []

        def work(counter: Counter = counter, start: threading.Barrier = start,
                 errors: list[BaseException] = errors) -> None:
            try:
                start.wait(10)
                fn(counter, times)
            except BaseException as error:  # noqa: BLE001 (shown to the learner as the verdict)
                errors.append(error)

        threads = [threading.Thread(target=work, name=f"safe_bump-{i}", daemon=True) for i in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)  # check.call's shorter timeout reports a deadlock first
        if errors:
            raise errors[0]
        counts.append(counter.value)
    return counts


def check_lock(safe_bump: object, *, workers: int = 4, times: int = 20_000, runs: int = 3,
               timeout_s: float = 10.0) -> check.Verdict:
    """Exercise 1: ``safe_bump(counter, times)`` on ``workers`` threads must count exactly, every run (lesson 01b)."""
    if has_blank(safe_bump):
        return check.not_answered(EX1, "fill in the blanks: make one threading.Lock that every thread shares, "
                                       "and hold it (with lock:) around the read, add and write.")
    if not callable(safe_bump):
        return check.not_a_function(EX1, "safe_bump", safe_bump,
                                    hint="Define it with def safe_bump(counter, times): ...")
    expected = workers * times
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads very often: an unprotected update loses counts every run
    try:
        outcome = check.call(_counts, safe_bump, workers, times, runs, timeout_s=timeout_s)
    finally:
        sys.setswitchinterval(old)
    found = check.failure(EX1, outcome, "safe_bump")
    if found is not None and found.status == "timeout":
        return dataclasses.replace(found, headline=found.headline + " A deadlock: a thread waits for a lock "
                                   "that is never released.",
                                   hint="A threading.Lock is not reentrant: a thread that acquires it again "
                                   "while holding it (a with lock: inside another with lock:, or a call to a "
                                   "function that takes the same lock) waits for itself for ever. Take it once. "
                                   "And every lock.acquire() needs its lock.release(): with lock: does both.")
    if found is not None and "context manager" in found.headline + found.details:
        return dataclasses.replace(found, hint="threading.Lock() with parentheses makes a lock; threading.Lock "
                                               "alone is what makes one, not a lock: lock = threading.Lock().")
    if found is not None:
        return found
    counts: list[int] = outcome.value
    details = f"{runs} runs of {workers} threads × {times:,} updates; expected {expected:,} each, counted " + \
        ", ".join(f"{c:,}" for c in counts)
    lost = [expected - c for c in counts]
    if any(n < 0 for n in lost):
        return check.wrong(EX1, "it counted more than it was asked to.",
                           hint="Add exactly one per step, through ex.add_one(counter.value).", details=details)
    if any(lost):
        if callable(safe_bump) and _makes_own_lock(safe_bump):
            hint = ("safe_bump makes a new lock on every call, so each thread holds its own lock and "
                    "nobody waits: a lock protects only when every thread uses the same one. Create it "
                    "once, outside the function.")
        else:
            hint = ("Between reading counter.value and writing it back, another thread can run and its "
                    "updates are then overwritten. Hold one shared lock around the whole line: "
                    "with lock: counter.value = ex.add_one(counter.value).")
        return check.wrong(EX1, f"updates were lost: up to {max(lost):,} of {expected:,} in one run.",
                           hint=hint, details=details)
    return check.right(EX1, "every run counted exactly: no update was lost.",
                       details=f"every run counted {expected:,}\n{details}")


def check_pipeline(run_pipeline: object, *, items: int = 24, consumers: int = 3,
                   timeout_s: float = 10.0) -> check.Verdict:
    """Exercise 2: ``run_pipeline(items, consumers)``: each result once, every consumer stopped by STOP (lesson 01b)."""
    if has_blank(run_pipeline):
        return check.not_answered(EX2, "fill in the blanks: stop a consumer when it takes STOP, and put "
                                       "one STOP per consumer on the queue after the items.")
    if not callable(run_pipeline):
        return check.not_a_function(EX2, "run_pipeline", run_pipeline)
    with watch.worked_lock:
        watch.worked.clear()
        watch.threads.clear()
    tasks = list(range(items))
    with watch.watching_consumers() as died:
        outcome = check.call(run_pipeline, tasks, consumers, timeout_s=timeout_s)
        with watch.worked_lock:
            workers = dict(watch.threads)
        alive = [t for t in workers.values() if t.is_alive()]
        if alive and not outcome.timed_out:
            time.sleep(0.2)  # a consumer returning (or dying) just now
            alive = [t for t in alive if t.is_alive()]
    found = check.failure(EX2, outcome, "run_pipeline")
    if found is not None and found.status == "timeout":
        return dataclasses.replace(found, hint="A consumer that never gets its stop signal waits in q.get() for "
                                   "ever, and so does the join that waits for it. Put one STOP per consumer "
                                   "on the queue, and return from the consumer when it takes one. (A q.join() "
                                   "also waits for ever unless every get is followed by a q.task_done().)")
    if found is not None:
        return found
    got = outcome.value
    expected = [x * x for x in tasks]
    if not isinstance(got, list | tuple):
        return check.wrong(EX2, f"run_pipeline must return the list of results, not {type(got).__name__}.",
                           hint="Return out, the list the consumers appended to.")
    have, want = Multiset(got), Multiset(expected)
    missing, extra = want - have, have - want
    details = f"{items} items, {consumers} consumers; {len(got)} results came back"
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{sum(missing.values())} item(s) lost")
        if extra:
            parts.append(f"{sum(extra.values())} result(s) that should not be there")
        return check.wrong(EX2, ", ".join(parts) + ".",
                           hint="Every item must reach exactly one consumer: put every item before the stop "
                                "signals, and let each consumer stop only when it takes STOP (not when the "
                                "queue happens to be empty).", details=details)
    ended = watch.how_consumers_ended(tasks, died, details)
    if ended is not None:
        return ended
    if alive:
        return check.wrong(EX2, f"{len(alive)} consumer(s) were still running after run_pipeline returned: "
                                "they never got their stop signal.",
                           hint="Put one STOP per consumer on the queue, return when a consumer takes it, and "
                                "join every consumer.", details=details)
    if len(workers) < 2:
        return check.wrong(EX2, "one thread did all the work: the items were not shared between consumers.",
                           hint="Start `consumers` threads that each run consumer(q, out), before you put the items.",
                           details=details)
    return check.right(EX2, "every result came back once, and every consumer stopped.",
                       details=details + "; more than one consumer thread did the work")


# --------------------------------------------------------------------------- 3. asyncio.gather

def _traceback(error: BaseException) -> str:
    """The traceback of the learner's coroutine, without this module's frames."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename != __file__]
    return "".join(["Traceback (most recent call last):\n", *traceback.format_list(frames),
                    *traceback.format_exception_only(type(error), error)])


_in_flight = 0
_most_in_flight = 0


async def ask_async(port: int, key: str, message: str) -> str:
    """One request to the slow server, awaited; counts the requests in flight at once (lesson 01b, exercise 3)."""
    global _in_flight, _most_in_flight
    _in_flight += 1  # one event loop, one thread: no lock needed between awaits
    _most_in_flight = max(_most_in_flight, _in_flight)
    try:
        return await _ask_async(port, key, message, timeout=10)
    finally:
        _in_flight -= 1


async def check_gather(fetch_all: object, *, count: int = 40, limit: int = 8, delay_s: float = 0.05,
                       timeout_s: float = 20.0) -> check.Verdict:
    """Exercise 3 (a coroutine: ``await`` it): replies in order, at most ``limit`` at once, concurrent (lesson 01b)."""
    global _in_flight, _most_in_flight
    if has_blank(fetch_all):
        return check.not_answered(EX3, "fill in the blanks: an asyncio.Semaphore(limit), async with it around "
                                       "each request, and asyncio.gather over all the requests.")
    if not inspect.iscoroutinefunction(fetch_all):
        return check.wrong(EX3, "fetch_all must be a coroutine function: define it with async def.",
                           hint="async def fetch_all(port, key, count, limit): ... and await inside it.")
    serial_floor = count * delay_s
    with SlowServer(delay_s=delay_s) as server:
        _in_flight = _most_in_flight = 0
        start = time.perf_counter()
        try:
            got = await asyncio.wait_for(fetch_all(server.port, server.key, count, limit), timeout_s)
        except TimeoutError:  # asyncio.TimeoutError is TimeoutError since 3.11
            return check.Verdict(EX3, "timeout", f"fetch_all did not finish within {format_seconds(timeout_s)}.",
                                 details="The checker cancelled it: its requests stopped at their next await.",
                                 hint="Something waits forever: a Semaphore that is acquired and never released "
                                      "(use async with), or an await on something that never comes.")
        except Exception as error:  # noqa: BLE001 (the learner's error is the verdict)
            return check.failure(EX3, check.Outcome(error=error, traceback=_traceback(error)), "fetch_all") or \
                check.wrong(EX3, "fetch_all raised an error.")
        seconds = time.perf_counter() - start
    expected = [f"reply to request {i}" for i in range(count)]
    if isinstance(got, asyncio.Future):
        return check.wrong(EX3, "fetch_all returned a Future, not the replies: asyncio.gather(...) was not awaited.",
                           hint="return await asyncio.gather(...): await waits for every request and gives "
                                "their replies as a list.")
    if isinstance(got, list | tuple) and got and all(inspect.iscoroutine(c) for c in got):
        for c in got:
            c.close()  # never ran: closed, so Python does not warn about it later
        return check.wrong(EX3, "fetch_all returned coroutine objects that never ran, not the replies.",
                           hint="Calling one(i) only makes a coroutine; it runs when awaited. "
                                "Await them together: return await asyncio.gather(*(one(i) for i in range(count))).")
    got_list = list(got) if isinstance(got, list | tuple) else got
    found = check.same_results(EX3, got_list, expected, "fetch_all's replies")
    if found is not None:
        return found
    details = (f"{count} replies in {format_seconds(seconds)}; the server waits {format_seconds(delay_s)} per "
               f"request, so one at a time needs at least {format_seconds(serial_floor)}")
    if _most_in_flight > limit:
        return check.wrong(EX3, f"more than {limit} requests were in flight at once ({_most_in_flight}).",
                           hint="Make ONE asyncio.Semaphore(limit) before starting the requests, and share it: "
                                "a semaphore made inside each request lets every request through.",
                           details=details)
    # The requests in flight are counted: that, not the clock, tells concurrent from one at a time
    # (a busy machine slows both). Under Semaphore(limit), a gather over every request has exactly
    # min(limit, count) in flight before the first reply can come back.
    want = min(limit, count)
    if _most_in_flight < 2 <= want:
        return check.wrong(EX3, "the requests ran one after another, not concurrently.",
                           hint="`for i in ...: await one(i)` waits for each reply before sending the next. "
                                "Make all the coroutines first and await asyncio.gather(*coroutines).",
                           details=details)
    if _most_in_flight < want:
        return check.wrong(EX3, f"at most {_most_in_flight} requests were in flight at once; your limit lets "
                                f"{limit} in.",
                           hint="Make the semaphore with the limit you were given, asyncio.Semaphore(limit), and "
                                "hand every request to one asyncio.gather, so that the next request starts as "
                                "soon as one ends.", details=details)
    return check.right(EX3, "every reply came back, in order, within your limit in flight and with the "
                            "waits overlapping.",
                       details=f"{count} replies, at most {limit} in flight; {details}")
