"""The exercise checker every lesson uses: it runs what the learner wrote and answers in words.

Each lesson's ``exercises`` module builds its checkers from three parts:

- :mod:`.verdicts`: :class:`Verdict` (right, wrong, not answered, error, timeout, not checked),
  placeholders (an exercise left as it was is "not answered yet", never an exception, so
  "Run all" goes through), and the comparisons (:func:`same_results`, :func:`prediction`).
- :mod:`.sandbox`: :func:`call` and :func:`run_script` run the learner's code with a timeout;
  :func:`failure` turns an error or a hang into a verdict that names it.
- :mod:`.timing`: :func:`speed` asks for a speedup that depends on the usable cores (on one
  core, correctness only), and :func:`timed_speed` times the runs it judges, the same way in
  every lesson, beside a known-good version that tells a busy machine from a slow answer.
- :func:`first_failure` runs a checker's rules in order and returns the first verdict.

Import it as a whole (``from parlab.lessons import check``); tests replace the one clock as
``check.sandbox.CLOCK``.
"""

from __future__ import annotations

from collections.abc import Callable

from parlab.lessons.check import sandbox, timing, verdicts
from parlab.lessons.check.sandbox import (
    Outcome,
    call,
    failure,
    learner_traceback,
    rerun,
    run_script,
    stop_pools,
)
from parlab.lessons.check.timing import needed_speedup, speed, timed_speed
from parlab.lessons.check.verdicts import (
    RESTART,
    STATUSES,
    Verdict,
    is_placeholder,
    not_a_function,
    not_answered,
    not_checked,
    prediction,
    right,
    same_results,
    short,
    wrong,
)

__all__ = [
    "RESTART", "STATUSES", "Outcome", "Verdict", "call", "failure", "first_failure", "is_placeholder",
    "learner_traceback", "needed_speedup", "not_a_function", "not_answered", "not_checked", "prediction",
    "rerun", "right", "run_script", "same_results", "sandbox", "short", "speed", "stop_pools", "timed_speed",
    "timing", "verdicts", "wrong",
]


def first_failure(*rules: Callable[[], Verdict | None]) -> Verdict | None:
    """Run ``rules`` in order and return the first verdict one of them gives; None when all pass.

    A checker reads as its list of rules, each a small function that returns a verdict naming
    one mistake, or None: ``check.first_failure(lambda: ..., lambda: ...) or check.right(...)``.
    """
    for rule in rules:
        verdict = rule()
        if verdict is not None:
            return verdict
    return None
