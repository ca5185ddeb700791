"""tests/stored_outputs.py: the browser test's comparison of fresh outputs with stored ones.

It stands in for strict nbval in README's command, so it must find what nbval finds and pass
what nbval passes: these tests hold it to nbval's rules on small notebooks and on the lessons.
"""

from __future__ import annotations

import copy
import json

import pytest
from notebook_cells import NOTEBOOKS
from stored_outputs import SANITIZE, compared_cells, output_differences, sanitize_rules


def _notebook(*cells: dict) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _code(source: str, outputs: list[dict], tags: tuple[str, ...] = (), count: int | None = 1) -> dict:
    return {"cell_type": "code", "execution_count": count, "id": f"c{abs(hash(source)) % 10**8}",
            "metadata": {"tags": list(tags)} if tags else {}, "outputs": outputs, "source": source}


def _stream(text: str | list[str], name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def _display(data: dict) -> dict:
    return {"output_type": "display_data", "data": data, "metadata": {}}


STORED = _notebook(
    {"cell_type": "markdown", "id": "m0", "metadata": {}, "source": "# a lesson"},
    _code("print(report)", [_stream(["speedup 1.95× in 0.123 s\n", "results match\n"])]),
    _code("panel", [_display({"text/plain": "Panel(...)", "image/png": "AAAA",
                              "application/vnd.jupyter.widget-view+json": {"model_id": "abc"}})]),
    _code("timings", [_stream("measured on this machine: 7 s\n")], tags=("nbval-ignore-output",)),
    _code("never_run", [], count=None),
    _code("# NBVAL_SKIP\nskipped", [_stream("anything\n")]),
)


def fresh_copy() -> dict[int, list[dict]]:
    return {i: copy.deepcopy(c["outputs"]) for i, c in enumerate(STORED["cells"]) if c["cell_type"] == "code"}


def test_the_rules_are_nbvals_sanitize_file_read_by_nbval() -> None:
    rules = sanitize_rules()
    assert rules and len(rules) == SANITIZE.read_text().count("\nregex: ")
    assert all(isinstance(r, str) and isinstance(s, str) for r, s in rules)


def test_only_cells_that_strict_nbval_checks_are_compared() -> None:
    # not the markdown, not the ignored, never-run or skipped cells
    assert compared_cells(STORED) == [1, 2]


def test_the_same_outputs_agree_and_what_nbval_leaves_out_may_differ() -> None:
    assert output_differences(STORED, fresh_copy()) == []
    fresh = fresh_copy()
    fresh[1] = [_stream("speedup 1.41× in 0.987 s\n"), _stream("results match\n")]  # sanitized; streams merged
    fresh[2][0]["data"]["image/png"] = "BBBB"  # images are not compared
    fresh[2][0]["data"]["application/vnd.jupyter.widget-view+json"] = {"model_id": "xyz"}
    fresh[2][0]["metadata"] = {"isolated": True}
    fresh[3] = [_stream("measured on this machine: 9 s\n")]  # nbval-ignore-output
    fresh[4] = [_stream("now it printed\n")]  # the stored cell never ran
    fresh[5] = []  # NBVAL_SKIP
    assert output_differences(STORED, fresh) == []


@pytest.mark.parametrize(("cell", "outputs", "said"), [
    (1, [_stream("speedup 1.95× in 0.123 s\nresults differ\n")], "cell 1 ('print(report)'): stdout differs"),
    (1, [_stream("speedup 1.95× in 0.123 s\nresults match\n", "stderr")], "outputs differ in kind"),
    (1, [_stream("speedup 1.95× in 0.123 s\nresults match\n"), _display({"text/plain": "1"})],
     "outputs differ in kind"),
    (2, [_display({"text/plain": "Panel(changed)", "image/png": "AAAA"})], "cell 2 ('panel'): text/plain differs"),
    (2, [_display({"text/plain": "Panel(...)"}), _display({"text/plain": "Panel(...)"})], "text/plain differs"),
])
def test_a_changed_output_is_a_difference_that_names_its_cell(cell: int, outputs: list[dict], said: str) -> None:
    fresh = fresh_copy()
    fresh[cell] = outputs
    problems = output_differences(STORED, fresh)
    assert len(problems) == 1 and said in problems[0], problems


def test_a_compared_cell_with_no_fresh_outputs_is_a_difference() -> None:
    fresh = fresh_copy()
    del fresh[2]
    assert output_differences(STORED, fresh) == ["cell 2 ('panel'): no fresh outputs to compare"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_lesson_agrees_with_itself_and_a_changed_line_shows(path) -> None:
    stored = json.loads(path.read_text(encoding="utf-8"))
    cells = stored["cells"]
    compared = compared_cells(stored)
    assert compared, f"{path.name}: no cell is compared"
    fresh = {i: copy.deepcopy(c["outputs"]) for i, c in enumerate(cells) if c["cell_type"] == "code"}
    assert output_differences(stored, fresh) == []
    printed = [i for i in compared if any(o["output_type"] == "stream" for o in cells[i]["outputs"])]
    assert printed, f"{path.name}: no compared cell prints"
    fresh[printed[0]] = fresh[printed[0]] + [_stream("one more line\n")]
    assert len(output_differences(stored, fresh)) == 1
