"""Lesson 02's reference task for exercise 1, in a module of its own so that spawn workers import only this.

``l02_exercises.check_pool`` times a known-good spawn pool on it beside the learner's
``run_with_pool``: when that pool misses the speed mark too, the machine is too busy to judge.
"""

from __future__ import annotations

__all__ = ["sum_of_squares"]


def sum_of_squares(n: int) -> int:
    """The sum of i * i for i below n: exercise 1's task, the same as the learner's (lesson 02)."""
    return sum(i * i for i in range(n))
