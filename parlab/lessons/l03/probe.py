"""Lesson 03's measuring tools for its exercise checkers: a GIL probe and a reference driver.

Whether a call released the GIL is decided by :func:`gil_held_share`, which does not time
two noisy runs against each other: a Python thread runs a tight loop beside the call and
notes its longest pause. Speed is judged by ``check.timed_speed``, with parlab's own threads
over its GIL-free kernel (:func:`reference_driver`) as the known-good version beside the answer.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["HELD_SHARE", "START", "gil_held_share", "loop_inside_nogil", "reference_driver",
           "span_for", "workers_for"]

HELD_SHARE = 0.5  # a Python thread stood still for this share of the call or more: the GIL was held
START = 10**7


def workers_for(cores: int) -> int:
    return max(2, min(cores, 4))


def gil_held_share(action: Callable[[], Any], tries: int = 3) -> float:
    """The longest stretch in which a Python thread could not run while ``action`` ran, as a share of it (lesson 03).

    A second thread runs a tight Python loop and notes every pause longer than 2 ms. A call
    that holds the GIL stops that thread for the whole call: a share near 1. A call that
    releases it leaves only the system's short scheduling pauses, on one core or many: a
    share near 0. Longest pause, not average speed, so a busy machine does not blur the two.
    A share of ``HELD_SHARE`` or more is measured again, up to ``tries`` times, and the
    smallest is kept: a held GIL pauses the thread every time, a burst of load only once.
    """
    share = _held_once(action)
    for _ in range(tries - 1):
        if share < HELD_SHARE:
            break
        share = min(share, _held_once(action))
    return share


def _held_once(action: Callable[[], Any]) -> float:
    pauses: list[tuple[float, float]] = []
    stop = threading.Event()

    def spin() -> None:
        clock = time.perf_counter
        before = clock()
        while not stop.is_set():
            now = clock()
            if now - before > 0.002:
                pauses.append((before, now))
            before = now

    spinner = threading.Thread(target=spin, name="parlab-gil-probe", daemon=True)
    spinner.start()
    time.sleep(0.02)
    t0 = time.perf_counter()
    action()
    t1 = time.perf_counter()
    time.sleep(0.02)  # let the spinner note the pause that ends after the call
    stop.set()
    spinner.join(5)
    longest = max((min(b, t1) - max(a, t0) for a, b in pauses), default=0.0)
    return max(0.0, longest) / (t1 - t0)


def loop_inside_nogil(source: str) -> bool:
    """Does a `for`/`while` loop sit inside a `with nogil:` block? (read from the text, by indentation)."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)with\s+nogil\s*:", line)
        if not match:
            continue
        indent = len(match.group(1))
        for inner in lines[i + 1:]:
            if not inner.strip() or inner.strip().startswith("#"):
                continue
            if len(inner) - len(inner.lstrip()) <= indent:
                break
            if re.match(r"^\s*(for|while)\b", inner):
                return True
    return False


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def reference_driver(count: Callable[[int, int], int], start: int, stop: int, workers: int) -> int:
    """The primes in [start, stop) counted by ``count(lo, hi)`` on ``workers`` threads (lesson 03's answer)."""
    step = -(-(stop - start) // workers)
    bounds = [(lo, min(lo + step, stop)) for lo in range(start, stop, step)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(count, lo, hi) for lo, hi in bounds]
        return sum(f.result(timeout=60) for f in futures)


def span_for(fn: Callable[[int, int], int], seconds: float) -> int:
    """How many numbers from 10**7 on ``fn`` counts in about ``seconds`` on a quiet machine (at least 2 000)."""
    numbers = 2_000
    while True:
        stop = START + numbers
        took = _timed(lambda: fn(START, stop))[1]  # noqa: B023 (called at once, in this iteration)
        if took >= seconds / 4:  # the faster of two: load slows a run down, and too few numbers would follow
            took = min(took, _timed(lambda: fn(START, stop))[1])  # noqa: B023
        if took >= seconds / 4 or numbers >= 4_000_000:
            return max(2_000, int(numbers * seconds / max(took, 1e-6)))
        numbers *= 4


