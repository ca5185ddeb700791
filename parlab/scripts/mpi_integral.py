"""A parallel integral: pi = ∫₀¹ 4/(1+x²) dx by the midpoint rule, the intervals split over the ranks (lesson 05).

Each rank sums its own contiguous block of intervals; ``reduce`` adds the partial sums on
rank 0. The clock starts after a ``Barrier`` (all ranks ready) and uses ``MPI.Wtime``; a
run's time is the slowest rank's, because the answer is ready only when the last rank is
done. One untimed warm-up run comes first. Floating-point sums in another order differ in
the last digits, so the result agrees across rank counts within TOLERANCE, not exactly.

Usage: mpiexec -n 4 python -m mpi4py -m parlab.scripts.mpi_integral [--intervals N] [--repeats R] [--where]

``--where`` adds ``hosts``: each rank's IPv4 interface addresses, in rank order.
"""

from __future__ import annotations

from typing import Any

from parlab.scripts.mpi_common import make_parser, report
from parlab.scripts.mpi_hello import host_addresses

TOLERANCE = 1e-12  # relative; sums of a few million terms in another order stay far inside it


def partial_sum(first: int, stop: int, intervals: int) -> float:
    """Midpoint-rule sum of 4/(1+x²) over intervals ``first..stop-1`` of ``intervals`` (pure Python, holds the GIL)."""
    h = 1.0 / intervals
    total = 0.0
    for i in range(first, stop):
        x = (i + 0.5) * h
        total += 4.0 / (1.0 + x * x)
    return total * h


def integrate(comm: Any, intervals: int) -> tuple[float | None, float]:
    """One timed parallel run: (the integral on rank 0 or None elsewhere, the slowest rank's seconds)."""
    from mpi4py import MPI

    rank, size = comm.Get_rank(), comm.Get_size()
    first, stop = rank * intervals // size, (rank + 1) * intervals // size
    comm.Barrier()  # start the clock only when every rank is ready
    start = MPI.Wtime()
    total = comm.reduce(partial_sum(first, stop, intervals), op=MPI.SUM, root=0)
    elapsed = MPI.Wtime() - start
    slowest = comm.allreduce(elapsed, op=MPI.MAX)
    return total, slowest


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, integrate once untimed and ``repeats`` times timed, report from rank 0."""
    parser = make_parser("parlab.scripts.mpi_integral", __doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=2_000_000, metavar="N", help="midpoint intervals")
    parser.add_argument("--repeats", type=int, default=3, metavar="R", help="timed runs after one warm-up")
    parser.add_argument("--where", action="store_true",
                        help="add each rank's IPv4 interface addresses (the host it ran on)")
    args = parser.parse_args(argv)
    if args.intervals < 1 or args.repeats < 1:
        parser.error("--intervals and --repeats must be >= 1")
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    begin = MPI.Wtime()
    integrate(comm, args.intervals)  # warm-up: not timed
    runs = [integrate(comm, args.intervals) for _ in range(args.repeats)]
    result = {"value": runs[-1][0], "seconds": [t for _, t in runs], "intervals": args.intervals,
              "tolerance": TOLERANCE, "program_s": MPI.Wtime() - begin}
    if args.where:  # the same on every rank: all of them take part in the gather
        result["hosts"] = comm.gather(host_addresses(), root=0)
    report(comm, result)


if __name__ == "__main__":
    main()
