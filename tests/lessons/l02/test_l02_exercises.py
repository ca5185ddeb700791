"""Lesson 02's exercise checkers accept the solutions and reject the mistakes learners make.

Each test writes a learner's module into a temporary folder on sys.path (as %%writefile writes
one next to the notebook) and checks the verdict's status and the words the learner would see.
The speed check is left out of the "right" cases (``cores=1``): this machine is shared.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import multiprocessing.reduction
import sys
import textwrap
from multiprocessing import shared_memory

import pytest

from parlab.lessons.l02 import exercises as ex
from parlab.lessons.l02.watch import ChildWatch

_names = itertools.count()

POOL_HEAD = '''
import multiprocessing


def sum_of_squares(n):
    return sum(i * i for i in range(n))

'''

SHARED_HEAD = '''
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import shared_memory

import numpy as np


def block_sum(name, shape, dtype, start, stop):
    shm = shared_memory.SharedMemory(name=name)
    try:
        array = np.ndarray(shape, dtype=dtype, buffer=shm.buf)
        total = int(array[start:stop].sum())
        del array
        return total
    finally:
        shm.close()


def _ranges(array, workers):
    edges = np.linspace(0, len(array), workers + 1).astype(int).tolist()
    return edges[:-1], edges[1:]

'''

SHARED_SOLUTION = '''
def sum_with_shared_memory(array, workers):
    shm = shared_memory.SharedMemory(create=True, size=array.nbytes)
    try:
        view = np.ndarray(array.shape, dtype=array.dtype, buffer=shm.buf)
        view[:] = array
        del view
        starts, stops = _ranges(array, workers)
        n = len(starts)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as executor:
            return sum(executor.map(block_sum, [shm.name] * n, [array.shape] * n, [array.dtype.str] * n,
                                    starts, stops{OFFSET}, timeout=120))
    finally:
        shm.close()
        {UNLINK}
'''


@pytest.fixture(autouse=True)
def small_pool_tasks(monkeypatch):
    """Tasks a tenth of exercise 1's size: no test here times the pool on the real clock (each passes
    cores=1 or a fake clock), and every verdict comes from the same code path at either size."""
    monkeypatch.setattr(ex, "POOL_TASK_N", ex.POOL_TASK_N // 10)


@pytest.fixture
def learner(tmp_path, monkeypatch):
    """Write a learner's module (a fresh name each time) where spawn workers find it too; return its name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(source: str) -> str:
        name = f"learner_l02_{next(_names)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        return name

    yield write
    for name in [m for m in sys.modules if m.startswith("learner_l02_")]:
        del sys.modules[name]


# --------------------------------------------------------------------------- exercise 1

@pytest.mark.slow
def test_pool_solution_is_right(learner):
    name = learner(POOL_HEAD + '''
def run_with_pool(tasks, workers):
    with multiprocessing.get_context("spawn").Pool(processes=workers) as pool:
        return pool.map_async(sum_of_squares, tasks).get(timeout=120)
''')
    verdict = ex.check_pool(name, workers=2, cores=1)
    assert verdict.status == "right", str(verdict)
    assert "only correctness was checked" in verdict.headline
    assert not multiprocessing.active_children()


def test_pool_placeholder_is_not_answered(learner):
    name = learner(POOL_HEAD + '''
def run_with_pool(tasks, workers):
    """Return the results."""
    ...
''')
    verdict = ex.check_pool(name)
    assert verdict.status == "not answered"
    assert "write run_with_pool" in verdict.headline


def test_pool_missing_module_names_the_writefile_cell():
    verdict = ex.check_pool("no_such_learner_module_l02")
    assert verdict.status == "wrong"
    assert "%%writefile no_such_learner_module_l02.py" in verdict.hint


@pytest.mark.slow
def test_pool_serial_version_is_named_serial(learner):
    name = learner(POOL_HEAD + '''
def run_with_pool(tasks, workers):
    return [sum_of_squares(n) for n in tasks]
''')
    verdict = ex.check_pool(name, workers=2, cores=1)
    assert verdict.status == "wrong"
    assert "no worker process was started" in verdict.headline


@pytest.mark.slow
def test_pool_wrong_results_are_named(learner):
    name = learner(POOL_HEAD + '''
def run_with_pool(tasks, workers):
    with multiprocessing.get_context("spawn").Pool(processes=workers) as pool:
        return pool.map_async(sum_of_squares, [n - 1 for n in tasks]).get(timeout=120)
''')
    verdict = ex.check_pool(name, workers=2, cores=1)
    assert verdict.status == "wrong"
    assert "differs from the serial result at position 0" in verdict.headline


