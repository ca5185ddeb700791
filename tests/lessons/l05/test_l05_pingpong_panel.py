"""Lesson 05a's ping-pong panel: Run launches the ping-pong with the sliders' sizes and redraws."""

from __future__ import annotations

from parlab.lessons.l05 import mpi as lesson


def test_the_pingpong_panel_measures_up_to_the_chosen_size(mpiexec):
    panel = lesson.pingpong_panel()
    panel.controls["max_kib"].value, panel.controls["trips"].value = 4, 100
    curves = panel.run()
    assert set(curves) and all(max(curve) == 4096 for curve in curves.values())
    assert all(seconds > 0 for curve in curves.values() for seconds in curve.values())
    assert panel.image.value and "µs" in panel.table.value
