"""Choosing a strategy: Amdahl and Gustafson with sliders, scaled speedups, the decision guide (lesson 06).

The panel computes laws, it measures nothing: the learner's points come from the sweeps
measured earlier in the lesson. The guide prints each choice with the number behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import ipywidgets as w
from matplotlib.axes import Axes

from parlab import system
from parlab.lessons.l06_backends import Task, python_serial, workload_tasks
from parlab.lessons.l06_reference import Reference, check_comparable
from parlab.measure import amdahl_speedup, check_same, gustafson_speedup, time_call
from parlab.plot import new_axes
from parlab.results import Sweep, SweepPoint, format_seconds, format_speedup
from parlab.run import WorkerPool
from parlab.widgets import Panel
from parlab.workloads import count_primes, hash_buffer, io_wait, make_buffer

__all__ = [
    "at_cores",
    "compare_rows",
    "decision_guide",
    "fit_gustafson",
    "hashlib_speedup",
    "io_speedup",
    "law_rows",
    "laws",
    "laws_panel",
    "plot_backends",
    "plot_laws",
    "pool_speedup",
    "scaled_speedups",
    "text_table",
]


# --------------------------------------------------------------------------- measuring

def _map_into(got: list[list[int]], pool: WorkerPool, work: list[Task]) -> None:
    got.append(pool.map(count_primes, work, star=True).results)


def scaled_speedups(workers: Sequence[int], *, backend: str = "processes", per_worker: int = 16,
                    repeats: int = 3) -> dict[int, float]:
    """Gustafson's scaled speedup: k workers on k times the work, against one worker's time × k (lesson 06)."""
    base = workload_tasks(per_worker)
    expected = python_serial(base)
    one = time_call(lambda: python_serial(base), repeats=repeats).median
    out = {}
    for k in workers:
        work = base * k
        got: list[list[int]] = []
        with WorkerPool(backend, k, warn=False) as pool:
            t = time_call(partial(_map_into, got, pool, work), repeats=repeats)
        for r in got:
            check_same(expected * k, r, f"{backend} with {k} workers")
        out[k] = k * one / t.median  # the serial time of k × the work, over the parallel time
    return out


def fit_gustafson(scaled: Mapping[int, float]) -> float:
    """The serial fraction that Gustafson's law S = k - f (k - 1) gives for measured points, in [0, 1] (lesson 06)."""
    pts = [(k, s) for k, s in scaled.items() if k > 1]
    if not pts:
        raise ValueError("a Gustafson fit needs at least one point with more than one worker")
    f = sum((k - s) * (k - 1) for k, s in pts) / sum((k - 1) ** 2 for k, _ in pts)  # least squares
    return min(1.0, max(0.0, f))


def pool_speedup(func: Any, tasks: list[Any], workers: int, backend: str = "threads",
                 repeats: int = 3) -> tuple[float, float, float]:
    """(serial s, parallel s, speedup) of ``func`` over ``tasks``, results checked equal (lesson 06)."""
    expected = [func(t) for t in tasks]
    serial = time_call(lambda: [func(t) for t in tasks], repeats=repeats, warmup=0).median
    with WorkerPool(backend, workers, warn=False) as pool:
        got: list[list[Any]] = []
        par = time_call(lambda: got.append(pool.map(func, tasks).results), repeats=repeats).median
    for r in got:
        check_same(expected, r, backend)
    return serial, par, serial / par


def io_speedup(workers: int = 8, seconds: float = 0.05) -> tuple[float, float, float]:
    """I/O-bound tasks (``io_wait``) on threads: (serial s, threads s, speedup) (lesson 06)."""
    return pool_speedup(io_wait, [seconds] * workers, workers, "threads", repeats=2)


