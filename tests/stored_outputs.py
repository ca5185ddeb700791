"""Comparing the outputs a lesson got in JupyterLab with the ones stored in it, by nbval's rules.

The browser test runs every lesson once, the way a learner does; with this comparison that one
run also does the job of strict nbval, so README's test command need not execute each lesson a
second time (the run without Chromium, the other Pythons and the busy-core check still use
nbval itself). The rules are nbval 0.11's, built from its own helpers where it has them:

- a cell tagged (or commented) ``nbval-ignore-output`` or ``nbval-skip`` is not compared, nor is
  a stored cell that was never run;
- streams of one name are merged, with carriage returns and backspaces applied;
- these keys are not compared: metadata, traceback, prompt_number, output_type, name,
  execution_count, widget views (their model ids are random) and images (image/png, image/jpeg);
- every other key of every output, and every MIME type of ``data``, is compared after the
  sanitize rules in tests/sanitize.cfg, in order within each key.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import nbformat
from nbval.plugin import (
    coalesce_streams,
    find_comment_markers,
    find_metadata_tags,
    get_sanitize_patterns,
    transform_streams_for_comparison,
)

__all__ = ["SANITIZE", "SKIP_COMPARE", "compared_cells", "output_differences", "sanitize_rules"]

SANITIZE = Path(__file__).resolve().parent / "sanitize.cfg"
# nbval's IPyNbFile.skip_compare without --nbdime.
SKIP_COMPARE = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")


def sanitize_rules(path: Path = SANITIZE) -> list[tuple[str, str]]:
    """The (regex, replacement) pairs of a sanitize file, in order, as nbval reads them."""
    return list(dict(get_sanitize_patterns(path.read_text(encoding="utf-8"))).items())


def _read(stored: dict[str, Any]) -> Any:
    """The notebook as nbval reads it: multi-line strings stored as lists joined."""
    return nbformat.reads(json.dumps(stored), as_version=4)


def _joined(output: dict[str, Any]) -> Any:
    """A fresh output as an nbformat node, any list of lines joined as nbformat does on reading."""
    def join(value: Any) -> Any:
        return "".join(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value

    fixed = {key: join(value) for key, value in output.items()}
    if isinstance(fixed.get("data"), dict):
        fixed["data"] = {mime: join(value) for mime, value in fixed["data"].items()}
    return nbformat.from_dict(fixed)


def _options(cell: Any) -> dict[str, bool]:
    options: dict[str, bool] = defaultdict(bool, find_metadata_tags(cell.metadata))
    options.update(dict(find_comment_markers(cell.source)))
    options.setdefault("check", True)  # strict nbval: an unmarked cell is compared
    return options


def compared_cells(stored: dict[str, Any]) -> list[int]:
    """Indexes (among all cells) of the code cells whose outputs strict nbval compares."""
    nb = _read(stored)
    code = [(i, cell, _options(cell)) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    return [i for i, cell, options in code
            if not options["skip"] and options["check"] and cell.get("execution_count") is not None]


def _flatten(outputs: list[Any], rules: list[tuple[str, str]]) -> dict[str, list[Any]]:
    def clean(value: Any) -> Any:
        if isinstance(value, str):
            for regex, replace in rules:
                value = re.sub(regex, replace, value)
        return value

    flat: dict[str, list[Any]] = defaultdict(list)
    for output in transform_streams_for_comparison(coalesce_streams(outputs)):
        for key, value in output.items():
            if key in SKIP_COMPARE:
                continue
            if key == "data":
                for mime, content in value.items():
                    if mime not in SKIP_COMPARE:
                        flat[mime].append(clean(content))
            else:
                flat[key].append(clean(value))
    return flat


def _short(values: list[Any]) -> str:
    text = repr(values)
    return text if len(text) <= 600 else text[:600] + "…"


def output_differences(stored: dict[str, Any], fresh: dict[int, list[dict[str, Any]]],
                       rules: list[tuple[str, str]] | None = None) -> list[str]:
    """Where the fresh outputs (cell index -> nbformat outputs) differ from the stored notebook's.

    Returns one line per differing cell, empty when every compared cell agrees.
    """
    rules = sanitize_rules() if rules is None else rules
    nb = _read(stored)
    problems = []
    for i in compared_cells(stored):
        cell = nb.cells[i]
        where = f"cell {i} ({cell.source.strip().splitlines()[0][:60]!r})" if cell.source.strip() else f"cell {i}"
        if i not in fresh:
            problems.append(f"{where}: no fresh outputs to compare")
            continue
        ref = _flatten(list(cell.outputs), rules)
        new = _flatten([_joined(o) for o in fresh[i]], rules)
        if set(ref) != set(new):
            problems.append(f"{where}: outputs differ in kind: stored {sorted(ref)}, fresh {sorted(new)}"
                            f"\n    stored: {_short([ref[k] for k in sorted(ref)])}"
                            f"\n    fresh:  {_short([new[k] for k in sorted(new)])}")
            continue
        for key in sorted(ref):
            if ref[key] != new[key]:
                problems.append(f"{where}: {key} differs\n    stored: {_short(ref[key])}"
                                f"\n    fresh:  {_short(new[key])}")
                break
    return problems
