"""Argument checks and chunking shared by every kernel binding of lesson 03.

Every variant (Cython, the C API, ctypes, the pure-Python fallback) refuses bad input with
the same message before any work starts, and splits a long range into chunks short enough
that an interrupt is noticed within about a second.
"""

from __future__ import annotations

import math
import operator

__all__ = ["CHUNK_WORK", "MAX_STOP", "check_range", "chunk_size"]

# d * d <= n must not overflow a signed 64-bit integer in C: 2**62 leaves ample headroom.
MAX_STOP = 2**62
# Numbers per chunk times sqrt(stop): bounds the trial divisions of one native call.
CHUNK_WORK = 1 << 24


def check_range(start: object, stop: object) -> tuple[int, int]:
    """Validate ``count_primes(start, stop)`` arguments; return (first number worth testing, stop)."""
    try:
        lo, hi = operator.index(start), operator.index(stop)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"start and stop must be whole numbers (int), got {start!r} and {stop!r}") from None
    if lo < 0 or hi > MAX_STOP:
        raise ValueError(f"count_primes needs 0 <= start and stop <= 2**62, got start={lo}, stop={hi}")
    return max(lo, 2), hi


def chunk_size(stop: int) -> int:
    """How many numbers one native call tests: at most ~CHUNK_WORK/2 divisions, well under a second."""
    # Testing one number below ``stop`` costs at most sqrt(stop)/2 divisions (odd divisors only).
    return max(64, CHUNK_WORK // (math.isqrt(max(stop, 0)) + 1))