def hashlib_speedup(workers: int | None = None, nbytes: int = 1 << 24) -> tuple[float, float, float]:
    """Stdlib C code that releases the GIL (hashlib on large buffers) on threads (lesson 06)."""
    k = workers or system.usable_cores()
    data = make_buffer(nbytes)
    return pool_speedup(hash_buffer, [data] * (4 * k), k, "threads")


# --------------------------------------------------------------------------- the laws

def laws(fraction: float, max_workers: int) -> dict[str, list[float]]:
    """Amdahl and Gustafson curves for workers 1..max_workers (lesson 06)."""
    if not 0.0 <= fraction <= 1.0 or max_workers < 1:
        raise ValueError(f"fraction must be in [0, 1] and max_workers >= 1, got {fraction}, {max_workers}")
    ks = list(range(1, max_workers + 1))
    return {"workers": [float(k) for k in ks], "amdahl": [amdahl_speedup(fraction, k) for k in ks],
            "gustafson": [gustafson_speedup(fraction, k) for k in ks]}


def plot_laws(result: Mapping[str, Any], ax: Axes | None = None) -> Axes:
    """Both laws for one serial fraction, with measured strong and scaled points placed on them (lesson 06)."""
    ax = new_axes(ax)
    f, curves = result["fraction"], laws(result["fraction"], result["max_workers"])
    ks = curves["workers"]
    ax.plot(ks, ks, color="0.6", linestyle="--", label="ideal (speedup = workers)")
    ax.plot(ks, curves["amdahl"], color="C0", label="Amdahl: fixed problem size")
    ax.plot(ks, curves["gustafson"], color="C1", label="Gustafson: problem grows with workers")
    if f > 0:
        ax.axhline(1 / f, color="C0", linestyle=":", linewidth=1, label=f"Amdahl's ceiling 1/f = {1 / f:.3g}")
    strong, scaled = result.get("strong") or {}, result.get("scaled") or {}
    if strong:
        ax.plot(list(strong), list(strong.values()), "o", color="C0", markeredgecolor="black",
                label="measured here: fixed size")
    if scaled:
        ax.plot(list(scaled), list(scaled.values()), "s", color="C1", markeredgecolor="black",
                label="measured here: scaled size")
    reference = result.get("reference") or {}
    if reference:
        ax.plot(list(reference), list(reference.values()), "^", color="0.5", markeredgecolor="black",
                label="reference machine: fixed size")
    ax.set_xlim(0, max(ks) + 1)
    ax.set_ylim(0, max(ks) + 1)
    ax.set_xlabel("workers")
    ax.set_ylabel("speedup")
    ax.set_title(f"Amdahl and Gustafson, serial fraction f = {f:.2f}")
    ax.legend(fontsize="small", loc="upper left")
    ax.grid(alpha=0.3)
    return ax


def law_rows(result: Mapping[str, Any]) -> list[dict[str, str]]:
    """The laws at a few worker counts, beside what was measured, as display strings (lesson 06)."""
    f, top = result["fraction"], result["max_workers"]
    strong, scaled = result.get("strong") or {}, result.get("scaled") or {}
    ks = sorted({k for k in (1, 2, 4, 8, 16, 32, 64, 128) if k <= top} | {top} | set(strong) | set(scaled))
    return [{"workers": str(k), "Amdahl": format_speedup(amdahl_speedup(f, k)),
             "measured": format_speedup(strong[k]) if k in strong else "",
             "Gustafson": format_speedup(gustafson_speedup(f, k)),
             "measured (scaled)": format_speedup(scaled[k]) if k in scaled else ""} for k in ks]


