"""The ring, ported from the classic PyPar example: a message travels 0 → 1 → … → n-1 → 0 (lesson 05).

Rank 0 sends "P0" to rank 1; every other rank receives from its left neighbour, appends its
own tag and sends the message on to its right neighbour; rank 0 finally receives
"P0P1…P(n-1)". ``--fail-rank R`` makes rank R raise and ``--stall-rank R`` makes it wait
forever, to show what a failure and a deadlock look like from the launcher.

Usage: mpiexec -n 4 python -m mpi4py -m parlab.scripts.mpi_ring [--fail-rank R] [--stall-rank R]
"""

from __future__ import annotations

import time
from typing import Any

from parlab.scripts.mpi_common import make_parser, report


def ring(comm: Any, fail_rank: int = -1, stall_rank: int = -1) -> str | None:
    """Pass the message once around the ring; rank 0 returns it, the other ranks return None."""
    rank, size = comm.Get_rank(), comm.Get_size()
    if rank == fail_rank:
        raise RuntimeError(f"rank {rank} was asked to fail (--fail-rank {fail_rank})")
    if rank == stall_rank:
        while True:  # never sends: its neighbours wait for a message that never comes
            time.sleep(1)
    if size == 1:
        return "P0"  # a ring of one: nobody to pass the message to
    left, right = (rank - 1) % size, (rank + 1) % size
    if rank == 0:
        comm.send("P0", dest=right)           # pypar.send(msg, 1)
        return comm.recv(source=left)         # pypar.receive(numproc - 1)
    message = comm.recv(source=left)          # pypar.receive(myid - 1)
    comm.send(message + f"P{rank}", dest=right)
    return None


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, pass the message around, report it from rank 0."""
    parser = make_parser("parlab.scripts.mpi_ring", __doc__.splitlines()[0])
    parser.add_argument("--fail-rank", type=int, default=-1, metavar="R", help="rank R raises an error")
    parser.add_argument("--stall-rank", type=int, default=-1, metavar="R", help="rank R never sends")
    args = parser.parse_args(argv)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    message = ring(comm, args.fail_rank, args.stall_rank)
    report(comm, {"message": message})


if __name__ == "__main__":
    main()
