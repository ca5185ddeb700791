"""Lesson 03's exercise checkers: each accepts the solution, says "not answered" to the placeholder,
and rejects realistic wrong answers with words the learner can act on.

Compiled sources are cached by hash (l03_compile.cache_dir), so only a first run pays the
few seconds per build. Speed is never asserted here: the checkers' own verdicts fold a busy
machine into "right" by timing parlab's own threads in the same rounds.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
import textwrap
import time
import types
from concurrent.futures import ThreadPoolExecutor

import pytest

from parlab import system
from parlab.kernels import CYTHON
from parlab.lessons import check
from parlab.lessons.l03 import exercises as ex
from parlab.lessons.l03 import probe
from parlab.lessons.l03.build import cython_ready

# --------------------------------------------------------------------------- exercise 1: the Cython kernel

SOLUTION = '''
# cython: language_level=3, freethreading_compatible=True
def count_primes(long long start, long long stop):
    cdef long long n, d, count = 0
    with nogil:
        for n in range(start, stop):
            if n < 2:
                continue
            d = 2
            while d * d <= n and n % d != 0:
                d += 1
            if d * d > n:
                count += 1
    return count
'''
SCAFFOLD = SOLUTION.replace("with nogil:", "___:").replace("if d * d > n:", "if ___:")
HOLDS_GIL = SOLUTION.replace("with nogil:", "if True:")           # the loop left outside nogil
OFF_BY_ONE = SOLUTION.replace("if d * d > n:", "if d * d >= n:")   # counts 4, 9, 25 ... as primes
PYTHON_INSIDE = SOLUTION.replace("count += 1", "count += len(str(n))")  # a Python call without the GIL


@pytest.fixture
def compiler(require):
    require(not cython_ready(), "a C compiler with Cython and setuptools", cython_ready() or "")


def test_nogil_placeholder_is_not_answered():
    verdict = ex.check_nogil_kernel(SCAFFOLD)
    assert verdict.status == "not answered" and "___" in verdict.headline


def test_nogil_wrong_type_is_wrong():
    verdict = ex.check_nogil_kernel(42)
    assert verdict.status == "wrong" and "string" in verdict.headline


@pytest.mark.slow
def test_nogil_solution_is_right(compiler):
    verdict = ex.check_nogil_kernel(SOLUTION)
    # Right, or on a busy machine "not checked": parlab's own threads missed the mark too.
    assert verdict.status in ("right", "not checked"), str(verdict)
    assert "releases the GIL" in verdict.headline or "known-good" in verdict.details
    assert "primes in" in verdict.details and "interleaved rounds" in verdict.details


@pytest.mark.skipif(not system.gil_enabled(), reason="a free-threaded build reads the source instead")
@pytest.mark.slow
def test_nogil_loop_holding_the_gil_is_wrong(compiler):
    verdict = ex.check_nogil_kernel(HOLDS_GIL)
    assert verdict.status == "wrong", str(verdict)
    assert "holds the GIL" in verdict.headline and "with nogil" in verdict.hint


def test_nogil_wrong_result_is_wrong(compiler):
    verdict = ex.check_nogil_kernel(OFF_BY_ONE)
    assert verdict.status == "wrong" and "differs from the serial result" in verdict.headline


def test_nogil_python_inside_nogil_shows_cythons_message(compiler):
    verdict = ex.check_nogil_kernel(PYTHON_INSIDE)
    assert verdict.status == "wrong"
    assert "Cython could not compile" in verdict.headline
    assert "not allowed without gil" in verdict.details and "C values only" in verdict.hint


def test_nogil_without_the_function_is_wrong(compiler):
    verdict = ex.check_nogil_kernel(SOLUTION.replace("def count_primes", "def count"))
    assert verdict.status == "wrong" and "no function count_primes" in verdict.headline


def test_nogil_without_a_compiler_is_not_checked_and_does_not_raise(monkeypatch):
    from parlab.lessons.l03 import build as l03_compile

    monkeypatch.setattr(l03_compile.system, "find_compiler", lambda: None)
    verdict = ex.check_nogil_kernel(SOLUTION)
    assert verdict.status == "not checked"
    assert verdict.title().endswith("not checked")
    assert "build-essential" in verdict.headline and "xcode-select" in verdict.headline
    assert verdict.must_be_right() is verdict  # a solution cell lets "Run all" go on
    assert str(verdict).startswith(f"{ex.EX_NOGIL}: not checked — not compiled")


def test_loop_inside_nogil_reads_the_indentation():
    assert probe.loop_inside_nogil(SOLUTION)
    assert not probe.loop_inside_nogil(HOLDS_GIL)
    assert not probe.loop_inside_nogil("with nogil:\n    pass\nfor i in range(3):\n    pass\n")


# --------------------------------------------------------------------------- the GIL probe

@pytest.mark.skipif(not system.gil_enabled(), reason="no GIL to hold on a free-threaded build")
def test_probe_tells_a_held_gil_from_a_released_one(require):
    require(CYTHON, "parlab's compiled kernels", "install a C compiler, then pip install -e .")
    from parlab.kernels import count_primes_cython_gil, count_primes_cython_nogil

    span = (10**7, 10**7 + 150_000)
    held = probe.gil_held_share(lambda: count_primes_cython_gil(*span))
    released = probe.gil_held_share(lambda: count_primes_cython_nogil(*span))
    assert held >= probe.HELD_SHARE > released, (held, released)


def test_probe_sees_sleep_as_released():
    assert probe.gil_held_share(lambda: time.sleep(0.1)) < probe.HELD_SHARE


# --------------------------------------------------------------------------- exercise 2: the driver

def placeholder_driver(count, start, stop, workers):
    with ThreadPoolExecutor(max_workers=...) as pool:
        return sum(f.result() for f in [pool.submit(count, ..., ...)])


def solution_driver(count, start, stop, workers):
    step = -(-(stop - start) // workers)
    chunks = [(lo, min(lo + step, stop)) for lo in range(start, stop, step)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(count, lo, hi) for lo, hi in chunks]
        return sum(f.result(timeout=60) for f in futures)


def waits_on_each(count, start, stop, workers):
    """Submits a chunk and waits for it before the next: threads, but one at a time."""
    step = -(-(stop - start) // workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.submit(count, lo, min(lo + step, stop)).result() for lo in range(start, stop, step))


def inclusive_ends(count, start, stop, workers):
    """Thinks of chunks as inclusive: [lo, lo + step - 1) loses the last number of each chunk."""
    step = -(-(stop - start) // workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(count, lo, min(lo + step - 1, stop)) for lo in range(start, stop, step)]
        return sum(f.result() for f in futures)


def one_chunk(count, start, stop, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return pool.submit(count, start, stop).result()


def never_returns(count, start, stop, workers):
    time.sleep(3600)


def test_driver_placeholder_is_not_answered():
    assert ex.check_driver(placeholder_driver).status == "not answered"
    assert ex.check_driver(...).status == "not answered"


@pytest.mark.slow
def test_driver_solution_is_right():
    verdict = ex.check_driver(solution_driver)
    assert verdict.status in ("right", "not checked"), str(verdict)  # not checked: a busy machine
    assert "at once" in verdict.details and "interleaved rounds" in verdict.details


@pytest.mark.slow
def test_driver_on_a_busy_machine_is_not_checked(monkeypatch):
    # Every run takes as long on this clock, parlab's own threads too: no speedup could show.
    ticks = iter(range(10**6))
    monkeypatch.setattr(ex.check.sandbox, "CLOCK", lambda: float(next(ticks)))
    monkeypatch.setattr(ex.system, "usable_cores", lambda: 2)
    verdict = ex.check_driver(solution_driver)
    assert verdict.status == "not checked" and "too busy" in verdict.headline
    assert "at once" in verdict.details and "known-good" in verdict.details


def test_driver_whose_chunks_ran_at_once_is_not_called_slow(monkeypatch):
    # Beside a second test worker on 3.15 a right driver stayed at 1.00x for 6 rounds while
    # parlab's own caught one quiet round: "wrong". Its calls were in flight at once, so the
    # driver is right and the cores were busy: "not checked". (A driver that waits on each
    # chunk never has two in flight and stays wrong: the test below.)
    def held_at_one(exercise, *args, **kwargs):
        return ex.check.wrong(exercise, "the results are right, but count_in_threads ran only 1.00× as fast",
                              details="serial 0.205 s, count_in_threads 0.204 s")

    monkeypatch.setattr(ex.check, "timed_speed", held_at_one)
    verdict = ex.check_driver(solution_driver)
    assert verdict.status == "not checked" and "too busy to judge the speed" in verdict.headline, str(verdict)
    assert "at most 2 at once" in verdict.details and "0.204 s" in verdict.details


@pytest.mark.slow
def test_driver_waiting_on_each_chunk_is_wrong():
    verdict = ex.check_driver(waits_on_each)
    assert verdict.status == "wrong" and "one after another" in verdict.headline
    assert "before you wait" in verdict.hint


def test_driver_losing_numbers_is_wrong_and_names_the_chunks():
    verdict = ex.check_driver(inclusive_ends)
    assert verdict.status == "wrong" and "exactly once" in verdict.headline
    assert "not including" in verdict.hint and "chunks counted" in verdict.details


@pytest.mark.slow
def test_driver_with_a_wrong_sum_is_wrong():
    def doubled(count, start, stop, workers):
        return 2 * solution_driver(count, start, stop, workers)

    verdict = ex.check_driver(doubled)
    assert verdict.status == "wrong" and "differs from the serial result" in verdict.headline


@pytest.mark.slow
def test_driver_with_one_chunk_is_wrong():
    verdict = ex.check_driver(one_chunk)
    assert verdict.status == "wrong" and "chunk of its own" in verdict.headline and "one task per chunk" in verdict.hint


@pytest.mark.slow
def test_driver_that_hangs_times_out(monkeypatch):
    real_call = check.call
    monkeypatch.setattr(check, "call", lambda fn, *a, timeout_s=10.0, **k: real_call(fn, *a, timeout_s=0.5, **k))
    verdict = ex.check_driver(never_returns)
    assert verdict.status == "timeout" and "did not finish" in verdict.headline


def test_driver_error_shows_the_learners_traceback():
    def broken(count, start, stop, workers):
        return count(start)  # one argument short

    verdict = ex.check_driver(broken)
    assert verdict.status == "error" and "TypeError" in verdict.headline and "broken" in verdict.details


# --------------------------------------------------------------------------- exercise 3: hashlib

def test_hashing_placeholder_is_not_answered():
    assert ex.check_hashing(...).status == "not answered"


def test_hashing_needs_true_or_false():
    verdict = ex.check_hashing("yes")
    assert verdict.status == "wrong" and "True or False" in verdict.headline


@pytest.mark.slow
def test_hashing_right_and_wrong_predictions(monkeypatch):
    truth = system.usable_cores() > 1
    right = ex.check_hashing(truth, nbytes=1_000_000)
    assert right.right, str(right)
    assert "released the GIL" in right.details or "without a GIL" in right.details
    wrong = ex.check_hashing(not truth, nbytes=1_000_000)
    assert wrong.status == "wrong" and "does not match" in wrong.headline and wrong.hint


@pytest.mark.slow
def test_hashing_on_one_core_expects_no_speedup(monkeypatch):
    monkeypatch.setattr(ex.system, "usable_cores", lambda: 1)
    verdict = ex.check_hashing(True, nbytes=500_000)
    assert verdict.status == "wrong" and "do not speed up" in verdict.headline
    assert "free core" in verdict.hint
    assert ex.check_hashing(False, nbytes=500_000).right


def test_nogil_module_that_turns_the_gil_back_on_is_wrong(compiler):
    """On a free-threaded build, importing a module without freethreading_compatible turns the GIL on.

    In a child Python: on a real free-threaded build the import turns the GIL on for the rest
    of the process, which would change what later tests measure.
    """
    program = textwrap.dedent(f"""
        import json
        from parlab.lessons.l03 import exercises as ex
        states = iter([False, True])  # off before the import, on after it
        ex.system.gil_enabled = lambda: next(states)
        verdict = ex.check_nogil_kernel({SOLUTION.replace(", freethreading_compatible=True", "")!r})
        print(json.dumps([verdict.status, verdict.headline, verdict.hint]))
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300, check=True)
    status, headline, hint = json.loads(done.stdout.strip().splitlines()[-1])
    assert status == "wrong" and "turned the GIL back on" in headline
    assert "freethreading_compatible=True" in hint and "restart" in hint.lower()


