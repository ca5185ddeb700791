"""Run a list of tasks on a backend with k workers and record who ran what, when.

Built on ``concurrent.futures``: a ``multiprocessing.Pool`` waits forever when one of its
workers dies, an executor reports it. Every argument is checked before a worker starts; a
dead worker, a timeout or Ctrl-C stops the whole pool and leaves no process behind.
The ``interpreters`` backend (Python 3.14: ``InterpreterPoolExecutor``, one subinterpreter
per worker thread) cannot interrupt a running task: after a timeout or Ctrl-C its workers
stop between tasks, and a task that outlives the timeout is reported, never waited for.
Statistics and plots live elsewhere (``measure``, ``plot``); the worker side is ``_worker``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self

from parlab import _handshake, _worker
from parlab._checks import (
    BACKENDS,
    MAX_TASKS,
    MAX_TIMEOUT_S,
    POOL_TIMEOUT_S,
    START_METHODS,
    NotEnoughMemory,
    available_backends,
    check_call,
    check_choice,
    check_pool,
    check_sendable,
    check_size,
    check_tasks,
    check_timeout,
)
from parlab.results import RunResult, TaskSpan
from parlab.system import usable_cores

__all__ = [
    "BACKENDS",
    "MAX_TASKS",
    "MAX_TIMEOUT_S",
    "POOL_TIMEOUT_S",
    "START_METHODS",
    "NotEnoughMemory",
    "OversubscriptionWarning",
    "RunResult",
    "RunTimeout",
    "TaskSpan",
    "WorkerDied",
    "WorkerPool",
    "available_backends",
    "run_tasks",
]

STARTUP_TIMEOUT_S = _worker.STARTUP_TIMEOUT_S
# How long closing a pool waits for subinterpreter workers to finish a task and end: a
# running task cannot be interrupted, so this bounds the wait and the rest is reported.
INTERPRETER_CLOSE_S = 5.0  # after a normal run (its tasks are done)
INTERPRETER_FAULT_CLOSE_S = 1.0  # after a timeout, a fault or Ctrl-C: the running tasks are reported, not awaited
# What a run's timeline records: one span per task (two clock reads and a record per task,
# sent back), or one per chunk (values only, as a bare executor's map: for many tiny tasks).
TIMELINES = ("tasks", "chunks")


class WorkerDied(BrokenProcessPool):
    """A process worker ended abruptly (crash, os._exit, a signal such as the OOM killer's).

    A BrokenProcessPool, so that ``except BrokenProcessPool`` (what a learner writes around a
    bare executor) catches it too; that is a RuntimeError, as it was before.
    """


class RunTimeout(TimeoutError):
    """The tasks did not finish within the timeout; the workers were stopped."""


class OversubscriptionWarning(UserWarning):
    """More workers than usable cores: allowed (lessons show it), but they will share cores."""


# --------------------------------------------------------------------------- the pool

class WorkerPool:
    """k started, warmed workers of one backend; reuse it across repeats (lessons 00-06).

    Start-up is timed on its own (``startup_s``) so that measurements of the work leave it out.
    After a dead worker, a timeout or Ctrl-C the workers are stopped; the next ``map`` starts
    fresh ones. After ``close()`` the pool refuses to run.
    """

    def __init__(self, backend: str = "serial", workers: int = 1, *,
                 start_method: str | None = None, warn: bool = True) -> None:
        self._open(*check_pool(backend, workers, start_method), warn)

    @classmethod
    def _checked(cls, backend: str, workers: int, start_method: str | None, warn: bool) -> WorkerPool:
        """A pool from arguments its caller already passed through check_pool: no second check."""
        pool = cls.__new__(cls)
        pool._open(backend, workers, start_method, warn)
        return pool

    def _open(self, backend: str, workers: int, start_method: str | None, warn: bool) -> None:
        self.backend, self.workers, self.start_method = backend, workers, start_method
        if warn and self.workers > usable_cores():
            warnings.warn(f"{self.workers} workers on {usable_cores()} usable cores: they will "
                          "take turns (oversubscription)", OversubscriptionWarning, stacklevel=3)
        self._executor: cf.Executor | None = None
        self._processes: dict[int, Any] = {}
        self._threads: list[threading.Thread] = []  # interpreters: worker threads of stopped executors
        self._state = "open"  # open, stopped (by a fault: restart on next map), closed
        self.startup_s = 0.0
        self._start()

    @property
    def pids(self) -> list[int]:
        """Process ids of the process workers now running (empty for serial, threads and interpreters)."""
        return list(self._processes)

    @property
    def still_running(self) -> int:
        """Subinterpreter workers of this pool whose task outlived a timeout or Ctrl-C and runs on.

        A subinterpreter's running task cannot be interrupted and ``shutdown(wait=False)``
        leaves its thread running until the task returns; this counts those threads.
        """
        return sum(thread.is_alive() for thread in self._threads)

    def _start(self) -> None:
        t0 = time.perf_counter()
        if self.backend != "serial":
            try:
                self._start_workers()
            except BaseException:
                self._state = "stopped"  # a later map may try again
                raise
        self.startup_s = time.perf_counter() - t0
        self._state = "open"

    def _start_workers(self) -> None:
        k = self.workers
        ready: _handshake.Ready
        go: _handshake.Go
        if self.backend == "threads":
            ready, go = threading.Semaphore(0), threading.Event()
            self._executor = cf.ThreadPoolExecutor(k, initializer=_worker.init_thread_worker,
                                                   initargs=(ready, go))
        elif self.backend == "interpreters":
            # threading primitives cannot cross into another interpreter: queues can.
            ready_queue, go_queue = _handshake.interpreter_queue(), _handshake.interpreter_queue()
            ready, go = _handshake.QueueReady(ready_queue), _handshake.QueueGo(go_queue, k)
            self._executor = cf.InterpreterPoolExecutor(  # type: ignore[attr-defined,unused-ignore]
                k, initializer=_worker.init_interpreter_worker, initargs=(ready_queue, go_queue))
        else:
            ctx = multiprocessing.get_context(self.start_method)
            ready, go = ctx.Semaphore(0), ctx.Event()
            self._executor = cf.ProcessPoolExecutor(
                k, mp_context=ctx, initializer=_worker.init_process_worker,
                initargs=(ready, go, os.getpid(), str(self.start_method)))
        try:
            # Each worker holds in its initializer until all k are up: k submissions therefore
            # start k workers. Poll so that a worker that dies at start-up is reported at once.
            # Children inherit the signal mask and start with BLAS/OpenMP held to one thread:
            # see sigint_blocked and numeric_threads_at_start. A Ctrl-C waits until the k
            # processes have started (sigint_deferred): cut short, a start kills 3.14's fork server.
            numeric = (contextlib.nullcontext() if self.backend in ("threads", "interpreters")
                       else _worker.numeric_threads_at_start(self.start_method))  # type: ignore[arg-type]
            with _worker.sigint_deferred(), _worker.sigint_blocked(), numeric:
                futures = [self._executor.submit(_worker.noop) for _ in range(k)]
            self._processes = dict(getattr(self._executor, "_processes", None) or {})
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            started = 0
            while started < k:
                if ready.acquire(timeout=0.05):
                    started += 1
                    continue
                self._processes = dict(getattr(self._executor, "_processes", None) or {})
                failed = [f for f in futures if f.done() and f.exception() is not None]
                if failed and self.backend in ("threads", "interpreters"):
                    raise _exception_of(failed[0])
                if failed:
                    raise WorkerDied(self._death_report(at_start=True)) from failed[0].exception()
                if time.monotonic() > deadline:
                    raise RunTimeout(f"the {k} {self.backend} workers did not start within "
                                     f"{STARTUP_TIMEOUT_S:g} s; they were stopped")
            go.set()
            cf.wait(futures, timeout=STARTUP_TIMEOUT_S)
            self._processes = dict(getattr(self._executor, "_processes", None) or {})
        except BaseException:
            self.close(kill=True)
            raise

    def map(self, func: Callable[..., Any], tasks: Iterable[Any], *, chunksize: int = 1,
            star: bool = False, timeout: float = POOL_TIMEOUT_S, timeline: str = "tasks") -> RunResult:
        """Run ``func`` on every task (``func(*task)`` when ``star``) and return results in order.

        ``timeline="chunks"`` records one span per chunk (its ``task`` is the chunk's number)
        instead of one per task: the per-task bookkeeping goes, for many tiny tasks.
        """
        if self._state == "closed":
            raise RuntimeError("this WorkerPool is closed; start a new one")
        items = check_tasks(tasks, star)
        chunksize = check_size("chunksize", chunksize, MAX_TASKS)
        timeout = check_timeout(timeout)
        check_call(func, self.backend, self.start_method)
        check_choice("timeline", timeline, TIMELINES)
        return self._map(func, items, chunksize, star, timeout, timeline)

    def _map(self, func: Callable[..., Any], items: list[Any], chunksize: int, star: bool,
             timeout: float, timeline: str = "tasks") -> RunResult:
        # map's work on arguments already checked (by map or run_tasks): no second check.
        if self._state == "closed":
            raise RuntimeError("this WorkerPool is closed; start a new one")
        if self._state == "stopped":  # an earlier fault stopped the workers: start fresh ones
            self._start()
        chunks = [items[i:i + chunksize] for i in range(0, len(items), chunksize)]
        work = _worker.run_chunk if timeline == "tasks" else _worker.run_chunk_lean
        t0 = time.perf_counter()
        if self.backend == "serial":
            outputs: list[Any] = [work(func, chunk, star) for chunk in chunks]
        else:
            outputs = self._submit_and_wait(work, func, chunks, star, timeout)
        wall = time.perf_counter() - t0
        return _assemble(outputs, t0, wall, self, timeline)

    def _submit_and_wait(self, work: Callable[..., Any], func: Callable[..., Any],
                         chunks: list[list[Any]], star: bool, timeout: float) -> list[Any]:
        assert self._executor is not None
        # Threads cannot be killed, nor a subinterpreter's task interrupted: a flag of this
        # run's own tells them to stop between tasks (for subinterpreters, a queue: see _worker.cancelled).
        cancel: Any = None
        if self.backend == "threads":
            cancel = threading.Event()
        elif self.backend == "interpreters":
            cancel = _handshake.interpreter_queue()
        try:
            futures = [self._executor.submit(work, func, chunk, star, cancel) for chunk in chunks]
            done, pending = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_EXCEPTION)
            failed = [f for f in futures if f in done and f.exception() is not None]
            if failed:
                exc = _exception_of(failed[0])
                if isinstance(exc, BrokenProcessPool):
                    raise WorkerDied(self._death_report()) from exc
                raise exc  # the task's own exception; a process pool attaches the remote traceback
            if pending:
                message = (f"{len(pending)} of {len(chunks)} task chunks unfinished after "
                           f"{timeout:g} s; the workers were stopped")
                if self.backend == "interpreters":
                    self._stop(cancel)
                    if self.still_running:
                        message += (f", but {self.still_running} task(s) still run: a subinterpreter's "
                                    "running task cannot be interrupted, its thread ends when the task "
                                    "returns (and Python waits for it at exit)")
                raise RunTimeout(message)
            return [f.result() for f in futures]
        except WorkerDied:  # raised just above; it is a BrokenProcessPool too: report it once
            self._stop(cancel)
            raise
        except BrokenProcessPool as exc:  # a worker died between runs: submit refused
            report = self._death_report()
            self._stop(cancel)
            raise WorkerDied(report) from exc
        except BaseException:
            # A timeout, a failed task, a dead worker or Ctrl-C: stop everything, leave nothing behind.
            self._stop(cancel)
            raise

    def _stop(self, cancel: Any) -> None:
        if isinstance(cancel, threading.Event):
            cancel.set()
        elif cancel is not None and cancel.empty():  # a subinterpreters' queue: one item means "stop"
            cancel.put_nowait(None)
        self.close(kill=True)
        self._state = "stopped"

    def _death_report(self, at_start: bool = False) -> str:
        # The executor SIGTERMs the survivors once one worker dies: wait for every exit code,
        # then name the worker(s) that died some other way first. Let the executor's manager
        # thread finish that first: under forkserver an exit code is read from a pipe, and two
        # threads reading it at once can lose it (it then reads as 255).
        manager = getattr(self._executor, "_executor_manager_thread", None)  # private, no other way
        if manager is not None:
            manager.join(2.0)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(p.exitcode is None for p in self._processes.values()):
            time.sleep(0.02)
        codes = {pid: p.exitcode for pid, p in self._processes.items() if p.exitcode not in (None, 0)}
        first = {pid: c for pid, c in codes.items() if c != -signal.SIGTERM} or codes
        by_code: dict[int, list[str]] = {}
        for pid, code in first.items():
            by_code.setdefault(code, []).append(str(pid))
        parts = []
        for code, pids in by_code.items():
            how, cause = _worker.describe_exit(code)
            parts.append(f"{how} (worker{'s' if len(pids) > 1 else ''} {', '.join(pids)}); "
                         f"likely cause: {cause}.")
        where = "while starting" if at_start else "while running a task"
        hint = (" Under spawn and forkserver a worker first re-imports the main script: guard "
                "a script's entry point with `if __name__ == '__main__':`." if at_start else "")
        return (f"a {self.start_method} process worker died {where}: "
                f"{' '.join(parts) or 'its exit code is unknown.'}{hint} The pool was stopped; "
                "the next run starts fresh workers.")

    def close(self, *, kill: bool = False) -> None:
        """Shut the workers down; ``kill=True`` kills process workers at once instead of waiting."""
        self._state = "closed"
        executor, self._executor = self._executor, None
        processes, self._processes = list(self._processes.values()), {}
        if executor is None:
            return
        if self.backend == "interpreters":
            self._close_interpreters(executor, kill)
            return
        if not kill:
            executor.shutdown(wait=True)
            return
        processes += [p for p in (getattr(executor, "_processes", None) or {}).values()
                      if p not in processes]
        for proc in processes:  # SIGKILL first: a second Ctrl-C during the joins cannot leave one
            if proc.exitcode is None:
                proc.kill()
        executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + 5.0
        for proc in processes:
            proc.join(max(0.0, deadline - time.monotonic()))
        manager = getattr(executor, "_executor_manager_thread", None)
        if manager is not None:  # let it clean its queues now rather than at interpreter exit
            manager.join(max(0.0, deadline - time.monotonic()))

    def _close_interpreters(self, executor: cf.Executor, kill: bool) -> None:
        # Never shutdown(wait=True): a task that runs on would hold it forever. Queued tasks are
        # cancelled on a kill; running ones finish (they cannot be interrupted) within a
        # bounded wait, and still_running counts the threads of those that do not.
        threads = list(getattr(executor, "_threads", ()))  # private, but the only handle on them
        executor.shutdown(wait=False, cancel_futures=kill)
        deadline = time.monotonic() + (INTERPRETER_FAULT_CLOSE_S if kill else INTERPRETER_CLOSE_S)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads + threads if t.is_alive()]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close(kill=exc_info[0] is not None)


def _exception_of(future: cf.Future[Any]) -> BaseException:
    """The exception of a future known to have failed (``exception()`` is None only on success)."""
    exc = future.exception()
    if exc is None:
        raise RuntimeError("internal error: a future reported as failed has no exception")
    return exc


def _assemble(outputs: list[Any], t0: float, wall: float, pool: WorkerPool,
              timeline: str = "tasks") -> RunResult:
    # Per chunk, run_chunk sends (worker, [(value, start, end), ...]) and run_chunk_lean
    # (worker, values, start, end).
    per_task = timeline == "tasks"
    starts = ([(out[0], out[1][0][1]) for out in outputs if out[1]] if per_task
              else [(out[0], out[2]) for out in outputs])
    # Number workers in the order they first started a task, so row 0 of a timeline is the first.
    first_start: dict[str, float] = {}
    for worker, start in starts:
        first_start[worker] = min(first_start.get(worker, start), start)
    ids = {worker: i for i, worker in enumerate(sorted(first_start, key=first_start.__getitem__))}
    results: list[Any] = []
    spans: list[TaskSpan] = []
    if per_task:
        for worker, records in outputs:
            for value, start, end in records:
                spans.append(TaskSpan(len(results), ids[worker], start - t0, end - t0))
                results.append(value)
    else:
        for number, (worker, values, start, end) in enumerate(outputs):
            spans.append(TaskSpan(number, ids[worker], start - t0, end - t0))
            results.extend(values)
    return RunResult(results, spans, wall, pool.backend, pool.workers, pool.start_method,
                     pool.startup_s, list(ids))


def run_tasks(func: Callable[..., Any], tasks: Iterable[Any], *, backend: str = "serial",
              workers: int = 1, start_method: str | None = None, chunksize: int = 1,
              star: bool = False, timeout: float = POOL_TIMEOUT_S, warn: bool = True,
              timeline: str = "tasks") -> RunResult:
    """Start a pool, run every task, close the pool: the one-call form (lessons 00-06)."""
    # Every argument is checked here, once, before a single worker starts; the pool and its
    # map are then entered by their private, unchecked paths.
    backend, count, method = check_pool(backend, workers, start_method)
    items = check_tasks(tasks, star)
    chunksize = check_size("chunksize", chunksize, MAX_TASKS)
    timeout = check_timeout(timeout)
    check_call(func, backend, method)
    check_choice("timeline", timeline, TIMELINES)
    if backend == "processes":
        check_sendable(items[0])  # one task, as a sample; a started pool reports the rest itself
    with WorkerPool._checked(backend, count, method, warn) as pool:
        return pool._map(func, items, chunksize, star, timeout, timeline)
