"""The benchmark's machinery (its figures are measured by running it, not asserted here)."""

from __future__ import annotations

import itertools

import pytest

from parlab import bench


def test_speedup_entry_reports_the_median_ratio_and_checks_results():
    entry = bench.speedup_entry(lambda: sum(range(20000)), lambda: sum(range(20000)), 2, pairs=3)
    assert set(entry) >= {"speedup", "workers", "serial_s", "parallel_s"}
    assert entry["workers"] == 2 and entry["pairs"] == 3
    assert entry["speedup_min"] <= entry["speedup"] <= entry["speedup_max"]
    counter = itertools.count()
    with pytest.raises(AssertionError, match="differs"):
        bench.speedup_entry(lambda: 1, lambda: next(counter), 2, pairs=2)


def test_every_group_names_a_module_function():
    for name, target in bench.GROUPS.items():
        module, _, func = target.partition(":")
        assert module.startswith("parlab.") and func, name


def test_unknown_group_is_refused():
    with pytest.raises(SystemExit, match="choose from"):
        bench.collect(["nope"])


def test_table_format():
    report = {"usable_cores": 2, "python": "3.11.7", "results": {
        "processes_fib": {"speedup": 1.95, "workers": 2, "serial_s": 0.2, "parallel_s": 0.1,
                          "speedup_min": 1.9, "speedup_max": 1.97, "pairs": 7},
        "startup_fork_ms": {"value": 5.4, "workers": 2}}}
    text = bench._format(report)
    assert "processes_fib" in text and "1.95×" in text and "startup_fork_ms" in text
