"""Measurements for lesson 01 (the GIL); each returns data.

A slow loopback server for real socket I/O, a trace of which worker was running when and
the switch interval's effect, plus the worker counts and fib tasks that lesson 02 uses too.
The conclusion writers (``describe_*``, ``build_report``) word every printed conclusion of
the lesson from the measured numbers and the build they were measured on, never fixed in
advance; ``single_thread_cost`` times one thread on a free-threaded build against the GIL
build of the same version, when one is on PATH. A plot of the switch interval lives at the
end. Lesson 02's start-up, pickling and ``chunksize`` curves are in ``parlab.lessons.l02_pools``.
"""

from __future__ import annotations

import hmac
import inspect
import os
import platform
import secrets
import shutil
import socketserver
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from parlab import launch, system
from parlab.lessons.conclude import (
    SAME_HIGH,
    SAME_LOW,
    describe_speedup,
    point_at_cores,
    regime,
    spread_warning,
)
from parlab.measure import (  # the notebooks call gil.worker_counts, gil.overlap_fraction
    overlap_fraction,
    time_call,
    timing_from,
    worker_counts,
)
from parlab.results import (
    Metadata,
    RunResult,
    Sweep,
    SweepPoint,
    TaskSpan,
    Timing,
    format_seconds,
    format_speedup,
)
from parlab.run import run_tasks
from parlab.workloads import fib

__all__ = [
    "PUBLISHED_OVERHEAD", "SingleThreadCost", "SlowServer", "SwitchLatency", "build_report",
    "describe_cpu_threads", "describe_gil_release", "describe_overlap", "describe_python_threads",
    "describe_single_thread_cost", "describe_small_buffers", "describe_switch_latency",
    "describe_waiting", "fib_tasks", "find_gil_build", "gil_timeline", "overlap_fraction",
    "plot_switch_latency", "run_segments", "single_thread_cost", "switch_latency",
    "time_fib_in", "worker_counts",
]

GAP_S = 0.0005  # a pause this long in a spinning worker means it was not running


def fib_tasks(n: int, count: int = 12) -> list[int]:
    """``count`` copies of the fib size ``n``: 12 splits evenly over 1, 2, 3, 4 and 6 workers (lessons 01, 02)."""
    if not 1 <= n <= 35 or count < 1:
        raise ValueError(f"n must be 1..35 and count >= 1, got n={n!r}, count={count!r}")
    return [n] * count


# --------------------------------------------------------------------------- real socket I/O

class _SlowHandler(socketserver.StreamRequestHandler):
    timeout = 10  # a client that never sends cannot hold a handler thread for ever

    def handle(self) -> None:
        line = self.rfile.readline(4096).decode(errors="replace").rstrip("\n")
        key, _, message = line.partition(" ")
        owner: SlowServer = self.server.owner  # type: ignore[attr-defined]
        if not hmac.compare_digest(key.encode(), owner.key.encode()):
            return  # no reply: the client reports the refusal
        time.sleep(owner.delay_s)  # the "remote" work: the client waits in recv meanwhile
        self.wfile.write(f"reply to {message}\n".encode())


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connect at once; a full backlog would stall them


class SlowServer:
    """A loopback server that answers each keyed request after ``delay_s``, like a slow remote service (lesson 01)."""

    def __init__(self, delay_s: float = 0.01) -> None:
        if not 0 < delay_s <= 5:
            raise ValueError(f"delay_s must be a number of seconds in (0, 5], got {delay_s!r}")
        self.delay_s = float(delay_s)
        self.key = secrets.token_hex(16)  # only requests that carry it get an answer
        self._server = _Server(("127.0.0.1", 0), _SlowHandler)
        self._server.owner = self  # type: ignore[attr-defined]
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="parlab-slow-server", daemon=True)
        self._thread.start()

    def tasks(self, count: int) -> list[tuple[int, str, str]]:
        """``count`` requests for ``workloads.request_reply`` (use ``star=True``)."""
        return [(self.port, self.key, f"request {i}") for i in range(count)]

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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
    """Spin ``workers`` workers at once; one bar per stretch in which a worker really ran (lesson 01)."""
    run = run_tasks(run_segments, [duration_s] * workers, backend=backend, workers=workers,
                    start_method=start_method, warn=False, timeout=60)
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
    if not 1e-5 <= interval_s <= 1.0:
        raise ValueError(f"interval_s must be between 1e-05 and 1 second, got {interval_s!r}")
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


