"""Measurements for lesson 01b (threads in practice), sections 1-3; each returns data.

Threads started by hand against a ``ThreadPoolExecutor``; a read-modify-write that loses
updates when several threads run it, and the same with a ``threading.Lock``; a
producer/consumer pipeline on a bounded ``queue.Queue``. The conclusion writers
(``describe_*``) word every printed conclusion from the measured numbers, never fixed in
advance. Section 4 (asyncio against threads) is in ``parlab.lessons.l01b_async``.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from parlab._checks import check_size, check_timeout, check_whole
from parlab.lessons.conclude import SAME_HIGH, SAME_LOW, describe_speedup
from parlab.measure import build_sweep, check_same, time_call
from parlab.plot import new_axes
from parlab.results import Metadata, Sweep, Timing, format_speedup
from parlab.system import usable_cores

__all__ = ["Counter", "RaceResult", "ThreadStyles", "add_one", "bump", "bump_locked", "describe_pipeline",
           "describe_race", "describe_thread_styles", "pipeline_sweep", "plot_race", "race", "run_pipeline",
           "time_thread_styles"]

JOIN_TIMEOUT_S = 60.0  # every join and get waits at most this long


# --------------------------------------------------------------------------- 1. threads by hand

def _by_hand(fn: Callable[[Any], Any], tasks: Sequence[Any], workers: int) -> list[Any]:
    """``workers`` threads started by hand; thread i fills the result slots i, i + workers, ..."""
    results: list[Any] = [None] * len(tasks)

    def work(first: int) -> None:
        for i in range(first, len(tasks), workers):
            results[i] = fn(tasks[i])  # each slot has one writer: no lock needed

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_S)
    if any(t.is_alive() for t in threads):
        raise TimeoutError(f"a thread was still running after {JOIN_TIMEOUT_S:g} s")
    return results


@dataclass(frozen=True)
class ThreadStyles:
    """The same tasks serially, on threads started by hand and on a ThreadPoolExecutor (lesson 01b)."""

    tasks: int
    workers: int
    serial: Timing
    by_hand: Timing
    pool: Timing
    cores: int


def time_thread_styles(fn: Callable[[Any], Any], tasks: Iterable[Any], workers: int,
                       repeats: int = 3) -> ThreadStyles:
    """Time ``fn`` over ``tasks`` three ways, each result checked against the serial run's (lesson 01b)."""
    items = list(tasks)
    workers = check_size("workers", workers, 256)
    repeats = check_size("repeats", repeats, 100)
    if not items:
        raise ValueError("tasks must hold at least one task")
    expected = [fn(t) for t in items]
    serial = time_call(lambda: check_same(expected, [fn(t) for t in items], "the serial run"), repeats=repeats)
    by_hand = time_call(lambda: check_same(expected, _by_hand(fn, items, workers), "threads by hand"),
                        repeats=repeats)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        def pooled() -> None:
            check_same(expected, list(pool.map(fn, items, timeout=JOIN_TIMEOUT_S)), "the ThreadPoolExecutor")
        timing = time_call(pooled, repeats=repeats)
    return ThreadStyles(len(items), workers, serial, by_hand, timing, usable_cores())


def describe_thread_styles(styles: ThreadStyles) -> str:
    """Both thread styles against the serial run, and against each other (lesson 01b)."""
    lines = []
    for name, timing in (("threads by hand", styles.by_hand), ("ThreadPoolExecutor", styles.pool)):
        speedup = styles.serial.median / timing.median
        lines.append(f"{name}: " + describe_speedup(speedup, styles.workers, styles.cores, waiting=True,
                                                    what="threads"))
    ratio = styles.by_hand.median / styles.pool.median
    if SAME_LOW <= ratio <= SAME_HIGH:
        lines.append("The two styles took about the same time: the pool only saves you the bookkeeping.")
    else:
        faster = "the pool" if ratio > 1 else "the threads started by hand"
        lines.append(f"This time {faster} finished sooner ({format_speedup(max(ratio, 1 / ratio))}); "
                     "the work was the same, so the difference is start-up and noise: run the cell again.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- 2. a race and a lock

class Counter:
    """A shared counter: ``value`` is read and written by every thread (lesson 01b)."""

    def __init__(self) -> None:
        self.value = 0


def add_one(value: int) -> int:
    """Return ``value + 1``: a call between the read and the write, where a thread can be paused (lesson 01b)."""
    return value + 1


def bump(counter: Counter, times: int) -> None:
    """Add one ``times`` times by read, add, write, with no lock: loses updates on several threads (lesson 01b)."""
    for _ in range(times):
        counter.value = add_one(counter.value)


def bump_locked(counter: Counter, times: int, lock: threading.Lock) -> None:
    """The same as ``bump``, the read, add and write held together by ``lock`` (lesson 01b)."""
    for _ in range(times):
        with lock:
            counter.value = add_one(counter.value)


def _count(workers: int, times: int, lock: threading.Lock | None) -> int:
    """``workers`` threads bump one counter ``times`` times each, started together; the final count."""
    counter = Counter()
    start = threading.Barrier(workers)

    def work() -> None:
        start.wait(JOIN_TIMEOUT_S)  # all threads at the line before any counts
        if lock is None:
            bump(counter, times)
        else:
            bump_locked(counter, times, lock)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_S)
    if any(t.is_alive() for t in threads):
        raise TimeoutError(f"a counting thread was still running after {JOIN_TIMEOUT_S:g} s")
    return counter.value


