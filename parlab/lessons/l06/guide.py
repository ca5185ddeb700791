"""The decision guide: each kind of work, the backend to choose, and the number measured here (lesson 06).

Every line is built from the learner's own sweeps (``l06_reference.measure_backends``), the
two quick measurements of ``l06_strategy`` (waiting tasks and ``hashlib`` on threads) and the
higher-level tools of ``l06_tools``; speedups are worded by ``parlab.lessons.words`` against
the ideal here, so a line never says more than its number does, on 1 to 64 cores, with the
GIL on or off. A backend the guide has no question for (a new one in ``l06_backends``) still
gets a line with its own number.
"""

from __future__ import annotations

from collections.abc import Mapping

from parlab.lessons.l06.tools import ToolRun, tool_lines
from parlab.lessons.words import SAME_HIGH, describe_speedup, regime
from parlab.measure import ideal_speedup
from parlab.results import Sweep, SweepPoint, format_seconds, format_speedup

__all__ = ["GUIDED", "at_cores", "decision_guide", "describe_launch", "worker_word"]

# The backends the guide has a question for; any other measured backend gets a line of its own.
GUIDED = frozenset({"serial", "threads", "processes", "kernel-threads", "children", "mpi"})

def at_cores(sweep: Sweep, cores: int | None = None) -> SweepPoint:
    """The point with the most workers that does not exceed the usable cores (lesson 06)."""
    limit = cores or sweep.metadata.usable_cores
    return max((p for p in sweep.points if p.workers <= limit), key=lambda p: p.workers,
               default=sweep.points[0])


_ONE = {"processes": "process", "threads": "thread", "children": "child", "ranks": "rank", "workers": "worker"}


def worker_word(what: str, workers: int) -> str:
    """The word for ``workers`` of a kind, singular for one: "1 process", "2 processes" (lesson 06)."""
    return _ONE.get(what, what) if workers == 1 else what


_what = worker_word


def _said(p: SweepPoint, cores: int, what: str, *, waiting: bool = False) -> str:
    return describe_speedup(p.speedup, p.workers, cores, waiting=waiting, what=_what(what, p.workers))


def describe_launch(sweep: Sweep, cores: int, what: str) -> str:
    """A backend that starts programs on every run: its speedup at the cores, and what its launch cost (lesson 06).

    The launch is measured alone (a run with no work), so "without it" is an estimate: in
    a real run the launch overlaps the work, and the estimate can pass the ideal; it is
    then called an upper bound, never a speedup that was reached.
    """
    p = at_cores(sweep, cores)
    run, launch = p.timing.median, p.startup_s
    text = (f"{_said(p, cores, what)}. Each run took {format_seconds(run)}, and the launch alone "
            f"(no work) {format_seconds(launch)}")
    if launch >= run:
        return (text + ": the launch measured alone took as long as a whole run, so the work cannot "
                "be told apart from it here; run the sweep again.")
    without = sweep.serial.median / (run - launch)
    ideal = ideal_speedup(p.workers, cores)
    text += f"; without the launch the speedup would be about {format_speedup(without)}"
    if without > ideal:
        text += (f", above the ideal {format_speedup(ideal)}, which no run can pass: in a real run the "
                 "launch overlaps the work (the first programs start working while the last still "
                 "start), so subtracting all of it overstates the gain. Read it as an upper bound")
    text += "."
    if launch > 0.2 * run:
        text += (f" The launch is {launch / run:.0%} of each run: give each launch work that lasts "
                 "much longer than it.")
    return text


def _cpu_line(thr: Sweep | None, proc: Sweep | None, cores: int) -> str | None:
    t = at_cores(thr, cores) if thr else None
    p = at_cores(proc, cores) if proc else None
    if t is None and p is None:
        return None
    ptxt = _said(p, cores, "processes") if p else "processes were not measured"
    ttxt = _said(t, cores, "threads") if t else "threads were not measured"
    meta = (thr or proc).metadata  # type: ignore[union-attr]
    if cores == 1:
        return (f"CPU-bound pure Python: one usable core here, so neither threads nor processes can "
                f"beat 1× ({ttxt}; {ptxt}). On more cores, choose processes (each has its own GIL), "
                "or threads on a free-threaded build without the GIL.")
    if meta.gil_enabled:
        line = (f"CPU-bound pure Python: choose processes, each with its own GIL: {ptxt}."
                + (_no_gain(p.speedup, p.workers, cores) if p else ""))
        if t is None:
            return line
        if regime(t.speedup, t.workers, cores) in ("slower", "same"):
            return line + f" The GIL is enabled here, so one thread runs Python at a time: {ttxt}."
        return (line + f" The GIL is enabled here, so only one thread runs Python at a time, yet {ttxt}: "
                "run the sweep again before trusting a thread speedup.")
    line = (f"CPU-bound pure Python: this build runs without the GIL, so threads can run Python on "
            f"several cores at once: {ttxt}; {ptxt}.")
    if t is not None and p is not None:
        best = "threads" if t.speedup >= p.speedup else "processes"
        line += f" Threads or processes: here {best} were faster; processes work on every Python."
    return line


