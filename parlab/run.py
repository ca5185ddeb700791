"""Run a list of tasks on a backend with k workers and record who ran what, when.

Built on ``concurrent.futures``: a ``multiprocessing.Pool`` waits forever when one of its
workers dies, an executor reports it. Every argument is checked before a worker starts.
Statistics and plots live elsewhere (``measure``, ``plot``).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import numbers
import os
import pickle
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from parlab.system import available_start_methods, default_start_method, usable_cores

__all__ = [
    "BACKENDS", "START_METHODS", "DEFAULT_TIMEOUT_S", "TaskSpan", "RunResult", "WorkerPool",
    "run_tasks", "WorkerDied", "RunTimeout", "OversubscriptionWarning", "check_workers",
    "check_backend", "check_start_method", "max_workers_allowed",
]

BACKENDS = ("serial", "threads", "processes")
START_METHODS = ("fork", "spawn", "forkserver")
DEFAULT_TIMEOUT_S = 600.0
STARTUP_TIMEOUT_S = 60.0

# Workers inherit these so that a numeric library inside a task does not start its own
# threads on every core and oversubscribe the machine behind the pool's back.
_THREAD_LIMIT_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                      "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class WorkerDied(RuntimeError):
    """A process worker ended abruptly (crash, os._exit, a signal such as the OOM killer's)."""


class RunTimeout(TimeoutError):
    """The tasks did not finish within the timeout; the workers were stopped."""


class OversubscriptionWarning(UserWarning):
    """More workers than usable cores: allowed (lessons show it), but they will share cores."""


@dataclass(frozen=True)
class TaskSpan:
    """One task on the timeline: which worker ran it, from when to when (seconds from the run's start)."""

    task: int
    worker: int
    start: float
    end: float


@dataclass
class RunResult:
    """Results in task order, the per-task timeline, and how the run was made (lessons 00-06)."""

    results: list[Any]
    timeline: list[TaskSpan]
    wall_s: float
    backend: str
    workers: int
    start_method: str | None
    startup_s: float = 0.0
    worker_ids: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- validation

def max_workers_allowed() -> int:
    """The largest worker count accepted: generous enough to show oversubscription."""
    return max(64, 8 * usable_cores())


def check_workers(workers: object) -> int:
    """Return ``workers`` as an int, or raise TypeError/ValueError naming what is allowed."""
    cap = max_workers_allowed()
    allowed = f"a whole number from 1 to {cap}"
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral):
        raise TypeError(f"workers must be {allowed}, got {workers!r} ({type(workers).__name__})")
    value = int(workers)
    if not 1 <= value <= cap:
        raise ValueError(f"workers must be {allowed}, got {value}")
    return value


