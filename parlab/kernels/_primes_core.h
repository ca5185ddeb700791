/* The prime-counting kernel of lesson 03 in plain C: no Python object, no Python API.
 *
 * Shared by the C-API module (_capi_primes.c) and the ctypes library (_primes_lib.c).
 * It is the same trial division as parlab.workloads.count_primes, so every variant
 * returns the same integer. Because it touches no Python object it may run while the
 * GIL is released. */
#ifndef PARLAB_PRIMES_CORE_H
#define PARLAB_PRIMES_CORE_H

#include <math.h>

/* Must match parlab/kernels/_checks.py. */
#define PARLAB_MAX_STOP (1LL << 62)
#define PARLAB_CHUNK_WORK (1LL << 24)

static int parlab_is_prime(long long n)
{
    long long d;
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (d = 3; d * d <= n; d += 2) {
        if (n % d == 0)
            return 0;
    }
    return 1;
}

/* Count primes in [lo, hi). */
static long long parlab_count_range(long long lo, long long hi)
{
    long long n, count = 0;
    for (n = lo; n < hi; n++)
        count += parlab_is_prime(n);
    return count;
}

/* How many numbers one chunk tests, so that a chunk stays far below a second. */
static long long parlab_chunk_size(long long stop)
{
    long long root = (long long)sqrt((double)(stop > 0 ? stop : 0));
    long long chunk = PARLAB_CHUNK_WORK / (root + 1);
    return chunk > 64 ? chunk : 64;
}

#endif
