"""The harness_overhead bench entry: its keys and ratios (its figures are measured by running the bench)."""

from __future__ import annotations

from parlab import bench
from parlab.benches import harness


def test_harness_overhead_reports_a_ratio_per_chunksize(monkeypatch):
    monkeypatch.setattr(harness, "TASKS", {1: 40, 100: 400})
    monkeypatch.setattr(harness, "PAIRS", 1)
    entry = harness.entries(2)["harness_overhead"]
    assert entry["value"] == entry["ratio_chunksize_100"]
    for key in ("ratio_chunksize_1", "ratio_chunksize_100", "ratio_chunksize_100_task_spans"):
        assert entry[key] > 0, key
    assert entry["workers"] == 2 and entry["pairs"] == 1 and entry["start_method"]


def test_the_core_group_includes_it(monkeypatch):
    # Stub the slow entries: only the wiring is checked here.
    monkeypatch.setattr(bench, "_pool_speedup", lambda *args, **kw: {})
    monkeypatch.setattr(bench, "startup_ms", lambda *args, **kw: 0.0)
    monkeypatch.setattr(harness, "entries", lambda cores: {"harness_overhead": {"value": 1.0}})
    assert "harness_overhead" in bench.core_entries(2)
