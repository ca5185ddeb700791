"""The slider panels without a browser: Run draws and fills the table, errors and interrupts
show in the status, clicks during a run are refused, bad input is refused before any work."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from datetime import UTC, datetime

import ipywidgets as w
import matplotlib.pyplot as plt
import pytest
from PIL import Image
from procs import HAVE_PROC, descendants, stdlib_helper

from parlab import _clicks, system
from parlab.plot import DPI, FIGSIZE
from parlab.run import run_tasks
from parlab.widgets import PANEL_CLASS, Panel, displayed_panels, render_png, speedup_panel
from parlab.workloads import fib, io_wait


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the plot is not a PNG"
    return Image.open(io.BytesIO(data)).size


def _line_panel(**kwargs):
    """A panel whose 'measurement' is instant and whose plot depends on the slider."""
    calls = []

    def measure(values, progress):
        calls.append(dict(values))
        for step in range(1, 4):
            progress(step, 3)
        return [values["n"] * i for i in range(5)]

    def draw(result, ax):
        ax.plot(result, marker="o")

    def rows(result):
        return [{"i": str(i), "value": str(v)} for i, v in enumerate(result)]

    control = w.IntSlider(value=2, min=1, max=9, description="n")
    panel = Panel({"n": control}, measure, draw, rows, title="lines", **kwargs)
    return panel, control, calls


def test_run_button_draws_the_plot_and_fills_the_table():
    panel, control, calls = _line_panel()
    assert panel.image.value == b"" and panel.table.value == ""
    assert panel.image.layout.display == "none"  # no broken-image icon before the first plot
    panel.click()
    assert panel.image.layout.display is None
    assert calls == [{"n": 2}]
    first_image, first_table = panel.image.value, panel.table.value
    assert _png_size(first_image) == (FIGSIZE[0] * DPI, FIGSIZE[1] * DPI)
    assert "<td" in first_table and ">8<" in first_table  # 2 * 4
    assert panel.status.value.startswith("done: run 1")
    assert panel.progress.value == panel.progress.max == 3
    assert panel.result == [0, 2, 4, 6, 8]
    assert not panel.busy and not panel.button.disabled

    control.value = 3  # moving a slider starts nothing
    assert len(calls) == 1
    panel.click()
    assert calls[-1] == {"n": 3}
    assert panel.image.value != first_image
    assert panel.table.value != first_table and ">12<" in panel.table.value
    assert panel.status.value.startswith("done: run 2")


def test_panel_carries_stable_css_classes_for_the_browser_tests():
    panel, _, _ = _line_panel()
    assert PANEL_CLASS in panel.widget._dom_classes
    for part, name in ((panel.button, "run"), (panel.status, "status"), (panel.image, "plot"),
                       (panel.table, "table"), (panel.progress, "progress")):
        assert f"parlab-{name}" in part._dom_classes


def test_header_names_the_title_and_the_core_count():
    panel, _, _ = _line_panel()
    header = panel.widget.children[0].value
    assert "lines" in header and f"{system.usable_cores()} usable core" in header


def test_errors_in_measure_are_shown_in_the_status_and_raised_by_run():
    def measure(values, progress):
        raise ValueError("size must be at most 10, got 11")

    panel = Panel({"n": w.IntSlider(value=1)}, measure, lambda r, ax: None)
    panel.click()  # the button's callback must not raise: the browser would hide it
    assert "error: ValueError: size must be at most 10, got 11" in panel.status.value
    assert panel.progress.bar_style == "danger"
    assert not panel.busy and not panel.button.disabled
    with pytest.raises(ValueError, match="at most 10"):
        panel.run()


def test_errors_in_draw_are_shown_and_the_old_plot_stays():
    panel, _, _ = _line_panel()
    panel.click()
    good = panel.image.value
    panel._draw = lambda result, ax: 1 / 0
    panel.click()
    assert "error: ZeroDivisionError" in panel.status.value
    assert panel.image.value == good


def test_error_text_is_escaped():
    def measure(values, progress):
        raise RuntimeError("<script>alert(1)</script>")

    panel = Panel({"n": w.IntSlider()}, measure, lambda r, ax: None)
    panel.click()
    assert "<script>" not in panel.status.value and "&lt;script&gt;" in panel.status.value


def test_a_click_while_busy_is_refused():
    started, release = threading.Event(), threading.Event()
    calls = []

    def measure(values, progress):
        calls.append(1)
        started.set()
        assert release.wait(30), "the test never released the run"
        return [1, 2]

    panel = Panel({"n": w.IntSlider()}, measure, lambda r, ax: ax.plot(r))
    runner = threading.Thread(target=panel.click)
    runner.start()
    try:
        assert started.wait(30)
        assert panel.busy and panel.button.disabled
        panel.click()
        assert panel.status.value == "already running: wait for it to finish"
        with pytest.raises(RuntimeError, match="already in progress"):
            panel.run()
    finally:
        release.set()
        runner.join(30)
    assert calls == [1]
    assert panel.status.value.startswith("done: run 1") and not panel.busy


def test_a_click_from_inside_the_run_is_refused():
    holder = {}

    def measure(values, progress):
        holder["panel"].click()
        return [1]

    panel = Panel({"n": w.IntSlider()}, measure, lambda r, ax: ax.plot(r))
    holder["panel"] = panel
    panel.click()
    assert panel.runs == 1 and panel.status.value.startswith("done: run 1")


def _browser_click(panel, sent_at):
    """The message ipykernel would be handling for a browser click on the panel's button."""
    stamp = datetime.fromtimestamp(sent_at, UTC)  # jupyter_client hands the kernel a datetime
    return {"header": {"msg_type": "comm_msg", "date": stamp},
            "content": {"comm_id": panel.button.comm.comm_id, "data": {"method": "custom"}}}


