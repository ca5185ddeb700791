"""Lesson 03's conclusions, from the numbers and the build alone (``describe_*``, ``mixed_bound``).

Each sentence describes the measurement beside it; tested in ``tests/lessons/test_conclusions_l02_l03.py``.
"""

from __future__ import annotations

from collections.abc import Mapping

from parlab.kernels import variant
from parlab.lessons.words import NEAR_IDEAL, SAME_HIGH, SAME_LOW, describe_speedup, regime, spread_warning
from parlab.measure import amdahl_speedup
from parlab.results import Sweep, format_seconds, format_speedup

__all__ = ["describe_mixed", "describe_openmp", "describe_overlap", "describe_single_thread", "describe_variants",
           "mixed_bound"]


# --------------------------------------------------------------------------- conclusions, from the numbers

def _cores(n: int) -> str:
    return f"{n} usable core{'' if n == 1 else 's'}"


def _gil_words(gil_enabled: bool) -> str:
    return ("this build has a GIL" if gil_enabled else
            "this build runs without a GIL (free-threaded): holding the GIL holds nothing back")


def describe_single_thread(python_s: float, c_s: float, *, compiled: bool) -> str:
    """One thread, pure Python against the Cython kernel: how many times as fast, or why both ran Python (lesson 03)."""
    if not compiled:
        return "The Cython kernel is not built here: both lines ran pure Python."
    ratio = python_s / c_s
    if ratio < SAME_LOW:
        return f"One thread of C took {c_s / python_s:.2f} times as long as pure Python here: slower, not faster."
    if ratio <= SAME_HIGH:
        return f"One thread of C ran about as fast as pure Python here ({format_speedup(ratio)})."
    return f"One thread of C is {format_speedup(ratio)} as fast as pure Python."


def describe_variants(sweeps: Mapping[str, Sweep], processes: Sweep | None = None) -> list[str]:
    """Threads over each kernel variant (``{variant name: sweep}``), GIL-holding against releasing (lesson 03).

    Each sweep's last point is read (the most threads); the build (GIL on or off) and the
    usable cores come from the sweeps' metadata, so the sentence never credits the GIL with
    what a free-threaded build did, nor a missing core with what the GIL did.
    """
    if not sweeps:
        raise ValueError("describe_variants needs at least one sweep")
    first = next(iter(sweeps.values()))
    cores, gil = first.metadata.usable_cores, first.metadata.gil_enabled
    groups: dict[bool, list[tuple[str, float, int]]] = {True: [], False: []}
    for name, sweep in sweeps.items():
        last = sweep.points[-1]
        groups[variant(name).releases_gil].append((variant(name).label, last.speedup, last.workers))
    lines = []
    if cores == 1:
        lines.append("One usable core: two threads cannot run at once whatever the GIL does, so no variant can "
                     "speed up here.")
    else:
        lines.append(f"{_gil_words(gil)[0].upper()}{_gil_words(gil)[1:]}; {_cores(cores)}.")
    for releases, found in ((False, groups[False]), (True, groups[True])):
        if not found:
            continue
        kind = "release the GIL" if releases else "hold the GIL"
        worst = min(found, key=lambda item: item[1])
        best = max(found, key=lambda item: item[1])
        text = describe_speedup(best[1], best[2], cores, what="thread" if best[2] == 1 else "threads")
        start = "" if len(found) == 1 else f"from {format_speedup(worst[1])} to "
        lines.append(f"Kernels that {kind}: {start}{text}.")
    if not groups[True]:
        lines.append("No compiled kernel here: only the pure-Python fallback ran. Build the kernels (see Setup) "
                     "and rerun.")
    if cores > 1 and groups[False]:
        held = max(s for _, s, _ in groups[False])
        held_kind = regime(held, groups[False][0][2], cores)
        if gil and held > SAME_HIGH:
            lines.append(f"A GIL-holding kernel measured {format_speedup(held)} although only one thread at a time "
                         "can hold this build's GIL: the serial run was probably slowed by other programs; run the "
                         "cell again.")
        elif gil:
            lines.append("With the GIL held, only one of the threads runs at a time, whatever the language.")
        elif held_kind in ("near-ideal", "superlinear"):
            lines.append("Without a GIL, the 'GIL held' kernels ran side by side too.")
        else:
            lines.append("Without a GIL the 'GIL held' kernels could have run side by side, yet did not reach near "
                         "the ideal: see the numbers above.")
    if cores > 1 and groups[True] and max(s for _, s, _ in groups[True]) <= SAME_HIGH:
        lines.append("The kernels that release the GIL could have run side by side on these cores, yet did not "
                     "gain: other programs were probably using the cores; run the cell again.")
    noisy = [(variant(name).label, warning) for name, sweep in sweeps.items()
             if (warning := spread_warning(sweep.points[-1].speedup_low, sweep.points[-1].speedup,
                                           sweep.points[-1].speedup_high))]
    if noisy:
        lines.append(f"Careful ({noisy[0][0]}{' and others' if len(noisy) > 1 else ''}): {noisy[0][1]}.")
    if processes is not None:
        last = processes.points[-1]
        text = describe_speedup(last.speedup, last.workers, cores,
                                what="process" if last.workers == 1 else "processes")
        why = "; each process has its own GIL" if gil and last.speedup > SAME_HIGH else ""
        lines.append(f"Processes over the GIL-holding kernel: {text}{why}.")
    return lines


