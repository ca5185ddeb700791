"""Lesson 03's conclusions, from the numbers and the build alone (``describe_*``, ``mixed_bound``).

Each sentence describes the measurement beside it; tested in ``tests/lessons/l03/test_l03_conclusions.py``
and ``tests/lessons/l03/test_l03_words.py`` (with the Numba sentences of section 8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from parlab._checks import check_number, check_whole
from parlab.kernels import variant
from parlab.lessons.words import (
    NEAR_IDEAL,
    SAME_HIGH,
    SAME_LOW,
    describe_speedup,
    point_at_cores,
    regime,
    spread_warning,
)
from parlab.measure import amdahl_speedup
from parlab.results import Sweep, format_seconds, format_speedup

if TYPE_CHECKING:
    from parlab.lessons.l03.numba_kernels import LayerRun

__all__ = [
    "BUSY_HIGH",
    "BUSY_LOW",
    "busy_warning",
    "describe_compile",
    "describe_jit_threads",
    "describe_layers",
    "describe_mixed",
    "describe_openmp",
    "describe_overlap",
    "describe_oversubscription",
    "describe_prange",
    "describe_single_thread",
    "describe_variants",
    "mixed_bound",
    "variant_line",
]


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


BUSY_LOW, BUSY_HIGH = 0.8, 1.25  # one thread against the serial run: about 1× on a quiet machine


def _what(workers: int) -> str:
    return "thread" if workers == 1 else "threads"


def busy_warning(label: str, sweep: Sweep) -> str | None:
    """A warning when a sweep was measured on a busy machine: its 1-worker point far from 1×, or a wide spread.

    One worker runs the same work as the serial run, one task after another: anything far from
    1× there was other programs taking the cores, not the variant (lesson 03).
    """
    one = next((p for p in sweep.points if p.workers == 1), None)
    if one is not None and not BUSY_LOW <= one.speedup <= BUSY_HIGH:
        return (f"Careful ({label}): on 1 thread it measured {format_speedup(one.speedup)} against the serial run, "
                "where about 1.00× is expected: other programs were using the cores; run the cell again before "
                "drawing a conclusion from it.")
    at = point_at_cores(sweep)
    warning = spread_warning(at.speedup_low, at.speedup, at.speedup_high)
    return f"Careful ({label}): {warning}." if warning else None


def variant_line(label: str, sweep: Sweep, width: int = 0) -> str:
    """One variant's own number at the core count: "Cython, with nogil: 1.87× on 2 threads: ..." (lesson 03)."""
    at = point_at_cores(sweep)
    cores = sweep.metadata.usable_cores
    return f"{label + ':':<{width}} {describe_speedup(at.speedup, at.workers, cores, what=_what(at.workers))}."