def test_a_browser_click_sent_during_the_run_is_dropped(monkeypatch):
    panel, _, calls = _line_panel()
    message = {}
    monkeypatch.setattr(_clicks, "parent_message", lambda: message.get("now"))
    monkeypatch.setattr(_clicks.SenderClock, "offset", None)

    message["now"] = _browser_click(panel, time.time())
    panel.click()  # the click that starts run 1
    assert panel.runs == 1
    # A second click stamped before run 1 ended reached the kernel only now: dropped.
    message["now"] = _browser_click(panel, panel._ended_wall - 0.05)
    message["now"]["header"]["date"] = message["now"]["header"]["date"].isoformat()  # or a string
    panel.click()
    assert panel.runs == 1 and len(calls) == 1
    assert "click made during the run was ignored" in panel.status.value
    # A click stamped after the end is a new request.
    message["now"] = _browser_click(panel, time.time() + 0.01)
    panel.click()
    assert panel.runs == 2


def test_a_browser_click_without_a_stamp_is_taken_as_meant(monkeypatch):
    panel, _, _ = _line_panel()
    unstamped = _browser_click(panel, time.time())
    del unstamped["header"]["date"]
    monkeypatch.setattr(_clicks, "parent_message", lambda: unstamped)
    panel.click()
    panel.click()
    assert panel.runs == 2


class _FakeLoop:
    """Stands in for the kernel's main-thread IOLoop: keeps the callbacks it is handed."""

    def __init__(self):
        self.callbacks = []

    def add_callback(self, callback):
        self.callbacks.append(callback)


def test_a_click_on_another_thread_runs_in_the_main_thread(monkeypatch):
    # JupyterLab 4.6 delivers widget messages on a kernel subshell: a second thread, which
    # Jupyter's interrupt (SIGINT) cannot reach. The panel hands the run to the main thread.
    loop = _FakeLoop()
    monkeypatch.setattr(_clicks, "kernel", lambda: type("K", (), {"io_loop": loop})())
    threads = []
    panel = Panel({"n": w.IntSlider()}, lambda v, p: threads.append(threading.current_thread()) or [1],
                  lambda r, ax: ax.plot(r))
    subshell = threading.Thread(target=panel.click)
    subshell.start()
    subshell.join(10)
    assert len(loop.callbacks) == 1 and threads == []
    assert panel.busy and panel.button.disabled and panel.status.value.startswith("starting")
    other = threading.Thread(target=panel.click)  # a second click before the run starts
    other.start()
    other.join(10)
    assert len(loop.callbacks) == 1 and panel.status.value == "already running: wait for it to finish"

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as ipykernel has it between messages
    try:
        loop.callbacks[0]()  # what the kernel's event loop does in its main thread
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # restored after the run
    finally:
        signal.signal(signal.SIGINT, previous)
    assert threads == [threading.main_thread()]
    assert panel.runs == 1 and not panel.busy and not panel.button.disabled