@dataclass(frozen=True)
class RaceResult:
    """Final counts of ``tries`` runs without and with a lock, and their times (lesson 01b)."""

    workers: int
    times: int
    unlocked: tuple[int, ...]
    locked: tuple[int, ...]
    unlocked_timing: Timing
    locked_timing: Timing

    @property
    def expected(self) -> int:
        return self.workers * self.times

    @property
    def lost(self) -> tuple[int, ...]:
        """Updates lost in each run without the lock."""
        return tuple(self.expected - got for got in self.unlocked)

    @property
    def lost_locked(self) -> tuple[int, ...]:
        """Updates lost in each run with the lock: all zero."""
        return tuple(self.expected - got for got in self.locked)


def race(workers: int, times: int = 100_000, tries: int = 3,
         switch_interval_s: float | None = None) -> RaceResult:
    """Count with ``workers`` threads ``tries`` times without a lock, then with one (lesson 01b).

    ``switch_interval_s`` sets ``sys.setswitchinterval`` for the runs (restored after):
    shorter intervals switch threads more often, and lose more updates.
    """
    workers = check_size("workers", workers, 64)
    times = check_size("times", times, 10_000_000)
    tries = check_size("tries", tries, 20)
    old = sys.getswitchinterval()
    if switch_interval_s is not None:
        sys.setswitchinterval(check_timeout(switch_interval_s, "switch_interval_s"))
    try:
        unlocked: list[int] = []
        locked: list[int] = []
        lock = threading.Lock()
        unlocked_timing = time_call(lambda: unlocked.append(_count(workers, times, None)), repeats=tries, warmup=0)
        locked_timing = time_call(lambda: locked.append(_count(workers, times, lock)), repeats=tries, warmup=0)
    finally:
        sys.setswitchinterval(old)
    return RaceResult(workers, times, tuple(unlocked), tuple(locked), unlocked_timing, locked_timing)


def describe_race(results: Sequence[RaceResult]) -> str:
    """How many updates each thread count lost, that the lock lost none, and what it cost (lesson 01b)."""
    if not results:
        raise ValueError("results must hold at least one RaceResult")
    lines = []
    for r in results:
        worst = max(r.lost)
        head = f"{r.workers} thread{'s' if r.workers > 1 else ''} × {r.times:,}: "
        if worst == 0 and r.workers == 1:
            lines.append(head + "nothing lost: one thread has nobody to race with.")
        elif worst == 0:
            lines.append(head + f"nothing lost in {len(r.lost)} tries this time: no thread happened to be "
                         "paused between its read and its write. The code is still wrong; run the cell again.")
        else:
            lines.append(head + f"lost up to {worst:,} of {r.expected:,} updates ({worst / r.expected:.0%}), "
                         f"in {sum(1 for n in r.lost if n)} of {len(r.lost)} tries.")
    bad = [r for r in results if any(r.lost_locked)]
    if bad:
        lines.append(f"With the lock, {bad[0].workers} threads still lost updates: the lock was not shared.")
    else:
        lines.append("With the lock, every run counted exactly right.")
    many = [r for r in results if r.workers > 1 and any(r.lost)]
    if len(many) >= 2 and max(many[-1].lost) > max(many[0].lost):
        lines.append(f"More threads lost more ({many[0].workers} threads: up to {max(many[0].lost):,}; "
                     f"{many[-1].workers}: up to {max(many[-1].lost):,}): each pause between read and "
                     "write throws away what the other threads counted meanwhile, and more threads "
                     "mean more pauses.")
    top = results[-1]
    cost = top.locked_timing.median / top.unlocked_timing.median
    if cost > SAME_HIGH:
        lines.append(f"The lock's price on {top.workers} threads: {format_speedup(cost)} the time without it "
                     "(acquire and release on every update, and threads waiting for each other).")
    elif cost < SAME_LOW:
        lines.append(f"On {top.workers} threads the locked run was even faster this time "
                     f"({format_speedup(cost)} the time): with fewer interruptions the threads passed the "
                     "lock in long turns. Correct and fast here, but a lock is never free.")
    else:
        lines.append(f"On {top.workers} threads the lock cost little this time ({format_speedup(cost)} the time).")
    return "\n".join(lines)


