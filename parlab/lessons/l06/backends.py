"""One workload, every backend of the lessons: each backend as a function tasks -> results (lesson 06).

The workload counts primes in ``TASKS`` windows of equal width (so every task costs about
the same): pure Python on threads and processes (lessons 01-02), a compiled kernel that
releases the GIL on threads (lesson 03), child scripts fed by a coordination board
(lesson 04), MPI ranks (lesson 05), and a dask LocalCluster (lesson 07). A backend whose
parts are missing here reports why instead of running; modules of other lessons are imported
only when their backend is used.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from parlab import system
from parlab.run import WorkerPool, available_backends
from parlab.workloads import count_primes, prime_windows

__all__ = [
    "BASELINES",
    "RUN_TIMEOUT_S",
    "START",
    "STRATEGIES",
    "TASKS",
    "WIDTH",
    "Backend",
    "backend_status",
    "default_workers",
    "describe_workload",
    "python_serial",
    "run_once",
    "workload_tasks",
]

START = 1_000_000   # high enough that windows of equal width cost nearly the same
WIDTH = 2_000
TASKS = 64          # divisible by 1, 2, 4, ..., 32 workers: no worker idles at the end
RUN_TIMEOUT_S = 120.0

Task = tuple[int, int]
Runner = Callable[[list[Task]], list[int]]


def workload_tasks(tasks: int = TASKS, start: int = START, width: int = WIDTH) -> list[Task]:
    """The fixed workload: ``tasks`` windows ``(lo, hi)`` of ``width`` numbers from ``start`` (lesson 06)."""
    if tasks < 1 or start < 0 or width < 1:  # named as this function names them
        raise ValueError(f"tasks and width must be >= 1 and start >= 0, got {tasks}, {width}, {start}")
    return prime_windows(tasks, width, start)


def describe_workload(tasks: int = TASKS) -> str:
    """The workload in words, stored with every reference set (lesson 06)."""
    return f"count_primes in {tasks} windows of {WIDTH} from {START}"


def python_serial(tasks: list[Task]) -> list[int]:
    """The serial pure-Python run: the baseline of the Python backends and the expected results (lesson 06)."""
    return [count_primes(lo, hi) for lo, hi in tasks]


@dataclass(frozen=True)
class Backend:
    """A way to run the workload on k workers: ``open(k)`` yields a function tasks -> results (lesson 06)."""

    name: str
    label: str
    baseline: str                                         # "python" or "kernel": what speedup divides
    open: Callable[[int], AbstractContextManager[Runner]]
    unavailable: Callable[[], str | None] = lambda: None  # why it cannot run here, or None
    launches: bool = False  # starts new programs on every run (so a warm-up run warms nothing)


# --------------------------------------------------------------------------- threads and processes

@contextmanager
def _pool(backend: str, workers: int, func: Callable[[int, int], int], chunked: bool = False) -> Iterator[Runner]:
    # The pool starts before the clock: start-up is a cost of its own (lesson 02), not the work's.
    with WorkerPool(backend, workers, warn=False) as pool:
        def run(tasks: list[Task]) -> list[int]:
            if not tasks:  # nothing to hand out: the workers are already running
                return []
            # A compiled call lasts well under a millisecond: one chunk per worker keeps the
            # pool's per-task overhead from hiding the kernel (lesson 02's chunksize).
            size = max(1, math.ceil(len(tasks) / workers)) if chunked else 1
            return pool.map(func, tasks, star=True, chunksize=size, timeout=RUN_TIMEOUT_S).results
        yield run


def _interpreters_unavailable() -> str | None:
    """Subinterpreters (lesson 02, section 8) need Python 3.14's InterpreterPoolExecutor."""
    if "interpreters" in available_backends():
        return None
    return f"subinterpreters need Python 3.14 (InterpreterPoolExecutor); this is {system.python_build()['version']}"


# --------------------------------------------------------------------------- the compiled kernel (lesson 03)

def _kernel() -> tuple[Callable[[int, int], int] | None, str]:
    """The first compiled variant that releases the GIL, or None and why there is none."""
    try:
        kernels = importlib.import_module("parlab.kernels")
    except ImportError as exc:
        return None, f"parlab.kernels cannot be imported ({exc})"
    for v in kernels.compiled_variants():
        if v.releases_gil:
            return v.func, v.label
    return None, kernels.status().splitlines()[0] + " parlab.kernels.status() says how to build them."


def _kernel_unavailable() -> str | None:
    func, why = _kernel()
    return None if func else why


def _kernel_serial() -> Runner | None:
    func, _ = _kernel()
    return None if func is None else (lambda tasks: [func(lo, hi) for lo, hi in tasks])


def _kernel_threads(workers: int) -> AbstractContextManager[Runner]:
    func, _ = _kernel()
    if func is None:
        raise RuntimeError(f"no compiled kernel here: {_kernel_unavailable()}")
    return _pool("threads", workers, func, chunked=True)


# --------------------------------------------------------------------------- child scripts (lesson 04)

def _children_unavailable() -> str | None:
    if importlib.util.find_spec("parlab.coord") is None:
        return "parlab.coord is missing (lesson 04)"
    return None


