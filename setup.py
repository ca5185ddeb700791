"""Build parlab's optional compiled kernels (lesson 03) when pip installs parlab.

Metadata lives in pyproject.toml; this file only adds the extensions. Every extension is
optional: without a C compiler, without Cython or without OpenMP, the install still
succeeds, parlab imports, and ``parlab.kernels.status()`` says what is missing and how to
fix it. Build with ``pip install -e .`` (never ``setup.py build_ext``).
"""

from __future__ import annotations

import os
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNELS = "parlab/kernels"
CORE_HEADER = f"{KERNELS}/_primes_core.h"
CTYPES_LIB = "parlab.kernels._primes_lib"   # a plain C library that ctypes loads by path
OPENMP_EXT = "parlab.kernels._cy_openmp"


def _note(message: str) -> None:
    # pip shows this with -v; the kernels' status() tells the learner the rest at run time.
    print(f"parlab: {message}", file=sys.stderr)


def _extensions() -> list[Extension]:
    exts = [
        Extension("parlab.kernels._capi_primes", [f"{KERNELS}/_capi_primes.c"], depends=[CORE_HEADER]),
        # No Python in it: export its one C function (and no PyInit_*; see get_export_symbols).
        Extension(CTYPES_LIB, [f"{KERNELS}/_primes_lib.c"], depends=[CORE_HEADER],
                  export_symbols=["parlab_count_primes"]),
    ]
    try:
        from Cython.Build import cythonize
    except ImportError:
        _note("Cython is not installed: the Cython kernels are skipped (pip install cython)")
        return exts
    cython_exts = [Extension("parlab.kernels._cy_primes", [f"{KERNELS}/_cy_primes.pyx"]),
                   Extension(OPENMP_EXT, [f"{KERNELS}/_cy_openmp.pyx"])]
    try:
        # Generated C goes to build/, not next to the .pyx in the source tree.
        return exts + cythonize(cython_exts, build_dir="build/cython", quiet=True)
    except Exception as exc:  # noqa: BLE001 (a Cython too old, a translation error: skip, never fail)
        _note(f"Cython could not translate the kernels ({exc}); they are skipped")
        return exts


class OptionalBuildExt(build_ext):
    """build_ext that skips, with a note, every extension that cannot be built here."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 (no compiler at all: DistutilsPlatformError and friends)
            _note(f"no compiled kernels: {exc}")

    def build_extension(self, ext: Extension) -> None:
        try:
            if ext.name == OPENMP_EXT and not self._add_openmp(ext):
                _note("OpenMP is not available with this compiler: the prange kernel is skipped")
                return
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001 (CompileError, LinkError, a missing header, ...)
            _note(f"skipped {ext.name}: {exc}")

    def get_export_symbols(self, ext: Extension) -> list[str]:
        # setuptools would add PyInit_<name> to the exports (MSVC needs each export to exist);
        # the ctypes library has no such function, only its own C symbols.
        if ext.name == CTYPES_LIB:
            return list(ext.export_symbols)
        return super().get_export_symbols(ext)

    def _add_openmp(self, ext: Extension) -> bool:
        """Try the compiler's OpenMP flags on a tiny program; add the first that works."""
        if self.compiler.compiler_type == "msvc":
            candidates = [(["/openmp"], [])]
        else:
            candidates = [(["-fopenmp"], ["-fopenmp"]),
                          (["-Xpreprocessor", "-fopenmp"], ["-lomp"])]  # macOS clang with libomp
        source = "#include <omp.h>\nint parlab_probe(void) { return omp_get_max_threads(); }\n"
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "probe.c")
            with open(path, "w") as fh:
                fh.write(source)
            for compile_args, link_args in candidates:
                try:
                    objects = self.compiler.compile([path], output_dir=tmp, extra_postargs=compile_args)
                    self.compiler.link_shared_object(objects, os.path.join(tmp, "probe.so"),
                                                     extra_postargs=link_args)
                except Exception:  # noqa: BLE001, S112 (this flag does not work here: try the next)
                    continue
                ext.extra_compile_args = list(ext.extra_compile_args or []) + compile_args
                ext.extra_link_args = list(ext.extra_link_args or []) + link_args
                return True
        return False


setup(
    ext_modules=_extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
    # Ship the sources: lesson 03 shows them, and an sdist must be able to rebuild.
    # py.typed (PEP 561): mypy reads parlab's type hints in code that imports it.
    package_data={"parlab": ["py.typed"], "parlab.kernels": ["*.pyx", "*.pxd", "*.c", "*.h"]},
)
