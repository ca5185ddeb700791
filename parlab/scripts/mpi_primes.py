"""Count primes in windows spread over the ranks: lesson 06's workload as an MPI program.

Rank r counts windows r, r + size, r + 2·size, ... (a round-robin deal, so that every rank
gets its share of the list even when the windows do not divide evenly); ``gather`` brings the
counts to rank 0, which puts them back in task order and reports them.

Usage: mpiexec -n 4 python -m mpi4py -m parlab.scripts.mpi_primes '[[1000000, 1002000], [1002000, 1004000]]'
"""

from __future__ import annotations

import json

from parlab.scripts.mpi_common import make_parser, report
from parlab.workloads import count_primes


def my_windows(windows: list[list[int]], rank: int, size: int) -> dict[int, int]:
    """{task index: primes} for the windows that ``rank`` of ``size`` counts."""
    return {i: count_primes(*windows[i]) for i in range(rank, len(windows), size)}


def main(argv: list[str] | None = None) -> None:
    """Parse the windows, count this rank's share, gather on rank 0 and report the counts in task order."""
    parser = make_parser("parlab.scripts.mpi_primes", __doc__.splitlines()[0])
    parser.add_argument("windows", help="a JSON list of [lo, hi] windows")
    args = parser.parse_args(argv)
    try:
        windows = json.loads(args.windows)
        if not isinstance(windows, list) or not all(
                isinstance(w, list) and len(w) == 2 and all(isinstance(n, int) for n in w) for w in windows):
            raise ValueError
    except ValueError:
        parser.error("windows must be a JSON list of [lo, hi] pairs of whole numbers, e.g. '[[10, 20]]'")
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    parts = comm.gather(my_windows(windows, comm.Get_rank(), comm.Get_size()), root=0)
    if parts is not None:  # rank 0, the root, gathers the list; every other rank gets None
        merged = {i: n for part in parts for i, n in part.items()}
        report(comm, {"results": [merged[i] for i in range(len(windows))]})


if __name__ == "__main__":
    main()
