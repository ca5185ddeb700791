"""Choosing a strategy: Amdahl and Gustafson with sliders, scaled speedups, the backends' plot (lesson 06).

The panel computes laws, it measures nothing: the learner's points come from the sweeps
measured earlier in the lesson. The decision guide lives in ``l06_guide``, the higher-level tools in ``l06_tools``.

Two serial fractions appear, and they are not the same number: Amdahl's ``f`` is the serial
share of ONE worker's run (estimated from the fixed-size points, Karp-Flatt), Gustafson's
``alpha`` the serial share of the run on k workers (fitted to the scaled points). For one run
on k workers with speedup S they are tied by alpha = f × S; ``describe_fractions`` says so
with the learner's numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import ipywidgets as w
from matplotlib.axes import Axes

from parlab import system
from parlab._checks import check_number, check_whole
from parlab.lessons.l06.backends import Task, python_serial, workload_tasks
from parlab.lessons.l06.guide import worker_word as _what
from parlab.lessons.l06.reference import Reference, check_comparable
from parlab.lessons.words import SAME_HIGH, describe_speedup
from parlab.measure import amdahl_speedup, check_same, gustafson_speedup, ideal_speedup, time_call
from parlab.plot import new_axes
from parlab.results import SerialFractionEstimate, Sweep, format_seconds, format_speedup
from parlab.run import WorkerPool
from parlab.widgets import Panel
from parlab.workloads import count_primes, hash_buffer, io_wait, make_buffer

__all__ = [
    "DEFAULT_FRACTION",
    "compare_rows",
    "describe_choice",
    "describe_fractions",
    "fit_gustafson",
    "gustafson_share",
    "hashlib_speedup",
    "io_speedup",
    "law_rows",
    "laws",
    "laws_panel",
    "panel_fraction",
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
    """Gustafson's alpha, the serial share of the run on k workers, from S = k - alpha (k - 1), in [0, 1] (lesson 06).

    Least squares over the points with k > 1. It is not Amdahl's f (the serial share of one
    worker's run): see ``describe_fractions``.
    """
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
    fraction = check_number("fraction", fraction, 0, 1)
    max_workers = check_whole("max_workers", max_workers, 1)
    ks = list(range(1, max_workers + 1))
    return {"workers": [float(k) for k in ks], "amdahl": [amdahl_speedup(fraction, k) for k in ks],
            "gustafson": [gustafson_speedup(fraction, k) for k in ks]}


def plot_laws(result: Mapping[str, Any], ax: Axes | None = None) -> Axes:
    """Both laws for one serial fraction, with measured strong and scaled points placed on them (lesson 06)."""
    ax = new_axes(ax)
    f, curves = result["fraction"], laws(result["fraction"], result["max_workers"])
    ks = curves["workers"]
    ax.plot(ks, ks, color="0.6", linestyle="--", label="ideal (speedup = workers)")
    ax.plot(ks, curves["amdahl"], color="C0", label="Amdahl: fixed problem size (f of one worker's run)")
    ax.plot(ks, curves["gustafson"], color="C1",
            label="Gustafson: problem grows with workers (f as a share of the k-worker run)")
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
    cores = next(iter(parallel.values())).metadata.usable_cores
    # CPU-bound work: one core per worker at best, so the ideal is flat past the usable cores.
    ideal = [ideal_speedup(k, cores) for k in range(1, top + 1)]
    ax.plot(range(1, top + 1), ideal, color="0.6", linestyle="--",
            label="ideal" if top <= cores else f"ideal (flat past the {cores} usable cores)")
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
    ax.set_title(f"One workload, every backend ({cores} usable cores here)")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5))
    ax.grid(alpha=0.3)
    return ax


# --------------------------------------------------------------------------- two serial fractions

DEFAULT_FRACTION = 0.10  # where the laws panel starts when there is no estimate (one usable core)


def gustafson_share(scaled: Mapping[int, float]) -> float | None:
    """Gustafson's alpha from the scaled points, or None when none has more than one worker (lesson 06)."""
    return fit_gustafson(scaled) if any(k > 1 for k in scaled) else None


def panel_fraction(estimate: SerialFractionEstimate | None) -> float:
    """The fraction the laws panel and exercise 1 start from: the estimate, else ``DEFAULT_FRACTION`` (lesson 06)."""
    return estimate.serial_fraction if estimate is not None else DEFAULT_FRACTION


def _karp_flatt(speedup: float, workers: int) -> float:
    return min(1.0, max(0.0, (1 / speedup - 1 / workers) / (1 - 1 / workers)))


