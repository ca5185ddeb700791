"""Plots of measured data: speedup against the ideal line, efficiency, and timelines.

Every function takes data and an optional ``ax``, draws on it and returns it; none changes
matplotlib's global style. Without an ``ax`` a new small figure is made.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from parlab.measure import amdahl_speedup, ideal_speedup
from parlab.results import RunResult, Sweep
from parlab.system import usable_cores

__all__ = ["new_axes", "plot_efficiency", "plot_speedup", "plot_timeline"]

FIGSIZE = (6.0, 3.6)
DPI = 80  # small PNGs: notebooks stay well under 1 MB


def new_axes(ax: Axes | None = None, figsize: tuple[float, float] = FIGSIZE) -> Axes:
    """Return ``ax``, or the axes of a new small figure."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, dpi=DPI, layout="constrained")
    return ax


def _as_list(sweeps: Sweep | Sequence[Sweep]) -> list[Sweep]:
    return [sweeps] if isinstance(sweeps, Sweep) else list(sweeps)


def _ideal_label(waiting: bool, cores: int, efficiency: bool = False) -> str:
    if waiting:
        return f"ideal for waiting tasks: {'100 %' if efficiency else 'speedup = workers'}"
    cap = f"{cores} usable core{'s' if cores != 1 else ''}"
    if efficiency:  # short: the efficiency legend shares a narrow plot
        return f"ideal: 100 % up to the {cap}, then cores / workers"
    return f"ideal: one core per worker, up to the {cap}"


def _ideal_xs(top: int, cores: int) -> list[float]:
    # Every whole worker count (a 65-point grid beyond 64) and the core count, where CPU work's
    # ideal bends: the legend's "best" place avoids a line's points, not the gaps between them.
    grid = range(1, top + 1) if top <= 64 else (1 + i * (top - 1) / 64 for i in range(65))
    return sorted({*grid, min(cores, top)})


def _shade_oversubscribed(ax: Axes, cores: int, top: int) -> None:
    if top > cores:
        ax.axvspan(cores + 0.5, top + 0.5, color="0.93", zorder=0, label="more workers than cores")


def _kinds(items: Sequence[Sweep]) -> list[bool]:
    """The ideals to draw: CPU-bound (False) first, then waiting (True), each once."""
    return sorted({s.waiting for s in items})


def plot_speedup(sweeps: Sweep | Sequence[Sweep], ax: Axes | None = None, *, fit: bool = True,
                 reference: dict[int, float] | None = None, title: str | None = None) -> Axes:
    """Measured speedup (median, quartile error bars) against the ideal line (lessons 00-06).

    The ideal is one core per worker: it rises with the workers up to the usable cores and
    stays flat beyond them (the shaded region) for CPU-bound sweeps; for sweeps of tasks that
    wait (``Sweep.waiting``) it stays speedup = workers. The legend names the ideal drawn.
    With ``fit``, a sweep with a serial-fraction estimate between 0 and 1 also gets Amdahl's
    law for that estimate, drawn over 1..cores only (where its points came from). ``reference`` maps worker
    counts to another machine's speedups, drawn for comparison.
    """
    items = _as_list(sweeps)
    if not items:
        raise ValueError("plot_speedup needs at least one Sweep")
    ax = new_axes(ax)
    cores = items[0].metadata.usable_cores
    top = max(max(s.workers) for s in items)
    xs = _ideal_xs(top, cores)
    for waiting, style in zip(_kinds(items), ("--", ":"), strict=False):
        ax.plot(xs, [ideal_speedup(k, cores, waiting=waiting) for k in xs], color="0.45", linestyle=style,
                label=_ideal_label(waiting, cores))
    _shade_oversubscribed(ax, cores, top)
    for sweep in items:
        ks = sweep.workers
        low = [p.speedup - p.speedup_low for p in sweep.points]
        high = [p.speedup_high - p.speedup for p in sweep.points]
        bars = ax.errorbar(ks, sweep.speedups, yerr=[low, high], marker="o", capsize=3,
                           label=f"{sweep.label} (measured)")
        est = sweep.estimate
        end = min(cores, top)
        # 0 < f < 1 only: f = 0 is the ideal line itself, f = 1 (clamped) means no speedup at all.
        if fit and est is not None and end > 1 and 0 < est.serial_fraction < 1:
            grid = [1 + i * (end - 1) / 50 for i in range(51)]
            points = f"{est.points_used} point{'s' if est.points_used != 1 else ''}"
            ax.plot(grid, [amdahl_speedup(est.serial_fraction, k) for k in grid],
                    color=bars[0].get_color(), alpha=0.7, linewidth=1.2, linestyle="-.",
                    label=f"Amdahl's law, estimated serial fraction {est.serial_fraction:.2f} ({points})")
    if reference:
        ks = sorted(reference)
        ax.plot(ks, [reference[k] for k in ks], marker="s", color="0.35", linewidth=1,
                label="reference machine")
    ax.set_xlabel("workers")
    ax.set_ylabel("speedup (serial time / parallel time)")
    if top <= 16:  # one tick per worker count; beyond, matplotlib's own ticks
        ax.set_xticks(range(1, top + 1))
    ax.set_ylim(bottom=0)
    ax.set_title(title or f"Speedup on this machine ({cores} usable cores)")
    ax.legend(fontsize="small", loc="best")
    ax.grid(alpha=0.3)
    return ax


