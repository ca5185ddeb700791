"""Lesson 01a: threads written by hand, timed once, and the convoy effect, measured.

``describe_by_hand`` words the one-shot timings of section 2 (``threading.Thread`` and
``ThreadPoolExecutor`` on CPU-bound and on waiting work). The convoy effect (section 7): an
I/O-bound thread that makes many short socket round trips gives up the GIL at each wait and
must get it back afterwards; beside a CPU-bound thread that holds the GIL, each return waits
until the switch interval forces a hand-over, so the round trips take many times as long.
``measure_convoy`` times the round trips alone, beside one CPU-bound thread, and beside it
with a shorter switch interval; ``describe_convoy`` says what that means on this build (on a
free-threaded build with free cores the effect disappears); ``plot_convoy`` draws it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from parlab._checks import check_number, check_whole
from parlab.lessons.l01.words import _GIL_BACK_ON, _python_on_threads
from parlab.lessons.words import SAME_HIGH, SAME_LOW, describe_speedup, regime, unexplained
from parlab.measure import check_same, time_call
from parlab.results import Metadata, Timing, format_seconds
from parlab.slowserver import SlowServer
from parlab.workloads import fib, request_reply

__all__ = ["ConvoyResult", "busy_thread", "describe_beside", "describe_by_hand", "describe_convoy",
           "measure_convoy", "plot_convoy"]

T = TypeVar("T")
CONVOY = 2.0  # round trips taking at least this many times as long beside the CPU-bound thread


def _positive(**seconds: float) -> None:
    for name, value in seconds.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


def describe_by_hand(label: str, serial_s: float, threads_s: float, workers: int, meta: Metadata | None = None,
                     *, waiting: bool = False) -> str:
    """One-shot timings of section 2 (serial loop vs the same work on threads), worded for the build (lesson 01a)."""
    _positive(serial_s=serial_s, threads_s=threads_s)
    meta = meta or Metadata.here()
    speedup = serial_s / threads_s
    cores = meta.usable_cores
    noun = "thread" if workers == 1 else "threads"
    head = (f"{label}: serial {format_seconds(serial_s)}, on {workers} {noun} {format_seconds(threads_s)}; "
            + describe_speedup(speedup, workers, cores, waiting=waiting, what=noun) + ".")
    kind = regime(speedup, workers, cores, waiting=waiting)
    if not waiting:
        return f"{head} {_python_on_threads(kind, meta)}"
    if kind in ("near-ideal", "below-ideal", "superlinear", "above-ideal"):
        why = ("While a thread waits for the server it holds no GIL and needs no core: the waits "
               "overlapped.")
    else:
        why = ("Unexpected for waiting tasks, which let go of the GIL in every build: "
               + unexplained(None, cores) + ". Run the cell again.")
    return f"{head} {why}"


# --------------------------------------------------------------------------- the convoy effect

def busy_thread(call: Callable[[], T], *, interval_s: float | None = None) -> T:
    """Run ``call()`` while one other thread computes fib in pure Python (lesson 01a).

    ``interval_s`` sets the switch interval meanwhile; the previous one is restored after.
    """
    if interval_s is not None:
        interval_s = check_number("interval_s", interval_s, 1e-5, 1.0, what="seconds, or None")
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            fib(15)  # pure Python: with the GIL on, it holds the GIL until asked to let go

    previous = sys.getswitchinterval()
    thread = threading.Thread(target=spin, name="parlab-cpu-bound", daemon=True)
    if interval_s is not None:
        sys.setswitchinterval(interval_s)
    try:
        thread.start()
        return call()
    finally:
        stop.set()
        thread.join(10)
        sys.setswitchinterval(previous)


@dataclass(frozen=True)
class ConvoyResult:
    """Round trips timed alone, beside a CPU-bound thread, and beside it with a shorter switch interval (lesson 01a)."""

    trips: int
    alone: Timing
    beside: Timing
    beside_short: Timing
    interval_s: float
    short_interval_s: float
    metadata: Metadata

    @property
    def ratio(self) -> float:
        """How many times as long the round trips took beside the CPU-bound thread (medians)."""
        return self.beside.median / self.alone.median

    @property
    def short_ratio(self) -> float:
        """The same with the shorter switch interval."""
        return self.beside_short.median / self.alone.median


def measure_convoy(trips: int = 20, *, repeats: int = 3, short_interval_s: float = 0.001,
                   delay_s: float = 0.0001) -> ConvoyResult:
    """Time ``trips`` round trips to a SlowServer alone and beside one CPU-bound thread (lesson 01a).

    Every run's replies are checked against the expected ones. The server answers after
    ``delay_s``; its handler threads run in this process too.
    """
    trips, repeats = check_whole("trips", trips, 1, 1000), check_whole("repeats", repeats, 1)
    short_interval_s = check_number("short_interval_s", short_interval_s, 1e-5, 1.0, what="seconds")
    interval = sys.getswitchinterval()
    with SlowServer(delay_s=delay_s) as server:
        tasks = server.tasks(trips)
        expected = [f"reply to {message}" for _, _, message in tasks]

        def round_trips() -> None:
            check_same(expected, [request_reply(*task) for task in tasks], "the round trips")

        def timed() -> Timing:
            return time_call(round_trips, repeats=repeats, warmup=1)

        alone = timed()
        beside = busy_thread(timed)
        beside_short = busy_thread(timed, interval_s=short_interval_s)
    return ConvoyResult(trips, alone, beside, beside_short, interval, short_interval_s, Metadata.here())


def _times(ratio: float) -> str:
    if ratio > SAME_HIGH:
        return f"{ratio:.2f} times as long as alone"
    if ratio >= SAME_LOW:
        return f"about as long as alone ({ratio:.2f} times)"
    return f"less time than alone ({ratio:.2f} times as long)"


def describe_convoy(result: ConvoyResult) -> str:
    """What the round trips did beside a CPU-bound thread, and the switch interval's part, here (lesson 01a)."""
    meta = result.metadata
    ms = f"{1000 * result.interval_s:g} ms"
    short_ms = f"{1000 * result.short_interval_s:g} ms"
    lines = [(f"{result.trips} round trips alone: {format_seconds(result.alone.median)}; beside one "
              f"CPU-bound thread: {format_seconds(result.beside.median)} with the {ms} switch interval, "
              f"{_times(result.ratio)}; {format_seconds(result.beside_short.median)} with {short_ms}, "
              f"{_times(result.short_ratio)} (medians of {len(result.alone.values)}).")]
    convoy = result.ratio >= CONVOY
    if meta.gil_enabled:
        back = _GIL_BACK_ON + " " if meta.free_threaded else ""
        if convoy:
            lines.append(back + "The convoy effect: at every wait the I/O thread lets go of the GIL, and "
                         "to go on it must get it back from the CPU-bound thread, which lets go only "
                         "when the switch interval is up. Each of the many short waits grows by up to "
                         "one interval.")
            if result.short_ratio < result.ratio / SAME_HIGH:
                share = result.beside_short.median / result.beside.median
                lines.append(f"A {short_ms} interval shortened the stalls ({share:.2f} times the time "
                             f"with {ms}), at the price of more hand-overs for the thread that computes.")
            else:
                lines.append(f"A {short_ms} interval did not shorten the stalls this time: "
                             + unexplained(None, meta.usable_cores) + ". Run the cell again.")
        elif meta.usable_cores == 1:
            lines.append(back + "With the GIL on, the round trips should wait for the CPU-bound thread; "
                         "with one usable core the operating system's turns decide as much. Run the "
                         "cell again.")
        else:
            lines.append(back + "Unexpected with the GIL on, where the I/O thread must win the GIL back "
                         "after every wait: run the cell again.")
    elif meta.usable_cores == 1:
        lines.append("No GIL in this build, but one usable core: the two threads share it, so the "
                     "operating system's turns can stall the round trips much as the GIL would.")
    elif not convoy:
        lines.append("No GIL in this build: the I/O thread does not wait for the CPU-bound one, which "
                     "runs on another core, so the convoy effect disappears.")
    else:
        lines.append("No GIL in this build, yet the round trips stalled: "
                     + unexplained(None, meta.usable_cores) + ". Run the cell again.")
    return "\n".join(lines)


