"""Lesson 03's kernels: every variant gives the same answer, refuses bad input, releases or holds
the GIL as it claims, stops on Ctrl-C, and the package works without a compiler."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import os
import select
import signal
import sys
import threading
import time

import pytest

from parlab import kernels, launch, system
from parlab.lessons.l03 import kernels as lesson
from parlab.workloads import count_primes

pytestmark = pytest.mark.gil  # rerun with PYTHON_GIL=1 on a free-threaded build (.ci/other-pythons)

BUILD_HOW = "build the kernels: install a C compiler, then `pip install -e .` (see kernels.status())"
RANGES = [(0, 0), (0, 1), (0, 2), (0, 3), (2, 3), (3, 3), (10, 5), (0, 10_000), (7_919, 7_920),
          (10**6, 10**6 + 5_000), (10**12, 10**12 + 300), (10**7, 10**7 + 50_000)]
NAMES = list(kernels.VARIANTS)


@functools.cache
def expected(bounds: tuple[int, int]) -> int:
    """The pure-Python workload's count: the reference every variant must match (computed once)."""
    return count_primes(*bounds)


# --------------------------------------------------------------------------- same results

@pytest.mark.parametrize("bounds", RANGES, ids=str)
@pytest.mark.slow
def test_fallback_counts_like_the_workload(bounds):
    assert kernels.count_primes_python(*bounds) == expected(bounds)


@pytest.mark.compiled
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.slow
def test_every_variant_counts_the_same_primes(compiled, name):
    func = kernels.variant(name).func
    assert kernels.variant(name).compiled == (name != "python")
    for bounds in RANGES:
        assert func(*bounds) == expected(bounds), bounds


@pytest.mark.compiled
def test_a_range_longer_than_one_chunk_sums_exactly(compiled):
    lo = 10**9
    hi = lo + 3 * kernels.chunk_size(lo) + 17  # several chunks and a ragged last one
    want = expected((lo, hi))
    assert {v.func(lo, hi) for v in kernels.compiled_variants()} == {want}
    assert kernels.count_primes_openmp(lo, hi, 2) == want


@pytest.mark.compiled
def test_openmp_variant_counts_the_same(require):
    # Optional on macOS (clang often lacks OpenMP); a Linux CI machine with gcc must have it.
    require(kernels.OPENMP or sys.platform != "linux", "the OpenMP prange kernel", BUILD_HOW)
    if not kernels.OPENMP:
        pytest.skip("OpenMP is not available with this compiler (optional)")
    for bounds in RANGES:
        for threads in (1, 2, 3):
            assert kernels.count_primes_openmp(*bounds, threads) == expected(bounds)
    with pytest.raises(ValueError, match="threads must be"):
        kernels.count_primes_openmp(0, 10, 0)


def test_compiled_functions_survive_pickling_for_process_workers():
    import pickle

    for v in kernels.VARIANTS.values():
        assert pickle.loads(pickle.dumps(v.func))(0, 100) == 25


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad, error, words", [
    ((1.5, 3), TypeError, "whole numbers"), (("0", 4), TypeError, "whole numbers"),
    ((None, 4), TypeError, "whole numbers"), ((-1, 5), ValueError, "0 <= start"),
    ((0, 2**62 + 1), ValueError, "stop <= 2"), ((0, 2**80), ValueError, "stop <= 2"),
    ((-(2**80), 5), ValueError, "0 <= start"),
], ids=str)
def test_bad_input_gets_the_same_clear_error_everywhere(name, bad, error, words):
    with pytest.raises(error, match=words):
        kernels.variant(name).func(*bad)


def test_unknown_variant_lists_the_names():
    with pytest.raises(ValueError, match="cython_nogil"):
        kernels.variant("fortran")


