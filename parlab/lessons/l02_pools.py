"""Lesson 02's measurements (threads vs processes) and their plots; each measurement returns data.

Start-up cost per start method, the cost of sending data to a worker (threads share it,
processes pickle and send it) and the ``chunksize`` curve for many small tasks. Nothing is
fixed in advance: the chunksize plot names the best size measured here. Lesson 01's
measurements, and the worker counts and fib tasks both lessons use, are in ``parlab.lessons.l01_gil``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from parlab import system
from parlab.measure import check_same, time_call, timing_from
from parlab.results import Timing
from parlab.run import WorkerPool
from parlab.workloads import make_buffer, payload_size

__all__ = ["ChunkCurve", "PayloadPoint", "chunksize_curve", "pickling_curve", "plot_chunksize",
           "plot_pickling", "startup_costs"]


def startup_costs(workers: int, repeats: int = 3) -> dict[str, Timing]:
    """Seconds to start ``workers`` process workers, per available start method (lesson 02)."""
    costs = {}
    for method in system.available_start_methods():
        values = []
        for _ in range(repeats):
            with WorkerPool("processes", workers, start_method=method, warn=False) as pool:
                values.append(pool.startup_s)
        costs[method] = timing_from(values)
    return costs


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
    return ChunkCurve(serial, sizes, tuple(timings), workers)


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
