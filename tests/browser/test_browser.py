"""Every lesson in a real JupyterLab in headless Chromium, used the way a learner uses it.

``pytest -m browser``. For each notebook in notebooks/ (or in the folder PARLAB_NOTEBOOKS
names): run all cells; fail on an error output, on stderr the committed notebook does not
show, on a cell left unexecuted or an output that failed to render, and on an output that
differs from the stored one by strict nbval's rules (tests/stored_outputs.py: this run stands in for
nbval's, see conftest.py's _EachLessonOnce); then on every slider
panel move the first slider with the keyboard, press Run, and check that the readout and
the plot changed. A check notebook written by the test also double-clicks Run and
interrupts a run. Screenshots land in tests/screenshots/ (git-ignored): open them first
when a test fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from lab_server import JupyterLab
from procs import descendants, stdlib_helper
from stored_outputs import output_differences

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = Path(os.environ.get("PARLAB_NOTEBOOKS") or REPO / "notebooks").resolve()
SCREENSHOTS = REPO / "tests" / "screenshots"
CHROMIUM = os.environ.get("PARLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
# Generous, finite: a lesson runs all its cells in 40-60 s on a busy 2-core machine.
LOAD_S, RUN_ALL_S, PANEL_S, GONE_S = 120, 600, 240, 30

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]

LESSONS = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) if NOTEBOOK_DIR.is_dir() else []


class _Browsing:
    """The server and the browser, started on first use and stopped at the end of the session."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.lab: JupyterLab | None = None
        self.browser = None
        self.context = None  # one context for every page: closing a page takes 0.5 s, a context 2.7 s
        self._playwright = None

    def start(self) -> tuple[JupyterLab, object]:
        if self.lab is None:
            source = NOTEBOOK_DIR
            if not source.is_dir():  # the check notebook still runs
                source = self.workdir / "no-notebooks"
                source.mkdir()
            self.lab = JupyterLab(self.workdir / "lab", source, REPO)
            self.lab.start()
        if self.browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self.browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, timeout=LOAD_S * 1000)
            self.context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        return self.lab, self.context

    def close(self) -> None:
        try:
            if self.browser is not None:
                self.browser.close()
            if self._playwright is not None:
                self._playwright.stop()
        finally:
            if self.lab is not None:
                self.lab.stop()  # the server and its kernels go, whatever happened to the browser


# Module scope: Playwright's sync API keeps an asyncio loop running in this thread while the
# browser is open, and later tests call asyncio.run(); the server and its kernels go with it.
@pytest.fixture(scope="module")
def _browsing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Browsing]:
    browsing = _Browsing(tmp_path_factory.mktemp("jupyterlab"))
    yield browsing
    browsing.close()


@pytest.fixture
def lab(require, _browsing: _Browsing):
    """(JupyterLab server, a Chromium browser context); skipped outside CI, failed under CI=true, when missing."""
    require(os.access(CHROMIUM, os.X_OK), f"Chromium ({CHROMIUM})",
            "install Debian's browser with `apt-get install -y chromium` "
            "(or set PARLAB_CHROMIUM to a Chromium binary)")
    require(importlib.util.find_spec("playwright") is not None, "Playwright for Python",
            "`pip install playwright` (it drives the system Chromium: no browser download needed)")
    SCREENSHOTS.mkdir(exist_ok=True)
    return _browsing.start()


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll a condition on processes (not on the page) until it holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.1)


def workers_of(pid: int | None) -> list[int]:
    """Live processes below ``pid``, without multiprocessing's one-per-interpreter helpers."""
    return [p for p in descendants(pid) if not stdlib_helper(p)] if pid else []


