"""Lesson 01a's conclusion writers: every printed conclusion worded from the measured numbers and the build.

Each ``describe_*`` takes what was measured (sweeps, overlaps) and the build it was measured
on (``Metadata.gil_enabled`` and ``free_threaded``): a slowdown is called one, a result the
build explains (threads taking turns on the GIL) is never blamed on other programs, and only
a result the build does not explain asks for a rerun. ``l01_gil`` re-exports the public ones;
the private helpers (``_python_on_threads`` ...) serve the other ``l01_*`` modules too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from parlab import system
from parlab.lessons.words import (
    SAME_HIGH,
    SAME_LOW,
    describe_speedup,
    point_at_cores,
    regime,
    spread_warning,
    unexplained,
)
from parlab.results import Metadata, Sweep, SweepPoint, format_speedup

__all__ = ["build_report", "describe_cpu_threads", "describe_gil_release", "describe_overlap",
           "describe_python_threads", "describe_small_buffers", "describe_waiting"]

# --------------------------------------------------------------------------- words from numbers
#
# Every sentence below is written from the numbers it is given and from the build they were
# measured on (``Metadata.gil_enabled`` and ``free_threaded``): a slowdown is called one, a
# result the build explains (threads taking turns on the GIL) is never blamed on other
# programs, and only a result the build does not explain asks for a rerun.

_SCALED = frozenset({"near-ideal", "below-ideal", "superlinear"})  # conclude.regime: faster than one
_GIL_BACK_ON = ("This free-threaded build has the GIL on again (PYTHON_GIL=1, -X gil=1, or an "
                "extension module that needs it), so it behaves like a standard build here.")


def _noun(workers: int, noun: str) -> str:
    """"1 thread", "2 threads", "2 processes": the noun for describe_speedup's ``what``."""
    return noun if workers == 1 else noun + ("es" if noun.endswith("s") else "s")


def _speedup(point: SweepPoint, cores: int, noun: str, *, waiting: bool = False) -> str:
    return describe_speedup(point.speedup, point.workers, cores, waiting=waiting,
                            what=_noun(point.workers, noun))


def _regime(point: SweepPoint, cores: int, *, waiting: bool = False) -> str:
    return regime(point.speedup, point.workers, cores, waiting=waiting)


def _spread(point: SweepPoint) -> list[str]:
    """The noisy-machine warning for one point, as a sentence, or nothing."""
    warning = spread_warning(point.speedup_low, point.speedup, point.speedup_high)
    return [f"With {point.workers} {_noun(point.workers, 'worker')}, {warning}."] if warning else []


def _python_on_threads(kind: str, meta: Metadata, others: float | None = None) -> str:
    """Why pure-Python work on threads gave a speedup of regime ``kind`` on this build (``others``: see unexplained)."""
    if meta.usable_cores == 1:
        return "With one usable core the threads share it, with or without a GIL."
    if meta.gil_enabled:
        back = _GIL_BACK_ON + " " if meta.free_threaded else ""
        if kind == "slower":
            return (back + "With the GIL on, only one thread runs Python at a time, and handing the "
                    "GIL from thread to thread costs extra time.")
        if kind == "same":
            return back + "With the GIL on, only one thread runs Python at a time: the threads take turns."
        return (back + "Unexpected with the GIL on, which lets only one thread run Python at a time: "
                + unexplained(others, meta.usable_cores) + ". Run the cell again.")
    if kind in ("near-ideal", "superlinear"):
        return "There is no GIL in this build: the threads ran Python on several cores at once."
    if kind == "below-ideal":
        return ("There is no GIL in this build: the threads ran at the same time, but not for all "
                "of the run: " + unexplained(others, meta.usable_cores) + ".")
    return ("Unexpected without a GIL, where threads can run Python on several cores at once: "
            + unexplained(others, meta.usable_cores) + ". Run the cell again.")


