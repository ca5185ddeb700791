"""Tasks that fail on purpose, for the fault tests (tests/faults/test_faults.py) and the lessons' demos.

They live in an importable module because spawn and forkserver workers look task functions
up by module name. None of them is useful work.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time

__all__ = [
    "exit_now",
    "raise_value_error",
    "reset_started",
    "segfault",
    "sigkill_self",
    "sleep_then",
    "spin",
    "started_count",
]

_started: list[int] = []  # tasks begun in this process (the threads backend shares it)


def exit_now(code: int) -> None:
    """Leave the worker at once with an exit code, skipping all clean-up, as os._exit does."""
    os._exit(code)


def segfault(_: object = None) -> None:
    """Crash the interpreter with a segmentation fault, as a buggy C extension would."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file for an intended crash
    except (ImportError, ValueError, OSError):
        pass
    import faulthandler

    faulthandler.disable()  # a worker forked from pytest inherits its crash dumper: keep quiet
    ctypes.string_at(0)  # read address 0: SIGSEGV
    os.kill(os.getpid(), signal.SIGSEGV)  # in case the read above did not fault


def sigkill_self(_: object = None) -> None:
    """End this worker with SIGKILL, the way the out-of-memory killer does."""
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)


def raise_value_error(x: object) -> None:
    """Raise ValueError naming the task, from inside a worker."""
    raise ValueError(f"task {x!r} failed on purpose")


def spin(seconds: float) -> int:
    """Keep one core busy for ``seconds`` (pure Python, holds the GIL); record that the task began."""
    _started.append(os.getpid())
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def sleep_then(seconds: float) -> float:
    """Record that the task began, then sleep: a long task that uses no CPU."""
    _started.append(os.getpid())
    time.sleep(seconds)
    return seconds


def started_count() -> int:
    """How many spin/sleep_then tasks began in this process."""
    return len(_started)


def reset_started() -> None:
    """Forget the tasks recorded so far."""
    _started.clear()
