"""Lesson 06c's program, profile readers and conclusion writer: the program is right, the words follow the numbers."""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

from parlab.lessons.l06 import profiling
from parlab.lessons.l06.profiling_words import describe_prediction, predicted_speedup
from parlab.measure import amdahl_speedup


def test_the_program_gives_the_same_result_serial_and_on_a_pool():
    expected = profiling.program(6)
    with ProcessPoolExecutor(max_workers=2) as pool:
        assert profiling.program(6, pool) == expected
    assert expected["tasks"] == 6 and len(expected["best"]) == 3
    assert expected["total"] == sum(profiling.score(s) for s in profiling.make_seeds(6))


def test_the_program_is_deterministic():
    assert profiling.make_seeds(3, 5) == profiling.make_seeds(3, 5)
    assert profiling.program(4) == profiling.program(4)


def test_the_profile_names_every_function_and_finds_a_serial_share():
    stats = profiling.profile_program(6)
    rows = {r.name: r for r in profiling.function_rows(stats)}
    assert set(rows) == {"make_seeds", "merge", "score", "program"}
    assert rows["score"].calls == 6 and profiling.stats_calls(stats) == 6
    f = profiling.serial_share(stats)
    assert 0.02 < f < 0.6  # a fifth or so here: large enough to see, small enough to parallelise
    assert rows["make_seeds"].cumtime > rows["merge"].cumtime


def test_a_profile_of_the_pool_run_sees_no_score_in_the_parent():
    with ProcessPoolExecutor(max_workers=2) as pool:
        stats = profiling.profile_program(4, pool)
    assert profiling.stats_calls(stats) == 0
    assert profiling.serial_share(stats) == 1.0  # everything the parent did is outside score


def test_the_sampling_command_is_an_argument_list():
    argv = profiling.sampling_command()
    assert argv[:3] == [sys.executable, "-m", "profiling.sampling"]
    assert argv[-2:] == ["-m", "parlab.lessons.l06.profiling"] and "gil" in argv
    with pytest.raises(ValueError, match="mode must be"):
        profiling.sampling_command("threads")
    assert profiling.sampling_profiler_available() == (sys.version_info >= (3, 15))


def test_measure_program_checks_results_and_gives_a_speedup_per_pool():
    sweep = profiling.measure_program([1, 2], tasks=4, pairs=1)
    assert set(sweep.speedups()) == {1, 2}
    assert all(v > 0 for v in sweep.speedups().values())
    low, high = sweep.spreads()[2]
    assert low <= high


# --------------------------------------------------------------------------- the prediction's words

def test_predicted_speedup_is_amdahl_on_the_usable_workers():
    assert predicted_speedup(0.2, 4, 8, 24) == pytest.approx(amdahl_speedup(0.2, 4))
    assert predicted_speedup(0.2, 8, 2, 24) == pytest.approx(amdahl_speedup(0.2, 2))  # capped by the cores
    assert predicted_speedup(0.2, 16, 64, 24) == pytest.approx(amdahl_speedup(0.2, 12))  # 2 rounds of tasks
    assert predicted_speedup(0.2, 64, 64, 24) == pytest.approx(amdahl_speedup(0.2, 24))
    with pytest.raises(ValueError, match="serial_share"):
        predicted_speedup(1.5, 2, 2, 24)


def text(lines: list[str]) -> str:
    return "\n".join(lines)


def test_a_quiet_machine_that_matches_the_prediction():
    f = 0.2
    said = text(describe_prediction(f, {1: 1.0, 2: amdahl_speedup(f, 2) * 0.97}, cores=2, tasks=24))
    assert "20% of the run in serial code, so Amdahl's ceiling is 5.00×" in said
    assert "2 workers: predicted 1.67×, measured 1.62×: matches the prediction." in said
    assert "The profile predicted the speedup" in said
    assert "busy" not in said and "Do not conclude" not in said


def test_a_busy_machine_is_said_to_be_busy_and_not_concluded_from():
    said = text(describe_prediction(0.2, {1: 0.7, 2: 0.6}, cores=2, tasks=24))
    assert "far short of the prediction" in said and "Do not conclude from this run" in said
    assert "The profile predicted" not in said


def test_a_wide_spread_is_said_even_when_the_median_matches():
    said = text(describe_prediction(0.2, {2: 1.65}, cores=2, tasks=24, spreads={2: (0.9, 1.9)}))
    assert "The repeats ranged from 0.90× to 1.90×" in said and "Do not conclude" in said


def test_one_core_says_no_pool_can_speed_it_up():
    said = text(describe_prediction(0.2, {1: 0.98, 2: 0.95}, cores=1, tasks=24))
    assert "1 core: the parallel loop has no second core" in said
    assert "2 workers: predicted 1.00×" in said and "(only 1 core: predicted as on 1)" in said
    assert "The profile predicted" not in said


def test_sixty_four_cores_cap_the_prediction_at_the_tasks():
    f = 0.15
    points = {k: predicted_speedup(f, k, 64, 24) for k in (1, 2, 4, 32, 48, 64)}
    assert "(24 tasks take 2 rounds on 16 workers)" in text(describe_prediction(f, {16: 5.0}, cores=64, tasks=24))
    said = text(describe_prediction(f, points, cores=64, tasks=24))
    assert "32 workers: predicted" in said and "(only 24 of the 32 workers get a task)" in said
    assert "(only" not in said.split("32 workers")[0]
    assert "The profile predicted the speedup" in said


def test_below_and_above_the_prediction_on_a_machine_with_room():
    below = text(describe_prediction(0.1, {4: amdahl_speedup(0.1, 4) * 0.7}, cores=8, tasks=24))
    assert "below the prediction (70% of it)" in below and "a pool costs what a profile of one process" in below
    above = text(describe_prediction(0.3, {4: amdahl_speedup(0.3, 4) * 1.3}, cores=8, tasks=24))
    assert "above the prediction (130% of it)" in above and "measure again before trusting" in above


def test_no_serial_part_sets_no_ceiling():
    said = text(describe_prediction(0.0, {2: 2.0}, cores=2, tasks=24))
    assert "no serial part" in said and "matches the prediction" in said


def test_no_points_is_refused():
    with pytest.raises(ValueError, match="at least one measured point"):
        describe_prediction(0.2, {}, cores=2, tasks=24)


@pytest.mark.slow
def test_the_prediction_panel_measures_and_draws_beside_the_prediction():
    from parlab.lessons.l06.profiling_panel import prediction_panel

    panel = prediction_panel(0.25, pairs=1)
    panel.controls["workers"].value = 2
    sweep = panel.run()
    assert sorted(sweep.pairs) == [1, 2] and panel.image.value and "predicted" in panel.table.value
    with pytest.raises(ValueError, match="serial_share"):
        prediction_panel(1.5)
