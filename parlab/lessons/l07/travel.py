"""What travels to a worker: a spawn pool's refusal of a notebook function, kept off the notebook's stderr.

A spawn worker that cannot unpickle its task prints a traceback on its stderr and dies. The
notebook shows that refusal with ``keep_child_errors(log)``: the pool's initializer sends the
worker's stderr to a file, and ``last_error_line(log)`` reads the line that says why.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["child_stderr_to", "keep_child_errors", "last_error_line"]


def child_stderr_to(path: str) -> None:
    """Pool initializer: this worker's stderr goes to ``path`` (line-buffered) (lesson 07)."""
    sys.stderr = open(path, "a", buffering=1, encoding="utf-8")  # open for the worker's whole life


def keep_child_errors(log: str | os.PathLike[str]) -> dict[str, Any]:
    """``initializer`` and ``initargs`` for a pool whose workers write their errors to ``log`` (lesson 07)."""
    return {"initializer": child_stderr_to, "initargs": (os.fspath(log),)}


def last_error_line(log: str | os.PathLike[str]) -> str:
    """The last "SomeError: ..." line a worker wrote to ``log``, its module's repr shortened; "" if none (lesson 07)."""
    path = Path(log)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = [line.strip() for line in text.splitlines() if re.match(r"^\w+(Error|Exception)\b.*:", line.strip())]
    if not lines:
        return ""
    # "<module '__main__' (<class '_frozen_importlib.BuiltinImporter'>)>" differs between versions.
    return re.sub(r"<module '([\w.]+)'.*>", r"<module '\1'>", lines[-1])
