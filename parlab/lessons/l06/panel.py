"""Lesson 06a's slider panel: one backend of the table, swept over the workers the learner picks."""

from __future__ import annotations

from typing import Any

from parlab import system
from parlab.lessons.l06.backends import STRATEGIES, Task, backend_status, workload_tasks
from parlab.lessons.l06.reference import measure_backends
from parlab.lessons.l06.strategy import plot_backends
from parlab.results import Sweep
from parlab.widgets import Panel, sweep_rows

__all__ = ["backends_panel"]


def backends_panel(tasks: list[Task] | None = None, repeats: int = 2) -> Panel:
    """Sliders for workers and the backend; Run sweeps it over 1..workers beside serial and redraws (lesson 06a)."""
    import ipywidgets as w

    cores = system.usable_cores()
    ready = [name for name, why in backend_status().items() if why is None]
    if not ready:
        raise RuntimeError("no backend of lesson 06 can run here: see backends.backend_status()")
    items = list(tasks) if tasks is not None else workload_tasks()
    controls = {
        "workers": w.IntSlider(value=cores, min=1, max=2 * cores, description="workers", continuous_update=False),
        "backend": w.Dropdown(options=[(STRATEGIES[n].label, n) for n in ready],
                              value="processes" if "processes" in ready else ready[0], description="backend"),
    }

    def measure(values: dict[str, Any], progress: Any) -> dict[str, Sweep]:
        sweeps, _ = measure_backends([values["backend"]], workers=list(range(1, values["workers"] + 1)),
                                     tasks=items, repeats=repeats, progress=progress)
        return sweeps

    def rows(sweeps: dict[str, Sweep]) -> list[dict[str, str]]:
        return sweep_rows(next(s for name, s in sweeps.items() if name != "serial"))

    return Panel(controls, measure, lambda sweeps, ax: plot_backends(sweeps, None, ax=ax), rows,
                 title="One backend of the table, over the workers you choose")
