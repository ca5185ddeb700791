"""Start here: the conclusions of the first measured speedup, worded from the sweep (lesson 00).

Lesson 00 runs ``4 × cores`` equal ``fib`` tasks on 1 .. cores processes. The work has no
serial part: every task is independent and the same size. So what keeps a point below the
ideal is cost around the work (handing out tasks, collecting results, tasks that do not
split evenly, logical cores that share a physical one), not Amdahl's law; and the
serial-fraction estimate printed under the sweep is that cost written as if it were serial
code. The sentences below say so from the measured numbers, on 1 core or 64, with or
without a GIL (processes do not share one).
"""

from __future__ import annotations

import math

from parlab.lessons.words import describe_speedup, point_at_cores, regime, spread_warning, unexplained
from parlab.measure import ideal_speedup
from parlab.results import Sweep, SweepPoint, format_seconds, format_speedup

__all__ = ["SHORT_TASK_S", "describe_estimate", "describe_first_sweep"]

SHORT_TASK_S = 0.001  # below this, a pool's cost per task (tens to hundreds of µs) can outweigh the work

_ONE = {"processes": "process", "threads": "thread", "interpreters": "interpreter"}


def _what(backend: str, workers: int) -> str:
    if workers == 1:
        return _ONE.get(backend, "worker")
    return backend if backend in _ONE else "workers"


def _sentence(sweep: Sweep, p: SweepPoint) -> str:
    cores = sweep.metadata.usable_cores
    return describe_speedup(p.speedup, p.workers, cores, waiting=sweep.waiting, what=_what(sweep.backend, p.workers))


def describe_first_sweep(sweep: Sweep) -> str:
    """What the first sweep showed, from its numbers: the speedup at the cores and why it fell short (lesson 00).

    Equal, independent tasks have nothing that must run serially, so a shortfall is named
    as the pool's overhead (and an uneven split, when the tasks do not divide evenly), never
    as Amdahl's law. One usable core, a slowdown, superlinear results, the ideal capped at
    the cores past them, and a wide spread of the repeats are each said in their own words.
    """
    cores = sweep.metadata.usable_cores
    p = point_at_cores(sweep)
    lines = []
    if cores == 1:
        lines.append(f"One usable core: the sweep ran a single {_what(sweep.backend, 1)}, {_sentence(sweep, p)}. Work "
                     "that keeps a core busy cannot run faster than serially here (the ideal is 1×); "
                     "the lessons still run, and their CPU-bound speedups stay at or below 1×.")
    else:
        kind = regime(p.speedup, p.workers, cores, waiting=sweep.waiting)
        text = f"On {cores} usable cores: {_sentence(sweep, p)}."
        per_task = sweep.serial.median / max(sweep.tasks, 1)
        ideal = ideal_speedup(p.workers, cores, waiting=sweep.waiting)
        gil_bound = sweep.backend == "threads" and sweep.metadata.gil_enabled and not sweep.waiting
        if kind in ("slower", "same") and gil_bound:
            text += (" These are threads with the GIL enabled: one thread runs Python at a time, so "
                     "pure-Python work gains nothing from them (lesson 01).")
        elif kind in ("slower", "same") and p.workers > 1:
            text += f" Each task lasts about {format_seconds(per_task)} serially"
            if per_task < SHORT_TASK_S:
                text += (": so short that handing it to a worker and collecting its result cost "
                         f"{'more than' if kind == 'slower' else 'about as much as'} the parallel run "
                         "saved. Larger tasks hide that cost (try a larger fib(n) in the panel below).")
            else:
                text += (", far longer than handing it to a worker takes (well under a millisecond), so "
                         "the pool's overhead cannot explain this: " + unexplained(sweep.others_cores, cores)
                         + ". Run the cell again.")
        elif kind in ("below-ideal", "near-ideal") and p.speedup < ideal:
            causes = []
            if per_task < SHORT_TASK_S:
                causes.append(f"the pool handing out each task and collecting each result (each task lasts "
                              f"only about {format_seconds(per_task)} serially)")
            if sweep.tasks % p.workers:
                busiest = math.ceil(sweep.tasks / p.workers)
                causes.append(f"{sweep.tasks} tasks that do not split evenly over {p.workers} workers "
                              f"(the busiest does {busiest}, so even without overhead the speedup could "
                              f"reach only {format_speedup(sweep.tasks / busiest)})")
            if per_task >= SHORT_TASK_S:
                causes.append(f"not the pool: handing out a task costs well under a millisecond, against "
                              f"{format_seconds(per_task)} of work each; the machine itself: several busy cores "
                              "often run at a lower clock than one, and two logical cores may share one "
                              "physical core (hyper-threading)")
            elif kind == "below-ideal":
                causes.append("and, where two logical cores share one physical core (hyper-threading), "
                              "each gives less than a whole core")
            if sweep.busy:
                causes.append(unexplained(sweep.others_cores, cores))
            text += (f" The {sweep.tasks} tasks are equal and independent, so no part of this work has "
                     f"to run serially. The {'gap' if kind == 'below-ideal' else 'small gap'} to the ideal "
                     "is cost around the work: " + "; ".join(causes) + ".")
        lines.append(text)
    past = [q for q in sweep.points if q.workers > cores]
    if past:
        q = max(past, key=lambda x: x.workers)
        lines.append(f"Past the cores, {_sentence(sweep, q)}: "
                     + ("waiting tasks need no core, so more workers than cores can still help."
                        if sweep.waiting else "the extra workers take turns on the same cores."))
    warning = spread_warning(p.speedup_low, p.speedup, p.speedup_high)
    if warning:
        lines.append(f"Note: at {p.workers} {_what(sweep.backend, p.workers)} {warning}.")
    return "\n".join(lines)


