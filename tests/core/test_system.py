"""Machine facts: cgroup quotas, usable cores, the Python build, the lesson-00 checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from parlab import system

pytestmark = pytest.mark.gil  # rerun with PYTHON_GIL=1 on a free-threaded build (.ci/other-pythons)


def _cgroup(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize("files,expected", [
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu.max": "150000 100000\n"}, 1.5),
    ({"cpu.max": "400000 100000\n"}, 4.0),
    ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.0),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({}, None),
])
def test_cgroup_cpu_limit_reads_v1_and_v2(tmp_path, files, expected):
    assert system.cgroup_cpu_limit(_cgroup(tmp_path, files)) == expected


def test_usable_cores_respects_affinity_and_quota(monkeypatch):
    cores = system.usable_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert cores <= len(os.sched_getaffinity(0))
    monkeypatch.setattr(system, "cgroup_cpu_limit", lambda root="": 0.5)
    system.usable_cores.cache_clear()  # the value is read once per process: read the fake quota
    try:
        assert system.usable_cores() == 1  # a half-core quota still leaves one usable core
    finally:
        system.usable_cores.cache_clear()  # later tests must not see the fake quota


def test_usable_cores_reads_the_machine_once(monkeypatch):
    reads = []
    real = system.cgroup_cpu_limit
    monkeypatch.setattr(system, "cgroup_cpu_limit", lambda *a: reads.append(1) or real(*a))
    system.usable_cores.cache_clear()
    try:
        assert len({system.usable_cores() for _ in range(5)}) == 1
        assert len(reads) == 1
    finally:
        system.usable_cores.cache_clear()


def test_python_build_and_gil_state():
    build = system.python_build()
    assert build["version"].count(".") == 2
    assert build["gil_enabled"] is system.gil_enabled()
    if not system.free_threaded_build():
        assert system.gil_enabled()


def test_start_methods():
    methods = system.available_start_methods()
    assert system.default_start_method() in methods
    assert set(methods) <= {"fork", "spawn", "forkserver"}


def test_machine_checks_have_a_fix_for_every_failure():
    checks = system.machine_checks()
    names = [c.name for c in checks]
    for needed in ("usable cores", "Python", "GIL", "start method", "C compiler", "MPI launcher", "widgets"):
        assert needed in names
    for check in checks:
        assert str(check).startswith("✓" if check.ok else "✗")
        if not check.ok:
            assert check.fix and check.fix in str(check)


def test_find_mpiexec_prefers_the_one_beside_python(require):
    found = system.find_mpiexec()
    require(found is not None, "mpiexec", "pip install mpi4py mpich")
    assert os.access(found, os.X_OK)


def test_cpu_meter_counts_other_programs_and_not_this_process_tree(monkeypatch):
    # /proc read as a script: the machine's busy CPU seconds and this tree's, at start and at end.
    machine = iter([100.0, 103.0])  # 3 CPU seconds busy over the run
    tree = iter([10.0, 11.0])       # 1 of them was this process tree's own
    clock = iter([50.0, 52.0])      # over 2 s of wall time
    monkeypatch.setattr(system, "_machine_busy_s", lambda *a: next(machine))
    monkeypatch.setattr(system, "_tree_cpu_s", lambda pid: next(tree))
    monkeypatch.setattr(system.time, "perf_counter", lambda: next(clock))
    with system.CpuMeter() as meter:
        pass
    assert meter.others_cores == pytest.approx(1.0)  # 2 CPU seconds of others over 2 s: one core
    assert meter.own_cores == pytest.approx(0.5)     # 1 CPU second of this tree's over 2 s


def test_cpu_meter_says_nothing_where_it_cannot_read_the_machine(monkeypatch):
    monkeypatch.setattr(system, "_machine_busy_s", lambda *a: None)
    with system.CpuMeter() as meter:
        pass
    assert meter.others_cores is None and meter.own_cores is None


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux /proc")
def test_cpu_meter_reads_this_machine():
    with system.CpuMeter() as meter:
        sum(i * i for i in range(200_000))  # this process's own work is never counted as others'
    assert meter.others_cores is not None and 0.0 <= meter.others_cores <= (os.cpu_count() or 1)
    assert meter.own_cores is not None and meter.own_cores > 0
