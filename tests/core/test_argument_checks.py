"""One validation policy: a wrong type is a TypeError, a wrong value a ValueError, both naming
what is allowed, raised at a public function's edge before any child, worker or server starts."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing.process
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from parlab import _checks, coord, launch, measure, mpi, run, system
from parlab.lessons.l01 import convoy as l01_convoy
from parlab.lessons.l01 import gil as l01_gil
from parlab.lessons.l03 import kernels as l03_kernels
from parlab.lessons.l04 import children as l04_children
from parlab.lessons.l05 import blocking as l05_blocking
from parlab.lessons.l05 import mpi as l05_mpi
from parlab.lessons.l06 import strategy as l06_strategy
from parlab.scripts import worker as worker_script
from parlab.workloads import fib, request_reply

pytestmark = pytest.mark.faults

ALLOWED = r"must be a number of seconds > 0 and <= 86400 \(a day\), got "
BAD_TYPES = ["5", True, None]
BAD_VALUES = [float("inf"), float("nan"), 1e12, -1, 0]


class _NoServer:
    """Stands in for a coordination server: any use means the check came too late."""

    backend = "embedded"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the server was used ({name}) before the timeout was checked")


def _unstarted_pool() -> run.WorkerPool:
    # A pool object without workers: map must refuse a bad timeout before it needs any.
    pool = object.__new__(run.WorkerPool)
    pool.backend, pool.workers, pool.start_method, pool._state = "serial", 1, None, "open"
    return pool


def _wrong_type(value: object) -> bool:
    return value is None or isinstance(value, (str, bool))


TASKS = [{"func": "fib", "args": [5]}]

# Every public function that takes a timeout, called with everything else valid.
WITH_TIMEOUT: dict[str, Callable[[Any], Any]] = {
    "launch.run": lambda t: launch.run(launch.module_argv("parlab.scripts.hello"), timeout=t),
    "launch.run_many": lambda t: launch.run_many([launch.module_argv("parlab.scripts.hello")], timeout=t),
    "launch.wait_all": lambda t: launch.wait_all([], timeout=t),
    "launch.Child.wait": lambda t: object.__new__(launch.Child).wait(t),
    "run.run_tasks": lambda t: run.run_tasks(fib, [5], backend="threads", workers=2, timeout=t),
    "run.WorkerPool.map": lambda t: _unstarted_pool().map(fib, [5], timeout=t),
    "measure.speedup_sweep": lambda t: measure.speedup_sweep(fib, [5], backend="threads", workers=[1, 2],
                                                             timeout=t),
    "mpi.run_mpi": lambda t: mpi.run_mpi("hello", 2, timeout=t),
    "mpi.run_source": lambda t: mpi.run_source("print(1)", 2, timeout=t),
    "l03.annotate": lambda t: l03_kernels.annotate(timeout=t),
    "l03.cython_errors": lambda t: l03_kernels.cython_errors("x = 1", timeout=t),
    "l04.worker_argv": lambda t: l04_children.worker_argv("job", "w", lease_s=1, timeout=t),
    "l04.run_job": lambda t: l04_children.run_job(_NoServer(), TASKS, 2, timeout=t),  # type: ignore[arg-type]
    "l04.job_sweep": lambda t: l04_children.job_sweep(_NoServer(), TASKS, [1, 2], timeout=t),  # type: ignore[arg-type]
    "l05.run_integral": lambda t: l05_mpi.run_integral(2, timeout=t),
    "l05.integral_sweep": lambda t: l05_mpi.integral_sweep([1, 2], timeout=t),
    "l05.run_pingpong": lambda t: l05_mpi.run_pingpong(timeout=t),
    "l05.reference_pingpong": lambda t: l05_mpi.reference_pingpong(timeout=t),
    "workloads.request_reply": lambda t: request_reply(1, "key", "hello", timeout=t),  # before connecting
}

# The other durations with the same rule: a lease is a timeout on one task.
WITH_LEASE: dict[str, Callable[[Any], Any]] = {
    "l04.worker_argv": lambda s: l04_children.worker_argv("job", "w", lease_s=s, timeout=5),
    "l04.run_job": lambda s: l04_children.run_job(_NoServer(), TASKS, 2, lease_s=s),  # type: ignore[arg-type]
    "l04.job_sweep": lambda s: l04_children.job_sweep(_NoServer(), TASKS, [1, 2], lease_s=s),  # type: ignore[arg-type]
}


@pytest.fixture
def nothing_starts(monkeypatch):
    """Any child process, process worker or pool started during the test fails it."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("something was started before the arguments were checked")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)
    monkeypatch.setattr(cf, "ThreadPoolExecutor", refuse)
    monkeypatch.setattr(cf, "ProcessPoolExecutor", refuse)
    monkeypatch.setattr(run.WorkerPool, "_open", refuse)
    monkeypatch.setattr(coord, "serve", refuse)


