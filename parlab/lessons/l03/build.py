"""Compile a Cython source string into a module, cached by its hash; guard ``%%cython`` (lesson 03).

Lesson 03 compiles Cython in the kernel twice: the ``%%cython`` cell magic (what a learner
uses in their own notebooks) and the exercise checker, which compiles the learner's source
text. Both need a C compiler, and a cell magic that fails stops "Run all". So
:func:`guard_cython_magic` checks for the compiler *before* any ``%%cython`` cell runs, and
:func:`compile_cython` never raises for a missing compiler, a Cython error or a C error: it
returns a :class:`Compiled` whose ``problem`` says what happened in words a learner can act
on. Builds run in a child process (argument list, timeout) in a temporary directory; the
built module is kept in a cache directory named after the hash of the source, the Python
build and Cython's version, so a second run of the notebook or the tests loads it at once.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from parlab import launch, system
from parlab._checks import check_text, check_timeout

__all__ = ["NO_COMPILER", "Compiled", "cache_dir", "compile_cython", "cython_ready", "guard_cython_magic"]

NO_COMPILER = ("no C compiler was found, so Cython cannot build a module here. Install one, then restart the "
               "kernel: Linux `sudo apt install build-essential` (or your distribution's gcc), macOS "
               "`xcode-select --install` (Xcode command line tools), Windows the Microsoft C++ Build Tools "
               "(https://visualstudio.microsoft.com/visual-cpp-build-tools/).")
_BUILD = """\
import sys
from setuptools import Extension, setup
from Cython.Build import cythonize
name = sys.argv[1]
setup(name=name, script_args=["build_ext", "--inplace", "--quiet"],
      ext_modules=cythonize([Extension(name, [name + ".pyx"])], language_level=3, quiet=True))
"""
_loaded: dict[str, ModuleType] = {}  # an extension module can be initialised once per process


@dataclass(frozen=True)
class Compiled:
    """A compiled Cython source: its module, or the problem that stopped the build (lesson 03)."""

    module: ModuleType | None
    problem: str = ""               # "" when compiled; else what went wrong, for the learner
    kind: str = ""                  # "", "no compiler", "cython error", "c error", "timeout"
    messages: tuple[str, ...] = ()  # Cython's errors, "line N: message"
    cached: bool = False
    details: str = field(default="", repr=False)  # the build's output tail

    @property
    def ok(self) -> bool:
        """True when the module was built and imported."""
        return self.module is not None

    def function(self, name: str) -> Any:
        """The module's attribute ``name``, or None when it was not built or has no such name."""
        return getattr(self.module, name, None) if self.module is not None else None


def cython_ready() -> str:
    """'' when Cython can build modules here, else why not (no compiler, no Cython, no setuptools) (lesson 03)."""
    if system.find_compiler() is None:
        return NO_COMPILER
    for package, why in (("Cython", "Cython is not installed: pip install 'cython>=3.1'"),
                         ("setuptools", ("setuptools is not installed (Cython's build needs it on Python "
                                         "3.12+): pip install setuptools"))):
        if importlib.util.find_spec(package) is None:
            return why
    return ""


def cache_dir() -> Path:
    """Where built modules are kept: $PARLAB_CYTHON_CACHE, else a per-user folder in the temp directory."""
    chosen = os.environ.get("PARLAB_CYTHON_CACHE")
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    path = Path(chosen) if chosen else Path(tempfile.gettempdir()) / f"parlab-cython-{user}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _key(source: str) -> str:
    import Cython

    tag = f"{sys.version}|{sysconfig.get_config_var('EXT_SUFFIX')}|{Cython.__version__}|"
    return hashlib.sha256((tag + source).encode("utf-8")).hexdigest()[:20]


def _load(name: str, path: Path) -> ModuleType:
    if name in _loaded:
        return _loaded[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _loaded[name] = module
    return module


def _built(folder: Path, name: str) -> Path | None:
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    found = sorted(folder.glob(f"{name}*{suffix}"))
    return found[0] if found else None


def compile_cython(source: str, *, timeout: float = 120.0) -> Compiled:
    """Build a Cython source string into a module and import it; never raises for a failed build (lesson 03).

    The source is built once per (source, Python, Cython) in :func:`cache_dir`; later calls,
    in this process or another, load the cached module.
    """
    source = check_text("source", source, "'def f(): return 1'")
    timeout = check_timeout(timeout)
    why = cython_ready()
    if why:
        return Compiled(None, f"not compiled: {why}", "no compiler")
    name = f"_parlab_cy_{_key(source)}"
    folder = cache_dir()
    ready = _built(folder, name)
    if ready is not None:
        return Compiled(_load(name, ready), cached=True)
    failed = folder / f"{name}.failed.json"
    if failed.is_file():  # a source Cython refused once is refused again: no second build
        kept = json.loads(failed.read_text(encoding="utf-8"))
        return Compiled(None, kept["problem"], kept["kind"], tuple(kept["messages"]), cached=True,
                        details=kept["details"])
    with tempfile.TemporaryDirectory(prefix="parlab-cy-") as tmp:
        (Path(tmp) / f"{name}.pyx").write_text(source, encoding="utf-8")
        try:
            done = launch.run([sys.executable, "-c", _BUILD, name], timeout=timeout, check=False, cwd=tmp)
        except launch.ChildTimeout:
            return Compiled(None, f"not compiled: the build did not finish within {timeout:g} s (a busy machine? "
                                  "run the cell again)", "timeout")
        output = (done.stdout + done.stderr).replace(f"{name}.pyx", "your source")
        messages = tuple(f"line {line}: {text.strip()}"
                         for line, text in re.findall(r"your source:(\d+):\d+: (.+)", output))
        built = _built(Path(tmp), name)
        if done.returncode != 0 or built is None:
            if messages:
                problem = "Cython could not compile your source:\n" + "\n".join(messages)
                failed.write_text(json.dumps({"problem": problem, "kind": "cython error", "messages": messages,
                                              "details": output[-3000:]}), encoding="utf-8")
                return Compiled(None, problem, "cython error", messages, details=output[-3000:])
            return Compiled(None, "the C compiler failed on Cython's output:\n" + output[-1500:], "c error",
                            details=output[-3000:])
        target = folder / built.name
        shutil.copy2(built, target.with_suffix(".part"))
        os.replace(target.with_suffix(".part"), target)  # atomic: another process never loads half a file
    return Compiled(_load(name, target), messages=messages)


def guard_cython_magic(shell: Any) -> str:
    """Check before any ``%%cython`` cell that it can compile; if not, swap in a stand-in that says why (lesson 03).

    Call it right after ``%load_ext Cython``. A ``%%cython`` cell that fails stops "Run all";
    the stand-in prints what is missing instead and defines nothing, so the cells after it
    fall back on parlab's copy of the kernel.
    """
    why = cython_ready()
    if not why:
        return "%%cython cells compile here (Cython and a C compiler found)."

    def cython(line: str, cell: str) -> None:
        print(f"This %%cython cell was not compiled: {why}")

    shell.register_magic_function(cython, "cell", "cython")
    return f"%%cython cells will not compile here: {why}"
