"""Ping-pong between ranks 0 and 1: latency and bandwidth against message size (lesson 05).

Two ways to send the same NumPy array: ``comm.send``/``comm.recv`` (lower case) pickle any
Python object; ``comm.Send``/``comm.Recv`` (capitalised) pass the array's memory buffer
as it is, with no pickling and no new object on the receiving side. Each size is timed
over many round trips after a few skipped warm-up ones; the time of one trip is half a
round trip, the figure ``python -m mpi4py.bench pingpong`` reports too. Ranks beyond 1
wait; with one rank, rank 0 sends to itself.

Usage: mpiexec -n 2 python -m mpi4py -m parlab.scripts.mpi_pingpong [--min-size B] [--max-size B]
       [--loop L] [--modes buffer,pickle]
"""

from __future__ import annotations

from typing import Any

from parlab.scripts.mpi_common import make_parser, report

LARGE = 1 << 14  # above this size, fewer round trips keep the run short (as mpi4py.bench does)


def one_way_seconds(comm: Any, nbytes: int, mode: str, loop: int, skip: int) -> float:
    """Mean time of one trip (half a round trip) for ``nbytes`` of uint8 between ranks 0 and 1."""
    import numpy as np
    from mpi4py import MPI

    rank, size = comm.Get_rank(), comm.Get_size()
    out = np.full(nbytes, rank, dtype=np.uint8)
    into = np.empty(nbytes, dtype=np.uint8)
    buffered = mode == "buffer"
    comm.Barrier()  # everyone starts together: no rank is still busy with the last size
    start = 0.0
    for i in range(skip + loop):
        if i == skip:
            start = MPI.Wtime()  # warm-up round trips are not timed
        if size == 1:
            if buffered:
                comm.Sendrecv(out, dest=0, recvbuf=into, source=0)
            else:
                into = comm.sendrecv(out, dest=0, source=0)
        elif rank == 0:
            if buffered:
                comm.Send(out, dest=1)
                comm.Recv(into, source=1)
            else:
                comm.send(out, dest=1)
                into = comm.recv(source=1)
        elif rank == 1:
            if buffered:
                comm.Recv(into, source=0)
                comm.Send(out, dest=0)
            else:
                into = comm.recv(source=0)
                comm.send(out, dest=0)
    elapsed = MPI.Wtime() - start
    return elapsed / loop / 2


def sizes_between(low: int, high: int) -> list[int]:
    """Powers of two from ``low`` to ``high`` bytes."""
    return [1 << i for i in range(41) if low <= (1 << i) <= high]


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, time every size in every mode, report from rank 0."""
    parser = make_parser("parlab.scripts.mpi_pingpong", __doc__.splitlines()[0], ranks="2")
    parser.add_argument("--min-size", type=int, default=1, metavar="B", help="smallest message (bytes)")
    parser.add_argument("--max-size", type=int, default=1 << 20, metavar="B", help="largest message (bytes)")
    parser.add_argument("--loop", type=int, default=2000, metavar="L", help="timed round trips per size")
    parser.add_argument("--skip", type=int, default=50, help="untimed warm-up round trips per size")
    parser.add_argument("--modes", default="buffer,pickle", help="buffer, pickle or both (comma separated)")
    args = parser.parse_args(argv)
    modes = args.modes.split(",")
    if not set(modes) <= {"buffer", "pickle"} or args.loop < 1 or args.min_size < 1:
        parser.error("modes are buffer and/or pickle; --loop and --min-size must be >= 1")
    sizes = sizes_between(args.min_size, args.max_size)
    if not sizes:
        parser.error("no power of two lies between --min-size and --max-size")
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    seconds: dict[str, list[float]] = {}
    for mode in modes:
        seconds[mode] = []
        for nbytes in sizes:
            big = nbytes > LARGE
            loop = max(1, args.loop // 10) if big else args.loop
            skip = max(1, args.skip // 10) if big else args.skip
            seconds[mode].append(one_way_seconds(comm, nbytes, mode, loop, skip))
    report(comm, {"sizes": sizes, "seconds": seconds, "loop": args.loop})


if __name__ == "__main__":
    main()
