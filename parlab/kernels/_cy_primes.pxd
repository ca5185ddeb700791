# The C-level functions of _cy_primes.pyx that _cy_openmp.pyx cimports, so that the prime
# test and the chunk size are written once.
cdef bint _is_prime(long long n) noexcept nogil
cdef long long _chunk_size(long long stop) noexcept nogil
