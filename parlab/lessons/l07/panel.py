"""Lesson 07's slider panel: workers of a dask LocalCluster against the speedup, on fib tasks.

``parlab.widgets.speedup_panel`` runs parlab's own backends; dask is not one of them, so this
small adapter gives ``widgets.Panel`` a measuring function that sweeps LocalClusters
(``measure.cluster_sweep``) and draws with the same plot and table.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from parlab import system
from parlab.lessons.l07.measure import cluster_sweep
from parlab.plot import plot_speedup
from parlab.results import Sweep
from parlab.widgets import Panel, sweep_rows
from parlab.workloads import fib, fib_tasks

__all__ = ["cluster_panel"]


def cluster_panel(*, size: tuple[int, int, int] = (18, 30, 28), tasks_per_worker: int = 4,
                  repeats: int = 2, title: str = "fib on a dask LocalCluster: workers") -> Panel:
    """Sliders for workers (1 .. 2 × cores) and fib(n); Run sweeps fresh clusters and plots the speedup (lesson 07)."""
    low, high, value = size
    if not low <= value <= high:
        raise ValueError(f"size must be (min, max, value) with min <= value <= max, got {size!r}")
    cores = system.usable_cores()
    controls: dict[str, w.ValueWidget] = {
        "workers": w.IntSlider(value=cores, min=1, max=2 * cores, description="workers",
                               continuous_update=False),
        "size": w.IntSlider(value=value, min=low, max=high, description="fib(n)", continuous_update=False),
    }

    def measure(v: dict[str, Any], progress: Any) -> Sweep:
        top = int(v["workers"])
        tasks = fib_tasks(int(v["size"]), count=tasks_per_worker * max(top, cores))
        return cluster_sweep(fib, tasks, range(1, top + 1), repeats=repeats, progress=progress)

    return Panel(controls, measure, lambda sweep, ax: plot_speedup(sweep, ax), sweep_rows, title)
