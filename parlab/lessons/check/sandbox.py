"""The sandbox: the learner's code run with a timeout, and how each run ended.

:func:`call` runs a function in a daemon thread; :func:`run_script` runs a program from an
argument list in its own process group (``parlab.launch``). An exception comes back with the
learner's own traceback; a hang is named. Processes the learner started are stopped; a thread
cannot be stopped in Python, so it is left as a daemon and the verdict says when the kernel
must be restarted.
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
import multiprocessing.pool
import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from parlab import launch
from parlab._checks import check_timeout
from parlab.lessons.check.verdicts import RESTART, Verdict, same_results
from parlab.results import format_seconds

__all__ = [
    "CLOCK", "Outcome", "call", "failure", "learner_traceback", "live_pools", "rerun", "run_script", "stop_pools",
]

# The clock that times the learner's code in call() and every side in timed_speed(): one clock,
# so that a test can replace it (a clock that ticks once per run: every run equally long).
CLOCK: Callable[[], float] = time.perf_counter


@dataclass(frozen=True)
class Outcome:
    """How a call of the learner's code ended."""

    value: Any = None
    error: BaseException | None = None
    traceback: str = ""
    timed_out: bool = False
    seconds: float = 0.0
    timeout_s: float = 0.0
    stopped: tuple[int, ...] = ()  # pids of the learner's processes stopped after a timeout
    in_thread: bool = True  # False for a program run by run_script

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out


def learner_traceback(error: BaseException) -> str:
    """The traceback without this module's own frames: what the learner's code did."""
    here = os.path.abspath(__file__)
    frames = [f for f in traceback.extract_tb(error.__traceback__) if os.path.abspath(f.filename) != here]
    lines = traceback.format_list(frames) if frames else []
    lines += traceback.format_exception_only(type(error), error)
    return "Traceback (most recent call last):\n" + "".join(lines) if frames else "".join(lines)


_POOLS = (multiprocessing.pool.Pool, ProcessPoolExecutor)


def _is_pool(obj: object) -> bool:
    try:
        return isinstance(obj, _POOLS)
    except ReferenceError:  # a weakref proxy whose object is gone (a freed Numba function leaves one)
        return False


def live_pools() -> list[Any]:
    """The process pools alive now (``multiprocessing`` pools and ``ProcessPoolExecutor``s)."""
    return [o for o in gc.get_objects() if _is_pool(o)]


def stop_pools(before: set[int]) -> None:
    """Stop the pools created since ``before`` (ids), so that they start no new workers.

    A ``multiprocessing.Pool`` replaces a worker that dies, so its workers alone cannot be
    stopped; it is terminated, each in a thread bounded by a timeout.
    """
    for pool in [p for p in live_pools() if id(p) not in before]:
        if isinstance(pool, ProcessPoolExecutor):
            stop = functools.partial(pool.shutdown, wait=False, cancel_futures=True)
        else:
            stop = pool.terminate
        worker = threading.Thread(target=stop, name="parlab-check-stop", daemon=True)
        worker.start()
        worker.join(5)


def _stop_children(before: set[int]) -> list[int]:
    """Terminate, then kill, the multiprocessing children started since ``before``."""
    new = [p for p in multiprocessing.active_children() if p.pid not in before]
    for p in new:
        p.terminate()
    for p in new:
        p.join(2)
        if p.is_alive():
            p.kill()
            p.join(2)
    return [p.pid for p in new if p.pid is not None]


