"""Lesson 03's Numba kernels: same counts as every other variant, compiled lazily (importing parlab never
imports Numba), the one message where Numba is missing, and the threading-layer trap kept in children."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from parlab.lessons.l03 import numba_kernels as nk
from parlab.workloads import count_primes

RANGES = [(0, 0), (0, 1), (0, 3), (10, 5), (0, 10_000), (7_919, 7_920), (10**12, 10**12 + 300),
          (10**7, 10**7 + 50_000)]


@pytest.fixture
def numba_here():
    if nk.missing():
        pytest.skip(nk.missing())  # no wheel on some builds (3.13t): expected, not a broken install


def test_importing_parlab_and_the_lesson_does_not_import_numba():
    program = textwrap.dedent("""
        import sys
        import parlab, parlab.kernels, parlab.bench
        from parlab.lessons.l03 import exercises, kernels, numba_kernels, words
        print("numba" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"


def test_missing_numba_is_one_clear_message(monkeypatch):
    nk.missing.cache_clear()
    monkeypatch.setattr(nk.importlib.util, "find_spec", lambda name: None)
    try:
        assert nk.missing().startswith("Numba is not installed: pip install numba")
        with pytest.raises(RuntimeError, match="pip install numba"):
            nk._compiled.__wrapped__()
    finally:
        nk.missing.cache_clear()


def test_the_stand_in_leaves_functions_as_they_are():
    def f(a, b):
        return a + b

    assert nk.stand_in_njit(f) is f and nk.stand_in_njit(nogil=True)(f) is f
    assert f.targetoptions == {"nogil": True}


@pytest.mark.parametrize("bounds", RANGES, ids=str)
@pytest.mark.slow
def test_numba_kernels_count_like_the_workload(numba_here, bounds):
    want = count_primes(*bounds)
    assert nk.count_primes_numba(*bounds) == want
    assert nk.count_primes_prange(*bounds, threads=1) == want
    assert nk.count_primes_prange(*bounds, threads=2) == want


def test_the_dispatcher_is_compiled_with_nogil(numba_here):
    assert nk.nogil_dispatcher().targetoptions["nogil"] is True


def test_bad_input_gets_the_kernels_message(numba_here):
    with pytest.raises(ValueError, match="0 <= start"):
        nk.count_primes_numba(-1, 5)
    with pytest.raises(TypeError, match="whole numbers"):
        nk.count_primes_numba(1.5, 5)
    with pytest.raises(ValueError, match="threads must be"):
        nk.count_primes_prange(0, 10, threads=0)


@pytest.mark.slow
def test_the_trap_stays_in_children_and_tbb_or_omp_avoids_it(numba_here):
    runs = {run.asked: run for run in nk.layer_runs(("workqueue", "omp"))}
    trapped = runs["workqueue"]
    # Four threads enter one parallel region at once: the workqueue layer stops the process.
    assert not trapped.ok and trapped.how_it_ended != "exit code 0", trapped
    assert "Concurrent access" in trapped.message or "terminating" in trapped.message.lower(), trapped
    if "omp" in trapped.available:
        assert runs["omp"].ok and runs["omp"].used == "omp", runs["omp"]
    with pytest.raises(ValueError, match="layers must be"):
        nk.layer_runs(("nope",))


def test_limit_numba_threads_sets_the_environment(monkeypatch):
    # setenv first, so that monkeypatch restores the variable's absence afterwards: a NUMBA_NUM_THREADS
    # left in this process would reach every later child, Jupyter kernels included
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    nk.limit_numba_threads(1)
    import os

    assert os.environ["NUMBA_NUM_THREADS"] == "1"
    if "numba" in sys.modules:
        assert nk.numba_threads() == 1
        sys.modules["numba"].set_num_threads(sys.modules["numba"].config.NUMBA_NUM_THREADS)
