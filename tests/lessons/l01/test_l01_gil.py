"""Helpers of lessons 01-02 (parlab.lessons.l01.gil, l02_pools, workloads, bench "gil"): behaviour, not speed."""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import socket
import sys
import zlib

import matplotlib
import matplotlib.pyplot as plt
import pytest

from parlab import measure, system, workloads
from parlab.benches import gil as gil_bench
from parlab.lessons.l01 import gil
from parlab.lessons.l02 import pools
from parlab.measure import speedup_sweep, timing_from
from parlab.results import RunResult, TaskSpan
from parlab.run import WorkerDied, run_tasks
from parlab.slowserver import SlowServer
from parlab.workloads import compressed_size, crash_worker, fib, make_buffer, payload_size, request_reply

pytestmark = pytest.mark.gil  # rerun with PYTHON_GIL=1 on a free-threaded build (.ci/other-pythons)

METHODS = multiprocessing.get_all_start_methods()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- small helpers

def test_worker_counts_cover_small_machines_and_spread_on_big_ones():
    assert measure.worker_counts(1) == [1]
    assert measure.worker_counts(4) == [1, 2, 3, 4]
    big = measure.worker_counts(32)
    assert big[0] == 1 and big[-1] == 32 and big == sorted(set(big)) and len(big) <= 8
    with pytest.raises(ValueError, match=">= 1"):
        measure.worker_counts(0)


def test_fib_tasks_checks_its_input():
    assert workloads.fib_tasks(20) == [20] * 12
    assert workloads.fib_tasks(5, count=3) == [5, 5, 5]
    for bad in ({"n": 0}, {"n": 99}, {"n": 20, "count": 0}):
        with pytest.raises(ValueError, match=r"n must be 1\.\.35"):
            workloads.fib_tasks(**bad)


def test_new_workloads_give_known_values():
    data = make_buffer(50_000, seed=4)
    assert compressed_size(data, 6) == len(zlib.compress(data, 6))
    assert payload_size(data) == 50_000


# --------------------------------------------------------------------------- the slow server

def test_slow_server_answers_keyed_requests_and_refuses_others():
    with SlowServer(delay_s=0.001) as server:
        port, key, message = server.tasks(1)[0]
        assert request_reply(port, key, message) == "reply to request 0"
        with pytest.raises(ConnectionError, match="without a reply"):
            request_reply(port, "wrong-key", "hello")
    with pytest.raises(OSError):  # closed: nothing listens on the port any more
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_slow_server_rejects_a_bad_delay():
    with pytest.raises(ValueError, match="delay_s"):
        SlowServer(delay_s=0)


@pytest.mark.parametrize("backend,method", [("threads", None)] + [("processes", m) for m in METHODS])
def test_request_reply_gives_the_serial_results_on_every_backend(backend, method):
    with SlowServer(delay_s=0.001) as server:
        tasks = server.tasks(6)
        got = run_tasks(request_reply, tasks, star=True, backend=backend, workers=3,
                        start_method=method, warn=False, timeout=60)
    assert got.results == [f"reply to request {i}" for i in range(6)]


# --------------------------------------------------------------------------- timelines

def test_run_segments_are_ordered_and_cover_the_duration():
    segments = gil.run_segments(0.02)
    assert segments
    assert all(start <= end for start, end in segments)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(segments))
    assert segments[-1][1] - segments[0][0] >= 0.02


def _run(spans: list[tuple[int, float, float]]) -> RunResult:
    timeline = [TaskSpan(i, w, s, e) for i, (w, s, e) in enumerate(spans)]
    return RunResult([None] * len(spans), timeline, max(e for _, _, e in spans), "threads", 2, None)


def test_overlap_fraction_on_known_timelines():
    assert gil.overlap_fraction(_run([(0, 0.0, 1.0), (1, 1.0, 2.0)])) == 0.0
    assert gil.overlap_fraction(_run([(0, 0.0, 2.0), (1, 0.0, 2.0)])) == 1.0
    assert gil.overlap_fraction(_run([(0, 0.0, 2.0), (1, 1.0, 2.0)])) == pytest.approx(0.5)
    assert gil.overlap_fraction(_run([(0, 1.0, 1.0)])) == 0.0


@pytest.mark.parametrize("backend,method", [("threads", None)] + [("processes", m) for m in METHODS])
def test_gil_timeline_has_one_bar_per_running_stretch(backend, method):
    trace = gil.gil_timeline(backend, workers=2, duration_s=0.03, start_method=method)
    assert trace.backend == backend and trace.workers == 2
    assert {span.worker for span in trace.timeline} <= {0, 1}
    assert all(0 <= span.start <= span.end <= trace.wall_s for span in trace.timeline)
    assert 0.0 <= gil.overlap_fraction(trace) <= 1.0
    if backend == "threads" and system.gil_enabled():
        # Behaviour of the GIL, not speed: two threads never run Python at the same moment.
        assert gil.overlap_fraction(trace) < 0.2


# --------------------------------------------------------------------------- switch interval

def test_switch_latency_restores_the_interval_and_checks_input():
    before = sys.getswitchinterval()
    result = gil.switch_latency(0.002, busy_s=0.05)
    assert sys.getswitchinterval() == before
    assert result.interval_s == 0.002 and result.lateness.values
    for bad in (0, 2.0):
        with pytest.raises(ValueError, match="interval_s"):
            gil.switch_latency(bad)
    assert sys.getswitchinterval() == before


# --------------------------------------------------------------------------- words from numbers

