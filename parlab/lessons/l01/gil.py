"""Measurements for lesson 01a (the GIL); each returns data.

A trace of which worker was running when and the switch interval's effect. (The slow
loopback server is ``parlab.slowserver``; the fib tasks are ``parlab.workloads.fib_tasks``.)
The conclusion writers (``describe_*``, ``build_report``) live in ``l01_words`` and are
re-exported here: they word every printed conclusion of the lesson from the measured numbers
and the build they were measured on, never fixed in advance. ``single_thread_cost`` times
one thread on a free-threaded build against the GIL build of the same version, when one is
on PATH. A plot of the switch interval lives at the end. Lesson 02's start-up, pickling and
``chunksize`` curves are in ``parlab.lessons.l02.pools``.
"""

from __future__ import annotations

import inspect
import os
import platform
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parlab import launch, system
from parlab._checks import check_number, check_whole
from parlab.lessons.l01.words import (  # re-exported: the notebooks call gil.describe_*
    build_report,
    describe_cpu_threads,
    describe_gil_release,
    describe_overlap,
    describe_python_threads,
    describe_small_buffers,
    describe_waiting,
)
from parlab.lessons.words import SAME_HIGH, SAME_LOW
from parlab.measure import (  # the notebooks call gil.worker_counts, gil.overlap_fraction
    overlap_fraction,
    time_call,
    timing_from,
    worker_counts,
)
from parlab.results import RunResult, TaskSpan, Timing, format_seconds
from parlab.run import WorkerPool
from parlab.workloads import fib

__all__ = [
    "PUBLISHED_OVERHEAD", "SingleThreadCost", "SwitchLatency", "build_report",
    "describe_cpu_threads", "describe_gil_release", "describe_overlap", "describe_python_threads",
    "describe_single_thread_cost", "describe_small_buffers", "describe_switch_latency",
    "describe_waiting", "find_gil_build", "gil_timeline", "overlap_fraction",
    "plot_switch_latency", "run_segments", "single_thread_cost", "switch_latency",
    "time_fib_in", "worker_counts",
]

GAP_S = 0.0005  # a pause this long in a spinning worker means it was not running


# --------------------------------------------------------------------------- who ran when

def run_segments(duration_s: float, gap_s: float = GAP_S) -> list[tuple[float, float]]:
    """Spin for ``duration_s`` and return the stretches (perf_counter times) this worker really ran (lesson 01)."""
    segments = []
    start = last = time.perf_counter()
    deadline = start + duration_s
    while last < deadline:
        now = time.perf_counter()
        if now - last > gap_s:  # we were paused: waiting for the GIL, or for a core
            segments.append((start, last))
            start = now
        last = now
    segments.append((start, last))
    return segments


def gil_timeline(backend: str, workers: int = 2, duration_s: float = 0.1,
                 start_method: str | None = None) -> RunResult:
    """Spin ``workers`` workers at once; one bar per stretch in which a worker really ran (lesson 01).

    The pool spins once before the recorded run: workers fresh from a fork or a spawn sleep
    until their first task, and the operating system may first wake them on one core and
    spread them over the cores only some milliseconds later, which a 0.1 s trace would show
    as processes taking turns on an idle machine.
    """
    with WorkerPool(backend, workers, start_method=start_method, warn=False) as pool:
        pool.map(run_segments, [duration_s] * workers, timeout=60)  # the warm-up: workers spread out
        run = pool.map(run_segments, [duration_s] * workers, timeout=60)
    t0 = min(start for segments in run.results for start, _ in segments)
    spans: list[TaskSpan] = []
    for task in run.timeline:
        for start, end in run.results[task.task]:
            spans.append(TaskSpan(len(spans), task.worker, start - t0, end - t0))
    wall = max(span.end for span in spans)
    return RunResult(run.results, spans, wall, run.backend, run.workers, run.start_method,
                     run.startup_s, run.worker_ids)


# --------------------------------------------------------------------------- the switch interval

@dataclass(frozen=True)
class SwitchLatency:
    """How late a thread waking from sleep got to run while another thread computed (lesson 01)."""

    interval_s: float
    lateness: Timing


def switch_latency(interval_s: float, busy_s: float = 0.2, tick_s: float = 0.001) -> SwitchLatency:
    """Compute in this thread for ``busy_s`` while another thread sleeps ``tick_s`` again and again (lesson 01).

    The sleeper must get the GIL back after each sleep; with the GIL on, the computing thread
    is asked to let go only after the switch interval, so the lateness follows the interval.
    """
    interval_s = check_number("interval_s", interval_s, 1e-5, 1.0, what="seconds")
    late: list[float] = []
    stop = threading.Event()

    def sleeper() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            time.sleep(tick_s)
            late.append(time.perf_counter() - t0 - tick_s)

    previous = sys.getswitchinterval()
    thread = threading.Thread(target=sleeper, name="parlab-sleeper", daemon=True)
    sys.setswitchinterval(interval_s)
    try:
        thread.start()
        deadline = time.perf_counter() + busy_s
        while time.perf_counter() < deadline:
            fib(15)  # pure Python: holds the GIL until asked to let go
    finally:
        stop.set()
        thread.join(5)
        sys.setswitchinterval(previous)  # the rest of the notebook runs with the usual setting
    return SwitchLatency(interval_s, timing_from(late or [0.0]))


