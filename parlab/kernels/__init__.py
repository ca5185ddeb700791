"""Lesson 03's kernels: one prime counter in C, handed to Python in several ways.

Each variant counts the primes in ``[start, stop)`` with the same trial division as
``parlab.workloads.count_primes``, so all return the same integer. They differ only in
whether the GIL is released while the C code runs:

==============  ========================================================  ============
variant         how it is bound                                           GIL in C code
==============  ========================================================  ============
cython_gil      Cython ``def`` calling a ``noexcept nogil`` C function     held
cython_nogil    the same, inside ``with nogil:``                          released
capi_gil        C API function                                            held
capi_nogil      C API, ``Py_BEGIN_ALLOW_THREADS``/``Py_END_ALLOW_THREADS``  released
ctypes_pydll    plain C library through ``ctypes.PyDLL``                  held
ctypes_cdll     the same library through ``ctypes.CDLL``                  released
python          the pure-Python fallback                                  held
==============  ========================================================  ============

The compiled parts are built by ``pip install -e .`` and are optional: a part that was not
built is replaced by the pure-Python fallback (same signature, same result), the flags
below say what is real, and ``status()`` says how to build the rest.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.machinery
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from parlab import system
from parlab._checks import check_size
from parlab.kernels._checks import MAX_STOP, check_range, chunk_size
from parlab.workloads import count_primes as _count_primes_workload

__all__ = [
    "CAPI",
    "COMPILED",
    "CTYPES",
    "CYTHON",
    "DISABLE_VAR",
    "MAX_STOP",
    "OPENMP",
    "VARIANTS",
    "Variant",
    "check_range",
    "chunk_size",
    "compiled_variants",
    "count_primes_capi_gil",
    "count_primes_capi_nogil",
    "count_primes_ctypes_cdll",
    "count_primes_ctypes_pydll",
    "count_primes_cython_gil",
    "count_primes_cython_nogil",
    "count_primes_openmp",
    "count_primes_python",
    "library_path",
    "prime_tasks",
    "status",
    "timed_call",
    "variant",
]

# Set to 1 to ignore the compiled kernels (tests and the lesson's no-compiler path use it).
DISABLE_VAR = "PARLAB_NO_COMPILED_KERNELS"
_DISABLED = os.environ.get(DISABLE_VAR, "").strip() not in ("", "0")
_missing: dict[str, str] = {}  # part -> why it is not here


def count_primes_python(start: int, stop: int) -> int:
    """Pure-Python fallback: same signature, checks and result as every compiled variant (lesson 03)."""
    lo, hi = check_range(start, stop)
    return _count_primes_workload(lo, hi)


def prime_tasks(numbers: int, tasks: int, start: int = 10**7) -> list[tuple[int, int]]:
    """Split [start, start + numbers) into ``tasks`` (lo, hi) ranges of equal width, for star=True (lesson 03)."""
    numbers, tasks = check_size("numbers", numbers), check_size("tasks", tasks)
    if tasks > numbers:
        raise ValueError(f"tasks ({tasks}) must not exceed numbers ({numbers}): each task needs a number")
    check_range(start, start + numbers)
    edges = [start + numbers * i // tasks for i in range(tasks + 1)]
    return list(itertools.pairwise(edges))


def _load(module: str, part: str) -> ModuleType | None:
    if _DISABLED:
        _missing[part] = f"{DISABLE_VAR} is set"
        return None
    try:
        return importlib.import_module(f"{__name__}.{module}")
    except ImportError as exc:
        _missing[part] = str(exc)
        return None


def library_path(stem: str = "_primes_lib") -> Path | None:
    """Where pip put the plain C library that ctypes loads, or None when it was not built (lesson 03)."""
    # It is built as an extension, so it carries an extension suffix such as
    # .cpython-311-x86_64-linux-gnu.so or .pyd; it is loaded by path, never imported.
    for folder in __path__:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = Path(folder) / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _load_library() -> tuple[Callable[[int, int], int], Callable[[int, int], int]] | None:
    if _DISABLED:
        _missing["ctypes library"] = f"{DISABLE_VAR} is set"
        return None
    path = library_path()
    if path is None:
        _missing["ctypes library"] = "the shared library _primes_lib was not built"
        return None
    try:
        # One file, two handles: CDLL drops the GIL around each call, PyDLL keeps it.
        functions = (ctypes.CDLL(str(path)).parlab_count_primes, ctypes.PyDLL(str(path)).parlab_count_primes)
    except (OSError, AttributeError) as exc:
        _missing["ctypes library"] = f"could not load {path.name}: {exc}"
        return None
    for fn in functions:
        fn.argtypes = [ctypes.c_longlong, ctypes.c_longlong]
        fn.restype = ctypes.c_longlong
    return functions


_cy = _load("_cy_primes", "Cython")
_capi = _load("_capi_primes", "C API")
_omp = _load("_cy_openmp", "OpenMP prange")
_lib = _load_library()

CYTHON: bool = _cy is not None
CAPI: bool = _capi is not None
CTYPES: bool = _lib is not None
OPENMP: bool = _omp is not None
COMPILED: bool = CYTHON and CAPI and CTYPES  # everything the lesson needs (OpenMP is extra)


def _ctypes_count(fn: Callable[[int, int], int], start: int, stop: int) -> int:
    lo, end = check_range(start, stop)
    step = chunk_size(end)
    count = 0
    while lo < end:
        hi = min(lo + step, end)
        count += fn(lo, hi)  # short calls: Python notices Ctrl-C between two of them
        lo = hi
    return count


if _lib is not None:
    _cdll_count, _pydll_count = _lib

    def count_primes_ctypes_cdll(start: int, stop: int) -> int:
        """Count primes in [start, stop) through ctypes.CDLL, which releases the GIL for each call (lesson 03)."""
        return _ctypes_count(_cdll_count, start, stop)

    def count_primes_ctypes_pydll(start: int, stop: int) -> int:
        """Count primes in [start, stop) through ctypes.PyDLL, which keeps the GIL during each call (lesson 03)."""
        return _ctypes_count(_pydll_count, start, stop)
else:
    count_primes_ctypes_cdll = count_primes_ctypes_pydll = count_primes_python

count_primes_cython_gil: Callable[[int, int], int] = _cy.count_primes_gil if _cy else count_primes_python
count_primes_cython_nogil: Callable[[int, int], int] = _cy.count_primes_nogil if _cy else count_primes_python
count_primes_capi_gil: Callable[[int, int], int] = _capi.count_primes_gil if _capi else count_primes_python
count_primes_capi_nogil: Callable[[int, int], int] = _capi.count_primes_nogil if _capi else count_primes_python

if _omp is not None:
    count_primes_openmp = _omp.count_primes_openmp
else:
    def count_primes_openmp(start: int, stop: int, threads: int | None = None) -> int:
        """Fallback for the OpenMP kernel (not built here): one thread, same result (lesson 03)."""
        return count_primes_cython_nogil(start, stop)


if _capi is not None:
    timed_call = _capi.timed_call
else:
    def timed_call(clock: Callable[[], float], func: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
        """Fallback for the C-API timed_call: (func(*args), clock() before, clock() after) (lesson 03)."""
        t0 = clock()
        result = func(*args)
        return result, t0, clock()


@dataclass(frozen=True)
class Variant:
    """One way to call the kernel: its function, and whether the GIL is released in its C code."""

    name: str
    label: str
    func: Callable[[int, int], int]
    compiled: bool
    releases_gil: bool  # what this function really does here (a fallback never releases it)


def _variant(name: str, label: str, func: Callable[[int, int], int], compiled: bool, releases: bool) -> Variant:
    return Variant(name, label if compiled else f"{label} [fallback: pure Python]", func, compiled,
                   releases and compiled)


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    _variant("cython_gil", "Cython, GIL held", count_primes_cython_gil, CYTHON, False),
    _variant("cython_nogil", "Cython, with nogil", count_primes_cython_nogil, CYTHON, True),
    _variant("capi_gil", "C API, GIL held", count_primes_capi_gil, CAPI, False),
    _variant("capi_nogil", "C API, ALLOW_THREADS", count_primes_capi_nogil, CAPI, True),
    _variant("ctypes_pydll", "ctypes PyDLL", count_primes_ctypes_pydll, CTYPES, False),
    _variant("ctypes_cdll", "ctypes CDLL", count_primes_ctypes_cdll, CTYPES, True),
    Variant("python", "pure Python", count_primes_python, False, False),
)}


def compiled_variants() -> list[Variant]:
    """The variants that really run compiled code here, in the lesson's order (lesson 03)."""
    return [v for v in VARIANTS.values() if v.compiled]