def laws_panel(strong: Mapping[int, float] | None = None, scaled: Mapping[int, float] | None = None, *,
               reference: Mapping[int, float] | None = None, fraction: float = 0.1,
               max_workers: int = 16) -> Panel:
    """Sliders for the serial fraction and workers; Run redraws the curves with the measured points (lesson 06)."""
    controls: dict[str, w.ValueWidget] = {
        "fraction": w.FloatSlider(value=round(min(max(fraction, 0.0), 0.5), 2), min=0.0, max=0.5,
                                  step=0.01, description="serial f", continuous_update=False),
        "max_workers": w.IntSlider(value=max_workers, min=2, max=128, description="workers",
                                   continuous_update=False),
    }

    def measure(values: dict[str, Any], progress: Any) -> dict[str, Any]:
        progress(1, 1)
        return {**values, "strong": dict(strong or {}), "scaled": dict(scaled or {}),
                "reference": dict(reference or {})}

    return Panel(controls, measure, plot_laws, law_rows, "Amdahl's and Gustafson's laws")


def plot_backends(sweeps: Mapping[str, Sweep], reference: Reference | None = None,
                  ax: Axes | None = None) -> Axes:
    """Every backend's measured speedup, solid, and the reference set's, dotted in the same colour (lesson 06)."""
    parallel = {n: s for n, s in sweeps.items() if n != "serial"}
    if not parallel:
        raise ValueError("plot_backends needs at least one parallel backend's sweep")
    if reference is not None:
        check_comparable(reference, _workload(sweeps))
    ax = new_axes(ax, figsize=(7.5, 3.6))
    top = max(max(s.workers) for s in parallel.values())
    ax.plot([1, top], [1, top], color="0.6", linestyle="--", label="ideal")
    for i, (name, sweep) in enumerate(parallel.items()):
        ax.plot(sweep.workers, sweep.speedups, marker="o", color=f"C{i}", label=f"{name} (here)")
        theirs = sorted((r["workers"], r["speedup"]) for r in (reference.rows if reference else ())
                        if r["backend"] == name and r["workers"] <= top)
        if reference is not None and theirs:
            ax.plot(*zip(*theirs, strict=True), marker="s", markersize=4, linestyle=":", color=f"C{i}",
                    alpha=0.7, label=f"{name} ({reference.name})")
    if top <= 16:
        ax.set_xticks(range(1, top + 1))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("workers")
    ax.set_ylabel("speedup")
    cores = next(iter(parallel.values())).metadata.usable_cores
    ax.set_title(f"One workload, every backend ({cores} usable cores here)")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5))
    ax.grid(alpha=0.3)
    return ax


# --------------------------------------------------------------------------- the decision guide

def at_cores(sweep: Sweep, cores: int | None = None) -> SweepPoint:
    """The point with the most workers that does not exceed the usable cores (lesson 06)."""
    limit = cores or sweep.metadata.usable_cores
    return max((p for p in sweep.points if p.workers <= limit), key=lambda p: p.workers,
               default=sweep.points[0])


def _verdict(speedup: float, workers: int) -> str:
    if workers == 1:
        return "one usable core: no parallel gain can show here"
    if speedup >= 0.6 * workers:
        return "it scales"
    return "it scales partly" if speedup >= 1.3 else "no gain this time"


def _on(p: SweepPoint, what: str = "workers") -> str:
    return f"{format_speedup(p.speedup)} on {p.workers} {what} ({_verdict(p.speedup, p.workers)})"


def _launch_reason(sweep: Sweep, cores: int, what: str) -> str:
    """Why a backend that starts programs on every run scaled (or did not): its launch, measured."""
    p = at_cores(sweep, cores)
    work = max(p.timing.median - p.startup_s, 1e-9)
    text = (f"{format_speedup(p.speedup)} on {p.workers} {what}: {format_seconds(p.timing.median)} per run, "
            f"of which {format_seconds(p.startup_s)} is the launch; without it the speedup would be "
            f"{format_speedup(sweep.serial.median / work)}.")
    if p.startup_s > 0.2 * p.timing.median:
        text += " The launch eats much of the gain: give each launch work that lasts much longer."
    return text


