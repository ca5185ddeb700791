"""Lesson 03's Numba kernels: the prime counter compiled by Numba, without the GIL and with ``prange``.

Numba is optional (it has no wheels for free-threaded 3.13): importing this module, or parlab,
never imports it. :func:`missing` says whether it is here, in the one message every Numba cell
prints; the kernels are compiled on their first call (about a second), once per process.

The kernel is the same trial division as ``parlab.kernels`` (odd divisors up to the square
root), so every variant counts the same primes. A long range is counted in chunks, as the C
variants do: a compiled call cannot be interrupted, so Ctrl-C is noticed between two chunks.

The threading-layer trap (a ``parallel=True`` function called from several threads at once
aborts the whole process under the workqueue layer) is only ever shown in a child process:
:func:`layer_runs`.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parlab import launch, system
from parlab.kernels import check_range, chunk_size

__all__ = ["LAYERS", "MISSING", "LayerRun", "count_primes_numba", "count_primes_prange", "layer_runs",
           "limit_numba_threads", "missing", "nogil_dispatcher", "numba_threads", "stand_in_njit"]

MISSING = "Numba is not installed: pip install numba"
LAYERS = ("workqueue", "omp", "tbb")


@functools.cache
def missing() -> str:
    """'' when Numba imports here, else the one message every Numba cell prints (lesson 03)."""
    if importlib.util.find_spec("numba") is None:
        if system.free_threaded_build() and sys.version_info < (3, 14):
            return MISSING + " (Numba has wheels for free-threaded 3.14t, none for 3.13t)."
        return MISSING
    try:
        import numba  # noqa: F401
    except ImportError as exc:  # installed, but broken (a NumPy it does not support, ...)
        return f"{MISSING} (it is installed, but importing it failed: {exc})"
    return ""


def stand_in_njit(*args: Any, **options: Any) -> Any:
    """Where Numba is missing: ``@njit`` and ``@njit(...)`` leave the function as it is (lesson 03).

    The options are kept on the function as ``targetoptions`` (Numba's name), so the checker of
    exercise 5 still tells a blank from an answer.
    """
    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.targetoptions = dict(options)  # type: ignore[attr-defined]
        return fn

    if len(args) == 1 and callable(args[0]) and not options:
        return mark(args[0])
    return mark


@functools.cache
def _compiled() -> tuple[Any, Any]:
    """The two dispatchers, built (not yet compiled) on first use: Numba is imported here only."""
    if missing():
        raise RuntimeError(missing())
    from numba import njit, prange

    @njit(nogil=True)
    def is_prime(n: int) -> bool:
        if n < 2:
            return False
        if n % 2 == 0:
            return n == 2
        d = 3
        while d * d <= n:
            if n % d == 0:
                return False
            d += 2
        return True

    @njit(nogil=True)
    def count_range(lo: int, hi: int) -> int:
        count = 0
        for n in range(lo, hi):
            if is_prime(n):
                count += 1
        return count

    @njit(nogil=True, parallel=True)
    def count_range_prange(lo: int, hi: int) -> int:
        count = 0
        for n in prange(lo, hi):  # each Numba thread takes a share; count is a reduction
            if is_prime(n):
                count += 1
        return count

    return count_range, count_range_prange


def nogil_dispatcher() -> Any:
    """parlab's ``@njit(nogil=True)`` kernel itself, ``count(lo, hi)`` (a Numba dispatcher) (lesson 03)."""
    return _compiled()[0]


def _chunked(fn: Callable[[int, int], int], start: int, stop: int, scale: int = 1) -> int:
    lo, end = check_range(start, stop)
    step = scale * chunk_size(end)
    count = 0
    while lo < end:
        hi = min(lo + step, end)
        count += fn(lo, hi)
        lo = hi
    return count


def count_primes_numba(start: int, stop: int) -> int:
    """Primes in [start, stop) by the ``@njit(nogil=True)`` kernel: threads over it run at once (lesson 03)."""
    return _chunked(_compiled()[0], start, stop)


def count_primes_prange(start: int, stop: int, threads: int | None = None) -> int:
    """Primes in [start, stop) by the ``parallel=True`` kernel: one call on ``threads`` Numba threads (lesson 03)."""
    kernel = _compiled()[1]
    if threads is not None:
        import numba

        top = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
        if not 1 <= threads <= top:
            raise ValueError(f"threads must be 1 to {top} (NUMBA_NUM_THREADS), got {threads!r}")
        numba.set_num_threads(threads)  # for calls from this thread
    return _chunked(kernel, start, stop, scale=64)  # few, long calls: each starts a parallel region


def numba_threads() -> int:
    """How many threads a ``parallel=True`` call from this thread would use (lesson 03's process workers)."""
    import numba

    return int(numba.get_num_threads())


def limit_numba_threads(threads: int) -> None:
    """A process pool's ``initializer``: at most ``threads`` Numba threads in each worker (lesson 03).

    ``NUMBA_NUM_THREADS`` is read when Numba is imported; a worker that imported it already
    (forked from a parent that had) gets ``numba.set_num_threads`` instead.
    """
    os.environ["NUMBA_NUM_THREADS"] = str(threads)
    if "numba" in sys.modules:
        sys.modules["numba"].set_num_threads(min(threads, sys.modules["numba"].config.NUMBA_NUM_THREADS))


# --------------------------------------------------------------------------- the threading-layer trap

# One child per layer: it says which layers import here, then calls a parallel=True function
# from four threads at once. The workqueue layer aborts the process; that is why it is a child.
_TRAP = """\
import importlib, json, sys, threading
from concurrent.futures import ThreadPoolExecutor
found = {}
for name, module in (("workqueue", "workqueue"), ("omp", "omppool"), ("tbb", "tbbpool")):
    try:
        importlib.import_module("numba.np.ufunc." + module)
        found[name] = True
    except Exception:
        found[name] = False
print(json.dumps({"available": found}), flush=True)
import numba
from numba import njit, prange

@njit(parallel=True)
def count_odd(lo, hi):
    total = 0
    for n in prange(lo, hi):
        total += n % 2
    return total

count_odd(0, 10)
ready = threading.Barrier(4)
def call(i):
    ready.wait()
    return count_odd(0, 1_000_000)
with ThreadPoolExecutor(4) as pool:
    total = sum(pool.map(call, range(4)))
print(json.dumps({"layer": numba.threading_layer(), "total": total}), flush=True)
"""


@dataclass(frozen=True)
class LayerRun:
    """One child that called a ``parallel=True`` function from 4 threads at once under one layer (lesson 03)."""

    asked: str
    ok: bool               # the child finished and counted right
    used: str = ""         # the layer Numba chose (numba.threading_layer())
    how_it_ended: str = ""  # "exit code 0", "killed by SIGABRT", "timed out", ...
    message: str = ""      # Numba's own words when it stopped the process
    available: tuple[str, ...] = ()  # the layers that imported in that child


def _library_env() -> dict[str, str]:
    """The child's environment: pip's tbb puts libtbb in <venv>/lib, which the loader does not search."""
    env = dict(os.environ)
    lib = Path(sys.prefix) / "lib"
    if sys.platform.startswith("linux") and any(lib.glob("libtbb.so.12*")):
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(lib), env.get("LD_LIBRARY_PATH", "")) if p)
    return env


