"""Driving one notebook in a JupyterLab page with Playwright: open, run all, read the cells,
use the slider panels. Every wait is on state (kernel status, cell counts, status text, an
image's src), never on a sleep."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

__all__ = ["NotebookPage", "PanelCheck", "cell_problems"]

# Every snippet receives the notebook's path and finds its widget among JupyterLab's tabs.
_FIND = """
    const app = window.jupyterapp;
    let nb = null;
    if (app) { for (const w of app.shell.widgets('main')) { if (w.context && w.context.path === path) nb = w; } }
"""
_READY = "(path) => {" + _FIND + """
    const k = nb && nb.context.isReady && nb.sessionContext.session && nb.sessionContext.session.kernel;
    return !!(k && k.status === 'idle' && nb.content.widgets.length > 0);
}"""
_RUN_ALL = "(path) => {" + _FIND + """
    app.shell.activateById(nb.id);
    window.__parlabRunAll = null;
    app.commands.execute('notebook:run-all-cells').then(
        (ok) => { window.__parlabRunAll = {ok: ok}; },
        (e) => { window.__parlabRunAll = {error: String(e)}; });
    return true;
}"""
_IDLE = "(path) => {" + _FIND + """
    const k = nb && nb.sessionContext.session && nb.sessionContext.session.kernel;
    return !!(k && k.status === 'idle');
}"""
_CELLS = "(path) => {" + _FIND + """
    const cells = nb.content.model.cells, out = [];
    for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i);
        const tags = (c.getMetadata ? c.getMetadata('tags') : (c.metadata || {}).tags) || [];
        const item = {index: i, type: c.type, source: c.sharedModel.getSource(), tags: tags,
                      count: null, outputs: []};
        if (c.type === 'code') {
            item.count = c.executionCount;
            item.outputs = c.outputs.toJSON().map((o) => ({
                type: o.output_type, name: o.name || null, ename: o.ename || null,
                evalue: o.evalue || null,
                text: Array.isArray(o.text) ? o.text.join('') : (o.text || '')}));
        }
        out.push(item);
    }
    return out;
}"""
# Every code cell's outputs as JupyterLab holds them (nbformat's JSON), by cell index.
_OUTPUTS = "(path) => {" + _FIND + """
    const cells = nb.content.model.cells, out = {};
    for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i);
        if (c.type === 'code') out[i] = c.outputs.toJSON();
    }
    return out;
}"""
# What a learner sees of each cell: whether its source is shown, and the text of its outputs as
# rendered (innerText leaves out what a closed <details> block folds away).
_CELL_VIEWS = "(path) => {" + _FIND + """
    return nb.content.widgets.map((cell, i) => {
        const input = cell.node.querySelector('.jp-Cell-inputWrapper .jp-InputArea');
        const area = cell.node.querySelector('.jp-Cell-outputWrapper');
        const shown = (el) => !!(el && el.checkVisibility({checkVisibilityCSS: true}));
        const outputs = shown(area) ? [...area.querySelectorAll('.jp-OutputArea-output')] : [];
        return {index: i, sourceShown: shown(input), outputText: outputs.map((o) => o.innerText).join('\\n')};
    });
}"""
_RENDER_PROBLEMS = "(path) => {" + _FIND + """
    const found = [];
    for (const el of nb.node.querySelectorAll('.jp-OutputArea-output')) {
        const t = (el.textContent || '').trim();
        if (t.includes('Error displaying widget') || t.startsWith('Javascript Error')
            || t.startsWith('Loading widget')) found.push(t.slice(0, 300));
    }
    return found;
}"""
_KERNEL = "(path) => {" + _FIND + " return nb.sessionContext.session.kernel.id; }"
_INTERRUPT = "async (path) => {" + _FIND + " await nb.sessionContext.session.kernel.interrupt(); return true; }"
_SHUTDOWN = "async (path) => {" + _FIND + " if (nb) await nb.sessionContext.shutdown(); return true; }"
_EVAL = "async ([path, code, ms, silent]) => {" + _FIND + """
    const k = nb.sessionContext.session.kernel;
    let out = '', err = null;
    const future = k.requestExecute({code: code, silent: silent, store_history: false});
    future.onIOPub = (m) => {
        if (m.header.msg_type === 'stream') out += m.content.text;
        if (m.header.msg_type === 'error') err = m.content.ename + ': ' + m.content.evalue;
    };
    const late = new Promise((_, reject) => setTimeout(
        () => reject(new Error('the kernel did not answer within ' + ms + ' ms')), ms));
    await Promise.race([future.done, late]);
    if (err) throw new Error(err);
    return out;
}"""
_SCROLL = "(path) => {" + _FIND + """
    const outer = nb.node.querySelector('.jp-WindowedPanel-outer') || nb.content.node;
    outer.scrollTop = 0;
    return [outer.scrollHeight, outer.clientHeight];
}"""
# The status after a run: "done: run N ..." (N larger than before), or an error/interrupt.
_STATUS_SETTLED = """([el, before]) => {
    const text = el.innerText.trim();
    const m = /^done: run (\\d+)/.exec(text);
    if (m && Number(m[1]) > before) return text;
    return /error|interrupted/.test(text) ? text : false;
}"""
_RUN_NUMBER = re.compile(r"^done: run (\d+)")


def run_number(status: str) -> int:
    """The run a panel's status reports as done (0 before the first)."""
    found = _RUN_NUMBER.match(status.strip())
    return int(found.group(1)) if found else 0


