"""Sentences about a measured speedup that every lesson shares: each one describes the number beside it.

A lesson's conclusion writer (``describe_*`` in ``lessons/lNN/``) picks what to say about its own
experiment; the words for "how fast was that, against what was possible here" come from
here, so that 0.84× is called a slowdown in every lesson and 2.3× on 2 workers is called
superlinear in every lesson. The regimes, from the measurement alone:

- slower: below ``SAME_LOW`` (0.90×): parallel took longer than serial;
- about the same: ``SAME_LOW`` to ``SAME_HIGH`` (0.90–1.10×);
- superlinear: more than 1.10 × the worker count;
- above the ideal: more than 1.10 × the ideal, which the cores cap below the worker count
  (CPU work on more workers than cores: the tasks waited part of the time, or the serial
  run was slowed);
- near the ideal: at least ``NEAR_IDEAL`` (85 %) of the ideal;
- below the ideal: the rest, with the share of the ideal reached.

The ideal is the worker count for waiting tasks (sleep, sockets: a waiting worker needs no
core), and the worker count capped at the usable cores for CPU-bound work.
"""

from __future__ import annotations

from collections.abc import Sequence

from parlab.measure import ideal_speedup
from parlab.results import BUSY_CORES, Sweep, SweepPoint, format_speedup

__all__ = ["NEAR_IDEAL", "NOISY_SPREAD", "SAME_HIGH", "SAME_LOW", "describe_speedup", "noisiest_warning",
           "point_at_cores", "regime", "spread_warning", "unexplained"]

SAME_LOW = 0.90
SAME_HIGH = 1.10
NEAR_IDEAL = 0.85
NOISY_SPREAD = 0.30  # (high - low) / median of the repeats' speedups: a busy machine


def regime(speedup: float, workers: int, cores: int, *, waiting: bool = False) -> str:
    """One of "slower", "same", "superlinear", "above-ideal", "near-ideal", "below-ideal" (lessons 00-06)."""
    if speedup <= 0:
        raise ValueError(f"a speedup is a ratio of times > 0, got {speedup!r}")
    if speedup < SAME_LOW:
        return "slower"
    if speedup <= SAME_HIGH:
        # With one worker, or where the ideal itself is 1, "the same" is also the ideal.
        return "same"
    if speedup > SAME_HIGH * workers:
        return "superlinear"
    if speedup > SAME_HIGH * ideal_speedup(workers, cores, waiting=waiting):
        return "above-ideal"
    if speedup >= NEAR_IDEAL * ideal_speedup(workers, cores, waiting=waiting):
        return "near-ideal"
    return "below-ideal"


def describe_speedup(speedup: float, workers: int, cores: int, *, waiting: bool = False,
                     what: str = "workers") -> str:
    """A sentence on one speedup against the ideal here: "0.84× on 2 threads: slower than one, ..." (lessons 00-06)."""
    ideal = ideal_speedup(workers, cores, waiting=waiting)
    head = f"{format_speedup(speedup)} on {workers} {what}"
    kind = regime(speedup, workers, cores, waiting=waiting)
    if kind == "slower":
        return f"{head}: slower than one, taking {1 / speedup:.2f} times as long"
    if kind == "same":
        return f"{head}: about the same as one" + ("" if workers > 1 else " (a single worker)")
    if kind == "superlinear":
        why = ("the serial run was slower than the parallel ones" if waiting else
               "the parts may fit in the caches, or the serial run was slower than usual")
        return f"{head}: more than {workers}×, superlinear ({why})"
    if kind == "above-ideal":
        return (f"{head}: above the ideal {format_speedup(ideal)} for CPU work on {cores} usable "
                f"core{'s' if cores != 1 else ''}: the tasks must have waited part of the time, "
                "or the timing was noisy")
    if waiting:
        limit = "waiting tasks need no core: one per worker"
    elif workers <= cores:
        limit = "one core per worker"
    else:
        limit = f"capped at the {cores} usable core{'s' if cores != 1 else ''}"
    if kind == "near-ideal":
        return f"{head}: near the ideal {format_speedup(ideal)} ({limit})"
    return f"{head}: {speedup / ideal:.0%} of the ideal {format_speedup(ideal)} ({limit})"


def spread_warning(low: float, median: float, high: float) -> str | None:
    """A warning when the repeats' speedups spread widely (a busy machine), else None (lessons 00-06)."""
    if median <= 0 or high < low:
        raise ValueError(f"need low <= high and median > 0, got {low}, {median}, {high}")
    if (high - low) / median < NOISY_SPREAD:
        return None
    return (f"the repeats ranged from {format_speedup(low)} to {format_speedup(high)}, too wide a spread "
            "to read one figure from; run the cell again for a steadier one")


def unexplained(others_cores: float | None, cores: int) -> str:
    """What a result that neither the work nor the build explains rests on: the measured load of other programs.

    ``others_cores`` is how many cores other programs kept busy while it ran (``Sweep.others_cores``,
    from ``system.CpuMeter``). Other programs are named only when they were measured busy; a
    missing speedup alone never blames them (lessons 00-07).
    """
    if others_cores is None:
        return ("nothing in this build or this work explains it, and other programs' use of the cores "
                "was not measured here")
    if others_cores >= BUSY_CORES:
        return (f"other programs kept about {others_cores:.1f} of the {cores} usable "
                f"core{'s' if cores != 1 else ''} busy meanwhile (measured), so this ran on less than "
                "the whole machine")
    return (f"other programs were quiet meanwhile (about {others_cores:.1f} of a core, measured): "
            "short runs vary, and more tasks or repeats give a steadier figure")


def point_at_cores(sweep: Sweep) -> SweepPoint:
    """The point with the most workers that still fit the usable cores, else the fewest workers (lessons 00-06).

    Lessons describe a sweep there, not at its best point: the best of several noisy points
    is biased upwards, and a "best" at one worker says nothing about parallel work.
    """
    cores = sweep.metadata.usable_cores
    within = [p for p in sweep.points if p.workers <= cores]
    if within:
        return max(within, key=lambda p: p.workers)
    return min(sweep.points, key=lambda p: p.workers)


def noisiest_warning(points: Sequence[SweepPoint]) -> tuple[SweepPoint, str] | None:
    """The point whose repeats spread most, with spread_warning's sentence; None if none is noisy (lessons 04, 05)."""
    worst = max(points, key=lambda p: (p.speedup_high - p.speedup_low) / p.speedup)
    found = spread_warning(worst.speedup_low, worst.speedup, worst.speedup_high)
    return (worst, found) if found else None