@contextmanager
def notebook_page(lab, path: str, stem: str) -> Iterator:
    """A fresh page on one notebook; on failure a screenshot, the console and the server log are attached."""
    from lab_page import NotebookPage

    server, context = lab
    notebook = NotebookPage(context.new_page(), server.url, path)
    try:
        yield notebook
    except Exception as exc:
        shot = SCREENSHOTS / f"{stem}-failure.png"
        try:
            notebook.page.screenshot(path=str(shot))
        except Exception:  # noqa: BLE001 (no screenshot of a crashed page: the failure is reported all the same)
            shot = None
        console = "\n".join(notebook.console[-15:]) or "(nothing)"
        raise AssertionError(f"{path}: {exc}\n--- screenshot: {shot}\n--- browser console errors:\n"
                             f"{console}\n--- end of the jupyter log:\n{server.log_tail(2500)}") from exc
    finally:
        try:
            notebook.shutdown_kernel()
        except Exception:  # noqa: BLE001, S110 (a crashed page: the check below still sees a kernel left running)
            pass
        notebook.page.close()
    # Nothing left behind: the kernel, its pools and anything they started must be gone.
    wait_for(lambda: not descendants(server.proc.pid), GONE_S, "the kernel and its workers to exit")


def run_and_check(notebook, stored: dict | None, *, opened: bool = False) -> float:
    """Open (unless ``opened``), run all cells, fail on any problem; return the run-all time in seconds."""
    from lab_page import cell_problems

    if not opened:
        notebook.open(LOAD_S)
    started = time.perf_counter()
    cells = notebook.run_all(RUN_ALL_S)
    elapsed = time.perf_counter() - started
    problems = cell_problems(cells, stored)
    problems += [f"an output failed to render: {text}" for text in notebook.render_problems()]
    # A panel the notebook shows and then closes is gone from the page after "Run All".
    shown = json.loads(notebook.kernel_eval(
        "import sys\nif 'parlab.widgets' in sys.modules:\n"
        "    print(__import__('json').dumps([[p.title, p.closed] for p in "
        "sys.modules['parlab.widgets'].displayed_panels()]))\nelse:\n    print('[]')") or "[]")
    problems += [f"the notebook closes its panel {title!r} (widget.close()): after Run All a learner "
                 "cannot use it" for title, closed in shown if closed]
    assert not problems, "\n".join(problems)
    return elapsed


def exercise_panels(notebook, stem: str, indices: list[int]) -> list[str]:
    """Slider, Run, readout and plot on each panel; a screenshot of each."""
    lines = []
    for i in indices:
        check = notebook.exercise_panel(i, PANEL_S)
        notebook.panels().nth(i).screenshot(path=str(SCREENSHOTS / f"{stem}-panel{i}.png"))
        lines.append(f"panel {i}: {check.slider} {check.readout_before} -> {check.readout_after}; "
                     f"{check.status}; {'; '.join(check.notes)}")
    return lines


NUMBER = re.compile(r"\d+(?:[.,]\d+)+|\d{2,}")  # decimals and numbers of two digits or more


def exercise_view_problems(notebook, stored: dict, *, ran: bool) -> list[str]:
    """What a learner must not see of the solutions, and, after Run all, each exercise unanswered.

    A solution shows neither its source nor an answer: of its output only the checker's
    headline may be visible, with no number that the exercise's own prompt and cells do not
    already show (the answer's numbers sit folded in <details>), or "Writing NAME" from
    ``%%writefile``. After Run all with every placeholder untouched, each exercise's own cells
    say "not answered yet".
    """
    from notebook_cells import exercises_by_index

    views = notebook.cell_views()
    cells = stored["cells"]
    problems = []
    for number, (learner, solutions, prompts) in enumerate(exercises_by_index(cells), start=1):
        given = {n for i in learner + prompts for n in NUMBER.findall("".join(cells[i]["source"]))}
        for i in solutions:
            seen = views[i]
            if seen["sourceShown"]:
                problems.append(f"exercise {number}: the solution's source (cell {i}) is visible")
            text = re.sub(r"Exercise \d+|(?:Over)?[Ww]riting \S+", "", seen["outputText"])
            new = sorted(set(NUMBER.findall(text)) - given)
            if new:
                shown = seen["outputText"][:160]
                problems.append(f"exercise {number}: the solution's output (cell {i}) shows {new} in {shown!r}")
        if ran and not any("not answered yet" in views[i]["outputText"] for i in learner):
            problems.append(f"exercise {number}: after Run all the learner's cells do not say 'not answered yet'")
    return problems


