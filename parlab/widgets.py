"""Slider panels: knobs, a Run button, a progress bar, the plot redrawn in place, a table.

A panel measures nothing itself: its Run button calls a function that calls ``measure``
(the same functions the scripted cells call), then a drawing function from ``plot``.
Moving a slider starts nothing; only Run does, so a pool is not started on every tick.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as w
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from parlab import system
from parlab.measure import Sweep, format_seconds, format_speedup, speedup_sweep
from parlab.plot import DPI, FIGSIZE, plot_speedup
from parlab.run import START_METHODS, check_workers

__all__ = ["Panel", "speedup_panel", "render_png", "sweep_rows"]

Progress = Callable[[int, int], None]


def render_png(draw: Callable[[Axes], Any], figsize: tuple[float, float] = FIGSIZE) -> bytes:
    """Draw on a fresh off-screen figure and return it as PNG bytes (no pyplot state touched)."""
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    draw(fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def sweep_rows(sweep: Sweep) -> list[dict[str, str]]:
    """A sweep as rows of display strings for the panel's table."""
    return [{"workers": str(p.workers), "time": format_seconds(p.timing.median),
             "speedup": format_speedup(p.speedup), "efficiency": f"{p.efficiency:.0%}"}
            for p in sweep.points]


def _html_table(rows: Sequence[dict[str, str]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values())
                   + "</tr>" for r in rows)
    return f"<table class='parlab-table'><tr>{head}</tr>{body}</table>"


class Panel:
    """Controls + Run button + progress bar + plot image + table, around one measuring function (lessons 00-06).

    ``measure(values, progress)`` receives the controls' current values as a dict and returns
    a result; ``draw(result, ax)`` plots it; ``rows(result)`` gives the table.
    """

    def __init__(self, controls: dict[str, w.ValueWidget], measure: Callable[[dict[str, Any], Progress], Any],
                 draw: Callable[[Any, Axes], Any], rows: Callable[[Any], Sequence[dict[str, str]]] | None = None,
                 title: str = "") -> None:
        self.controls = controls
        self._measure = measure
        self._draw = draw
        self._rows = rows
        self.result: Any = None
        self.busy = False
        self.button = w.Button(description="Run", button_style="primary", icon="play",
                               tooltip="measure with these settings")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="progress",
                                      layout=w.Layout(width="260px"))
        self.status = w.HTML("Move the sliders, then press Run.")
        self.image = w.Image(format="png", layout=w.Layout(max_width="480px"))
        self.table = w.HTML()
        self.button.on_click(self._on_click)
        header = [w.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        self.widget = w.VBox(header + [
            w.HBox(list(controls.values())),
            w.HBox([self.button, self.progress, self.status]),
            w.HBox([self.image, self.table]),
        ])

    def values(self) -> dict[str, Any]:
        """The controls' current values."""
        return {name: control.value for name, control in self.controls.items()}

    def _set_progress(self, done: int, total: int) -> None:
        self.progress.max = max(total, 1)
        self.progress.value = min(done, total)

    def run(self) -> Any:
        """Measure with the current values and redraw: what Run does (errors are raised)."""
        if self.busy:
            raise RuntimeError("a run is already in progress; wait for it to finish")
        self.busy = True
        self.button.disabled = True
        self.status.value = "running…"
        self._set_progress(0, 1)
        try:
            result = self._measure(self.values(), self._set_progress)
            self.image.value = render_png(lambda ax: self._draw(result, ax))
            self.table.value = _html_table(self._rows(result)) if self._rows else ""
            self.result = result
            self.status.value = "done"
            return result
        except KeyboardInterrupt:
            self.status.value = "interrupted: the workers were stopped"
            raise
        finally:
            self.busy = False
            self.button.disabled = False

    def _on_click(self, _button: w.Button) -> None:
        # A click while running is refused (the button is also disabled in the browser).
        if self.busy:
            self.status.value = "already running: wait for it to finish"
            return
        try:
            self.run()
        except Exception as exc:  # shown in the panel: a callback's exception is otherwise hidden
            self.status.value = (f"<span style='color:#b00'>error: "
                                 f"{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</span>")

    def click(self) -> None:
        """Press Run from code, exactly as the button does (tests use this)."""
        self.button.click()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def speedup_panel(func: Callable[..., Any], make_tasks: Callable[[int], Iterable[Any]], *,
                  backends: Sequence[str] = ("threads", "processes"), size: tuple[int, int, int] = (1, 10, 5),
                  size_label: str = "size", start_methods: bool = False, chunksize: bool = False,
                  max_workers: int | None = None, repeats: int = 3, star: bool = False,
                  title: str = "") -> Panel:
    """The common panel: sweep 1..workers on a backend for a task size and plot the speedup (lessons 00-02).

    ``make_tasks(size)`` builds the task list for the size slider's value ``size=(min, max, value)``.
    """
    cores = system.usable_cores()
    top = check_workers(max_workers if max_workers is not None else 2 * cores)
    controls: dict[str, w.ValueWidget] = {
        "workers": w.IntSlider(value=min(cores, top), min=1, max=top, description="workers",
                               continuous_update=False),
        "backend": w.Dropdown(options=list(backends), value=backends[0], description="backend"),
        "size": w.IntSlider(value=size[2], min=size[0], max=size[1], description=size_label,
                            continuous_update=False),
    }
    if start_methods:
        methods = [m for m in system.available_start_methods() if m in START_METHODS]
        controls["start_method"] = w.Dropdown(options=methods, value=system.default_start_method(),
                                              description="start")
    if chunksize:
        controls["chunksize"] = w.IntSlider(value=1, min=1, max=64, description="chunksize",
                                            continuous_update=False)

    def measure(v: dict[str, Any], progress: Progress) -> Sweep:
        backend = v["backend"]
        return speedup_sweep(func, make_tasks(v["size"]), backend=backend,
                             workers=range(1, v["workers"] + 1),
                             start_method=v.get("start_method") if backend == "processes" else None,
                             chunksize=v.get("chunksize", 1), repeats=repeats, star=star,
                             progress=progress)

    return Panel(controls, measure, lambda sweep, ax: plot_speedup(sweep, ax), sweep_rows, title)
