"""Lesson 02's exercise checkers: a Pool in the learner's module, shared memory, a chunksize choice.

Each checker takes what the learner wrote (a module written with ``%%writefile``, by name, or a
number), runs it with a timeout through :mod:`parlab.lessons.check`, compares it with the
serial answer and returns a :class:`check.Verdict`. Tested in ``tests/lessons/l02/test_l02_exercises.py``.

Three checks are this lesson's own: whether the learner's code started any worker process at
all (:class:`watch.ChildWatch` records every process and thread started while it runs, so a serial
"parallel" version, or one on threads, is named as such even on one core or a busy machine);
which shared-memory blocks it created and unlinked (:func:`_recording_shared_memory`); and how
many bytes it pickled to its workers (:func:`_counting_pickled`: a version that creates the
block but still sends the rows is named). Exercise 3 judges the learner's chunk plan itself
(do all workers get work, do the unequal chunks leave workers idle: :func:`chunk_plan`) before
it times it beside a known-good chunksize (``check.timed_speed``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import heapq
import importlib
import math
import multiprocessing
import multiprocessing.pool
import multiprocessing.reduction
import numbers
import threading
from collections.abc import Iterator, Sequence
from multiprocessing import shared_memory
from types import ModuleType
from typing import Any, ClassVar

from parlab import system
from parlab.lessons import check
from parlab.lessons.l02 import tasks as l02_tasks
from parlab.lessons.l02.watch import ChildWatch
from parlab.results import format_seconds

__all__ = ["CHUNK_TASKS", "EXERCISE_1", "EXERCISE_2", "EXERCISE_3", "ChunkPlan", "check_chunksize", "check_pool",
           "check_shared_memory", "chunk_plan"]

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


def _left_behind(exercise: str, watch: ChildWatch, what: str) -> check.Verdict | None:
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


POOL_TASK_N = 2_000_000  # exercise 1's task: sum_of_squares(n), about 0.15 s here


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
    tasks = [POOL_TASK_N] * (6 * workers)  # about 1.8 s serial here: enough to amortise spawning the pool
    expected = [sum(i * i for i in range(n)) for n in tasks[:1]] * len(tasks)
    if [loaded.sum_of_squares(n) for n in tasks[:1]] != expected[:1]:
        return check.wrong(EXERCISE_1, "sum_of_squares no longer gives the sum of i * i for i below n.",
                           hint="Leave the given task function as it was; write only run_with_pool.")
    with ChildWatch() as watch:
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
        lazy = hasattr(got, "__next__") or isinstance(got, multiprocessing.pool.AsyncResult)
        return check.wrong(EXERCISE_1, f"run_with_pool returned a {type(got).__name__}, not a list of results.",
                           hint=("That holds no results yet (imap and executor.map give an iterator, map_async an "
                                 "AsyncResult), and the pool is shut when the with block ends: read them inside "
                                 "it, list(...) or map_async(...).get(timeout=...)." if lazy
                                 else "Return what pool.map (or map_async(...).get) gives back."))
    same = check.same_results(EXERCISE_1, list(got), expected, "run_with_pool's result")
    if same is not None:
        return same
    if not watch.seen:
        return _no_processes(EXERCISE_1, watch, "run_with_pool",
                             "Hand the tasks to a Pool: pool.map_async(sum_of_squares, tasks).get(timeout=...).")

    learners = functools.partial(check.rerun, EXERCISE_1, fn, tasks, workers, expected=expected,
                                 what="run_with_pool's result", timeout_s=timeout_s)
    # Timed beside a known-good spawn pool: it tells a busy machine from a version that is not parallel.
    return check.timed_speed(EXERCISE_1, lambda: [loaded.sum_of_squares(n) for n in tasks], learners, workers,
                             reference=lambda: _known_good_pool(tasks, workers, timeout_s), cores=cores,
                             what="run_with_pool")


def _no_processes(exercise: str, watch: ChildWatch, what: str, hint: str) -> check.Verdict:
    """The verdict for right results computed without a worker process: on threads, or in the notebook itself."""
    if watch.threads:
        return check.wrong(exercise, f"the results are right, but {what} ran them on threads, not processes.",
                           hint=("Threads share one interpreter: pure-Python work on them waits for the GIL and "
                                 "runs no faster. Use processes: multiprocessing.get_context('spawn').Pool or "
                                 "ProcessPoolExecutor (not ThreadPool or ThreadPoolExecutor)."),
                           details="threads started: " + ", ".join(sorted(watch.threads)[:6]))
    return check.wrong(exercise, f"the results are right, but no worker process was started: {what} computed "
                                 "them in the notebook's own process.", hint=hint)


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


@contextlib.contextmanager
def _counting_pickled() -> Iterator[list[int]]:
    """Count the bytes multiprocessing pickles in this process (what it sends to workers) while the block runs.

    Every queue and pipe of ``multiprocessing`` and ``concurrent.futures`` pickles through
    ``ForkingPickler.dumps``; yields a one-item list holding the bytes counted so far.
    """
    cls = multiprocessing.reduction.ForkingPickler
    original = cls.__dict__["dumps"]
    sent = [0]
    lock = threading.Lock()

    def dumps(klass: Any, obj: Any, protocol: int | None = None) -> Any:
        data = original.__func__(klass, obj, protocol)
        with lock:
            sent[0] += len(data)
        return data

    cls.dumps = classmethod(dumps)  # type: ignore[method-assign,assignment]
    try:
        yield sent
    finally:
        cls.dumps = original  # type: ignore[method-assign]


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
        with ChildWatch() as watch, _counting_pickled() as sent:
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
        return _no_processes(EXERCISE_2, watch, "sum_with_shared_memory",
                             "Map block_sum over the ranges with a ProcessPoolExecutor.")
    if sent[0] > array.nbytes // 10:
        return check.wrong(EXERCISE_2, f"the total is right, but the rows were still pickled and sent to the "
                                       f"workers: {sent[0]:,} bytes went to them for a {array.nbytes:,}-byte "
                                       "array, although a shared block was created.",
                           hint="Send each task only the block's name, the shape, the dtype and its range of "
                                "rows; block_sum attaches with shared_memory.SharedMemory(name=name) and reads "
                                "its rows from the block. A slice of the array, or of a view on the block, "
                                "is copied when it is sent.",
                           details=f"pickled to the workers: {sent[0]:,} bytes")
    return check.right(EXERCISE_2, "the total is right, the workers read it from a shared block, and the block "
                                   "was unlinked.",
                       details=f"{array.nbytes:,} bytes shared with {workers} workers; total {expected}; "
                               f"{sent[0]:,} bytes pickled to the workers; "
                               f"{format_seconds(outcome.seconds)} including the pool's start-up.")


CHUNK_TASKS = 20_000  # exercise 3: tasks.rising_tasks(), each a little larger than the one before
IDLE_LIMIT = 1.3  # a plan whose busiest worker has 1.3 × its fair share of the work leaves the others idle


@dataclasses.dataclass(frozen=True)
class ChunkPlan:
    """How ``Pool.map`` would deal the tasks out in chunks of ``chunksize`` to ``workers`` (lesson 02)."""

    chunksize: int
    workers: int
    chunks: int
    busy_workers: int  # workers that get at least one chunk
    busiest_share: float  # the busiest worker's work over a fair share (total / workers): 1.0 is even


def chunk_plan(chunksize: int, workers: int, costs: Sequence[float]) -> ChunkPlan:
    """The chunk plan of ``chunksize`` on ``workers``: each chunk, in order, to the worker free first (lesson 02).

    ``costs`` are the tasks' relative costs; this is how a pool deals chunks out (a worker asks for
    the next chunk when it is done with one), so the plan shows idle workers without a clock.
    """
    chunksize, workers = max(1, int(chunksize)), max(1, int(workers))
    chunk_costs = [sum(costs[i:i + chunksize]) for i in range(0, len(costs), chunksize)]
    free = [(0.0, w) for w in range(workers)]
    loads = [0.0] * workers
    for cost in chunk_costs:
        at, w = heapq.heappop(free)
        loads[w] = at + cost
        heapq.heappush(free, (loads[w], w))
    fair = sum(costs) / workers
    return ChunkPlan(chunksize, workers, len(chunk_costs), sum(1 for load in loads if load > 0),
                     max(loads) / fair if fair > 0 else 1.0)


def _pool_map(pool: multiprocessing.pool.Pool, tasks: list[int], chunksize: int, timeout_s: float) -> list[int]:
    return list(pool.map_async(l02_tasks.spin, tasks, chunksize=chunksize).get(timeout=timeout_s))


def check_chunksize(chunksize: object, workers: int | None = None, *, cores: int | None = None,
                    timeout_s: float = 120.0, rounds: int = 3) -> check.Verdict:
    """Exercise 3: the learner's chunksize for :data:`CHUNK_TASKS` rising tasks on ``workers`` processes (lesson 02).

    First the plan (no clock): every worker must get work, and the chunks must not leave workers
    idle while the busiest finishes (:func:`chunk_plan`). Then the time, on a pool started before
    the clock, beside a known-good chunksize (tasks ÷ (4 × workers)) in ``check.timed_speed``: when
    that misses the mark too, the verdict is "not checked", never "wrong".
    """
    if check.is_placeholder(chunksize):
        return check.not_answered(EXERCISE_3, "set my_chunksize to a whole number, then run this cell again.")
    if isinstance(chunksize, bool) or not isinstance(chunksize, numbers.Integral) or chunksize < 1:
        return check.wrong(EXERCISE_3, f"a chunksize is a whole number of tasks, 1 or more, not {chunksize!r}.",
                           hint="Round it to a whole number: int(...) or //.")
    size = int(chunksize)
    cores = system.usable_cores() if cores is None else int(cores)
    workers = min(cores, 8) if workers is None else int(workers)
    tasks = l02_tasks.rising_tasks(CHUNK_TASKS)
    plan = chunk_plan(size, workers, tasks)
    said = (f"chunksize {size}: {plan.chunks} chunk(s) for {workers} workers "
            f"({plan.chunks / workers:.1f} per worker); the busiest worker gets "
            f"{plan.busiest_share:.2f} × its fair share of the work")
    if plan.busy_workers < workers:
        return check.wrong(EXERCISE_3, f"chunksize {size} makes only {plan.chunks} chunk(s) of {len(tasks):,} tasks "
                                       f"for {workers} workers: {workers - plan.busy_workers} worker(s) get no work "
                                       "at all.",
                           hint="A chunk goes to one worker whole: make many more chunks than workers. "
                                "Pool.map's own rule is tasks ÷ (4 × workers).", details=said)
    if plan.busiest_share > IDLE_LIMIT:
        return check.wrong(EXERCISE_3, f"chunksize {size} deals the work out unevenly: the later tasks are larger, "
                                       f"so the worker with the heaviest chunk does {plan.busiest_share:.1f} × its "
                                       "share while the others wait with nothing to do.",
                           hint="With unequal tasks, a few large chunks leave workers idle at the end; several "
                                "chunks per worker even it out. Pool.map's own rule is tasks ÷ (4 × workers).",
                           details=said)
    known_good = max(1, math.ceil(len(tasks) / (4 * workers)))
    expected = [l02_tasks.spin(n) for n in tasks]
    with multiprocessing.get_context("spawn").Pool(processes=workers) as pool:
        _pool_map(pool, tasks[:workers], 1, timeout_s)  # every worker started and ready before any clock
        if _pool_map(pool, tasks, size, timeout_s) != expected:
            raise AssertionError(f"spin over the tasks in chunks of {size} gave other results")  # parlab's own bug

        def learners() -> check.Outcome:
            return check.call(_pool_map, pool, tasks, size, timeout_s, timeout_s=timeout_s)

        verdict = check.timed_speed(EXERCISE_3, lambda: [l02_tasks.spin(n) for n in tasks], learners, workers,
                                    reference=lambda: _pool_map(pool, tasks, known_good, timeout_s), cores=cores,
                                    what=f"chunksize {size}", rounds=rounds)
    details = f"{said}\n{verdict.details}" if verdict.details else said
    if verdict.right:
        timed = ("; " + verdict.headline.split("; ", 1)[1] if "only correctness" in verdict.headline
                 else ", and the pool ran it in parallel.")  # one core: the time shows nothing, and says so
        # The headline names no number: the chosen chunksize is the answer, shown in the folded details.
        return dataclasses.replace(verdict, headline=f"your chunksize gives every worker its share of the "
                                                     f"work{timed}", details=details)
    if verdict.status == "wrong":
        return dataclasses.replace(verdict, hint=("Each chunk costs a round trip to a worker (pickled, sent, "
                                                  "answered): tiny chunks pay it once per task, which costs more "
                                                  "than these small tasks. Pool.map's own rule is tasks ÷ "
                                                  "(4 × workers)."), details=details)
    return dataclasses.replace(verdict, details=details)
