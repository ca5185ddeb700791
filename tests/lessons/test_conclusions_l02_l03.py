"""Lessons 02 and 03's conclusions on synthetic results: 1-64 cores, GIL on and off, every regime (issue 15).

Each sentence must describe the numbers it is given: a slowdown is a slowdown, superlinear is
named, a ceiling is projected only from three or more points within the cores, past the cores
CPU-bound work is measured against the capped ideal and waiting work against k, and the
build (GIL on or off) is credited only with what it explains.
"""

from __future__ import annotations

import pytest

from parlab.lessons.l02 import pools
from parlab.lessons.l03 import kernels as kernels_lesson
from parlab.measure import amdahl_speedup, build_sweep
from parlab.results import Metadata, Timing

CORES = [1, 2, 16, 64]


def meta(cores: int, *, gil: bool = True) -> Metadata:
    return Metadata(cores, "3.13.5", "CPython", not gil, gil, "fork", "linux", "2026-01-01T00:00:00+00:00")


def sweep(cores: int, speedups: dict[int, float], *, spread: float = 0.02, waiting: bool = False,
          gil: bool = True, backend: str = "processes"):
    measured = []
    for k, s in speedups.items():
        t = 1.0 / s
        measured.append((k, Timing((t * (1 - spread), t, t * (1 + spread))), 0.01, None))
    return build_sweep("synthetic", backend, "fork", 12, Timing((1.0, 1.0, 1.0)), measured,
                       metadata=meta(cores, gil=gil), waiting=waiting)


def text(lines: list[str]) -> str:
    return "\n".join(lines)


# --------------------------------------------------------------------------- lesson 02: the sweep

def test_issue_example_best_past_the_cores_is_measured_against_the_capped_ideal():
    # 1.85× on 4 processes, 1.69× on 2, on 2 cores: not "workers beyond the core count only share".
    out = text(pools.describe_sweep(sweep(2, {1: 0.98, 2: 1.69, 3: 1.60, 4: 1.85})))
    assert "Best: 1.85× on 4 processes" in out and "ideal 2.00×" in out
    assert "capped at the 2 usable cores" in out and "1.69× on 2 processes" in out
    assert "higher than the 1.69× on 2" in out and "still below the ideal 2.00×" in out
    assert "only share the same cores" not in out and "no gain" not in out


def test_a_best_point_past_the_cores_within_noise_says_so():
    out = text(pools.describe_sweep(sweep(2, {1: 1.0, 2: 1.80, 4: 1.84}, spread=0.10)))
    assert "within the repeats' spread of the 1.80× on 2" in out and "higher than" not in out


@pytest.mark.parametrize("cores", [2, 16, 64])
def test_oversubscription_hurting_cpu_work(cores):
    out = text(pools.describe_sweep(sweep(cores, {1: 1.0, cores: 0.9 * cores, 2 * cores: 0.6 * cores})))
    assert f"ideal stays at {cores:.2f}×" in out and "lower than" in out and "cost time" in out
    assert "near the ideal" in out  # the point at the cores
    assert "keeps rising" not in out


@pytest.mark.parametrize("cores", CORES)
def test_oversubscription_helping_waiting_tasks(cores):
    out = text(pools.describe_sweep(sweep(cores, {1: 1.0, 4 * cores: 3.8 * cores}, waiting=True), what="threads"))
    assert "waiting tasks need no core" in out and "keeps rising" in out
    assert f"ideal {4 * cores:.2f}×" in out and "capped" not in out and "share the same cores" not in out


@pytest.mark.parametrize("cores", CORES)
def test_a_slowdown_is_a_slowdown(cores):
    out = text(pools.describe_sweep(sweep(cores, {1: 0.9, 2: 0.6, 4: 0.5})))
    assert "slower than the serial one" in out and "0.60× on 2 processes: slower than one" in out
    assert "about" not in out.split("\n")[0] and "near the ideal" not in out


@pytest.mark.parametrize("cores", [2, 16, 64])
def test_about_one_and_far_below(cores):
    same = text(pools.describe_sweep(sweep(cores, {1: 1.0, cores: 1.05})))
    assert "about the same as one" in same and "ideal" not in same.split("\n")[0]
    if cores >= 16:
        far = text(pools.describe_sweep(sweep(cores, {1: 1.0, cores: 0.4 * cores})))
        assert "40% of the ideal" in far and "near" not in far


@pytest.mark.parametrize("cores", [2, 16])
def test_superlinear_and_above_the_cap_are_named(cores):
    out = text(pools.describe_sweep(sweep(cores, {1: 1.0, cores: 1.3 * cores, 2 * cores: 1.3 * cores})))
    assert "superlinear" in out and "above the" in out and "run the cell again" in out
    assert "near the ideal" not in out


