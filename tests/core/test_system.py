"""Machine facts: cgroup quotas, usable cores, the Python build, the lesson-00 checks."""

from __future__ import annotations

import os

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
