"""Lesson 01a, section "Both builds side by side": the same fib thread sweep in a free-threaded
and a standard CPython, on the same machine.

The kernel measures its own sweep as usual; the other build runs ``parlab/scripts/ft_threads.py``
by path, with the standard library alone (``-I``), in a child with an argument list and a
timeout, and prints JSON that :func:`other_build_sweep` turns into a parlab ``Sweep``. Where the
other build comes from:

- on a standard kernel, a free-threaded interpreter: the one ``PARLAB_FREE_THREADED_PYTHON``
  names (it wins), else ``python3.14t`` or ``python3.13t`` on PATH (:func:`find_free_threaded`);
- on a free-threaded kernel, the standard build of the same version (``l01_gil.find_gil_build``).

Without one, :data:`HOW_TO_GET_ONE` says how to install one and register it as a kernel.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from parlab import launch
from parlab.lessons.l01.gil import find_gil_build, time_fib_in
from parlab.lessons.l01.words import _python_on_threads, _regime, _speedup
from parlab.lessons.words import SAME_HIGH, SAME_LOW, point_at_cores
from parlab.measure import build_sweep, timing_from
from parlab.results import Metadata, Sweep, format_seconds

__all__ = ["ENV_VAR", "FREE_THREADED_NAMES", "HOW_TO_GET_ONE", "SCRIPT", "build_name",
           "describe_builds", "find_free_threaded", "find_other_build", "other_build_sweep",
           "run_script", "with_build_label"]

ENV_VAR = "PARLAB_FREE_THREADED_PYTHON"
FREE_THREADED_NAMES = ("python3.14t", "python3.13t")  # newest first
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ft_threads.py"

HOW_TO_GET_ONE = """\
To measure both builds side by side, install a free-threaded Python (3.13t or later):
- python.org installers (Windows, macOS): tick the free-threaded option ("Download free-threaded binaries");
- uv: `uv python install 3.14t` (then `uv python find 3.14t` prints its path);
- conda-forge: `conda create -n ft -c conda-forge python-freethreading`;
- Linux distributions: a python3.14t / python3.13t package where there is one, or build from source
  with `./configure --disable-gil`.
