"""Every argument check in parlab, one policy: a wrong type is a TypeError, a wrong value a
ValueError, and both name what is allowed.

Private; ``parlab.run``, ``parlab.launch`` and ``parlab.mpi`` re-export the public names. Each
public entry point checks its arguments once, at its edge, before any worker, child or server
starts, so a mistake costs nothing but the message.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import math
import numbers
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Sized
from typing import Any, TypeGuard

from parlab.system import available_memory_bytes, available_start_methods, default_start_method, usable_cores

BACKENDS = ("serial", "threads", "processes", "interpreters")  # what parlab.run runs tasks on
# The interpreters backend runs on concurrent.futures.InterpreterPoolExecutor, new in Python 3.14.
INTERPRETERS_PYTHON = (3, 14)
START_METHODS = ("fork", "spawn", "forkserver")
# Default timeouts, one name per meaning; every one is finite and at most MAX_TIMEOUT_S.
POOL_TIMEOUT_S = 600.0   # one WorkerPool.map or run_tasks call
CHILD_TIMEOUT_S = 120.0  # one child program started by parlab.launch
MPI_TIMEOUT_S = 60.0     # one mpiexec job (lesson 05's programs take seconds)
MAX_TIMEOUT_S = 86400.0  # a day: nothing in parlab waits without a limit
HOSTFILE_RANK_CAP = 1024  # ranks accepted with a hostfile: the other machines' cores are unknown here
BYTES_PER_PROCESS_WORKER = 30 * 2**20  # resident size of a fresh worker interpreter, measured
MAX_TASKS = 1_000_000  # beyond this, per-task overhead dwarfs any lesson; use bigger tasks
MEMORY_FRACTION = 0.8  # leave a fifth of the free memory to everything else on the machine
ALWAYS_ALLOWED_BYTES = 16 * 2**20  # any machine that runs Python has this much to spare
BYTES_PER_TASK = 400  # the task, its result, its TaskSpan and list slots: a rough lower bound


class NotEnoughMemory(ValueError):
    """A requested size would need more memory than is available; refused before allocating."""


def max_workers_allowed() -> int:
    """The largest worker count accepted: generous enough to show oversubscription."""
    return max(64, 8 * usable_cores())


def _is_int(value: object) -> TypeGuard[numbers.Integral]:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)  # numpy ints count


def check_workers(workers: object) -> int:
    """Return ``workers`` as an int from 1 to max_workers_allowed(), or raise naming what is allowed."""
    return check_whole("workers", workers, 1, max_workers_allowed())


def check_choice(name: str, value: object, choices: tuple[str, ...], sep: str = ";") -> str:
    """Return ``value`` if it is one of ``choices``, else raise naming them all."""
    message = f"{name} must be one of {', '.join(choices)}{sep} got {value!r}"
    if not isinstance(value, str):
        raise TypeError(message)
    if value not in choices:
        raise ValueError(message)
    return value


def interpreters_available() -> bool:
    """True where ``concurrent.futures.InterpreterPoolExecutor`` exists (Python 3.14 and newer)."""
    return hasattr(concurrent.futures, "InterpreterPoolExecutor")


def available_backends() -> tuple[str, ...]:
    """The backends this Python can run: all of BACKENDS, less interpreters before Python 3.14."""
    return BACKENDS if interpreters_available() else tuple(b for b in BACKENDS if b != "interpreters")


def check_backend(backend: object) -> str:
    """Return ``backend`` if it is one parlab knows and this Python runs, else raise naming the allowed ones."""
    backend = check_choice("backend", backend, BACKENDS)
    if backend == "interpreters" and not interpreters_available():
        needed = ".".join(map(str, INTERPRETERS_PYTHON))
        raise ValueError(f"backend 'interpreters' needs Python {needed} or newer "
                         f"(concurrent.futures.InterpreterPoolExecutor); this is Python "
                         f"{sys.version.split()[0]}: choose from {', '.join(available_backends())}")
    return backend


def check_start_method(start_method: object, backend: str = "processes") -> str | None:
    """Return the start method to use (the platform default for None); None for non-process backends."""
    if start_method is not None and not isinstance(start_method, str):
        raise TypeError(f"start_method must be one of {', '.join(START_METHODS)} or None; "
                        f"got {start_method!r}")
    if backend != "processes":
        if start_method is not None:
            raise ValueError(f"start_method applies to the processes backend only, not {backend!r}: "
                             f"leave it None there (with processes: {', '.join(START_METHODS)} or None)")
        return None
    if start_method is None:
        return default_start_method()
    if start_method not in START_METHODS:
        raise ValueError(f"start_method must be one of {', '.join(START_METHODS)} or None; "
                         f"got {start_method!r}")
    if start_method not in available_start_methods():
        raise ValueError(f"start method {start_method!r} is not available on this platform; "
                         f"available: {', '.join(available_start_methods())}")
    return start_method


def check_size(name: str, value: object, maximum: int | None = None) -> int:
    """Return a count or size as an int >= 1 (<= ``maximum``), or raise naming what is allowed."""
    return check_whole(name, value, 1, maximum)


def check_whole(name: str, value: object, low: int, high: int | None = None, *, what: str = "") -> int:
    """Return ``value`` as an int from ``low`` to ``high`` (no upper limit for None), or raise naming what is allowed.

    ``what`` ends the message with the unit or meaning ("bytes", "round trips", "or None").
    """
    allowed = (f"a whole number from {low:,} to {high:,}" if high is not None
               else f"a whole number >= {low:,}") + (f" {what}" if what else "")
    if not _is_int(value):
        hint = " (convert it with int(...))" if isinstance(value, str) else ""
        raise TypeError(f"{name} must be {allowed}, got {value!r} ({type(value).__name__}){hint}")
    number = int(value)
    if number < low or (high is not None and number > high):
        raise ValueError(f"{name} must be {allowed}, got {number:,}")
    return number


def check_number(name: str, value: object, low: float, high: float, *, what: str = "") -> float:
    """Return ``value`` as a float from ``low`` to ``high`` (ends included), or raise naming the range.

    ``what`` ends the message with the unit or meaning ("seconds", "or None").
    """
    allowed = f"a number from {low:g} to {high:g}" + (f" {what}" if what else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {allowed}, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not low <= number <= high:  # NaN fails too
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return number


def check_flag(name: str, value: object) -> bool:
    """Return ``value`` if it is True or False (not 1, "yes" or None), else raise naming what is allowed."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_function(name: str, value: object, what: str = "") -> Callable[..., Any]:
    """Return ``value`` if it can be called, else raise; ``what`` says what it is called with."""
    if not callable(value):
        raise TypeError(f"{name} must be a function{f' ({what})' if what else ''}, got {value!r}")
    return value


