"""Two ranks swap NumPy arrays: blocking Send then Recv (a deadlock when large), Sendrecv, Isend/Irecv (lesson 05).

Each rank sends its array to the other and receives the other's. With ``--mode send`` both
call ``comm.Send`` first: a small message fits in MPI's *eager* buffer and Send returns at
once, a large one waits until the other rank posts its Recv, which it never does, because it
is waiting in its own Send: a deadlock. ``--mode sendrecv`` and ``--mode nonblocking`` are
the two fixes. Before each blocking call a rank writes where it is to stderr (``AT_TAG``), so
that a launcher that stops a hung job can say where every rank was waiting.

Usage: mpiexec -n 2 python -m mpi4py -m parlab.scripts.mpi_exchange [--mode send|sendrecv|nonblocking]
       [--count N]
"""

from __future__ import annotations

import sys
from typing import Any

from parlab.scripts.mpi_common import make_parser, report

MODES = ("send", "sendrecv", "nonblocking")
AT_TAG = "PARLAB-MPI-AT "  # "PARLAB-MPI-AT rank 0 Send": the call this rank is about to wait in
OFFSET = 1_000_000.0  # rank r's array is arange(count) + r * OFFSET: whose data arrived is visible


def waiting_in(comm: Any, call: str) -> None:
    """Write to stderr which call this rank is about to wait in (read back by the launcher on a timeout)."""
    sys.stderr.write(f"{AT_TAG}rank {comm.Get_rank()} {call}\n")
    sys.stderr.flush()


def send_then_recv(comm: Any, mine: Any, theirs: Any, other: int) -> None:
    """Both ranks send first, then receive: fine for small messages, a deadlock for large ones."""
    waiting_in(comm, "Send")
    comm.Send(mine, dest=other)        # a large message: waits until `other` posts its Recv
    waiting_in(comm, "Recv")
    comm.Recv(theirs, source=other)


def send_and_recv_together(comm: Any, mine: Any, theirs: Any, other: int) -> None:
    """Fix 1: one call that sends and receives; MPI pairs the two ranks' transfers itself."""
    waiting_in(comm, "Sendrecv")
    comm.Sendrecv(mine, dest=other, recvbuf=theirs, source=other)


def nonblocking(comm: Any, mine: Any, theirs: Any, other: int) -> None:
    """Fix 2: start both transfers without waiting (Isend, Irecv), then wait for both."""
    from mpi4py import MPI

    requests = [comm.Isend(mine, dest=other), comm.Irecv(theirs, source=other)]
    # mine and theirs must not be touched until Waitall returns: MPI is still using them.
    waiting_in(comm, "Waitall")
    MPI.Request.Waitall(requests)


EXCHANGES = {"send": send_then_recv, "sendrecv": send_and_recv_together, "nonblocking": nonblocking}


def exchange(comm: Any, mode: str, count: int) -> dict[str, Any]:
    """Swap ``count`` float64 values between ranks 0 and 1 with ``mode``; check on both what arrived."""
    import numpy as np
    from mpi4py import MPI

    rank, size = comm.Get_rank(), comm.Get_size()
    if size != 2:
        raise ValueError(f"the exchange needs exactly 2 ranks (mpiexec -n 2), got {size}")
    other = 1 - rank
    mine = np.arange(count, dtype=np.float64) + rank * OFFSET
    theirs = np.empty_like(mine)
    comm.Barrier()
    start = MPI.Wtime()
    EXCHANGES[mode](comm, mine, theirs, other)
    seconds = MPI.Wtime() - start
    expected = np.arange(count, dtype=np.float64) + other * OFFSET
    right = comm.gather(bool(np.array_equal(theirs, expected)), root=0)
    slowest = comm.allreduce(seconds, op=MPI.MAX)
    return {"mode": mode, "count": count, "nbytes": int(mine.nbytes), "right": right, "seconds": slowest}


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, swap the arrays, report from rank 0 whether each rank got the other's data."""
    parser = make_parser("parlab.scripts.mpi_exchange", __doc__.splitlines()[0], ranks="2")
    parser.add_argument("--mode", choices=MODES, default="sendrecv", help="how the ranks swap (default sendrecv)")
    parser.add_argument("--count", type=int, default=1 << 17, metavar="N",
                        help="float64 values per message (default 131072 = 1 MiB)")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 1 << 24:
        parser.error(f"--count must be 1 to {1 << 24} values, got {args.count}")
    from mpi4py import MPI

    report(MPI.COMM_WORLD, exchange(MPI.COMM_WORLD, args.mode, args.count))


if __name__ == "__main__":
    main()