@pytest.mark.slow
def test_pool_left_running_is_named(learner):
    # A pool kept for reuse and never closed (a pool that is only dropped is stopped when
    # Python collects it, so the check would not see it).
    name = learner(POOL_HEAD + '''
POOL = None


def run_with_pool(tasks, workers):
    global POOL
    POOL = multiprocessing.get_context("spawn").Pool(processes=workers)
    return POOL.map_async(sum_of_squares, tasks).get(timeout=120)
''')
    verdict = ex.check_pool(name, workers=2, cores=1)
    assert verdict.status == "wrong"
    assert "still running" in verdict.headline and "with" in verdict.hint
    assert not multiprocessing.active_children()


@pytest.mark.slow
def test_pool_function_from_main_under_spawn_names_the_module_fix(learner, monkeypatch):
    # A function defined in the notebook lives in __main__: spawn workers cannot find it, so
    # Pool never answers; the learner's own timeout ends the wait.
    import __main__

    def notebook_square(n: int) -> int:
        return n * n

    notebook_square.__module__ = "__main__"
    notebook_square.__qualname__ = "notebook_square_l02"
    monkeypatch.setattr(__main__, "notebook_square_l02", notebook_square, raising=False)
    name = learner(POOL_HEAD + '''
import __main__


def run_with_pool(tasks, workers):
    with multiprocessing.get_context("spawn").Pool(processes=workers) as pool:
        return pool.map_async(__main__.notebook_square_l02, tasks).get(timeout=4)
''')
    verdict = ex.check_pool(name, workers=1, cores=1, timeout_s=60)
    assert verdict.status == "error", str(verdict)
    assert "TimeoutError" in verdict.headline
    assert "__main__" in verdict.hint and "module" in verdict.hint


@pytest.mark.slow
def test_pool_hang_times_out(learner):
    name = learner(POOL_HEAD + '''
import threading


def run_with_pool(tasks, workers):
    threading.Event().wait(20)
''')
    verdict = ex.check_pool(name, workers=1, cores=1, timeout_s=1)
    assert verdict.status == "timeout"
    assert "did not finish within" in verdict.headline
    assert "module" in verdict.hint


# --------------------------------------------------------------------------- exercise 2

def _shared(learner, offset: str = "", unlink: str = "shm.unlink()") -> str:
    return learner(SHARED_HEAD + SHARED_SOLUTION.replace("{OFFSET}", offset).replace("{UNLINK}", unlink))


def test_shared_memory_solution_is_right(learner):
    verdict = ex.check_shared_memory(_shared(learner), workers=2)
    assert verdict.status == "right", str(verdict)
    assert shared_memory.SharedMemory is not ex._Recorded  # the standard class is back


def test_shared_memory_placeholder_is_not_answered(learner):
    name = learner(SHARED_HEAD + '''
def sum_with_shared_memory(array, workers):
    """Return the total."""
    # 1. create the block
    ...
''')
    verdict = ex.check_shared_memory(name)
    assert verdict.status == "not answered"


def test_shared_memory_never_unlinked_is_named_and_cleaned(learner):
    verdict = ex.check_shared_memory(_shared(learner, unlink="pass"), workers=2)
    assert verdict.status == "wrong"
    assert "never unlinked" in verdict.headline and "finally" in verdict.hint


def test_shared_memory_pickled_instead_is_named(learner):
    name = learner(SHARED_HEAD + '''
def _part(block):
    return int(block.sum())


def sum_with_shared_memory(array, workers):
    starts, stops = _ranges(array, workers)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as executor:
        return sum(executor.map(_part, [array[a:b] for a, b in zip(starts, stops)], timeout=120))
''')
    verdict = ex.check_shared_memory(name, workers=2)
    assert verdict.status == "wrong"
    assert "no shared-memory block was created" in verdict.headline


def test_shared_memory_wrong_ranges_are_named(learner):
    # Every range starts one row late: one row per range is never counted.
    verdict = ex.check_shared_memory(_shared(learner, offset=", [1] * n"), workers=2)
    assert verdict.status in ("wrong", "error"), str(verdict)


