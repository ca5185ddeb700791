"""Measurements for lesson 01b, section 4: asyncio against threads for many waits; each returns data.

The same socket round trips against ``parlab.slowserver.SlowServer``: one thread running an asyncio
event loop with ``asyncio.gather``, the requests in flight bounded by an
``asyncio.Semaphore``, beside a ``ThreadPoolExecutor`` with as many threads. The timing
helper for asyncio is a coroutine (``await`` it in a notebook cell, where the kernel's loop
already runs; ``asyncio.run`` it elsewhere). ``describe_async_vs_threads`` words the
conclusion from the numbers.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from parlab._checks import check_size, check_timeout
from parlab.lessons.words import SAME_HIGH, SAME_LOW, describe_speedup
from parlab.measure import check_same, time_call, timing_from
from parlab.plot import new_axes
from parlab.results import Timing, format_seconds, format_speedup
from parlab.system import usable_cores
from parlab.workloads import request_reply

__all__ = ["MAX_IN_FLIGHT", "AsyncVsThreads", "ask_async", "describe_async_vs_threads", "gather_replies",
           "measure_async_vs_threads", "plot_async_vs_threads", "thread_replies", "time_gather"]

# SlowServer listens with a backlog of 128: more connections at once than that can stall.
MAX_IN_FLIGHT = 100


def _limit(limit: object) -> int:
    return check_size("limit (requests in flight at once)", limit, MAX_IN_FLIGHT)


async def ask_async(port: int, key: str, message: str, timeout: float = 30.0) -> str:
    """One request to the slow server with asyncio streams: the coroutine waits, the loop runs others (lesson 01b)."""
    timeout = check_timeout(timeout)
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(f"{key} {message}\n".encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
        await writer.wait_closed()
    reply = line.decode().rstrip("\n")
    if not reply:
        raise ConnectionError(f"the server on port {port} closed the connection without a reply "
                              "(a wrong key, or the server was stopped)")
    return reply


async def gather_replies(port: int, key: str, count: int, limit: int) -> list[str]:
    """``count`` requests with ``asyncio.gather``, at most ``limit`` in flight; replies in order (lesson 01b)."""
    count, limit = check_size("count", count, 100_000), _limit(limit)
    gate = asyncio.Semaphore(limit)  # made here: a semaphore belongs to the loop that first uses it

    async def one(i: int) -> str:
        async with gate:
            return await ask_async(port, key, f"request {i}")

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def thread_replies(port: int, key: str, count: int, workers: int) -> list[str]:
    """The same ``count`` requests on a ThreadPoolExecutor of ``workers`` threads; replies in order (lesson 01b)."""
    count, workers = check_size("count", count, 100_000), _limit(workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda i: request_reply(port, key, f"request {i}"), range(count), timeout=60))


async def time_gather(port: int, key: str, count: int, limit: int, repeats: int = 3,
                      warmup: int = 1) -> Timing:
    """Time ``gather_replies`` ``repeats`` times after ``warmup`` runs, each reply checked (lesson 01b).

    A coroutine: ``await`` it in a notebook cell; ``asyncio.run(time_gather(...))`` elsewhere.
    """
    count, limit = check_size("count", count, 100_000), _limit(limit)
    repeats, warmup = check_size("repeats", repeats, 100), int(warmup)
    expected = [f"reply to request {i}" for i in range(count)]
    values: list[float] = []
    for _ in range(warmup + repeats):
        t0 = time.perf_counter()
        got = await gather_replies(port, key, count, limit)
        values.append(time.perf_counter() - t0)
        check_same(expected, got, f"asyncio.gather with {limit} in flight")
    return timing_from(values[warmup:], values[:warmup])


def _time_threads(port: int, key: str, count: int, workers: int, repeats: int) -> Timing:
    expected = [f"reply to request {i}" for i in range(count)]
    return time_call(lambda: check_same(expected, thread_replies(port, key, count, workers),
                                        f"{workers} threads"), repeats=repeats)


@dataclass(frozen=True)
class AsyncVsThreads:
    """Times of ``count`` round trips per concurrency: asyncio and threads, and the server's delay (lesson 01b)."""

    count: int
    delay_s: float
    limits: tuple[int, ...]
    asyncio: tuple[Timing, ...]
    threads: tuple[Timing, ...]
    cores: int

    def floor_s(self, limit: int) -> float:
        """The least time ``count`` replies can take with ``limit`` in flight: full rounds of the delay."""
        return math.ceil(self.count / limit) * self.delay_s