def test_the_main_thread_run_takes_sigint_as_an_interrupt(monkeypatch):
    loop = _FakeLoop()
    monkeypatch.setattr(_clicks, "kernel", lambda: type("K", (), {"io_loop": loop})())
    seen = []
    panel = Panel({"n": w.IntSlider()}, lambda v, p: seen.append(signal.getsignal(signal.SIGINT)) or [1],
                  lambda r, ax: ax.plot(r))
    subshell = threading.Thread(target=panel.click)
    subshell.start()
    subshell.join(10)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        loop.callbacks[0]()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == [signal.default_int_handler]


def test_clicks_from_code_are_never_dropped():
    panel, _, _ = _line_panel()
    for _ in range(3):
        panel.click()  # back to back, as a lesson cell or a test may do
    assert panel.runs == 3


# --------------------------------------------------------------------------- interrupts

def _worker_pids(ignore: frozenset[int] = frozenset()) -> list[int]:
    """Live descendants of this process, without multiprocessing's helpers or the ``ignore``d ones."""
    return [p for p in descendants(os.getpid()) if p not in ignore and not stdlib_helper(p)]


@pytest.fixture
def earlier() -> frozenset[int]:
    """Processes alive before the test (a session's JupyterLab and Chromium): not this test's workers."""
    return frozenset(_worker_pids())


def _interrupt_when_workers_run(count: int, ignore: frozenset[int], timeout: float = 60.0) -> threading.Thread:
    """Send SIGINT to the main thread (as Jupyter's interrupt does) once ``count`` workers are up."""
    main = threading.main_thread().ident

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(_worker_pids(ignore)) >= count:
                signal.pthread_kill(main, signal.SIGINT)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def _slow_process_panel() -> Panel:
    def measure(values, progress):
        return run_tasks(io_wait, [60.0] * 4, backend="processes", workers=values["workers"],
                         timeout=120, warn=False)

    return Panel({"workers": w.IntSlider(value=2, min=1, max=4)}, measure, lambda r, ax: None)


