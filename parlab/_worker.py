"""The worker side of ``parlab.run``'s pools: start-up handshake, parent watchdog, one chunk of tasks.

Private to ``parlab.run``. It lives in its own module so that ``run.py`` stays about the
parent side; process workers import it by name, so it must stay importable and light. Python
3.14's subinterpreters import it too, and numpy and matplotlib cannot load in a
subinterpreter: this module, and what a task's function imports, must stay free of them.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

STARTUP_TIMEOUT_S = 60.0
PARENT_POLL_S = 0.2  # how often an orphaned worker notices that its parent is gone
EXIT_ORPHANED = 70  # exit code of a worker that quit because its parent died

# One thread of numeric work per process worker: k workers each running a BLAS or OpenMP
# library on every core would oversubscribe the machine behind the pool's back.
WORKER_NUMERIC_THREADS = 1
# Read by a library when it loads: they cover every library a task loads after start-up.
THREAD_LIMIT_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
# Names of the BLAS and OpenMP libraries threadpoolctl controls (libopenblas, libscipy_openblas,
# libflexiblas, libblis, libmkl_rt, libgomp, libiomp5, libomp): a cheap test for "any loaded?".
_NUMERIC_LIB = re.compile(r"/[^/\n]*(?:blas|blis|mkl_rt|omp)[^/\n]*$", re.MULTILINE)


def init_thread_worker(ready: Any, go: Any) -> None:
    """Initializer of a thread worker: say "ready", then wait until every worker is."""
    ready.release()
    go.wait(STARTUP_TIMEOUT_S)


def init_interpreter_worker(ready: Any, go: Any) -> None:
    """Initializer of a subinterpreter worker (Python 3.14): the same handshake through interpreter queues.

    ``threading`` primitives cannot be passed to another interpreter (NotShareableError);
    ``concurrent.interpreters`` queues can: each worker puts one item in ``ready`` and takes
    one from ``go``, into which the parent puts one per worker once all are ready.
    """
    ready.put(None)
    go.get(timeout=STARTUP_TIMEOUT_S)


def init_process_worker(ready: Any, go: Any, owner_pid: int, start_method: str) -> None:
    """Initializer of a process worker: ignore Ctrl-C, limit BLAS threads, watch the parent, handshake."""
    # Jupyter's interrupt sends SIGINT to the whole process group: the parent turns it into
    # KeyboardInterrupt and stops the pool; a worker that also raised would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent while it started us
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    limit_numeric_threads(start_method)
    _start_parent_watchdog(owner_pid, start_method)
    ready.release()
    go.wait(STARTUP_TIMEOUT_S)


@contextlib.contextmanager
def numeric_threads_at_start(start_method: str, threads: int = WORKER_NUMERIC_THREADS) -> Iterator[None]:
    """In the parent, around starting process workers: they start with BLAS/OpenMP held to ``threads``.

    A library reads its thread count once, when it loads, so a worker must start with it:
    - spawn (and a fork server started now) execs a fresh interpreter that reads the
      variables set here, also for numpy loaded by re-importing the main script;
    - fork copies libraries the parent already loaded, at the parent's count: they are
      lowered here for the moment of the forks (threadpoolctl), then restored. Lowering them
      in each child instead makes OpenBLAS start a thread there that spins ~0.1 s of CPU;
      this way only the parent's OpenBLAS restarts its threads once (which a fork makes
      it do at its next call anyway), during the start-up that ``startup_s`` reports.
    The parent's variables are restored on leaving; a library the parent loads during these
    few milliseconds would also read them.
    """
    saved = {var: os.environ.get(var) for var in THREAD_LIMIT_VARS}
    os.environ.update(dict.fromkeys(THREAD_LIMIT_VARS, str(threads)))
    try:
        with contextlib.ExitStack() as stack:
            if start_method == "fork" and _numeric_library_loaded():
                try:
                    from threadpoolctl import ThreadpoolController  # lazily: most pools never need it
                except ImportError:  # parlab installed without its dependencies: variables only
                    pass
                else:
                    controller = ThreadpoolController()
                    if any(lib["num_threads"] > threads for lib in controller.info()):
                        stack.enter_context(controller.limit(limits=threads))
            yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def limit_numeric_threads(start_method: str, threads: int = WORKER_NUMERIC_THREADS) -> None:
    """In a worker: hold BLAS/OpenMP libraries to ``threads``, the ones loaded later and any already loaded.

    A library a task loads later reads the variables set here (set, not defaulted: a
    cluster's exported OMP_NUM_THREADS, often the core count, would give k workers x that
    many threads). One already loaded was held at start by ``numeric_threads_at_start``,
    except in a worker of a fork server started earlier by something else, which inherits
    that server's environment and its preloaded ``__main__``: threadpoolctl sets those.
    """
    started_limited = all(os.environ.get(var) == str(threads) for var in THREAD_LIMIT_VARS)
    for var in THREAD_LIMIT_VARS:
        os.environ[var] = str(threads)
    if start_method == "fork" or started_limited or not _numeric_library_loaded():
        return  # nothing loaded at another count: importing threadpoolctl would cost ~5-20 ms
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # parlab installed without its dependencies: the variables still apply
        return
    threadpool_limits(limits=threads)  # not as a context manager: the limit stays for the worker's life


def _numeric_library_loaded() -> bool:
    # Linux lists every mapped shared library in /proc/self/maps (~0.2 ms to read); elsewhere
    # ask threadpoolctl itself.
    try:
        with open("/proc/self/maps") as fh:
            maps = fh.read()
    except OSError:
        return True
    return _NUMERIC_LIB.search(maps) is not None


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


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C that arrives while this thread starts processes; deliver it once they have started.

    Starting a worker through the fork server is a handshake over a socket. A
    KeyboardInterrupt in the middle of it closes the socket half-way, and on Python 3.14 the
    fork server then dies of the ConnectionResetError; every later pool fails to connect to
    it until the interpreter restarts. Starting k processes takes milliseconds, so the
    interrupt waits that long and then arrives as usual (the pool stops its workers). Signal
    handlers can only be set from the main thread; elsewhere nothing is held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            signal.raise_signal(signal.SIGINT)  # as if it came now: the restored handler decides


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
    import multiprocessing  # here, not at the top: a subinterpreter worker imports this module without it

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


def cancelled(cancel: Any) -> bool:
    """Has the parent asked this run to stop? ``cancel`` is a threading.Event (threads) or, for
    subinterpreters, a ``concurrent.interpreters`` queue that holds an item once it has."""
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return not cancel.empty()


def run_chunk(func: Callable[..., Any], items: Sequence[Any], star: bool,
              cancel: Any = None) -> tuple[str, list[tuple[Any, float, float]]]:
    """Run ``func`` on each item, timing each; stop between tasks once ``cancel`` is set (see cancelled)."""
    worker = f"{os.getpid()}:{threading.get_ident()}"
    out = []
    for item in items:
        # Threads cannot be killed, nor can a subinterpreter's running task be interrupted:
        # after a timeout or Ctrl-C they stop here, between tasks, cooperatively.
        if cancel is not None and cancelled(cancel):
            break
        t0 = time.perf_counter()
        value = func(*item) if star else func(item)
        out.append((value, t0, time.perf_counter()))
    return worker, out


def run_chunk_lean(func: Callable[..., Any], items: Sequence[Any], star: bool,
                   cancel: Any = None) -> tuple[str, list[Any], float, float]:
    """Run ``func`` on each item and time the chunk as a whole: two clock reads per chunk, not per task.

    The values alone travel back, as with a bare executor's ``map``; the chunk's span is its
    first start and last end.
    """
    worker = f"{os.getpid()}:{threading.get_ident()}"
    t0 = time.perf_counter()
    if cancel is None:  # process workers: nothing to check between tasks
        values = [func(*item) for item in items] if star else [func(item) for item in items]
    else:
        values = []
        for item in items:
            if cancelled(cancel):  # threads and subinterpreters stop here, as in run_chunk
                break
            values.append(func(*item) if star else func(item))
    return worker, values, t0, time.perf_counter()


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
    return (f"exit code {code}", (f"the task called os._exit({code}), or compiled code called exit() "
                                  "(sys.exit() in a task comes back as an exception instead)"))