async def measure_async_vs_threads(port: int, key: str, delay_s: float, count: int = 200,
                                   limits: Sequence[int] = (25, 50, 100), repeats: int = 3) -> AsyncVsThreads:
    """Both styles at each concurrency in ``limits``; a coroutine, like ``time_gather`` (lesson 01b)."""
    counts = [_limit(k) for k in limits]
    if not counts:
        raise ValueError("limits must list at least one concurrency, e.g. (25, 50, 100)")
    count, delay_s = check_size("count", count, 100_000), check_timeout(delay_s, "delay_s")
    in_async, in_threads = [], []
    for k in counts:
        in_async.append(await time_gather(port, key, count, k, repeats))
        # The threads block; run them off the event loop so a notebook's loop stays responsive.
        in_threads.append(await asyncio.to_thread(_time_threads, port, key, count, k, repeats))
    return AsyncVsThreads(count, delay_s, tuple(counts), tuple(in_async), tuple(in_threads), usable_cores())


def describe_async_vs_threads(result: AsyncVsThreads) -> str:
    """Each style against one-at-a-time's floor, and which one was faster, at the highest concurrency (lesson 01b)."""
    k = result.limits[-1]
    a, t = result.asyncio[-1].median, result.threads[-1].median
    serial_floor = result.count * result.delay_s
    lines = [(f"{result.count} replies, each after {format_seconds(result.delay_s)}: one at a time they need at "
              f"least {format_seconds(serial_floor)}; {k} at once, at least {format_seconds(result.floor_s(k))}.")]
    for name, seconds in (("asyncio", a), ("threads", t)):
        lines.append(f"{name}: {format_seconds(seconds)}; against the one-at-a-time floor, " + describe_speedup(
            serial_floor / seconds, k, result.cores, waiting=True, what="requests in flight"))
    ratio = t / a
    if ratio > SAME_HIGH:
        lines.append(f"asyncio finished {format_speedup(ratio)} sooner here: one thread switched between "
                     f"{k} waiting coroutines, without starting {k} threads.")
    elif ratio < SAME_LOW:
        lines.append(f"Threads finished {format_speedup(1 / ratio)} sooner here. asyncio's strength is not "
                     "the speed of one wait but how many waits one thread can hold: thousands of "
                     "coroutines cost little, thousands of threads cost memory and switching.")
    else:
        lines.append("Both took about the same time: at a few hundred waits either is fine; asyncio pulls "
                     "ahead with thousands of waits, threads fit libraries that block.")
    return "\n".join(lines)


def plot_async_vs_threads(result: AsyncVsThreads, ax: Any = None) -> Any:
    """Median time per concurrency for asyncio and threads, with the floor of full delay rounds (lesson 01b)."""
    ax = new_axes(ax, figsize=(6.0, 3.2))
    ks = list(result.limits)
    ax.plot(ks, [t.median for t in result.asyncio], "o-", label="asyncio.gather + Semaphore")
    ax.plot(ks, [t.median for t in result.threads], "s-", label="ThreadPoolExecutor")
    ax.plot(ks, [result.floor_s(k) for k in ks], "k--", label="floor: rounds × delay")
    ax.set_xlabel("requests in flight at once (semaphore limit / threads)")
    ax.set_ylabel("seconds")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{result.count} socket round trips")
    ax.legend()
    return ax
