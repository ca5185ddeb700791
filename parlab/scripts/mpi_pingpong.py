"""Ping-pong between ranks 0 and 1: latency and bandwidth against message size (lesson 05).

Two ways to send the same NumPy array: ``comm.send``/``comm.recv`` (lower case) pickle any
Python object; ``comm.Send``/``comm.Recv`` (capitalised) pass the array's memory buffer
as it is, with no pickling and no new object on the receiving side. Each size is timed
over many round trips after a few skipped warm-up ones; the time of one trip is half a
round trip, the figure ``python -m mpi4py.bench pingpong`` reports too (it takes the mean
of all trips; here it is the median of five blocks of trips, which a moment of noise
cannot spoil). Ranks beyond 1 wait; with one rank, rank 0 sends to itself.

Usage: mpiexec -n 2 python -m mpi4py -m parlab.scripts.mpi_pingpong [--min-size B] [--max-size B]
       [--loop L] [--skip S] [--budget SECONDS] [--modes buffer,pickle]
"""

from __future__ import annotations

from typing import Any

from parlab.scripts.mpi_common import make_parser, report

LARGE = 1 << 14  # above this size, fewer round trips keep the run short (as mpi4py.bench does)
MIN_LOOP = 10
BLOCKS = 5


def one_way_seconds(comm: Any, nbytes: int, mode: str, loop: int, skip: int,
                    budget: float) -> tuple[float, int]:
    """Time trips of ``nbytes`` between ranks 0 and 1: (seconds for one trip, number of round trips timed).

    The untimed warm-up trips also estimate how long a trip takes; rank 0 then lowers
    ``loop`` so that the timed part fits in about ``budget`` seconds (a busy machine can
    make each trip wait for a time slice) and tells the other ranks with ``bcast``.
    """
    import numpy as np
    from mpi4py import MPI

    rank, size = comm.Get_rank(), comm.Get_size()
    out = np.full(nbytes, rank, dtype=np.uint8)
    into = np.empty(nbytes, dtype=np.uint8)
    buffered = mode == "buffer"

    def trips(count: int) -> float:
        start = MPI.Wtime()
        for _ in range(count):
            trip()
        return MPI.Wtime() - start

    def trip() -> None:
        nonlocal into
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

    comm.Barrier()  # everyone starts together: no rank is still busy with the last size
    warmup = trips(skip)  # not timed; only estimates the time of one round trip
    if rank == 0:
        loop = max(MIN_LOOP, min(loop, int(budget * skip / max(warmup, 1e-9))))
    loop = comm.bcast(loop, root=0)
    # Time the trips in BLOCKS pieces and keep the median piece: one burst of noise (another
    # program taking the core for a moment) then spoils one piece, not the whole figure.
    per_block = max(1, loop // BLOCKS)
    times = sorted(trips(per_block) / per_block / 2 for _ in range(BLOCKS))
    return times[BLOCKS // 2], per_block * BLOCKS


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
    parser.add_argument("--budget", type=float, default=0.05, metavar="S",
                        help="about S seconds of timed round trips per size at most")
    args = parser.parse_args(argv)
    modes = args.modes.split(",")
    if not set(modes) <= {"buffer", "pickle"} or args.loop < MIN_LOOP or args.min_size < 1 \
            or args.skip < 1 or not args.budget > 0:
        parser.error(f"modes are buffer and/or pickle; --loop must be >= {MIN_LOOP}, "
                     "--min-size and --skip >= 1, --budget > 0")
    sizes = sizes_between(args.min_size, args.max_size)
    if not sizes:
        parser.error("no power of two lies between --min-size and --max-size")
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    seconds: dict[str, list[float]] = {}
    trips: dict[str, list[int]] = {}
    for mode in modes:
        seconds[mode], trips[mode] = [], []
        for nbytes in sizes:
            big = nbytes > LARGE
            loop = max(MIN_LOOP, args.loop // 10) if big else args.loop
            skip = max(1, args.skip // 10) if big else args.skip
            one_way, timed = one_way_seconds(comm, nbytes, mode, loop, skip, args.budget)
            seconds[mode].append(one_way)
            trips[mode].append(timed)
    report(comm, {"sizes": sizes, "seconds": seconds, "trips": trips})


if __name__ == "__main__":
    main()
