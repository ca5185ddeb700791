"""Lesson 06c's conclusion writer: the profile's prediction (Amdahl) beside the measured speedups.

Every sentence is chosen from the numbers passed in: the serial share from the profile, the
measured speedups, the usable cores and the number of tasks. A busy machine is said to be busy
and never concluded from; one core is said to allow no speedup; past the cores (or past the
tasks) the prediction stops growing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from parlab._checks import check_number
from parlab.lessons.words import spread_warning, unexplained
from parlab.measure import amdahl_speedup
from parlab.results import BUSY_CORES, format_speedup

__all__ = ["BUSY", "CLOSE", "describe_prediction", "predicted_speedup"]

CLOSE = 0.15  # within 15 % of the prediction counts as matching it
BUSY = 0.5    # under half of the prediction (on k <= cores workers): something else held the cores


def predicted_speedup(serial_share: float, workers: int, cores: int, tasks: int) -> float:
    """Amdahl's speedup for ``workers``, counting only the workers that have a core and a task each round.

    ``tasks`` equal tasks on k workers take ceil(tasks / k) rounds, so k workers act as
    tasks / ceil(tasks / k) (24 tasks on 16 workers: 2 rounds, as 12 workers) (lesson 06c).
    """
    serial_share = check_number("serial_share", serial_share, 0, 1)
    if workers < 1 or cores < 1 or tasks < 1:
        raise ValueError(f"workers, cores and tasks must be >= 1, got {workers}, {cores}, {tasks}")
    used = min(workers, cores, tasks)
    return amdahl_speedup(serial_share, tasks / math.ceil(tasks / used))


def _verdict(measured: float, predicted: float) -> str:
    ratio = measured / predicted
    if abs(ratio - 1) <= CLOSE:
        return "matches the prediction"
    if ratio > 1:
        return f"above the prediction ({ratio:.0%} of it)"
    return f"below the prediction ({ratio:.0%} of it)"


def describe_prediction(serial_share: float, speedups: Mapping[int, float], cores: int, tasks: int,
                        spreads: Mapping[int, tuple[float, float]] | None = None, *,
                        others_cores: float | None = None) -> list[str]:
    """Sentences comparing Amdahl's prediction from the profile with the measured speedups (lesson 06c).

    ``others_cores``: the cores other programs kept busy meanwhile (``ProgramSweep.others_cores``);
    other programs are blamed only when that measurement says they were busy.
    """
    if not speedups:
        raise ValueError("speedups must hold at least one measured point {workers: speedup}")
    lines = []
    if serial_share > 0:
        lines.append(f"The profile puts {serial_share:.0%} of the run in serial code, so Amdahl's ceiling is "
                     f"{format_speedup(1 / serial_share)}, however many workers.")
    else:
        lines.append("The profile found no serial part: Amdahl's law sets no ceiling below the worker count.")
    busy, off = [], []
    for k, measured in sorted(speedups.items()):
        predicted = predicted_speedup(serial_share, k, cores, tasks)
        verdict = _verdict(measured, predicted)
        why = ""
        if k > cores:
            why = f" (only {cores} core{'s' if cores != 1 else ''}: predicted as on {min(cores, tasks)})"
        elif k > tasks:
            why = f" (only {tasks} of the {k} workers get a task)"
        elif tasks % k:
            why = f" ({tasks} tasks take {math.ceil(tasks / k)} rounds on {k} workers)"
        lines.append(f"  {k} worker{'s' if k != 1 else ''}: predicted {format_speedup(predicted)}, measured "
                     f"{format_speedup(measured)}: {verdict}{why}.")
        if spreads and k in spreads:
            warning = spread_warning(spreads[k][0], measured, spreads[k][1])
            if warning:
                busy.append(k)
                lines.append(f"    {warning[0].upper()}{warning[1:]}.")
        if k <= cores and measured < BUSY * predicted:
            busy.append(k)
        elif abs(measured / predicted - 1) > CLOSE:
            off.append(k)
    if cores == 1:
        lines.append("This machine lets Python use 1 core: the parallel loop has no second core to run on, so "
                     "no pool can beat 1× here. The prediction for k workers assumes k cores.")
    elif busy:
        where = ", ".join(map(str, sorted(set(busy))))
        quiet = others_cores is not None and others_cores < BUSY_CORES
        lines.append(f"On {where} worker(s) the measurement fell far short of the prediction or varied widely: "
                     + unexplained(others_cores, cores) + ". Do not conclude from this run; "
                     + ("time more pairs (pairs=) for a steadier figure." if quiet
                        else "run the cell again when the machine is quieter."))
    elif not off:
        lines.append("The profile predicted the speedup: the serial part cProfile found is what limits it. To go "
                     "further, make the serial part faster or parallel; more workers will not help.")
    else:
        below = [k for k in off if speedups[k] < predicted_speedup(serial_share, k, cores, tasks)]
        if below:
            lines.append("Below the prediction: a pool costs what a profile of one process cannot see "
                         "(sending tasks and results, waking workers), and the measurement is noisy.")
        else:
            lines.append("Above the prediction: the serial runs were slower than usual, or the profile "
                         "overstated the serial part; measure again before trusting either figure.")
    return lines