@pytest.mark.parametrize("name", LESSONS or [pytest.param(
    "none", marks=pytest.mark.skip(reason=f"no notebooks in {NOTEBOOK_DIR}"))])
def test_lesson_in_the_browser(lab, name: str) -> None:
    stem = Path(name).stem
    stored = json.loads((NOTEBOOK_DIR / name).read_text())
    with notebook_page(lab, f"notebooks/{name}", stem) as notebook:
        notebook.open(LOAD_S)
        problems = exercise_view_problems(notebook, stored, ran=False)
        assert not problems, "before Run all: " + "\n".join(problems)
        elapsed = run_and_check(notebook, stored, opened=True)
        problems = output_differences(stored, notebook.outputs())
        assert not problems, ("outputs differ from the stored ones (strict nbval's rules, tests/sanitize.cfg):\n"
                              + "\n".join(problems))
        problems = exercise_view_problems(notebook, stored, ran=True)
        assert not problems, "after Run all: " + "\n".join(problems)
        lines = exercise_panels(notebook, stem, list(range(notebook.panels().count())))
        problems = notebook.render_problems(timeout_s=5)
        assert not problems, "after using the panels: " + "\n".join(problems)
        notebook.screenshot_all(SCREENSHOTS / f"{stem}.png")
    print(f"{name}: run all {elapsed:.1f} s; {len(lines)} panel(s)", *lines, sep="\n  ")


# --------------------------------------------------------------------------- the check notebook

CHECK_CELLS = [
    ("import ipywidgets as w\nfrom parlab.results import format_seconds\nfrom parlab.plot import plot_timeline\n"
     "from parlab.run import run_tasks\nfrom parlab.widgets import Panel, speedup_panel\n"
     "from parlab.workloads import fib, io_wait"),
    # panel 0: the common panel, run once by the cell as lessons do
    ("panel = speedup_panel(fib, lambda n: [n] * 8, size=(16, 22, 18), size_label='fib n',\n"
     "                      title='check: a speedup panel')\n_ = panel.run()\npanel"),
    # panel 1: a run that takes minutes unless interrupted
    ("import threading\nthreads = []\n\n"
     "def wait_long(values, progress):\n"
     "    threads.append(threading.current_thread().name)\n"
     "    return run_tasks(io_wait, [120.0] * 4, backend='processes', workers=values['workers'], warn=False)\n\n"
     "slow = Panel({'workers': w.IntSlider(value=2, min=1, max=4, description='workers')}, wait_long,\n"
     "             lambda r, ax: plot_timeline(r, ax), title='check: a run to interrupt')\nslow"),
    # panel 2: a custom panel that has not run yet: a timeline coloured by worker
    ("def waits(values, progress):\n"
     "    return run_tasks(io_wait, [0.05] * values['tasks'], backend='threads', workers=values['workers'],\n"
     "                     warn=False)\n\n"
     "timeline = Panel({'workers': w.IntSlider(value=2, min=1, max=6, description='workers'),\n"
     "                  'tasks': w.IntSlider(value=12, min=4, max=24, description='tasks')},\n"
     "                 waits, lambda r, ax: plot_timeline(r, ax),\n"
     "                 lambda r: [{'tasks': str(len(r.results)), 'wall': format_seconds(r.wall_s)}],\n"
     "                 title='check: a timeline panel')\ntimeline"),
]


def _write_check_notebook(root: Path) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"check-{i}", "metadata": {},
              "outputs": [], "source": source} for i, source in enumerate(CHECK_CELLS)]
    notebook = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                            "language": "python"}}}
    (root / "checks").mkdir(exist_ok=True)
    (root / "checks" / "panel-check.ipynb").write_text(json.dumps(notebook))
    return "checks/panel-check.ipynb"