def _no_gain(speedup: float, workers: int, cores: int) -> str:
    """A caveat when the measurement behind a choice shows no gain (none on one core: nothing can)."""
    if cores == 1 or workers == 1 or regime(speedup, workers, cores) not in ("slower", "same"):
        return ""
    return " This run shows no gain, so it does not support the choice by itself: run the sweep again."


def _ratio_words(ratio: float) -> str:
    if ratio > SAME_HIGH:
        return f"already {format_speedup(ratio)} faster than pure Python, before any thread"
    if ratio < 1 / SAME_HIGH:
        return f"slower than pure Python here, taking {1 / ratio:.2f} times as long"
    return "about as fast as pure Python"


def decision_guide(sweeps: Mapping[str, Sweep], skipped: Mapping[str, str], *,
                   io: tuple[float, float, float], c_threads: tuple[float, float, float],
                   io_workers: int = 8, c_workers: int | None = None,
                   tools: Mapping[str, ToolRun] | None = None,
                   tools_skipped: Mapping[str, str] | None = None) -> list[str]:
    """Each situation, the backend to choose, and the number measured here that says why (lesson 06).

    ``io`` and ``c_threads`` are ``(serial s, parallel s, speedup)`` from ``io_speedup``
    (``io_workers`` threads waiting) and ``hashlib_speedup`` (``c_workers`` threads, the
    usable cores by default). ``tools`` and ``tools_skipped`` come from ``l06_tools`` (asyncio,
    NumPy, joblib, mpi4py.futures): measured, or why not. Every speedup is worded by
    ``conclude.describe_speedup`` against the ideal here: the worker count for waiting tasks,
    capped at the cores for CPU work.
    """
    cores = sweeps["serial"].metadata.usable_cores
    lines = [f"Note: the serial timing was unstable ({w}), so run the sweep again before trusting small "
             "differences." for w in sweeps["serial"].serial.warnings[:1]]
    io_text = describe_speedup(io[2], io_workers, cores, waiting=True, what=_what("threads", io_workers))
    line = (f"I/O-bound (waiting on disk or network): choose threads. {io_workers} waits took "
            f"{format_seconds(io[0])} one after another and {format_seconds(io[1])} on threads: {io_text}.")
    if regime(io[2], io_workers, cores, waiting=True) in ("slower", "same"):
        line += " Waiting threads should overlap their waits, and here they did not: run the cell again."
    else:
        line += (" A waiting thread releases the GIL and needs no core, so more threads than cores "
                 "help here.")
    lines.append(line)
    cpu = _cpu_line(sweeps.get("threads"), sweeps.get("processes"), cores)
    if cpu:
        lines.append(cpu)
    kern = sweeps.get("kernel-threads")
    if kern:
        k = at_cores(kern, cores)
        faster = sweeps["serial"].serial.median / kern.serial.median
        lines.append(f"C code that releases the GIL: choose threads. The compiled kernel on threads: "
                     f"{_said(k, cores, 'threads')}; one call of it is {_ratio_words(faster)}."
                     + _no_gain(k.speedup, k.workers, cores))
    else:
        n = c_workers or cores
        lines.append(f"C code that releases the GIL: choose threads. hashlib (C in the standard library) "
                     f"on threads: {describe_speedup(c_threads[2], n, cores, what=_what('threads', n))}."
                     + _no_gain(c_threads[2], n, cores)
                     + f" The compiled kernel was not measured: "
                     f"{skipped.get('kernel-threads', 'not requested').rstrip('.')}.")
    if sweeps.get("children"):
        lines.append("Separate programs (tools, scripts you cannot import): choose child scripts: "
                     + describe_launch(sweeps["children"], cores, "children"))
    hosts = ("More than one machine: choose MPI (lesson 05) for ranks that exchange data: mpiexec with "
             "a host file starts them on several hosts. Child scripts (lesson 04) run on several hosts "
             "too, when every host reaches their board (Redis).")
    if sweeps.get("mpi"):
        lines.append(f"{hosts} MPI here, on one machine: " + describe_launch(sweeps["mpi"], cores, "ranks"))
    else:
        lines.append(f"{hosts} MPI was not measured here: {skipped.get('mpi', 'not requested').rstrip('.')}.")
    for name, sweep in sweeps.items():
        if name not in GUIDED:  # a backend added to l06_backends after this guide was written
            said = _said(at_cores(sweep, cores), cores, "workers")
            lines.append(f"{sweep.label} ({name}), also in your table: {said}.")
    if tools or tools_skipped:
        lines += tool_lines(tools or {}, tools_skipped or {}, sweeps, cores)
    return lines


