"""Every lesson has exercises, each followed by a hidden solution that CI executes and that checks itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]*-*.ipynb"))
EXERCISE = re.compile(r"^###\s+Exercise\b", re.MULTILINE)


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _is_solution(cell: dict) -> bool:
    return cell["cell_type"] == "code" and bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"))


def exercises(nb: Path) -> list[list[dict]]:
    """The cells of each exercise: from its '### Exercise' heading to the next heading of the section."""
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    start = next((i for i, c in enumerate(cells)
                  if c["cell_type"] == "markdown" and re.search(r"^##\s+Exercises\s*$", _text(c), re.MULTILINE)), None)
    if start is None:
        return []
    found: list[list[dict]] = []
    for cell in cells[start:]:
        text = _text(cell) if cell["cell_type"] == "markdown" else ""
        if found and re.search(r"^##\s+(?!#)", text, re.MULTILINE) and not EXERCISE.search(text):
            break  # the next section (Key points) ends the exercises
        if EXERCISE.search(text):
            found.append([])
        if found:
            found[-1].append(cell)
    return found


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_at_least_two_exercises(nb):
    assert len(exercises(nb)) >= 2, f"{nb.name}: a lesson needs at least two '### Exercise' prompts"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_each_exercise_has_a_learner_cell_then_a_hidden_checked_solution(nb):
    for number, cells in enumerate(exercises(nb), start=1):
        code = [c for c in cells if c["cell_type"] == "code"]
        where = f"{nb.name}, exercise {number}"
        assert code and not _is_solution(code[0]), f"{where}: a code cell for the learner comes first"
        solutions = [c for c in code if _is_solution(c)]
        assert solutions, f"{where}: no solution cell with metadata.jupyter.source_hidden = true"
        assert code.index(solutions[0]) > 0, f"{where}: the solution must follow the learner's cell"
        for cell in solutions:
            assert "solution" in cell.get("metadata", {}).get("tags", []), f"{where}: tag the solution 'solution'"
            assert isinstance(cell.get("execution_count"), int), f"{where}: the solution was not executed"
            assert re.search(r"^\s*assert\b", _text(cell), re.MULTILINE), \
                f"{where}: the solution has no self-check assert"
            assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), \
                f"{where}: the stored solution output is an error"