def decision_guide(sweeps: Mapping[str, Sweep], skipped: Mapping[str, str], *,
                   io: tuple[float, float, float], c_threads: tuple[float, float, float]) -> list[str]:
    """Each situation, the backend to choose, and the number measured here that says why (lesson 06)."""
    cores = system.usable_cores()
    lines = [f"Note: the serial timing was unstable ({w}); other programs are busy, so run the "
             "sweep again before trusting small differences." for w in sweeps["serial"].serial.warnings[:1]]
    lines.append(f"I/O-bound (waiting on disk or network): choose threads. The waits took "
                 f"{format_seconds(io[0])} one after another and {format_seconds(io[1])} on threads: "
                 f"{format_speedup(io[2])}. A waiting thread releases the GIL and costs little.")
    thr, proc = sweeps.get("threads"), sweeps.get("processes")
    if thr and proc:
        t, p = at_cores(thr, cores), at_cores(proc, cores)
        if cores > 1 and t.speedup >= 0.6 * t.workers:
            lines.append(f"CPU-bound pure Python: threads reached {_on(t)}, so this Python runs "
                         f"threads in parallel (free-threaded: {system.free_threaded_build()}); "
                         f"processes reached {_on(p)}. Processes work on every Python.")
        else:
            lines.append(f"CPU-bound pure Python: choose processes: {_on(p)}; threads reached "
                         f"{format_speedup(t.speedup)}, because the GIL lets one thread run Python at a time.")
    kern = sweeps.get("kernel-threads")
    if kern:
        k = at_cores(kern, cores)
        faster = sweeps["serial"].serial.median / kern.serial.median
        lines.append(f"C code that releases the GIL: choose threads: the compiled kernel reached "
                     f"{_on(k, 'threads')}, and one call of it is already {format_speedup(faster)} "
                     "faster than pure Python.")
    else:
        lines.append(f"C code that releases the GIL: choose threads: hashlib (C in the standard library) "
                     f"reached {format_speedup(c_threads[2])} on {cores} threads "
                     f"({_verdict(c_threads[2], cores)}). The compiled kernel was not measured: "
                     f"{skipped.get('kernel-threads', 'not requested').rstrip('.')}.")
    if sweeps.get("children"):
        lines.append("Separate programs (tools, scripts you cannot import): choose child scripts: "
                     + _launch_reason(sweeps["children"], cores, "children"))
    if sweeps.get("mpi"):
        lines.append("More than one machine: choose MPI, the one backend here that runs across hosts "
                     "(mpiexec with a host file): " + _launch_reason(sweeps["mpi"], cores, "ranks"))
    else:
        lines.append(f"More than one machine: choose MPI (lesson 05). Not measured here: "
                     f"{skipped.get('mpi', 'not requested').rstrip('.')}.")
    return lines


def _workload(sweeps: Mapping[str, Sweep]) -> str | None:
    found = {s.workload for s in sweeps.values()}
    return found.pop() if len(found) == 1 else None  # sweeps of mixed work compare with no set


def compare_rows(sweeps: Mapping[str, Sweep], reference: Reference) -> list[dict[str, str]]:
    """This machine's speedups beside a reference set's, matched by backend and workers (lesson 06)."""
    check_comparable(reference, _workload(sweeps))
    ref = {(r["backend"], r["workers"]): r["speedup"] for r in reference.rows}
    rows = []
    for name, sweep in sweeps.items():
        for p in sweep.points:
            theirs = ref.get((name, p.workers))
            rows.append({"backend": name, "workers": str(p.workers), "here": format_speedup(p.speedup),
                         reference.name: format_speedup(theirs) if theirs is not None else "—"})
    return rows


def text_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows of display strings as an aligned text table (lesson 06)."""
    if not rows:
        return "(no rows)"
    keys = list(rows[0])
    width = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in keys}
    lines = ["  ".join(k.rjust(width[k]) for k in keys)]
    lines += ["  ".join(str(r[k]).rjust(width[k]) for k in keys) for r in rows]
    return "\n".join(lines)