def _fake_sweep(speedup: float, cores: int = 2, gil_on: bool = True):
    sweep = speedup_sweep(fib, [5, 5], backend="threads", workers=[1, 2], repeats=1, warmup=0)
    points = tuple(dataclasses.replace(p, speedup=speedup if p.workers == 2 else 1.0) for p in sweep.points)
    meta = dataclasses.replace(sweep.metadata, usable_cores=cores, gil_enabled=gil_on)
    return dataclasses.replace(sweep, points=points, metadata=meta)


@pytest.mark.parametrize("threads,cores,gil_on,expected", [
    (1.02, 2, True, "fib on threads: 1.02× on 2 threads: about the same as one"),
    (1.90, 2, True, "Unexpected with the GIL on"),
    (1.90, 2, False, "no GIL in this build: the threads ran Python on several cores at once"),
    (1.00, 1, True, "Only one usable core"),
])
def test_describe_cpu_threads_follows_the_numbers(threads, cores, gil_on, expected):
    text = gil.describe_cpu_threads(_fake_sweep(threads, cores, gil_on), _fake_sweep(1.95, cores, gil_on))
    assert expected in text
    assert "1.95×" in text


@pytest.mark.parametrize("free,gil_on,expected", [
    (False, True, "standard build with the GIL"),
    (True, False, "runs without the GIL"),
    (True, True, "the GIL is on again"),
])
def test_build_report_follows_the_build(monkeypatch, free, gil_on, expected):
    monkeypatch.setattr(system, "free_threaded_build", lambda: free)
    monkeypatch.setattr(system, "gil_enabled", lambda: gil_on)
    text = gil.build_report(_fake_sweep(1.01))
    assert expected in text
    assert f"free-threaded build: {free}; GIL enabled now: {gil_on}" in text
    assert "Measured above, fib on threads: 1.01× on 2 threads: about the same as one" in text


def test_build_report_names_other_implementations(monkeypatch):
    build = dict(system.python_build(), implementation="PyPy")
    monkeypatch.setattr(system, "python_build", lambda: build)
    assert "PyPy has a GIL too" in gil.build_report()


# --------------------------------------------------------------------------- lesson 02 measurements

def test_startup_costs_cover_every_available_method():
    costs = pools.startup_costs(workers=1, repeats=1)
    assert list(costs) == system.available_start_methods()
    assert all(t.median > 0 for t in costs.values())


def test_pickling_curve_has_one_point_per_size():
    points = pools.pickling_curve([100, 50_000], tasks=2, repeats=1)
    assert [p.nbytes for p in points] == [100, 50_000]
    assert all(p.threads_s > 0 and p.processes_s > 0 for p in points)


def test_chunksize_curve_checks_results_and_names_the_best():
    curve = pools.chunksize_curve(fib, [5] * 20, [1, 4, 20], workers=2, repeats=1)
    assert curve.chunksizes == (1, 4, 20) and len(curve.timings) == 3
    assert curve.best in curve.chunksizes
    assert curve.serial.median > 0


def test_plots_return_their_axes():
    latency = [gil.SwitchLatency(0.001, timing_from([0.001])), gil.SwitchLatency(0.005, timing_from([0.005]))]
    assert isinstance(gil.plot_switch_latency(latency), matplotlib.axes.Axes)
    points = [pools.PayloadPoint(100, 1e-5, 1e-4), pools.PayloadPoint(10_000, 1e-5, 2e-4)]
    assert isinstance(pools.plot_pickling(points), matplotlib.axes.Axes)
    curve = pools.ChunkCurve(timing_from([0.1]), (1, 4), (timing_from([0.3]), timing_from([0.05])), 2)
    assert curve.best == 4
    assert "best chunksize here 4" in pools.plot_chunksize(curve).get_title()


# --------------------------------------------------------------------------- crashes

def test_crash_worker_refuses_to_end_this_process():
    with pytest.raises(RuntimeError, match="only runs inside a process worker"):
        crash_worker(3)
    with pytest.raises(RuntimeError, match="only runs inside a process worker"):
        run_tasks(crash_worker, [3], backend="threads", workers=1)


@pytest.mark.faults
@pytest.mark.parametrize("method", METHODS)
def test_crash_worker_is_reported_not_hung(method):
    with pytest.raises(WorkerDied, match="exit code 13"):
        run_tasks(crash_worker, [13], backend="processes", workers=1, start_method=method, timeout=60)


@pytest.mark.faults
def test_pool_demo_of_lesson_02_ends_by_its_timeout():
    # Lesson 02 shows multiprocessing.Pool losing a task to a dead worker; a timeout ends the wait.
    with multiprocessing.Pool(processes=1) as pool:
        pending = pool.map_async(crash_worker, [13])
        with pytest.raises(multiprocessing.TimeoutError):
            pending.get(timeout=1)


# --------------------------------------------------------------------------- bench group

def test_bench_group_gil_reports_both_entries(monkeypatch):
    monkeypatch.setattr(gil_bench, "PAIRS", 1)
    monkeypatch.setattr(gil_bench, "IO_WAIT_S", 0.002)
    monkeypatch.setattr(gil_bench, "HASH_BYTES", 64 << 10)
    report = gil_bench.entries(2)
    assert set(report) == {"threads_io", "threads_hashlib"}
    assert report["threads_io"]["workers"] == gil_bench.IO_WORKERS
    assert report["threads_hashlib"]["workers"] == 2
    assert all(entry["speedup"] > 0 for entry in report.values())
