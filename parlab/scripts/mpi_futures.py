"""Lesson 02's workload (fib) through ``mpi4py.futures.MPIPoolExecutor``, the executor API of lesson 02 (lesson 05).

``--executor threads|processes|mpi`` picks the pool; the code that uses it is the same
``with Executor(...) as pool: pool.map(fib, tasks)``. Started with ``python -m mpi4py.futures``,
rank 0 runs this program and the other ranks become the MPI pool's workers (with one rank,
mpi4py spawns a worker instead).

Usage: mpiexec -n 3 python -m mpi4py.futures -m parlab.scripts.mpi_futures [--executor mpi]
       [--tasks T] [--fib N] [--workers K]
"""

from __future__ import annotations

import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from parlab.scripts.mpi_common import make_parser, report
from parlab.workloads import fib


def make_executor(kind: str, workers: int) -> Executor:
    """A pool of the chosen kind; MPI's size comes from mpiexec -n, not from ``workers``."""
    if kind == "threads":
        return ThreadPoolExecutor(workers)
    if kind == "processes":
        return ProcessPoolExecutor(workers)
    from mpi4py.futures import MPIPoolExecutor

    return MPIPoolExecutor()


def serial_seconds(tasks: list[int], repeats: int = 3) -> float:
    """The fastest of ``repeats`` serial loops over the tasks, in this program: the baseline of its speedup."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for n in tasks:
            fib(n)
        best = min(best, time.perf_counter() - start)
    return best


def run(kind: str, tasks: list[int], workers: int) -> dict[str, Any]:
    """Map fib over the tasks on one executor; return the results, the worker count, the time and the serial time.

    The serial loop runs in this same program just before, so that the speedup compares one
    process with itself (a Jupyter kernel runs the same loop at its own pace).
    """
    serial = serial_seconds(tasks)
    with make_executor(kind, workers) as pool:
        count = getattr(pool, "num_workers", workers)  # MPIPoolExecutor waits here for its workers
        start = time.perf_counter()
        results = list(pool.map(fib, tasks))
        seconds = time.perf_counter() - start
    return {"executor": kind, "workers": count, "results": results, "seconds": seconds, "serial_seconds": serial}


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the tasks on the chosen executor, report from rank 0."""
    parser = make_parser("parlab.scripts.mpi_futures", __doc__.splitlines()[0], ranks="3", futures=True)
    parser.add_argument("--executor", choices=["threads", "processes", "mpi"], default="mpi")
    parser.add_argument("--tasks", type=int, default=8, metavar="T", help="number of fib tasks")
    parser.add_argument("--fib", type=int, default=24, metavar="N", help="each task computes fib(N)")
    parser.add_argument("--workers", type=int, default=2, metavar="K", help="threads or processes")
    args = parser.parse_args(argv)
    if args.tasks < 1 or not 0 <= args.fib <= 35 or args.workers < 1:
        parser.error("--tasks and --workers must be >= 1 and --fib between 0 and 35")
    from mpi4py import MPI

    report(MPI.COMM_WORLD, run(args.executor, [args.fib] * args.tasks, args.workers))


if __name__ == "__main__":
    main()