def check_text(name: str, value: object, example: str) -> str:
    """Return ``value`` if it is a string with something besides whitespace in it, else raise."""
    allowed = f"a non-empty string, e.g. {example}"
    if not isinstance(value, str):
        raise TypeError(f"{name} must be {allowed}; got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return value


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.2f} GiB"


def check_memory(nbytes: int, what: str) -> None:
    """Refuse ``what`` before allocating when its estimate ``nbytes`` exceeds free memory (lessons 01, 03)."""
    if nbytes < ALWAYS_ALLOWED_BYTES:  # reading the free memory would cost more than the size
        return
    available = available_memory_bytes()
    if available is None:  # unknown platform: nothing to compare with
        return
    allowed = int(available * MEMORY_FRACTION)
    if nbytes > allowed:
        raise NotEnoughMemory(
            f"{what} needs about {_gib(nbytes)}, but only {_gib(available)} of memory is free here; "
            f"allowed: up to {_gib(allowed)} ({MEMORY_FRACTION:.0%} of the free memory). "
            "Choose a smaller size.")


def check_timeout(timeout: object, name: str = "timeout") -> float:
    """Return ``timeout`` as a float in (0, MAX_TIMEOUT_S], or raise naming what is allowed.

    Capped because subprocess and threading turn a huge or infinite timeout into an
    OverflowError only after the child has started. ``name`` names other durations (lease_s).
    """
    allowed = f"a number of seconds > 0 and <= {MAX_TIMEOUT_S:g} (a day)"
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        hint = ("; None (wait forever) is not allowed" if timeout is None
                else " (convert it with float(...))" if isinstance(timeout, str) else "")
        raise TypeError(f"{name} must be {allowed}, got {timeout!r} ({type(timeout).__name__}){hint}")
    try:
        seconds = float(timeout)
    except OverflowError:  # an int beyond float's range: too long, like inf
        seconds = math.inf
    if not 0 < seconds <= MAX_TIMEOUT_S:  # also refuses nan and inf
        raise ValueError(f"{name} must be {allowed}, got {timeout!r}")
    return seconds


def check_pool(backend: object, workers: object, start_method: object) -> tuple[str, int, str | None]:
    """Every check a pool's arguments need, done once: (backend, workers, resolved start method)."""
    backend = check_backend(backend)
    count = check_workers(workers)
    method = check_start_method(start_method, backend)
    if backend == "serial" and count != 1:
        raise ValueError(f"the serial backend runs with workers=1, got {count}")
    if backend == "processes":
        assert method is not None
        check_main_script(method)
        check_memory(count * BYTES_PER_PROCESS_WORKER, f"{count} process workers (about 30 MiB each)")
    return backend, count, method