def describe_variants(sweeps: Mapping[str, Sweep], processes: Sweep | None = None) -> list[str]:
    """Threads over each kernel variant (``{variant name: sweep}``), each described by its own number (lesson 03).

    Every variant gets a line of its own, read at the point with the most threads that fit the
    cores (never a range over variants, which would put one variant's words beside another's
    number). The build (GIL on or off) and the usable cores come from the sweeps' metadata, so
    the sentence never credits the GIL with what a free-threaded build did, nor a missing core
    with what the GIL did. A busy machine (a 1-thread point far from 1×, or a wide spread) is
    said to be busy, and then nothing is concluded from the numbers it touched.
    """
    if not sweeps:
        raise ValueError("describe_variants needs at least one sweep")
    first = next(iter(sweeps.values()))
    cores, gil = first.metadata.usable_cores, first.metadata.gil_enabled
    chosen = {name: variant(name) for name in sweeps}
    width = max(len(v.label) for v in chosen.values()) + 1
    if cores == 1:
        lines = [("One usable core: two threads cannot run at once whatever the GIL does, so no variant can "
                  "speed up here.")]
    else:
        lines = [f"{_gil_words(gil)[0].upper()}{_gil_words(gil)[1:]}; {_cores(cores)}."]
    lines += [variant_line(chosen[name].label, sweep, width) for name, sweep in sweeps.items()]
    warnings = [w for name, sweep in sweeps.items() if (w := busy_warning(chosen[name].label, sweep))]
    held = {name: point_at_cores(s).speedup for name, s in sweeps.items() if not chosen[name].releases_gil}
    released = {name: point_at_cores(s).speedup for name, s in sweeps.items() if chosen[name].releases_gil}
    if not released:
        lines.append("No compiled kernel here: only the pure-Python fallback ran. Build the kernels (see Setup) "
                     "and rerun.")
    if cores > 1 and held:
        high = [name for name, s in held.items() if s > SAME_HIGH]
        if gil and high and not warnings:
            names = ", ".join(chosen[name].label for name in high)
            lines.append(f"{names} measured more than 1× although only one thread at a time can hold this build's "
                         "GIL: the serial run was probably slowed by other programs; run the cell again.")
        elif gil and not high:
            slow = [chosen[name].label for name, s in held.items() if s < SAME_LOW]
            lines.append("With the GIL held, only one of the threads runs at a time, whatever the language"
                         + (f"; {', '.join(slow)} even lost time: the threads queued for the GIL." if slow else "."))
        elif not gil:
            short = [chosen[n].label for n, s in held.items()
                     if regime(s, point_at_cores(sweeps[n]).workers, cores) not in ("near-ideal", "superlinear",
                                                                                    "above-ideal")]
            lines.append("Without a GIL, the 'GIL held' kernels ran side by side too." if not short else
                         f"Without a GIL the 'GIL held' kernels could have run side by side, yet {', '.join(short)} "
                         "did not reach near the ideal: see the numbers above.")
    flat = [chosen[name].label for name, s in released.items() if s <= SAME_HIGH]
    if cores > 1 and flat and not warnings:
        lines.append(f"{', '.join(flat)} could have run side by side on these cores, yet did not gain: other "
                     "programs were probably using the cores; run the cell again.")
    lines += warnings
    if processes is not None:
        at = point_at_cores(processes)
        text = describe_speedup(at.speedup, at.workers, cores, what="process" if at.workers == 1 else "processes")
        why = "; each process has its own GIL" if gil and at.speedup > SAME_HIGH else ""
        lines.append(f"Processes over the GIL-holding kernel: {text}{why}.")
        if (warning := busy_warning("processes", processes)) is not None:
            lines.append(warning)
    return lines


def describe_overlap(label: str, share: float, *, releases_gil: bool, cores: int, gil_enabled: bool) -> str:
    """How much of a timeline had two or more tasks at once, and what in the build explains it (lesson 03)."""
    share = check_number("share", share, 0, 1)
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
    threads, cores = check_whole("threads", threads, 1), check_whole("cores", cores, 1)
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
    if lanes > 1 and gil_enabled and measured < amdahl / SAME_HIGH:
        verdict += (": the bound counts no cost for passing the GIL, yet a thread whose C part ends must wait "
                    "for the GIL while another runs Python (up to the switch interval: lesson 01a's convoy effect)")
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


# --------------------------------------------------------------------------- Numba (section 8)

def describe_compile(first_s: float, later_s: float) -> str:
    """The first call of a Numba function against a later one: the compile cost, paid once per process (lesson 03)."""
    if first_s <= 0 or later_s <= 0:
        raise ValueError(f"times must be > 0 seconds, got {first_s!r} and {later_s!r}")
    if first_s > SAME_HIGH * later_s:
        cost = (f"first call {format_seconds(first_s)} (Numba compiled it), later calls {format_seconds(later_s)}: "
                f"about {format_seconds(first_s - later_s)} of compiling, paid once per process")
    else:
        cost = (f"first call {format_seconds(first_s)}, a later one {format_seconds(later_s)}: this time the "
                "compiling did not show (it was compiled already, or the later call was slowed)")
    return cost[0].upper() + cost[1:] + ". Time a Numba function after a first call, never the first."