# --------------------------------------------------------------------------- exercise 4: ctypes loaders

@pytest.fixture
def c_library(require):
    """Outside CI a missing C library skips; under CI=true it fails (a broken kernel build must show)."""
    require(ex.CTYPES, "parlab's C library", "install a C compiler, then pip install -e .")


needs_library = pytest.mark.usefixtures("c_library")


def _library():
    from parlab.kernels import library_path

    return str(library_path())


def placeholder_load(loader):
    lib = loader(_library())
    count = lib.parlab_count_primes
    count.argtypes = [..., ...]
    count.restype = ...
    return count


def solution_load(loader):
    lib = loader(_library())
    count = lib.parlab_count_primes
    count.argtypes = [ctypes.c_longlong, ctypes.c_longlong]
    count.restype = ctypes.c_longlong
    return count


def untyped_load(loader):
    return loader(_library()).parlab_count_primes


def int_result_load(loader):
    count = loader(_library()).parlab_count_primes
    count.argtypes = [ctypes.c_longlong, ctypes.c_longlong]
    count.restype = ctypes.c_int
    return count


def always_cdll_load(loader):
    return solution_load(ctypes.CDLL)


def test_ctypes_placeholder_is_not_answered():
    assert ex.check_ctypes(placeholder_load).status == "not answered"
    assert ex.check_ctypes(...).status == "not answered"


