"""Lesson 06a's panel: one backend swept over the workers the learner picks, checked against serial."""

from __future__ import annotations

import pytest

from parlab.lessons.l06 import panel as lesson_panel
from parlab.lessons.l06.backends import workload_tasks


def test_the_backends_panel_sweeps_the_chosen_backend():
    panel = lesson_panel.backends_panel(tasks=workload_tasks()[:8], repeats=1)
    panel.controls["workers"].value, panel.controls["backend"].value = 2, "threads"
    sweeps = panel.run()
    assert set(sweeps) == {"serial", "threads"} and sweeps["threads"].workers == [1, 2]
    assert panel.image.value and panel.table.value


def test_the_panel_refuses_a_machine_with_no_backend(monkeypatch):
    monkeypatch.setattr(lesson_panel, "backend_status", lambda: {"threads": "not here"})
    with pytest.raises(RuntimeError, match="no backend"):
        lesson_panel.backends_panel()
