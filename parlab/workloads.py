"""Pure, picklable work for every lesson.

Each function lives at module level so that spawn and forkserver workers can import it
by name, and each gives the same output for the same input on every backend. Nothing
here times, prints or plots.
"""

from __future__ import annotations

import hashlib
import random
import time

__all__ = ["fib", "count_primes", "monte_carlo_pi", "io_wait", "make_buffer", "hash_buffer"]


def fib(n: int) -> int:
    """Naive recursive Fibonacci: pure-Python CPU work that holds the GIL (lessons 00-06)."""
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


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
