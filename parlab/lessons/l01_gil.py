"""Measurements for lesson 01 (the GIL); each returns data.

A slow loopback server for real socket I/O, a trace of which worker was running when and
the switch interval's effect, plus the worker counts and fib tasks that lesson 02 uses too.
A plot of the switch interval lives at the end; conclusions are worded from the measured
numbers and the running build, never fixed in advance. Lesson 02's start-up, pickling and
``chunksize`` curves are in ``parlab.lessons.l02_pools``.
"""

from __future__ import annotations

import hmac
import secrets
import socketserver
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

from parlab import system
from parlab.measure import (  # the notebooks call gil.worker_counts, gil.overlap_fraction
    overlap_fraction,
    timing_from,
    worker_counts,
)
from parlab.results import RunResult, Sweep, TaskSpan, Timing, format_speedup
from parlab.run import run_tasks
from parlab.workloads import fib

__all__ = [
    "SlowServer", "SwitchLatency", "build_report", "describe_cpu_threads", "fib_tasks", "gil_timeline",
    "overlap_fraction", "plot_switch_latency", "run_segments", "switch_latency", "worker_counts",
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
        best = max(cpu_threads.points, key=lambda p: p.speedup)
        lines.append(f"Measured above: CPU-bound threads reached {format_speedup(best.speedup)} "
                     f"with {best.workers} threads.")
    return "\n".join(lines)


def describe_cpu_threads(threads: Sweep, processes: Sweep) -> str:
    """The conclusion of lesson 01's CPU-bound sweep, worded from the measurements (lesson 01)."""
    t = max(threads.speedups)
    p = max(processes.speedups)
    meta = threads.metadata
    if meta.usable_cores == 1:
        return (f"Only one usable core: neither threads ({format_speedup(t)}) nor processes "
                f"({format_speedup(p)}) can speed up CPU work here. Try a machine with 2+ cores.")
    if meta.gil_enabled and t < 1.5:
        return (f"Threads did not speed up fib (best {format_speedup(t)}): with the GIL on, only one "
                f"thread runs Python at a time. Processes, each with its own GIL, reached "
                f"{format_speedup(p)}.")
    if meta.gil_enabled:
        return (f"Threads reached {format_speedup(t)} (processes {format_speedup(p)}) although the GIL "
                "is on: unexpected for pure Python. Rerun the sweep: another program may have "
                "slowed the serial run.")
    return (f"The GIL is off in this build: threads reached {format_speedup(t)} and processes "
            f"{format_speedup(p)} on the same CPU-bound work.")


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
