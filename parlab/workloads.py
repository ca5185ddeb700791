"""Pure, picklable work for every lesson.

Each function lives at module level so that spawn and forkserver workers can import it
by name, and each gives the same output for the same input on every backend. Nothing
here times, prints or plots.
"""

from __future__ import annotations

import hashlib
import random
import time

__all__ = [
    "count_primes", "fib", "fib_tasks", "hash_buffer", "io_wait", "make_buffer", "monte_carlo_pi", "prime_windows",
]


def fib(n: int) -> int:
    """Naive recursive Fibonacci: pure-Python CPU work that holds the GIL (lessons 00-06)."""
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def fib_tasks(n: int, count: int = 12) -> list[int]:
    """``count`` copies of the fib size ``n``: 12 splits evenly over 1, 2, 3, 4 and 6 workers (lessons 01a, 02)."""
    if not 1 <= n <= 35 or count < 1:
        raise ValueError(f"n must be 1..35 and count >= 1, got n={n!r}, count={count!r}")
    return [n] * count


def count_primes(start: int, stop: int) -> int:
    """Count primes in [start, stop) by trial division: CPU work that splits into ranges (lessons 02, 05)."""
    count = 0
    for n in range(max(start, 2), stop):
        if n % 2 == 0:
            count += n == 2
            continue
        d = 3
        while d * d <= n:
            if n % d == 0:
                break
            d += 2
        else:
            count += 1
    return count


def prime_windows(count: int, width: int, start: int) -> list[tuple[int, int]]:
    """``count`` consecutive windows ``(lo, hi)`` of ``width`` numbers from ``start`` for count_primes (lessons 04, 06).

    Far from zero, windows of equal width hold about as many primes and cost about the same,
    so no worker is left with the one slow task at the end.
    """
    from parlab._checks import check_size

    count, width = check_size("count", count), check_size("width", width)
    if isinstance(start, bool) or not isinstance(start, int):
        raise TypeError(f"start must be a whole number >= 0, got {start!r}")
    if start < 0:
        raise ValueError(f"start must be a whole number >= 0, got {start!r}")
    return [(start + i * width, start + (i + 1) * width) for i in range(count)]


def monte_carlo_pi(samples: int, seed: int) -> int:
    """Count random points inside the unit quarter circle; an explicit seed makes it repeatable (lessons 02, 05).

    Returns the hit count, an integer, so that results from different backends compare
    exactly; ``4 * hits / samples`` estimates pi.
    """
    rng = random.Random(seed)
    hits = 0
    for _ in range(samples):
        x = rng.random()
        y = rng.random()
        if x * x + y * y <= 1.0:
            hits += 1
    return hits


def io_wait(seconds: float) -> float:
    """Wait without using the CPU, as a network or disk request would (lesson 01)."""
    time.sleep(seconds)
    return seconds


def make_buffer(nbytes: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes to hash (lessons 01, 03)."""
    from parlab._checks import check_memory, check_size  # refuse a size that cannot fit, before allocating

    # randbytes briefly holds the bytes twice (a big int, then the bytes): estimate 2 x nbytes.
    check_memory(2 * check_size("nbytes", nbytes), f"make_buffer({nbytes:,} bytes)")
    return random.Random(seed).randbytes(nbytes)


def hash_buffer(data: bytes, rounds: int = 1) -> str:
    """SHA-256 of ``data`` repeated ``rounds`` times; hashlib releases the GIL on large buffers (lessons 01, 03)."""
    digest = b""
    for _ in range(rounds):
        digest = _sha256(digest, data)
    return digest.hex()


def _sha256(previous: bytes, data: bytes) -> bytes:
    # Hash the previous digest and the buffer without concatenating them: a copy of a large
    # buffer would be made while holding the GIL, which hides the scaling lesson 01 shows.
    h = hashlib.sha256(previous)
    h.update(data)
    return h.digest()


# --------------------------------------------------------------------------- lessons 01-02: real I/O, payloads, a crash

def request_reply(port: int, key: str, message: str, timeout: float = 30.0) -> str:
    """Send one request to a loopback server and wait for its reply: real socket I/O (lesson 01).

    The thread blocks in ``recv`` with the GIL released, as it would waiting on a remote
    server. The server (``parlab.slowserver.SlowServer``) answers only requests that carry its key.
    """
    import socket

    from parlab._checks import check_timeout  # None would block forever, inf overflows the socket

    with socket.create_connection(("127.0.0.1", port), timeout=check_timeout(timeout)) as conn:
        conn.sendall(f"{key} {message}\n".encode())
        reply = conn.makefile("rb").readline().decode().rstrip("\n")
    if not reply:
        raise ConnectionError(f"the server on port {port} closed the connection without a reply "
                              "(a wrong key, or the server was stopped)")
    return reply


def compressed_size(data: bytes, level: int = 6) -> int:
    """Size of ``data`` after zlib compression; zlib releases the GIL while it works (lesson 01)."""
    import zlib

    return len(zlib.compress(data, level))


def payload_size(data: bytes) -> int:
    """Return ``len(data)``: almost no work, so the time it takes is the cost of sending ``data`` (lesson 02)."""
    return len(data)


def crash_worker(exit_code: int) -> int:
    """End the process worker abruptly with ``exit_code``, as a crash in C code would (lesson 02).

    Refuses to run in the main process: there it would end the notebook's own kernel.
    """
    import multiprocessing
    import os

    if multiprocessing.parent_process() is None:
        raise RuntimeError("crash_worker only runs inside a process worker; in this process it "
                           "would end the notebook's kernel. Use backend='processes'.")
    os._exit(exit_code)


__all__ += ["compressed_size", "crash_worker", "payload_size", "request_reply"]