@needs_library
@pytest.mark.slow
def test_ctypes_solution_is_right():
    verdict = ex.check_ctypes(solution_load)
    assert verdict.right, str(verdict)
    assert "2**40" in verdict.details
    if system.gil_enabled():
        assert "releases the GIL" in verdict.headline
    else:  # a free-threaded build: nothing to release, and the verdict says so
        assert "with a GIL, CDLL's would release it" in verdict.headline
        assert "This build runs without a GIL" in verdict.details


@needs_library
@pytest.mark.slow
def test_ctypes_without_argtypes_is_wrong():
    verdict = ex.check_ctypes(untyped_load)
    assert verdict.status == "wrong" and "argument types are not declared" in verdict.headline
    assert "c_longlong" in verdict.hint


@needs_library
@pytest.mark.slow
def test_ctypes_int_result_is_wrong():
    verdict = ex.check_ctypes(int_result_load)
    assert verdict.status == "wrong" and "restype is c_int" in verdict.headline


@needs_library
@pytest.mark.slow
def test_ctypes_ignoring_the_loader_is_wrong():
    verdict = ex.check_ctypes(always_cdll_load)
    assert verdict.status == "wrong" and "ignores its argument" in verdict.headline


@pytest.mark.skipif(not system.gil_enabled(), reason="no GIL to hold on a free-threaded build")
@needs_library
@pytest.mark.slow
def test_probe_sees_cdll_release_and_pydll_hold():
    cdll, pydll = solution_load(ctypes.CDLL), solution_load(ctypes.PyDLL)
    span = (10**7, 10**7 + 150_000)
    # The clearest of three readings each: a busy moment can cut one reading short, not three.
    held = max(probe.gil_held_share(lambda: pydll(*span)) for _ in range(3))
    released = min(probe.gil_held_share(lambda: cdll(*span)) for _ in range(3))
    assert held >= probe.HELD_SHARE > released


