"""Lesson 02's reference tasks for the exercises, in a module of their own so that spawn workers import only this.

``l02_exercises.check_pool`` times a known-good spawn pool on :func:`sum_of_squares` beside the
learner's ``run_with_pool``: when that pool misses the speed mark too, the machine is too busy to
judge. ``check_chunksize`` runs :func:`spin` over :func:`rising_tasks` with the learner's chunksize.
"""

from __future__ import annotations

__all__ = ["rising_tasks", "spin", "sum_of_squares"]


def sum_of_squares(n: int) -> int:
    """The sum of i * i for i below n: exercise 1's task, the same as the learner's (lesson 02)."""
    return sum(i * i for i in range(n))


def spin(n: int) -> int:
    """A small task whose cost grows with ``n``: ``n`` turns of a loop (lesson 02, exercise 3)."""
    total = 0
    for i in range(n):
        total += i & 7
    return total


def rising_tasks(count: int = 20_000, first: int = 50, step: float = 0.055) -> list[int]:
    """Exercise 3's tasks: ``count`` sizes for :func:`spin`, each a little larger than the one before (lesson 02).

    Unequal on purpose: the last tasks cost about 20 times the first, so a chunk of late tasks
    holds far more work than a chunk of early ones, and too few chunks leave workers idle.
    """
    return [first + int(step * i) for i in range(count)]