def cell_problems(cells: list[dict[str, Any]], stored: dict[str, Any] | None) -> list[str]:
    """Errors outside ``raises-exception`` cells, unexpected stderr, code cells left unexecuted."""
    stored_cells = (stored or {}).get("cells", [])
    problems = []
    for cell in cells:
        if cell["type"] != "code" or not cell["source"].strip():
            continue  # JupyterLab does not send an empty cell to the kernel
        where = f"cell {cell['index']} ({cell['source'].strip().splitlines()[0][:60]!r})"
        allowed = "raises-exception" in cell["tags"]
        if not cell["count"]:
            problems.append(f"{where} was left unexecuted")
        for out in cell["outputs"]:
            if out["type"] == "error" and not allowed:
                problems.append(f"{where} raised {out['ename']}: {out['evalue']}")
            if out["type"] == "stream" and out["name"] == "stderr" and not allowed:
                old = stored_cells[cell["index"]] if cell["index"] < len(stored_cells) else {}
                expected = any(o.get("name") == "stderr" for o in old.get("outputs", []))
                if not expected:  # the committed notebook shows none: nbval would fail it too
                    problems.append(f"{where} wrote to stderr: {out['text'][:300]!r}")
    return problems


@dataclass
class PanelCheck:
    """What happened to one slider panel: the slider moved, Run pressed, a new plot drawn."""

    index: int
    slider: str = ""
    readout_before: str = ""
    readout_after: str = ""
    status: str = ""
    notes: list[str] = field(default_factory=list)