# Two points of one sweep, each a ratio of noisy medians: their ratio must pass this before "faster"
# is read into it (the SAME band of one speedup is too narrow for a ratio of two).
BEYOND_NOISE = 1.25


def _beyond_cores(sweep: Sweep, noun: str) -> list[str]:
    """What the most oversubscribed point did against the point at the core count (CPU work)."""
    cores = sweep.metadata.usable_cores
    at = point_at_cores(sweep)
    over = max(sweep.points, key=lambda p: p.workers)
    if over.workers <= cores or at.workers == over.workers:
        return []
    head = (f"{over.workers} {_noun(over.workers, noun)} on {cores} usable "
            f"{_noun(cores, 'core')}: {format_speedup(over.speedup)}")
    ratio = over.speedup / at.speedup
    if ratio < SAME_LOW:
        tail = ("slower than with {k}: more workers than cores only share the cores, and "
                "switching between them costs time.")
    elif ratio <= BEYOND_NOISE:
        tail = "no faster than with {k}: CPU work gains nothing from more workers than cores."
    else:
        tail = ("faster than with {k}, although CPU work cannot gain from more workers than "
                "cores: " + unexplained(sweep.others_cores, cores) + ". Run the cell again.")
    return [f"{head}, " + tail.replace("{k}", str(at.workers))]


def describe_python_threads(sweep: Sweep, point: SweepPoint | None = None) -> str:
    """Pure-Python work on threads (``point``: default the one at the core count), worded for the build (lesson 01)."""
    meta = sweep.metadata
    point = point or point_at_cores(sweep)
    lines = [f"{sweep.label}: {_speedup(point, meta.usable_cores, 'thread')}.",
             _python_on_threads(_regime(point, meta.usable_cores), meta, sweep.others_cores)]
    return " ".join(lines + _spread(point))


def describe_cpu_threads(threads: Sweep, processes: Sweep) -> str:
    """The conclusion of lesson 01's CPU-bound sweep, worded from the measurements and the build (lesson 01)."""
    meta = threads.metadata
    cores = meta.usable_cores
    lines = []
    if cores == 1:
        lines.append("Only one usable core here: nothing runs in parallel, on threads or on "
                     "processes. Try a machine with 2 or more cores.")
    lines.append(describe_python_threads(threads))
    lines.extend(_beyond_cores(threads, "thread"))
    p = point_at_cores(processes)
    kind = _regime(p, cores)
    line = f"{processes.label}: {_speedup(p, cores, 'process')}."
    if cores > 1 and kind in _SCALED:
        line += " Each process has its own interpreter and its own GIL."
    elif cores > 1:
        line += (" Processes run on separate cores whatever the build: "
                 + unexplained(processes.others_cores, cores) + ". Run the cell again.")
    lines.append(" ".join([line, *_spread(p)]))
    lines.extend(_beyond_cores(processes, "process"))
    return "\n".join(lines)


def describe_waiting(sweep: Sweep) -> str:
    """Waiting tasks (sleep, sockets) on threads, at the most threads measured (lesson 01).

    The ideal is the thread count (``waiting=True``): a waiting thread holds neither the GIL
    nor a core, in every build.
    """
    cores = sweep.metadata.usable_cores
    top = max(sweep.points, key=lambda p: p.workers)
    kind = _regime(top, cores, waiting=True)
    line = f"{sweep.label}: {_speedup(top, cores, 'thread', waiting=True)}."
    if kind in ("near-ideal", "superlinear", "below-ideal"):
        if top.workers > cores and top.speedup > SAME_HIGH * cores:
            line += (f" That is more than the {cores} usable {_noun(cores, 'core')} could give CPU "
                     "work: the threads spent their time waiting, and a waiting thread needs no core.")
        if kind == "below-ideal":
            line += (" The waits overlapped only in part: each task also runs a little Python "
                     "(sending, receiving, waking up), which needs a core and, on a build with "
                     "the GIL, the GIL.")
    else:
        line += (" Unexpected for waiting tasks, which let go of the GIL in every build: "
                 + unexplained(sweep.others_cores, cores) + ". Run the cell again.")
    return " ".join([line, *_spread(top)])