def test_shared_memory_off_by_one_total_is_wrong(learner):
    name = learner(SHARED_HEAD + SHARED_SOLUTION.replace("{OFFSET}", "").replace("{UNLINK}", "shm.unlink()")
                   .replace("return sum(", "return 1 + sum("))
    verdict = ex.check_shared_memory(name, workers=2)
    assert verdict.status == "wrong"
    assert "differs from array.sum()" in verdict.headline


# --------------------------------------------------------------------------- exercise 1: more answers

@pytest.mark.parametrize("body", [
    # ProcessPoolExecutor with a spawn context, its map read into a list
    """
from concurrent.futures import ProcessPoolExecutor


def run_with_pool(tasks, workers):
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as executor:
        return list(executor.map(sum_of_squares, tasks, timeout=120))
""",
    # an explicit close() and join(), and starmap over one-item tuples
    """
def run_with_pool(tasks, workers):
    pool = multiprocessing.get_context("spawn").Pool(workers)
    try:
        return pool.starmap_async(sum_of_squares, [(n,) for n in tasks]).get(timeout=120)
    finally:
        pool.close()
        pool.join()
""",
    # submit, then each future's result, in order
    """
from concurrent.futures import ProcessPoolExecutor


def run_with_pool(tasks, workers):
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as executor:
        futures = [executor.submit(sum_of_squares, n) for n in tasks]
        return [f.result(timeout=120) for f in futures]
""",
])
@pytest.mark.slow
def test_pool_other_right_ways_are_right(learner, body):
    verdict = ex.check_pool(learner(POOL_HEAD + body), workers=2, cores=1)
    assert verdict.status == "right", str(verdict)


@pytest.mark.slow
def test_pool_on_threads_is_named_threads(learner):
    name = learner(POOL_HEAD + """
from multiprocessing.pool import ThreadPool


def run_with_pool(tasks, workers):
    with ThreadPool(workers) as pool:
        return pool.map(sum_of_squares, tasks)
""")
    verdict = ex.check_pool(name, workers=2, cores=1)
    assert verdict.status == "wrong", str(verdict)
    assert "ran them on threads, not processes" in verdict.headline and "GIL" in verdict.hint


def test_pool_lazy_imap_is_named(learner):
    name = learner(POOL_HEAD + """
def run_with_pool(tasks, workers):
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return pool.imap(sum_of_squares, tasks)
""")
    verdict = ex.check_pool(name, workers=2, cores=1)
    assert verdict.status == "wrong", str(verdict)
    assert "returned a IMapIterator, not a list of results" in verdict.headline
    assert "holds no results yet" in verdict.hint


# --------------------------------------------------------------------------- exercise 2: more answers

def test_shared_memory_block_made_but_rows_still_pickled_is_named(learner):
    # The block is created and unlinked, but each task still gets a slice of the array.
    name = learner(SHARED_HEAD + """
def _part(rows):
    return int(rows.sum())


def sum_with_shared_memory(array, workers):
    shm = shared_memory.SharedMemory(create=True, size=array.nbytes)
    try:
        view = np.ndarray(array.shape, dtype=array.dtype, buffer=shm.buf)
        view[:] = array
        starts, stops = _ranges(array, workers)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as executor:
            total = sum(executor.map(_part, [view[a:b] for a, b in zip(starts, stops)], timeout=120))
        del view
        return total
    finally:
        shm.close()
        shm.unlink()
""")
    verdict = ex.check_shared_memory(name, workers=2)
    assert verdict.status == "wrong", str(verdict)
    assert "the rows were still pickled and sent to the workers" in verdict.headline
    assert "SharedMemory(name=name)" in verdict.hint


def test_shared_memory_on_threads_is_named_threads(learner):
    name = learner(SHARED_HEAD + """
from concurrent.futures import ThreadPoolExecutor


def sum_with_shared_memory(array, workers):
    shm = shared_memory.SharedMemory(create=True, size=array.nbytes)
    try:
        view = np.ndarray(array.shape, dtype=array.dtype, buffer=shm.buf)
        view[:] = array
        del view
        starts, stops = _ranges(array, workers)
        with ThreadPoolExecutor(workers) as executor:
            return sum(executor.map(block_sum, [shm.name] * workers, [array.shape] * workers,
                                    [array.dtype.str] * workers, starts, stops))
    finally:
        shm.close()
        shm.unlink()
""")
    verdict = ex.check_shared_memory(name, workers=2)
    assert verdict.status == "wrong", str(verdict)
    assert "on threads, not processes" in verdict.headline


