"""Lesson 07's conclusion writers: every printed conclusion worded from the numbers measured a moment ago.

A slowdown is called one, a figure that noise may explain says so, and nothing is claimed that a
1-core or a 64-core machine would contradict: the ideal comes from ``lessons.words`` (one core
per worker, up to the usable cores).
"""

from __future__ import annotations

from collections.abc import Mapping

from parlab.lessons.l07.measure import Granularity
from parlab.lessons.words import describe_speedup, point_at_cores, regime, spread_warning, unexplained
from parlab.results import Sweep, format_seconds

__all__ = ["describe_cluster", "describe_delayed", "describe_granularity", "describe_rerun", "per_item", "times"]

SAME = 1.25  # two per-item costs within 25 % of each other are "about the same" on a noisy machine


def per_item(seconds: float) -> str:
    """A per-item cost in microseconds or milliseconds: "35 µs", "2.4 ms" (lesson 07)."""
    if seconds < 0:
        raise ValueError(f"seconds must be zero or more, got {seconds!r}")
    return f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.1f} ms"


def times(a: float, b: float) -> str:
    """How ``a`` compares with ``b`` in words: "12 times", "about the same as", "a third of" (lesson 07)."""
    if a <= 0 or b <= 0:
        raise ValueError(f"need two positive figures, got {a!r} and {b!r}")
    ratio = a / b
    if 1 / SAME <= ratio <= SAME:
        return "about the same as"
    if ratio > 1:
        return f"{ratio:.0f} times" if ratio >= 10 else f"{ratio:.1f} times"
    return f"{1 / ratio:.0f} times less than" if ratio <= 0.1 else f"{1 / ratio:.1f} times less than"


def describe_delayed(eager_s: float, lazy_s: float, serial_s: float) -> str:
    """The pitfall in numbers: building with delayed(f(x)) against delayed(f)(x) and the serial loop (lesson 07)."""
    if min(eager_s, lazy_s, serial_s) <= 0:
        raise ValueError(f"times must be positive seconds, got {eager_s!r}, {lazy_s!r}, {serial_s!r}")
    eager = (f"Building the graph with delayed(fib(n)) took {format_seconds(eager_s)}, "
             f"{times(eager_s, serial_s)} the serial loop ({format_seconds(serial_s)})")
    if eager_s >= 0.5 * serial_s:
        eager += ": every fib ran at once, in the notebook, one after another, before dask saw it."
    else:
        eager += (": less than the loop this time, as the two were timed apart; "
                  "either way, fib(n) is called before delayed() receives its value.")
    if lazy_s * SAME < eager_s:
        lazy = (f"With delayed(fib)(n) it took {format_seconds(lazy_s)}, {times(eager_s, lazy_s)} less: "
                "delayed only records each call, and nothing runs until compute().")
    else:
        lazy = (f"With delayed(fib)(n) it took {format_seconds(lazy_s)}, no less here (the work is "
                "tiny beside recording it); still, only compute() runs the recorded calls.")
    return f"{eager} {lazy}"


def describe_cluster(sweep: Sweep, *, what: str = "dask workers") -> str:
    """The sweep at the usable cores, with its start-up and a warning when the repeats spread (lesson 07)."""
    point = point_at_cores(sweep)
    cores = sweep.metadata.usable_cores
    line = describe_speedup(point.speedup, point.workers, cores, what=what)
    kind = regime(point.speedup, point.workers, cores)
    if kind in ("slower", "same") and point.workers > 1:
        line += (". Each task is sent to a worker process and its result sent back: tasks this short, "
                 "or this few, cost more to send than they save")
        if sweep.busy:
            line += "; and " + unexplained(sweep.others_cores, cores)
    line += (f". Starting that cluster took {format_seconds(point.startup_s)}, kept out of the time: "
             "start one cluster and reuse it.")
    if cores == 1:
        line += " This machine has 1 usable core: workers take turns on it, so no speedup is possible here."
    noisy = spread_warning(point.speedup_low, point.speedup, point.speedup_high)
    return f"{line} Note: {noisy}." if noisy else line


def describe_granularity(g: Granularity) -> str:
    """What a task costs on dask against a process pool, and what batching did, per item (lesson 07)."""
    each = (f"One dask task per item cost {per_item(g.dask_each)} an item: "
            f"{times(g.dask_each, g.pool_each)} a ProcessPoolExecutor sending them one by one "
            f"({per_item(g.pool_each)}), and {times(g.dask_each, g.pool_chunked)} one sending "
            f"chunks of {g.chunk} ({per_item(g.pool_chunked)}).")
    if g.dask_each > SAME * g.pool_each:
        each += " Every dask task is planned by the scheduler and tracked on its way: that costs far more than a pipe."
    batched = (f"Batches of {g.chunk} items, one task each, cost {per_item(g.dask_batched)} an item, "
               f"{times(g.dask_each, g.dask_batched)} less than one task per item."
               if g.dask_batched * SAME < g.dask_each else
               f"Batches of {g.chunk} items cost {per_item(g.dask_batched)} an item: no gain here, "
               "so the machine was probably busy; run the cell again.")
    return f"{each} {batched}"


def describe_rerun(started: Mapping[int, list[int]], killed_pid: int, results_right: bool) -> str:
    """Which tasks the killed worker had started and where they ran again; whether every result arrived (lesson 07)."""
    lost = sorted(i for i, pids in started.items() if killed_pid in pids)
    again = [i for i in lost if any(p != killed_pid for p in started[i][started[i].index(killed_pid):])]
    head = (f"All {len(started)} results arrived and match the serial loop." if results_right else
            "The results do not match the serial loop: something else went wrong; run the cells again.")
    if not lost:
        return (f"{head} The killed worker (pid {killed_pid}) had started none of these tasks when it died, "
                "so nothing needed to run again; run the cell again to catch it mid-task.")
    tasks = ", ".join(map(str, lost))
    moved = ("each of them ran again on another worker process"
             if len(again) == len(lost) else f"{len(again)} of them ran again on another worker process")
    return (f"{head} The killed worker (pid {killed_pid}) had started task{'s' if len(lost) > 1 else ''} "
            f"{tasks}; {moved}, without a line of code from you: the scheduler gives a lost worker's "
            "tasks to the others (a task is run at least once, maybe twice: keep tasks free of side effects).")
