"""Bench group "kernels" (lesson 03): threads over each kernel variant, at k = usable cores.

The GIL-holding variants should stay near 1x, the releasing ones near k. Each figure is
the median of interleaved (serial, threads) pairs from ``parlab.bench.speedup_entry``.
threads_numba_nogil: threads over the ``@njit(nogil=True)`` kernel; numba_prange: one
``parallel=True`` call on k Numba threads against the nogil kernel on one thread. Both are
compiled before the clock starts, and are skipped, with the reason, where Numba is missing.
"""

from __future__ import annotations

from typing import Any

from parlab import kernels
from parlab.bench import speedup_entry
from parlab.run import WorkerPool

__all__ = ["NAMES", "entries", "numba_entries"]

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
    out.update(numba_entries(cores))
    return out


def numba_entries(cores: int, numbers: int = NUMBERS) -> dict[str, Any]:
    """threads_numba_nogil and numba_prange at k = usable cores, or why they were skipped (lesson 03)."""
    from parlab.lessons.l03 import numba_kernels as nk

    if why := nk.missing():
        return {name: {"value": "skipped", "reason": why} for name in ("threads_numba_nogil", "numba_prange")}
    tasks = kernels.prime_tasks(numbers, tasks=8 * cores)
    lo, hi = tasks[0][0], tasks[-1][1]
    nk.count_primes_numba(lo, lo + 100)  # compile both kernels before any clock starts
    nk.count_primes_prange(lo, lo + 100, threads=cores)
    out: dict[str, Any] = {}
    with WorkerPool("serial") as serial, WorkerPool("threads", cores, warn=False) as pool:
        out["threads_numba_nogil"] = speedup_entry(lambda: serial.map(nk.count_primes_numba, tasks, star=True).results,
                                                   lambda: pool.map(nk.count_primes_numba, tasks, star=True).results,
                                                   cores)
    out["threads_numba_nogil"]["variant"] = "Numba, njit(nogil=True)"
    out["numba_prange"] = speedup_entry(lambda: nk.count_primes_numba(lo, hi),
                                        lambda: nk.count_primes_prange(lo, hi, threads=cores), cores)
    out["numba_prange"]["variant"] = "Numba, parallel=True with prange"
    return out
