"""Hello from every rank: rank, size and processor name, gathered and printed by rank 0 (lesson 05).

Usage: mpiexec -n 4 python -m mpi4py -m parlab.scripts.mpi_hello
"""

from __future__ import annotations

import os
from typing import Any

from parlab.scripts.mpi_common import make_parser, report


def hello(comm: Any) -> dict[str, Any]:
    """Every rank says who and where it is; rank 0 gets all the answers in rank order."""
    from mpi4py import MPI

    me = {"rank": comm.Get_rank(), "size": comm.Get_size(),
          "processor": MPI.Get_processor_name(), "pid": os.getpid()}
    # gather, not print: prints from many ranks reach the terminal in any order.
    everyone = comm.gather(me, root=0)
    return {"ranks": everyone, "library": " ".join(MPI.Get_library_version().splitlines()[0].split())}


def main(argv: list[str] | None = None) -> None:
    """Parse the (empty) arguments, say hello, report from rank 0."""
    make_parser("parlab.scripts.mpi_hello", __doc__.splitlines()[0]).parse_args(argv)
    from mpi4py import MPI

    report(MPI.COMM_WORLD, hello(MPI.COMM_WORLD))


if __name__ == "__main__":
    main()