def describe_fractions(estimate: SerialFractionEstimate | None, strong: Mapping[int, float],
                       scaled: Mapping[int, float], cores: int) -> list[str]:
    """The scaled speedups, Amdahl's f and Gustafson's alpha by their names, and why they differ (lesson 06).

    ``estimate`` is the fixed-size sweep's (``Sweep.estimate``), ``strong`` its {workers:
    speedup}, ``scaled`` from ``scaled_speedups``. f is a share of one worker's run, alpha of
    the run on k workers; at one fixed-size point (k, S) they are tied by alpha = f × S, which
    the lines show with the learner's own point before comparing with the scaled fit.
    """
    lines = ["Scaled speedups (k workers on k times the work, against k × one worker's time):"]
    lines += [f"  {describe_speedup(s, k, cores, what=_what('workers', k))}" for k, s in sorted(scaled.items())]
    if estimate is None:
        lines.append(f"Amdahl's f (the serial share of ONE worker's run): no estimate; it needs a "
                     f"fixed-size point with 2 or more workers within the cores, and this machine has "
                     f"{cores} usable core{'s' if cores != 1 else ''}. The panel below starts at "
                     f"f = {DEFAULT_FRACTION:.2f}, a value to try, not yours.")
    else:
        n = estimate.points_used
        spread = "" if n == 1 else f", {estimate.low:.3f} to {estimate.high:.3f} point by point"
        lines.append(f"Amdahl's f (the serial share of ONE worker's run), estimated from your fixed-size "
                     f"points (Karp–Flatt): {estimate.serial_fraction:.3f} from {n} point"
                     f"{'s' if n != 1 else ''}{spread}.")
    alpha = gustafson_share(scaled)
    if alpha is None:
        lines.append("Gustafson's alpha (the serial share of the run on k workers): no fit; it needs a "
                     "scaled point with 2 or more workers.")
        return lines
    lines.append(f"Gustafson's alpha (the serial share of the run on k workers), fitted to your scaled "
                 f"points: {alpha:.3f}.")
    common = [k for k in scaled if k > 1 and k in strong and k <= cores]
    if not common:
        return lines
    k = max(common)
    s = strong[k]
    if min(s, scaled[k]) <= SAME_HIGH:
        flat = [name for name, v in (("fixed-size", s), ("scaled", scaled[k])) if v <= SAME_HIGH]
        lines.append(f"At {k} workers the {' and the '.join(flat)} run{'s' if len(flat) > 1 else ''} gained "
                     f"nothing over one worker (fixed size {format_speedup(s)}, scaled {format_speedup(scaled[k])}): "
                     "without a gain its fraction comes out near 1 (capped at 1 when slower) whatever the "
                     "cause, so f and alpha cannot be compared here; run the cell again.")
        return lines
    f_k = _karp_flatt(s, k)
    alpha_k = min(1.0, max(0.0, (k - s) / (k - 1)))  # = f_k × s when f_k is not clamped
    lines.append(f"They are shares of different runs: the serial part takes the same time, but the run on "
                 f"k workers is shorter, so it is a larger share of it. For one run the two are tied by "
                 f"alpha = f × S(k): your fixed-size run on {k} workers ({format_speedup(s)}) gives "
                 f"f = {f_k:.3f} and alpha = {alpha_k:.3f}.")
    if abs(alpha - alpha_k) <= 0.05:
        lines.append(f"Your scaled runs gave alpha = {alpha:.3f}, close to it: growing the problem "
                     "changed little here.")
    else:
        lines.append(f"Your scaled runs gave alpha = {alpha:.3f}; the rest of the difference is what "
                     "growing the problem changed, and the noise of a few short runs: Gustafson's law "
                     "assumes the serial part keeps its time as the work grows, and here the 'serial "
                     "part' is mostly the pool's overhead, which need not.")
    return lines


# --------------------------------------------------------------------------- exercise 2

def describe_choice(measured: Mapping[str, tuple[float, float, float]], workers: int, cores: int) -> list[str]:
    """Each backend's (serial s, parallel s, speedup) in words, and which was faster by how much (lesson 06)."""
    if not measured:
        raise ValueError("describe_choice needs at least one backend's (serial s, parallel s, speedup)")
    lines = [f"{name}: serial {format_seconds(ser)}, parallel {format_seconds(par)}: "
             f"{describe_speedup(sp, workers, cores, what=_what(name, workers))}"
             for name, (ser, par, sp) in measured.items()]
    ranked = sorted(measured, key=lambda n: measured[n][2], reverse=True)
    if len(ranked) < 2:
        return lines
    first, second = ranked[0], ranked[1]
    ratio = measured[first][2] / measured[second][2]
    if ratio <= SAME_HIGH:
        lines.append(f"About the same here ({first} {format_speedup(measured[first][2])}, {second} "
                     f"{format_speedup(measured[second][2])}, within 10 %): either will do; threads "
                     "copy nothing, processes copy every buffer to a worker.")
    elif measured[first][2] <= SAME_HIGH:
        lines.append(f"{first} were faster here, {format_speedup(ratio)} the speedup of {second}, but "
                     "neither beat the serial run, so this run does not support a choice by itself: run "
                     "it again.")
    elif first == "threads":
        lines.append(f"threads were faster here, {format_speedup(ratio)} the speedup of {second}: "
                     "hashlib releases the GIL on large buffers, so threads hash at the same time "
                     "without copying, while processes copy every buffer to a worker.")
    else:
        lines.append(f"{first} were faster here, {format_speedup(ratio)} the speedup of {second}, "
                     "even though processes copy every buffer to a worker: the lines above say how "
                     "far each got.")
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
