"""``python -m parlab.doctor``: the setup check a learner runs before a workshop.

One line per need: "ok" with what was found, or what is missing and the one command that
fixes it. Each check is a small function that returns a :class:`Need` (data); ``format_needs``
writes the lines; ``main`` prints them (or JSON with ``--json``) and exits 0 when the core
lessons can run, 1 otherwise. Optional needs (compiler, MPI, Redis, Numba, Dask) only say which
lessons they affect. Every probe that could take long runs in a child process with a timeout,
started from an argument list; MPI is tested for real with two ranks through ``parlab.mpi``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from parlab import launch, system

__all__ = [
    "CORE_LESSONS",
    "Need",
    "check_compiler",
    "check_cores",
    "check_dask",
    "check_gil",
    "check_jupyter",
    "check_mpi",
    "check_numba",
    "check_packages",
    "check_python",
    "check_redis",
    "format_needs",
    "main",
    "ready",
    "run_checks",
]

CORE_LESSONS = "00, 01a, 01b, 02, 06a, 06b"
CHILD_TIMEOUT_S = 90.0  # a first Numba compile on a busy 2-core machine takes seconds, not minutes
MPI_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Need:
    """One need of the lessons: whether it is met, what was found, the fix, and the lessons it affects."""

    name: str
    ok: bool
    found: str
    fix: str = ""
    lessons: str = ""
    core: bool = False  # the core lessons cannot run without it


def python_command() -> str:
    """The Python to type in a fix: a path relative to here when it is below here, else the full path."""
    exe = Path(sys.executable)
    try:
        return str(exe.relative_to(Path.cwd()))
    except ValueError:
        return str(exe)


def pip_install(*what: str) -> str:
    """The pip command that installs ``what`` into this Python."""
    return f"{python_command()} -m pip install {' '.join(what)}"


def version_of(distribution: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def module_found(name: str) -> bool:
    """Whether ``name`` can be imported here, without importing it."""
    return importlib.util.find_spec(name) is not None


def python_version() -> tuple[int, int]:
    """The running Python's (major, minor)."""
    return sys.version_info.major, sys.version_info.minor


def run_child(code: str, timeout: float = CHILD_TIMEOUT_S) -> dict[str, Any] | str:
    """Run ``python -c code`` with a timeout; its last stdout line as JSON, or what went wrong."""
    try:
        done = launch.run([sys.executable, "-c", code], timeout=timeout, check=False)
    except launch.ChildTimeout:
        return f"did not finish within {timeout:g} s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        return f"failed: {last}"
    try:
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    except (IndexError, ValueError, TypeError):
        return f"printed no result: {done.stdout.strip()[-200:]!r}"


# --------------------------------------------------------------------------- the core

def check_python() -> Need:
    """Python 3.11 or newer."""
    build = system.python_build()
    found = f"{build['implementation']} {build['version']}" + (" free-threaded" if build["free_threaded"] else "")
    ok = python_version() >= (3, 11)
    return Need("Python", ok, found + ("" if ok else " (3.11 or newer needed)"),
                "install Python 3.11 or newer, then: python3 -m venv .venv && .venv/bin/pip install -r "
                "requirements.txt", f"every lesson ({CORE_LESSONS} and the rest)", core=True)


def check_gil() -> Need:
    """The GIL state; a free-threaded build whose GIL came back on is a fix for lesson 01a."""
    free, on = system.free_threaded_build(), system.gil_enabled()
    if not free:
        return Need("GIL", True, "on (a standard build: lesson 01a shows what a free-threaded one changes)")
    if not on:
        return Need("GIL", True, "off (a free-threaded build)")
    return Need("GIL", False, "on, in a free-threaded build: an extension that does not declare "
                "free-threading support turned it back on", "export PYTHON_GIL=0   (then restart the kernel)",
                "01a and 03 show a GIL-on build's numbers instead of the free-threaded ones")


def check_cores() -> Need:
    """Usable cores (affinity and quota) beside the logical CPUs."""
    usable, logical = system.usable_cores(), os.cpu_count() or 1
    found = f"{usable} usable of {logical} logical CPU{'s' if logical != 1 else ''}"
    return Need("cores", usable >= 2, found, "close other heavy programs, or give this machine (VM, "
                "container) at least 2 CPUs", "every lesson runs, but with 1 core no speedup can show")


def check_packages() -> Need:
    """parlab itself, numpy and matplotlib: what every lesson imports."""
    import parlab

    missing = [name for name in ("numpy", "matplotlib") if version_of(name) is None or not module_found(name)]
    found = f"parlab {parlab.__version__} ({Path(parlab.__file__).parent})"
    if missing:
        return Need("packages", False, f"{found}; missing: {', '.join(missing)}",
                    pip_install("-r", "requirements.txt"), "every lesson", core=True)
    return Need("packages", True, f"{found}, numpy {version_of('numpy')}, matplotlib {version_of('matplotlib')}",
                core=True)


