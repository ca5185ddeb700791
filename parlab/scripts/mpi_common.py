"""What every lesson 05 MPI program shares: the result line rank 0 prints and the usage line.

No ``mpi4py.MPI`` import here: the launcher in the notebook imports ``RESULT_TAG`` from
this module, and importing ``mpi4py.MPI`` would initialise MPI inside the Jupyter kernel.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["FAILED_TAG", "RESULT_TAG", "make_parser", "name_failing_rank", "report"]

# Rank 0 prints exactly one line that starts with this tag; the launcher parses it.
RESULT_TAG = "PARLAB-MPI-RESULT "
# A rank that raises writes this tag and its rank to stderr before its traceback. The
# launcher names the failing rank from it: MPICH's own "Abort(1) on node N (rank N ...)" line
# comes after the traceback and is sometimes lost while mpiexec tears the job down.
FAILED_TAG = "PARLAB-MPI-FAILED-RANK "


def name_failing_rank() -> None:
    """Make an uncaught exception on this rank write FAILED_TAG and the rank before its traceback (lesson 05)."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        try:
            from mpi4py import MPI

            if MPI.Is_initialized() and not MPI.Is_finalized():
                sys.stderr.write(f"{FAILED_TAG}{MPI.COMM_WORLD.Get_rank()}\n")
                sys.stderr.flush()
        except Exception:  # noqa: BLE001, S110 (naming the rank is a courtesy: the traceback must still print)
            pass
        previous(kind, value, tb)

    sys.excepthook = hook


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
    """An argument parser whose usage line is the exact command that runs the program (lesson 05).

    Every program calls it first, so it also arranges that a rank which raises is named
    (``name_failing_rank``).
    """
    name_failing_rank()
    runner = "mpi4py.futures" if futures else "mpi4py"
    return argparse.ArgumentParser(prog=f"mpiexec -n {ranks} python -m {runner} -m {module}",
                                   description=description)
