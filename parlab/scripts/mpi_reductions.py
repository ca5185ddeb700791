"""Reduce and Allreduce on NumPy buffers against reduce and allreduce on pickled arrays, timed by size (lesson 05).

Every rank holds an array of ``count`` float64 values and the ranks add them up element by
element. Upper case (``comm.Reduce(mine, total, op=MPI.SUM)``) passes the arrays' memory
as it is and adds into an array the caller made; lower case (``comm.reduce(mine, op=MPI.SUM)``)
pickles each array, adds with ``+`` in Python and returns a new array. Each call is timed
after a ``Barrier`` with ``MPI.Wtime`` (the slowest rank's time, median of the repeats), and
the two totals are compared with ``numpy.array_equal``.

Usage: mpiexec -n 2 python -m mpi4py -m parlab.scripts.mpi_reductions [--counts N,N,...] [--repeats R]
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from parlab.scripts.mpi_common import make_parser, report


def buffer_reduce(comm: Any, mine: Any) -> Any:
    """Upper case: rank 0 receives the sum into an array it made; the others get None."""
    import numpy as np
    from mpi4py import MPI

    total = np.empty_like(mine) if comm.Get_rank() == 0 else None
    comm.Reduce(mine, total, op=MPI.SUM, root=0)
    return total


def pickle_reduce(comm: Any, mine: Any) -> Any:
    """Lower case: the arrays travel pickled and are added with +; rank 0 gets a new array."""
    from mpi4py import MPI

    return comm.reduce(mine, op=MPI.SUM, root=0)


def buffer_allreduce(comm: Any, mine: Any) -> Any:
    """Upper case: every rank receives the sum into an array it made."""
    import numpy as np
    from mpi4py import MPI

    total = np.empty_like(mine)
    comm.Allreduce(mine, total, op=MPI.SUM)
    return total


def pickle_allreduce(comm: Any, mine: Any) -> Any:
    """Lower case: every rank gets a new array, unpickled and added in Python."""
    from mpi4py import MPI

    return comm.allreduce(mine, op=MPI.SUM)


CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "Reduce": buffer_reduce, "reduce": pickle_reduce,
    "Allreduce": buffer_allreduce, "allreduce": pickle_allreduce,
}


def timed(comm: Any, call: Callable[[Any, Any], Any], mine: Any, repeats: int) -> tuple[float, Any]:
    """(median over repeats of the slowest rank's seconds, the last result); one untimed warm-up first."""
    from mpi4py import MPI

    result = call(comm, mine)
    times = []
    for _ in range(repeats):
        comm.Barrier()
        start = MPI.Wtime()
        result = call(comm, mine)
        times.append(comm.allreduce(MPI.Wtime() - start, op=MPI.MAX))
    return statistics.median(times), result


def compare(comm: Any, counts: list[int], repeats: int) -> dict[str, Any]:
    """Time the four calls at each count; check upper and lower case give equal totals on every rank."""
    import numpy as np

    rank = comm.Get_rank()
    seconds: dict[str, list[float]] = {name: [] for name in CALLS}
    equal: dict[str, list[bool]] = {"reduce": [], "allreduce": []}
    for count in counts:
        mine = np.arange(count, dtype=np.float64) * (rank + 1)  # integers: any order of adding is exact
        got = {}
        for name, call in CALLS.items():
            secs, got[name] = timed(comm, call, mine, repeats)
            seconds[name].append(secs)
        same_root = rank != 0 or bool(np.array_equal(got["Reduce"], got["reduce"]))
        same_all = bool(np.array_equal(got["Allreduce"], got["allreduce"]))
        equal["reduce"].append(all(comm.allgather(same_root)))
        equal["allreduce"].append(all(comm.allgather(same_all)))
    return {"counts": counts, "nbytes": [8 * c for c in counts], "seconds": seconds, "equal": equal,
            "repeats": repeats}


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, time the reductions, report from rank 0."""
    parser = make_parser("parlab.scripts.mpi_reductions", __doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,1024,131072", metavar="N,N,...",
                        help="float64 values per array, comma-separated (default 1,1024,131072)")
    parser.add_argument("--repeats", type=int, default=20, metavar="R", help="timed calls per size (default 20)")
    args = parser.parse_args(argv)
    try:
        counts = [int(c) for c in args.counts.split(",")]
    except ValueError:
        parser.error(f"--counts must be whole numbers separated by commas, got {args.counts!r}")
    if not counts or not all(1 <= c <= 1 << 24 for c in counts):
        parser.error(f"--counts must be 1 to {1 << 24} values each, got {args.counts!r}")
    if not 1 <= args.repeats <= 10_000:
        parser.error(f"--repeats must be 1 to 10000, got {args.repeats}")
    from mpi4py import MPI

    report(MPI.COMM_WORLD, compare(MPI.COMM_WORLD, counts, args.repeats))


if __name__ == "__main__":
    main()