def describe_overlap(overlaps: Mapping[str, float], cores: int, *, gil_enabled: bool,
                     others_cores: float | None = None) -> str:
    """How much of the spinning timeline two threads, and two processes, ran at once (lesson 01).

    ``others_cores``: how many cores other programs kept busy meanwhile, when it was measured.
    """
    lines = [f"{backend}: two workers ran at the same moment {share:.0%} of the time"
             for backend, share in overlaps.items()]
    if cores == 1:
        lines.append("One usable core: the workers take turns on it, threads and processes alike.")
        return "\n".join(lines)
    if "threads" in overlaps:
        share = overlaps["threads"]
        if gil_enabled and share < 0.2:
            lines.append("The threads took turns: with the GIL on, only one runs Python at a time.")
        elif gil_enabled:
            lines.append("The threads overlapped although the GIL is on: unexpected. Run the cell again.")
        elif share >= 0.5:
            lines.append("Without the GIL the threads ran at the same time, like processes.")
        else:
            lines.append("Without the GIL the threads could run at the same time, but did so for "
                         "only part of the run: " + unexplained(others_cores, cores) + ". Run the cell again.")
    if "processes" in overlaps:
        if overlaps["processes"] >= 0.5:
            lines.append("The processes ran at the same time, on separate cores.")
        else:
            lines.append("The processes overlapped little this time, although each has its own "
                         "GIL: " + unexplained(others_cores, cores) + ". Run the cell again.")
    return "\n".join(lines)


def _most_busy(*sweeps: Sweep) -> float | None:
    """The highest measured load of other programs over ``sweeps`` (None when none was measured)."""
    measured = [s.others_cores for s in sweeps if s.others_cores is not None]
    return max(measured) if measured else None


def describe_gil_release(hash_sweep: Sweep, zlib_sweep: Sweep, fib_threads: Sweep) -> str:
    """hashlib and zlib on threads beside pure-Python fib, at the core count, worded for the build (lesson 01)."""
    meta = fib_threads.metadata
    cores = meta.usable_cores
    c_points = {s.label: point_at_cores(s) for s in (hash_sweep, zlib_sweep)}
    fib_point = point_at_cores(fib_threads)
    lines = [f"{label}: {_speedup(p, cores, 'thread')}" for label, p in c_points.items()]
    lines.append(f"{fib_threads.label} (section 3): {_speedup(fib_point, cores, 'thread')}")
    if cores == 1:
        lines.append("One usable core: nothing runs in parallel here, with or without the GIL.")
        return "\n".join(lines)
    stalled = [label for label, p in c_points.items() if _regime(p, cores) not in _SCALED]
    fib_scaled = _regime(fib_point, cores) in _SCALED
    if stalled:
        lines.append(f"{' and '.join(stalled)} did not speed up, although "
                     + ("the C code lets go of the GIL while it works" if meta.gil_enabled else
                        "this build has no GIL")
                     + ": " + unexplained(_most_busy(hash_sweep, zlib_sweep), cores) + ". Run the cells again.")
    elif meta.gil_enabled and not fib_scaled:
        lines.append(("" if not meta.free_threaded else _GIL_BACK_ON + " ")
                     + "Both scaled where pure-Python fib did not: the C code let go of the GIL "
                     "while it worked, so the threads ran it at the same time.")
    elif meta.gil_enabled:
        lines.append("Both scaled, and so did fib, although the GIL was on: for the fib measurement "
                     + unexplained(fib_threads.others_cores, cores) + ". Run section 3 again.")
    elif fib_scaled:
        lines.append("Without the GIL, pure-Python fib scaled on threads too: in this build every "
                     "thread runs on its own core whether its code lets go of a GIL or not.")
    else:
        lines.append("Both scaled, but fib on threads did not, although this build has no GIL: "
                     + unexplained(fib_threads.others_cores, cores) + ". Run section 3 again.")
    return "\n".join(lines + [w for p in (*c_points.values(), fib_point) for w in _spread(p)])