@pytest.mark.parametrize("bad", BAD_TYPES + BAD_VALUES, ids=repr)
@pytest.mark.parametrize("name", WITH_TIMEOUT)
def test_every_timeout_is_checked_before_anything_starts(name, bad, nothing_starts):
    kind = TypeError if _wrong_type(bad) else ValueError
    with pytest.raises(kind, match=f"timeout {ALLOWED}{bad!r}"):
        WITH_TIMEOUT[name](bad)


@pytest.mark.parametrize("bad", BAD_TYPES + BAD_VALUES, ids=repr)
@pytest.mark.parametrize("name", WITH_LEASE)
def test_every_lease_is_checked_before_anything_starts(name, bad, nothing_starts):
    kind = TypeError if _wrong_type(bad) else ValueError
    with pytest.raises(kind, match=f"lease_s {ALLOWED}"):
        WITH_LEASE[name](bad)


def test_the_child_script_refuses_an_endless_timeout(capsys):
    for bad in ("inf", "nan", "1e12", "0", "-1"):
        with pytest.raises(SystemExit) as info:
            worker_script.parse(["--job", "j", "--name", "n", "--timeout", bad])
        assert info.value.code == 2
        assert "--timeout must be a number of seconds > 0 and <= 86400" in capsys.readouterr().err


@pytest.mark.parametrize("good", [0.5, 5, np.float64(2.5), np.int64(3), 86400])
def test_good_timeouts_come_back_as_floats(good):
    assert _checks.check_timeout(good) == float(good)
    assert type(_checks.check_timeout(good)) is float


def test_messages_say_what_is_allowed():
    with pytest.raises(ValueError) as info:
        _checks.check_timeout(float("inf"))
    assert str(info.value) == "timeout must be a number of seconds > 0 and <= 86400 (a day), got inf"
    with pytest.raises(TypeError, match=r"got '5' \(str\) \(convert it with float"):
        _checks.check_timeout("5")
    with pytest.raises(TypeError, match=r"None \(wait forever\) is not allowed"):
        _checks.check_timeout(None)
    with pytest.raises(ValueError, match="<= 86400"):
        _checks.check_timeout(10**400)  # beyond float's range: refused, not an OverflowError


def test_default_timeouts_have_one_name_per_meaning_and_are_within_the_cap():
    defaults = {"pool": _checks.POOL_TIMEOUT_S, "child": _checks.CHILD_TIMEOUT_S, "mpi": _checks.MPI_TIMEOUT_S}
    for value in defaults.values():
        assert _checks.check_timeout(value) == value
    assert run.POOL_TIMEOUT_S is _checks.POOL_TIMEOUT_S
    assert launch.CHILD_TIMEOUT_S is _checks.CHILD_TIMEOUT_S
    assert mpi.MPI_TIMEOUT_S is _checks.MPI_TIMEOUT_S
    for module in (run, launch, mpi):
        assert not hasattr(module, "DEFAULT_TIMEOUT_S")


# --------------------------------------------------------------------------- other checks, same policy

@pytest.mark.parametrize("ranks,kind", [(0, ValueError), (-1, ValueError), (10**6, ValueError),
                                        (2.5, TypeError), (True, TypeError), ("4", TypeError),
                                        (None, TypeError)])