def test_prime_tasks_cover_the_range_without_gaps():
    tasks = kernels.prime_tasks(1_000, tasks=7, start=50)
    assert tasks[0][0] == 50 and tasks[-1][1] == 1_050 and len(tasks) == 7
    assert all(a[1] == b[0] for a, b in itertools.pairwise(tasks))
    for bad in [{"numbers": 0, "tasks": 1}, {"numbers": 5, "tasks": 6}]:
        with pytest.raises(ValueError):
            kernels.prime_tasks(**bad)
    for wrong in [{"numbers": 10, "tasks": True}, {"numbers": 10.0, "tasks": 2}]:
        with pytest.raises(TypeError, match="must be a whole number >= 1"):
            kernels.prime_tasks(**wrong)


# --------------------------------------------------------------------------- the GIL, observed

def _one_native_call(name):
    """A callable whose whole duration is native code of the variant, with a range of ~0.3 s."""
    lo, hi = 10**9, 10**9 + 40_000
    if name.startswith("ctypes"):
        # The ctypes wrappers loop over chunks in Python, and Python may switch threads
        # between two calls; observe one raw library call instead.
        cdll, pydll = kernels._lib
        raw = cdll if name == "ctypes_cdll" else pydll
        return lambda: raw(lo, hi)
    func = kernels.variant(name).func
    return lambda: func(lo, hi)


def _longest_pause_of_a_python_thread(call):
    """Run ``call`` here while another thread runs Python; return (call's duration, that thread's longest pause)."""
    stamps: list[float] = []
    stop, ready = threading.Event(), threading.Event()

    def ticker():
        last = time.perf_counter()
        stamps.append(last)
        ready.set()
        while not stop.is_set():  # pure Python: it needs the GIL for every step
            now = time.perf_counter()
            if now - last >= 0.001:
                stamps.append(now)
                last = now

    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    ready.wait(10)
    time.sleep(0.02)
    t0 = time.perf_counter()
    call()
    t1 = time.perf_counter()
    stop.set()
    thread.join(10)
    points = [t0] + [s for s in stamps if t0 < s < t1] + [t1]
    return t1 - t0, max(b - a for a, b in itertools.pairwise(points))


RELEASING = [n for n in NAMES if n.endswith("nogil") or n == "ctypes_cdll"]
HOLDING = ["cython_gil", "capi_gil", "ctypes_pydll", "python"]


@pytest.mark.compiled
@pytest.mark.parametrize("name", RELEASING)
def test_releasing_variants_let_python_threads_run_during_the_call(compiled, name):
    assert kernels.variant(name).releases_gil
    call = _one_native_call(name)
    for _attempt in range(3):  # a busy machine may pause the other thread; the GIL never lets it run
        duration, pause = _longest_pause_of_a_python_thread(call)
        if pause < 0.5 * duration:
            break
    assert pause < 0.5 * duration, f"a Python thread stalled {pause:.3f} s of a {duration:.3f} s call"


@pytest.mark.compiled
# Pure Python is left out: it holds the GIL too, but lets threads switch every few ms.
@pytest.mark.parametrize("name", [n for n in HOLDING if n != "python"])
def test_holding_variants_stop_python_threads_for_the_whole_call(compiled, name):
    if not system.gil_enabled():
        pytest.skip("this Python runs without a GIL: nothing is held")
    assert not kernels.variant(name).releases_gil
    duration, pause = _longest_pause_of_a_python_thread(_one_native_call(name))
    assert pause > 0.8 * duration, f"a Python thread ran {duration - pause:.3f} s of a {duration:.3f} s call"


