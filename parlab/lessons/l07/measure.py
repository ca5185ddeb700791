"""What lesson 07 measures: per-task cost on tiny tasks, and speedup sweeps on LocalClusters.

``granularity`` times the same tiny tasks sent one by one to dask, to a spawn
``ProcessPoolExecutor`` (one by one and in chunks) and to dask in batches; ``cluster_sweep``
measures a speedup curve with one fresh LocalCluster per worker count, its start-up kept out
of the clock and reported apart, every result checked against the serial run.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from parlab._checks import POOL_TIMEOUT_S, check_whole
from parlab.lessons.l07.cluster import local_cluster
from parlab.lessons.l07.tasks import fib_batch
from parlab.measure import build_sweep, check_same, time_call
from parlab.results import RunResult, Sweep, Timing
from parlab.workloads import fib

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["TINY_N", "Granularity", "batches", "cluster_sweep", "granularity", "scheduler_workers", "worker_count"]

TINY_N = 10  # fib(10): a few microseconds, so what is timed is the cost of a task, not its work


@dataclass(frozen=True)
class Granularity:
    """Seconds per item for ``items`` tiny tasks, four ways (lesson 07)."""

    items: int
    dask_each: float        # dask, one task per item
    pool_each: float        # ProcessPoolExecutor.map, chunksize 1
    pool_chunked: float     # ProcessPoolExecutor.map, chunksize = chunk
    dask_batched: float     # dask, one task per batch of ``chunk`` items
    chunk: int
    workers: int


def scheduler_workers(client: Client) -> dict[str, dict[str, Any]]:
    """The cluster's workers now, by address, as its scheduler lists them (lesson 07).

    ``client.scheduler_info()`` returns the client's copy, which a periodic update without
    per-worker details may overwrite just as it is read: it then lists no worker at all.
    """
    scheduler = client.scheduler
    if scheduler is None:
        raise RuntimeError("this client is not connected to a scheduler: open one with local_cluster(...) "
                           "or Client(address)")
    workers: dict[str, dict[str, Any]] = client.sync(scheduler.identity, n_workers=-1)["workers"]
    return workers


def worker_count(client: Client) -> int:
    """How many workers the cluster has now, asked of its scheduler (lesson 07)."""
    return len(scheduler_workers(client))


def batches(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` cut into lists of ``size`` (the last may be shorter), in order (lesson 07)."""
    size = check_whole("size", size, 1)
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _best(fn: Callable[[], Any], expected: list[int], what: str, repeats: int) -> float:
    got: list[Any] = []
    timing = time_call(lambda: got.append(fn()), repeats=repeats, warmup=1)
    for results in got:
        check_same(expected, results, what)
    return min(timing.values)  # load slows a run down, never speeds it up


def granularity(client: Client, *, items: int = 400, chunk: int | None = None, repeats: int = 2) -> Granularity:
    """Per-item seconds of tiny tasks on dask and on a spawn ProcessPoolExecutor, one by one and batched (lesson 07)."""
    items = check_whole("items", items, 1)
    workers = worker_count(client)
    size = chunk or max(1, math.ceil(items / (4 * max(1, workers))))  # Pool.map's rule: 4 chunks a worker
    ns = [TINY_N] * items
    expected = [fib(n) for n in ns]

    def dask_each() -> list[int]:
        return list(client.gather(client.map(fib, ns, pure=False)))

    def dask_batched() -> list[int]:
        parts = client.gather(client.map(fib_batch, batches(ns, size), pure=False))
        return [x for part in parts for x in part]

    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
        list(pool.map(fib, [TINY_N] * workers, timeout=POOL_TIMEOUT_S))  # started before the clock
        pool_each = _best(lambda: list(pool.map(fib, ns, timeout=POOL_TIMEOUT_S)), expected, "pool", repeats)
        pool_chunked = _best(lambda: list(pool.map(fib, ns, chunksize=size, timeout=POOL_TIMEOUT_S)),
                             expected, "pool, chunked", repeats)
    each = _best(dask_each, expected, "dask, one task per item", repeats)
    batched = _best(dask_batched, expected, "dask, batched", repeats)
    return Granularity(items, each / items, pool_each / items, pool_chunked / items, batched / items, size,
                       workers)


def cluster_sweep(func: Callable[..., Any], tasks: Sequence[Any], workers: Sequence[int], *, repeats: int = 2,
                  label: str | None = None, progress: Callable[[int, int], None] | None = None) -> Sweep:
    """Speedup over ``workers`` on fresh LocalClusters (start-up apart), results checked (lesson 07's panel)."""
    counts = [check_whole("each of workers", k, 1) for k in workers]
    if not counts:
        raise ValueError("workers must list at least one worker count, e.g. [1, 2]")
    items = list(tasks)
    expected: list[Any] = []
    serial = time_call(lambda: expected.__setitem__(slice(None), [func(t) for t in items]),
                       repeats=repeats, warmup=1)
    total = 1 + len(counts)
    if progress:
        progress(1, total)
    measured: list[tuple[int, Timing, float, RunResult | None]] = []
    for step, k in enumerate(counts, start=2):
        t0 = time.perf_counter()
        with local_cluster(k) as client:
            startup = time.perf_counter() - t0
            got: list[list[Any]] = []
            timing = time_call(lambda: got.append(list(client.gather(  # noqa: B023 (called in this step only)
                client.map(func, items, pure=False)))), repeats=repeats, warmup=1)
            for results in got:
                check_same(expected, results, f"dask with {k} workers")
        measured.append((k, timing, startup, None))
        if progress:
            progress(step, total)
    name = getattr(func, "__name__", "task")
    return build_sweep(label or f"{name} on a dask LocalCluster", "dask", None, len(items), serial, measured)