def plot_race(results: Sequence[RaceResult], ax: Any = None) -> Any:
    """Bars: the share of updates lost per thread count, without and with the lock (lesson 01b)."""
    ax = new_axes(ax, figsize=(6.0, 3.0))
    xs = list(range(len(results)))
    lost = [max(r.lost) / r.expected * 100 for r in results]
    lost_locked = [max(r.lost_locked) / r.expected * 100 for r in results]
    ax.bar([x - 0.2 for x in xs], lost, width=0.4, label="no lock", color="tab:red")
    ax.bar([x + 0.2 for x in xs], lost_locked, width=0.4, label="with a Lock", color="tab:green")
    ax.set_xticks(xs, [str(r.workers) for r in results])
    ax.set_xlabel("threads")
    ax.set_ylabel("updates lost (%, worst try)")
    ax.set_title("counter.value = add_one(counter.value) on threads")
    ax.legend()
    return ax


# --------------------------------------------------------------------------- 3. producer / consumer

_STOP = object()  # the sentinel: one per consumer means "no more items"


def run_pipeline(fn: Callable[[Any], Any], items: Iterable[Any], consumers: int, maxsize: int = 8,
                 timeout_s: float = JOIN_TIMEOUT_S) -> list[Any]:
    """``fn`` over ``items`` by ``consumers`` threads fed by a bounded queue; results in input order (lesson 01b)."""
    consumers = check_size("consumers", consumers, 256)
    maxsize = check_whole("maxsize", maxsize, 1, 10_000)
    timeout_s = check_timeout(timeout_s, "timeout_s")
    work: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
    done: list[tuple[int, Any]] = []  # list.append is one step: safe from several threads

    def consume() -> None:
        while True:
            item = work.get(timeout=timeout_s)
            try:
                if item is _STOP:
                    return
                index, task = item
                done.append((index, fn(task)))
            finally:
                work.task_done()

    threads = [threading.Thread(target=consume, daemon=True) for _ in range(consumers)]
    for t in threads:
        t.start()
    for pair in enumerate(items):
        work.put(pair, timeout=timeout_s)  # waits while the queue is full: back-pressure
    for _ in threads:
        work.put(_STOP, timeout=timeout_s)
    for t in threads:
        t.join(timeout_s)
    if any(t.is_alive() for t in threads):
        raise TimeoutError(f"a consumer was still running after {timeout_s:g} s")
    return [result for _, result in sorted(done, key=lambda pair: pair[0])]


def pipeline_sweep(fn: Callable[[Any], Any], items: Iterable[Any], consumers: Sequence[int],
                   maxsize: int = 8, repeats: int = 3, label: str = "queue pipeline") -> Sweep:
    """Time the pipeline on each consumer count against the serial loop, results checked (lesson 01b)."""
    tasks = list(items)
    counts = [check_size("consumers", k, 256) for k in consumers]
    if not counts or not tasks:
        raise ValueError("consumers and items must each hold at least one entry, e.g. [1, 2, 4]")
    expected = [fn(t) for t in tasks]
    serial = time_call(lambda: check_same(expected, [fn(t) for t in tasks], "the serial loop"), repeats=repeats)
    measured = []
    for k in counts:
        def once(k: int = k) -> None:
            check_same(expected, run_pipeline(fn, tasks, k, maxsize), f"the pipeline with {k} consumers")
        measured.append((k, time_call(once, repeats=repeats), 0.0, None))
    return build_sweep(label, "threads", None, len(tasks), serial, measured, metadata=Metadata.here(),
                       waiting=True, estimate=False)


def describe_pipeline(sweep: Sweep) -> str:
    """The pipeline's speedup at its most consumers, for waiting tasks (lesson 01b)."""
    top = max(sweep.points, key=lambda p: p.workers)
    cores = sweep.metadata.usable_cores
    text = describe_speedup(top.speedup, top.workers, cores, waiting=True, what="consumers")
    return (f"{sweep.label}: {text}. The consumers spent their time waiting for replies, "
            "so more consumers than cores still helped." if top.workers > cores and top.speedup > SAME_HIGH * cores
            else f"{sweep.label}: {text}.")