def describe_switch_latency(results: Sequence[SwitchLatency], *, gil_enabled: bool, cores: int) -> str:
    """Whether the waking thread's lateness followed the switch interval, worded for the build (lesson 01)."""
    if len(results) < 2:
        raise ValueError("need switch-latency results for at least two intervals")
    short, long = min(results, key=lambda r: r.interval_s), max(results, key=lambda r: r.interval_s)
    numbers = (f"median lateness {1000 * short.lateness.median:.2f} ms with a "
               f"{1000 * short.interval_s:g} ms interval, {1000 * long.lateness.median:.2f} ms with "
               f"{1000 * long.interval_s:g} ms")
    followed = long.lateness.median > 2 * short.lateness.median
    if gil_enabled and followed:
        return (f"A longer switch interval made the waiting thread wait longer ({numbers}): it "
                "gets the GIL only when the computing thread is asked to let go.")
    if gil_enabled:
        return (f"The lateness barely followed the interval this time ({numbers}), although with "
                "the GIL on it should: a busy machine delays the sleeper too. Run the cell again.")
    if not followed:
        return (f"No GIL in this build: the lateness did not follow the interval ({numbers}); the "
                "sleeper does not wait for the computing thread to let go.")
    if cores == 1:
        return (f"No GIL in this build, yet the lateness followed the interval ({numbers}): with one "
                "usable core the two threads share it, and the operating system decides who runs.")
    return (f"No GIL in this build, yet the lateness followed the interval ({numbers}): "
            "unexpected. Run the cell again.")



# --------------------------------------------------------------------------- one thread, two builds

PUBLISHED_OVERHEAD = (
    "For context, the Python documentation puts the free-threaded build's extra cost on "
    "single-threaded code at about 40% in 3.13, where free threading was experimental (the "
    "free-threading HOWTO, on the pyperformance suite), and at roughly 5-10% in 3.14, where it "
    "is supported (PEP 779), depending on the platform and C compiler (What's New in Python "
    "3.14); code that spends its time in C or waiting loses less.")

# Run by the other build with the standard library alone (``-I``: no site-packages, no PYTHON*
# variables): parlab's own fib, its source copied, timed as in this kernel.
_TIMER = """\
import json, platform, sys, sysconfig, time
@FIB@
n, repeats = int(sys.argv[1]), int(sys.argv[2])
fib(n)
seconds = []
for _ in range(repeats):
    t0 = time.perf_counter()
    fib(n)
    seconds.append(time.perf_counter() - t0)
print(json.dumps({"version": platform.python_version(),
                  "implementation": platform.python_implementation(),
                  "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
                  "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
                  "seconds": seconds}))
"""


