"""Bench group "dask" (lesson 07): fib on a 2-worker LocalCluster, and what a dask task costs.

``dask_fib``: the fib workload run serially and on a LocalCluster of 2 single-threaded worker
processes (fewer on a 1-core machine), started before the clock under lesson 07's
``LEAN_MONITORING``, timed as interleaved pairs like every other entry (aim: >= 1.7 on 2 cores).
Its tasks follow lesson 07's rule of thumb, at least 100 times a task's overhead: 2 per worker
of fib(``FIB_N`` + 4), about 0.3 s each where a dask task costs 2-3 ms (measured here, each of
``FIB_N``'s 50 ms tasks cost the scheduler and its worker about 9 ms of CPU beside the work).
``dask_idle_cpu``: the cores a 2-worker cluster keeps busy while it sits idle, with dask's
default monitoring and with ``LEAN_MONITORING``, each measured over ``IDLE_S`` seconds.
``dask_task_overhead``: many tiny tasks (``fib(7)``) sent one per task through ``client.map``
and through a spawn ``ProcessPoolExecutor.map`` with chunksize 1, both warmed; the value is the
median ratio of the per-task times (dask / pool): what the scheduler's bookkeeping costs.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from parlab.bench import FIB_N, speedup_entry
from parlab.lessons.l07.cluster import dask_status, local_cluster
from parlab.measure import paired_speedup
from parlab.system import CpuMeter
from parlab.workloads import fib

__all__ = ["DASK_WORKERS", "IDLE_S", "TINY_N", "TINY_TASKS", "entries", "idle_cores"]

DASK_WORKERS = 2
TASK_N = FIB_N + 4  # fib(31): about 0.3 s, over 100 times a dask task's cost
TASKS_PER_WORKER = 2
IDLE_S = 3.0  # seconds of idle measured per cluster; tests set less
TINY_N = 7
TINY_TASKS = 400
PAIRS: int | None = None  # None: parlab.bench's default; tests set a small number


def _pairs(default: int) -> int:
    return default if PAIRS is None else PAIRS


def idle_cores(workers: int, *, lean: bool, seconds: float) -> float | None:
    """Cores an idle LocalCluster keeps busy: this process (its scheduler, nannies, client) and its workers.

    None where ``system.CpuMeter`` cannot read the process tree (not Linux).
    """
    with local_cluster(workers, lean=lean) as client:
        client.gather(client.map(fib, [TINY_N] * workers, pure=False))  # every worker has run a task
        time.sleep(0.5)  # start-up's own work is done
        with CpuMeter() as meter:
            time.sleep(seconds)
    return meter.own_cores


def entries(cores: int) -> dict[str, Any]:
    """dask_fib (speedup over serial), dask_task_overhead (per-task time over a process pool), dask_idle_cpu."""
    why = dask_status()
    if why:
        return {name: {"value": None, "skipped": why}
                for name in ("dask_fib", "dask_task_overhead", "dask_idle_cpu")}
    workers = max(1, min(DASK_WORKERS, cores))
    tasks = [TASK_N] * (TASKS_PER_WORKER * workers)
    tiny = [TINY_N] * TINY_TASKS
    out: dict[str, Any] = {}
    with local_cluster(workers) as client:
        fib_entry = speedup_entry(lambda: [fib(n) for n in tasks],
                                  lambda: list(client.gather(client.map(fib, tasks, pure=False))),
                                  workers, **({} if PAIRS is None else {"pairs": PAIRS}))
        out["dask_fib"] = {"task": f"fib({TASK_N})", "tasks": len(tasks), **fib_entry}
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
    default, lean = (idle_cores(workers, lean=False, seconds=IDLE_S),
                     idle_cores(workers, lean=True, seconds=IDLE_S))
    if default is None or lean is None:
        out["dask_idle_cpu"] = {"value": None, "skipped": "reads this process tree's CPU time from /proc (Linux)"}
    else:
        out["dask_idle_cpu"] = {"value": round(lean, 3), "default_cores": round(default, 3),
                                "lean_cores": round(lean, 3), "workers": workers, "seconds": IDLE_S}
    return out
