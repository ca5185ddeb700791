"""Lesson 06c's slider panel: the profiled program on 1..k workers, measured beside Amdahl's prediction."""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes

from parlab import system
from parlab._checks import check_number
from parlab.lessons.l06.profiling import TASKS, ProgramSweep, measure_program
from parlab.lessons.l06.profiling_words import predicted_speedup
from parlab.results import format_speedup
from parlab.widgets import Panel

__all__ = ["prediction_panel"]


def prediction_panel(serial_share: float, pairs: int = 3) -> Panel:
    """Slider for workers; Run measures the program on 1..workers and draws it beside the profile's prediction (06c)."""
    import ipywidgets as w

    serial_share = check_number("serial_share", serial_share, 0, 1)
    cores = system.usable_cores()
    controls = {"workers": w.IntSlider(value=cores, min=1, max=2 * cores, description="workers",
                                       continuous_update=False)}

    def measure(values: dict[str, Any], progress: Any) -> ProgramSweep:
        progress(0, 1)
        sweep = measure_program(range(1, values["workers"] + 1), pairs=pairs)
        progress(1, 1)
        return sweep

    def draw(sweep: ProgramSweep, ax: Axes) -> None:
        ks = sorted(sweep.pairs)
        ax.plot(ks, [predicted_speedup(serial_share, k, cores, TASKS) for k in ks], "--", color="0.45",
                label=f"predicted from the profile (serial share {serial_share:.0%})")
        ax.plot(ks, [sweep.speedups()[k] for k in ks], "o-", color="C0", label="measured")
        if max(ks) > cores:  # past the cores: workers share them
            ax.axvspan(cores + 0.5, max(ks) + 0.5, color="0.92")
        ax.set_xlabel("workers (ProcessPoolExecutor)")
        ax.set_ylabel("speedup of the whole program")
        ax.set_title("The profile's prediction and the program, measured")
        ax.legend(fontsize="small")

    def rows(sweep: ProgramSweep) -> list[dict[str, str]]:
        return [{"workers": str(k), "predicted": format_speedup(predicted_speedup(serial_share, k, cores, TASKS)),
                 "measured": format_speedup(s)} for k, s in sweep.speedups().items()]

    return Panel(controls, measure, draw, rows, title="Profile, predict, measure: the whole program on k workers")
