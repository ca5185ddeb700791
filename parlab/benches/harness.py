"""Bench entry "harness_overhead" (lessons 00-02, in the "core" group): what parlab's pool adds.

Many tiny tasks (``fib(7)``, about 2 µs) through a ``WorkerPool`` and through a bare
``concurrent.futures.ProcessPoolExecutor``: the same worker count (the usable cores), the
same start method, the same function, both pools started and warmed before the clock. The
pool runs with ``timeline="chunks"``, as lesson 02's chunksize curve does. Timed as
interleaved pairs whose order alternates, so a burst of noise on a shared machine hits both
sides alike; the median of the pairs' ratios (parlab time / bare time) is reported: 1.0 adds
nothing, the aim is <= 1.10 at chunksize 100. ``ratio_chunksize_100_task_spans`` is the same
run keeping one timeline span per task (the default), for comparison.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Callable
from functools import partial
from typing import Any

from parlab import system
from parlab.measure import paired_speedup
from parlab.run import WorkerPool
from parlab.workloads import fib

__all__ = ["PAIRS", "TASKS", "TASK_N", "entries", "harness_overhead"]

TASK_N = 7  # fib(7): about 2 µs, so the pool's per-task cost is what is measured
# chunksize -> tasks per run: chunksize 1 costs ~100 µs a task (one message each way per task)
TASKS: dict[int, int] = {1: 2_000, 100: 20_000}
PAIRS = 11


def harness_overhead(cores: int, pairs: int | None = None, tasks: dict[int, int] | None = None) -> dict[str, Any]:
    """Median ratio of WorkerPool.map's time to a bare ProcessPoolExecutor.map's, per chunksize."""
    pairs = PAIRS if pairs is None else pairs  # read now: tests shrink the module's figures
    sizes = TASKS if tasks is None else tasks
    method = system.default_start_method()
    entry: dict[str, Any] = {}
    with cf.ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context(method)) as executor, \
            WorkerPool("processes", cores, start_method=method, warn=False) as pool:
        for chunksize, count in sizes.items():
            items = [TASK_N] * count
            bare = partial(_bare_map, executor, items, chunksize)
            lean = partial(_pool_map, pool, items, chunksize, "chunks")
            entry[f"ratio_chunksize_{chunksize}"] = _ratio(bare, lean, cores, pairs)
            if chunksize == max(sizes):  # for comparison: the default, one span per task
                spans = partial(_pool_map, pool, items, chunksize, "tasks")
                entry[f"ratio_chunksize_{chunksize}_task_spans"] = _ratio(bare, spans, cores, pairs)
    value = entry.get("ratio_chunksize_100", entry[f"ratio_chunksize_{max(sizes)}"])
    return {"value": value, **entry, "workers": cores, "start_method": method, "pairs": pairs,
            "task": f"fib({TASK_N})"}


def _ratio(bare: Callable[[], Any], ours: Callable[[], Any], workers: int, pairs: int) -> float:
    # The one paired harness, with parlab's pool in the "serial" seat: its "speedup" is then
    # parlab's time over the bare executor's, the overhead ratio, checked equal pair by pair.
    paired = paired_speedup(ours, bare, workers=workers, pairs=pairs, alternate=True)
    return round(paired.speedup, 3)


def _bare_map(executor: cf.Executor, items: list[int], chunksize: int) -> list[int]:
    return list(executor.map(fib, items, chunksize=chunksize))


def _pool_map(pool: WorkerPool, items: list[int], chunksize: int, timeline: str) -> list[int]:
    return pool.map(fib, items, chunksize=chunksize, timeline=timeline).results


def entries(cores: int) -> dict[str, Any]:
    """The entry parlab.bench's "core" group adds: harness_overhead."""
    return {"harness_overhead": harness_overhead(cores)}
