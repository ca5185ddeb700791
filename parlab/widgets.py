"""Slider panels: knobs, a Run button, a progress bar, the plot redrawn in place, a table.

A panel measures nothing itself: its Run button calls a function that calls ``measure``
(the same functions the scripted cells call), then a drawing function from ``plot``.
Moving a slider starts nothing; only Run does, so a pool is not started on every tick.

A run always happens in the kernel's main thread, like a cell: Jupyter's interrupt button
reaches it as KeyboardInterrupt, and parlab's pools kill their workers on the way out.
(JupyterLab 4.6 may deliver a click on a kernel subshell, another thread; the panel then
hands the run to the main thread's event loop.) A click during a run is refused: at once
when it arrives on a subshell, and by its time stamp when the kernel held it back until
the run ended (``parlab._clicks`` reads the stamps).
"""

from __future__ import annotations

import html
import io
import numbers
import signal
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as w
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image

from parlab import _clicks, system
from parlab._checks import (
    START_METHODS,
    available_backends,
    check_flag,
    check_function,
    check_whole,
    check_workers,
)
from parlab.measure import speedup_sweep
from parlab.plot import DPI, FIGSIZE, plot_speedup
from parlab.results import Sweep, format_seconds, format_speedup

__all__ = ["PANEL_CLASS", "Panel", "displayed_panels", "render_png", "speedup_panel", "sweep_rows"]

Progress = Callable[[int, int], None]

PANEL_CLASS = "parlab-panel"  # CSS class of every panel: the browser tests find panels by it
_ERROR_STYLE = "color:#b00020"
PNG_COLOURS = 128


_DISPLAYED: list[weakref.ref[Panel]] = []


def displayed_panels() -> list[Panel]:
    """The panels shown in this kernel so far, in order; the browser tests compare them with the page."""
    return [p for p in (ref() for ref in _DISPLAYED) if p is not None]


def render_png(draw: Callable[[Axes], Any], figsize: tuple[float, float] = FIGSIZE) -> bytes:
    """Draw on a fresh off-screen figure and return small PNG bytes; pyplot state is untouched (lessons 00-06)."""
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    draw(fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    # A plot of lines and bars looks the same in 128 colours and takes a third of the bytes:
    # the image travels to the browser on every run and is kept in a saved notebook.
    small = io.BytesIO()
    Image.open(buf).convert("RGB").quantize(PNG_COLOURS).save(small, "PNG", optimize=True)
    return small.getvalue()


def sweep_rows(sweep: Sweep) -> list[dict[str, str]]:
    """A sweep as rows of display strings for the panel's table (lessons 00-02)."""
    return [{"workers": str(p.workers), "time": format_seconds(p.timing.median),
             "speedup": format_speedup(p.speedup), "efficiency": f"{p.efficiency:.0%}"}
            for p in sweep.points]


def _html_table(rows: Sequence[dict[str, str]]) -> str:
    if not rows:
        return ""
    cell = "padding:2px 8px;text-align:right;border-bottom:1px solid #ddd"
    head = "".join(f"<th style='{cell}'>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td style='{cell}'>{html.escape(str(v))}</td>"
                                    for v in r.values()) + "</tr>" for r in rows)
    return (f"<table class='parlab-table' style='border-collapse:collapse;font-size:13px'>"
            f"<tr>{head}</tr>{body}</table>")


def _error_html(text: str) -> str:
    return f"<span style='{_ERROR_STYLE}'>{html.escape(text)}</span>"