@pytest.mark.compiled
@pytest.mark.parametrize("name", ["cython_gil", "capi_gil", "cython_nogil", "capi_nogil"])
@pytest.mark.slow
def test_timelines_overlap_only_when_the_gil_is_released(compiled, name):
    # Each bar is timed from C with the GIL held at both ends, so bars of GIL-holding calls
    # can never overlap; bars of releasing calls on two threads overlap as soon as the OS
    # runs both threads at once (or switches between them mid-call, even on one core). How
    # much they overlap is the machine's business (14% beside two other test runs on 2 cores),
    # so the test asks only whether they overlap at all.
    tasks = kernels.prime_tasks(40_000, tasks=4, start=10**9)
    for _attempt in range(3):
        run = lesson.kernel_timeline(kernels.variant(name).func, tasks, workers=2)
        assert run.results == [expected(t) for t in tasks]
        share = lesson.overlap_fraction(run)
        if kernels.variant(name).releases_gil and share > 0:
            break
    if kernels.variant(name).releases_gil:
        assert share > 0, "calls that release the GIL never overlapped in 3 runs"
    elif system.gil_enabled():
        assert share == 0.0, f"calls that hold the GIL overlapped {share:.0%} of the run"


def test_timed_call_returns_the_result_between_two_clock_readings():
    ticks = iter([1.0, 2.0])
    assert kernels.timed_call(lambda: next(ticks), max, 3, 4) == (4, 1.0, 2.0)
    with pytest.raises(ValueError):
        kernels.timed_call(lambda: 0.0, kernels.count_primes_capi_nogil, -1, 5)


# --------------------------------------------------------------------------- interrupts

@pytest.mark.faults
@pytest.mark.compiled
@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
@pytest.mark.parametrize("call", [f"k.variant({n!r}).func" for n in NAMES] + ["k.count_primes_openmp"])
def test_ctrl_c_stops_a_long_native_call_within_a_second(compiled, call):
    code = ("import parlab.kernels as k; print('ready', flush=True); "
            f"{call}(10**12, 10**12 + 10**9)")
    child = launch.start([sys.executable, "-c", code])
    try:
        ready, _, _ = select.select([child.popen.stdout], [], [], 30)
        assert ready and child.popen.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # inside the native loop by now
        sent = time.perf_counter()
        os.kill(child.pid, signal.SIGINT)
        done = child.wait(timeout=60, check=False)
        took = time.perf_counter() - sent
    finally:
        child.stop()
    assert done.returncode != 0 and "KeyboardInterrupt" in done.stderr, done.stderr[-500:]
    assert took < 3.0, f"the call ran on for {took:.1f} s after Ctrl-C"


# --------------------------------------------------------------------------- without a compiler

def test_without_compiled_kernels_everything_falls_back_with_one_message(tmp_path):
    code = ("import parlab.kernels as k\n"
            "assert not (k.CYTHON or k.CAPI or k.CTYPES or k.OPENMP or k.COMPILED)\n"
            "assert k.compiled_variants() == [] and all(not v.releases_gil for v in k.VARIANTS.values())\n"
            "assert {v.func(10, 1000) for v in k.VARIANTS.values()} == {164}\n"
            "assert k.count_primes_openmp(10, 1000, 2) == 164\n"
            "assert k.timed_call(lambda: 0.5, max, 1, 2) == (2, 0.5, 0.5)\n"
            "from parlab.lessons.l03 import kernels as lesson\n"
            "assert [v.name for v in lesson.sweep_variants()] == ['python']\n"
            "print(k.status())\n")
    # An empty PATH hides the compiler too, as on a machine without one.
    env = {**os.environ, kernels.DISABLE_VAR: "1", "PATH": str(tmp_path)}
    done = launch.run([sys.executable, "-c", code], env=env, timeout=60)
    message = done.stdout
    assert "MISSING" in message and "pure-Python" in message
    for words in ("pip install -e .", "Linux:", "build-essential", "macOS:", "xcode-select --install",
                  "Windows:", "Visual Studio Build Tools", kernels.DISABLE_VAR):
        assert words in message, words


@pytest.mark.compiled
def test_status_says_all_is_built(compiled):
    assert kernels.status().startswith("Compiled kernels: Cython ✓  C API ✓  ctypes library ✓")
    assert kernels.library_path() is not None