def test_one_core_has_no_point_within_the_cores():
    out = text(pools.describe_sweep(sweep(1, {1: 1.0, 2: 0.97})))
    assert "0.97× on 2 processes: about the same as one" in out and "1 usable core" in out
    est = text(pools.describe_estimate(sweep(1, {1: 1.0, 2: 0.97})))
    assert "No serial-fraction estimate" in est and "1 usable core" in est and "ceiling" not in est


def test_only_one_worker_measured():
    out = text(pools.describe_sweep(sweep(4, {1: 1.0})))
    assert "Only one worker" in out and "×" not in out


def test_a_noisy_machine_is_flagged():
    out = text(pools.describe_sweep(sweep(2, {1: 1.0, 2: 1.9}, spread=0.4)))
    assert "Careful" in out and "ranged from" in out
    assert "Careful" not in text(pools.describe_sweep(sweep(2, {1: 1.0, 2: 1.9})))


@pytest.mark.parametrize("gil", [True, False])
def test_process_sweeps_do_not_mention_the_gil(gil):
    assert "GIL" not in text(pools.describe_sweep(sweep(16, {1: 1.0, 8: 7.5, 16: 14.0}, gil=gil)))


# --------------------------------------------------------------------------- lesson 02: the estimate

def test_two_cores_project_no_ceiling_and_say_why():
    out = text(pools.describe_estimate(sweep(2, {1: 0.98, 2: 1.80, 4: 1.64})))
    assert "Serial-fraction estimate (Karp–Flatt): 0.11 from 1 point with 2 workers" in out
    assert "No ceiling projected" in out and "3 points" in out and "this estimate has 1" in out
    assert "at most" not in out and "any number of cores, Amdahl" not in out and "cap the speedup" not in out


def test_three_points_within_the_cores_project_a_ceiling():
    out = text(pools.describe_estimate(sweep(16, {1: 1.0, 2: 1.9, 4: 3.5, 8: 6.0, 16: 9.0, 32: 8.0})))
    assert "from 4 points with 2 to 16 workers" in out and "point by point" in out
    assert "cap the speedup at" in out and "No ceiling" not in out


def test_a_zero_estimate_projects_no_ceiling():
    out = text(pools.describe_estimate(sweep(16, {1: 1.0, 2: 2.0, 4: 4.0, 8: 8.0})))
    assert "0.00 from 3 points" in out and "estimate is 0" in out and "cap the speedup" not in out


def test_a_slowdown_estimate_is_all_of_the_run():
    out = text(pools.describe_estimate(sweep(2, {1: 1.0, 2: 0.6})))
    assert "1.00 from 1 point" in out and "no parallel run was faster" in out


def test_no_estimate_where_the_sweep_has_none():
    s = build_sweep("sleep", "threads", None, 8, Timing((1.0,)), [(2, Timing((0.5,)), 0.0, None)],
                    metadata=meta(2), waiting=True, estimate=False)
    assert "no serial part" in text(pools.describe_estimate(s))


# --------------------------------------------------------------------------- lesson 02: exercises and curves

def test_pickling_sentences_follow_the_numbers():
    fixed = text(pools.describe_pickling([pools.PayloadPoint(1_000, 1e-5, 1.5e-4),
                                          pools.PayloadPoint(10_000_000, 1e-5, 0.023)]))
    assert "about 435 MB/s" in fixed and "150 µs" in fixed and "fixed cost" in fixed
    linear = text(pools.describe_pickling([pools.PayloadPoint(1_000, 1e-6, 2.3e-6),
                                           pools.PayloadPoint(10_000_000, 1e-5, 0.023)]))
    assert "fixed cost" not in linear and "in proportion" in linear


def test_chunksize_sentences():
    t = Timing
    won = pools.ChunkCurve(t((0.038,)), (1, 64, 256), (t((0.22,)), t((0.025,)), t((0.022,))), 2, 2000, 2)
    out = text(pools.describe_chunksize(won))
    assert "best chunksize here: 256" in out and "1.73× on 2 processes" in out and "19 µs per task" in out
    assert "10.0 times as long" in out
    lost = pools.ChunkCurve(t((0.010,)), (1, 8), (t((0.2,)), t((0.05,))), 2, 4000, 2)
    out = text(pools.describe_chunksize(lost))
    assert "slower than one" in out and "near" not in out
    first = pools.ChunkCurve(t((1.0,)), (1, 8), (t((0.52,)), t((0.6,))), 2, 40, 2)
    assert "was the fastest here" in text(pools.describe_chunksize(first))


