"""run_tasks and WorkerPool: serial-equal results on every backend and start method, and bad input."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

from parlab import workloads
from parlab._checks import check_workers, max_workers_allowed
from parlab.run import OversubscriptionWarning, WorkerDied, WorkerPool, available_backends, run_tasks

pytestmark = pytest.mark.gil  # rerun with PYTHON_GIL=1 on a free-threaded build (.ci/other-pythons)

METHODS = multiprocessing.get_all_start_methods()
# The interpreters backend needs Python 3.14 (InterpreterPoolExecutor); there it never skips.
ON_314 = sys.version_info >= (3, 14)
NEEDS_314 = pytest.mark.skipif(not ON_314, reason="the interpreters backend needs Python 3.14 "
                               "(concurrent.futures.InterpreterPoolExecutor); .ci/other-pythons runs it there")
BACKENDS = ([("serial", None, 1), ("threads", None, 3)] + [("processes", m, 2) for m in METHODS]
            + [pytest.param("interpreters", None, 2, marks=NEEDS_314)])

CASES = [
    (workloads.fib, [12, 5, 20, 1], False),
    (workloads.count_primes, [(0, 200), (200, 500), (500, 900)], True),
    (workloads.monte_carlo_pi, [(2000, 1), (2000, 2), (2000, 3)], True),
    (workloads.hash_buffer, [workloads.make_buffer(5000, s) for s in range(4)], False),
]


@pytest.mark.parametrize("backend,method,workers", BACKENDS)
def test_every_backend_gives_the_serial_results_in_order(backend, method, workers):
    for func, tasks, star in CASES:
        expected = [func(*t) if star else func(t) for t in tasks]
        got = run_tasks(func, tasks, backend=backend, workers=workers, start_method=method,
                        star=star, chunksize=2, warn=False)
        assert got.results == expected, (func.__name__, backend, method)
        assert sorted(s.task for s in got.timeline) == list(range(len(tasks)))
        assert all(0 <= s.start <= s.end <= got.wall_s + 1e-3 for s in got.timeline)
        assert {s.worker for s in got.timeline} <= set(range(workers))
        assert got.start_method == method if backend == "processes" else got.start_method is None


@pytest.mark.parametrize("backend,method,workers", BACKENDS)
def test_a_timeline_of_chunks_gives_the_same_results_and_one_span_per_chunk(backend, method, workers):
    tasks = list(range(12, 23))  # 11 tasks in chunks of 3: 4 chunks, the last one short
    got = run_tasks(workloads.fib, tasks, backend=backend, workers=workers, start_method=method,
                    chunksize=3, warn=False, timeline="chunks")
    assert got.results == [workloads.fib(n) for n in tasks]
    assert [s.task for s in got.timeline] == [0, 1, 2, 3]
    assert all(0 <= s.start <= s.end <= got.wall_s + 1e-3 for s in got.timeline)
    assert {s.worker for s in got.timeline} == set(range(len(got.worker_ids)))
    assert len(got.worker_ids) <= workers


def test_a_dead_worker_is_a_broken_process_pool():
    # A learner's `except BrokenProcessPool` (or an older `except RuntimeError`) catches it.
    assert issubclass(WorkerDied, BrokenProcessPool) and issubclass(WorkerDied, RuntimeError)
    with WorkerPool("processes", 1, warn=False) as pool:
        try:
            pool.map(workloads.crash_worker, [13], timeout=60)
        except BrokenProcessPool as exc:
            caught = exc
        else:
            pytest.fail("the crash was not reported")
        assert type(caught) is WorkerDied and "exit code 13" in str(caught)
        # Reported once: its cause is the executor's own error, not a second WorkerDied.
        assert isinstance(caught.__cause__, BrokenProcessPool) and not isinstance(caught.__cause__, WorkerDied)
        assert pool.map(workloads.fib, [10]).results == [55]  # the next run starts fresh workers


def test_workloads_are_known_values():
    assert workloads.fib(20) == 6765
    assert workloads.count_primes(0, 100) == 25
    assert workloads.count_primes(2, 3) == 1
    assert workloads.monte_carlo_pi(1000, 42) == workloads.monte_carlo_pi(1000, 42)
    assert 700 < workloads.monte_carlo_pi(1000, 42) < 870
    assert workloads.hash_buffer(b"", 1) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert workloads.make_buffer(16, 3) == workloads.make_buffer(16, 3) != workloads.make_buffer(16, 4)


def test_pool_is_reused_and_reports_startup():
    with WorkerPool("processes", 2, warn=False) as pool:
        assert pool.startup_s > 0
        first = pool.map(workloads.fib, [10, 11])
        second = pool.map(workloads.fib, [12, 13])
    assert first.results == [55, 89] and second.results == [144, 233]
    with pytest.raises(RuntimeError, match="closed"):
        pool.map(workloads.fib, [1])


def test_more_workers_than_cores_is_allowed_with_a_warning():
    from parlab.system import usable_cores

    with pytest.warns(OversubscriptionWarning, match="usable cores"):
        got = run_tasks(workloads.fib, [5] * 4, backend="threads", workers=usable_cores() + 1)
    assert got.results == [5] * 4


# The bad-input table: (argument, value, exception type, words the message must contain).
BAD = [
    ("workers", 0, ValueError, "whole number from 1 to"),
    ("workers", -1, ValueError, "whole number from 1 to"),
    ("workers", 2.5, TypeError, "whole number"),
    ("workers", "4", TypeError, "whole number"),
    ("workers", True, TypeError, "whole number"),
    ("workers", None, TypeError, "whole number"),
    ("workers", 10**6, ValueError, "whole number from 1 to"),
    ("backend", "gpu", ValueError, "serial, threads, processes"),
    ("start_method", "vfork", ValueError, "fork, spawn, forkserver"),
    ("chunksize", 0, ValueError, "chunksize must be a whole number from 1 to"),
    ("timeout", -1, ValueError, "timeout must be a number of seconds > 0"),
    ("timeline", "spans", ValueError, "timeline must be one of tasks, chunks"),
    ("timeline", None, TypeError, "timeline must be one of tasks, chunks"),
]


@pytest.mark.parametrize("name,value,exc,words", BAD, ids=[f"{b[0]}={b[1]!r}" for b in BAD])
def test_bad_input_is_refused_with_what_is_allowed(name, value, exc, words):
    kwargs = {"backend": "processes", "workers": 2}
    kwargs[name] = value
    with pytest.raises(exc, match=words):
        run_tasks(workloads.fib, [1], **kwargs)


def test_the_interpreters_backend_runs_on_314_and_is_refused_before_any_work_elsewhere(monkeypatch):
    import concurrent.futures as cf

    if ON_314:
        assert "interpreters" in available_backends()
        with WorkerPool("interpreters", 2, warn=False) as pool:
            assert pool.startup_s > 0 and pool.pids == []
            assert pool.map(workloads.fib, [10, 11]).results == [55, 89]
        return
    assert "interpreters" not in available_backends()

    def refuse(*args, **kwargs):
        raise AssertionError("a pool was started for a backend this Python cannot run")

    monkeypatch.setattr(cf, "ThreadPoolExecutor", refuse)
    version = sys.version.split()[0]
    for start in (lambda: run_tasks(workloads.fib, [1], backend="interpreters", workers=2),
                  lambda: WorkerPool("interpreters", 2)):
        with pytest.raises(ValueError, match=r"backend 'interpreters' needs Python 3\.14 or newer") as info:
            start()
        assert f"this is Python {version}: choose from serial, threads, processes" in str(info.value)


@NEEDS_314
def test_the_interpreters_workers_import_neither_numpy_nor_matplotlib():
    # Neither loads in a subinterpreter: what the workers import (the worker side, the
    # workloads and what they import) must stay free of them.
    from concurrent import interpreters

    interp = interpreters.create()
    try:
        interp.exec("import sys, parlab._worker, parlab.workloads\n"
                    "loaded = [m for m in ('numpy', 'matplotlib') if m in sys.modules]\n"
                    "assert not loaded, loaded")
    finally:
        interp.close()


def test_numpy_integers_are_accepted():
    assert check_workers(np.int64(4)) == 4
    got = run_tasks(workloads.fib, [3, 4], backend="threads", workers=np.int32(2))
    assert got.results == [2, 3]
    assert max_workers_allowed() >= 64


def test_unpicklable_functions_are_refused_before_any_worker_starts():
    with pytest.raises(TypeError, match="lambda"):
        run_tasks(lambda x: x, [1], backend="processes", workers=2, start_method="spawn")
    with pytest.raises(TypeError, match="importable module"):
        def nested(x):
            return x
        run_tasks(nested, [1], backend="processes", workers=2)


def test_serial_backend_takes_one_worker():
    with pytest.raises(ValueError, match="workers=1"):
        WorkerPool("serial", 2)
    with pytest.raises(ValueError, match="processes backend only"):
        WorkerPool("threads", 2, start_method="spawn")


@pytest.mark.skipif(not os.path.isdir("/proc") or "forkserver" not in multiprocessing.get_all_start_methods(),
                    reason="needs /proc and the forkserver start method")
def test_the_leftover_check_sees_forkserver_workers_but_not_the_fork_server():
    # Workers forked by the fork server inherit its command line; the check must still see
    # them, or every "no process left behind" assertion is blind under forkserver.
    from procs import descendants, parent, stdlib_helper

    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as executor:
        worker = executor.submit(os.getpid).result(timeout=60)
        server = parent(worker)
        assert server is not None and server in descendants(os.getpid())
        assert stdlib_helper(server), "the fork server is a stdlib helper"
        assert not stdlib_helper(worker), "a worker left running must count as left behind"
