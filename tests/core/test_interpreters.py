"""The other Pythons: what .ci/other-pythons runs them with, and the interpreters backend's availability.

The suites themselves run on Python 3.14 and a free-threaded 3.13t through ``.ci/other-pythons``
(called by ``.ci/run``); these tests keep its inputs honest on any Python.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from parlab.run import BACKENDS, available_backends

pytestmark = pytest.mark.gil  # rerun with PYTHON_GIL=1 on a free-threaded build (.ci/other-pythons)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "other-pythons"
# What the free-threaded environment leaves out of requirements.txt, and why.
LEFT_OUT_ON_FREE_THREADED = {
    "jupyterlab": "cffi, under JupyterLab's server, refuses free-threaded 3.13: JupyterLab runs on a normal build",
    "playwright": "the browser tests run on the main Python only",
    "ruff": "lint does not depend on the interpreter: it runs on the main Python",
    "mypy": "types do not depend on the interpreter: they run on the main Python",
    "numba": "no wheel for 3.13t (3.14t has one: pip install numba there); lesson 03 says so and goes on",
    "tbb": "only Numba's threading layer uses it",
    "bokeh": "the Dask dashboard is optional: lesson 07 saves reports instead",
    "dask-jobqueue": "lesson 07 prints a Slurm script with it; its cell says so when it is missing",
}


def _names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower())
    return names


def test_the_free_threaded_requirements_follow_requirements_txt():
    normal = _names(ROOT / "requirements.txt")
    free = _names(ROOT / "requirements-free-threaded.txt")
    assert normal - free == set(LEFT_OUT_ON_FREE_THREADED), (
        "requirements.txt changed: update requirements-free-threaded.txt (or say here why a package is left out)")
    assert free - normal == {"ipykernel"}  # the kernel that a normal build's JupyterLab starts
    assert "-e ." in (ROOT / "requirements-free-threaded.txt").read_text(encoding="utf-8")


def test_ci_runs_the_other_pythons_after_the_readme_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme_command = ".venv/bin/pip install -r requirements.txt && .venv/bin/python -m pytest"
    assert readme_command in ci and "bash .ci/other-pythons" in ci
    assert ci.index(readme_command) < ci.index("bash .ci/other-pythons")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_script_parses_and_its_lessons_exist():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=30)
    text = SCRIPT.read_text(encoding="utf-8")
    pattern = re.search(r"^LESSONS_313T='([^']+)'", text, re.MULTILINE)
    assert pattern is not None
    lessons = sorted(Path(p).name for p in glob.glob(str(ROOT / pattern.group(1))))
    assert lessons and lessons[0].startswith("00-") and any(n.startswith("03-") for n in lessons)
    assert all(re.match(r"0[0-3]", n) for n in lessons)
    for stage in ("provision", "py315", "py314", "py313t", "py313t-gil", "side-by-side"):
        assert f"{stage})" in text, stage
    assert "timeout" in text and "--disable-gil" in text and "not browser" in text


def test_the_interpreters_backend_is_there_exactly_from_314():
    assert "interpreters" in BACKENDS
    assert ("interpreters" in available_backends()) == (sys.version_info >= (3, 14))
