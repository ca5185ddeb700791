# cython: language_level=3, cdivision=True
# cython: freethreading_compatible = True
"""Lesson 03 (optional): one call that uses several cores itself, with OpenMP ``prange``.

Built only where the compiler supports OpenMP. ``prange`` runs the loop on OpenMP
threads without the GIL; the ``+=`` on ``count`` becomes a reduction, so the count is
exactly that of the serial kernel.
"""

from cpython.exc cimport PyErr_CheckSignals
from cython.parallel cimport prange

from parlab.kernels._checks import check_range
from parlab.kernels._cy_primes cimport _chunk_size, _is_prime  # written once, in _cy_primes.pyx


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
    cdef long long step = 8 * k * _chunk_size(end)
    while lo < end:
        hi = min(lo + step, end)
        for n in prange(lo, hi, nogil=True, num_threads=k, schedule="dynamic", chunksize=64):
            count += _is_prime(n)
        PyErr_CheckSignals()
        lo = hi
    return count
