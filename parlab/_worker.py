"""The worker side of ``parlab.run``'s pools: start-up handshake, parent watchdog, one chunk of tasks.

Private to ``parlab.run``. It lives in its own module so that ``run.py`` stays about the
parent side; process workers import it by name, so it must stay importable and light.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

STARTUP_TIMEOUT_S = 60.0
PARENT_POLL_S = 0.2  # how often an orphaned worker notices that its parent is gone
EXIT_ORPHANED = 70  # exit code of a worker that quit because its parent died

# Workers inherit these so that a numeric library inside a task does not start its own
# threads on every core and oversubscribe the machine behind the pool's back.
THREAD_LIMIT_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def init_thread_worker(ready: Any, go: Any) -> None:
    """Initializer of a thread worker: say "ready", then wait until every worker is."""
    ready.release()
    go.wait(STARTUP_TIMEOUT_S)


def init_process_worker(ready: Any, go: Any, owner_pid: int, start_method: str) -> None:
    """Initializer of a process worker: ignore Ctrl-C, limit BLAS threads, watch the parent, handshake."""
    # Jupyter's interrupt sends SIGINT to the whole process group: the parent turns it into
    # KeyboardInterrupt and stops the pool; a worker that also raised would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent while it started us
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    for var in THREAD_LIMIT_VARS:
        os.environ.setdefault(var, "1")
    _start_parent_watchdog(owner_pid, start_method)
    ready.release()
    go.wait(STARTUP_TIMEOUT_S)


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread while it starts processes, which inherit the block.

    A Ctrl-C in the first milliseconds of a new worker (or of the fork server, which installs
    its own SIG_IGN only once running) would otherwise kill it half-started; the next pool
    then fails with EOFError. The stdlib starts its resource tracker the same way. The parent
    still gets its KeyboardInterrupt: another thread receives the signal, or it waits here.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _start_parent_watchdog(owner_pid: int, start_method: str) -> None:
    # A process-pool worker blocks reading its task queue, and its siblings hold that pipe
    # open too, so it never sees end-of-file when the parent is SIGKILLed (a kernel restart,
    # the OOM killer). Without this thread it would wait forever as an orphan.
    # (prctl(PR_SET_PDEATHSIG) is Linux-only and fires when the parent *thread* that created
    # the worker ends, which may be any short-lived thread: a polling thread is portable.)
    ppid = os.getppid()
    if start_method != "forkserver" and ppid != owner_pid:
        os._exit(EXIT_ORPHANED)  # the parent died before this worker got going
    threading.Thread(target=_watch_parent, args=(ppid, owner_pid), daemon=True,
                     name="parlab-parent-watchdog").start()


def _watch_parent(ppid: int, owner_pid: int) -> None:
    parent = multiprocessing.parent_process()  # its sentinel becomes ready when the parent ends
    while True:
        if parent is not None:
            parent.join(PARENT_POLL_S)
            gone = not parent.is_alive()
        else:
            time.sleep(PARENT_POLL_S)
            gone = False
        # Reparenting catches what the sentinel can miss (another forked process that inherited
        # the sentinel pipe); under forkserver the direct parent is the fork server, so also
        # ask whether the process that owns the pool still exists.
        if gone or os.getppid() != ppid or not _pid_exists(owner_pid):
            os._exit(EXIT_ORPHANED)


def _pid_exists(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def noop() -> None:
    """A task that does nothing: the pool submits one per worker to start them all."""
    return None


def run_chunk(func: Callable[..., Any], items: Sequence[Any], star: bool,
              cancel: threading.Event | None = None) -> tuple[str, list[tuple[Any, float, float]]]:
    """Run ``func`` on each item, timing each; stop between tasks once ``cancel`` is set."""
    worker = f"{os.getpid()}:{threading.get_ident()}"
    out = []
    for item in items:
        # Threads cannot be killed: after a timeout or Ctrl-C they stop here, cooperatively.
        if cancel is not None and cancel.is_set():
            break
        t0 = time.perf_counter()
        value = func(*item) if star else func(item)
        out.append((value, t0, time.perf_counter()))
    return worker, out


_CAUSES = {
    "SIGKILL": "it was killed from outside: on Linux usually by the out-of-memory killer (see "
               "`dmesg`), or by `kill -9`; if the tasks need much memory, use fewer workers or "
               "smaller tasks",
    "SIGSEGV": "a crash inside compiled code (a C extension, ctypes, a bad pointer)",
    "SIGBUS": "a crash inside compiled code (a bad memory access)",
    "SIGABRT": "compiled code aborted (a failed assertion in a C library)",
    "SIGILL": "compiled code ran an illegal instruction (a binary built for another CPU)",
    "SIGFPE": "compiled code divided by zero",
    "SIGTERM": "it was terminated from outside (SIGTERM)",
}


def describe_exit(code: int) -> tuple[str, str]:
    """How a worker ended and its likely cause: ('signal SIGSEGV', 'a crash inside compiled code ...')."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"signal {name}", _CAUSES.get(name, "it was ended by a signal")
    if code == EXIT_ORPHANED:
        return f"exit code {code}", "its parent process was gone"
    return (f"exit code {code}", f"the task called os._exit({code}), or compiled code called exit() "
            "(sys.exit() in a task comes back as an exception instead)")
