"""The benchmark's machinery (its figures are measured by running it, not asserted here)."""

from __future__ import annotations

import itertools
import json
import platform
import sys
import types
from typing import Any

import pytest

from parlab import bench


def test_speedup_entry_reports_the_median_ratio_and_checks_results():
    entry = bench.speedup_entry(lambda: sum(range(20000)), lambda: sum(range(20000)), 2, pairs=3)
    assert set(entry) >= {"speedup", "workers", "serial_s", "parallel_s"}
    # 3 pairs, and more while their ratios spread wide (a busy machine), up to the cap; a figure
    # that stayed noisy says so
    assert entry["workers"] == 2 and 3 <= entry["pairs"] <= bench.MAX_PAIRS
    assert entry["speedup_min"] <= entry["speedup_q1"] <= entry["speedup"]
    assert entry["speedup"] <= entry["speedup_q3"] <= entry["speedup_max"]
    assert isinstance(entry["noisy"], bool) and (entry["noisy"] is False or entry["pairs"] == bench.MAX_PAIRS)
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


def _stub_groups(monkeypatch: pytest.MonkeyPatch, gil_states: list[bool]) -> None:
    # No slow group runs: one stub group, and a GIL probe that answers from gil_states.
    monkeypatch.setitem(sys.modules, "parlab_bench_stub", types.SimpleNamespace(entries=stub_entries))
    monkeypatch.setattr(bench, "GROUPS", {"stub": "parlab_bench_stub:entries"})
    monkeypatch.setattr(bench.system, "gil_enabled",
                        lambda: gil_states.pop(0) if len(gil_states) > 1 else gil_states[0])


def stub_entries(cores: int) -> dict[str, Any]:
    return {"startup_fork_ms": {"value": 5.4, "workers": cores}}


@pytest.mark.parametrize(("free_threaded", "gil"), [(False, True), (True, False), (True, True)])
def test_the_json_records_the_build_beside_python(monkeypatch, capsys, free_threaded, gil):
    monkeypatch.setattr(bench.system, "free_threaded_build", lambda: free_threaded)
    _stub_groups(monkeypatch, [gil])
    assert bench.main(["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["python"] == sys.version.split()[0]
    assert report["build"] == {"implementation": platform.python_implementation(),
                               "version": platform.python_version(), "free_threaded": free_threaded,
                               "gil_enabled": gil}
    assert report["results"] == stub_entries(report["usable_cores"])


def test_the_json_says_when_the_gil_came_back_during_the_run(monkeypatch, capsys):
    monkeypatch.setattr(bench.system, "free_threaded_build", lambda: True)
    _stub_groups(monkeypatch, [False, True])  # off at the start, on after an extension's import
    bench.main(["--json"])
    build = json.loads(capsys.readouterr().out)["build"]
    assert build["gil_enabled"] is True and build["gil_enabled_at_start"] is False


@pytest.mark.parametrize(("free_threaded", "gil", "says"), [
    (False, True, "GIL build, GIL on"), (True, False, "free-threaded build, GIL off"),
    (True, True, "free-threaded build, GIL on"),
])
def test_the_table_header_names_the_build(monkeypatch, capsys, free_threaded, gil, says):
    monkeypatch.setattr(bench.system, "free_threaded_build", lambda: free_threaded)
    _stub_groups(monkeypatch, [gil])
    bench.main([])
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith(f"parlab bench: {bench.system.usable_cores()} usable cores, Python ")
    assert f"({platform.python_implementation()} {platform.python_version()}, {says})" in header


def test_the_interpreters_entries_measure_on_314_and_say_what_they_need_before():
    from parlab.benches import interpreters

    calls = []

    def pool_speedup(backend, func, tasks, workers):
        calls.append((backend, workers))
        return {"speedup": 1.0, "workers": workers}

    got = interpreters.entries(2, pool_speedup, bench.fib, [5] * 4)
    assert set(got) == {"interpreters_fib", "startup_interpreters_ms"}
    if sys.version_info >= (3, 14):
        assert calls == [("interpreters", 2)] and got["interpreters_fib"] == {"speedup": 1.0, "workers": 2}
        assert got["startup_interpreters_ms"]["value"] > 0
    else:
        assert calls == []
        assert all(entry["why"].startswith("needs Python 3.14") for entry in got.values())
        assert "interpreters_fib" in bench._format({"usable_cores": 2, "python": "3.11", "results": got})


@pytest.mark.slow
def test_the_numba_entries_measure_or_say_why():
    from parlab.benches import kernels as kernel_bench
    from parlab.lessons.l03 import numba_kernels

    got = kernel_bench.numba_entries(2, numbers=20_000)
    assert set(got) == {"threads_numba_nogil", "numba_prange"}
    if numba_kernels.missing():
        assert all(entry["reason"].startswith("Numba is not installed") for entry in got.values())
    else:
        for entry in got.values():
            assert entry["workers"] == 2 and entry["speedup_min"] <= entry["speedup"] <= entry["speedup_max"]
        assert "threads_numba_nogil" in bench._format({"usable_cores": 2, "python": "3.11", "results": got})