def _wait_until_no_workers(ignore: frozenset[int], timeout: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := _worker_pids(ignore)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.mark.faults
@pytest.mark.skipif(not HAVE_PROC, reason="counts worker processes through /proc")
def test_an_interrupt_stops_the_run_and_leaves_no_workers(earlier):
    panel = _slow_process_panel()
    watcher = _interrupt_when_workers_run(2, earlier)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        panel.run()
    watcher.join(5)
    assert time.monotonic() - started < 50, "the interrupt did not stop the 60 s tasks"
    assert "interrupted" in panel.status.value
    assert not panel.busy and not panel.button.disabled
    assert _wait_until_no_workers(earlier) == []


@pytest.mark.faults
@pytest.mark.skipif(not HAVE_PROC, reason="counts worker processes through /proc")
def test_an_interrupt_during_a_click_is_shown_not_raised(earlier):
    panel = _slow_process_panel()
    watcher = _interrupt_when_workers_run(2, earlier)
    panel.click()  # as in the kernel: the callback must swallow it and report it
    watcher.join(5)
    assert "interrupted" in panel.status.value
    assert _wait_until_no_workers(earlier) == []
    panel.controls["workers"].value = 1
    panel._measure = lambda values, progress: run_tasks(fib, [15] * 2, backend="processes",
                                                        workers=values["workers"], warn=False)
    panel.click()  # the panel works again after an interrupt
    assert panel.status.value.startswith("done: run 1")
    assert _wait_until_no_workers(earlier) == []


# --------------------------------------------------------------------------- speedup_panel

@pytest.mark.slow
def test_speedup_panel_runs_the_real_sweep_on_threads_and_processes():
    panel = speedup_panel(fib, lambda n: [n] * 4, size=(10, 16, 12), size_label="fib n",
                          max_workers=2, repeats=1, start_methods=True, chunksize=True,
                          title="fib")
    assert set(panel.controls) == {"workers", "backend", "size", "start_method", "chunksize"}
    panel.controls["workers"].value = 2
    sweep = panel.run()
    assert sweep.backend == "threads" and sweep.workers == [1, 2] and sweep.tasks == 4
    assert panel.table.value.count("<tr>") == 3  # header + one row per worker count
    first = panel.image.value
    assert _png_size(first) == (480, 288)
    assert len(first) < 30_000, f"panel PNG is {len(first)} bytes"

    panel.controls["backend"].value = "processes"
    panel.controls["size"].value = 13
    panel.click()
    assert panel.status.value.startswith("done: run 2"), panel.status.value
    assert panel.result.backend == "processes" and panel.result.start_method == system.default_start_method()
    assert panel.image.value != first


def test_speedup_panel_serial_backend_is_the_baseline_alone():
    panel = speedup_panel(fib, lambda n: [n] * 2, backends=("serial", "threads"), size=(8, 12, 10),
                          repeats=1)
    assert panel.run().workers == [1]


def test_speedup_panel_passes_waiting_and_estimate_to_the_sweep():
    plain = speedup_panel(fib, lambda n: [n] * 2, backends=("threads",), size=(8, 12, 10), repeats=1,
                          max_workers=2)
    plain.controls["workers"].value = 2
    sweep = plain.run()
    assert sweep.waiting is False and sweep.estimate is not None
    waiting = speedup_panel(fib, lambda n: [n] * 2, backends=("threads",), size=(8, 12, 10), repeats=1,
                            max_workers=2, waiting=True, estimate=False)
    waiting.controls["workers"].value = 2
    sweep = waiting.run()
    assert sweep.waiting is True and sweep.estimate is None
    fig, ax = plt.subplots()
    waiting._draw(sweep, ax)  # what the panel's PNG shows
    assert "ideal for waiting tasks" in "".join(t.get_text() for t in ax.get_legend().get_texts())
    plt.close(fig)


@pytest.mark.parametrize("kwargs, kind, match", [
    ({"backends": ("gpu",)}, ValueError, "backends must list some of serial, threads, processes"),
    ({"backends": ()}, ValueError, "backends must list"),
    ({"size": (5, 1, 3)}, ValueError, r"min <= value <= max"),
    ({"size": (1, 10)}, ValueError, r"tuple \(min, max, value\)"),
    ({"size": [1, 10, 5]}, TypeError, r"tuple \(min, max, value\)"),
    ({"size": (1.0, 10, 5)}, TypeError, "whole numbers"),
    ({"repeats": 0}, ValueError, "repeats must be a whole number >= 1"),
    ({"repeats": 2.0}, TypeError, "repeats must be a whole number >= 1"),
    ({"max_workers": 0}, ValueError, "workers must be a whole number from 1"),
    ({"waiting": "yes"}, TypeError, "waiting must be True or False"),
    ({"estimate": None}, TypeError, "estimate must be True or False"),
])
def test_speedup_panel_refuses_bad_input_before_any_work(kwargs, kind, match):
    with pytest.raises(kind, match=match) as info:
        speedup_panel(fib, lambda n: [n], **kwargs)
    assert type(info.value) is kind


def test_panel_refuses_bad_arguments():
    with pytest.raises(TypeError, match="controls must be a dict"):
        Panel([w.IntSlider()], lambda v, p: None, lambda r, ax: None)
    with pytest.raises(TypeError, match="measure must be a function"):
        Panel({}, None, lambda r, ax: None)
    with pytest.raises(TypeError, match="rows must be a function"):
        Panel({}, lambda v, p: None, lambda r, ax: None, rows="table")


def test_render_png_is_small_and_leaves_pyplot_alone():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    data = render_png(lambda ax: ax.plot([0, 1, 4, 9], marker="o"))
    assert plt.get_fignums() == before
    assert _png_size(data) == (480, 288) and len(data) < 20_000


def test_displayed_panels_are_listed_and_closing_is_seen():
    panel, _, _ = _line_panel()
    assert panel not in displayed_panels()
    panel._ipython_display_()  # what IPython calls for a cell that ends with the panel
    assert displayed_panels()[-1] is panel and not panel.closed
    panel.widget.close()
    assert panel.closed