# --------------------------------------------------------------------------- lesson 03: variants and timelines

def _variants(cores, gil, held, released, processes=None):
    k = cores
    made = {name: sweep(cores, {1: 1.0, k: s} if k > 1 else {1: s}, gil=gil, backend="threads")
            for name, s in (("cython_gil", held), ("ctypes_pydll", held * 0.97), ("cython_nogil", released))}
    procs = sweep(cores, {1: 1.0, k: processes} if k > 1 else {1: processes}, gil=gil) if processes else None
    return text(kernels_lesson.describe_variants(made, procs))


@pytest.mark.parametrize("cores", [2, 16, 64])
def test_variants_with_a_gil(cores):
    out = _variants(cores, True, 1.0, 0.95 * cores, 0.9 * cores)
    assert "This build has a GIL" in out and "about the same as one" in out and "near the ideal" in out
    assert "only one of the threads runs at a time" in out and "each process has its own GIL" in out
    assert "other programs" not in out


@pytest.mark.parametrize("cores", [2, 16, 64])
def test_variants_convoy_with_a_gil_is_a_slowdown(cores):
    out = _variants(cores, True, 0.6, 0.9 * cores)
    assert "slower than one" in out and "about the same" not in out


@pytest.mark.parametrize("cores", [2, 16, 64])
def test_variants_without_a_gil_credit_the_build_not_other_programs(cores):
    out = _variants(cores, False, 0.93 * cores, 0.95 * cores, 0.9 * cores)
    assert "without a GIL" in out and "ran side by side too" in out
    assert "other programs" not in out and "each process has its own GIL" not in out
    assert "only one of the threads" not in out


def test_variants_without_a_gil_that_did_not_scale_say_so():
    out = _variants(16, False, 5.0, 15.0)
    assert "did not reach near the ideal" in out and "31% of the ideal" in out


def test_variants_on_one_core():
    out = _variants(1, True, 0.97, 1.0, 0.98)
    assert "One usable core" in out and "1 thread" in out and "1 threads" not in out
    assert "own GIL" not in out and "near the ideal" not in out


@pytest.mark.parametrize("held", [1.9, 1.63])
def test_variants_with_a_gil_that_sped_up_anyway_are_flagged(held):
    out = _variants(2, True, held, 1.95)
    assert "although only one thread at a time can hold" in out and "run the cell again" in out
    assert "only one of the threads runs at a time, whatever" not in out


def test_released_kernels_that_did_not_gain_are_flagged():
    out = _variants(2, True, 1.0, 1.02)
    assert "yet did not gain" in out
    assert "yet did not gain" not in _variants(2, True, 1.0, 1.9)
    assert "yet did not gain" not in _variants(1, True, 1.0, 1.0)


def test_noisy_variants_are_flagged():
    made = {"cython_gil": sweep(2, {1: 1.0, 2: 1.0}, spread=0.4, backend="threads"),
            "cython_nogil": sweep(2, {1: 1.0, 2: 1.9}, backend="threads")}
    out = text(kernels_lesson.describe_variants(made))
    assert "Careful (Cython, GIL held)" in out and "ranged from" in out


def test_no_compiled_kernel():
    s = sweep(2, {1: 1.0, 2: 0.98}, backend="threads")
    out = text(kernels_lesson.describe_variants({"python": s}))
    assert "only the pure-Python fallback" in out and "release the GIL" not in out


@pytest.mark.parametrize("gil", [True, False])
def test_overlap_sentences(gil):
    held = kernels_lesson.describe_overlap("held", 0.0, releases_gil=False, cores=2, gil_enabled=gil)
    assert "0%" in held and ("staircase" in held) == gil
    free = kernels_lesson.describe_overlap("held", 0.9, releases_gil=False, cores=2, gil_enabled=gil)
    assert "90%" in free and ("no GIL to hold" in free) == (not gil)
    released = kernels_lesson.describe_overlap("nogil", 0.98, releases_gil=True, cores=1, gil_enabled=gil)
    assert "taking turns on the 1 usable core" in released
    with pytest.raises(ValueError):
        kernels_lesson.describe_overlap("x", 1.5, releases_gil=True, cores=2, gil_enabled=gil)


# --------------------------------------------------------------------------- lesson 03: exercise 2's model