def check_jupyter() -> Need:
    """JupyterLab (or at least ipykernel, for another front end) and ipywidgets."""
    lab, kernel, widgets = version_of("jupyterlab"), version_of("ipykernel"), version_of("ipywidgets")
    parts = [f"JupyterLab {lab}" if lab else "no JupyterLab", f"ipykernel {kernel}" if kernel else "no ipykernel",
             f"ipywidgets {widgets}" if widgets else "no ipywidgets"]
    ok = widgets is not None and (lab is not None or kernel is not None)
    if ok and lab is None:
        parts.append("(enough for a kernel; open the notebooks in another Jupyter front end)")
    fix = pip_install("jupyterlab", "ipywidgets") if not ok else ""
    return Need("Jupyter", ok, ", ".join(parts), fix, "every lesson (notebooks and slider panels)", core=True)


# --------------------------------------------------------------------------- optional needs

def _compiler_fix() -> str:
    rebuild = f"{python_command()} -m pip install -e ."
    if sys.platform == "darwin":
        return f"xcode-select --install   (then: {rebuild})"
    if sys.platform == "win32":
        return f"install Visual Studio Build Tools with the C++ workload (then: {rebuild})"
    return f"sudo apt-get install -y build-essential && {rebuild}"


def kernels_built() -> tuple[bool, str]:
    """Whether parlab's compiled kernels load here, and ``parlab.kernels.status()``'s first line."""
    from parlab import kernels

    return bool(kernels.COMPILED), kernels.status().splitlines()[0]


def check_compiler() -> Need:
    """A C compiler, and parlab's compiled kernels built with it."""
    lessons = ("03 runs a pure-Python fallback that shows no gain (exercises 1 and 4 'not checked'); "
               "06a leaves out the compiled kernel")
    compiler = system.find_compiler()
    built, status = kernels_built()
    if compiler is None:
        return Need("C compiler", False, "none found" + ("; the kernels were built before" if built else ""),
                    _compiler_fix(), lessons)
    if not built:
        return Need("C compiler", False, f"{compiler}, but {status}", f"{python_command()} -m pip install -v -e .",
                    lessons)
    return Need("C compiler", True, f"{compiler}; {status}", lessons=lessons)


def probe_mpi() -> str | dict[str, Any]:
    """Run ``parlab.scripts.mpi_hello`` on two ranks; rank 0's result, or why it failed."""
    from parlab import mpi

    try:
        run = mpi.run_mpi("hello", 2, timeout=MPI_TIMEOUT_S)
    except mpi.MPIError as exc:
        return str(exc).splitlines()[0]
    return run.data


def check_mpi() -> Need:
    """mpiexec next to Python or on PATH, mpi4py, and a real two-rank job."""
    lessons = "05a and 05b need it; 06a leaves out its MPI row"
    hint = pip_install("mpi4py", "impi-rt" if sys.platform == "win32" else "mpich")
    launcher = system.find_mpiexec()
    if launcher is None:
        return Need("MPI", False, "no mpiexec next to Python or on PATH", hint, lessons)
    if not module_found("mpi4py"):  # the package only: MPI never starts here
        return Need("MPI", False, f"{launcher}, but mpi4py is not installed", hint, lessons)
    result = probe_mpi()
    if isinstance(result, str):
        return Need("MPI", False, f"{launcher}: the two-rank test failed: {result}", hint, lessons)
    ranks = sorted(r.get("rank", -1) for r in result.get("ranks", []))
    if result.get("size") != 2 or ranks != [0, 1]:
        return Need("MPI", False, f"{launcher}: the two-rank test saw ranks {ranks}, size {result.get('size')}",
                    hint, lessons)
    library = str(result.get("library", "")).strip()
    return Need("MPI", True, f"{launcher}; 2 ranks answered" + (f" ({library})" if library else ""),
                lessons=lessons)


def probe_redis() -> tuple[bool, str]:
    """Connect to $REDIS_URL, or start and stop a private redis-server; (worked, what happened)."""
    from parlab.coord.localredis import find_redis

    try:
        server, local, said = find_redis()
    except Exception as exc:  # noqa: BLE001 (a server that will not start is an answer, not a crash)
        return False, f"redis-server would not start: {str(exc).splitlines()[0]}"
    try:
        return server is not None, said
    finally:
        if server is not None:
            server.close()
        if local is not None:
            local.stop()


def check_redis() -> Need:
    """A reachable $REDIS_URL or a redis-server program (and the redis client)."""
    lessons = "04's section 5 (the same job through Redis) is skipped; the rest of 04 uses the embedded server"
    if version_of("redis") is None:
        return Need("Redis", False, "the redis client is not installed", pip_install("redis"), lessons)
    ok, said = probe_redis()
    fix = ("sudo apt-get install -y redis-server" if sys.platform.startswith("linux") else
           "brew install redis" if sys.platform == "darwin" else "set REDIS_URL=redis://HOST:6379/0 (a server you run)")
    if os.environ.get("REDIS_URL") and not ok:
        fix = "start the server REDIS_URL names, or unset REDIS_URL to use a local redis-server"
    return Need("Redis", ok, said, "" if ok else fix, lessons)