# --------------------------------------------------------------------------- issue 21: more wrong and right answers

NOT_RIGHT = ("wrong", "error", "timeout")


def test_nogil_more_realistic_wrong_answers(compiler):
    counts_everything = SOLUTION.replace("            if d * d > n:\n                count += 1",
                                         "            count += 1")
    for source, words in ((SOLUTION.replace("count += 1", "count += n"), "differs from the serial result"),
                          (counts_everything, "differs from the serial result"),
                          ("count_primes = 3", "no function count_primes")):
        verdict = ex.check_nogil_kernel(source)
        assert verdict.status in NOT_RIGHT, (source, str(verdict))
        assert words in verdict.headline, str(verdict)


RIGHT_CYTHON_A = '''
# cython: language_level=3, freethreading_compatible=True
cdef bint prime(long long n) noexcept nogil:
    cdef long long d
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    d = 3
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True

def count_primes(long long start, long long stop):
    cdef long long n, total = 0
    with nogil:
        for n in range(start, stop):
            if prime(n):
                total += 1
    return total
'''
RIGHT_CYTHON_B = '''
# cython: language_level=3, freethreading_compatible=True
def count_primes(long long start, long long stop):
    cdef long long n = start
    cdef long long d, found = 0
    cdef bint is_p
    with nogil:
        while n < stop:
            is_p = n >= 2
            d = 2
            while is_p and d * d <= n:
                if n % d == 0:
                    is_p = False
                d += 1
            found += is_p
            n += 1
    return found
'''


