# cython: language_level=3, cdivision=True
# cython: freethreading_compatible = True
"""Lesson 03: the prime-counting kernel in Cython, with the GIL held or released.

``_count_range`` is plain C: it touches no Python object, so it is declared
``noexcept nogil`` and may run while other Python threads hold the GIL. The two
wrappers differ in one line: ``count_primes_nogil`` calls it inside ``with nogil:``.
"""

from cpython.exc cimport PyErr_CheckSignals
from cpython.number cimport PyNumber_Index
from libc.math cimport sqrt

cdef long long CHUNK_WORK = 1 << 24   # as in parlab/kernels/_checks.py
cdef long long MAX_STOP = 1LL << 62


cdef bint _is_prime(long long n) noexcept nogil:
    cdef long long d = 3
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True


cdef long long _count_range(long long lo, long long hi) noexcept nogil:
    # Count primes in [lo, hi): C integers only, so no GIL is needed.
    cdef long long n, count = 0
    for n in range(lo, hi):
        count += _is_prime(n)
    return count


cdef long long _chunk_size(long long stop) noexcept nogil:
    # Short chunks: between two of them the wrapper checks for Ctrl-C.
    return max(64, CHUNK_WORK // (<long long>sqrt(<double>stop) + 1))


cdef tuple check_range(start, stop):
    # parlab/kernels/_checks.py:check_range, compiled: a call to a Python function here
    # would let another thread take the GIL between the start of the call and the work.
    try:
        lo, hi = PyNumber_Index(start), PyNumber_Index(stop)
    except TypeError:
        raise TypeError(f"start and stop must be whole numbers (int), got {start!r} and {stop!r}") from None
    if lo < 0 or hi > MAX_STOP:
        raise ValueError(f"count_primes needs 0 <= start and stop <= 2**62, got start={lo}, stop={hi}")
    return max(lo, 2), hi


def count_primes_gil(start, stop):
    """Count primes in [start, stop) in C, holding the GIL all along (lesson 03)."""
    cdef long long lo, hi, end, count = 0
    lo, end = check_range(start, stop)
    cdef long long step = _chunk_size(end)
    while lo < end:
        hi = min(lo + step, end)
        count += _count_range(lo, hi)      # other Python threads wait for the GIL
        PyErr_CheckSignals()               # Ctrl-C raises KeyboardInterrupt here
        lo = hi
    return count


def count_primes_nogil(start, stop):
    """Count primes in [start, stop) in C, releasing the GIL during the work (lesson 03)."""
    cdef long long lo, hi, end, count = 0
    lo, end = check_range(start, stop)
    cdef long long step = _chunk_size(end)
    while lo < end:
        hi = min(lo + step, end)
        with nogil:                        # other Python threads run meanwhile
            count += _count_range(lo, hi)
        PyErr_CheckSignals()
        lo = hi
    return count