@contextmanager
def _children(workers: int) -> Iterator[Runner]:
    from parlab import coord, jobs

    # The board's server starts once, before the clock; the children start on every run,
    # as independent programs do, so their start-up is part of the time.
    with coord.serve("embedded") as server:
        def run(tasks: list[Task]) -> list[int]:
            if not tasks:  # the launch alone: k children start, one waits 0 s, all exit
                jobs.run_job(server, [{"func": "io_wait", "args": [0]}], workers, timeout=RUN_TIMEOUT_S)
                return []
            payloads = [{"func": "count_primes", "args": [lo, hi]} for lo, hi in tasks]
            return jobs.run_job(server, payloads, workers, timeout=RUN_TIMEOUT_S).results
        yield run


# --------------------------------------------------------------------------- MPI ranks (lesson 05)

def _mpi_unavailable() -> str | None:
    if importlib.util.find_spec("parlab.mpi") is None:
        return "parlab.mpi is missing (lesson 05)"
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed: pip install mpi4py mpich"
    if system.find_mpiexec() is None:
        return "no mpiexec next to Python or on PATH: pip install mpi4py mpich"
    return None


@contextmanager
def _mpi(workers: int) -> Iterator[Runner]:
    from parlab import mpi

    def run(tasks: list[Task]) -> list[int]:
        # mpiexec starts every rank on every run: the launch is part of the time.
        # parlab/scripts/mpi_primes.py: rank r counts windows r, r + size, ...; rank 0 gathers them.
        done = mpi.run_mpi("primes", workers, json.dumps(tasks), timeout=RUN_TIMEOUT_S)
        return list(done.data["results"])
    yield run


# --------------------------------------------------------------------------- dask (lesson 07)

def _dask_unavailable() -> str | None:
    missing = [m for m in ("dask", "distributed") if importlib.util.find_spec(m) is None]
    if missing:
        return f"{' and '.join(missing)} not installed: pip install 'dask[distributed]'"
    return None


@contextmanager
def _dask(workers: int) -> Iterator[Runner]:
    import logging

    from distributed import Client, LocalCluster, wait

    # One LocalCluster per open(k), started before the clock like a pool: k single-threaded
    # worker processes on loopback, no dashboard, dask's log lines kept off the notebook.
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
                      silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(workers, timeout=RUN_TIMEOUT_S)

        def run(tasks: list[Task]) -> list[int]:
            if not tasks:
                return []
            los, his = zip(*tasks, strict=True)
            futures = client.map(count_primes, los, his, pure=False)
            wait(futures, timeout=RUN_TIMEOUT_S)  # never wait for ever; gather has no timeout of its own
            return [int(n) for n in client.gather(futures)]
        yield run


# --------------------------------------------------------------------------- the registry

# The ways lesson 06 runs its one workload, by name (not parlab.run.BACKENDS: these include
# children and MPI ranks).
STRATEGIES: dict[str, Backend] = {b.name: b for b in (
    Backend("threads", "threads, pure Python", "python",
            lambda k: _pool("threads", k, count_primes)),
    Backend("processes", "processes, pure Python", "python",
            lambda k: _pool("processes", k, count_primes)),
    Backend("interpreters", "subinterpreters, pure Python", "python",
            lambda k: _pool("interpreters", k, count_primes), _interpreters_unavailable),
    Backend("kernel-threads", "threads, compiled kernel", "kernel", _kernel_threads, _kernel_unavailable),
    Backend("children", "child scripts", "python", _children, _children_unavailable, launches=True),
    Backend("mpi", "MPI ranks", "python", _mpi, _mpi_unavailable, launches=True),
    Backend("dask", "dask LocalCluster", "python", _dask, _dask_unavailable),
)}

# Serial runs that speedups are measured against; None when the code is not here.
BASELINES: dict[str, Callable[[], Runner | None]] = {"python": lambda: python_serial, "kernel": _kernel_serial}


def backend_status(names: Sequence[str] | None = None) -> dict[str, str | None]:
    """For each backend: None when it can run here, else the reason it cannot (lesson 06)."""
    chosen = list(names) if names is not None else list(STRATEGIES)
    unknown = [n for n in chosen if n not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(STRATEGIES)}")
    return {n: STRATEGIES[n].unavailable() for n in chosen}


def run_once(name: str, workers: int, tasks: list[Task] | None = None) -> list[Any]:
    """Run the workload once on a backend and return its results, for an equality check (lesson 06)."""
    why = backend_status([name])[name]
    if why:
        raise RuntimeError(f"backend {name!r} cannot run here: {why}")
    with STRATEGIES[name].open(workers) as run:
        return run(list(tasks) if tasks is not None else workload_tasks())


def default_workers(cores: int | None = None, oversubscribe: bool = True) -> list[int]:
    """Worker counts from 1 to the cores (2 × cores when oversubscribing): powers of two and the ends (lesson 06)."""
    cores = cores or system.usable_cores()
    top = 2 * cores if oversubscribe else cores
    counts = {1, cores, top} | {2 ** i for i in range(1, 8) if 2 ** i <= top}
    if cores <= 4:
        counts |= set(range(1, top + 1))
    return sorted(counts)