def test_compiled_modules_are_marked_free_threading_compatible():
    here = lesson.HERE
    for pyx in ("_cy_primes.pyx", "_cy_openmp.pyx"):
        assert "# cython: freethreading_compatible = True" in (here / pyx).read_text()
    assert "{Py_mod_gil, Py_MOD_GIL_NOT_USED}" in (here / "_capi_primes.c").read_text()
    if system.free_threaded_build() and kernels.COMPILED and os.environ.get("PYTHON_GIL") != "1":
        assert not system.gil_enabled(), "importing the kernels switched the GIL back on"


# --------------------------------------------------------------------------- lesson helpers

@pytest.mark.slow
def test_annotation_marks_the_nogil_kernel_as_pure_c(require):
    require(importlib.util.find_spec("Cython") is not None, "Cython", "pip install cython")
    report = lesson.annotate("_cy_primes.pyx")
    kernel = report.between("cdef bint _is_prime", "    return count")
    assert kernel and all(line.score == 0 for line in kernel)
    assert report.between("def count_primes_gil")[0].score > 0  # a def wrapper talks to Python
    assert "_count_range" in repr(report.view("cdef long long _count_range", "    return count"))


@pytest.mark.slow
def test_cython_refuses_python_objects_without_the_gil(require):
    require(importlib.util.find_spec("Cython") is not None, "Cython", "pip install cython")
    errors = lesson.cython_errors("def f(items):\n    cdef long n = 0\n    with nogil:\n"
                                  "        n = len(items)\n    return n\n")
    assert errors and all("not allowed without gil" in e for e in errors)
    assert lesson.cython_errors("cdef long twice(long n) noexcept nogil:\n    return 2 * n\n") == []


def test_source_excerpt_and_its_errors():
    text = lesson.source_excerpt("_capi_primes.c", "static PyObject *count_primes_nogil", "}")
    assert "Py_BEGIN_ALLOW_THREADS" in text and text.endswith("}")
    with pytest.raises(ValueError, match="choose from"):
        lesson.source_excerpt("../system.py", "def")
    with pytest.raises(ValueError, match="no line"):
        lesson.source_excerpt("_cy_primes.pyx", "def nothing_like_this")


def test_overlap_fraction_and_mixed_count():
    from parlab.results import RunResult, TaskSpan

    run = RunResult([1, 2, 3], [TaskSpan(0, 0, 0.0, 1.0), TaskSpan(1, 1, 0.5, 1.5), TaskSpan(2, 0, 1.5, 2.0)],
                    2.0, "threads", 2, None)
    assert lesson.overlap_fraction(run) == pytest.approx(0.25)
    assert lesson.mixed_count(0, 500, 10_000) == count_primes(0, 10_000)


def test_panel_runs_with_defaults_and_a_small_size():
    panel = lesson.kernel_panel(repeats=1)
    panel.controls["size"].value = panel.controls["size"].min
    panel.controls["threads"].value = 2
    sweep = panel.run()
    assert sweep.workers == [1, 2] and panel.image.value and "speedup" in panel.table.value


@pytest.mark.slow
def test_without_a_compiler_numba_still_releases_the_gil(tmp_path):
    """Lesson 03's path for learners without a C compiler: Numba's nogil kernel, no compiled parlab kernel."""
    from parlab.lessons.l03 import numba_kernels

    if numba_kernels.missing():
        pytest.skip(numba_kernels.missing())
    code = ("import parlab.kernels as k\n"
            "from parlab.lessons.l03 import numba_kernels as nk\n"
            "assert not k.COMPILED\n"
            "assert nk.count_primes_numba(10, 1000) == 164 and nk.count_primes_prange(10, 1000, 1) == 164\n"
            "print(nk.nogil_dispatcher().targetoptions['nogil'])\n")
    env = {**os.environ, kernels.DISABLE_VAR: "1", "PATH": str(tmp_path)}
    assert launch.run([sys.executable, "-c", code], env=env, timeout=120).stdout.strip() == "True"
