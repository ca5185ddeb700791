"""Faults and bad input: nothing hangs, nothing is left behind, every error is clear (pytest -m faults).

Every test has a hard wall-clock limit, so a hang is a failure, and a per-test check that no
child process of the test run outlives the test. Process scenarios run under every start
method this platform offers.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import select
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest
from procs import alive, cmdline, descendants, stdlib_helper, wait_gone

import parlab.run
from parlab import _faults, run, workloads
from parlab._checks import check_memory, check_workers
from parlab.run import MAX_TASKS, NotEnoughMemory, RunTimeout, WorkerDied, WorkerPool, run_tasks
from parlab.system import available_memory_bytes

pytestmark = pytest.mark.faults
# The interpreters backend needs Python 3.14 (InterpreterPoolExecutor); there it never skips.
# Subinterpreter tasks that cannot be interrupted: long enough that "returned within the timeout and
# the fault close, with room for a busy machine" can never be mistaken for "waited for the tasks".
TASK_S = 6.0
SLACK_S = 2.5

NEEDS_314 = pytest.mark.skipif(sys.version_info < (3, 14), reason="the interpreters backend needs Python "
                               "3.14 (concurrent.futures.InterpreterPoolExecutor); .ci/other-pythons runs it there")

METHODS = [m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]
HELPER = Path(__file__).with_name("faults_helpers.py")
LINUX = sys.platform.startswith("linux")


# --------------------------------------------------------------------------- fixtures and the parent program

@pytest.fixture(autouse=True)
def no_worker_outlives_the_test():
    """After each test, every process it started must be gone within a few seconds.

    Processes that were already running before the test (a session fixture's server or
    browser, say) are not the test's to judge, and are never killed here.
    """
    before = set(descendants(os.getpid())) if LINUX else set()
    yield
    if not LINUX:
        return
    started = [p for p in descendants(os.getpid()) if p not in before and not stdlib_helper(p)]
    left = wait_gone(started, within=5.0)
    for pid in left:  # do not let one failure leak into the next tests
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left behind: {[(p, cmdline(p)[:100]) for p in left]}"


@pytest.fixture(scope="module", autouse=True)
def stop_the_fork_server_at_the_end():
    """Stop multiprocessing's fork server once this module is done (it restarts on demand).

    The resource tracker stays: stopping it unlinks every named semaphore it still holds,
    also those of locks and queues alive in this process, whose own clean-up at exit then
    raised FileNotFoundError after pytest's summary (3.14 and 3.15, whose default start method
    names its semaphores). It ends with this process.
    """
    yield
    from multiprocessing import forkserver

    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)  # private, but the only way
    if stop is not None:
        try:
            stop()
        except (OSError, ChildProcessError):
            pass


@pytest.fixture
def no_pool_may_start(monkeypatch):
    """Fail if any executor is created: bad input must be refused before a worker starts."""
    import concurrent.futures as cf

    def refuse(*args, **kwargs):
        raise AssertionError("a pool was started for input that should have been refused")

    monkeypatch.setattr(cf, "ProcessPoolExecutor", refuse)
    monkeypatch.setattr(cf, "ThreadPoolExecutor", refuse)


class Parent:
    """A parent program (tests/faults/faults_helpers.py) in its own session, followed line by line."""

    def __init__(self, *args: str) -> None:
        # Its own session: SIGINT to its process group reaches it and its workers, not pytest.
        # stderr is a pipe, never pytest's own: an orphan holding it would block the CI runner.
        self.proc = subprocess.Popen([sys.executable, str(HELPER), *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self._buffer = b""

    def line(self, timeout: float) -> tuple[float, str]:
        """The next line and when it arrived; fails the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, left))
            if not ready:
                pytest.fail(f"no output from the parent program within {timeout} s")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                pytest.fail(f"the parent program ended early: {self.stderr()}")
            self._buffer += chunk
        text, self._buffer = self._buffer.split(b"\n", 1)
        return time.monotonic(), text.decode()

    def stderr(self) -> str:
        """Its stderr, for a failure message: a parent still running gets 5 s, then it is killed."""
        killed = ""
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
            killed = "(still running after 5 s: killed) "
        return killed + self.proc.stderr.read().decode(errors="replace")[-2000:]

    def descendants(self) -> list[int]:
        return descendants(self.proc.pid)

    def close(self, leftovers: list[int]) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        for pid in leftovers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.proc.stdout.close()
        self.proc.stderr.close()


