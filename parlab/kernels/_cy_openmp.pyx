# cython: language_level=3, cdivision=True
# cython: freethreading_compatible = True
"""Lesson 03 (optional): one call that uses several cores itself, with OpenMP ``prange``.

Built only where the compiler supports OpenMP. ``prange`` runs the loop on OpenMP
threads without the GIL; the ``+=`` on ``count`` becomes a reduction, so the count is
exactly that of the serial kernel.
"""

from cpython.exc cimport PyErr_CheckSignals
from cython.parallel cimport prange
from libc.math cimport sqrt

from parlab.kernels._checks import check_range

cdef long long CHUNK_WORK = 1 << 24   # as in parlab/kernels/_checks.py


cdef bint _is_prime(long long n) noexcept nogil:
    # The same test as in _cy_primes.pyx (kept here so this module builds on its own).
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


def count_primes_openmp(start, stop, threads=None):
    """Count primes in [start, stop) on ``threads`` OpenMP threads inside one call (lesson 03)."""
    cdef long long lo, hi, end, n, count = 0
    cdef int k
    lo, end = check_range(start, stop)
    if threads is None:
        from parlab.system import usable_cores
        threads = usable_cores()
    if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= 1024:
        raise ValueError(f"threads must be a whole number from 1 to 1024, got {threads!r}")
    k = threads
    # k threads share a chunk, and they all wait for the slowest at its end: make it 8k times
    # longer than a serial chunk (still a small fraction of a second).
    cdef long long step = 8 * k * max(64, CHUNK_WORK // (<long long>sqrt(<double>end) + 1))
    while lo < end:
        hi = min(lo + step, end)
        for n in prange(lo, hi, nogil=True, num_threads=k, schedule="dynamic", chunksize=64):
            count += _is_prime(n)
        PyErr_CheckSignals()
        lo = hi
    return count