def variant(name: str) -> Variant:
    """The variant called ``name``; a clear error lists the names there are (lesson 03)."""
    if name not in VARIANTS:
        raise ValueError(f"unknown kernel variant {name!r}; choose from {', '.join(VARIANTS)}")
    return VARIANTS[name]


_FIX = """\
Fix: install a C compiler, run `pip install -e .` again in the parlab folder, then restart the kernel.
  Linux:   sudo apt install build-essential   (Fedora: sudo dnf install gcc)
  macOS:   xcode-select --install
  Windows: Visual Studio Build Tools, workload "Desktop development with C++\""""


def status() -> str:
    """One clear message: which compiled kernels exist here and, if some are missing, how to build them (lesson 03)."""
    openmp = "yes" if OPENMP else "no (optional; this compiler lacks OpenMP)"
    if COMPILED:
        return f"Compiled kernels: Cython ✓  C API ✓  ctypes library ✓  (OpenMP prange: {openmp})"
    missing = [part for part, ok in (("Cython", CYTHON), ("C API", CAPI), ("ctypes library", CTYPES)) if not ok]
    lines = [(f"Compiled kernels MISSING: {', '.join(missing)}. Those variants run the pure-Python "
              "fallback, which holds the GIL, so threads will not speed them up.")]
    compiler = system.find_compiler()
    if compiler is None:
        lines.append(_FIX)
    elif not _DISABLED:
        lines.append(f"A C compiler is here ({compiler}) but the build did not produce them: run "
                     "`pip install -v -e .` in the parlab folder to see why, then restart the kernel.")
        lines.extend(f"  {part}: {why}" for part, why in _missing.items() if part in missing)
    if _DISABLED:
        lines.append(f"({DISABLE_VAR} is set: unset it and restart the kernel to use the compiled kernels.)")
    return "\n".join(lines)
