"""Lesson 07's helpers: the cluster, the task stream as a timeline, the logs of attempts, the refusal, the script."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import SimpleNamespace

import pytest

from parlab.lessons.l07 import cluster as lab
from parlab.lessons.l07 import measure, reach, tasks, travel
from parlab.workloads import fib


def test_dask_status_and_require(monkeypatch):
    assert lab.dask_status() is None
    monkeypatch.setattr(lab.importlib.util, "find_spec", lambda name: None)
    assert "dask and distributed are not installed" in lab.dask_status()
    assert lab.dashboard_address() is None
    with pytest.raises(ModuleNotFoundError, match=r"Lesson 07 needs Dask.*pip install 'dask\[distributed\]'"):
        lab.require_dask()


@pytest.mark.slow
def test_stream_run_makes_a_timeline(client):
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        results = client.gather(client.map(fib, [18] * 6, pure=False))
    run = lab.stream_run(stream.data, results, 2)
    assert run.backend == "dask" and run.results == [fib(18)] * 6 and len(run.timeline) == 6
    assert min(s.start for s in run.timeline) == 0 and {s.worker for s in run.timeline} <= {0, 1}
    assert all(s.end >= s.start for s in run.timeline) and run.wall_s == max(s.end for s in run.timeline)
    with pytest.raises(ValueError, match="no computed task"):
        lab.stream_run([], [], 2)


def test_attempts_and_worker_pids(client, tmp_path):
    assert client.gather(client.map(tasks.attempt, [0, 1], [5, 6], [str(tmp_path)] * 2, pure=False)) == \
        [(0, 5), (1, 8)]
    pids = set(lab.worker_pids(client).values())
    found = lab.attempts(tmp_path)
    assert list(found) == [0, 1] and all(len(p) == 1 and p[0] in pids for p in found.values())


def test_worker_count_asks_the_scheduler_even_when_the_clients_copy_lists_no_worker(client, monkeypatch):
    assert measure.worker_count(client) == 2
    # What a periodic update leaves in the client's copy: totals, no per-worker details.
    monkeypatch.setattr(client, "scheduler_info", lambda *a, **k: {"workers": {}})
    assert measure.worker_count(client) == 2
    with pytest.raises(RuntimeError, match="not connected to a scheduler"):
        measure.worker_count(SimpleNamespace(scheduler=None))


def test_batches_and_granularity(client):
    assert measure.batches([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    with pytest.raises(ValueError):
        measure.batches([1], 0)
    g = measure.granularity(client, items=40, repeats=1)
    assert g.items == 40 and g.workers == 2 and g.chunk == 5
    assert min(g.dask_each, g.pool_each, g.pool_chunked, g.dask_batched) > 0


@pytest.mark.slow
def test_cluster_sweep_checks_and_closes(tmp_path):
    before = {p.pid for p in multiprocessing.active_children()}
    steps = []
    sweep = measure.cluster_sweep(fib, [18] * 4, [1, 2], repeats=1, progress=lambda d, t: steps.append((d, t)))
    assert sweep.workers == [1, 2] and sweep.backend == "dask" and all(p.startup_s > 0 for p in sweep.points)
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert not {p.pid for p in multiprocessing.active_children()} - before
    with pytest.raises(ValueError, match="at least one worker count"):
        measure.cluster_sweep(fib, [1], [])


def test_a_spawn_pool_refuses_a_main_function(tmp_path):
    import __main__

    def square(x):
        return x * x

    # As in a notebook: the function is found in this process's __main__, not in a spawn child's.
    square.__module__, square.__qualname__ = "__main__", "square_not_there"
    __main__.square_not_there = square
    log = tmp_path / "worker.log"
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                 **travel.keep_child_errors(log)) as pool, pytest.raises(BrokenProcessPool):
            pool.submit(square, 3).result(timeout=60)
    finally:
        del __main__.square_not_there
    said = travel.last_error_line(log)  # 3.11-3.14: "Can't get attribute 'x' on <module '__main__'>"; 3.15 words it
    assert said.startswith("AttributeError:") and "'square_not_there'" in said and "__main__" in said, said
    assert travel.last_error_line(tmp_path / "missing.log") == ""


def test_last_error_line_shortens_the_module(tmp_path):
    log = tmp_path / "w.log"
    log.write_text("Traceback ...\nAttributeError: Can't get attribute 'f' on "
                   "<module '__main__' (<class '_frozen_importlib.BuiltinImporter'>)>\n")
    assert travel.last_error_line(log) == "AttributeError: Can't get attribute 'f' on <module '__main__'>"


def test_slurm_job_script_needs_no_slurm():
    if reach.jobqueue_status() is not None:
        pytest.skip(reach.jobqueue_status())
    script = reach.slurm_job_script(cores=4, processes=1, memory="8GB", walltime="00:10:00", queue="q")
    assert "#SBATCH -p q" in script and "#SBATCH --cpus-per-task=4" in script
    assert "distributed.cli.dask_worker tcp://127.0.0.1:" in script
    assert os.path.basename(script.splitlines()[-1].split()[0]).startswith("python")


def _callbacks(client) -> dict:
    """{process: {periodic callback: its interval in ms}} of the scheduler and every worker."""
    def scheduler(dask_scheduler):
        return {name: pc.callback_time for name, pc in dask_scheduler.periodic_callbacks.items()}

    def worker(dask_worker):
        return {name: pc.callback_time for name, pc in dask_worker.periodic_callbacks.items()}
    return {"scheduler": client.run_on_scheduler(scheduler), **client.run(worker)}


def test_the_cluster_runs_with_lean_monitoring_in_every_process(client):
    seen = _callbacks(client)
    assert len(seen) == 3  # the scheduler and both workers
    assert all(every["tick"] == 1000 and every["monitor"] == 2000 for every in seen.values()), seen
    workers = [every for name, every in seen.items() if name != "scheduler"]
    assert all("profile" not in every and every["memory_monitor"] == 1000 for every in workers), seen


@pytest.mark.slow
def test_lean_false_keeps_dasks_defaults():
    import dask

    before = {key: dask.config.get(key) for key in lab.LEAN_MONITORING}
    with lab.local_cluster(1, lean=False) as plain:
        seen = _callbacks(plain)
    assert all(every["tick"] == 20 and every["monitor"] == 500 for every in seen.values()), seen
    (worker,) = (every for name, every in seen.items() if name != "scheduler")
    assert worker["profile"] == 10 and worker["memory_monitor"] == 100, worker
    assert {key: dask.config.get(key) for key in lab.LEAN_MONITORING} == before  # this process's config untouched


@pytest.mark.slow
def test_the_dask_bench_entries(monkeypatch):
    from parlab.benches import dask as dask_bench

    monkeypatch.setattr(dask_bench, "PAIRS", 1)
    monkeypatch.setattr(dask_bench, "TASK_N", 20)
    monkeypatch.setattr(dask_bench, "TINY_TASKS", 20)
    monkeypatch.setattr(dask_bench, "IDLE_S", 0.5)
    out = dask_bench.entries(2)
    assert set(out) == {"dask_fib", "dask_task_overhead", "dask_idle_cpu"}
    assert out["dask_fib"]["task"] == "fib(20)" and out["dask_fib"]["tasks"] == 2 * dask_bench.TASKS_PER_WORKER
    assert out["dask_fib"]["speedup"] > 0 and out["dask_fib"]["workers"] == 2
    assert out["dask_task_overhead"]["value"] > 0 and out["dask_task_overhead"]["tasks"] == 20
    idle = out["dask_idle_cpu"]
    assert idle["default_cores"] >= 0 and idle["value"] == idle["lean_cores"] >= 0 and idle["seconds"] == 0.5


def test_the_dask_bench_says_why_without_dask(monkeypatch):
    from parlab.benches import dask as dask_bench

    monkeypatch.setattr(dask_bench, "dask_status", lambda: "dask is not installed")
    out = dask_bench.entries(2)
    assert out == {name: {"value": None, "skipped": "dask is not installed"}
                   for name in ("dask_fib", "dask_task_overhead", "dask_idle_cpu")}