def plot_efficiency(sweeps: Sweep | Sequence[Sweep], ax: Axes | None = None,
                    title: str | None = None) -> Axes:
    """Parallel efficiency (speedup / workers) per worker count against the ideal (lessons 02, 06).

    The ideal is 100 % up to the usable cores; past them, for CPU-bound sweeps, it is
    cores / workers (the cores are shared), and 100 % for tasks that wait (``Sweep.waiting``).
    """
    items = _as_list(sweeps)
    if not items:
        raise ValueError("plot_efficiency needs at least one Sweep")
    ax = new_axes(ax)
    cores = items[0].metadata.usable_cores
    top = max(max(s.workers) for s in items)
    grid = _ideal_xs(top, cores)
    for waiting, style in zip(_kinds(items), ("--", ":"), strict=False):
        ax.plot(grid, [100 * ideal_speedup(k, cores, waiting=waiting) / k for k in grid], color="0.45",
                linestyle=style, label=_ideal_label(waiting, cores, efficiency=True))
    _shade_oversubscribed(ax, cores, top)
    highest = 100.0
    for sweep in items:
        values = [100 * p.efficiency for p in sweep.points]
        highest = max(highest, *values)
        ax.plot(sweep.workers, values, marker="o", label=sweep.label)
    ax.set_xlabel("workers")
    ax.set_ylabel("efficiency (%)")
    if top <= 16:  # one tick per worker count; beyond, matplotlib's own ticks
        ax.set_xticks(range(1, top + 1))
    ax.set_ylim(0, 1.1 * highest)  # superlinear points (above 100 %) stay in view
    ax.set_title(title or f"Efficiency on this machine ({cores} usable cores)")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_timeline(run: RunResult, ax: Axes | None = None, title: str | None = None) -> Axes:
    """A Gantt chart: one row per worker, one bar per task, coloured by worker (lessons 01, 02, 03)."""
    ax = new_axes(ax)
    colours = plt.get_cmap("tab10")
    workers = sorted({s.worker for s in run.timeline})
    for span in run.timeline:
        ax.barh(span.worker, span.end - span.start, left=span.start, height=0.6,
                color=colours(span.worker % 10), edgecolor="white", linewidth=0.5)
    ax.set_yticks(workers, [f"worker {w}" for w in workers])
    ax.invert_yaxis()
    ax.set_xlabel("time since the run started (s)")
    what = run.backend + (f", {run.start_method}" if run.start_method else "")
    ax.set_title(title or f"{len(run.timeline)} tasks, {run.workers} workers ({what}): "
                          f"{run.wall_s:.2f} s\non this machine ({usable_cores()} usable cores)",
                 fontsize="medium")
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)
    if len(workers) > 10:  # colours repeat after ten; say so rather than mislead
        ax.legend(handles=[Patch(color="white", label="colours repeat every 10 workers")])
    return ax
