"""Lesson 02's exercise checkers: a Pool in the learner's module, shared memory, a chunksize choice.

Each checker takes what the learner wrote (a module written with ``%%writefile``, by name, or a
number), runs it with a timeout through :mod:`parlab.lessons.check`, compares it with the
serial answer and returns a :class:`check.Verdict`. Tested in ``tests/lessons/l02/test_l02_exercises.py``.

Two checks are this lesson's own: whether the learner's code started any worker process at all
(:class:`_ChildWatch` samples ``multiprocessing.active_children()`` while it runs, so a serial
"parallel" version is named as such even on one core), and which shared-memory blocks it
created and unlinked (:func:`_recording_shared_memory`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import multiprocessing
import multiprocessing.pool
import threading
import time
from collections.abc import Iterator
from multiprocessing import shared_memory
from types import ModuleType
from typing import Any, ClassVar, Self

from parlab import system
from parlab.lessons import check
from parlab.lessons.l02 import tasks as l02_tasks
from parlab.lessons.l02.pools import chunksize_curve
from parlab.results import format_seconds
from parlab.workloads import fib

__all__ = ["EXERCISE_1", "EXERCISE_2", "EXERCISE_3", "check_chunksize", "check_pool", "check_shared_memory"]

EXERCISE_1 = "Exercise 1: a pool in your own module"
EXERCISE_2 = "Exercise 2: share an array instead of sending it"
EXERCISE_3 = "Exercise 3: pick the chunksize"

POOL_HANG_HINT = ("multiprocessing.Pool waits for ever when its workers cannot import the function they "
                  "were sent, such as one defined in the notebook (__main__) under spawn: put the function "
                  "in the module you wrote with %%writefile and pass that one to the pool.")
LEFT_RUNNING = ("worker processes were still running after {what} returned: shut the pool down with a "
                "`with` block (or close() and join()) before returning.")


def _load(exercise: str, module: object, needs: tuple[str, ...]) -> ModuleType | check.Verdict:
    """The learner's module, imported afresh (the %%writefile cell may have changed it), or a verdict."""
    if isinstance(module, ModuleType):
        module = module.__name__
    if not isinstance(module, str) or not module.isidentifier():
        return check.wrong(exercise, f"pass the module's name as a string, such as 'my_pool', not {module!r}.")
    try:
        loaded = importlib.import_module(module)
        loaded = importlib.reload(loaded)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        return check.wrong(exercise, f"there is no module {module!r} next to the notebook.",
                           hint=f"Run the %%writefile {module}.py cell above first: it writes the file.")
    except Exception as error:  # noqa: BLE001 (the learner's import error is the verdict)
        failed = check.Outcome(error=error, traceback=check.learner_traceback(error))
        found = check.failure(exercise, failed, f"importing {module}")
        assert found is not None
        return found
    missing = [name for name in needs if not callable(getattr(loaded, name, None))]
    if missing:
        return check.wrong(exercise, f"{module} has no function {', '.join(missing)}.",
                           hint="Keep the names the cell gave you: the check calls them.")
    return loaded


