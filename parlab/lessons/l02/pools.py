"""Lesson 02's measurements (threads vs processes) and their plots; each measurement returns data.

Start-up cost per start method, the cost of sending data to a worker (threads share it,
processes pickle and send it) and the ``chunksize`` curve for many small tasks. Nothing is
fixed in advance: the chunksize plot names the best size measured here. Lesson 01's
measurements, and the worker counts and fib tasks both lessons use, are in ``parlab.lessons.l01.gil``.

The sentences the notebook prints about those measurements are written here too
(``describe_*``), from the numbers alone, and tested over 1 to 64 cores in
``tests/lessons/l02/test_l02_conclusions.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from parlab import system
from parlab.lessons.words import (
    SAME_HIGH,
    SAME_LOW,
    describe_speedup,
    spread_warning,
)
from parlab.measure import check_same, ideal_speedup, startup_timing, time_call
from parlab.results import Sweep, SweepPoint, Timing, format_seconds, format_speedup
from parlab.run import WorkerPool
from parlab.workloads import make_buffer, payload_size

__all__ = ["ChunkCurve", "PayloadPoint", "chunksize_curve", "describe_chunksize", "describe_estimate",
           "describe_pickling", "describe_sweep", "pickling_curve", "plot_chunksize",
           "plot_pickling", "startup_costs"]


def startup_costs(workers: int, repeats: int = 3) -> dict[str, Timing]:
    """Seconds to start ``workers`` process workers, per available start method (lesson 02)."""
    return {method: startup_timing(method, workers, repeats) for method in system.available_start_methods()}


@dataclass(frozen=True)
class PayloadPoint:
    """Time per task for one argument size: threads share it, processes pickle and send it (lesson 02)."""

    nbytes: int
    threads_s: float
    processes_s: float


def pickling_curve(sizes: Iterable[int], tasks: int = 8, repeats: int = 3,
                   start_method: str | None = None) -> list[PayloadPoint]:
    """Time per task of ``payload_size`` against argument size, one worker of each kind (lesson 02)."""
    points = []
    with WorkerPool("threads", 1) as threads, \
            WorkerPool("processes", 1, start_method=start_method) as processes:
        for nbytes in sizes:
            data = [make_buffer(int(nbytes), seed=1)] * tasks
            per_task = {}
            for name, pool in (("threads", threads), ("processes", processes)):
                timing = time_call(partial(pool.map, payload_size, data, timeout=120), repeats=repeats)
                per_task[name] = timing.median / tasks
            points.append(PayloadPoint(int(nbytes), per_task["threads"], per_task["processes"]))
    return points


@dataclass(frozen=True)
class ChunkCurve:
    """Run time of many small tasks per ``chunksize``, beside the serial time (lesson 02)."""

    serial: Timing
    chunksizes: tuple[int, ...]
    timings: tuple[Timing, ...]
    workers: int
    tasks: int = 0  # how many tasks each run had (0: not recorded)
    cores: int | None = None  # usable cores when measured (None: ask system.usable_cores())

    @property
    def best(self) -> int:
        """The chunksize with the shortest median time."""
        return min(zip(self.timings, self.chunksizes, strict=True), key=lambda tc: tc[0].median)[1]


def chunksize_curve(func: Callable[..., Any], tasks: Sequence[Any], chunksizes: Iterable[int], *,
                    workers: int, repeats: int = 3, start_method: str | None = None) -> ChunkCurve:
    """Time ``func`` over ``tasks`` on process workers for each chunksize; results checked against serial (lesson 02).

    Timed with one timeline span per chunk, not per task: for tiny tasks the per-task
    bookkeeping would otherwise be part of what is measured. What the pool still adds to a
    bare executor's ``map`` is measured by ``python -m parlab.bench`` (harness_overhead).
    """
    sizes = tuple(int(c) for c in chunksizes)
    with WorkerPool("serial") as serial_pool:
        # Serial: every task in one chunk, i.e. a plain loop over them.
        def serial_run() -> Any:
            return serial_pool.map(func, tasks, chunksize=len(tasks), timeline="chunks")
        expected = serial_run().results
        serial = time_call(serial_run, repeats=repeats)
    timings = []
    with WorkerPool("processes", workers, start_method=start_method, warn=False) as pool:
        for size in sizes:
            run = partial(pool.map, func, tasks, chunksize=size, timeout=120, timeline="chunks")
            check_same(expected, run().results, f"chunksize {size}")
            timings.append(time_call(run, repeats=repeats, warmup=0))
    return ChunkCurve(serial, sizes, tuple(timings), workers, len(tasks), system.usable_cores())


# --------------------------------------------------------------------------- plots of the above

def plot_pickling(points: Sequence[PayloadPoint], ax: Any = None) -> Any:
    """Time per task against argument size, log-log, threads beside processes (lesson 02)."""
    from parlab.plot import new_axes

    ax = new_axes(ax)
    sizes = [p.nbytes for p in points]
    ax.loglog(sizes, [p.processes_s for p in points], marker="o", label="processes: pickled and sent")
    ax.loglog(sizes, [p.threads_s for p in points], marker="s", label="threads: shared, not copied")
    ax.set_xlabel("argument size (bytes)")
    ax.set_ylabel("time per task (s)")
    ax.set_title("The cost of sending data to a worker")
    ax.legend(fontsize="small", loc="upper left")
    ax.grid(alpha=0.3, which="both")
    return ax


def plot_chunksize(curve: ChunkCurve, ax: Any = None) -> Any:
    """Run time per chunksize (log scale), with the serial time as a line (lesson 02)."""
    from parlab.plot import new_axes

    ax = new_axes(ax)
    lows = [t.median - t.quartiles[0] for t in curve.timings]
    highs = [t.quartiles[1] - t.median for t in curve.timings]
    ax.errorbar(curve.chunksizes, [t.median for t in curve.timings], yerr=[lows, highs], marker="o",
                capsize=3, label=f"{curve.workers} process workers")
    ax.axhline(curve.serial.median, color="0.5", linestyle="--", label="serial")
    ax.set_xscale("log", base=2)
    ax.set_xticks(curve.chunksizes, [str(c) for c in curve.chunksizes])
    ax.minorticks_off()
    ax.set_xlabel("chunksize (tasks sent together)")
    ax.set_ylabel("run time (s)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Many small tasks: best chunksize here {curve.best}")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


# --------------------------------------------------------------------------- conclusions, from the numbers

def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _overlap(a: SweepPoint, b: SweepPoint) -> bool:
    # The two points' speedup ranges (from the repeats' quartiles) overlap: within noise.
    return a.speedup_low <= b.speedup_high and b.speedup_low <= a.speedup_high


def _at_most_cores(sweep: Sweep) -> SweepPoint | None:
    # The point with the most workers that still has a core each.
    within = [p for p in sweep.points if not p.oversubscribed]
    return max(within, key=lambda p: p.workers) if within else None


def _one_point(p: SweepPoint, cores: int, waiting: bool, what: str) -> str:
    """describe_speedup, plus the case it does not name: CPU work faster than the cores allow."""
    cap = ideal_speedup(p.workers, cores, waiting=waiting)
    if not waiting and p.workers > cores and p.speedup > SAME_HIGH * cap:
        return (f"{format_speedup(p.speedup)} on {p.workers} {what}: above the {format_speedup(cap)} that "
                f"{_plural(cores, 'usable core')} can give CPU-bound work, so the serial run was slower "
                "than usual (a busy machine or a lower clock); run the cell again")
    return describe_speedup(p.speedup, p.workers, cores, waiting=waiting, what=what)


def describe_sweep(sweep: Sweep, *, what: str = "processes") -> list[str]:
    """Sentences on a sweep: its best point, the point at the core count, and the points past it (lesson 02).

    The ideal is ``min(k, cores)`` for CPU-bound work (``sweep.waiting`` False) and ``k``
    for waiting tasks; a point past the cores is compared with the one at the cores, within
    the repeats' spread or not.
    """
    cores, waiting = sweep.metadata.usable_cores, sweep.waiting
    parallel = [p for p in sweep.points if p.workers > 1]
    if not parallel:
        return [(f"Only one worker was measured: there is no parallel run to compare ({_plural(cores, 'usable core')} "
                "here).")]
    best = max(parallel, key=lambda p: p.speedup)
    lines = []
    if best.speedup < SAME_LOW:
        lines.append("Every parallel run was slower than the serial one; the best: "
                     f"{_one_point(best, cores, waiting, what)}.")
    else:
        lines.append(f"Best: {_one_point(best, cores, waiting, what)}.")
    warning = spread_warning(best.speedup_low, best.speedup, best.speedup_high)
    if warning:
        lines.append(f"Careful: {warning}.")
    ref = _at_most_cores(sweep)
    if ref is not None and ref.workers > 1 and ref is not best:
        lines.append(f"With one per core: {_one_point(ref, cores, waiting, what)}.")
    over = [p for p in sweep.points if p.oversubscribed]
    if not over:
        lines.append(f"No point had more {what} than the {_plural(cores, 'usable core')}.")
        return lines
    listed = ", ".join(f"{format_speedup(p.speedup)} on {p.workers}" for p in over)
    if waiting:
        lines.append(f"Past the {_plural(cores, 'usable core')} ({listed}): waiting tasks need no core, so the ideal "
                     f"keeps rising with the {what}; "
                     + "; ".join(describe_speedup(p.speedup, p.workers, cores, waiting=True, what=what) for p in over)
                     + ".")
        return lines
    cap = format_speedup(float(cores))
    head = (f"Past the {_plural(cores, 'usable core')} ({listed}): for CPU-bound work the ideal stays at {cap}, "
            f"since the extra {what} share the same cores")
    top = max(over, key=lambda p: p.speedup)
    if top.speedup > SAME_HIGH * cores:
        lines.append(f"{head}; {_one_point(top, cores, False, what)}.")
    elif ref is None:
        lines.append(f"{head}.")
    elif all(p.speedup_high < ref.speedup_low for p in over):
        lines.append(f"{head}. All of them were lower than the {format_speedup(ref.speedup)} on {ref.workers}: "
                     "sharing the cores cost time and added none.")
    elif top.speedup_low > ref.speedup_high:
        lines.append(f"{head}. {format_speedup(top.speedup)} on {top.workers} is higher than the "
                     f"{format_speedup(ref.speedup)} on {ref.workers}, beyond the repeats' spread, and "
                     f"{'still below' if top.speedup <= cores else 'within 10 % of'} the ideal {cap}: more {what} "
                     "can even out how the tasks finish, but they add no core.")
    else:
        lines.append(f"{head}. The best of them, {format_speedup(top.speedup)} on {top.workers}, is within the "
                     f"repeats' spread of the {format_speedup(ref.speedup)} on {ref.workers}: no gain past the cores.")
    return lines


def describe_estimate(sweep: Sweep) -> list[str]:
    """The serial-fraction (Karp–Flatt) estimate in words: its points, range, and a ceiling or why none (lesson 02)."""
    cores, found = sweep.metadata.usable_cores, sweep.estimate
    if found is None:
        if cores < 2:
            return [("No serial-fraction estimate: it needs a run with 2 or more workers, each on a core of its own, "
                    f"and this machine has {_plural(cores, 'usable core')}.")]
        if not any(1 < p.workers <= cores for p in sweep.points):
            return [f"No serial-fraction estimate: no point had 2 to {cores} workers."]
        return ["No serial-fraction estimate for this sweep: its work has no serial part to estimate."]
    f, n = found.serial_fraction, found.points_used
    spread = "" if n == 1 else f", {found.low:.2f} to {found.high:.2f} point by point"
    within = "2 workers" if cores == 2 else f"2 to {cores} workers"
    lines = [(f"Serial-fraction estimate (Karp–Flatt): {f:.2f} from {_plural(n, 'point')} with {within}{spread}. "
              "It is the share of the run that did not get faster: serial code and pool overhead alike"
              + (" (here all of it: no parallel run was faster than the serial one)." if f >= 1 else "."))]
    why = found.why_no_ceiling(cores)
    if why is None:
        lines.append(f"If that share stayed the same on any number of cores, Amdahl's law would cap the speedup "
                     f"at {format_speedup(1 / f)} (1 / {f:.2f}).")
    else:
        lines.append(f"No ceiling projected: {why}.")
    return lines


def describe_pickling(points: Sequence[PayloadPoint]) -> list[str]:
    """What sending cost per task, small and large, to a process and to a thread (lesson 02)."""
    if not points:
        raise ValueError("describe_pickling needs at least one PayloadPoint")
    ordered = sorted(points, key=lambda p: p.nbytes)
    small, big = ordered[0], ordered[-1]
    rate = big.nbytes / big.processes_s / 1e6
    lines = [(f"{big.nbytes:,} bytes: {format_seconds(big.processes_s)} per task to a process "
             f"(about {rate:,.0f} MB/s), {format_seconds(big.threads_s)} to a thread")]
    if small is big:
        return lines
    # What the small argument's bytes would cost at the large argument's rate: the rest is fixed.
    bytes_part = small.nbytes / big.nbytes * big.processes_s
    share = bytes_part / small.processes_s
    lines.append(f"{small.nbytes:,} bytes: {small.processes_s * 1e6:,.0f} µs per task to a process; at the rate "
                 f"above its bytes account for {share:.0%} of that"
                 + (": the rest is the fixed cost of a round trip to the worker." if share < 0.5 else
                    ", so even small arguments cost time in proportion to their size here."))
    return lines


def describe_chunksize(curve: ChunkCurve) -> list[str]:
    """The chunksize curve in words: each time, the serial loop, and the best chunksize against it (lesson 02)."""
    lines = [f"chunksize {size:>4}: {format_seconds(t.median)}" for size, t in zip(curve.chunksizes, curve.timings,
                                                                                   strict=True)]
    serial = curve.serial.median
    lines.append(f"serial:         {format_seconds(serial)} ({serial / curve.tasks * 1e6:,.0f} µs per task)"
                 if curve.tasks else f"serial:         {format_seconds(serial)}")
    best = dict(zip(curve.chunksizes, curve.timings, strict=True))[curve.best]
    speedup = serial / best.median
    lines.append(f"best chunksize here: {curve.best}; against the serial loop, "
                 + describe_speedup(speedup, curve.workers, curve.cores or system.usable_cores(),
                                    what="processes") + ".")
    first = curve.timings[0].median
    if curve.best != curve.chunksizes[0]:
        lines.append(f"Chunksize {curve.chunksizes[0]} took {first / best.median:.1f} times as long as {curve.best}: "
                     "it pays the sending overhead once per task.")
    else:
        lines.append(f"The smallest chunksize, {curve.chunksizes[0]}, was the fastest here: these tasks take long "
                     "enough that sending each alone costs little.")
    return lines
