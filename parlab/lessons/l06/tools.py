"""Higher-level tools beside the backends: asyncio, NumPy first, joblib, mpi4py.futures (lesson 06).

The notebook shows each tool's real code (a coroutine, a vectorised function, a ``Parallel``
call, an ``MPIPoolExecutor`` program launched under ``mpiexec``); this module times that code
against the serial run of the same work, checks the results equal, and words what the numbers
say for the decision guide. A tool that is not installed here is reported with the reason,
never run.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from parlab import system
from parlab._checks import check_whole
from parlab.lessons.words import SAME_HIGH, describe_speedup, regime
from parlab.measure import check_same, time_call
from parlab.results import Sweep, format_seconds, format_speedup

__all__ = [
    "TOOLS",
    "Baseline",
    "ToolRun",
    "baseline",
    "best_parallel",
    "describe_tool",
    "format_tools",
    "run_async",
    "time_tool",
    "tool_lines",
    "tool_status",
]

# The tools of the lesson's "Higher-level tools" section: name -> (module to import, install hint).
TOOLS: dict[str, tuple[str, str]] = {
    "asyncio": ("asyncio", "part of the standard library"),
    "numpy": ("numpy", "pip install numpy"),
    "joblib": ("joblib", "pip install joblib"),
    "mpi4py.futures": ("mpi4py", "pip install mpi4py mpich"),
}


def tool_status() -> dict[str, str | None]:
    """For each tool: None when it can run here, else why not (lesson 06)."""
    out: dict[str, str | None] = {}
    for name, (module, hint) in TOOLS.items():
        if importlib.util.find_spec(module) is None:
            out[name] = f"{module} is not installed: {hint}"
        elif name == "mpi4py.futures" and system.find_mpiexec() is None:
            out[name] = f"no mpiexec next to Python or on PATH: {hint}"
        else:
            out[name] = None
    return out


@dataclass(frozen=True)
class Baseline:
    """The serial run a tool is compared with: its results and its median time (lesson 06)."""

    results: list[Any]
    seconds: float


def baseline(serial: Callable[[], list[Any]], *, repeats: int = 3) -> Baseline:
    """Time ``serial()`` (a warm-up, then ``repeats`` runs) and keep its results (lesson 06)."""
    got: list[list[Any]] = []
    timing = time_call(lambda: got.append(serial()), repeats=repeats)
    return Baseline(got[-1], timing.median)


@dataclass(frozen=True)
class ToolRun:
    """One tool on the lesson's work: the serial and the tool's median time, results checked equal (lesson 06)."""

    name: str
    serial_s: float
    seconds: float
    workers: int             # workers, coroutines or ranks that did the work; 1 for one core
    waiting: bool = False    # waiting tasks: the ideal is the worker count, not the cores
    what: str = "workers"    # the word for the workers in sentences: "coroutines", "processes"
    launches: bool = False   # each run starts new programs: their launch is inside ``seconds``

    @property
    def speedup(self) -> float:
        return self.serial_s / self.seconds


def time_tool(name: str, run: Callable[[], list[Any]], serial: Baseline, *, workers: int,
              waiting: bool = False, what: str = "workers", launches: bool = False,
              repeats: int = 3) -> ToolRun:
    """Time ``run()`` against ``serial``; every run's results must equal the serial ones (lesson 06).

    A tool that launches programs on every run gets no warm-up (each run starts afresh).
    """
    workers = check_whole("workers", workers, 1)
    got: list[list[Any]] = []
    timing = time_call(lambda: got.append(list(run())), repeats=repeats, warmup=0 if launches else 1)
    for results in got:
        check_same(serial.results, results, name)
    return ToolRun(name, serial.seconds, timing.median, workers, waiting, what, launches)


def run_async(make: Callable[..., Coroutine[Any, Any, Any]], *args: Any, timeout: float = 60.0) -> Any:
    """``asyncio.run(make(*args))`` in a thread of its own, so it also works in a notebook (lesson 06).

    A notebook cell can ``await`` directly (the kernel's loop is running); a timing harness
    calls plain functions, and ``asyncio.run`` refuses to start inside a running loop.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make(*args))
        except BaseException as exc:  # noqa: BLE001 (handed back to the caller below)
            box["error"] = exc

    thread = threading.Thread(target=target, name="parlab-asyncio", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"the coroutine did not finish within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


# --------------------------------------------------------------------------- words and tables

def format_tools(runs: Mapping[str, ToolRun]) -> str:
    """The tools as a fixed-format text table: serial time, tool time, speedup, workers (lesson 06)."""
    lines = [f"{'tool':<16}{'workers':>8}{'serial':>11}{'tool':>11}{'speedup':>10}"]
    for r in runs.values():
        lines.append(f"{r.name:<16}{r.workers:>8}{format_seconds(r.serial_s):>11}"
                     f"{format_seconds(r.seconds):>11}{format_speedup(r.speedup):>10}")
    return "\n".join(lines)


def best_parallel(sweeps: Mapping[str, Sweep], cores: int) -> tuple[str, int, float] | None:
    """(backend, workers, speedup over the pure-Python loop) of the fastest point within the cores (lesson 06).

    Every backend is compared by its time against the pure-Python serial run, so a backend
    with its own baseline (the compiled kernel) is ranked by what it really took.
    """
    if "serial" not in sweeps:
        return None
    python_s = sweeps["serial"].serial.median
    found = [(python_s / p.timing.median, name, p.workers) for name, s in sweeps.items() if name != "serial"
             for p in s.points if p.workers <= max(cores, 1)]
    if not found:
        return None
    speedup, name, k = max(found, key=lambda f: (f[0], -f[2]))  # a tie goes to fewer workers
    return name, k, speedup


def _plural(what: str, k: int) -> str:
    singular = {"processes": "process", "coroutines": "coroutine", "workers": "worker", "ranks": "rank"}
    return singular.get(what, what) if k == 1 else what


def describe_tool(run: ToolRun, cores: int) -> str:
    """One tool's measured speedup in words, against the ideal here (lesson 06).

    On one worker (vectorised code) there is no ideal to compare with: a gain there comes from
    doing the same work in fewer, bigger operations, and is said so.
    """
    if run.workers == 1 and not run.waiting:
        head = f"{format_speedup(run.speedup)} on one core"
        kind = regime(run.speedup, 1, cores)
        if kind == "slower":
            return f"{head}: slower than the loop, taking {1 / run.speedup:.2f} times as long"
        if kind == "same":
            return f"{head}: about the same as the loop"
        return f"{head}: faster than the loop without any parallelism (fewer, bigger operations in C)"
    return describe_speedup(run.speedup, run.workers, cores, waiting=run.waiting,
                            what=_plural(run.what, run.workers))


def _numpy_line(run: ToolRun, sweeps: Mapping[str, Sweep], cores: int) -> str:
    text = (f"Number crunching that vectorises: try NumPy first, before any pool. The same prime count "
            f"vectorised (a sieve) took {format_seconds(run.seconds)} on one core, against "
            f"{format_seconds(run.serial_s)} for the pure-Python loop: {format_speedup(run.speedup)}")
    best = best_parallel(sweeps, cores)
    if best is None:
        return text + "."
    name, k, speedup = best
    ratio = run.speedup / speedup
    text += (f". The fastest backend in your table, {name} on {k} worker{'s' if k != 1 else ''}, "
             f"ran {format_speedup(speedup)} faster than the same loop")
    if ratio > SAME_HIGH:
        return text + (f": vectorising beat it by {format_speedup(ratio)}, on one core. Parallelise the "
                       "vectorised code only if it is still too slow.")
    if ratio < 1 / SAME_HIGH:
        return text + (f": here it beat vectorising by {format_speedup(1 / ratio)}; a sieve does more "
                       "work than the windows need, so measure both on your own work.")
    return text + ": about the same as vectorising; the vectorised code needs no pool."


def _launch_words(sweeps: Mapping[str, Sweep], cores: int) -> str:
    """The table's pool start-up beside mpiexec's launch, as measured; empty without both."""
    procs, mpi = sweeps.get("processes"), sweeps.get("mpi")
    if not procs or not mpi:
        return ""
    pool = max((p for p in procs.points if p.workers <= cores), key=lambda p: p.workers, default=procs.points[0])
    ranks = max((p for p in mpi.points if p.workers <= cores), key=lambda p: p.workers, default=mpi.points[0])
    said = (f"your table's process pool started in {format_seconds(pool.startup_s)}, mpiexec's launch "
            f"took {format_seconds(ranks.startup_s)}")
    if pool.startup_s < ranks.startup_s:
        return f" On one machine a process pool starts sooner: {said}."
    return f" Here a process pool started no sooner than MPI ranks: {said}."


def tool_lines(runs: Mapping[str, ToolRun], skipped: Mapping[str, str], sweeps: Mapping[str, Sweep],
               cores: int) -> list[str]:
    """The decision guide's lines for the tools, each with the number measured here (lesson 06)."""
    lines = []
    if "asyncio" in runs:
        r = runs["asyncio"]
        line = (f"Many waits in one program (sockets, HTTP, a database client with async support): "
                f"asyncio. {r.workers} waits took {format_seconds(r.serial_s)} one after another and "
                f"{format_seconds(r.seconds)} as coroutines in one thread: {describe_tool(r, cores)}.")
        if regime(r.speedup, r.workers, cores, waiting=True) in ("slower", "same"):
            line += " Coroutines should overlap their waits, and here they did not: run the cell again."
        else:
            line += " One thread holds thousands of waiting coroutines; it needs libraries that can await."
        lines.append(line)
    if "numpy" in runs:
        lines.append(_numpy_line(runs["numpy"], sweeps, cores))
    if "joblib" in runs:
        r = runs["joblib"]
        line = (f"A loop of independent calls with the least code: joblib's Parallel(n_jobs=k) (loky "
                f"processes, reused between calls): {describe_tool(r, cores)}.")
        procs = sweeps.get("processes")
        same_k = [p for p in procs.points if p.workers == r.workers] if procs else []
        if same_k:
            line += (f" ProcessPoolExecutor in your table: "
                     f"{describe_speedup(same_k[0].speedup, r.workers, cores, what=_plural('processes', r.workers))}"
                     "; the same kind of pool underneath.")
        lines.append(line)
    if "mpi4py.futures" in runs:
        r = runs["mpi4py.futures"]
        lines.append(f"The executor API across machines: mpi4py.futures (MPIPoolExecutor under mpiexec). "
                     f"Here, launch included: {describe_tool(r, cores)}. The same program runs on a "
                     "cluster's ranks (lesson 05)." + _launch_words(sweeps, cores))
    lines += [f"{name} was not measured: {why.rstrip('.')}." for name, why in skipped.items()]
    return lines