def _python_on_threads(kind: str, meta: Metadata) -> str:
    """Why pure-Python work on threads gave a speedup of regime ``kind`` on this build."""
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
                "the serial run was probably slowed by other programs. Run the cell again.")
    if kind in ("near-ideal", "superlinear"):
        return "There is no GIL in this build: the threads ran Python on several cores at once."
    if kind == "below-ideal":
        return ("There is no GIL in this build: the threads ran at the same time, but not for all "
                "of the run. Run the cell again to see whether other programs were using the cores.")
    return ("Unexpected without a GIL, where threads can run Python on several cores at once: "
            "other programs may have been using the cores. Run the cell again.")


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
    elif ratio <= SAME_HIGH:
        tail = "no faster than with {k}: CPU work gains nothing from more workers than cores."
    else:
        tail = ("faster than with {k}, although CPU work cannot gain from more workers than "
                "cores: the run with {k} was probably slowed by other programs. Run the cell again.")
    return [f"{head}, " + tail.format(k=at.workers)]


def describe_python_threads(sweep: Sweep, point: SweepPoint | None = None) -> str:
    """Pure-Python work on threads (``point``: default the one at the core count), worded for the build (lesson 01)."""
    meta = sweep.metadata
    point = point or point_at_cores(sweep)
    lines = [f"{sweep.label}: {_speedup(point, meta.usable_cores, 'thread')}.",
             _python_on_threads(_regime(point, meta.usable_cores), meta)]
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
        line += (" Processes run on separate cores whatever the build: other programs were "
                 "probably using the cores. Run the cell again.")
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
        line += (" Unexpected for waiting tasks, which let go of the GIL in every build: other "
                 "programs may have been using the cores. Run the cell again.")
    return " ".join([line, *_spread(top)])


def describe_overlap(overlaps: Mapping[str, float], cores: int, *, gil_enabled: bool) -> str:
    """How much of the spinning timeline two threads, and two processes, ran at once (lesson 01)."""
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
                         "only part of the run: other programs were probably using the cores. "
                         "Run the cell again.")
    if "processes" in overlaps:
        if overlaps["processes"] >= 0.5:
            lines.append("The processes ran at the same time, on separate cores.")
        else:
            lines.append("The processes overlapped little this time, although each has its own "
                         "GIL: other programs were probably using the cores. Run the cell again.")
    return "\n".join(lines)


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
                     + ": other programs were probably using the cores. Run the cells again.")
    elif meta.gil_enabled and not fib_scaled:
        lines.append(("" if not meta.free_threaded else _GIL_BACK_ON + " ")
                     + "Both scaled where pure-Python fib did not: the C code let go of the GIL "
                     "while it worked, so the threads ran it at the same time.")
    elif meta.gil_enabled:
        lines.append("Both scaled, and so did fib, although the GIL was on: the fib measurement "
                     "was probably disturbed by other programs. Run section 3 again.")
    elif fib_scaled:
        lines.append("Without the GIL, pure-Python fib scaled on threads too: in this build every "
                     "thread runs on its own core whether its code lets go of a GIL or not.")
    else:
        lines.append("Both scaled, but fib on threads did not, although this build has no GIL: "
                     "other programs may have been using the cores then. Run section 3 again.")
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
                       "the serial run was probably slowed by other programs. Run the cell again.")
    elif kind in _SCALED:
        reason = "No GIL in this build: the threads hashed the small buffers at the same time."
    else:
        reason = ("Unexpected without a GIL, where the threads can hash at the same time: other "
                  "programs may have been using the cores. Run the cell again.")
    return " ".join([line, reason, *_spread(top)])


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
                     "several cores at once, and CPU-bound threads can speed up like processes.")
    elif system.free_threaded_build():
        lines.append("This is a free-threaded build, but the GIL is on again: PYTHON_GIL=1 or "
                     "-X gil=1 was set, or an extension module that needs the GIL was imported.")
    else:
        lines.append("This is a standard build with the GIL. A free-threaded build (3.13t or "
                     "later) runs the same cells without it; there sys._is_gil_enabled() is False.")
    if cpu_threads is not None:
        point = point_at_cores(cpu_threads)
        lines.append(f"Measured above, {cpu_threads.label}: "
                     f"{_speedup(point, cpu_threads.metadata.usable_cores, 'thread')}.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- one thread, two builds

PUBLISHED_OVERHEAD = (
    "For context, the Python documentation puts the free-threaded build's extra cost on "
    "single-threaded code at about 40% in 3.13 (the free-threading HOWTO, on the pyperformance "
    "suite) and at roughly 5-10% in 3.14, depending on the platform and C compiler (What's New "
    "in Python 3.14); code that spends its time in C or waiting loses less.")

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
    if not 1 <= n <= 35 or repeats < 1:
        raise ValueError(f"n must be 1..35 and repeats >= 1, got n={n!r}, repeats={repeats!r}")
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
        verdict = (f"less time on the free-threaded build this time ({ratio:.2f} times as long): "
                   "unexpected. Run the cell again.")
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