class Panel:
    """Controls + Run button + progress bar + plot image + table, around one measuring function (lessons 00-06).

    ``measure(values, progress)`` receives the controls' current values as a dict and returns
    a result; ``draw(result, ax)`` plots it; ``rows(result)`` gives the table.
    """

    def __init__(self, controls: dict[str, w.ValueWidget], measure: Callable[[dict[str, Any], Progress], Any],
                 draw: Callable[[Any, Axes], Any], rows: Callable[[Any], Sequence[dict[str, str]]] | None = None,
                 title: str = "") -> None:
        if not isinstance(controls, dict) or not all(isinstance(c, w.ValueWidget) for c in controls.values()):
            raise TypeError("controls must be a dict of name -> ipywidget with a value (IntSlider, Dropdown, ...)")
        check_function("measure", measure, "values, progress")
        check_function("draw", draw, "result, axes")
        if rows is not None:
            check_function("rows", rows, "result; or None")
        self.controls = controls
        self.title = title
        self._measure = measure
        self._draw = draw
        self._rows = rows
        self.result: Any = None
        self.runs = 0  # finished runs: the status names the latest, so a new result is visible
        self._lock = threading.Lock()
        self._ended_wall = float("-inf")  # time.time() when the last run ended
        self.button = w.Button(description="Run", button_style="primary", icon="play",
                               tooltip="measure with these settings")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="progress",
                                      layout=w.Layout(width="260px"))
        self.status = w.HTML("Move the sliders, then press Run.")
        # Hidden until the first plot: an empty image shows as a broken-image icon.
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%", display="none"))
        self.table = w.HTML()
        for widget, name in ((self.button, "run"), (self.progress, "progress"),
                             (self.status, "status"), (self.image, "plot"), (self.table, "table")):
            widget.add_class(f"parlab-{name}")
        self.button.on_click(self._on_click)
        cores = system.usable_cores()
        note = f"this machine: {cores} usable core{'s' if cores != 1 else ''}"
        header = (f"<b>{html.escape(title)}</b> &nbsp;<span style='color:#666'>({note})</span>" if title
                  else f"<span style='color:#666'>{note}</span>")
        wrap = w.Layout(flex_flow="row wrap", align_items="center")
        self.widget = w.VBox([
            w.HTML(header),
            w.HBox(list(controls.values()), layout=wrap),
            w.HBox([self.button, self.progress, self.status], layout=wrap),
            w.HBox([self.image, self.table], layout=w.Layout(flex_flow="row wrap", align_items="flex-start")),
        ])
        self.widget.add_class(PANEL_CLASS)

    @property
    def busy(self) -> bool:
        """True while a run is in progress."""
        return self._lock.locked()

    def values(self) -> dict[str, Any]:
        """The controls' current values."""
        return {name: control.value for name, control in self.controls.items()}

    def _set_progress(self, done: int, total: int) -> None:
        self.progress.max = max(total, 1)
        self.progress.value = max(0, min(done, total))
        self.status.value = f"running… step {min(done, total)} of {total}"

    def run(self) -> Any:
        """Measure with the current values and redraw: what Run does (errors are raised)."""
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("a run is already in progress; wait for it to finish")
        return self._run_locked()

    def _run_locked(self) -> Any:
        # The caller holds self._lock; it is released here, whatever happens.
        try:
            self.button.disabled = True
            self.progress.bar_style = ""
            self.progress.value = 0
            self.status.value = "running…"
            _clicks.SenderClock.observe(_clicks.parent_message())
            t0 = time.perf_counter()
            result = self._measure(self.values(), self._set_progress)
            self.image.value = render_png(lambda ax: self._draw(result, ax))
            self.image.layout.display = None
            self.table.value = _html_table(self._rows(result)) if self._rows else ""
            self.result = result
            self.runs += 1
            self.progress.value = self.progress.max
            self.progress.bar_style = "success"
            self.status.value = f"done: run {self.runs} took {format_seconds(time.perf_counter() - t0)}"
            return result
        except KeyboardInterrupt:
            self.progress.value = 0
            self.status.value = _error_html("interrupted: the run was stopped and its workers with it")
            raise
        except BaseException as exc:
            self.progress.bar_style = "danger"
            self.status.value = _error_html(f"error: {type(exc).__name__}: {exc}")
            raise
        finally:
            self._ended_wall = time.time()
            self.button.disabled = False
            self._lock.release()

    def _on_click(self, _button: w.Button) -> None:
        # Refuse, never queue: a click during a run (handled at once on another thread, or
        # held back by the kernel until the run ended) must not start a run nobody asked for.
        message = _clicks.parent_message()
        if not self._lock.acquire(blocking=False):
            self.status.value = "already running: wait for it to finish"
            return
        if _clicks.sent_before(message, self.button, self._ended_wall):  # during the last run
            self._lock.release()
            if "ignored" not in self.status.value:
                self.status.value += " (a click made during the run was ignored)"
            return
        _clicks.SenderClock.observe(message)
        loop = getattr(_clicks.kernel(), "io_loop", None)  # the main thread's event loop
        if threading.current_thread() is threading.main_thread() or loop is None:
            self._run_for_click()
            return
        # JupyterLab 4.6 sends widget messages on a kernel subshell, a thread of its own.
        # Jupyter's interrupt (SIGINT) reaches only the main thread: run there, like a cell.
        self.button.disabled = True
        self.status.value = "starting… (after the cell that is running, if any)"
        loop.add_callback(self._run_in_main_thread)

    def _run_in_main_thread(self) -> None:
        # Called by the kernel's event loop between messages, where ipykernel ignores SIGINT:
        # take it as KeyboardInterrupt for the length of the run, as during a cell.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self._run_for_click()
        except KeyboardInterrupt:
            pass  # arrived just after the run ended: nothing left to stop
        finally:
            signal.signal(signal.SIGINT, previous)

    def _run_for_click(self) -> None:
        try:
            self._run_locked()
        except KeyboardInterrupt:
            pass  # the status says so; the kernel stays up and the workers are gone
        except Exception:  # noqa: BLE001, S110 (the status shows it: raised in a widget callback, it would be hidden)
            pass

    def click(self) -> None:
        """Press Run from code, exactly as the button does (tests use this)."""
        self.button.click()

    @property
    def closed(self) -> bool:
        """True once the panel's widget was closed (it then vanishes from the page)."""
        return self.widget.comm is None

    def _ipython_display_(self) -> None:
        from IPython.display import display

        _DISPLAYED.append(weakref.ref(self))
        display(self.widget)


