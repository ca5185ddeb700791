"""Plots of measured data: speedup against the ideal line, efficiency, and timelines.

Every function takes data and an optional ``ax``, draws on it and returns it; none changes
matplotlib's global style. Without an ``ax`` a new small figure is made.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from parlab.measure import amdahl_speedup
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


def plot_speedup(sweeps: Sweep | Sequence[Sweep], ax: Axes | None = None, *, fit: bool = True,
                 reference: dict[int, float] | None = None, title: str | None = None) -> Axes:
    """Measured speedup (median, quartile error bars) against the ideal line, with the Amdahl fit (lessons 00-06).

    ``reference`` maps worker counts to another machine's speedups, drawn for comparison.
    """
    items = _as_list(sweeps)
    if not items:
        raise ValueError("plot_speedup needs at least one Sweep")
    ax = new_axes(ax)
    cores = items[0].metadata.usable_cores
    top = max(max(s.workers) for s in items)
    ax.plot([1, top], [1, top], color="0.6", linestyle="--", label="ideal (speedup = workers)")
    if top > cores:
        ax.axvspan(cores + 0.5, top + 0.5, color="0.93", zorder=0, label="more workers than cores")
    for sweep in items:
        ks = sweep.workers
        low = [p.speedup - p.speedup_low for p in sweep.points]
        high = [p.speedup_high - p.speedup for p in sweep.points]
        bars = ax.errorbar(ks, sweep.speedups, yerr=[low, high], marker="o", capsize=3,
                           label=f"{sweep.label} (measured)")
        if fit and sweep.estimate is not None:
            grid = [1 + i * (top - 1) / 50 for i in range(51)]
            ax.plot(grid, [amdahl_speedup(sweep.estimate.serial_fraction, k) for k in grid],
                    color=bars[0].get_color(),
                    alpha=0.6, linewidth=1,
                    label=f"Amdahl's law, estimated serial fraction {sweep.estimate.serial_fraction:.2f}")
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
    """Parallel efficiency (speedup / workers) per worker count; 100 % is ideal (lessons 02, 06)."""
    items = _as_list(sweeps)
    ax = new_axes(ax)
    cores = items[0].metadata.usable_cores
    top = max(max(s.workers) for s in items)
    ax.axhline(100, color="0.6", linestyle="--", label="ideal (100 %)")
    for sweep in items:
        ax.plot(sweep.workers, [100 * p.efficiency for p in sweep.points], marker="o",
                label=sweep.label)
    ax.set_xlabel("workers")
    ax.set_ylabel("efficiency (%)")
    if top <= 16:  # one tick per worker count; beyond, matplotlib's own ticks
        ax.set_xticks(range(1, top + 1))
    ax.set_ylim(0, 110)
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
