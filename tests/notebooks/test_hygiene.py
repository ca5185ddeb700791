"""Notebook and repository hygiene: what strict nbval and learners rely on."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAMES = [nb.name for nb in NOTEBOOKS]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def _cells(nb: Path) -> list[dict]:
    return json.loads(nb.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def test_there_are_lessons():
    assert NOTEBOOKS, "notebooks/ holds no lessons"
    assert NAMES[0] == "00-start-here.ipynb"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=NAMES)
def test_name_is_two_digits_and_a_slug(nb):
    assert re.fullmatch(r"\d\d[a-z]?-[a-z0-9]+(-[a-z0-9]+)*\.ipynb", nb.name)  # 01a, 01b: parts of one lesson


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=NAMES)
def test_executed_top_to_bottom_with_outputs_and_no_errors(nb):
    code = [c for c in _cells(nb) if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code]
    assert all(isinstance(n, int) for n in counts), f"unexecuted code cells in {nb.name}: strict nbval skips them"
    assert counts == list(range(1, len(counts) + 1)), f"{nb.name} was not run top to bottom in one go"
    for cell in code:
        # Only a cell tagged raises-exception may store an error: the lesson shows it on purpose.
        expected = "raises-exception" in cell.get("metadata", {}).get("tags", [])
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                assert expected, f"stored error in {nb.name}: {_text(cell)[:80]}"
    assert any(c.get("outputs") for c in code), f"{nb.name} stores no outputs at all"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=NAMES)
def test_small_and_shaped_like_a_lesson(nb):
    assert nb.stat().st_size < 1 << 20, f"{nb.name} is over 1 MB: keep figures small"
    markdown = "\n".join(_text(c) for c in _cells(nb) if c["cell_type"] == "markdown")
    assert markdown.lstrip().startswith("# "), f"{nb.name} has no title"
    for heading in ("## Learning objectives", "## Key points", "## Exercises"):
        assert heading in markdown, f"{nb.name} lacks '{heading}'"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=NAMES)
def test_links_between_notebooks_resolve(nb):
    for cell in _cells(nb):
        if cell["cell_type"] != "markdown":
            continue
        for target, _anchor in LINK.findall(_text(cell)):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (nb.parent / unquote(target)).exists(), f"{nb.name} links to missing {target}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=NAMES)
def test_ignored_outputs_are_the_exception(nb):
    code = [c for c in _cells(nb) if c["cell_type"] == "code"]
    ignored = [c for c in code if "nbval-ignore-output" in c.get("metadata", {}).get("tags", [])]
    # Most cells must be compared; a lesson that ignores nearly everything tests nothing.
    assert len(ignored) <= 0.6 * len(code), f"{nb.name}: {len(ignored)} of {len(code)} cells ignored"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = re.findall(r"```(?:bash|sh)\n(.*?)\n```", readme, re.DOTALL)
    tests = [c.strip() for c in commands if "pytest" in c and "pip install -r requirements.txt" in c]
    assert tests, "README has no test command block"
    assert tests[0] in ci, ".ci/run does not run README's test command verbatim"


# What a committed notebook must never show: it was recorded on a quiet machine, so nothing in it
# warns of noise, hedges ("run the cell again"), or blames other programs.
HEDGES = re.compile(r"unstable: stdev|run the cells? again|run section \d+ again|probably|busy machine:"
                    r"|other programs (kept|were|may)|too busy to judge|ranged from .* too wide", re.IGNORECASE)


def _stored_text(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        text = out.get("text", "")
        parts.append("".join(text) if isinstance(text, list) else text)
        for mime in ("text/plain", "text/html", "text/markdown"):
            value = out.get("data", {}).get(mime, "")
            parts.append("".join(value) if isinstance(value, list) else value)
    return "\n".join(parts)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=NAMES)
def test_no_stored_output_warns_of_noise_or_hedges(nb):
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    found = [(i, m.group(0)) for i, c in enumerate(cells) if c["cell_type"] == "code"
             for m in [HEDGES.search(_stored_text(c))] if m]
    assert found == [], f"{nb.name} stores a noise warning or hedge (re-record it on a quiet machine): {found}"


def test_the_hedge_check_catches_what_it_must():
    for text in ("warning (2 workers): unstable: stdev is 15% of the mean", "Run the cell again.",
                 "other programs were probably using the cores", "busy machine: other programs kept about 0.9"):
        assert HEDGES.search(text), text
    assert not HEDGES.search("2.00× on 2 processes: near the ideal 2.00×")