def test_shared_memory_summed_in_the_notebook_is_named(learner):
    name = learner(SHARED_HEAD + """
def sum_with_shared_memory(array, workers):
    shm = shared_memory.SharedMemory(create=True, size=array.nbytes)
    try:
        view = np.ndarray(array.shape, dtype=array.dtype, buffer=shm.buf)
        view[:] = array
        total = int(view.sum())
        del view
        return total
    finally:
        shm.close()
        shm.unlink()
""")
    verdict = ex.check_shared_memory(name, workers=2)
    assert verdict.status == "wrong", str(verdict)
    assert "no worker process was started" in verdict.headline


def test_shared_memory_submit_and_explicit_shutdown_is_right(learner):
    name = learner(SHARED_HEAD + """
def sum_with_shared_memory(array, workers):
    shm = shared_memory.SharedMemory(create=True, size=array.nbytes)
    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        np.ndarray(array.shape, dtype=array.dtype, buffer=shm.buf)[:] = array
        starts, stops = _ranges(array, workers)
        futures = [executor.submit(block_sum, shm.name, array.shape, array.dtype, a, b)
                   for a, b in zip(starts, stops)]
        return sum(f.result(timeout=120) for f in futures)
    finally:
        executor.shutdown()
        shm.close()
        shm.unlink()
""")
    verdict = ex.check_shared_memory(name, workers=2)
    assert verdict.status == "right", str(verdict)
    assert "bytes pickled to the workers" in verdict.details


def test_shared_memory_counts_what_is_pickled_and_puts_pickling_back():
    original = multiprocessing.reduction.ForkingPickler.__dict__["dumps"]
    with ex._counting_pickled() as sent:
        multiprocessing.reduction.ForkingPickler.dumps(b"x" * 1000)
    assert sent[0] > 1000
    assert multiprocessing.reduction.ForkingPickler.__dict__["dumps"] is original


# --------------------------------------------------------------------------- exercise 3

def _fake_runs(monkeypatch, seconds_for):
    """A clock that runs only in the checker's runs: the serial loop takes 2 s, a chunksize seconds_for(size)."""
    now = [0.0]
    monkeypatch.setattr(ex.check.sandbox, "CLOCK", lambda: now[0])

    def spin(n):
        now[0] += 1e-4  # 20,000 tasks: 2 s serially
        return n

    def pool_map(pool, tasks, size, timeout_s):
        now[0] += seconds_for(size)
        return list(tasks)

    monkeypatch.setattr(ex.l02_tasks, "spin", spin)
    monkeypatch.setattr(ex, "_pool_map", pool_map)


def test_chunksize_placeholder_and_bad_values():
    assert ex.check_chunksize(...).status == "not answered"
    for bad in ("big", 2500.0, 0, -8, True):
        verdict = ex.check_chunksize(bad, workers=2, cores=1)
        assert verdict.status == "wrong" and "a chunksize is a whole number of tasks" in verdict.headline


@pytest.mark.parametrize(("size", "workers", "words"), [
    (20_000, 2, "makes only 1 chunk(s) of 20,000 tasks for 2 workers: 1 worker(s) get no work at all"),
    (10_000, 3, "makes only 2 chunk(s) of 20,000 tasks for 3 workers: 1 worker(s) get no work at all"),
    (10_000, 2, "deals the work out unevenly"),
    (5_000, 4, "deals the work out unevenly"),
])
def test_chunksize_plan_that_leaves_workers_idle_is_wrong_without_a_clock(size, workers, words):
    verdict = ex.check_chunksize(size, workers=workers, cores=1)
    assert verdict.status == "wrong", str(verdict)
    assert words in verdict.headline and "tasks ÷ (4 × workers)" in verdict.hint


def test_chunk_plan_deals_chunks_to_the_worker_free_first():
    plan = ex.chunk_plan(2, 2, [1, 1, 1, 1, 10, 10])
    assert (plan.chunks, plan.busy_workers) == (3, 2)
    assert plan.busiest_share == pytest.approx(22 / 12)  # chunk 3 (20) goes to worker 0, after its 2
    assert ex.chunk_plan(1, 2, [1] * 4).busiest_share == 1.0


def test_chunksize_too_small_is_wrong_when_a_known_good_one_is_fast(monkeypatch):
    _fake_runs(monkeypatch, lambda size: 4.0 if size < 10 else 1.0)
    verdict = ex.check_chunksize(1, workers=2, cores=2)
    assert verdict.status == "wrong", str(verdict)
    assert "chunksize 1 ran only 0.50×" in verdict.headline and "once per task" in verdict.hint