def describe_beside(trips: int, alone_s: float, beside_s: float, meta: Metadata | None = None) -> str:
    """One-shot round trips alone and beside one CPU-bound thread (the convoy cell's plain code) (lesson 01a)."""
    _positive(alone_s=alone_s, beside_s=beside_s)
    meta = meta or Metadata.here()
    ratio = beside_s / alone_s
    head = (f"{trips} round trips: alone {format_seconds(alone_s)}, beside one CPU-bound thread "
            f"{format_seconds(beside_s)}: {_times(ratio)}.")
    if ratio >= CONVOY and meta.gil_enabled:
        return head + " With the GIL on, every wait ends with a wait for the GIL: the next cells measure why."
    if ratio >= CONVOY:
        return head + " Without a GIL that is unexpected on free cores: the next cells measure it again."
    if meta.gil_enabled:
        return head + " Less of a stall than usual with the GIL on: the next cells measure it again."
    return head + " No GIL in this build: the I/O thread did not wait for the CPU-bound one."


def plot_convoy(result: ConvoyResult, ax: Any = None) -> Any:
    """Bars: the round trips' median time alone and beside a CPU-bound thread at two switch intervals (lesson 01a)."""
    from parlab.plot import new_axes

    ax = new_axes(ax)
    labels = ["alone", f"beside a CPU-bound\nthread ({1000 * result.interval_s:g} ms)",
              f"beside it, switch\ninterval {1000 * result.short_interval_s:g} ms"]
    timings: Sequence[Timing] = (result.alone, result.beside, result.beside_short)
    ax.bar(labels, [1000 * t.median for t in timings], color=["tab:green", "tab:red", "tab:orange"])
    ax.set_ylabel("milliseconds (median)")
    ax.set_title(f"{result.trips} socket round trips")
    ax.grid(axis="y", alpha=0.3)
    return ax