# --------------------------------------------------------------------------- a worker dies

DEATHS = [
    pytest.param(_faults.exit_now, 3, "exit code 3", "os._exit(3)", id="os._exit"),
    pytest.param(_faults.segfault, 0, "signal SIGSEGV", "crash inside compiled code", id="segfault"),
    pytest.param(_faults.sigkill_self, 0, "signal SIGKILL", "out-of-memory killer", id="SIGKILL"),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("func,arg,how,cause", DEATHS)
def test_a_dead_worker_is_named_with_a_likely_cause_and_the_next_run_works(method, func, arg, how, cause):
    with WorkerPool("processes", 2, start_method=method, warn=False) as pool:
        pids = pool.pids
        t0 = time.monotonic()
        with pytest.raises(WorkerDied) as info:
            pool.map(func, [arg], timeout=20)
        assert time.monotonic() - t0 < 10
        message = str(info.value)
        assert type(info.value) is WorkerDied
        assert how in message and cause in message and method in message, message
        assert isinstance(info.value.__cause__, BrokenProcessPool)
        assert wait_gone(pids, within=5) == []
        assert pool.map(workloads.fib, [10, 11], timeout=20).results == [55, 89]  # fresh workers
        assert set(pool.pids).isdisjoint(pids)
    again = run_tasks(workloads.fib, [12], backend="processes", workers=2, start_method=method,
                      warn=False, timeout=20)
    assert again.results == [144]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("method", METHODS)
def test_a_worker_killed_between_runs_is_reported_then_replaced(method):
    with WorkerPool("processes", 2, start_method=method, warn=False) as pool:
        os.kill(pool.pids[0], signal.SIGKILL)
        wait_gone(pool.pids[:1], within=5)
        time.sleep(0.2)  # let the pool's manager thread notice
        with pytest.raises(WorkerDied, match="SIGKILL"):
            pool.map(workloads.fib, [10] * 4, timeout=20)
        assert pool.map(workloads.fib, [10, 11], timeout=20).results == [55, 89]


# --------------------------------------------------------------------------- a task raises

@pytest.mark.timeout(30)
@pytest.mark.parametrize("backend,method", [("processes", m) for m in METHODS] + [("threads", None)]
                         + [pytest.param("interpreters", None, marks=NEEDS_314)])
def test_a_task_exception_keeps_its_type_and_the_remote_traceback(backend, method):
    with pytest.raises(ValueError, match="task 2 failed on purpose") as info:
        run_tasks(_faults.raise_value_error, [2, 2, 2], backend=backend, workers=2,
                  start_method=method, warn=False, timeout=20)
    assert type(info.value) is ValueError
    if backend in ("processes", "interpreters"):  # the worker's traceback travels as the cause, as text
        remote = str(info.value.__cause__)
        assert "raise_value_error" in remote and "_faults.py" in remote, remote
    else:
        assert "raise_value_error" in {code.co_name for code in _walk(info.value.__traceback__)}
    assert run_tasks(workloads.fib, [10], backend=backend, workers=2, start_method=method,
                     warn=False).results == [55]


def _walk(tb):
    while tb is not None:
        yield tb.tb_frame.f_code
        tb = tb.tb_next


# --------------------------------------------------------------------------- timeouts

@pytest.mark.timeout(30)
@pytest.mark.parametrize("method", METHODS)
def test_a_timeout_stops_the_process_workers(method):
    with WorkerPool("processes", 2, start_method=method, warn=False) as pool:
        pids = pool.pids
        t0 = time.monotonic()
        with pytest.raises(RunTimeout, match=r"unfinished after 0\.5 s; the workers were stopped"):
            pool.map(_faults.sleep_then, [30] * 4, timeout=0.5)
        assert time.monotonic() - t0 < 5
        assert wait_gone(pids, within=3) == []
        assert pool.map(workloads.fib, [10], timeout=20).results == [55]


@pytest.mark.timeout(30)
def test_a_timeout_stops_threads_through_their_flag_and_no_task_keeps_burning_cpu():
    _faults.reset_started()
    threads_before = threading.active_count()
    with pytest.raises(RunTimeout):
        run_tasks(_faults.spin, [0.2] * 40, backend="threads", workers=2, timeout=0.5)
    time.sleep(0.35)  # the tasks already running finish; no new one may begin
    began, cpu0 = _faults.started_count(), time.process_time()
    time.sleep(0.6)
    assert _faults.started_count() == began < 40
    assert time.process_time() - cpu0 < 0.3  # nothing of ours is spinning any more
    deadline = time.monotonic() + 3
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() == threads_before


@NEEDS_314
@pytest.mark.timeout(40)
def test_a_timeout_on_subinterpreters_reports_the_task_it_cannot_interrupt_and_starts_no_other():
    threads_before = threading.active_count()
    with WorkerPool("interpreters", 2, warn=False) as pool:
        t0 = time.monotonic()
        with pytest.raises(RunTimeout, match="cannot be interrupted") as info:
            pool.map(_faults.sleep_then, [TASK_S] * 8, timeout=0.5)
        # Bounded by the timeout and the fault close (plus room for a busy machine), well short of
        # the TASK_S the running tasks take: they are reported, not awaited.
        assert time.monotonic() - t0 < 0.5 + run.INTERPRETER_FAULT_CLOSE_S + SLACK_S < TASK_S
        assert "8 of 8 task chunks unfinished" in str(info.value) and "2 task(s) still run" in str(info.value)
        # The two running tasks end after their TASK_S and no queued one starts: 8 tasks on 2
        # workers would otherwise run for 4 × TASK_S.
        deadline = time.monotonic() + TASK_S + SLACK_S
        while pool.still_running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.still_running == 0
        assert pool.map(workloads.fib, [10], timeout=20).results == [55]
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() == threads_before


@NEEDS_314
@pytest.mark.skipif(not LINUX, reason="sends itself SIGINT")
@pytest.mark.timeout(40)
def test_ctrl_c_on_subinterpreters_returns_quickly_and_the_next_run_works():
    # Jupyter's interrupt is a SIGINT: the parent's wait ends at once; the running tasks end
    # on their own (they cannot be interrupted), the queued ones never start.
    with WorkerPool("interpreters", 2, warn=False) as pool:
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            pool.map(_faults.sleep_then, [TASK_S] * 8, timeout=30)
        timer.join()
        assert time.monotonic() - t0 < 0.5 + run.INTERPRETER_FAULT_CLOSE_S + SLACK_S < TASK_S
        deadline = time.monotonic() + TASK_S + SLACK_S
        while pool.still_running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.still_running == 0
        assert pool.map(workloads.fib, [10, 11], timeout=20).results == [55, 89]


# --------------------------------------------------------------------------- Ctrl-C

@pytest.mark.skipif(not LINUX, reason="reads /proc")
@pytest.mark.timeout(40)
@pytest.mark.parametrize("backend,method", [("processes", m) for m in METHODS] + [("threads", "none")])
def test_sigint_to_the_process_group_interrupts_quickly_and_stops_every_worker(backend, method):
    parent = Parent("interrupt", backend, method)
    leftovers: list[int] = []
    try:
        _, ready = parent.line(timeout=30)
        assert ready.startswith("READY"), ready
        pids = [int(p) for p in ready.split()[1:]]
        time.sleep(0.5)  # the tasks are running
        leftovers = parent.descendants()
        sent = time.monotonic()
        os.killpg(parent.proc.pid, signal.SIGINT)  # what Jupyter's interrupt button does
        arrived, line = parent.line(timeout=10)
        assert line == "INTERRUPTED", (line, parent.stderr())
        assert arrived - sent < 1.5  # "about a second": measured in tens of milliseconds here
        assert parent.line(timeout=10)[1] == "GONE 1"
        assert wait_gone(pids, within=3) == []
        if backend == "threads":
            _, threads = parent.line(timeout=10)
            _, before, after, cpu, alive = threads.split()
            assert before == after and int(before) < 40, threads  # no task began after Ctrl-C
            assert float(cpu) < 0.3 and alive == "1", threads  # none keeps burning CPU
        assert parent.line(timeout=30)[1] == "NEXT 55 89 144 55 89 144"
        assert parent.proc.wait(15) == 0, parent.stderr()
        assert wait_gone(leftovers, within=5) == []
    finally:
        parent.close(leftovers)


@pytest.mark.skipif(not LINUX, reason="reads /proc")
@pytest.mark.timeout(40)
@pytest.mark.parametrize("method", METHODS)
def test_sigint_while_workers_start_leaves_a_working_next_run(method):
    # The fork server installs its own SIG_IGN only once running: a Ctrl-C in its first
    # milliseconds used to kill it and make the next pool fail with EOFError.
    parent = Parent("early", "processes", method)
    leftovers: list[int] = []
    try:
        _, line = parent.line(timeout=30)
        if line == "INTERRUPTED":
            _, line = parent.line(timeout=30)
        assert line == "NEXT 55 89", (line, parent.stderr())
        leftovers = parent.descendants()
        assert parent.proc.wait(15) == 0, parent.stderr()
        assert wait_gone(leftovers, within=5) == []
    finally:
        parent.close(leftovers)


@pytest.mark.skipif(not LINUX, reason="reads /proc")
@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", METHODS)
def test_twenty_interrupts_during_start_each_leave_a_working_next_pool(method):
    # On Python 3.14 a Ctrl-C that cut a fork-server handshake short killed the fork server,
    # and every later pool failed to connect to it; the start now holds the interrupt back.
    parent = Parent("early_many", "processes", method)
    leftovers: list[int] = []
    seen: list[str] = []
    try:
        for i in range(20):
            _, line = parent.line(timeout=60)
            seen.append(line)
            assert line == f"NEXT {i} 55 89", (seen, parent.stderr())
        leftovers = parent.descendants()
        # Generous limits: a busy CI machine may take seconds to stop the last pool's processes.
        assert parent.proc.wait(30) == 0, parent.stderr()
        assert wait_gone(leftovers, within=15) == [], [(p, cmdline(p)[:100]) for p in leftovers]
    finally:
        parent.close(leftovers)


# --------------------------------------------------------------------------- the parent dies

@pytest.mark.skipif(not LINUX, reason="reads /proc")
@pytest.mark.timeout(40)
@pytest.mark.parametrize("method", METHODS)
def test_a_killed_parent_leaves_no_orphaned_workers(method):
    parent = Parent("orphan", "processes", method)
    leftovers: list[int] = []
    try:
        _, ready = parent.line(timeout=30)
        assert ready.startswith("READY"), ready
        time.sleep(0.3)
        leftovers = parent.descendants()  # workers, and the fork server and resource tracker
        assert {int(p) for p in ready.split()[1:]} <= set(leftovers)
        parent.proc.send_signal(signal.SIGKILL)  # a kernel restart; no clean-up code runs
        parent.proc.wait(10)
        assert wait_gone(leftovers, within=5) == [], [cmdline(p)[:100] for p in leftovers]
    finally:
        parent.close(leftovers)


# --------------------------------------------------------------------------- unimportable functions

@pytest.mark.timeout(30)
@pytest.mark.parametrize("method", METHODS)
def test_a_notebook_function_or_a_lambda_is_refused_before_any_worker_starts(method, monkeypatch):
    import concurrent.futures as cf

    main = sys.modules["__main__"]
    monkeypatch.delattr(main, "__file__", raising=False)  # a notebook's __main__ has no file

    def in_a_cell(x):
        return x + 1

    in_a_cell.__module__, in_a_cell.__qualname__ = "__main__", "in_a_cell"
    monkeypatch.setattr(main, "in_a_cell", in_a_cell, raising=False)
    started = []
    real = cf.ProcessPoolExecutor
    monkeypatch.setattr(cf, "ProcessPoolExecutor", lambda *a, **k: started.append(1) or real(*a, **k))
    with pytest.raises(TypeError, match="lambda") as info:
        run_tasks(lambda x: x, [1], backend="processes", workers=2, start_method=method)
    assert type(info.value) is TypeError and started == []
    if method == "fork":  # a forked worker is a copy of the kernel: the cell's function is there
        assert run_tasks(in_a_cell, [1, 2], backend="processes", workers=2, start_method=method,
                         warn=False).results == [2, 3]
    else:
        with pytest.raises(TypeError, match=r"notebook cell .* importable module") as info:
            run_tasks(in_a_cell, [1, 2], backend="processes", workers=2, start_method=method)
        assert type(info.value) is TypeError and started == []


@NEEDS_314
@pytest.mark.timeout(30)
def test_subinterpreters_refuse_a_notebook_function_or_a_lambda_before_any_worker_starts(monkeypatch):
    import concurrent.futures as cf

    main = sys.modules["__main__"]
    monkeypatch.delattr(main, "__file__", raising=False)  # a notebook's __main__ has no file

    def in_a_cell(x):
        return x + 1

    in_a_cell.__module__, in_a_cell.__qualname__ = "__main__", "in_a_cell"
    monkeypatch.setattr(main, "in_a_cell", in_a_cell, raising=False)
    monkeypatch.setattr(cf, "InterpreterPoolExecutor", None)  # any start would fail loudly
    with pytest.raises(TypeError, match="lambda"):
        run_tasks(lambda x: x, [1], backend="interpreters", workers=2)
    with pytest.raises(TypeError, match=r"notebook cell .*subinterpreter workers start a fresh interpreter"):
        run_tasks(in_a_cell, [1, 2], backend="interpreters", workers=2)


NOTEBOOK_LIKE = """
from parlab.run import run_tasks
def square(x):
    return x * x
for method in ("spawn", "forkserver"):
    for func in (square, lambda x: x):
        try:
            run_tasks(func, [1, 2], backend="processes", workers=2, start_method=method)
        except TypeError as exc:
            print(method, "TypeError", "lambda" in str(exc) or "importable module" in str(exc))
"""


@pytest.mark.timeout(30)
def test_python_c_behaves_like_a_notebook_and_is_refused_up_front():
    # python -c has a __main__ without __file__, exactly like a Jupyter kernel.
    out = subprocess.run([sys.executable, "-c", NOTEBOOK_LIKE], capture_output=True, text=True,
                         timeout=25, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:4] == ["spawn TypeError True"] * 2 + ["forkserver TypeError True"] * 2


@pytest.mark.timeout(30)
def test_a_main_script_read_from_stdin_is_refused_under_spawn():
    code = ("from parlab.run import run_tasks\nfrom parlab.workloads import fib\n"
            "try:\n    run_tasks(fib, [1], backend='processes', workers=2, start_method='spawn')\n"
            "except RuntimeError as exc:\n    print('refused', 'not a file' in str(exc))\n")
    out = subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True, timeout=25,
                         check=False)
    assert out.stdout.strip() == "refused True", out.stderr