def describe_overlap(label: str, share: float, *, releases_gil: bool, cores: int, gil_enabled: bool) -> str:
    """How much of a timeline had two or more tasks at once, and what in the build explains it (lesson 03)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be within [0, 1], got {share!r}")
    head = f"{label:<20} two or more tasks ran at once during {share:.0%} of the run"
    if share < 0.10:
        if cores == 1 and releases_gil:
            return f"{head}: one at a time (the system ran them in turns on the 1 usable core)"
        if gil_enabled and not releases_gil:
            return f"{head}: one at a time, a staircase (the GIL let one thread run)"
        return f"{head}: one at a time, although nothing here made them take turns (a busy machine?)"
    where = " (taking turns on the 1 usable core)" if cores == 1 else ""
    if share >= 0.5:
        why = ("the kernel released the GIL" if releases_gil else
               "this build has no GIL to hold" if not gil_enabled else "unexpected with the GIL held")
        return f"{head}: side by side{where} ({why})"
    return f"{head}: partly side by side{where}"


def mixed_bound(python_s: float, c_s: float, threads: int, cores: int, *, gil_enabled: bool = True) -> float:
    """The best speedup of tasks running ``python_s`` of Python (GIL held), then ``c_s`` of C (released) (lesson 03).

    With a GIL, the Python parts of all tasks take turns, but one thread's Python runs beside
    another thread's C: the run can be no shorter than all the Python parts one after
    another, nor than all the work shared by min(threads, cores) cores. So the speedup is at
    most min(threads, cores, (P + C) / P). Without a GIL only the cores bound it.
    Amdahl's law with P / (P + C) as the serial fraction assumes that nothing else runs during
    the Python part, which is too pessimistic here.
    """
    if python_s < 0 or c_s < 0 or python_s + c_s <= 0:
        raise ValueError(f"the two parts' times must be >= 0 and not both 0, got {python_s!r} and {c_s!r}")
    if threads < 1 or cores < 1:
        raise ValueError(f"threads and cores must be >= 1, got {threads} and {cores}")
    lanes = float(min(threads, cores))
    if not gil_enabled or python_s == 0:
        return lanes
    return min(lanes, (python_s + c_s) / python_s)


def describe_mixed(python_s: float, c_s: float, measured: float, threads: int, cores: int, *,
                   gil_enabled: bool, spread: tuple[float, float] | None = None) -> list[str]:
    """Section 7: the measured speedup of half-Python, half-C tasks beside the bound and Amdahl's law (lesson 03).

    ``spread`` is the measured speedup's (low, high) range; a wide one adds a warning.
    """
    share = python_s / (python_s + c_s)
    bound = mixed_bound(python_s, c_s, threads, cores, gil_enabled=gil_enabled)
    amdahl = amdahl_speedup(share, min(threads, cores))
    lanes = min(threads, cores)
    lines = [f"Per task: Python {format_seconds(python_s)}, C {format_seconds(c_s)} (Python's share {share:.2f})."]
    if lanes == 1:
        lines.append(f"{threads} thread{'s' if threads > 1 else ''} on {_cores(cores)}: nothing can overlap on "
                     "the cores, so the bound is 1.00×.")
    elif gil_enabled:
        limit = ("the Python parts one after another" if bound < lanes
                 else f"the work shared by {lanes} cores")
        lines.append(f"With a GIL the Python parts take turns, but one thread's Python runs beside another "
                     f"thread's C: the bound is {format_speedup(bound)} on {threads} threads (set by {limit}). "
                     f"Amdahl's law with {share:.2f} as the serial fraction gives {format_speedup(amdahl)}: it "
                     "assumes the other threads wait during the Python part, and they do not.")
    else:
        lines.append(f"This build runs without a GIL: the Python parts need not take turns either, so only the "
                     f"{lanes} cores bound it: {format_speedup(bound)} on {threads} threads. Amdahl's law with "
                     f"{share:.2f} as the serial fraction gives {format_speedup(amdahl)}, but nothing here is "
                     "serial.")
    got = format_speedup(measured)
    if measured < SAME_LOW:
        verdict = f"measured {got}: slower than one thread"
    elif measured > SAME_HIGH * bound:
        verdict = (f"measured {got}: above the bound {format_speedup(bound)}, so the one-thread timings of the "
                   "parts were slower than in the run; run the cells again")
    elif measured >= NEAR_IDEAL * bound:
        verdict = f"measured {got}: {measured / bound:.0%} of the bound, close to it"
    elif measured > SAME_HIGH * amdahl:
        verdict = (f"measured {got}: above Amdahl's {format_speedup(amdahl)}, {measured / bound:.0%} of the "
                   "bound: the threads overlapped Python with C, but not fully")
    elif measured >= amdahl / SAME_HIGH:
        verdict = (f"measured {got}: about Amdahl's {format_speedup(amdahl)}, {measured / bound:.0%} of the "
                   "bound: little of the Python overlapped with C")
    elif measured <= SAME_HIGH:
        verdict = f"measured {got}: about the same as one thread, below even Amdahl's {format_speedup(amdahl)}"
    else:
        verdict = f"measured {got}: below even Amdahl's {format_speedup(amdahl)}"
    lines.append(verdict[0].upper() + verdict[1:] + ".")
    if spread is not None and (warning := spread_warning(spread[0], measured, spread[1])):
        lines.append(f"Careful: {warning}.")
    return lines


def describe_openmp(one_s: float | None, many_s: float | None, threads: int, *, cores: int,
                    openmp: bool, cython: bool) -> str:
    """One call on 1 thread against one call on ``threads`` OpenMP threads, or why it was not run (lesson 03)."""
    if not openmp or one_s is None or many_s is None:
        if cython:
            return "OpenMP is not available with this compiler: the optional prange kernel was not built."
        return "The compiled kernels are not built here (see Setup), so neither is the OpenMP one."
    return (f"one call, 1 thread: {format_seconds(one_s)}; one call, {threads} OpenMP threads: "
            f"{format_seconds(many_s)}: " + describe_speedup(one_s / many_s, threads, cores, what="OpenMP threads"))