def describe_estimate(sweep: Sweep) -> str:
    """What the serial-fraction estimate under the sweep means for equal tasks, and why there is no ceiling (lesson 00).

    The estimate (Karp-Flatt) is the share of the run that did not speed up. For lesson 00's
    tasks that share is overhead, not serial code; a ceiling 1/f is named only where the
    estimate has one (``MIN_CEILING_POINTS`` points or more within the cores), and then
    as a projection, not a measurement.
    """
    cores = sweep.metadata.usable_cores
    est = sweep.estimate
    if est is None:
        if cores == 1:
            return ("No serial-fraction estimate: it needs a point with 2 or more workers within the "
                    "usable cores, and this machine has one.")
        return (f"No serial-fraction estimate: the sweep has no point with 2 to {cores} workers "
                "(or it was measured without one).")
    n = est.points_used
    points = f"{n} point{'s' if n != 1 else ''}"
    if est.serial_fraction <= 0:
        return (f"The serial-fraction estimate (Karp–Flatt) is 0 from {points}: no share of these runs "
                "stayed slow, so nothing here limits the speedup and no ceiling is projected.")
    spread = "" if n == 1 else f", {est.low:.3f} to {est.high:.3f} point by point"
    text = (f"The serial-fraction estimate, {est.serial_fraction:.3f} from {points}{spread}, is the share "
            "of the run that did not speed up (Karp–Flatt). These tasks have no serial code, so here it "
            "is the pool's overhead written as if it were a serial part: an estimate, not a measured "
            "serial fraction.")
    if est.high >= 1:
        text += (" It is capped at 1 where a run was slower than serial, which no serial part can "
                 "cause: only overhead (or busy cores) can.")
    ceiling = est.ceiling
    if ceiling is not None:
        text += (f" If that overhead behaved like serial code, Amdahl's law would cap this work at "
                 f"{format_speedup(ceiling)} on any number of cores: a projection from {points}, "
                 "not a measurement.")
    else:
        text += f" No ceiling 1/f is projected: {est.why_no_ceiling(cores)}."
    return text