def call(fn: Callable[..., Any], *args: Any, timeout_s: float = 10.0, **kwargs: Any) -> Outcome:
    """Run ``fn(*args, **kwargs)`` in a daemon thread, waiting at most ``timeout_s`` seconds.

    An exception is caught and kept with the learner's traceback. On a timeout, the
    multiprocessing children started during the call (pool workers) are stopped; the thread
    itself cannot be stopped and keeps running as a daemon.
    """
    if not callable(fn):
        raise TypeError(f"call needs a function, not {type(fn).__name__}")
    timeout_s = check_timeout(timeout_s)
    before = {p.pid for p in multiprocessing.active_children() if p.pid is not None}
    pools_before = {id(p) for p in live_pools()}
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 (the learner's error is the verdict, SystemExit included)
            box["error"] = error

    thread = threading.Thread(target=target, name="parlab-check", daemon=True)
    start = CLOCK()
    thread.start()
    thread.join(timeout_s)
    seconds = CLOCK() - start
    if thread.is_alive():
        started = {p.pid for p in multiprocessing.active_children() if p.pid is not None and p.pid not in before}
        stop_pools(pools_before)
        stopped = tuple(sorted(started.union(_stop_children(before))))
        return Outcome(timed_out=True, seconds=seconds, timeout_s=timeout_s, stopped=stopped)
    error = box.get("error")
    if error is not None:
        return Outcome(error=error, traceback=learner_traceback(error), seconds=seconds, timeout_s=timeout_s)
    return Outcome(value=box.get("value"), seconds=seconds, timeout_s=timeout_s)


def rerun(exercise: str, fn: Callable[..., Any], *args: Any, expected: object, what: str,
          timeout_s: float = 10.0) -> Verdict | Outcome:
    """One more :func:`call` of code that was already found right, for :func:`timed_speed`.

    Its :class:`Outcome`, or the verdict when this run failed or gave other results (a tuple
    or a generator counts as the list it holds).
    """
    outcome = call(fn, *args, timeout_s=timeout_s)
    got = outcome.value
    if outcome.ok and not isinstance(got, list | str | bytes | dict) and hasattr(got, "__iter__"):
        got = list(got)
    return failure(exercise, outcome, what) or same_results(exercise, got, expected, what) or outcome


def run_script(argv: Sequence[str], *, timeout_s: float = 30.0, cwd: str | os.PathLike[str] | None = None,
               env: Mapping[str, str] | None = None) -> Outcome:
    """Run a program from an argument list in its own process group (``launch.Child``); stop it on timeout.

    ``value`` is the :class:`parlab.launch.Completed` (return code, output) when it ended in time.
    """
    if isinstance(argv, str) or not argv or not all(isinstance(a, str | os.PathLike) for a in argv):
        raise TypeError("run_script needs a non-empty list of arguments (no shell strings), "
                        f"e.g. [sys.executable, 'child.py'], not {argv!r}")
    timeout_s = check_timeout(timeout_s)
    child = launch.start([os.fspath(a) for a in argv], env=None if env is None else dict(env), cwd=cwd)
    try:
        done = child.wait(timeout_s, check=False)
    except launch.ChildTimeout as stopped:
        return Outcome(timed_out=True, seconds=stopped.completed.wall_s, timeout_s=timeout_s,
                       stopped=(child.pid,), in_thread=False)
    return Outcome(value=done, seconds=done.wall_s, timeout_s=timeout_s, in_thread=False)


def _hint_for(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    if "Can't get attribute" in text or ("__main__" in text and "attribute" in text):
        return ("A spawn or forkserver worker starts a fresh Python that cannot see functions defined "
                "in the notebook: put the worker function in a module (%%writefile) and import it.")
    if "BrokenProcessPool" in text or "terminated abruptly" in text:
        return ("A worker process died. Under spawn, a worker that cannot import its function dies "
                "this way: keep worker functions in a module you import.")
    if isinstance(error, NameError):
        return "A name is not defined: run the cells above this one first, and check the spelling."
    return ""


def failure(exercise: str, outcome: Outcome, what: str) -> Verdict | None:
    """The error or timeout verdict for ``outcome``; ``None`` when the call returned."""
    if outcome.timed_out and not outcome.in_thread:
        return Verdict(exercise, "timeout", f"{what} did not finish within {format_seconds(outcome.timeout_s)}.",
                       hint=("Something waits forever: a deadlock (each side waiting for the other), an "
                             "endless loop, or a read from a server or queue that never answers."),
                       details="The program and the processes it started were stopped.")
    if outcome.timed_out:
        return Verdict(exercise, "timeout",
                       f"{what} did not finish within {format_seconds(outcome.timeout_s)}.",
                       hint=("Something waits forever: a deadlock (a lock taken twice, two sides each "
                             "waiting for the other), an endless loop, a queue.get or join that never "
                             "returns, or a pool worker that cannot find its function."),
                       details=(f"{len(outcome.stopped)} worker process(es) it started were stopped. "
                                if outcome.stopped else "")
                       + "A thread cannot be stopped in Python: it keeps running in the background. " + RESTART)
    if outcome.error is not None:
        return Verdict(exercise, "error", f"{what} raised {type(outcome.error).__name__}.",
                       details=outcome.traceback, hint=_hint_for(outcome.error))
    return None
