"""Measurements for lesson 01b (threads in practice), sections 1 and 3; each returns data.

Threads started by hand against a ``ThreadPoolExecutor``, and a producer/consumer pipeline
on a bounded ``queue.Queue``. The conclusion writers (``describe_*``) word every printed
conclusion from the measured numbers, never fixed in advance. Section 2 (a race and its
lock) is in ``parlab.lessons.l01.race``, section 4 (asyncio against threads) in
``parlab.lessons.l01.waits``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from parlab._checks import check_size, check_timeout, check_whole
from parlab.lessons.words import SAME_HIGH, SAME_LOW, describe_speedup
from parlab.measure import build_sweep, check_same, time_call
from parlab.results import Metadata, Sweep, Timing, format_speedup
from parlab.system import usable_cores

__all__ = ["ThreadStyles", "describe_pipeline", "describe_thread_styles", "pipeline_sweep", "run_pipeline",
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
