"""Benchmark groups of ``python -m parlab.bench``, one module per lesson."""
