"""Lint and types are part of the suite: ``ruff check parlab tests`` and ``mypy`` (files and flags from
pyproject.toml), with the versions requirements.txt pins, so that every venv checks the same way."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 300  # a cold mypy cache takes tens of seconds; this is a hang, not a slow machine
HOW = "pip install -r requirements.txt (it pins ruff and mypy)"


def _check(require, module: str, *args: str) -> None:
    require(importlib.util.find_spec(module) is not None, module, HOW)
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=TIMEOUT_S, check=False)
    assert done.returncode == 0, f"{module} {' '.join(args)} found problems:\n{done.stdout}{done.stderr}"


def test_ruff_finds_nothing(require):
    _check(require, "ruff", "check", "parlab", "tests")


@pytest.mark.timeout(TIMEOUT_S + 30)
@pytest.mark.slow
def test_mypy_finds_nothing(require):
    _check(require, "mypy")