class _ChildWatch:
    """Samples multiprocessing's children while the learner's code runs: did it start any?"""

    def __init__(self, interval_s: float = 0.005) -> None:
        self._before = {p.pid for p in multiprocessing.active_children()}
        self.pools_before = {id(pool) for pool in check.sandbox.live_pools()}
        self._interval = interval_s
        self._stop = threading.Event()
        self.seen: set[int | None] = set()
        self._thread = threading.Thread(target=self._run, name="parlab-child-watch", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.seen.update(p.pid for p in multiprocessing.active_children() if p.pid not in self._before)
            self._stop.wait(self._interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def still_running(self, grace_s: float = 1.0) -> list[int | None]:
        """New children still alive ``grace_s`` after the learner's code returned."""
        deadline = time.monotonic() + grace_s
        while True:
            alive = [p.pid for p in multiprocessing.active_children() if p.pid not in self._before]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.02)


def _left_behind(exercise: str, watch: _ChildWatch, what: str) -> check.Verdict | None:
    alive = watch.still_running()
    if not alive:
        return None
    check.stop_pools(watch.pools_before)  # a Pool replaces a worker terminated alone: stop the pool
    for p in multiprocessing.active_children():
        if p.pid in alive:
            p.terminate()
            p.join(5)
    return check.wrong(exercise, f"{len(alive)} " + LEFT_RUNNING.format(what=what),
                       hint="`with multiprocessing.get_context('spawn').Pool(workers) as pool:` stops them "
                            "when the block ends.", details="The checker stopped them.")


def check_pool(module: object, workers: int | None = None, *, timeout_s: float = 60.0,
               cores: int | None = None) -> check.Verdict:
    """Exercise 1: ``module.run_with_pool(tasks, workers)`` right, in worker processes, faster than serial.

    ``workers`` defaults to the usable cores, at most 4 (the speed check asks for a third of
    the ideal gain); ``cores`` overrides the usable cores for the speed check.
    """
    loaded = _load(EXERCISE_1, module, ("run_with_pool", "sum_of_squares"))
    if isinstance(loaded, check.Verdict):
        return loaded
    fn = loaded.run_with_pool
    if check.is_placeholder(fn):
        return check.not_answered(EXERCISE_1, "write run_with_pool in the %%writefile cell above, run that "
                                              "cell, then run this one again.")
    workers = min(system.usable_cores(), 4) if workers is None else int(workers)
    tasks = [2_000_000] * (6 * workers)  # about 1.8 s serial here: enough to amortise spawning the pool
    expected = [sum(i * i for i in range(n)) for n in tasks[:1]] * len(tasks)
    if [loaded.sum_of_squares(n) for n in tasks[:1]] != expected[:1]:
        return check.wrong(EXERCISE_1, "sum_of_squares no longer gives the sum of i * i for i below n.",
                           hint="Leave the given task function as it was; write only run_with_pool.")
    with _ChildWatch() as watch:
        outcome = check.call(fn, tasks, workers, timeout_s=timeout_s)
    found = check.failure(EXERCISE_1, outcome, "run_with_pool")
    if found is not None:
        if outcome.timed_out or isinstance(outcome.error, TimeoutError | multiprocessing.TimeoutError):
            found = dataclasses.replace(found, hint=POOL_HANG_HINT + (" " + found.hint if found.hint else ""))
        return found
    left = _left_behind(EXERCISE_1, watch, "run_with_pool")
    if left is not None:
        return left
    got = outcome.value
    if not isinstance(got, list | tuple):
        return check.wrong(EXERCISE_1, f"run_with_pool returned a {type(got).__name__}, not a list of results.",
                           hint="Return what pool.map (or map_async(...).get) gives back.")
    same = check.same_results(EXERCISE_1, list(got), expected, "run_with_pool's result")
    if same is not None:
        return same
    if not watch.seen:
        return check.wrong(EXERCISE_1, "the results are right, but no worker process was started: "
                                       "run_with_pool computed them in the notebook's own process.",
                           hint="Hand the tasks to a Pool: pool.map_async(sum_of_squares, tasks).get(timeout=...).")

    learners = functools.partial(check.rerun, EXERCISE_1, fn, tasks, workers, expected=expected,
                                 what="run_with_pool's result", timeout_s=timeout_s)
    # Timed beside a known-good spawn pool: it tells a busy machine from a version that is not parallel.
    return check.timed_speed(EXERCISE_1, lambda: [loaded.sum_of_squares(n) for n in tasks], learners, workers,
                             reference=lambda: _known_good_pool(tasks, workers, timeout_s), cores=cores,
                             what="run_with_pool")


def _known_good_pool(tasks: list[int], workers: int, timeout_s: float) -> list[int]:
    """``tasks`` on a known-good spawn pool, start-up included, as the learner's pool starts."""
    with multiprocessing.get_context("spawn").Pool(processes=workers) as pool:
        return list(pool.map_async(l02_tasks.sum_of_squares, tasks).get(timeout=timeout_s))


class _Recorded(shared_memory.SharedMemory):
    """SharedMemory that notes, in the checker's process, which blocks were created and unlinked."""

    created: ClassVar[list[tuple[str, int]]] = []
    unlinked: ClassVar[list[str]] = []

    def __init__(self, name: str | None = None, create: bool = False, size: int = 0, **kwargs: Any) -> None:
        super().__init__(name, create, size, **kwargs)
        if create:
            _Recorded.created.append((self.name, self.size))

    def unlink(self) -> None:
        _Recorded.unlinked.append(self.name)
        super().unlink()


@contextlib.contextmanager
def _recording_shared_memory() -> Iterator[type[_Recorded]]:
    """Swap the standard class for :class:`_Recorded` while the learner's module is loaded and runs."""
    original = shared_memory.SharedMemory
    _Recorded.created, _Recorded.unlinked = [], []
    shared_memory.SharedMemory = _Recorded  # type: ignore[misc]
    try:
        yield _Recorded
    finally:
        shared_memory.SharedMemory = original  # type: ignore[misc]


def _unlink_left(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            block = shared_memory.SharedMemory(name=name)
            block.close()
            block.unlink()


def check_shared_memory(module: object, workers: int | None = None, *, timeout_s: float = 60.0) -> check.Verdict:
    """Exercise 2: ``module.sum_with_shared_memory(array, workers)`` sums in workers through a shared block."""
    import numpy as np

    with _recording_shared_memory() as recorded:
        loaded = _load(EXERCISE_2, module, ("sum_with_shared_memory", "block_sum"))
        if isinstance(loaded, check.Verdict):
            return loaded
        fn = loaded.sum_with_shared_memory
        if check.is_placeholder(fn) or check.is_placeholder(loaded.block_sum):
            return check.not_answered(EXERCISE_2, "write block_sum and sum_with_shared_memory in the %%writefile "
                                                  "cell above, run that cell, then run this one again.")
        workers = min(system.usable_cores(), 4) if workers is None else int(workers)
        array = np.random.default_rng(3).integers(0, 1000, 2_000_000)
        expected = int(array.sum())
        with _ChildWatch() as watch:
            outcome = check.call(fn, array, workers, timeout_s=timeout_s)
    created = [name for name, _ in recorded.created]
    left = [name for name in created if name not in recorded.unlinked]
    _unlink_left(left)
    found = check.failure(EXERCISE_2, outcome, "sum_with_shared_memory")
    if found is not None:
        return found
    running = _left_behind(EXERCISE_2, watch, "sum_with_shared_memory")
    if running is not None:
        return running
    got = outcome.value
    if isinstance(got, bool) or not isinstance(got, int | np.integer):
        return check.wrong(EXERCISE_2, f"sum_with_shared_memory returned a {type(got).__name__}, not a whole number.",
                           hint="Add up the workers' sums and return that total (an int).")
    if int(got) != expected:
        return check.wrong(EXERCISE_2, "the total differs from array.sum().",
                           hint="Do the ranges cover every row exactly once? Does each worker read its own range?",
                           details=f"yours:  {int(got)}\nserial: {expected}")
    if not created:
        return check.wrong(EXERCISE_2, "the total is right, but no shared-memory block was created: the array "
                                       "travelled some other way (pickled) or was summed here.",
                           hint="shared_memory.SharedMemory(create=True, size=array.nbytes), then copy the array in.")
    if max(size for _, size in recorded.created) < array.nbytes:
        return check.wrong(EXERCISE_2, f"the shared block is smaller than the array's {array.nbytes:,} bytes.",
                           hint="Create it with size=array.nbytes.")
    if left:
        return check.wrong(EXERCISE_2, "the total is right, but the shared block was never unlinked: it would "
                                       "outlive your program and hold its memory until the machine restarts.",
                           hint="Call shm.close() and shm.unlink() in a finally block.",
                           details="The checker unlinked it for you.")
    if not watch.seen:
        return check.wrong(EXERCISE_2, "the total is right, but no worker process was started: the sum was "
                                       "computed in the notebook's own process.",
                           hint="Map block_sum over the ranges with a ProcessPoolExecutor.")
    return check.right(EXERCISE_2, "the total is right, the workers read it from a shared block, and the block "
                                   "was unlinked.",
                       details=f"{array.nbytes:,} bytes shared with {workers} workers; total {expected}; "
                               f"{format_seconds(outcome.seconds)} including the pool's start-up.")


CHOICES = (1, 8, 64, 512)


def check_chunksize(chunksize: object, workers: int | None = None, *, tolerance: float = 1.5) -> check.Verdict:
    """Exercise 3: the learner's chunksize for 2000 tasks of fib(10) runs within ``tolerance`` × the fastest."""
    if check.is_placeholder(chunksize):
        return check.not_answered(EXERCISE_3, "set my_chunksize to a whole number, then run this cell again.")
    if isinstance(chunksize, bool) or not isinstance(chunksize, int) or not 1 <= chunksize <= 2000:
        return check.wrong(EXERCISE_3, f"a chunksize is a whole number of tasks from 1 to 2000, not {chunksize!r}.")
    workers = system.usable_cores() if workers is None else int(workers)
    sizes = tuple(sorted({*CHOICES, chunksize}))
    curve = chunksize_curve(fib, [10] * 2000, sizes, workers=workers)
    times = {size: t.median for size, t in zip(curve.chunksizes, curve.timings, strict=True)}
    fastest = min(times.values())
    details = "\n".join(f"chunksize {size:>4}: {format_seconds(t)}" + ("  ← yours" if size == chunksize else "")
                        for size, t in times.items())
    details += f"\nserial loop:    {format_seconds(curve.serial.median)}"
    ratio = times[chunksize] / fastest
    if ratio <= tolerance:
        return check.right(EXERCISE_3, f"your chunksize ran within {tolerance:g} times the fastest here.",
                           details=f"chunksize {chunksize} ran within {tolerance:g} times the fastest.\n{details}")
    return check.wrong(EXERCISE_3, f"chunksize {chunksize} took {ratio:.1f} times as long as the fastest here.",
                       hint=("Too small a chunk pays the sending overhead once per task; too large leaves "
                             "workers idle. Pool.map's rule is tasks ÷ (4 × workers)."),
                       details=details)