def layer_runs(layers: Sequence[str] = ("workqueue", "tbb", "omp"), timeout: float = 60.0) -> list[LayerRun]:
    """For each layer, a child calls a ``parallel=True`` function from 4 threads at once; how each ended (lesson 03)."""
    if missing():
        raise RuntimeError(missing())
    unknown = [layer for layer in layers if layer not in LAYERS]
    if unknown or not layers:
        raise ValueError(f"layers must be some of {', '.join(LAYERS)}, got {list(layers)!r}")
    children = [(layer, launch.start([sys.executable, "-c", _TRAP],
                                     env=_library_env() | {"NUMBA_THREADING_LAYER": layer})) for layer in layers]
    try:
        return [_ended(layer, child, timeout) for layer, child in children]  # started together: faster
    finally:
        for _, child in children:  # an interrupt, or an error: no child is left behind
            child.stop()


def _ended(layer: str, child: launch.Child, timeout: float) -> LayerRun:
    try:
        done = child.wait(timeout, check=False)
    except launch.ChildTimeout:
        return LayerRun(layer, False, how_it_ended=f"did not finish within {timeout:g} s")
    said = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    available = tuple(name for name, ok in (said[0]["available"].items() if said else ()) if ok)
    finished = said[-1] if said and "layer" in said[-1] else None
    words = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    message = next((line for line in words if "terminating" in line.lower()), words[-1] if words else "")
    ok = done.returncode == 0 and finished is not None and finished["total"] == 4 * 500_000
    return LayerRun(layer, ok, finished["layer"] if finished else "", launch.describe_returncode(done.returncode),
                    "" if ok else message, available)
