/* Lesson 03: the prime-counting kernel as a plain C shared library for ctypes.
 *
 * No Python.h, no Python object: ctypes loads this file by its path. Through
 * ctypes.CDLL every call releases the GIL; through ctypes.PyDLL the GIL stays held.
 *
 * pip builds it as a setuptools Extension (so the same compiler and flags apply and no
 * separate build step exists), but it is never imported: it has no PyInit function, and
 * parlab/kernels/__init__.py finds the file next to itself and hands it to ctypes. */
#include "_primes_core.h"

#ifdef _WIN32
#define PARLAB_EXPORT __declspec(dllexport)
#else
#define PARLAB_EXPORT
#endif

/* Count primes in [lo, hi); the caller checks the arguments and splits long ranges. */
PARLAB_EXPORT long long parlab_count_primes(long long lo, long long hi)
{
    return parlab_count_range(lo, hi);
}
