"""Reading a lesson notebook's exercises: which cells belong to each, which are hidden solutions.

Used by tests/notebooks/test_exercise_cells.py (the stored notebooks) and tests/browser/ (the
cells as JupyterLab shows them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["EXERCISE", "NOTEBOOKS", "cell_text", "exercises", "exercises_by_index", "is_solution"]

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]*-*.ipynb"))
EXERCISE = re.compile(r"^###\s+Exercise\s+(\d+):", re.MULTILINE)


def cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_solution(cell: dict) -> bool:
    return cell["cell_type"] == "code" and bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"))


def exercises(nb: Path) -> list[list[dict]]:
    """The cells of each exercise: from its '### Exercise N:' heading to the next heading of the section."""
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    start = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                  and re.search(r"^##\s+Exercises\s*$", cell_text(c), re.MULTILINE)), None)
    if start is None:
        return []
    found: list[list[dict]] = []
    for cell in cells[start:]:
        text = cell_text(cell) if cell["cell_type"] == "markdown" else ""
        if found and re.search(r"^##\s+(?!#)", text, re.MULTILINE) and not EXERCISE.search(text):
            break  # the next section (Key points) ends the exercises
        if EXERCISE.search(text):
            found.append([])
        if found:
            found[-1].append(cell)
    return found


def exercises_by_index(cells: list[dict]) -> list[tuple[list[int], list[int], list[int]]]:
    """For each exercise, the indices of its learner code cells, its solution cells and its markdown cells."""
    found: list[tuple[list[int], list[int], list[int]]] = []
    in_exercises = False
    for i, cell in enumerate(cells):
        text = cell_text(cell) if cell["cell_type"] == "markdown" else ""
        if re.search(r"^##\s+Exercises\s*$", text, re.MULTILINE):
            in_exercises = True
        elif in_exercises and re.search(r"^##\s+(?!#)", text, re.MULTILINE) and not EXERCISE.search(text):
            break
        if in_exercises and EXERCISE.search(text):
            found.append(([], [], []))
        if found:
            kind = 2 if cell["cell_type"] == "markdown" else 1 if is_solution(cell) else 0
            found[-1][kind].append(i)
    return found