def test_chunksize_on_a_busy_machine_is_not_checked(monkeypatch):
    _fake_runs(monkeypatch, lambda size: 4.0)  # the known-good chunksize misses too
    verdict = ex.check_chunksize(1, workers=2, cores=2)
    assert verdict.status == "not checked" and "too busy to judge the speed" in verdict.headline
    verdict.must_be_right()


@pytest.mark.parametrize("size", [max(1, 20_000 // (4 * 2)), math.ceil(20_000 / 16), 1000])
def test_chunksize_right_choices_are_right(monkeypatch, size):
    _fake_runs(monkeypatch, lambda size: 4.0 if size < 10 else 1.0)
    verdict = ex.check_chunksize(size, workers=2, cores=2)
    assert verdict.status == "right", str(verdict)
    assert "your chunksize gives every worker its share of the work, and the pool ran it" in verdict.headline
    assert str(size) not in verdict.headline and f"chunksize {size}" in verdict.details  # the answer stays folded


@pytest.mark.slow
def test_chunksize_runs_for_real_on_a_started_pool():
    verdict = ex.check_chunksize(2500, workers=2, cores=1)
    assert verdict.status == "right", str(verdict)
    assert "only correctness was checked" in verdict.headline and "8 chunk(s) for 2 workers" in verdict.details
    assert not multiprocessing.active_children()


@pytest.mark.slow
def test_pool_on_a_busy_machine_is_not_checked_and_a_serial_version_still_fails(learner, monkeypatch):
    # Every run takes as long on this clock, the known-good pool's too: the machine could show
    # no speedup just now, so a right pool is "not checked", neither blamed nor passed.
    ticks = itertools.count()
    monkeypatch.setattr(ex.check.sandbox, "CLOCK", lambda: float(next(ticks)))
    name = learner(POOL_HEAD + '''
def run_with_pool(tasks, workers):
    with multiprocessing.get_context("spawn").Pool(processes=workers) as pool:
        return pool.map_async(sum_of_squares, tasks).get(timeout=120)
''')
    verdict = ex.check_pool(name, workers=2, cores=2)
    assert verdict.status == "not checked", str(verdict)
    assert "too busy to judge the speed" in verdict.headline
    verdict.must_be_right()  # a solution cell goes on
    serial = learner(POOL_HEAD + '''
def run_with_pool(tasks, workers):
    return [sum_of_squares(n) for n in tasks]
''')
    assert ex.check_pool(serial, workers=2, cores=2).status == "wrong"  # busy or not: no worker, no pass


def test_shared_memory_worker_from_the_notebook_under_spawn_names_the_module_fix(learner, monkeypatch):
    # block_sum defined in the notebook (__main__): a spawn worker cannot find it and dies.
    import __main__

    def notebook_block_sum(name, shape, dtype, start, stop):
        return 0

    notebook_block_sum.__module__ = "__main__"
    notebook_block_sum.__qualname__ = "notebook_block_sum_l02"
    monkeypatch.setattr(__main__, "notebook_block_sum_l02", notebook_block_sum, raising=False)
    name = learner(SHARED_HEAD + SHARED_SOLUTION.replace("{OFFSET}", "").replace("{UNLINK}", "shm.unlink()")
                   .replace("executor.map(block_sum,", "executor.map(__import__('__main__').notebook_block_sum_l02,"))
    verdict = ex.check_shared_memory(name, workers=2)
    assert verdict.status == "error", str(verdict)
    assert "module" in verdict.hint


def test_the_watch_records_every_start_even_a_short_lived_one():
    # A pool whose workers start and finish in a moment is still seen: each start is recorded as
    # it happens (a thread looking every few ms missed them on a busy machine), then put back.
    import threading
    from concurrent.futures import ThreadPoolExecutor

    process_start, thread_start = multiprocessing.process.BaseProcess.start, threading.Thread.start
    with ChildWatch() as watch:
        with ThreadPoolExecutor(2, thread_name_prefix="learner") as pool:
            assert list(pool.map(abs, [-1, -2])) == [1, 2]
        child = multiprocessing.get_context("spawn").Process(target=abs, args=(-1,))
        child.start()
        child.join(60)
    assert child.pid in watch.seen and any(name.startswith("learner") for name in watch.threads), watch.threads
    assert not any(name.startswith("parlab-") for name in watch.threads)
    assert multiprocessing.process.BaseProcess.start is process_start and threading.Thread.start is thread_start
