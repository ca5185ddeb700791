"""What every lesson 05 MPI program shares: the result line rank 0 prints and the usage line.

No ``mpi4py.MPI`` import here: the launcher in the notebook imports ``RESULT_TAG`` from
this module, and importing ``mpi4py.MPI`` would initialise MPI inside the Jupyter kernel.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["RESULT_TAG", "make_parser", "report"]

# Rank 0 prints exactly one line that starts with this tag; the launcher parses it.
RESULT_TAG = "PARLAB-MPI-RESULT "


def report(comm: Any, result: dict[str, Any]) -> None:
    """Rank 0 prints ``result`` as one JSON line, with the size it saw; other ranks print nothing (lesson 05).

    The launcher compares that size with the ``-n`` it asked for: a launcher from another
    MPI starts N unrelated copies of size 1, and each of them then says so.
    """
    if comm.Get_rank() == 0:
        # One write of the whole line: copies started by a wrong launcher share one pipe, and
        # separate writes of text and newline could interleave with theirs.
        sys.stdout.write(RESULT_TAG + json.dumps({"size": comm.Get_size(), **result}) + "\n")
        sys.stdout.flush()


def make_parser(module: str, description: str, ranks: str = "N", futures: bool = False) -> argparse.ArgumentParser:
    """An argument parser whose usage line is the exact command that runs the program (lesson 05)."""
    runner = "mpi4py.futures" if futures else "mpi4py"
    return argparse.ArgumentParser(prog=f"mpiexec -n {ranks} python -m {runner} -m {module}",
                                   description=description)
