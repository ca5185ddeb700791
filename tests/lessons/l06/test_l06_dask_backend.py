"""Lesson 06's dask backend: the same workload's row beside threads, processes and MPI."""

from __future__ import annotations

import importlib.util

import pytest

from parlab.lessons.l06 import backends, reference

SMALL = backends.workload_tasks(8)


def test_dask_is_a_backend_and_says_why_when_missing(monkeypatch):
    assert "dask" in backends.STRATEGIES and backends.STRATEGIES["dask"].baseline == "python"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    why = backends.backend_status(["dask"])["dask"]
    assert why is not None and "pip install 'dask[distributed]'" in why


@pytest.mark.slow
def test_dask_returns_the_serial_results_and_joins_the_table(require):
    require(backends.backend_status(["dask"])["dask"] is None, "dask", "pip install 'dask[distributed]'")
    assert backends.run_once("dask", 2, SMALL) == backends.python_serial(SMALL)
    assert backends.run_once("dask", 1, []) == []
    sweeps, skipped = reference.measure_backends(["dask"], [1, 2], tasks=SMALL, repeats=1, warmup=0)
    assert skipped == {} and list(sweeps) == ["serial", "dask"]
    rows = reference.reference_rows(sweeps)
    assert [(r["backend"], r["workers"]) for r in rows] == [("serial", 1), ("dask", 1), ("dask", 2)]
    assert all(r["startup_s"] > 0 for r in rows if r["backend"] == "dask")  # the cluster's start, apart


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.slow
def test_each_open_starts_and_closes_its_own_cluster(require, workers):
    require(backends.backend_status(["dask"])["dask"] is None, "dask", "pip install 'dask[distributed]'")
    import multiprocessing

    before = {p.pid for p in multiprocessing.active_children()}
    with backends.STRATEGIES["dask"].open(workers) as run:
        assert run(SMALL[:2]) == backends.python_serial(SMALL[:2])
        assert len({p.pid for p in multiprocessing.active_children()} - before) >= workers
    assert not {p.pid for p in multiprocessing.active_children()} - before
