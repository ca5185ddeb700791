"""Lesson 03's sentence writers over the regimes learners meet: 1, 2, 16 and 64 cores, GIL on and off,
slowdowns, superlinear runs and noisy ones. Each sentence must describe the number beside it, and a busy
machine is said to be busy, never concluded from."""

from __future__ import annotations

import re

import pytest

from parlab.lessons.l03 import words
from parlab.lessons.l03.numba_kernels import LayerRun
from parlab.measure import amdahl_speedup, build_sweep
from parlab.results import Metadata, Timing

CORES = [1, 2, 16, 64]


def sweep(cores: int, speedups: dict[int, float], *, spread: float = 0.02, gil: bool = True):
    meta = Metadata(cores, "3.13.5", "CPython", not gil, gil, "fork", "linux", "2026-01-01T00:00:00+00:00")
    measured = [(k, Timing(((1 - spread) / s, 1 / s, (1 + spread) / s)), 0.01, None) for k, s in speedups.items()]
    return build_sweep("synthetic", "threads", "fork", 12, Timing((1.0, 1.0, 1.0)), measured, metadata=meta)


def variants(cores: int, gil: bool, **speedups: float | tuple[float, float]) -> list[str]:
    """``name=speedup at the cores`` (or ``(speedup at 1 thread, speedup at the cores)``)."""
    made = {}
    for name, value in speedups.items():
        one, top = value if isinstance(value, tuple) else (1.0, value)
        made[name] = sweep(cores, {1: one, cores: top} if cores > 1 else {1: top}, gil=gil)
    return words.describe_variants(made)


def line_of(lines: list[str], label: str) -> str:
    return next(line for line in lines if line.startswith(label + ":"))


# --------------------------------------------------------------------------- describe_variants: each its own number

@pytest.mark.parametrize("cores", CORES)
@pytest.mark.parametrize("gil", [True, False])
def test_each_variant_gets_its_own_number_and_words(cores, gil):
    held, released = (1.0, 0.95 * cores) if gil else (0.93 * cores, 0.95 * cores)
    lines = variants(cores, gil, ctypes_pydll=held if cores > 1 else 0.98, cython_nogil=released)
    text = "\n".join(lines)
    assert "from " not in text and " to " not in text.split("\n")[1]  # no min–max range over variants
    for label, value in (("ctypes PyDLL", held if cores > 1 else 0.98), ("Cython, with nogil", released)):
        line = line_of(lines, label)
        assert f"{value:.2f}×" in line, line
        if value < 0.9:
            assert "slower than one" in line
        elif value <= 1.1:
            assert "about the same as one" in line and "near the ideal" not in line
        else:
            assert "near the ideal" in line and "about the same" not in line
    if cores == 1:
        assert "One usable core" in text and "1 thread:" in text.replace(" on 1 thread:", " 1 thread:")
    elif gil:
        assert "only one of the threads runs at a time" in text and "without a GIL" not in text
    else:
        assert "ran side by side too" in text and "only one of the threads" not in text


def test_the_issue_run_describes_each_variant_not_a_range():
    # The committed run: 0.51× to 1.05× was called "about the same as one" as a whole.
    lines = variants(2, True, cython_gil=1.05, capi_gil=1.04, ctypes_pydll=0.51, cython_nogil=1.87,
                     capi_nogil=1.99, ctypes_cdll=2.03)
    assert "0.51× on 2 threads: slower than one, taking 1.96 times as long" in line_of(lines, "ctypes PyDLL")
    assert "1.05× on 2 threads: about the same as one" in line_of(lines, "Cython, GIL held")
    assert "1.87× on 2 threads: 94% of the ideal" in line_of(lines, "Cython, with nogil") or \
        "near the ideal" in line_of(lines, "Cython, with nogil")
    assert any("ctypes PyDLL even lost time" in line for line in lines)


def test_a_superlinear_variant_is_named_so_and_the_others_keep_their_words():
    lines = variants(2, True, cython_gil=0.99, ctypes_cdll=2.40)
    assert "superlinear" in line_of(lines, "ctypes CDLL")
    assert "about the same as one" in line_of(lines, "Cython, GIL held")
    assert "superlinear" not in line_of(lines, "Cython, GIL held")


@pytest.mark.parametrize("cores", [16, 64])
def test_many_cores_below_the_ideal_give_the_share(cores):
    lines = variants(cores, True, cython_gil=1.0, cython_nogil=0.5 * cores)
    assert "50% of the ideal" in line_of(lines, "Cython, with nogil")


@pytest.mark.parametrize("one", [0.6, 1.6])
def test_a_one_thread_point_far_from_one_says_busy_and_concludes_nothing(one):
    lines = variants(2, True, cython_gil=(one, 1.4), cython_nogil=1.02)
    text = "\n".join(lines)
    assert "Careful (Cython, GIL held): on 1 thread it measured" in text and "other programs" in text
    assert "although only one thread" not in text and "yet did not gain" not in text


def test_a_wide_spread_says_busy():
    made = {"cython_gil": sweep(2, {1: 1.0, 2: 1.0}, spread=0.4), "cython_nogil": sweep(2, {1: 1.0, 2: 1.9})}
    text = "\n".join(words.describe_variants(made))
    assert "Careful (Cython, GIL held)" in text and "ranged from" in text


def test_busy_warning_is_none_on_a_quiet_sweep():
    assert words.busy_warning("x", sweep(2, {1: 1.0, 2: 1.9})) is None
    assert words.busy_warning("x", sweep(1, {1: 1.0})) is None