NUMBA_CODE = """
import json, numba
@numba.njit(nogil=True)
def total(n):
    s = 0
    for i in range(n):
        s += i
    return s
print(json.dumps({"version": numba.__version__, "value": total(1000)}))
"""
DASK_CODE = """
import json, dask, distributed
print(json.dumps({"dask": dask.__version__, "distributed": distributed.__version__}))
"""


def check_numba() -> Need:
    """Numba imports, and a tiny njit function compiles and runs (in a child, with a timeout)."""
    lessons = "03's Numba part (njit(nogil=True), prange) is skipped"
    fix = pip_install("numba")
    result = run_child(NUMBA_CODE)
    if isinstance(result, str):
        return Need("Numba", False, f"a tiny njit function {result}", fix, lessons)
    if result.get("value") != 499500:
        return Need("Numba", False, f"numba {result.get('version')} compiled a function that returned "
                    f"{result.get('value')!r}, not 499500", fix, lessons)
    return Need("Numba", True, f"numba {result['version']}; a tiny njit function compiled and ran", lessons=lessons)


def check_dask() -> Need:
    """dask and distributed import (in a child, with a timeout) and are the same version."""
    lessons = "07 (Dask) needs it"
    fix = pip_install("-r", "requirements.txt") + "   (pins dask and distributed to one version)"
    result = run_child(DASK_CODE)
    if isinstance(result, str):
        return Need("Dask", False, f"importing dask and distributed {result}", fix, lessons)
    if result.get("dask") != result.get("distributed"):
        return Need("Dask", False, f"dask {result.get('dask')} but distributed {result.get('distributed')}: "
                    "they must be the same version", fix, lessons)
    return Need("Dask", True, f"dask and distributed {result['dask']}", lessons=lessons)


CHECKS: tuple[Callable[[], Need], ...] = (check_python, check_gil, check_cores, check_packages, check_jupyter,
                                          check_compiler, check_mpi, check_redis, check_numba, check_dask)


def run_checks(checks: Sequence[Callable[[], Need]] | None = None) -> list[Need]:
    """Every check's Need, in order (default ``CHECKS``); a check that raises gives a failed Need naming it."""
    needs = []
    if checks is None:
        checks = CHECKS
    for check in checks:
        try:
            needs.append(check())
        except Exception as exc:  # noqa: BLE001 (one broken probe must not hide the other lines)
            name = check.__name__.removeprefix("check_")
            needs.append(Need(name, False, f"the check itself failed: {type(exc).__name__}: {exc}",
                              core=name in ("python", "packages", "jupyter")))
    return needs


def ready(needs: Sequence[Need]) -> bool:
    """True when every core need is met: the core lessons can run."""
    return all(n.ok for n in needs if n.core)


def format_needs(needs: Sequence[Need]) -> str:
    """One line per need, then a verdict: what runs, and what is missing."""
    width = max((len(n.name) for n in needs), default=0)
    lines = []
    for need in needs:
        if need.ok:
            lines.append(f"ok       {need.name:<{width}}  {need.found}")
            continue
        mark = "MISSING" if need.core else "missing"
        lines.append(f"{mark:<8} {need.name:<{width}}  {need.found}")
        if need.fix:
            lines.append(f"{'':<8} {'':<{width}}  fix: {need.fix}")
        if need.lessons:
            lines.append(f"{'':<8} {'':<{width}}  without it: {need.lessons}")
    optional = [n.name for n in needs if not n.ok and not n.core]
    if ready(needs):
        lines.append(f"Ready: the core lessons ({CORE_LESSONS}) can run here."
                     + (f" Optional, missing: {', '.join(optional)} (see above)." if optional
                        else " Everything optional is here too."))
    else:
        core = [n.name for n in needs if not n.ok and n.core]
        lines.append(f"NOT ready: the lessons cannot run until {', '.join(core)} "
                     f"{'is' if len(core) == 1 else 'are'} fixed (the commands are above).")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every check, print the lines (or JSON with --json); 0 when the core lessons can run, else 1."""
    parser = argparse.ArgumentParser(prog="python -m parlab.doctor",
                                     description="Check this machine for the parlab lessons.")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args(argv)
    needs = run_checks()
    if args.json:
        print(json.dumps({"ready": ready(needs), "needs": [asdict(n) for n in needs]}, indent=2))
    else:
        print(format_needs(needs))
    return 0 if ready(needs) else 1


if __name__ == "__main__":
    sys.exit(main())