def _check_size(size: object, label: str) -> tuple[int, int, int]:
    allowed = f"{label}: size must be a tuple (min, max, value) of whole numbers with min <= value <= max"
    if not isinstance(size, tuple):
        raise TypeError(f"{allowed}, got {size!r} ({type(size).__name__})")
    whole = [int(v) for v in size if isinstance(v, numbers.Integral) and not isinstance(v, bool)]
    if len(whole) != len(size):
        raise TypeError(f"{allowed}, got {size!r}")
    if len(whole) != 3 or not whole[0] <= whole[2] <= whole[1]:
        raise ValueError(f"{allowed}, got {size!r}")
    return whole[0], whole[1], whole[2]


def speedup_panel(func: Callable[..., Any], make_tasks: Callable[[int], Iterable[Any]], *,
                  backends: Sequence[str] = ("threads", "processes"), size: tuple[int, int, int] = (1, 10, 5),
                  size_label: str = "size", start_methods: bool = False, chunksize: bool = False,
                  max_workers: int | None = None, repeats: int = 3, star: bool = False,
                  title: str = "", waiting: bool = False, estimate: bool = True) -> Panel:
    """The common panel: sweep 1..workers on a backend for a task size and plot the speedup (lessons 00-02).

    ``make_tasks(size)`` builds the task list for the size slider's value ``size=(min, max, value)``.
    ``waiting`` (tasks that wait: sleep, sockets; the plot's ideal stays speedup = workers past
    the cores) and ``estimate`` (False: no serial-fraction estimate, for work without a serial
    part to estimate) go to ``measure.speedup_sweep``.
    """
    check_function("func", func, "one task")
    check_function("make_tasks", make_tasks, "size -> list of tasks")
    check_flag("waiting", waiting)
    check_flag("estimate", estimate)
    backends = list(backends) if not isinstance(backends, str) else [backends]
    if not backends or any(b not in available_backends() for b in backends):  # interpreters: 3.14+
        raise ValueError(f"backends must list some of {', '.join(available_backends())}; got {backends!r}")
    low, high, value = _check_size(size, size_label)
    repeats = check_whole("repeats", repeats, 1)
    cores = system.usable_cores()
    top = check_workers(max_workers if max_workers is not None else 2 * cores)
    controls: dict[str, w.ValueWidget] = {
        "workers": w.IntSlider(value=min(cores, top), min=1, max=top, description="workers",
                               continuous_update=False),
        "backend": w.Dropdown(options=backends, value=backends[0], description="backend"),
        "size": w.IntSlider(value=value, min=low, max=high, description=size_label,
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
        # The serial backend has one worker by definition: its "sweep" is the baseline alone.
        counts = [1] if backend == "serial" else range(1, v["workers"] + 1)
        return speedup_sweep(func, make_tasks(v["size"]), backend=backend, workers=counts,
                             start_method=v.get("start_method") if backend == "processes" else None,
                             chunksize=v.get("chunksize", 1), repeats=repeats, star=star,
                             progress=progress, waiting=waiting, estimate=estimate)

    return Panel(controls, measure, lambda sweep, ax: plot_speedup(sweep, ax), sweep_rows, title)