# --------------------------------------------------------------------------- describe_mixed: never contradicts

@pytest.mark.parametrize("cores", [2, 16, 64])
@pytest.mark.parametrize("measured_share", [0.3, 0.6, 0.8, 0.95, 1.2])
def test_mixed_words_match_the_number(cores, measured_share):
    p, c = 0.008, 0.032
    bound = words.mixed_bound(p, c, cores, cores)
    amdahl = amdahl_speedup(p / (p + c), cores)
    measured = measured_share * bound
    text = "\n".join(words.describe_mixed(p, c, measured, cores, cores, gil_enabled=True))
    assert f"Measured {measured:.2f}×" in text
    assert amdahl <= bound
    if measured < amdahl / 1.1 and measured >= 0.9:
        assert "below even Amdahl's" in text and "switch interval" in text
    if measured > 1.1 * bound:
        assert "above the bound" in text


def test_mixed_issue_numbers_explain_the_shortfall():
    text = "\n".join(words.describe_mixed(0.008, 0.032, 1.47, 2, 2, gil_enabled=True))
    assert "below even Amdahl's 1.67×" in text and "convoy" in text
    assert "other programs" not in text and "probably" not in text  # a quiet run stores no hedge


def test_mixed_without_a_gil_has_no_convoy():
    text = "\n".join(words.describe_mixed(0.008, 0.032, 1.2, 2, 2, gil_enabled=False))
    assert "convoy" not in text and "nothing here is serial" in text


# --------------------------------------------------------------------------- Numba's sentences

def test_compile_cost_is_named_and_kept_out():
    text = words.describe_compile(0.62, 0.05)
    assert "Numba compiled it" in text and "0.570 s" in text and "after a first call" in text
    again = words.describe_compile(0.05, 0.05)
    assert "did not show" in again
    with pytest.raises(ValueError):
        words.describe_compile(0, 1)


@pytest.mark.parametrize("cores", CORES)
@pytest.mark.parametrize("gil", [True, False])
def test_jit_threads_over_the_regimes(cores, gil):
    top = 0.95 * cores if cores > 1 else 1.0
    lines = words.describe_jit_threads("Numba", sweep(cores, {1: 1.0, cores: top} if cores > 1 else {1: 1.0}, gil=gil))
    text = "\n".join(lines)
    assert f"{top:.2f}×" in text
    if cores == 1:
        assert "One usable core" in text and "side by side" not in text
    elif gil:
        assert "nogil=True released the GIL" in text
    else:
        assert "no GIL to hold" in text and "nogil=True released" not in text


def test_jit_threads_slowdown_superlinear_and_busy():
    slow = "\n".join(words.describe_jit_threads("Numba", sweep(2, {1: 1.0, 2: 0.8})))
    assert "slower than one" in slow and "yet did not gain" in slow
    partly = "\n".join(words.describe_jit_threads("Numba", sweep(2, {1: 1.0, 2: 1.3})))
    assert "65% of the ideal" in partly and "ran partly side by side" in partly
    superlinear = "\n".join(words.describe_jit_threads("Numba", sweep(2, {1: 1.0, 2: 2.5})))
    assert "superlinear" in superlinear
    busy = "\n".join(words.describe_jit_threads("Numba", sweep(2, {1: 0.5, 2: 1.0})))
    assert "Careful" in busy and "yet did not gain" not in busy and "side by side:" not in busy
    held = "\n".join(words.describe_jit_threads("Numba", sweep(2, {1: 1.0, 2: 1.0}), nogil=False))
    assert "keeps the GIL" in held


@pytest.mark.parametrize(("one", "many", "cores", "says"), [
    (0.2, 0.105, 2, "near the ideal"), (0.2, 0.25, 2, "slower than one"), (0.2, 0.2, 1, "about the same"),
    (1.0, 0.05, 16, "superlinear"), (1.0, 0.05, 64, "31% of the ideal"),
])
def test_prange_sentences(one, many, cores, says):
    text = words.describe_prange(one, many, cores, cores=cores, layer="omp")
    assert says in text and "(threading layer: omp)" in text
    assert f"{one / many:.2f}×" in text


def test_layers_sentences():
    runs = [LayerRun("workqueue", False, "", "killed by SIGABRT", "Numba workqueue threading layer is terminating: "
                     "Concurrent access has been detected.", ("workqueue", "omp", "tbb")),
            LayerRun("tbb", True, "tbb", "exit code 0", "", ("workqueue", "omp", "tbb"))]
    lines = words.describe_layers(runs)
    assert lines[0] == "Threading layers that load here: workqueue, OpenMP, TBB."
    assert "stopped (killed by SIGABRT)" in lines[1] and "Concurrent access" in lines[1]
    assert "right result" in lines[2] and "NUMBA_THREADING_LAYER=tbb" in lines[3]
    only = words.describe_layers([LayerRun("workqueue", False, how_it_ended="did not finish within 60 s")])
    assert "none" in only[0] and "did not finish" in only[1] and len(only) == 2


@pytest.mark.parametrize(("processes", "threads", "cores", "says"), [
    (2, 2, 2, "2.0 threads per core"), (2, 1, 2, "no more threads than cores"), (1, 1, 1, "1 thread on 1 usable core"),
    (64, 64, 64, "64.0 threads per core"), (16, 1, 16, "no more"),
])
def test_oversubscription_sentences(processes, threads, cores, says):
    text = words.describe_oversubscription(processes, threads, cores)
    assert says in text
    assert bool(re.search("oversubscribed", text)) == (processes * threads > cores)
