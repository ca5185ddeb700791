"""Lesson 02's exercise checkers accept the solutions and reject the mistakes learners make.

Each test writes a learner's module into a temporary folder on sys.path (as %%writefile writes
one next to the notebook) and checks the verdict's status and the words the learner would see.
The speed check is left out of the "right" cases (``cores=1``): this machine is shared.
"""

from __future__ import annotations

import itertools
import multiprocessing
import sys
import textwrap
from multiprocessing import shared_memory

import pytest

from parlab.lessons.l02 import exercises as ex
from parlab.lessons.l02.pools import ChunkCurve
from parlab.results import Timing

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


def test_pool_serial_version_is_named_serial(learner):
    name = learner(POOL_HEAD + '''
def run_with_pool(tasks, workers):
    return [sum_of_squares(n) for n in tasks]
''')
    verdict = ex.check_pool(name, workers=2, cores=1)
    assert verdict.status == "wrong"
    assert "no worker process was started" in verdict.headline


def test_pool_wrong_results_are_named(learner):
    name = learner(POOL_HEAD + '''
def run_with_pool(tasks, workers):
    with multiprocessing.get_context("spawn").Pool(processes=workers) as pool:
        return pool.map_async(sum_of_squares, [n - 1 for n in tasks]).get(timeout=120)
''')
    verdict = ex.check_pool(name, workers=2, cores=1)
    assert verdict.status == "wrong"
    assert "differs from the serial result at position 0" in verdict.headline


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


# --------------------------------------------------------------------------- exercise 3

def _curve(times: dict[int, float]) -> ChunkCurve:
    return ChunkCurve(Timing((0.05,)), tuple(times), tuple(Timing((t,)) for t in times.values()), 2, 2000, 2)


def test_chunksize_placeholder_and_bad_values():
    assert ex.check_chunksize(...).status == "not answered"
    bad = ex.check_chunksize("big")
    assert bad.status == "wrong" and "whole number" in bad.headline
    assert ex.check_chunksize(0).status == "wrong"


def test_chunksize_near_the_fastest_is_right_and_far_is_wrong(monkeypatch):
    times = {1: 0.40, 8: 0.08, 64: 0.045, 250: 0.042, 512: 0.040}
    monkeypatch.setattr(ex, "chunksize_curve", lambda fn, tasks, sizes, workers: _curve(
        {s: times[s] for s in sizes}))
    good = ex.check_chunksize(250)
    assert good.status == "right" and "within 1.5 times" in good.headline
    assert "← yours" in good.details
    slow = ex.check_chunksize(1)
    assert slow.status == "wrong" and "took 10.0 times as long" in slow.headline
    assert "tasks ÷ (4 × workers)" in slow.hint


def test_chunksize_one_is_wrong_when_measured():
    verdict = ex.check_chunksize(1, workers=2)
    assert verdict.status == "wrong", str(verdict)


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