def describe_small_buffers(sweep: Sweep) -> str:
    """Exercise 2: many 1 KiB hashes on threads, at the most threads measured, worded for the build (lesson 01)."""
    meta = sweep.metadata
    cores = meta.usable_cores
    top = max(sweep.points, key=lambda p: p.workers)
    kind = _regime(top, cores)
    line = f"{sweep.label}: {_speedup(top, cores, 'thread')}."
    if cores == 1:
        reason = "With one usable core the threads share it, with or without a GIL."
    elif meta.gil_enabled:
        reason = _GIL_BACK_ON + " " if meta.free_threaded else ""
        if kind == "slower":
            reason += ("Each 1 KiB update is too short for hashlib to let go of the GIL, so the "
                       "threads take turns, and handing the GIL over costs extra time.")
        elif kind == "same":
            reason += ("Each 1 KiB update is too short for hashlib to let go of the GIL, so the "
                       "threads take turns, as with pure Python.")
        else:
            reason += ("Unexpected with the GIL on, which hashlib keeps for buffers this small: "
                       + unexplained(sweep.others_cores, cores) + ". Run the cell again.")
    elif kind in _SCALED:
        reason = "No GIL in this build: the threads hashed the small buffers at the same time."
    else:
        reason = ("Unexpected without a GIL, where the threads can hash at the same time: "
                  + unexplained(sweep.others_cores, cores) + ". Run the cell again.")
    return " ".join([line, reason, *_spread(top)])


_FREE_THREADING_STATUS = ("Free threading was experimental in 3.13 (3.13t) and is supported from 3.14 "
                          "(3.14t, PEP 779).")


def _who_turned_it_on() -> str:
    if os.environ.get("PYTHON_GIL") == "1":
        return "PYTHON_GIL=1 is set. Unset it (or set PYTHON_GIL=0) to run without the GIL."
    if "gil=1" in " ".join(f"{k}={v}" for k, v in getattr(sys, "_xoptions", {}).items()):
        return "Python was started with -X gil=1."
    culprit = system.gil_turned_on_by()
    if culprit:
        return (f"importing {culprit} turned it back on (it has not declared that it can run without the "
                "GIL; Python warned when it was imported). PYTHON_GIL=0 keeps the GIL off anyway, at your risk.")
    return "an extension module imported in this kernel needs it (Python warned when it was imported)."


def build_report(cpu_threads: Sweep | None = None) -> str:
    """Which Python build runs this notebook, whether it has a GIL, and what that means here (lesson 01)."""
    build = system.python_build()
    lines = [f"{build['implementation']} {build['version']} on {build['platform']}"]
    lines.append(f"free-threaded build: {system.free_threaded_build()}; GIL enabled now: {system.gil_enabled()}")
    if build["implementation"] != "CPython":
        lines.append(f"{build['implementation']} is not CPython; PyPy has a GIL too, so the "
                     "CPU-bound thread results above apply to it.")
    elif system.free_threaded_build() and not system.gil_enabled():
        lines.append("This free-threaded build runs without the GIL: threads run Python code on "
                     "several cores at once, and CPU-bound threads can speed up like processes. "
                     + _FREE_THREADING_STATUS)
    elif system.free_threaded_build():
        lines.append("This is a free-threaded build, but the GIL is on again: " + _who_turned_it_on())
    else:
        lines.append("This is a standard build with the GIL. A free-threaded build runs the same cells "
                     "without it; there sys._is_gil_enabled() is False. " + _FREE_THREADING_STATUS)
    if cpu_threads is not None:
        point = point_at_cores(cpu_threads)
        lines.append(f"Measured above, {cpu_threads.label}: "
                     f"{_speedup(point, cpu_threads.metadata.usable_cores, 'thread')}.")
    return "\n".join(lines)