# --------------------------------------------------------------------------- bad input

HUGE = 10**12
# (argument, value, exact exception type, words the message must contain)
BAD_RUN_ARGS = [
    ("workers", 0, ValueError, "whole number from 1 to"),
    ("workers", -1, ValueError, "whole number from 1 to"),
    ("workers", 2.5, TypeError, "whole number from 1 to"),
    ("workers", "4", TypeError, "int(...)"),
    ("workers", True, TypeError, "whole number from 1 to"),
    ("workers", None, TypeError, "whole number from 1 to"),
    ("workers", 10**6, ValueError, "whole number from 1 to"),
    ("tasks", 0, TypeError, "iterable) of 1 to"),
    ("tasks", -1, TypeError, "iterable) of 1 to"),
    ("tasks", 1.5, TypeError, "iterable) of 1 to"),
    ("tasks", [], ValueError, "got none"),
    ("tasks", range(HUGE), ValueError, f"1 to {MAX_TASKS:,} tasks"),
    ("tasks", range(10**20), ValueError, f"1 to {MAX_TASKS:,} tasks"),
    ("tasks", "abc", TypeError, "wrap it: [data]"),
    ("tasks", b"\x00\x01", TypeError, "wrap it: [data]"),
    ("chunksize", 0, ValueError, "chunksize must be a whole number from 1 to"),
    ("chunksize", -1, ValueError, "chunksize must be a whole number from 1 to"),
    ("chunksize", 1.5, TypeError, "chunksize must be a whole number from 1 to"),
    ("chunksize", HUGE, ValueError, f"from 1 to {MAX_TASKS:,}"),
    ("chunksize", "2", TypeError, "chunksize must be a whole number from 1 to"),
    ("timeout", 0, ValueError, "timeout must be a number of seconds > 0"),
    ("timeout", -1, ValueError, "timeout must be a number of seconds > 0"),
    ("timeout", 1e300, ValueError, "<= 86400"),
    ("timeout", math.inf, ValueError, "<= 86400"),
    ("timeout", math.nan, ValueError, "<= 86400"),
    ("timeout", None, TypeError, "wait forever"),
    ("timeout", "5", TypeError, "number of seconds"),
    ("backend", "gpu", ValueError, "serial, threads, processes"),
    ("backend", "Threads", ValueError, "serial, threads, processes"),
    ("backend", None, TypeError, "serial, threads, processes"),
    ("backend", 3, TypeError, "serial, threads, processes"),
    ("start_method", "vfork", ValueError, "fork, spawn, forkserver"),
    ("start_method", "SPAWN", ValueError, "fork, spawn, forkserver"),
    ("start_method", 1, TypeError, "fork, spawn, forkserver"),
    ("func", None, TypeError, "func must be callable"),
    ("func", 42, TypeError, "func must be callable"),
    ("func", "fib", TypeError, "func must be callable"),
    ("star", "yes", TypeError, "star must be True or False"),
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("backend", ["threads", "processes"])
@pytest.mark.parametrize("name,value,exc,words", BAD_RUN_ARGS,
                         ids=[f"{b[0]}={b[1]!r}"[:40] for b in BAD_RUN_ARGS])
def test_bad_input_is_refused_before_any_worker_with_what_is_allowed(name, value, exc, words, backend,
                                                                     no_pool_may_start):
    kwargs = {"func": workloads.fib, "tasks": [5, 6], "backend": backend, "workers": 2}
    kwargs[name] = value
    with pytest.raises(exc) as info:
        run_tasks(**kwargs)
    assert type(info.value) is exc, info.value
    assert words in str(info.value), str(info.value)


@pytest.mark.timeout(20)
def test_more_bad_input(no_pool_may_start):
    with pytest.raises(ValueError, match="processes backend only"):
        run_tasks(workloads.fib, [1], backend="threads", workers=2, start_method="spawn")
    with pytest.raises(TypeError, match="task 0 is 5") as info:
        run_tasks(workloads.count_primes, [5, 6], backend="threads", workers=2, star=True)
    assert type(info.value) is TypeError
    with pytest.raises(ValueError, match=f"got more than {MAX_TASKS:,}"):  # an endless generator
        run_tasks(workloads.fib, itertools.count(), backend="threads", workers=2)
    with pytest.raises(TypeError, match="cannot be sent to process workers") as info:
        run_tasks(workloads.fib, [threading.Lock()], backend="processes", workers=2)
    assert type(info.value) is TypeError


def test_numpy_integers_are_accepted_as_whole_numbers():
    assert check_workers(np.int64(4)) == 4
    got = run_tasks(workloads.fib, [3, 4], backend="threads", workers=np.int64(2),
                    chunksize=np.int32(1), timeout=np.float64(30))
    assert got.results == [2, 3]


# --------------------------------------------------------------------------- the memory guard

BAD_SIZES = [
    (0, ValueError, "nbytes must be a whole number >= 1"),
    (-1, ValueError, "nbytes must be a whole number >= 1"),
    (1.5, TypeError, "nbytes must be a whole number >= 1"),
    ("64", TypeError, "nbytes must be a whole number >= 1"),
    (10**15, NotEnoughMemory, "allowed: up to"),
    (2**63, NotEnoughMemory, "allowed: up to"),
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("nbytes,exc,words", BAD_SIZES)
def test_a_buffer_size_is_checked_before_anything_is_allocated(nbytes, exc, words):
    if exc is NotEnoughMemory and available_memory_bytes() is None:
        pytest.skip("this platform does not report its free memory")
    with pytest.raises(exc) as info:
        workloads.make_buffer(nbytes)
    assert type(info.value) is exc and words in str(info.value), str(info.value)


def test_available_memory_is_known_and_plausible():
    free = available_memory_bytes()
    if LINUX:
        assert free is not None
    if free is not None:
        assert 0 <= free < 2**50
        check_memory(free // 10, "a tenth of the free memory")  # allowed
        with pytest.raises(NotEnoughMemory, match="GiB"):
            check_memory(free + 1, "more than is free")


@pytest.mark.timeout(20)
def test_workers_and_tasks_that_would_not_fit_are_refused_before_starting(monkeypatch, no_pool_may_start):
    monkeypatch.setattr("parlab._checks.available_memory_bytes", lambda: 100 * 2**20)  # a tiny machine
    with pytest.raises(NotEnoughMemory, match="8 process workers"):
        WorkerPool("processes", 8, warn=False)
    with pytest.raises(NotEnoughMemory, match="900,000 tasks"):
        run_tasks(workloads.fib, range(900_000), backend="threads", workers=2)
    with pytest.raises(NotEnoughMemory, match="make_buffer"):
        workloads.make_buffer(80 * 2**20)
    assert parlab.run.NotEnoughMemory is NotEnoughMemory and issubclass(NotEnoughMemory, ValueError)


# --------------------------------------------------------------------------- MPI jobs (lesson 05)

RANK_KILLED = """
import os, signal
from mpi4py import MPI
comm = MPI.COMM_WORLD
if comm.Get_rank() == 1:
    os.kill(os.getpid(), signal.SIGKILL)  # the out-of-memory killer's way
comm.Barrier()  # the other ranks wait for rank 1 forever unless the launcher aborts them
"""


@pytest.mark.mpi
@pytest.mark.timeout(40)
def test_an_mpi_rank_that_raises_or_is_killed_ends_the_whole_job_quickly(mpiexec):
    from parlab import mpi

    t0 = time.monotonic()
    with pytest.raises(mpi.RankFailed) as info:
        mpi.run_mpi("ring", 3, "--fail-rank", 2, timeout=30)
    assert info.value.rank == 2 and "RuntimeError: rank 2 was asked to fail" in info.value.traceback
    with pytest.raises(mpi.RankFailed, match="other ranks were aborted"):
        mpi.run_source(RANK_KILLED, 3, timeout=30)
    assert time.monotonic() - t0 < 20  # aborted by the launcher, not left to the timeouts


@pytest.mark.mpi
@pytest.mark.timeout(40)
def test_an_mpi_rank_that_hangs_hits_the_timeout_and_no_rank_survives(mpiexec):
    from parlab import mpi

    t0 = time.monotonic()
    with pytest.raises(mpi.MPITimeout, match="deadlock"):
        mpi.run_mpi("ring", 3, "--stall-rank", 1, timeout=1.5)
    assert time.monotonic() - t0 < 15
    # no_worker_outlives_the_test checks that mpiexec and every rank are gone


@pytest.mark.timeout(20)
def test_a_missing_launcher_says_how_to_install_one(monkeypatch):
    from parlab import mpi, system

    monkeypatch.setattr(system, "find_mpiexec", lambda: None)
    with pytest.raises(mpi.LauncherNotFound, match="pip install mpi4py mpich"):
        mpi.run_mpi("hello", 2, timeout=10)


@pytest.mark.mpi
@pytest.mark.timeout(40)
def test_the_wrong_mpi_first_on_path_is_detected(mpiexec, fake_mpiexec, monkeypatch):
    import shutil

    from parlab import mpi, system

    # Another MPI's launcher first on PATH starts N unrelated copies, each of size 1.
    monkeypatch.setenv("PATH", f"{fake_mpiexec.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(system, "find_mpiexec", lambda: shutil.which("mpiexec"))  # no MPI in the venv
    with pytest.raises(mpi.WrongSize, match=r"size\(s\) \[1, 1, 1\]"):
        mpi.run_mpi("hello", 3, timeout=30)


# --------------------------------------------------------------------------- unknown names elsewhere

@pytest.mark.timeout(20)
def test_unknown_kernel_and_coordination_backend_list_what_exists(monkeypatch):
    from parlab import coord, kernels

    with pytest.raises(ValueError, match=r"choose from .*python") as info:
        kernels.variant("fortran")
    assert type(info.value) is ValueError
    with pytest.raises(ValueError, match=r"backend must be one of .*embedded") as info:
        coord.serve("zookeeper")
    assert type(info.value) is ValueError
    monkeypatch.setenv("REDIS_URL", "http://127.0.0.1:6379")
    with pytest.raises(coord.CoordError, match="redis://"):
        coord.serve("redis")