def check_backend(backend: object) -> str:
    """Return ``backend`` if it is one parlab knows, else raise ValueError listing them."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    return str(backend)


def check_start_method(start_method: object, backend: str = "processes") -> str | None:
    """Return the start method to use (the platform default for None); None for non-process backends."""
    if backend != "processes":
        if start_method is not None:
            raise ValueError(f"start_method applies to the processes backend only, not {backend!r}")
        return None
    if start_method is None:
        return default_start_method()
    if start_method not in START_METHODS:
        raise ValueError(f"start_method must be one of {', '.join(START_METHODS)} or None; "
                         f"got {start_method!r}")
    if start_method not in available_start_methods():
        raise ValueError(f"start method {start_method!r} is not available on this platform; "
                         f"available: {', '.join(available_start_methods())}")
    return str(start_method)


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def _check_timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    return float(timeout)


def check_picklable(func: Callable[..., Any], start_method: str) -> None:
    """Refuse, before any worker starts, a function that process workers could not import."""
    if not callable(func):
        raise TypeError(f"func must be callable, got {func!r}")
    main = sys.modules.get("__main__")
    in_unimportable_main = (getattr(func, "__module__", None) == "__main__"
                            and getattr(main, "__file__", None) is None)
    if start_method != "fork" and in_unimportable_main:
        raise TypeError(
            f"{getattr(func, '__qualname__', func)!r} is defined in a notebook cell (module "
            f"__main__); {start_method} workers start a fresh interpreter and look functions up "
            "by module name, so they cannot find it. Put it in an importable module (like "
            "parlab.workloads) and import it from there.")
    try:
        pickle.dumps(func)
    except Exception as exc:  # PicklingError, AttributeError, TypeError depending on the object
        raise TypeError(
            f"{func!r} cannot be sent to process workers ({exc}). Process workers receive the "
            "function by pickling its module and name: use a function defined with def at the "
            "top level of an importable module, not a lambda or a nested function.") from None


# --------------------------------------------------------------------------- worker side

def _worker_init(limit_threads: bool, barrier: Any) -> None:
    if limit_threads:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C / Jupyter's interrupt
        for var in _THREAD_LIMIT_VARS:
            os.environ.setdefault(var, "1")
    barrier.wait(STARTUP_TIMEOUT_S)


def _noop() -> None:
    return None


_cancelled = threading.Event()  # threads check it between tasks: they cannot be killed


def _run_chunk(func: Callable[..., Any], items: Sequence[Any], star: bool
               ) -> tuple[str, list[tuple[Any, float, float]]]:
    worker = f"{os.getpid()}:{threading.get_ident()}"
    out = []
    for item in items:
        if _cancelled.is_set():
            break
        t0 = time.perf_counter()
        value = func(*item) if star else func(item)
        out.append((value, t0, time.perf_counter()))
    return worker, out


# --------------------------------------------------------------------------- the pool

class WorkerPool:
    """k started, warmed workers of one backend; reuse it across repeats (lessons 00-06).

    Start-up is timed on its own (``startup_s``) so that measurements of the work leave it out.
    """

    def __init__(self, backend: str = "serial", workers: int = 1, *,
                 start_method: str | None = None, warn: bool = True) -> None:
        self.backend = check_backend(backend)
        self.workers = check_workers(workers)
        self.start_method = check_start_method(start_method, self.backend)
        if self.backend == "serial" and self.workers != 1:
            raise ValueError(f"the serial backend runs with workers=1, got {self.workers}")
        if warn and self.workers > usable_cores():
            warnings.warn(f"{self.workers} workers on {usable_cores()} usable cores: they will "
                          "take turns (oversubscription)", OversubscriptionWarning, stacklevel=2)
        self._executor: cf.Executor | None = None
        t0 = time.perf_counter()
        if self.backend != "serial":
            self._start()
        self.startup_s = time.perf_counter() - t0

    def _start(self) -> None:
        k = self.workers
        if self.backend == "threads":
            barrier = threading.Barrier(k + 1)
            self._executor = cf.ThreadPoolExecutor(k, initializer=_worker_init,
                                                   initargs=(False, barrier))
        else:
            ctx = multiprocessing.get_context(self.start_method)
            barrier = ctx.Barrier(k + 1)
            self._executor = cf.ProcessPoolExecutor(k, mp_context=ctx, initializer=_worker_init,
                                                    initargs=(True, barrier))
        # Each worker blocks in its initializer until all k are up: k submissions therefore
        # start k workers, and the barrier tells us when every one of them is ready.
        futures = [self._executor.submit(_noop) for _ in range(k)]
        try:
            barrier.wait(STARTUP_TIMEOUT_S)
            cf.wait(futures, timeout=STARTUP_TIMEOUT_S)
        except BaseException:
            self.close(kill=True)
            raise

    def map(self, func: Callable[..., Any], tasks: Iterable[Any], *, chunksize: int = 1,
            star: bool = False, timeout: float = DEFAULT_TIMEOUT_S) -> RunResult:
        """Run ``func`` on every task (``func(*task)`` when ``star``) and return results in order."""
        items = list(tasks)
        chunksize = _check_positive_int("chunksize", chunksize)
        timeout = _check_timeout(timeout)
        if self.backend == "processes":
            check_picklable(func, self.start_method or default_start_method())
        elif not callable(func):
            raise TypeError(f"func must be callable, got {func!r}")
        chunks = [items[i:i + chunksize] for i in range(0, len(items), chunksize)]
        t0 = time.perf_counter()
        if self._executor is None:
            if self.backend != "serial":
                raise RuntimeError("this WorkerPool is closed")
            outputs = [_run_chunk(func, chunk, star) for chunk in chunks]
        else:
            outputs = self._submit_and_wait(func, chunks, star, timeout)
        wall = time.perf_counter() - t0
        return _assemble(outputs, t0, wall, self)

    def _submit_and_wait(self, func: Callable[..., Any], chunks: list[list[Any]], star: bool,
                         timeout: float) -> list[tuple[str, list[tuple[Any, float, float]]]]:
        assert self._executor is not None
        _cancelled.clear()
        futures = [self._executor.submit(_run_chunk, func, chunk, star) for chunk in chunks]
        try:
            done, pending = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                exc = failed[0].exception()
                if isinstance(exc, cf.process.BrokenProcessPool):
                    raise WorkerDied(self._death_report()) from exc
                raise exc  # the task's own exception; a process pool attaches the remote traceback
            if pending:
                raise RunTimeout(f"{len(pending)} of {len(chunks)} task chunks unfinished after "
                                 f"{timeout:g} s; the workers were stopped")
            return [f.result() for f in futures]
        except BaseException:
            # A timeout, a failed task, a dead worker or Ctrl-C: stop everything, leave nothing behind.
            _cancelled.set()
            self.close(kill=True)
            raise

    def _death_report(self) -> str:
        codes = []
        for proc in getattr(self._executor, "_processes", {}).values():  # private, but only source
            proc.join(0.5)
            if proc.exitcode not in (None, 0):
                code = proc.exitcode
                codes.append(f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}")
        seen = ", ".join(codes) or "an unknown cause"
        return (f"a process worker ended abruptly ({seen}) while running a task; likely causes: "
                "the task crashed the interpreter (a C extension fault), called os._exit, or was "
                "killed (SIGKILL is how the out-of-memory killer ends a process). "
                "The pool was shut down; the next run starts a fresh one.")

    def close(self, *, kill: bool = False) -> None:
        """Shut the workers down; ``kill=True`` terminates process workers instead of waiting."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if kill:
            processes = list(getattr(executor, "_processes", {}).values())
            for proc in processes:
                if proc.is_alive():
                    proc.terminate()
            for proc in processes:
                proc.join(2.0)
                if proc.is_alive():
                    proc.kill()
                    proc.join(2.0)
            executor.shutdown(wait=False, cancel_futures=True)
        else:
            executor.shutdown(wait=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close(kill=exc_info[0] is not None)


def _assemble(outputs: list[tuple[str, list[tuple[Any, float, float]]]], t0: float, wall: float,
              pool: WorkerPool) -> RunResult:
    results: list[Any] = []
    spans: list[TaskSpan] = []
    ids: dict[str, int] = {}
    # Number workers in the order they first started a task, so row 0 of a timeline is the first.
    first_start = {}
    for worker, records in outputs:
        if records:
            first_start[worker] = min(first_start.get(worker, records[0][1]), records[0][1])
    for worker in sorted(first_start, key=first_start.get):
        ids[worker] = len(ids)
    for worker, records in outputs:
        for value, start, end in records:
            spans.append(TaskSpan(len(results), ids[worker], start - t0, end - t0))
            results.append(value)
    return RunResult(results, spans, wall, pool.backend, pool.workers, pool.start_method,
                     pool.startup_s, list(ids))


def run_tasks(func: Callable[..., Any], tasks: Iterable[Any], *, backend: str = "serial",
              workers: int = 1, start_method: str | None = None, chunksize: int = 1,
              star: bool = False, timeout: float = DEFAULT_TIMEOUT_S, warn: bool = True) -> RunResult:
    """Start a pool, run every task, close the pool: the one-call form (lessons 00-06)."""
    tasks = list(tasks)
    _check_positive_int("chunksize", chunksize)
    _check_timeout(timeout)
    if backend == "processes":  # refuse a function workers cannot import before any worker starts
        check_picklable(func, check_start_method(start_method, "processes") or "")
    with WorkerPool(backend, workers, start_method=start_method, warn=warn) as pool:
        return pool.map(func, tasks, chunksize=chunksize, star=star, timeout=timeout)