def describe_jit_threads(label: str, sweep: Sweep, *, nogil: bool = True) -> list[str]:
    """Threads over a Numba kernel: its own number at the core count, the build, and a busy machine said (lesson 03)."""
    at = point_at_cores(sweep)
    cores, gil = sweep.metadata.usable_cores, sweep.metadata.gil_enabled
    lines = [f"{_gil_words(gil)[0].upper()}{_gil_words(gil)[1:]}; {_cores(cores)}.", variant_line(label, sweep)]
    warning = busy_warning(label, sweep)
    if cores == 1:
        lines.append("One usable core: threads take turns whatever the kernel releases.")
    elif warning:
        lines.append(warning)
    elif at.speedup > SAME_HIGH:
        why = ("nogil=True released the GIL for each call" if gil and nogil else
               "this build has no GIL to hold" if not gil else "unexpected for a kernel that holds the GIL")
        partly = regime(at.speedup, at.workers, cores) == "below-ideal"
        lines.append(f"The threads ran {'partly ' if partly else ''}side by side: {why}.")
    elif gil and not nogil:
        lines.append("Without nogil=True the compiled code keeps the GIL: the threads take turns.")
    else:
        lines.append("It could have run side by side on these cores, yet did not gain: other programs were "
                     "probably using the cores; run the cell again.")
    return lines


def describe_prange(one_s: float, many_s: float, threads: int, *, cores: int, layer: str) -> str:
    """One ``parallel=True`` call on 1 Numba thread against ``threads``, and the layer that ran it (lesson 03)."""
    if one_s <= 0 or many_s <= 0:
        raise ValueError(f"times must be > 0 seconds, got {one_s!r} and {many_s!r}")
    return (f"one call, 1 Numba thread: {format_seconds(one_s)}; one call, {threads} Numba threads: "
            f"{format_seconds(many_s)}: "
            + describe_speedup(one_s / many_s, threads, cores, what="Numba threads" if threads > 1 else "Numba thread")
            + f" (threading layer: {layer}).")


_LAYER_NAMES = {"workqueue": "workqueue", "omp": "OpenMP", "tbb": "TBB"}


def describe_layers(runs: Sequence[LayerRun]) -> list[str]:
    """How each child ended that called a ``parallel=True`` function from 4 threads at once (lesson 03)."""
    if not runs:
        raise ValueError("describe_layers needs at least one run")
    available = [_LAYER_NAMES[name] for name in runs[0].available]
    lines = [f"Threading layers that load here: {', '.join(available) if available else 'none'}."]
    for run in runs:
        name = _LAYER_NAMES.get(run.asked, run.asked)
        if run.ok:
            lines.append(f"{name:<9} 4 threads at once: right result, the process went on ({run.used} ran it).")
        else:
            said = f" Numba said: {run.message}" if run.message else ""
            lines.append(f"{name:<9} 4 threads at once: the process was stopped ({run.how_it_ended}).{said}")
    if any(not r.ok for r in runs if r.asked == "workqueue") and any(r.ok for r in runs if r.asked != "workqueue"):
        lines.append("Numba picks TBB, then OpenMP, then workqueue: set NUMBA_THREADING_LAYER=tbb (or "
                     "numba.config.THREADING_LAYER = 'tbb' before the first parallel call) to make sure.")
    return lines


def describe_oversubscription(processes: int, threads_each: int, cores: int) -> str:
    """Process workers that each start Numba threads: how many threads the cores get (lesson 03)."""
    processes, threads_each = check_whole("processes", processes, 1), check_whole("threads_each", threads_each, 1)
    cores = check_whole("cores", cores, 1)
    total = processes * threads_each
    head = (f"{processes} process{'es' if processes != 1 else ''} × {threads_each} Numba "
            f"thread{'s' if threads_each != 1 else ''} each = {total} thread{'s' if total != 1 else ''} "
            f"on {_cores(cores)}")
    if total <= cores:
        return f"{head}: no more threads than cores."
    return (f"{head}: {total / cores:.1f} threads per core, which then take turns (oversubscribed). Give each "
            f"worker {max(1, cores // processes)} (NUMBA_NUM_THREADS in its environment, or numba.set_num_threads).")
