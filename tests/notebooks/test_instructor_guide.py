"""The instructor guide stays true: its links resolve; each section its 3-hour path names is a real heading."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "instructors" / "README.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def headings(notebook: Path) -> set[str]:
    """Every markdown heading of a notebook, without its #s."""
    found = set()
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        found.update(m.group(1).strip() for m in re.finditer(r"^#{1,6}\s+(.+)$", text, re.MULTILINE))
    return found


def three_hour_path(text: str) -> list[tuple[str, list[str]]]:
    """(notebook link, the quoted section names) for each lesson row of the 3-hour path table."""
    block = text.split("<!-- three-hour-path -->")[1].split("<!-- /three-hour-path -->")[0]
    rows = []
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        link = LINK.search(cells[0]) if cells else None
        if link and link.group(1).endswith(".ipynb"):
            rows.append((link.group(1), re.findall(r'"([^"]+)"', cells[1])))
    return rows


def test_every_link_in_the_guide_resolves():
    text = GUIDE.read_text(encoding="utf-8")
    targets = [t for t in LINK.findall(text) if "://" not in t]
    assert any(t.endswith(".ipynb") for t in targets), "the guide links no lesson"
    missing = [t for t in targets if not (GUIDE.parent / t).exists()]
    assert missing == []


def test_the_three_hour_path_names_real_sections():
    rows = three_hour_path(GUIDE.read_text(encoding="utf-8"))
    assert len(rows) >= 5, "the 3-hour path lists too few lessons"
    for link, sections in rows:
        notebook = (GUIDE.parent / link).resolve()
        assert notebook.exists(), link
        assert sections, f"{link}: the row names no section"
        real = headings(notebook)
        unknown = [s for s in sections if s not in real]
        assert unknown == [], f"{notebook.name} has no heading {unknown}"


def test_the_three_hour_path_adds_up():
    text = GUIDE.read_text(encoding="utf-8")
    block = text.split("<!-- three-hour-path -->")[1].split("<!-- /three-hour-path -->")[0]
    minutes = {cells[0]: int(cells[-1]) for line in block.splitlines()
               if len(cells := [c.strip() for c in line.strip().strip("|").split("|")]) == 3 and cells[-1].isdigit()}
    teaching = sum(m for row, m in minutes.items() if row != "break")
    assert 135 <= teaching <= 155 and minutes.get("break", 0) >= 10


def test_the_checker_catches_a_renamed_heading(tmp_path):
    nb = tmp_path / "09-toy.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": "## 1. Old name", "metadata": {}}]}))
    guide = ("<!-- three-hour-path -->\n| lesson | sections | minutes |\n|---|---|---|\n"
             f"| [09]({nb.name}) | \"1. New name\" | 10 |\n<!-- /three-hour-path -->\n")
    (link, sections), = three_hour_path(guide)
    assert link == "09-toy.ipynb" and sections == ["1. New name"]
    with pytest.raises(AssertionError):
        assert [s for s in sections if s not in headings(nb)] == []
