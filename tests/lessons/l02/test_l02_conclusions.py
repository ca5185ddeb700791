"""Lesson 02's conclusions: the pool sweep, its serial-fraction estimate, pickling and chunksize (issue 15).

Each sentence must describe the numbers it is given on 1, 2, 16 and 64 usable cores, GIL on
and off, in every regime: a slowdown is a slowdown, superlinear is named, a ceiling is
projected only from three or more points within the cores, past the cores CPU-bound work is
measured against the capped ideal and waiting work against k, and the build (GIL on or off)
is credited only with what it explains. The machine is quiet (``QUIET``) unless a test says not.
"""

from __future__ import annotations

import pytest
from sweeps import CORES, QUIET, meta, synthetic, text

from parlab.lessons.l02 import pools
from parlab.measure import build_sweep
from parlab.results import Timing

# --------------------------------------------------------------------------- lesson 02: the sweep

def test_issue_example_best_past_the_cores_is_measured_against_the_capped_ideal():
    # 1.85× on 4 processes, 1.69× on 2, on 2 cores: not "workers beyond the core count only share".
    out = text(pools.describe_sweep(synthetic(2, {1: 0.98, 2: 1.69, 3: 1.60, 4: 1.85}, spread=QUIET)))
    assert "Best: 1.85× on 4 processes" in out and "ideal 2.00×" in out
    assert "capped at the 2 usable cores" in out and "1.69× on 2 processes" in out
    assert "higher than the 1.69× on 2" in out and "still below the ideal 2.00×" in out
    assert "only share the same cores" not in out and "no gain" not in out


def test_a_best_point_past_the_cores_within_noise_says_so():
    out = text(pools.describe_sweep(synthetic(2, {1: 1.0, 2: 1.80, 4: 1.84}, spread=0.10)))
    assert "within the repeats' spread of the 1.80× on 2" in out and "higher than" not in out


@pytest.mark.parametrize("cores", [2, 16, 64])
def test_oversubscription_hurting_cpu_work(cores):
    out = text(pools.describe_sweep(synthetic(cores, {1: 1.0, cores: 0.9 * cores, 2 * cores: 0.6 * cores},
                                              spread=QUIET)))
    assert f"ideal stays at {cores:.2f}×" in out and "lower than" in out and "cost time" in out
    assert "near the ideal" in out  # the point at the cores
    assert "keeps rising" not in out


@pytest.mark.parametrize("cores", CORES)
def test_oversubscription_helping_waiting_tasks(cores):
    out = text(pools.describe_sweep(synthetic(cores, {1: 1.0, 4 * cores: 3.8 * cores}, waiting=True,
                                              spread=QUIET), what="threads"))
    assert "waiting tasks need no core" in out and "keeps rising" in out
    assert f"ideal {4 * cores:.2f}×" in out and "capped" not in out and "share the same cores" not in out


@pytest.mark.parametrize("cores", CORES)
def test_a_slowdown_is_a_slowdown(cores):
    out = text(pools.describe_sweep(synthetic(cores, {1: 0.9, 2: 0.6, 4: 0.5}, spread=QUIET)))
    assert "slower than the serial one" in out and "0.60× on 2 processes: slower than one" in out
    assert "about" not in out.split("\n")[0] and "near the ideal" not in out


@pytest.mark.parametrize("cores", [2, 16, 64])
def test_about_one_and_far_below(cores):
    same = text(pools.describe_sweep(synthetic(cores, {1: 1.0, cores: 1.05}, spread=QUIET)))
    assert "about the same as one" in same and "ideal" not in same.split("\n")[0]
    if cores >= 16:
        far = text(pools.describe_sweep(synthetic(cores, {1: 1.0, cores: 0.4 * cores}, spread=QUIET)))
        assert "40% of the ideal" in far and "near" not in far


@pytest.mark.parametrize("cores", [2, 16])
def test_superlinear_and_above_the_cap_are_named(cores):
    out = text(pools.describe_sweep(synthetic(cores, {1: 1.0, cores: 1.3 * cores, 2 * cores: 1.3 * cores},
                                              spread=QUIET)))
    assert "superlinear" in out and "above the" in out and "run the cell again" in out
    assert "near the ideal" not in out


def test_one_core_has_no_point_within_the_cores():
    out = text(pools.describe_sweep(synthetic(1, {1: 1.0, 2: 0.97}, spread=QUIET)))
    assert "0.97× on 2 processes: about the same as one" in out and "1 usable core" in out
    est = text(pools.describe_estimate(synthetic(1, {1: 1.0, 2: 0.97}, spread=QUIET)))
    assert "No serial-fraction estimate" in est and "1 usable core" in est and "ceiling" not in est


def test_only_one_worker_measured():
    out = text(pools.describe_sweep(synthetic(4, {1: 1.0}, spread=QUIET)))
    assert "Only one worker" in out and "×" not in out


def test_a_noisy_machine_is_flagged():
    out = text(pools.describe_sweep(synthetic(2, {1: 1.0, 2: 1.9}, spread=0.4)))
    assert "Careful" in out and "ranged from" in out
    assert "Careful" not in text(pools.describe_sweep(synthetic(2, {1: 1.0, 2: 1.9}, spread=QUIET)))


@pytest.mark.parametrize("gil", [True, False])
def test_process_sweeps_do_not_mention_the_gil(gil):
    assert "GIL" not in text(pools.describe_sweep(synthetic(16, {1: 1.0, 8: 7.5, 16: 14.0}, gil=gil,
                                                            spread=QUIET)))


# --------------------------------------------------------------------------- lesson 02: the estimate

def test_two_cores_project_no_ceiling_and_say_why():
    out = text(pools.describe_estimate(synthetic(2, {1: 0.98, 2: 1.80, 4: 1.64}, spread=QUIET)))
    assert "Serial-fraction estimate (Karp–Flatt): 0.11 from 1 point with 2 workers" in out
    assert "No ceiling projected" in out and "3 points" in out and "this estimate has 1" in out
    assert "at most" not in out and "any number of cores, Amdahl" not in out and "cap the speedup" not in out


def test_three_points_within_the_cores_project_a_ceiling():
    out = text(pools.describe_estimate(synthetic(16, {1: 1.0, 2: 1.9, 4: 3.5, 8: 6.0, 16: 9.0, 32: 8.0},
                                                 spread=QUIET)))
    assert "from 4 points with 2 to 16 workers" in out and "point by point" in out
    assert "cap the speedup at" in out and "No ceiling" not in out


def test_a_zero_estimate_projects_no_ceiling():
    out = text(pools.describe_estimate(synthetic(16, {1: 1.0, 2: 2.0, 4: 4.0, 8: 8.0}, spread=QUIET)))
    assert "0.00 from 3 points" in out and "estimate is 0" in out and "cap the speedup" not in out


def test_a_slowdown_estimate_is_all_of_the_run():
    out = text(pools.describe_estimate(synthetic(2, {1: 1.0, 2: 0.6}, spread=QUIET)))
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
