"""Every lesson's exercises: the learner writes code, a checker answers, and no solution gives the answer away.

Read from the committed notebooks (their stored outputs are what strict nbval compares):

- at least three exercises per lesson, at least two of which have the learner write code;
- each exercise: the learner's cell first, still unanswered, its stored verdict "not answered
  yet"; then a solution hidden in JupyterLab (source and output), executed, calling the
  lesson's checker, whose stored verdict is "right";
- a solution shows nothing but the checker's verdict, with its numbers folded in
  ``<details>``, and never assigns, defines or imports a name (or writes a file) that the
  learner's cells use.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from notebook_cells import EXERCISE, NOTEBOOKS, cell_text, exercises, is_solution

WRITING = re.compile(r"^(?:Over)?[Ww]riting \S+\n?$")
_text, _is_solution = cell_text, is_solution


def _outputs_text(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(_text({"source": out.get("text", "")}))
        for mime in ("text/plain", "text/html"):
            if mime in out.get("data", {}):
                parts.append(_text({"source": out["data"][mime]}))
    return "\n".join(parts)


def _python(cell: dict) -> str:
    """A code cell's Python, with IPython's magics and shell lines blanked out."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in _text(cell).splitlines())


def _bound(cell: dict) -> set[str]:
    """The names a code cell binds at its top level (and the file a %%writefile cell writes)."""
    text = _text(cell)
    magic = re.match(r"\s*%%writefile\s+(?:-a\s+)?(\S+)", text)
    if magic:
        return {f"file:{magic.group(1)}"}
    if text.lstrip().startswith("%%"):
        return set()
    names: set[str] = set()
    for node in ast.walk(ast.parse(_python(cell))):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _writes_code(cells: list[dict]) -> bool:
    """Whether the learner writes code: a function, a module (%%writefile), a Cython cell or a program with blanks."""
    for cell in cells:
        if cell["cell_type"] != "code" or _is_solution(cell):
            continue
        text = _text(cell)
        defines = re.search(r"^\s*(async\s+)?def\s", text, re.MULTILINE)
        if defines or text.lstrip().startswith(("%%writefile", "%%cython")) or "___" in text:
            return True
    return False


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_at_least_three_exercises_two_of_which_write_code(nb):
    found = exercises(nb)
    assert len(found) >= 3, f"{nb.name}: a lesson needs at least three '### Exercise N:' prompts"
    numbers = [int(EXERCISE.search(_text(cells[0])).group(1)) for cells in found]
    assert numbers == list(range(1, len(found) + 1)), f"{nb.name}: exercises are numbered {numbers}"
    coding = sum(_writes_code(cells) for cells in found)
    assert coding >= 2, f"{nb.name}: only {coding} exercise(s) have the learner write code; at least two must"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_each_exercise_is_unanswered_then_solved_by_a_hidden_checked_solution(nb):
    for number, cells in enumerate(exercises(nb), start=1):
        code = [c for c in cells if c["cell_type"] == "code"]
        where = f"{nb.name}, exercise {number}"
        assert code and not _is_solution(code[0]), f"{where}: a code cell for the learner comes first"
        learner = [c for c in code if not _is_solution(c)]
        solutions = [c for c in code if _is_solution(c)]
        assert solutions, f"{where}: no solution cell with metadata.jupyter.source_hidden = true"
        assert code.index(solutions[0]) > 0, f"{where}: the solution must follow the learner's cell"
        assert any("not answered yet" in _outputs_text(c) for c in learner), \
            f"{where}: the learner's cell does not show the checker's 'not answered yet'"
        assert not any("parlab-verdict-right" in _outputs_text(c) for c in learner), \
            f"{where}: the learner's cell is already answered in the committed notebook"
        for cell in solutions:
            meta = cell.get("metadata", {})
            assert "solution" in meta.get("tags", []), f"{where}: tag the solution 'solution'"
            assert meta.get("jupyter", {}).get("outputs_hidden"), f"{where}: the solution's output is not collapsed"
            assert isinstance(cell.get("execution_count"), int), f"{where}: the solution was not executed"
            assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), \
                f"{where}: the stored solution output is an error"
        calls = re.compile(r"\bex\.check_\w+\(.*\)\s*\.must_be_right\(\)", re.DOTALL)
        checked = [c for c in solutions if calls.search(_text(c))]
        assert checked, f"{where}: no solution calls the lesson's checker (ex.check_...(...).must_be_right())"
        assert all("parlab-verdict-right" in _outputs_text(c) for c in checked), \
            f"{where}: the checker's stored verdict on the solution is not 'right'"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_a_solution_shows_only_the_folded_verdict(nb):
    for number, cells in enumerate(exercises(nb), start=1):
        for cell in (c for c in cells if _is_solution(c)):
            where = f"{nb.name}, exercise {number}"
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream":
                    text = _text({"source": out.get("text", "")})
                    assert WRITING.match(text), f"{where}: the solution prints {text[:80]!r} in plain view"
                    continue
                page = _text({"source": out.get("data", {}).get("text/html", "")})
                assert page.startswith('<div class="parlab-verdict'), \
                    f"{where}: the solution shows something other than the checker's verdict"
                assert "<details open>" not in page, f"{where}: the solution's details are not folded"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_no_solution_rebinds_a_learners_name_or_file(nb):
    for number, cells in enumerate(exercises(nb), start=1):
        code = [c for c in cells if c["cell_type"] == "code"]
        learner = set().union(*(_bound(c) for c in code if not _is_solution(c)))
        for cell in (c for c in code if _is_solution(c)):
            clash = (_bound(cell) & learner) - {"ex"}
            assert not clash, f"{nb.name}, exercise {number}: the solution rebinds the learner's {sorted(clash)}"


def _toy(tmp_path: Path, learner: str, solution: str) -> Path:
    def code(source: str, hidden: bool) -> dict:
        meta = {"jupyter": {"source_hidden": True, "outputs_hidden": True}, "tags": ["solution"]} if hidden else {}
        return {"cell_type": "code", "source": source, "metadata": meta, "outputs": [], "execution_count": 1}
    cells = [{"cell_type": "markdown", "source": "## Exercises\n\n### Exercise 1: toy", "metadata": {}},
             code(learner, False), code(solution, True),
             {"cell_type": "markdown", "source": "## Key points", "metadata": {}}]
    path = tmp_path / "09-toy.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    return path


def test_the_rebinding_check_catches_a_solution_that_overwrites_the_learner(tmp_path):
    nb = _toy(tmp_path, "my_efficiency = ...\nex.check_eff(my_efficiency)",
              "my_efficiency = 0.9\nex.check_eff(my_efficiency).must_be_right()")
    with pytest.raises(AssertionError, match=r"rebinds the learner's \['my_efficiency'\]"):
        test_no_solution_rebinds_a_learners_name_or_file(nb)
    nb = _toy(tmp_path, "%%writefile work.py\ndef f(x):\n    ...", "%%writefile work.py\ndef f(x):\n    return x")
    with pytest.raises(AssertionError, match=r"file:work\.py"):
        test_no_solution_rebinds_a_learners_name_or_file(nb)


def test_the_plain_view_check_catches_a_printed_answer(tmp_path):
    nb = _toy(tmp_path, "x = ...", "print(9.91)")
    cells = json.loads(nb.read_text())["cells"]
    cells[2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "9.91\n"}]
    nb.write_text(json.dumps({"cells": cells}))
    with pytest.raises(AssertionError, match=r"prints '9\.91"):
        test_a_solution_shows_only_the_folded_verdict(nb)
