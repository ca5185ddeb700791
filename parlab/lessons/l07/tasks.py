"""Lesson 07's task functions, in a module of their own so that dask workers import only this.

Dask's process workers receive functions by cloudpickle: one defined in the notebook travels
by value, one from a module by its name (the module must then be importable on the worker).
"""

from __future__ import annotations

import os
from pathlib import Path

from parlab.workloads import count_primes, fib

__all__ = ["attempt", "count_window", "fib_batch"]


def attempt(i: int, n: int, folder: str) -> tuple[int, int]:
    """Task ``i``: note this attempt (the worker's pid) in ``folder/i.log``, then return (i, fib(n)) (lesson 07)."""
    with open(Path(folder) / f"{i}.log", "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()}\n")
    return i, fib(n)


def fib_batch(ns: list[int]) -> list[int]:
    """One task for many tiny items: [fib(n) for n in ns] (lesson 07, task granularity)."""
    return [fib(n) for n in ns]


def count_window(window: tuple[int, int]) -> int:
    """count_primes over one (lo, hi) window given as a pair (lesson 07)."""
    lo, hi = window
    return count_primes(lo, hi)