class NotebookPage:
    """One notebook open in its own JupyterLab page."""

    def __init__(self, page: Page, base_url: str, path: str) -> None:
        self.page = page
        self.base_url = base_url
        self.path = path  # relative to the server's root, e.g. "notebooks/00-start-here.ipynb"
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text[:300]}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console.append(f"page error: {e}"))

    def open(self, timeout_s: float) -> None:
        """Load JupyterLab on the notebook (a reset workspace) and wait for an idle kernel."""
        self.page.goto(f"{self.base_url}/lab/tree/{self.path}?reset", timeout=timeout_s * 1000)
        self.page.wait_for_function(_READY, arg=self.path, timeout=timeout_s * 1000)
        self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # the page is for the notebook

    def run_all(self, timeout_s: float) -> list[dict[str, Any]]:
        """Run all cells, wait until the kernel has handled every one and is idle; return the cells.

        Neither signal JupyterLab offers is enough alone: run-all's promise settles at the first
        failing cell (a ``raises-exception`` one included) while later cells still run, and the
        kernel reports "idle" between cells and for widget messages handled on a subshell.
        """
        self.page.evaluate(_RUN_ALL, self.path)
        # Settled means every cell's request has been sent (they all go out at once) ...
        self.page.wait_for_function("() => !!window.__parlabRunAll", timeout=timeout_s * 1000, polling=250)
        outcome = self.page.evaluate("() => window.__parlabRunAll")
        if "error" in outcome:
            raise AssertionError(f"run all cells failed in JupyterLab: {outcome['error']}")
        # ... and the reply to a request queued behind them comes after all of theirs.
        self.kernel_eval("", timeout_s, silent=True)
        self.page.wait_for_function(_IDLE, arg=self.path, timeout=timeout_s * 1000, polling=100)
        return self.cells()

    def cells(self) -> list[dict[str, Any]]:
        return self.page.evaluate(_CELLS, self.path)

    def outputs(self) -> dict[int, list[dict[str, Any]]]:
        """Each code cell's outputs in nbformat's JSON, by the cell's index in the notebook."""
        return {int(i): outs for i, outs in self.page.evaluate(_OUTPUTS, self.path).items()}

    def cell_views(self) -> list[dict[str, Any]]:
        """Per cell: ``sourceShown`` and the ``outputText`` a learner sees (folded details left out)."""
        return self.page.evaluate(_CELL_VIEWS, self.path)

    def render_problems(self, timeout_s: float = 30) -> list[str]:
        """Outputs that failed to render (widgets, JavaScript), after widgets had time to load."""
        try:
            self.page.wait_for_function(f"(path) => ({_RENDER_PROBLEMS})(path).length === 0",
                                        arg=self.path, timeout=timeout_s * 1000, polling=250)
        except Exception:  # noqa: BLE001, S110 (a timeout or a closed page: the list below answers either)
            pass
        return self.page.evaluate(_RENDER_PROBLEMS, self.path)

    def kernel_id(self) -> str:
        return self.page.evaluate(_KERNEL, self.path)

    def kernel_eval(self, code: str, timeout_s: float = 60, silent: bool = False) -> str:
        """Run ``code`` in the notebook's kernel after everything queued before it; return its stdout."""
        return self.page.evaluate(_EVAL, [self.path, code, int(timeout_s * 1000), silent])

    def interrupt(self) -> None:
        self.page.evaluate(_INTERRUPT, self.path)

    def shutdown_kernel(self) -> None:
        self.page.evaluate(_SHUTDOWN, self.path)

    def panels(self) -> Locator:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .parlab-panel")

    def press_run(self, panel: Locator, timeout_s: float) -> str:
        """Click Run and wait until the status reports a newer run (or an error); return the status."""
        # Let the kernel handle what is already on its way (a moved slider may start a run in
        # a panel that redraws on change), so that the run counted below is the click's own.
        self.kernel_eval("", timeout_s, silent=True)
        status = panel.locator(".parlab-status")
        before = run_number(status.inner_text())
        button = panel.locator("button.parlab-run")
        expect(button).to_be_enabled(timeout=timeout_s * 1000)
        button.click()
        return self.wait_status(panel, before, timeout_s)

    def wait_status(self, panel: Locator, before: int, timeout_s: float) -> str:
        handle = panel.locator(".parlab-status").element_handle()
        return self.page.wait_for_function(_STATUS_SETTLED, arg=[handle, before],
                                           timeout=timeout_s * 1000, polling=200).json_value()

    def exercise_panel(self, index: int, timeout_s: float) -> PanelCheck:
        """Move the first slider with the keyboard, press Run; check the readout and the plot changed."""
        panel = self.panels().nth(index)
        panel.scroll_into_view_if_needed()
        check = PanelCheck(index)
        img = panel.locator("img.parlab-plot")
        src_before = img.get_attribute("src") or ""
        sliders = panel.locator(".widget-slider")
        if sliders.count():
            slider = sliders.first
            check.slider = slider.locator(".widget-label").inner_text().strip()
            handle, readout = slider.locator(".noUi-handle").first, slider.locator(".widget-readout")
            check.readout_before = readout.inner_text().strip()
            up = float(handle.get_attribute("aria-valuenow")) < float(handle.get_attribute("aria-valuemax"))
            handle.press("ArrowRight" if up else "ArrowLeft")  # at the top already: one step down
            expect(readout).not_to_have_text(check.readout_before, timeout=10_000)
            check.readout_after = readout.inner_text().strip()
        else:
            check.notes.append("no slider in this panel")
        check.status = self.press_run(panel, timeout_s)
        if not check.status.startswith("done"):
            raise AssertionError(f"panel {index}: Run ended with {check.status!r}")
        self.page.wait_for_function("([el, old]) => !!el.getAttribute('src') && el.getAttribute('src') !== old",
                                    arg=[img.element_handle(), src_before], timeout=10_000)
        self._check_workers_column(panel, check)
        return check

    def _check_workers_column(self, panel: Locator, check: PanelCheck) -> None:
        # A speedup panel's table lists 1..workers: proof that the moved slider reached the kernel.
        headers = panel.locator(".parlab-table th").all_inner_texts()
        if check.slider != "workers" or not headers or headers[0].strip() != "workers":
            return
        column = [r.strip() for r in panel.locator(".parlab-table tr td:first-child").all_inner_texts()]
        if column != ["1"]:  # the serial backend measures one worker whatever the slider says
            assert column[-1] == check.readout_after, (
                f"panel {check.index}: slider says {check.readout_after} workers, table measured {column}")
        check.notes.append(f"table workers {column}")

    def screenshot_all(self, path: Path) -> None:
        """A screenshot of the whole notebook: the viewport is made as tall as the notebook."""
        size = self.page.viewport_size or {"width": 1280, "height": 900}
        scroll, client = self.page.evaluate(_SCROLL, self.path)
        height = min(size["height"] + max(0, scroll - client), 16_000)
        self.page.set_viewport_size({"width": size["width"], "height": height})
        # Wait for the notebook's area to follow the new viewport (not for it to hold every cell:
        # past 16,000 px, or while the windowed notebook re-measures its cells, it never does).
        target = client + height - size["height"]
        try:
            self.page.wait_for_function(f"([path, target]) => {{ const [s, c] = ({_SCROLL})(path); "
                                        "return c >= Math.min(s, target) - 2; }",
                                        arg=[self.path, target], timeout=10_000)
        except Exception:  # noqa: BLE001, S110 (whatever failed, a screenshot of what is there is still worth having)
            pass
        self.page.screenshot(path=str(path))
        self.page.set_viewport_size(size)