def test_rank_counts(ranks, kind):
    with pytest.raises(kind, match="ranks must be a whole number from 1 to"):
        _checks.check_ranks(ranks)
    assert _checks.check_ranks(np.int64(2)) == 2
    assert mpi.check_ranks is _checks.check_ranks and mpi.max_ranks is _checks.max_ranks
    assert _checks.max_ranks(hostfile=True) == _checks.HOSTFILE_RANK_CAP


@pytest.mark.parametrize("backend,kind", [(5, TypeError), (None, TypeError), ("memcached", ValueError)])
def test_serve_refuses_an_unknown_server_kind_before_starting_one(backend, kind, monkeypatch):
    monkeypatch.setattr(coord, "start_manager", lambda *a: pytest.fail("a server was started"))
    assert coord.SERVER_KINDS == ("embedded", "redis")
    with pytest.raises(kind, match="backend must be one of embedded, redis, got"):
        coord.serve(backend)  # type: ignore[arg-type]


def test_check_pool_refuses_what_a_pool_cannot_run():
    assert _checks.check_pool("threads", np.int64(2), None) == ("threads", 2, None)
    with pytest.raises(ValueError, match="serial backend runs with workers=1"):
        _checks.check_pool("serial", 2, None)
    with pytest.raises(TypeError, match="backend must be one of serial, threads, processes"):
        _checks.check_pool(3, 1, None)


# --------------------------------------------------------------------------- checked once

def test_a_sweep_checks_each_worker_count_once_and_reads_the_machine_once(monkeypatch):
    calls: list[object] = []
    reads: list[int] = []
    check_workers, cgroup = _checks.check_workers, system.cgroup_cpu_limit
    monkeypatch.setattr(_checks, "check_workers", lambda w: calls.append(w) or check_workers(w))
    monkeypatch.setattr(system, "cgroup_cpu_limit", lambda *a: reads.append(1) or cgroup(*a))
    system.usable_cores.cache_clear()
    try:
        measure.speedup_sweep(fib, [12] * 4, backend="threads", workers=[1, 2, 3, 4], repeats=1, warmup=0)
        assert calls == [1, 2, 3, 4]
        assert len(reads) == 1
        calls.clear()
        run.run_tasks(fib, [12] * 4, backend="threads", workers=2)
        assert calls == [2]
    finally:
        system.usable_cores.cache_clear()


