"""Collectives: bcast, scatter, gather, reduce and allreduce, with who holds what before and after (lesson 05).

Every rank calls the same collective; MPI moves the data. Rank 0 is the root. Each rank's
value before and after each call is gathered to rank 0, which reports them as a table.

Usage: mpiexec -n 4 python -m mpi4py -m parlab.scripts.mpi_collectives
"""

from __future__ import annotations

from typing import Any

from parlab.scripts.mpi_common import make_parser, report


def collectives(comm: Any) -> list[dict[str, Any]]:
    """Run each collective once; return, per collective, every rank's value before and after."""
    from mpi4py import MPI

    rank, size = comm.Get_rank(), comm.Get_size()
    steps: list[dict[str, Any]] = []

    def record(name: str, call: str, before: Any, after: Any) -> None:
        # Gather both sides to rank 0 so that one process prints the whole table in rank order.
        befores, afters = comm.gather(before, root=0), comm.gather(after, root=0)
        steps.append({"name": name, "call": call, "before": befores, "after": afters})

    data = {"step": 0.5, "n": 100} if rank == 0 else None
    record("bcast", "data = comm.bcast(data, root=0)", data, comm.bcast(data, root=0))

    chunks = [[2 * r, 2 * r + 1] for r in range(size)] if rank == 0 else None
    record("scatter", "mine = comm.scatter(chunks, root=0)", chunks, comm.scatter(chunks, root=0))

    square = rank * rank
    record("gather", "squares = comm.gather(square, root=0)", square, comm.gather(square, root=0))

    value = rank + 1
    record("reduce", "total = comm.reduce(value, op=MPI.SUM, root=0)", value,
           comm.reduce(value, op=MPI.SUM, root=0))
    record("allreduce", "total = comm.allreduce(value, op=MPI.SUM)", value,
           comm.allreduce(value, op=MPI.SUM))
    return steps


def main(argv: list[str] | None = None) -> None:
    """Parse the (empty) arguments, run the collectives, report from rank 0."""
    make_parser("parlab.scripts.mpi_collectives", __doc__.splitlines()[0]).parse_args(argv)
    from mpi4py import MPI

    report(MPI.COMM_WORLD, {"collectives": collectives(MPI.COMM_WORLD)})


if __name__ == "__main__":
    main()
