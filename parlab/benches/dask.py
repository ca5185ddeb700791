"""Bench group "dask" (lesson 07): fib on a 2-worker LocalCluster, and what a dask task costs.

``dask_fib``: the fib workload (``FIB_N`` × 16 tasks per worker) run serially and on a
LocalCluster of 2 single-threaded worker processes (fewer on a 1-core machine), started
before the clock, timed as interleaved pairs like every other entry (aim: >= 1.7 on 2 cores).
``dask_task_overhead``: many tiny tasks (``fib(7)``) sent one per task through ``client.map``
and through a spawn ``ProcessPoolExecutor.map`` with chunksize 1, both warmed; the value is the
median ratio of the per-task times (dask / pool): what the scheduler's bookkeeping costs.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from parlab.bench import FIB_N, speedup_entry
from parlab.lessons.l07.cluster import dask_status, local_cluster
from parlab.measure import paired_speedup
from parlab.workloads import fib

__all__ = ["DASK_WORKERS", "TINY_N", "TINY_TASKS", "entries"]

DASK_WORKERS = 2
TINY_N = 7
TINY_TASKS = 400
PAIRS: int | None = None  # None: parlab.bench's default; tests set a small number


def _pairs(default: int) -> int:
    return default if PAIRS is None else PAIRS


def entries(cores: int) -> dict[str, Any]:
    """dask_fib (speedup over serial) and dask_task_overhead (per-task time, dask over a process pool)."""
    why = dask_status()
    if why:
        return {"dask_fib": {"value": None, "skipped": why}, "dask_task_overhead": {"value": None, "skipped": why}}
    workers = max(1, min(DASK_WORKERS, cores))
    tasks = [FIB_N] * (16 * workers)  # about 1.6 s serial on 2 workers: the scheduler's per-call cost stays small
    tiny = [TINY_N] * TINY_TASKS
    out: dict[str, Any] = {}
    with local_cluster(workers) as client:
        out["dask_fib"] = speedup_entry(lambda: [fib(n) for n in tasks],
                                        lambda: list(client.gather(client.map(fib, tasks, pure=False))),
                                        workers, **({} if PAIRS is None else {"pairs": PAIRS}))
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
            # paired_speedup with dask in the "serial" seat: its "speedup" is dask's time over the pool's.
            paired = paired_speedup(lambda: list(client.gather(client.map(fib, tiny, pure=False))),
                                    lambda: list(pool.map(fib, tiny, timeout=120)),
                                    workers=workers, pairs=_pairs(5), alternate=True)
    ratio = paired.speedup
    out["dask_task_overhead"] = {
        "value": round(ratio, 1), "dask_us_per_task": round(1e6 * paired.serial_median / len(tiny), 1),
        "pool_us_per_task": round(1e6 * paired.parallel_median / len(tiny), 1), "tasks": len(tiny),
        "task": f"fib({TINY_N})", "workers": workers, "pairs": paired.pairs}
    return out