def test_panels_refuse_a_double_click_and_stop_on_interrupt(lab) -> None:
    server, _ = lab
    path = _write_check_notebook(server.root)
    with notebook_page(lab, path, "panel-check") as notebook:
        run_and_check(notebook, None)
        lines = exercise_panels(notebook, "panel-check", [0, 2])
        assert notebook.panels().count() == 3

        # A double click sends two clicks before the button greys out: one run, not two.
        panel = notebook.panels().nth(0)
        runs = int(notebook.kernel_eval("print(panel.runs)"))
        panel.locator("button.parlab-run").evaluate("(b) => { b.click(); b.click(); }")
        status = notebook.wait_status(panel, runs, PANEL_S)
        assert status.startswith(f"done: run {runs + 1}"), status
        # The kernel answers this only after it has handled both clicks.
        assert notebook.kernel_eval("print(panel.runs)").strip() == str(runs + 1)

        # Jupyter's interrupt stops a run of 120 s tasks and leaves no worker behind; twice,
        # because JupyterLab delivers later clicks on a kernel subshell (another thread).
        slow = notebook.panels().nth(1)
        kernel = server.kernel_pid(notebook.kernel_id())
        for attempt in (1, 2):
            notebook.kernel_eval("", silent=True)  # the previous click is fully handled
            slow.locator("button.parlab-run").click()
            wait_for(lambda: len(workers_of(kernel)) >= 2, 60, f"two process workers to start (run {attempt})")
            notebook.interrupt()
            status = notebook.wait_status(slow, 0, 60)
            assert "interrupted" in status, status
            wait_for(lambda: not workers_of(kernel), 15, "the interrupted run's workers to exit")
        report = notebook.kernel_eval("print(slow.busy, slow.runs, threads)").strip()
        assert report == "False 0 ['MainThread', 'MainThread']", report
        lines.append(f"double click: one run; two interrupts: {report}")
        slow.screenshot(path=str(SCREENSHOTS / "panel-check-panel1.png"))
        notebook.screenshot_all(SCREENSHOTS / "panel-check.png")
    print(*lines, sep="\n")


# --------------------------------------------------------------------------- the exercise-view check

_HIDDEN = {"jupyter": {"source_hidden": True, "outputs_hidden": True}, "tags": ["solution"]}
EXERCISE_CELLS = [
    ("markdown", "## Exercises\n\n### Exercise 1: a folded answer", {}),
    ("code", ("from parlab.lessons import check\nguess = ...\n"
              "check.prediction('Exercise 1: a folded answer', guess, 1.97, tolerance=0.3)"), {}),
    ("code", "check.prediction('Exercise 1: a folded answer', 2.0, 1.97, tolerance=0.3).must_be_right()", _HIDDEN),
    ("markdown", "### Exercise 2: an answer in plain view", {}),
    ("code", "answer = ...\ncheck.not_answered('Exercise 2: an answer in plain view', 'set answer')", {}),
    ("code", "print('the answer is 9.91')", _HIDDEN),
    ("markdown", "## Key points", {}),
]


def test_the_exercise_view_check_sees_an_answer_in_plain_view_and_passes_a_folded_one(lab) -> None:
    server, _ = lab
    cells = [{"cell_type": kind, "id": f"ex-{i}", "metadata": meta, "source": source,
              **({"execution_count": None, "outputs": []} if kind == "code" else {})}
             for i, (kind, source, meta) in enumerate(EXERCISE_CELLS)]
    notebook_json = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                     "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                                 "language": "python"}}}
    (server.root / "checks").mkdir(exist_ok=True)
    (server.root / "checks" / "exercise-check.ipynb").write_text(json.dumps(notebook_json))
    with notebook_page(lab, "checks/exercise-check.ipynb", "exercise-check") as notebook:
        notebook.open(LOAD_S)
        assert exercise_view_problems(notebook, notebook_json, ran=False) == []
        notebook.run_all(RUN_ALL_S)
        problems = exercise_view_problems(notebook, notebook_json, ran=True)
        # JupyterLab shows a collapsed output again once its cell runs: the printed answer shows,
        # the verdict's numbers stay folded in <details>.
        assert problems == ["exercise 2: the solution's output (cell 5) shows ['9.91'] in 'the answer is 9.91\\n'"], \
            problems
        views = notebook.cell_views()
        assert "not answered yet" in views[1]["outputText"] and "right" in views[2]["outputText"]
        assert "1.97" not in views[2]["outputText"]