@pytest.mark.parametrize("cores", CORES)
def test_mixed_bound_is_at_least_amdahl_and_at_most_the_cores(cores):
    for p, c in ((0.007, 0.029), (0.02, 0.01), (0.001, 0.5), (0.5, 0.001)):
        bound = kernels_lesson.mixed_bound(p, c, cores, cores)
        assert amdahl_speedup(p / (p + c), cores) <= bound + 1e-12 <= cores + 1e-12
        assert bound == pytest.approx(min(cores, (p + c) / p))
        assert kernels_lesson.mixed_bound(p, c, cores, cores, gil_enabled=False) == cores
    assert kernels_lesson.mixed_bound(0.01, 0.03, 8, 2) == 2.0  # threads past the cores share them


def test_mixed_bound_rejects_nonsense():
    with pytest.raises(ValueError):
        kernels_lesson.mixed_bound(0.0, 0.0, 2, 2)
    with pytest.raises(ValueError):
        kernels_lesson.mixed_bound(0.1, 0.1, 0, 2)


def test_mixed_issue_numbers_with_a_gil():
    # Python 0.007 s, C 0.029 s, 2 threads: Amdahl gives 1.67×, the schedule allows 2×; 1.78× measured.
    out = text(kernels_lesson.describe_mixed(0.007, 0.029, 1.78, 2, 2, gil_enabled=True))
    assert "Amdahl's law with 0.19 as the serial fraction gives 1.67×" in out
    assert "bound is 2.00×" in out and "89% of the bound" in out
    assert "Only the C part" not in out and "without a GIL" not in out


def test_mixed_issue_numbers_without_a_gil():
    # On 3.13t: "Amdahl predicts 1.66×, measured 1.92×" went without a word.
    out = text(kernels_lesson.describe_mixed(0.007, 0.029, 1.92, 2, 2, gil_enabled=False))
    assert "without a GIL" in out and "nothing here is serial" in out and "96% of the bound" in out
    assert "take turns, but" not in out


def test_mixed_regimes():
    limited = text(kernels_lesson.describe_mixed(0.02, 0.01, 1.4, 2, 2, gil_enabled=True))
    assert "bound is 1.50×" in limited and "Python parts one after another" in limited
    between = text(kernels_lesson.describe_mixed(0.01, 0.01, 1.55, 2, 2, gil_enabled=True))
    assert "above Amdahl's 1.33×" in between and "not fully" in between and "78% of the bound" in between
    low = text(kernels_lesson.describe_mixed(0.007, 0.029, 0.8, 2, 2, gil_enabled=True))
    assert "slower than one thread" in low and "close to" not in low
    above = text(kernels_lesson.describe_mixed(0.007, 0.029, 2.6, 2, 2, gil_enabled=True))
    assert "above the bound" in above and "run the cells again" in above
    about = text(kernels_lesson.describe_mixed(0.02, 0.01, 1.15, 2, 2, gil_enabled=True))
    assert "about Amdahl's" in about
    below = text(kernels_lesson.describe_mixed(0.002, 0.03, 6.0, 16, 16, gil_enabled=True))
    assert "below even Amdahl's" in below
    same = text(kernels_lesson.describe_mixed(0.008, 0.028, 0.94, 2, 2, gil_enabled=True, spread=(0.6, 1.5)))
    assert "about the same as one thread, below even Amdahl's 1.64×" in same and "Careful" in same
    assert "Careful" not in text(kernels_lesson.describe_mixed(0.008, 0.028, 1.9, 2, 2, gil_enabled=True,
                                                               spread=(1.85, 1.95)))
    one = text(kernels_lesson.describe_mixed(0.007, 0.029, 0.99, 1, 1, gil_enabled=True))
    assert "bound is 1.00×" in one and "Amdahl" not in one
    wide = text(kernels_lesson.describe_mixed(0.002, 0.03, 55.0, 64, 64, gil_enabled=True))
    assert "bound is 16.00×" in wide and "above the bound" in wide


# --------------------------------------------------------------------------- lesson 03: the other sentences

def test_single_thread_and_openmp():
    assert "17.15× as fast" in kernels_lesson.describe_single_thread(0.0823, 0.0048, compiled=True)
    assert "slower" in kernels_lesson.describe_single_thread(0.005, 0.008, compiled=True)
    assert "not built" in kernels_lesson.describe_single_thread(0.08, 0.08, compiled=False)
    out = kernels_lesson.describe_openmp(0.092, 0.047, 2, cores=2, openmp=True, cython=True)
    assert "1.96× on 2 OpenMP threads: near the ideal" in out
    assert "slower than one" in kernels_lesson.describe_openmp(0.05, 0.09, 2, cores=1, openmp=True, cython=True)
    assert "not available" in kernels_lesson.describe_openmp(None, None, 2, cores=2, openmp=False, cython=True)
