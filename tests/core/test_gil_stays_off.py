"""The GIL stays off on a free-threaded build: nothing a lesson or its kernel imports turns it back on.

On a normal build only the probe's plumbing and the words are tested; on a free-threaded build
(CI's 3.13t stages) the real imports run in a fresh interpreter with PYTHON_GIL unset.
"""

from __future__ import annotations

import sys

import pytest

from parlab import system

pytestmark = pytest.mark.gil


@pytest.mark.skipif(not system.free_threaded_build(), reason="only a free-threaded build can keep the GIL off")
def test_every_lesson_import_keeps_the_gil_off():
    culprit = system.gil_turned_on_by()
    assert culprit is None, f"importing {culprit} turned the GIL back on: lessons 00 and 01a say so"


def test_the_probe_names_the_module_that_turned_the_gil_on(tmp_path):
    # A stand-in interpreter that answers as a free-threaded Python would when numpy re-enables the GIL.
    fake = tmp_path / "python"
    fake.write_text(f"#!{sys.executable}\nimport sys\nprint(sys.argv[-1])\n")
    fake.chmod(0o755)
    assert system.gil_turned_on_by(("ipykernel", "numpy"), python=str(fake)) == "numpy"
    quiet = tmp_path / "quiet"
    quiet.write_text(f"#!{sys.executable}\n")
    quiet.chmod(0o755)
    assert system.gil_turned_on_by(("numpy",), python=str(quiet)) is None
    broken = tmp_path / "broken"
    broken.write_text(f"#!{sys.executable}\nraise SystemExit('no such module')\n")
    broken.chmod(0o755)
    with pytest.raises(RuntimeError, match="GIL probe failed"):
        system.gil_turned_on_by(("numpy",), python=str(broken))


def test_a_normal_build_has_nothing_to_turn_on():
    if not system.free_threaded_build():
        assert system.gil_turned_on_by() is None


@pytest.mark.parametrize(("free", "enabled", "env", "culprit", "words"), [
    (False, True, None, None, "enabled"),
    (True, False, None, None, "disabled (free-threaded)"),
    (True, True, "1", None, "enabled by PYTHON_GIL=1 on a free-threaded build"),
    (True, True, None, "numba", "importing numba turned it back on; set PYTHON_GIL=0 to keep it off"),
])
def test_the_machine_check_says_who_turned_the_gil_on(monkeypatch, free, enabled, env, culprit, words):
    monkeypatch.setattr(system, "gil_turned_on_by", lambda *a, **k: culprit)
    if env is None:
        monkeypatch.delenv("PYTHON_GIL", raising=False)
    else:
        monkeypatch.setenv("PYTHON_GIL", env)
    assert words in system._gil_detail(free, enabled)
