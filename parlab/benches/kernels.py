"""Bench group "kernels" (lesson 03): threads over each kernel variant, at k = usable cores.

The GIL-holding variants should stay near 1x, the releasing ones near k. Each figure is
the median of interleaved (serial, threads) pairs from ``parlab.bench.speedup_entry``.
"""

from __future__ import annotations

from typing import Any

from parlab import kernels
from parlab.bench import speedup_entry
from parlab.run import WorkerPool

__all__ = ["NAMES", "entries"]

# bench name -> kernel variant
NAMES = {
    "threads_cython_gil": "cython_gil",
    "threads_cython_nogil": "cython_nogil",
    "threads_capi_nogil": "capi_nogil",
    "threads_ctypes_cdll": "ctypes_cdll",
    "threads_ctypes_pydll": "ctypes_pydll",
}
NUMBERS = 1_200_000  # about 0.3 s of C work serially, split into 8 tasks per core


def entries(cores: int) -> dict[str, Any]:
    """Speedup of ``cores`` threads over each kernel variant, or why it was skipped (lesson 03)."""
    tasks = kernels.prime_tasks(NUMBERS, tasks=8 * cores)
    out: dict[str, Any] = {}
    for name, key in NAMES.items():
        chosen = kernels.variant(key)
        if not chosen.compiled:
            out[name] = {"value": "skipped", "reason": "compiled kernels not built; see parlab.kernels.status()"}
            continue
        func = chosen.func
        with WorkerPool("serial") as serial, WorkerPool("threads", cores, warn=False) as pool:
            out[name] = speedup_entry(lambda: serial.map(func, tasks, star=True).results,  # noqa: B023 (used at once)
                                      lambda: pool.map(func, tasks, star=True).results, cores)  # noqa: B023
        out[name]["variant"] = chosen.label
    return out
