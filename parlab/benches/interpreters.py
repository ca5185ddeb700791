"""Bench entries "interpreters_fib" and "startup_interpreters_ms" (lesson 02, in the "core" group).

Python 3.14's subinterpreters (``InterpreterPoolExecutor``, parlab's ``interpreters``
backend): one interpreter per worker thread, each with its own GIL, so CPU-bound pure-Python
work speeds up as on processes, with a cheaper start. The same ``fib`` tasks as
``processes_fib`` and ``threads_fib``. Before 3.14 the entries say what they need instead of
a figure.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from typing import Any

from parlab.run import WorkerPool, available_backends

__all__ = ["NEEDS", "STARTUP_REPEATS", "entries"]

NEEDS = "needs Python 3.14 (InterpreterPoolExecutor)"
STARTUP_REPEATS = 3


def startup_ms(workers: int, repeats: int = STARTUP_REPEATS) -> float:
    """Median time (ms) to start ``workers`` subinterpreter workers, until all are ready."""
    values = []
    for _ in range(repeats):
        with WorkerPool("interpreters", workers, warn=False) as pool:
            values.append(pool.startup_s)
    return round(1000 * statistics.median(values), 1)


def entries(cores: int, pool_speedup: Callable[..., dict[str, Any]], func: Callable[..., Any],
            tasks: list[Any]) -> dict[str, Any]:
    """interpreters_fib (``pool_speedup`` on the interpreters backend) and its start-up; a note before 3.14."""
    if "interpreters" not in available_backends():
        note = {"value": "n/a", "why": f"{NEEDS}; this is Python {sys.version.split()[0]}"}
        return {"interpreters_fib": dict(note), "startup_interpreters_ms": dict(note)}
    return {"interpreters_fib": pool_speedup("interpreters", func, tasks, cores),
            "startup_interpreters_ms": {"value": startup_ms(cores), "workers": cores}}