@dataclass(frozen=True)
class SingleThreadCost:
    """fib(n) on one thread in this kernel and, where one was found, in the GIL build of the same version (lesson 01).

    ``here`` is None on a build with the GIL (nothing to compare); ``other`` is None where no
    GIL build was found or it failed, and ``note`` then says why.
    """

    n: int
    version: str
    free_threaded: bool
    gil_enabled: bool
    here: Timing | None = None
    other: Timing | None = None
    other_executable: str | None = None
    other_version: str | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times as long one thread took here as in the GIL build (median over median)."""
        if self.here is None or self.other is None:
            return None
        return self.here.median / self.other.median


def time_fib_in(executable: str, n: int = 25, repeats: int = 7, timeout: float = 60) -> dict[str, Any]:
    """Time fib(n) ``repeats`` times in a child ``executable``, standard library only (lesson 01).

    Returns what the child reports: version, implementation, free_threaded, gil_enabled and
    seconds. Raises ``launch.ChildFailed``, ``launch.ChildTimeout`` or ValueError.
    """
    n, repeats = check_whole("n", n, 1, 35), check_whole("repeats", repeats, 1)
    script = _TIMER.replace("@FIB@", inspect.getsource(fib))
    done = launch.run([executable, "-I", "-c", script, str(n), str(repeats)], timeout=timeout)
    info = launch.json_result(done)
    if not isinstance(info, dict) or not info.get("seconds"):
        raise ValueError(f"{executable} did not report its timings: {info!r}")
    return info


def find_gil_build(version: str | None = None, *, timeout: float = 30) -> tuple[str | None, str]:
    """The first ``pythonX.Y`` on PATH that is a GIL build of this version, and a note on the search (lesson 01).

    Each candidate is asked what it is (a child, argument list, timeout); a free-threaded one
    (a venv's ``python3.13`` may point at ``python3.13t``) or one that fails is skipped.
    """
    major, minor = (version or platform.python_version()).split(".")[:2]
    name = f"python{major}.{minor}"
    seen: set[str] = set()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        found = shutil.which(name, path=folder) if folder else None
        if found is None or os.path.realpath(found) in seen:
            continue
        seen.add(os.path.realpath(found))
        if os.path.realpath(found) == os.path.realpath(sys.executable) or len(seen) > 5:
            continue
        try:
            info = time_fib_in(found, 1, 1, timeout=timeout)
        except (launch.ChildFailed, launch.ChildTimeout, OSError, ValueError):
            continue
        if not info.get("free_threaded") and str(info.get("version", "")).startswith(f"{major}.{minor}."):
            return found, f"{name} at {found}"
    return None, f"no standard (GIL) build named {name} was found on PATH"


def single_thread_cost(n: int = 25, repeats: int = 7, timeout: float = 60) -> SingleThreadCost:
    """On a free-threaded build: fib(n) on one thread here and in the GIL build of this version, if found (lesson 01).

    On a build with the GIL nothing is measured: there is no free-threaded build to compare.
    """
    build = system.python_build()
    version, free, gil_on = str(build["version"]), bool(build["free_threaded"]), bool(build["gil_enabled"])
    if not free:
        return SingleThreadCost(n, version, free, gil_on, note="this is a standard build with the GIL")
    here = time_call(lambda: fib(n), repeats=repeats, warmup=1)
    executable, note = find_gil_build(version, timeout=timeout)
    if executable is None:
        return SingleThreadCost(n, version, free, gil_on, here, note=note)
    try:
        info = time_fib_in(executable, n, repeats, timeout=timeout)
    except (launch.ChildFailed, launch.ChildTimeout, OSError, ValueError) as exc:
        return SingleThreadCost(n, version, free, gil_on, here, note=f"{executable} failed: {exc}")
    return SingleThreadCost(n, version, free, gil_on, here, timing_from(info["seconds"]), executable,
                            str(info["version"]), note)


def describe_single_thread_cost(cost: SingleThreadCost) -> str:
    """How much longer one thread took on the free-threaded build, measured, with the published figure (lesson 01)."""
    if not cost.free_threaded:
        return ("Not measured here: this notebook runs on a standard build with the GIL, so there is "
                "no free-threaded build to compare with. Run it on a free-threaded build (python3.13t "
                "or later) with the standard build of the same version on PATH, and this cell times "
                f"fib({cost.n}) on one thread in both.\n" + PUBLISHED_OVERHEAD)
    state = "GIL on again" if cost.gil_enabled else "GIL off"
    if cost.here is None or cost.other is None or cost.ratio is None:
        mine = f" (fib({cost.n}) took {format_seconds(cost.here.median)} here)" if cost.here else ""
        return (f"Not compared here{mine}: {cost.note}. With a working standard build of Python "
                f"{'.'.join(cost.version.split('.')[:2])} on PATH, this cell measures the cost.\n"
                + PUBLISHED_OVERHEAD)
    ratio = cost.ratio
    head = (f"fib({cost.n}) on one thread, median of {len(cost.here.values)}: "
            f"{format_seconds(cost.here.median)} in this free-threaded CPython {cost.version} ({state}), "
            f"{format_seconds(cost.other.median)} in the standard build {cost.other_version} "
            f"({cost.other_executable})")
    if ratio > SAME_HIGH:
        verdict = f"single-threaded code took {ratio:.2f} times as long on the free-threaded build."
    elif ratio >= SAME_LOW:
        verdict = f"about the same time on both builds ({ratio:.2f} times as long here)."
    else:
        verdict = (f"less time on the free-threaded build this time ({ratio:.2f} times as long), the "
                   "opposite of the published figures below. Both are medians of a few runs of one "
                   "small function; a larger program shows the cost more fairly.")
    return f"{head}: {verdict}\n{PUBLISHED_OVERHEAD}"

# --------------------------------------------------------------------------- the plot of the above

def plot_switch_latency(results: Sequence[SwitchLatency], ax: Any = None) -> Any:
    """Median lateness of the waking thread per switch interval, beside the interval itself (lesson 01)."""
    from parlab.plot import new_axes

    ax = new_axes(ax)
    labels = [f"{1000 * r.interval_s:g} ms" for r in results]
    ax.bar(labels, [1000 * r.lateness.median for r in results], color="tab:orange",
           label="measured: how late the waking thread ran (median)")
    ax.hlines([1000 * r.interval_s for r in results], [i - 0.4 for i in range(len(results))],
              [i + 0.4 for i in range(len(results))], colors="black", linestyles="--",
              label="the switch interval")
    top = max([1000 * r.lateness.median for r in results] + [1000 * r.interval_s for r in results])
    ax.set_ylim(0, 1.4 * top)  # room for the legend above the bars
    ax.set_xlabel("sys.setswitchinterval(...)")
    ax.set_ylabel("milliseconds")
    ax.set_title("A waking thread waits for the computing thread to let go")
    ax.legend(fontsize="small", loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    return ax