def max_ranks(hostfile: bool = False) -> int:
    """The largest -n accepted: 4 × usable cores (at least 8) here, more with a hostfile (lesson 05)."""
    # Beyond a few ranks per core a single machine measures its scheduler, not the program.
    return HOSTFILE_RANK_CAP if hostfile else max(8, 4 * usable_cores())


def check_ranks(ranks: object, hostfile: bool = False) -> int:
    """Return ``ranks`` as an int from 1 to max_ranks(), or raise TypeError/ValueError (lesson 05)."""
    return check_whole("ranks", ranks, 1, max_ranks(hostfile))


def check_tasks(tasks: object, star: object) -> list[Any]:
    """Return the tasks as a list: an iterable of at least 1 and at most MAX_TASKS tasks."""
    allowed = f"a list (or other iterable) of 1 to {MAX_TASKS:,} tasks, e.g. [30, 31, 32] or range(8)"
    if isinstance(tasks, (str, bytes, bytearray, memoryview)) or not isinstance(tasks, Iterable):
        hint = "; to pass one buffer or string as a task, wrap it: [data]" if isinstance(
            tasks, (str, bytes, bytearray, memoryview)) else ""
        raise TypeError(f"tasks must be {allowed}; got {type(tasks).__name__}{hint}")
    check_flag("star", star)
    if isinstance(tasks, Sized):
        try:
            count = len(tasks)
        except OverflowError:  # len(range(10**20))
            count = MAX_TASKS + 1
        if count > MAX_TASKS:
            raise ValueError(f"tasks must be {allowed}; got {count:,} tasks")
        check_memory(count * BYTES_PER_TASK, f"{count:,} tasks")
    items = list(itertools.islice(tasks, MAX_TASKS + 1))  # an endless generator stops here
    if len(items) > MAX_TASKS:
        raise ValueError(f"tasks must be {allowed}; got more than {MAX_TASKS:,}")
    if not items:
        raise ValueError(f"tasks must be {allowed}; got none")
    if star:
        for i, item in enumerate(items):
            if isinstance(item, (str, bytes)) or not isinstance(item, Iterable):
                raise TypeError(f"star=True calls func(*task), so every task must be a tuple of "
                                f"arguments; task {i} is {item!r}")
    return items


def check_main_script(start_method: str) -> None:
    # spawn and forkserver workers re-run the parent's main script before anything else; a
    # main "script" that is not a file (python - < file) breaks every worker at start.
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if (start_method != "fork" and path is not None and getattr(main, "__spec__", None) is None
            and not os.path.isfile(path)):
        raise RuntimeError(f"{start_method} workers start by re-running the main script, but "
                           f"{path!r} is not a file; save the code in a .py file, run it with "
                           "python -m, or use start_method='fork' where available")


def check_picklable(func: object, start_method: str, workers: str = "process workers") -> None:
    """Refuse, before any worker starts, a function that process (or subinterpreter) workers could not import."""
    if not callable(func):
        raise TypeError(f"func must be callable (a function), got {func!r}")
    main = sys.modules.get("__main__")
    in_unimportable_main = (getattr(func, "__module__", None) == "__main__"
                            and getattr(main, "__file__", None) is None)
    if start_method != "fork" and in_unimportable_main:
        raise TypeError(
            f"{getattr(func, '__qualname__', func)!r} is defined in a notebook cell (module "
            f"__main__); {start_method} {workers.split()[-1]} start a fresh interpreter and look functions up "
            "by module name, so they cannot find it. Put it in an importable module (like "
            "parlab.workloads) and import it from there.")
    try:
        pickle.dumps(func)
    except Exception as exc:  # noqa: BLE001 (PicklingError, AttributeError, TypeError, or what a __reduce__ raises)
        raise TypeError(
            f"{func!r} cannot be sent to {workers} ({exc}). They receive the "
            "function by pickling its module and name: use a function defined with def at the "
            "top level of an importable module, not a lambda or a nested function.") from None


def check_sendable(task: Any) -> None:
    try:
        pickle.dumps(task)
    except Exception as exc:  # noqa: BLE001 (whatever pickling raises, the task cannot be sent)
        raise TypeError(f"task 0 ({type(task).__name__}) cannot be sent to process workers ({exc}); "
                        "tasks must be picklable: numbers, strings, bytes, tuples, lists, arrays") from None


def check_call(func: object, backend: str, start_method: str | None) -> None:
    """Refuse a function the backend's workers could not call."""
    if backend == "processes":
        assert start_method is not None
        check_picklable(func, start_method)
        check_main_script(start_method)
    elif backend == "interpreters":  # each subinterpreter imports the function by name, as spawn does
        check_picklable(func, "subinterpreter", "subinterpreter workers")
        check_main_script("spawn")
    elif not callable(func):
        raise TypeError(f"func must be callable (a function), got {func!r}")