def test_a_pool_still_checks_its_own_arguments():
    with pytest.raises(TypeError, match="workers must be a whole number"):
        run.WorkerPool("threads", "2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="serial backend runs with workers=1"):
        run.WorkerPool("serial", 2)
    if sys.platform != "win32":
        with pytest.raises(ValueError, match="start_method applies to the processes backend only"):
            run.WorkerPool("threads", 2, start_method="fork")


# --------------------------------------------------------------------------- counts and text, same policy

# Every lesson entry point that takes a count or a text: (call with the bad value, a wrong type, a wrong
# value, what the message names). Each is checked before any program, child or server starts.
WITH_COUNTS: dict[str, tuple[Callable[[Any], Any], object, object, str]] = {
    "l05.run_integral intervals": (lambda v: l05_mpi.run_integral(2, intervals=v), 2.5, 0,
                                   "intervals must be a whole number from 1 to 1,000,000,000"),
    "l05.run_integral repeats": (lambda v: l05_mpi.run_integral(2, repeats=v), "3", 101,
                                 "repeats must be a whole number from 1 to 100"),
    "l05.run_pingpong max_size": (lambda v: l05_mpi.run_pingpong(max_size=v), True, 1 << 27,
                                  "max_size must be a whole number from 1 to 67,108,864 bytes"),
    "l05.run_pingpong loop": (lambda v: l05_mpi.run_pingpong(loop=v), 100.0, 5,
                              "loop must be a whole number from 10 to 100,000 round trips"),
    "l04.run_job kill": (lambda v: l04_children.run_job(_NoServer(), TASKS, 2, kill=v),  # type: ignore[arg-type]
                         "1", -1, r"kill must be a whole number >= 0 \(a child's index\) or None"),
    "l04.run_job die_after": (lambda v: l04_children.run_job(_NoServer(), TASKS, 2, die_after=v),  # type: ignore[arg-type]
                              1.0, -2, "die_after must be a whole number >= 0"),
    "l03.cython_errors source": (lambda v: l03_kernels.cython_errors(v), b"x = 1", "  \n",
                                 "source must be a non-empty string"),
    "mpi.write_hostfile hosts": (lambda v: mpi.write_hostfile("unused", v), [("localhost", 2)], {},
                                 "hosts must be a dict of host names to slot counts"),
    "mpi.write_hostfile slots": (lambda v: mpi.write_hostfile("unused", {"localhost": v}), "2", 0,
                                 "the slots of 'localhost' must be a whole number from 1 to 1,024"),
    "mpi.write_hostfile host": (lambda v: mpi.write_hostfile("unused", {v: 2}), 7, "",
                                "a host name must be a non-empty string"),
    "measure.time_call repeats": (lambda v: measure.time_call(_must_not_run, repeats=v), 2.5, 0,
                                  "repeats must be a whole number >= 1"),
    "measure.paired_speedup warmup": (lambda v: measure.paired_speedup(_must_not_run, _must_not_run, workers=2,
                                                                       warmup=v), None, -1,
                                      "warmup must be a whole number >= 0"),
    "l01.measure_convoy trips": (lambda v: l01_convoy.measure_convoy(v), "20", 1001,
                                 "trips must be a whole number from 1 to 1,000"),
    "l01.switch_latency interval_s": (lambda v: l01_gil.switch_latency(v), "0.001", 2.0,
                                      "interval_s must be a number from 1e-05 to 1 seconds"),
    "l05.run_exchange mode": (lambda v: l05_blocking.run_exchange(v, 10), 1, "deadlock",
                              "mode must be one of"),
    "l06.laws fraction": (lambda v: l06_strategy.laws(v, 8), True, float("nan"),
                          "fraction must be a number from 0 to 1"),
}


def _must_not_run() -> None:
    raise AssertionError("the arguments should have been refused before any call")


@pytest.mark.parametrize("name", WITH_COUNTS)
def test_a_wrong_type_is_a_type_error_and_a_wrong_value_a_value_error(name, nothing_starts, tmp_path,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, but if it were, not into the checkout
    call, wrong_type, wrong_value, message = WITH_COUNTS[name]
    with pytest.raises(TypeError, match=message):
        call(wrong_type)
    with pytest.raises(ValueError, match=message):
        call(wrong_value)
    assert not list(tmp_path.iterdir()), "a file was written before the arguments were checked"


def test_check_whole_and_check_text_return_what_they_accept():
    assert _checks.check_whole("n", np.int64(7), 1, 10) == 7
    assert type(_checks.check_whole("n", np.int64(7), 1)) is int
    with pytest.raises(TypeError, match=r"convert it with int\(\.\.\.\)"):
        _checks.check_whole("n", "7", 1)
    assert _checks.check_text("source", "x = 1", "'x = 1'") == "x = 1"


def test_check_number_flag_and_function_return_what_they_accept():
    assert _checks.check_number("share", np.float64(0.25), 0, 1) == 0.25 and _checks.check_number("s", 1, 0, 1) == 1.0
    assert _checks.check_flag("waiting", False) is False
    assert _checks.check_function("draw", print) is print
    for bad in (1, "yes", None):
        with pytest.raises(TypeError, match="waiting must be True or False"):
            _checks.check_flag("waiting", bad)
    with pytest.raises(TypeError, match=r"draw must be a function \(result, axes\), got 3"):
        _checks.check_function("draw", 3, "result, axes")


def test_a_hostfile_refuses_a_host_name_that_would_break_its_line(tmp_path):
    for bad in ("two words", "host:4", "a\nb"):
        with pytest.raises(ValueError, match="no spaces and no ':'"):
            mpi.write_hostfile(tmp_path / "hosts", {bad: 1})
    path = mpi.write_hostfile(tmp_path / "hosts", {"localhost": np.int64(2), "node-1": 4})
    assert path.read_text() == "localhost:2\nnode-1:4\n"
