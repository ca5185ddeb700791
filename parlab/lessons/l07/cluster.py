"""Lesson 07's cluster helpers: is dask here, a LocalCluster on loopback, worker pids, tasks run again.

The notebook writes the real ``LocalCluster(...)`` and ``Client(...)`` lines itself; these
helpers start the same cluster for the measurements at scale (the panel, the bench), read what
the scheduler knows, and turn dask's task stream into parlab's timeline. dask is imported
inside the functions, so that this module (and the lesson's checkers and words) import
without it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parlab._checks import check_whole
from parlab.results import RunResult, TaskSpan

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "DASK_HINT",
    "LEAN_MONITORING",
    "attempts",
    "dashboard_address",
    "dask_status",
    "local_cluster",
    "require_dask",
    "stream_run",
    "worker_pids",
]

DASK_HINT = "pip install 'dask[distributed]' (dask and distributed of one version; bokeh for the dashboard)"
QUIET = logging.CRITICAL  # the lesson prints what goes wrong itself: dask's own log lines stay off stderr

# dask's monitors, sampled less often (lesson 07, section 2). The defaults suit a large cluster; on
# a laptop of two cores, a 2-worker cluster with them kept about a fifth of one core busy while it
# sat idle, and each task lost some of its core to them (`python -m parlab.bench --only dask`).
# The notebook writes the same dict and asserts it equals this one.
LEAN_MONITORING: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,         # a stack sample every 10 ms in every worker
    "distributed.admin.tick.interval": "1s",             # the event-loop watchdog, every 20 ms in every process
    "distributed.admin.system-monitor.interval": "2s",   # the dashboard's CPU and memory readings, every 0.5 s
    "distributed.worker.memory.monitor-interval": "1s",  # each nanny's look at its worker's memory, every 0.1 s
}


def dask_status() -> str | None:
    """None when dask and distributed can be imported here, else why not and how to fix it (lesson 07)."""
    missing = [m for m in ("dask", "distributed") if importlib.util.find_spec(m) is None]
    if missing:
        return f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: {DASK_HINT}"
    return None


def require_dask() -> None:
    """Raise ModuleNotFoundError with the install command when dask is missing (lesson 07's setup cell)."""
    why = dask_status()
    if why:
        raise ModuleNotFoundError(f"Lesson 07 needs Dask: {why}. Install it, restart the kernel, run again.")


def dashboard_address() -> str | None:
    """Where the dashboard listens: loopback on a free port when bokeh is installed, else None (off) (lesson 07)."""
    return "127.0.0.1:0" if importlib.util.find_spec("bokeh") is not None else None


@contextmanager
def local_cluster(workers: int, *, dashboard: bool = False, lean: bool = True) -> Iterator[Client]:
    """A LocalCluster of ``workers`` single-threaded processes on 127.0.0.1, and its Client; both closed after.

    The same call as the notebook's, under the notebook's ``LEAN_MONITORING`` settings
    (``lean=False``: dask's defaults, for the bench's comparison). Start-up happens here, before
    any clock the caller runs.
    """
    workers = check_whole("workers", workers, 1)
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(LEAN_MONITORING if lean else {}):  # read as the scheduler and workers start
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=(dashboard_address() if dashboard else None) or "127.0.0.1:0",
                               scheduler_kwargs={"dashboard": bool(dashboard and dashboard_address())},
                               silence_logs=QUIET)
    with cluster, Client(cluster) as client:
        client.wait_for_workers(workers, timeout=60)
        yield client


def worker_pids(client: Client) -> dict[str, int]:
    """{worker address: its process id}, asked of every worker (lesson 07)."""
    return {str(addr): int(pid) for addr, pid in client.run(os.getpid).items()}


def attempts(folder: str | os.PathLike[str]) -> dict[int, list[int]]:
    """{task: the pids that started it, in order} from the logs ``tasks.attempt`` wrote (lesson 07)."""
    found: dict[int, list[int]] = {}
    for log in Path(folder).glob("*.log"):
        found[int(log.stem)] = [int(line) for line in log.read_text(encoding="utf-8").split()]
    return dict(sorted(found.items()))


def _compute_span(record: Mapping[str, Any]) -> tuple[float, float] | None:
    for startstop in record.get("startstops", ()):
        if startstop.get("action") == "compute":
            return float(startstop["start"]), float(startstop["stop"])
    return None


def stream_run(records: Sequence[Mapping[str, Any]], results: Sequence[Any], workers: int) -> RunResult:
    """Dask's task stream records as a parlab RunResult, for ``plot_timeline`` (lesson 07).

    Each record's "compute" interval becomes a TaskSpan: workers are numbered in the order of
    their addresses, times counted from the first start; records without a compute (a lost
    task, a transfer) are left out.
    """
    spans = [(str(r["worker"]), s) for r in records if (s := _compute_span(r)) is not None]
    if not spans:
        raise ValueError("the task stream holds no computed task: run some work inside get_task_stream()")
    addresses = sorted({addr for addr, _ in spans})
    t0 = min(start for _, (start, _) in spans)
    ordered = sorted(spans, key=lambda item: item[1][0])
    timeline = [TaskSpan(i, addresses.index(addr), start - t0, stop - t0)
                for i, (addr, (start, stop)) in enumerate(ordered)]
    wall = max(span.end for span in timeline)
    return RunResult(list(results), timeline, wall, "dask", workers, None, worker_ids=tuple(addresses))
