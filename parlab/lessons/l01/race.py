"""Measurements for lesson 01b (threads in practice), section 2: a race that loses updates, and its lock.

``counter.value = add_one(counter.value)`` reads, calls and writes: a thread paused at the
call (the interpreter hands the GIL over at calls and loop jumps) later writes a stale
value, and the other threads' updates since its read are lost. ``race`` counts with several
threads without and with a ``threading.Lock`` and keeps every final count and the times;
``describe_race`` words the conclusion from those numbers, ``plot_race`` draws them.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from parlab._checks import check_size, check_timeout
from parlab.lessons.words import SAME_HIGH, SAME_LOW
from parlab.measure import time_call
from parlab.plot import new_axes
from parlab.results import Timing, format_speedup

__all__ = ["Counter", "RaceResult", "add_one", "bump", "bump_locked", "describe_race", "plot_race", "race"]

JOIN_TIMEOUT_S = 60.0  # every join waits at most this long


class Counter:
    """A shared counter: ``value`` is read and written by every thread (lesson 01b)."""

    def __init__(self) -> None:
        self.value = 0


def add_one(value: int) -> int:
    """Return ``value + 1``: a call between the read and the write, where a thread can be paused (lesson 01b)."""
    return value + 1


def bump(counter: Counter, times: int) -> None:
    """Add one ``times`` times by read, add, write, with no lock: loses updates on several threads (lesson 01b)."""
    for _ in range(times):
        counter.value = add_one(counter.value)


def bump_locked(counter: Counter, times: int, lock: threading.Lock) -> None:
    """The same as ``bump``, the read, add and write held together by ``lock`` (lesson 01b)."""
    for _ in range(times):
        with lock:
            counter.value = add_one(counter.value)


def _count(workers: int, times: int, lock: threading.Lock | None) -> int:
    """``workers`` threads bump one counter ``times`` times each, started together; the final count."""
    counter = Counter()
    start = threading.Barrier(workers)

    def work() -> None:
        start.wait(JOIN_TIMEOUT_S)  # all threads at the line before any counts
        if lock is None:
            bump(counter, times)
        else:
            bump_locked(counter, times, lock)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_S)
    if any(t.is_alive() for t in threads):
        raise TimeoutError(f"a counting thread was still running after {JOIN_TIMEOUT_S:g} s")
    return counter.value


@dataclass(frozen=True)
class RaceResult:
    """Final counts of ``tries`` runs without and with a lock, and their times (lesson 01b)."""

    workers: int
    times: int
    unlocked: tuple[int, ...]
    locked: tuple[int, ...]
    unlocked_timing: Timing
    locked_timing: Timing

    @property
    def expected(self) -> int:
        return self.workers * self.times

    @property
    def lost(self) -> tuple[int, ...]:
        """Updates lost in each run without the lock."""
        return tuple(self.expected - got for got in self.unlocked)

    @property
    def lost_locked(self) -> tuple[int, ...]:
        """Updates lost in each run with the lock: all zero."""
        return tuple(self.expected - got for got in self.locked)


def race(workers: int, times: int = 100_000, tries: int = 3,
         switch_interval_s: float | None = None) -> RaceResult:
    """Count with ``workers`` threads ``tries`` times without a lock, then with one (lesson 01b).

    ``switch_interval_s`` sets ``sys.setswitchinterval`` for the runs (restored after):
    shorter intervals switch threads more often, and lose more updates.
    """
    workers = check_size("workers", workers, 64)
    times = check_size("times", times, 10_000_000)
    tries = check_size("tries", tries, 20)
    old = sys.getswitchinterval()
    if switch_interval_s is not None:
        sys.setswitchinterval(check_timeout(switch_interval_s, "switch_interval_s"))
    try:
        unlocked: list[int] = []
        locked: list[int] = []
        lock = threading.Lock()
        unlocked_timing = time_call(lambda: unlocked.append(_count(workers, times, None)), repeats=tries, warmup=0)
        locked_timing = time_call(lambda: locked.append(_count(workers, times, lock)), repeats=tries, warmup=0)
    finally:
        sys.setswitchinterval(old)
    return RaceResult(workers, times, tuple(unlocked), tuple(locked), unlocked_timing, locked_timing)


def describe_race(results: Sequence[RaceResult]) -> str:
    """How many updates each thread count lost, that the lock lost none, and what it cost (lesson 01b)."""
    if not results:
        raise ValueError("results must hold at least one RaceResult")
    lines = []
    for r in results:
        worst = max(r.lost)
        head = f"{r.workers} thread{'s' if r.workers > 1 else ''} × {r.times:,}: "
        if worst == 0 and r.workers == 1:
            lines.append(head + "nothing lost: one thread has nobody to race with.")
        elif worst == 0:
            lines.append(head + f"nothing lost in {len(r.lost)} tries this time: no thread happened to be "
                         "paused between its read and its write. The code is still wrong; run the cell again.")
        else:
            lines.append(head + f"lost up to {worst:,} of {r.expected:,} updates ({worst / r.expected:.0%}), "
                         f"in {sum(1 for n in r.lost if n)} of {len(r.lost)} tries.")
    bad = [r for r in results if any(r.lost_locked)]
    if bad:
        lines.append(f"With the lock, {bad[0].workers} threads still lost updates: the lock was not shared.")
    else:
        lines.append("With the lock, every run counted exactly right.")
    many = [r for r in results if r.workers > 1 and any(r.lost)]
    if len(many) >= 2 and max(many[-1].lost) > max(many[0].lost):
        lines.append(f"More threads lost more ({many[0].workers} threads: up to {max(many[0].lost):,}; "
                     f"{many[-1].workers}: up to {max(many[-1].lost):,}): each pause between read and "
                     "write throws away what the other threads counted meanwhile, and more threads "
                     "mean more pauses.")
    top = results[-1]
    cost = top.locked_timing.median / top.unlocked_timing.median
    if cost > SAME_HIGH:
        lines.append(f"The lock's price on {top.workers} threads: {format_speedup(cost)} the time without it "
                     "(acquire and release on every update, and threads waiting for each other).")
    elif cost < SAME_LOW:
        lines.append(f"On {top.workers} threads the locked run was even faster this time "
                     f"({format_speedup(cost)} the time): with fewer interruptions the threads passed the "
                     "lock in long turns. Correct and fast here, but a lock is never free.")
    else:
        lines.append(f"On {top.workers} threads the lock cost little this time ({format_speedup(cost)} the time).")
    return "\n".join(lines)


def plot_race(results: Sequence[RaceResult], ax: Any = None) -> Any:
    """Bars: the share of updates lost per thread count, without and with the lock (lesson 01b)."""
    ax = new_axes(ax, figsize=(6.0, 3.0))
    xs = list(range(len(results)))
    lost = [max(r.lost) / r.expected * 100 for r in results]
    lost_locked = [max(r.lost_locked) / r.expected * 100 for r in results]
    ax.bar([x - 0.2 for x in xs], lost, width=0.4, label="no lock", color="tab:red")
    ax.bar([x + 0.2 for x in xs], lost_locked, width=0.4, label="with a Lock", color="tab:green")
    ax.set_xticks(xs, [str(r.workers) for r in results])
    ax.set_xlabel("threads")
    ax.set_ylabel("updates lost (%, worst try)")
    ax.set_title("counter.value = add_one(counter.value) on threads")
    ax.legend()
    return ax


def race_panel(tries: int = 3) -> Any:
    """Sliders for threads and updates per thread; Run counts without and with a lock and redraws (lesson 01b)."""
    import ipywidgets as w

    from parlab.widgets import Panel

    controls = {
        "threads": w.IntSlider(value=4, min=1, max=16, description="threads", continuous_update=False),
        "thousands": w.IntSlider(value=100, min=10, max=400, step=10, description="k updates",
                                 continuous_update=False),
    }

    def measure(values: dict[str, Any], progress: Callable[[int, int], None]) -> list[RaceResult]:
        progress(0, 1)
        found = [race(values["threads"], values["thousands"] * 1000, tries=tries)]
        progress(1, 1)
        return found

    def rows(results: list[RaceResult]) -> list[dict[str, str]]:
        r = results[0]
        return [{"try": str(i + 1), "expected": f"{r.expected:,}", "no lock: lost": f"{lost:,}",
                 "with a Lock: lost": f"{locked:,}"}
                for i, (lost, locked) in enumerate(zip(r.lost, r.lost_locked, strict=True))]

    return Panel(controls, measure, lambda results, ax: plot_race(results, ax), rows,
                 title="A race: counter.value = add_one(counter.value) on threads, without and with a Lock")