@pytest.mark.parametrize("source", [RIGHT_CYTHON_A, RIGHT_CYTHON_B], ids=["helper", "while-loops"])
@pytest.mark.slow
def test_nogil_right_answers_written_differently(compiler, source):
    verdict = ex.check_nogil_kernel(source)
    assert verdict.status in ("right", "not checked"), str(verdict)


def pool_map_driver(count, start, stop, workers):
    edges = [start + (stop - start) * i // workers for i in range(workers + 1)]
    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(count, edges[:-1], edges[1:], timeout=60))


def threads_by_hand_driver(count, start, stop, workers):
    import threading

    step = -(-(stop - start) // workers)
    results = [0] * workers
    def work(i):
        results[i] = count(start + i * step, min(start + (i + 1) * step, stop))
    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(results)


@pytest.mark.parametrize("driver", [pool_map_driver, threads_by_hand_driver], ids=["pool.map", "Thread"])
@pytest.mark.slow
def test_driver_right_answers_written_differently(driver):
    verdict = ex.check_driver(driver)
    assert verdict.status in ("right", "not checked"), str(verdict)


def test_hashing_more_wrong_answers_in_the_learners_words():
    for answer in ("True", 1, 0, "no"):
        verdict = ex.check_hashing(answer, nbytes=500_000)
        assert verdict.status == "wrong" and "True or False" in verdict.headline, answer
        assert "without quotes" in verdict.hint


@pytest.mark.slow
def test_hashing_right_answers_written_differently():
    import numpy as np

    truth = system.usable_cores() > 1
    assert ex.check_hashing(bool(system.usable_cores() >= 2), nbytes=1_000_000).right
    assert ex.check_hashing(np.bool_(truth), nbytes=1_000_000).right


@pytest.mark.slow
def test_hashing_times_at_least_a_quarter_second_of_serial_work():
    verdict = ex.check_hashing(system.usable_cores() > 1, nbytes=1_000_000)
    serial = float(verdict.details.split("serial ")[1].split(" s")[0]) if " s," in verdict.details.split("\n")[0] \
        else float(verdict.details.split("serial ")[1].split(" ms")[0]) / 1000
    assert serial >= 0.2, verdict.details  # 0.25 s planned; a first hash may run a little slower


def c_int_load(loader):
    count = loader(_library()).parlab_count_primes
    count.argtypes = [ctypes.c_int, ctypes.c_int]
    count.restype = ctypes.c_longlong
    return count


def returns_library_load(loader):
    lib = loader(_library())
    lib.parlab_count_primes.argtypes = [ctypes.c_longlong, ctypes.c_longlong]
    lib.parlab_count_primes.restype = ctypes.c_longlong
    return lib


def double_result_load(loader):
    count = solution_load(loader)
    count.restype = ctypes.c_double
    return count


def tuple_int64_load(loader):
    count = loader(_library())["parlab_count_primes"]
    count.argtypes = (ctypes.c_int64, ctypes.c_int64)
    count.restype = ctypes.c_int64
    return count


def c_long_load(loader):
    lib = loader(_library())
    fn = lib.parlab_count_primes
    fn.argtypes = [ctypes.c_long] * 2
    fn.restype = ctypes.c_long
    return fn


@needs_library
@pytest.mark.slow
def test_ctypes_c_int_arguments_are_declared_but_too_small():
    verdict = ex.check_ctypes(c_int_load)
    assert verdict.status == "wrong" and "declared as c_int, c_int" in verdict.headline
    assert "not declared" not in verdict.headline and "c_longlong" in verdict.hint


@needs_library
@pytest.mark.parametrize(("load", "words"), [(returns_library_load, "not the C function"),
                                            (double_result_load, "restype is c_double, so its results")])
def test_ctypes_more_wrong_answers(load, words):
    verdict = ex.check_ctypes(load)
    assert verdict.status in NOT_RIGHT and words in verdict.headline, str(verdict)


@needs_library
@pytest.mark.skipif(ctypes.sizeof(ctypes.c_long) != 8, reason="c_long has 32 bits here (Windows)")
@pytest.mark.parametrize("load", [tuple_int64_load, c_long_load], ids=["tuple of c_int64", "c_long"])
@pytest.mark.slow
def test_ctypes_right_answers_written_differently(load):
    verdict = ex.check_ctypes(load)
    assert verdict.right, str(verdict)


# --------------------------------------------------------------------------- exercise 5: Numba

@pytest.fixture
def jit():
    from parlab.lessons.l03 import numba_kernels

    if numba_kernels.missing():
        pytest.skip(numba_kernels.missing())  # no wheel for some builds (3.13t): expected, not a broken install
    from numba import jit, njit

    return njit, jit


_ALIVE: list[object] = []  # compiled dispatchers that die leave a dead weakref proxy (see exercises._KEPT)


def _body(start, stop):
    count = 0
    for n in range(max(start, 2), stop):
        d = 2
        while d * d <= n and n % d != 0:
            d += 1
        if d * d > n:
            count += 1
    return count


def _copy_of_body():
    """A new function object running _body's code: stand_in_njit marks the function it is given."""
    return types.FunctionType(_body.__code__, _body.__globals__, "_body")


def _map_driver(kernel):
    def drive(start, stop, workers):
        edges = [start + (stop - start) * i // workers for i in range(workers + 1)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return sum(pool.map(kernel, edges[:-1], edges[1:], timeout=60))
    return drive


def test_numba_placeholders_are_not_answered():
    from parlab.lessons.l03.numba_kernels import stand_in_njit

    def blank_driver(start, stop, workers):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return sum(pool.map(..., [start], [stop]))

    assert ex.check_numba(stand_in_njit(nogil=...)(_copy_of_body()), blank_driver).status == "not answered"
    assert ex.check_numba(stand_in_njit(nogil=...)(_copy_of_body()), _map_driver(_body)).status == "not answered"
    assert ex.check_numba(..., ...).status == "not answered"


def test_numba_missing_is_not_checked_with_the_one_message(monkeypatch):
    from parlab.lessons.l03 import numba_kernels

    monkeypatch.setattr(numba_kernels, "missing", lambda: numba_kernels.MISSING)
    verdict = ex.check_numba(numba_kernels.stand_in_njit(nogil=True)(_copy_of_body()), _map_driver(_body))
    assert verdict.status == "not checked" and "Numba is not installed: pip install numba" in verdict.headline
    assert verdict.must_be_right() is verdict


@pytest.mark.slow
def test_numba_solution_is_right(jit):
    njit, _ = jit
    kernel = njit(nogil=True)(_body)
    _ALIVE.append(kernel)
    verdict = ex.check_numba(kernel, _map_driver(kernel))
    assert verdict.status in ("right", "not checked"), str(verdict)
    assert "compiled with nogil=True" in verdict.details and "interleaved rounds" in verdict.details


@pytest.mark.slow
def test_numba_right_answers_written_differently(jit):
    njit, numba_jit = jit

    @numba_jit(nopython=True, nogil=True)
    def odd_divisors(start, stop):  # kept in _ALIVE below
        total = 0
        for n in range(start, stop):
            if n == 2:
                total += 1
            elif n > 2 and n % 2 == 1:
                d = 3
                while d * d <= n and n % d:
                    d += 2
                total += d * d > n
        return total

    def submit_driver(start, stop, workers):
        step = -(-(stop - start) // workers)
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(odd_divisors, lo, min(lo + step, stop)) for lo in range(start, stop, step)]
            return sum(f.result() for f in futures)

    _ALIVE.append(odd_divisors)
    verdict = ex.check_numba(odd_divisors, submit_driver)
    assert verdict.status in ("right", "not checked"), str(verdict)
    eager = njit("int64(int64, int64)", nogil=True)(_body)
    _ALIVE.append(eager)
    verdict = ex.check_numba(eager, _map_driver(eager))
    assert verdict.status in ("right", "not checked"), str(verdict)


def test_numba_wrong_answers_in_the_learners_words(jit):
    njit, numba_jit = jit
    assert not hasattr(_body, "targetoptions")  # no other test has marked it as a stand-in's answer
    plain = ex.check_numba(_body, _map_driver(_body))
    assert plain.status == "wrong" and "plain Python function" in plain.headline and "@njit(nogil=True)" in plain.hint
    for kernel in (njit(_body), njit(nogil=False)(_body), njit(parallel=True)(_body)):
        _ALIVE.append(kernel)
        verdict = ex.check_numba(kernel, _map_driver(kernel))
        assert verdict.status == "wrong" and "without nogil=True" in verdict.headline, str(verdict)
    objmode = numba_jit(forceobj=True, nogil=True)(_body)
    _ALIVE.append(objmode)
    verdict = ex.check_numba(objmode, _map_driver(objmode))
    assert verdict.status == "wrong" and "object mode" in verdict.headline


@pytest.mark.slow
def test_numba_wrong_results_and_drivers(jit):
    njit, _ = jit
    off = njit(nogil=True)(_off_by_one)
    verdict = ex.check_numba(off, _map_driver(off))
    assert verdict.status == "wrong" and "differs from the serial result" in verdict.headline, str(verdict)
    kernel = njit(nogil=True)(_body)
    _ALIVE.extend([off, kernel])

    def drops_the_last_chunk(start, stop, workers):
        edges = [start + (stop - start) * i // workers for i in range(workers + 1)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return sum(pool.map(kernel, edges[:-2], edges[1:-1]))

    verdict = ex.check_numba(kernel, drops_the_last_chunk)
    assert verdict.status == "wrong" and "differs from the serial result" in verdict.headline

    def one_after_another(start, stop, workers):
        edges = [start + (stop - start) * i // workers for i in range(workers + 1)]
        return sum(map(kernel, edges[:-1], edges[1:]))

    verdict = ex.check_numba(kernel, one_after_another)
    assert verdict.status in ("wrong", "not checked"), str(verdict)  # a busy machine cannot judge speed
    if verdict.status == "wrong":
        assert "as fast as the serial code" in verdict.headline


def _off_by_one(start, stop):
    count = 0
    for n in range(max(start, 2), stop):
        d = 2
        while d * d <= n and n % d != 0:
            d += 1
        if d * d >= n:  # counts 4, 9, 25 ... as primes
            count += 1
    return count