Then put python3.14t on PATH, or name it: PARLAB_FREE_THREADED_PYTHON=/path/to/python3.14t, and
run this section again. To run the whole notebook on it, register it as a Jupyter kernel:
    python3.14t -m pip install ipykernel && python3.14t -m ipykernel install --user --name py314t"""


def _checked(executable: str, source: str, timeout: float) -> tuple[str | None, str]:
    """``executable`` if it runs and is a free-threaded build, else None and why."""
    try:
        info = time_fib_in(executable, 1, 1, timeout=timeout)  # asks what it is, as find_gil_build does
    except (launch.ChildFailed, launch.ChildTimeout, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else repr(exc)
        return None, f"{executable} ({source}) did not run: {first}"
    if not info.get("free_threaded"):
        return None, (f"{executable} ({source}) is CPython {info.get('version')}, a standard build "
                      "with the GIL, not a free-threaded one")
    return executable, f"{executable} ({source}): free-threaded CPython {info.get('version')}"


def find_free_threaded(environ: Mapping[str, str] | None = None, *,
                       timeout: float = 30) -> tuple[str | None, str]:
    """A free-threaded Python to run beside this kernel, and a note on where it came from or why none (lesson 01a).

    ``PARLAB_FREE_THREADED_PYTHON`` wins: a path (or a name on PATH) that must exist, be
    executable and be a free-threaded build, else None with a message that says which.
    Without it, the first of ``python3.14t``, ``python3.13t`` on PATH that is one.
    """
    env = os.environ if environ is None else environ
    named = env.get(ENV_VAR, "").strip()
    if named:
        path = named if os.sep in named or (os.altsep and os.altsep in named) else shutil.which(named)
        if path is None or not os.path.exists(path):
            return None, (f"{ENV_VAR}={named!r} names no file: set it to the full path of a "
                          "free-threaded python (e.g. .../bin/python3.13t), or unset it")
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            return None, (f"{ENV_VAR}={named!r} is not an executable program: set it to the full "
                          "path of a free-threaded python (e.g. .../bin/python3.13t), or unset it")
        return _checked(path, f"from {ENV_VAR}", timeout)
    notes = []
    for name in FREE_THREADED_NAMES:
        path = shutil.which(name, path=env.get("PATH", os.defpath))
        if path is None:
            continue
        found, note = _checked(path, "on PATH", timeout)
        if found:
            return found, note
        notes.append(note)
    tried = " or ".join(FREE_THREADED_NAMES)
    first = f"no free-threaded Python found: {ENV_VAR} is not set and no working {tried} is on PATH"
    return None, "; ".join([first, *notes])


def find_other_build(free_threaded_here: bool, environ: Mapping[str, str] | None = None, *,
                     timeout: float = 30) -> tuple[str | None, str]:
    """The build to run beside this kernel: free-threaded beside a standard kernel, and vice versa (lesson 01a)."""
    if free_threaded_here:
        return find_gil_build(timeout=timeout)
    return find_free_threaded(environ, timeout=timeout)


def run_script(executable: str, *, n: int, tasks: int, workers: list[int], repeats: int = 3,
               timeout: float = 120) -> dict[str, Any]:
    """Run ft_threads.py under ``executable`` (isolated, argument list, timeout); its JSON report (lesson 01a)."""
    if not workers or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in workers):
        raise ValueError(f"workers must list thread counts >= 1, e.g. [1, 2], got {workers!r}")
    argv = [executable, "-I", str(SCRIPT), "--n", str(n), "--tasks", str(tasks),
            "--workers", ",".join(map(str, workers)), "--repeats", str(repeats)]
    report = launch.json_result(launch.run(argv, timeout=timeout))
    if not isinstance(report, dict) or not report.get("results_match") or not report.get("points"):
        raise ValueError(f"{executable} did not report a checked sweep: {report!r}")
    return report


def build_name(meta: Metadata) -> str:
    """"CPython 3.13.5 free-threaded (GIL off)", "CPython 3.11.7 (GIL on)" (lesson 01a)."""
    flavour = " free-threaded" if meta.free_threaded else ""
    return f"{meta.implementation} {meta.python}{flavour} (GIL {'on' if meta.gil_enabled else 'off'})"


def with_build_label(sweep: Sweep) -> Sweep:
    """The same sweep, its label naming the build it ran on, for a plot of both builds (lesson 01a)."""
    return dataclasses.replace(sweep, label=f"{sweep.label}, {build_name(sweep.metadata)}")


def other_build_sweep(report: Mapping[str, Any], metadata: Metadata | None = None) -> Sweep:
    """ft_threads.py's JSON report as a parlab Sweep, labelled with the build it ran on (lesson 01a).

    The machine facts (usable cores, date) are this kernel's: the child ran on the same machine.
    """
    here = metadata or Metadata.here()
    meta = dataclasses.replace(here, python=str(report["version"]),
                               implementation=str(report["implementation"]),
                               free_threaded=bool(report["free_threaded"]),
                               gil_enabled=bool(report["gil_enabled"]))
    measured = [(int(p["workers"]), timing_from(p["seconds"]), float(p["startup_s"]), None)
                for p in report["points"]]
    return build_sweep(f"fib on threads, {build_name(meta)}", "threads", None, int(report["tasks"]),
                       timing_from(report["serial"]), measured, metadata=meta,
                       estimate=not meta.gil_enabled)


def _one_thread(here: Sweep, other: Sweep) -> str:
    """The serial run (one thread) in both builds, worded from the ratio."""
    ratio = other.serial.median / here.serial.median
    head = (f"One thread (the serial run): {format_seconds(here.serial.median)} in "
            f"{build_name(here.metadata)}, {format_seconds(other.serial.median)} in "
            f"{build_name(other.metadata)}")
    if ratio > SAME_HIGH:
        verdict = f"{ratio:.2f} times as long in the second"
    elif ratio >= SAME_LOW:
        verdict = f"about the same ({ratio:.2f} times as long in the second)"
    else:
        verdict = f"{1 / ratio:.2f} times as long in the first"
    same = here.metadata.python.split(".")[:2] == other.metadata.python.split(".")[:2]
    note = ("" if same else " Part of that difference comes from the versions, not only the build: "
            "compare the same version for the build's own cost (single_thread_cost, above).")
    return f"{head}: {verdict}.{note}"


def describe_builds(here: Sweep, other: Sweep) -> str:
    """This kernel's fib sweep beside the other build's, at the core count, worded for each build (lesson 01a)."""
    if here.metadata.usable_cores != other.metadata.usable_cores:
        raise ValueError("both sweeps must come from the same machine (the same usable cores)")
    cores = here.metadata.usable_cores
    lines = []
    for sweep in (here, other):
        point = point_at_cores(sweep)
        lines.append(f"{build_name(sweep.metadata)}: {_speedup(point, cores, 'thread')}. "
                     + _python_on_threads(_regime(point, cores), sweep.metadata))
    lines.append(_one_thread(here, other))
    return "\n".join(lines)
