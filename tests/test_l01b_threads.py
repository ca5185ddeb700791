"""Lesson 01b, sections 1-3: threads by hand, a race and its lock, a queue pipeline; and their conclusion writers."""

from __future__ import annotations

import dataclasses
import sys
import threading

import pytest

from parlab.lessons import l01b_threads as lt
from parlab.measure import ResultMismatch, build_sweep
from parlab.results import Metadata, Timing


def square(x):
    return x * x


def timing(seconds: float) -> Timing:
    return Timing((seconds, seconds, seconds))


# --------------------------------------------------------------------------- 1. threads by hand

def test_thread_styles_check_results_and_time_three_ways():
    styles = lt.time_thread_styles(square, range(10), workers=3, repeats=2)
    assert (styles.tasks, styles.workers) == (10, 3)
    assert all(len(t.values) == 2 for t in (styles.serial, styles.by_hand, styles.pool))


def test_threads_by_hand_fill_every_slot_in_order():
    assert lt._by_hand(square, list(range(7)), 3) == [square(i) for i in range(7)]


def test_thread_styles_refuse_bad_input_before_work():
    with pytest.raises(ValueError, match="workers"):
        lt.time_thread_styles(square, range(3), workers=0)
    with pytest.raises(TypeError, match="workers"):
        lt.time_thread_styles(square, range(3), workers="2")
    with pytest.raises(ValueError, match="at least one task"):
        lt.time_thread_styles(square, [], workers=2)


@pytest.mark.parametrize("cores", [1, 2, 8, 64])
@pytest.mark.parametrize(("by_hand", "pool", "words"), [
    (0.1, 0.1, "about the same time"),
    (0.2, 0.1, "the pool finished sooner (2.00×)"),
    (0.1, 0.2, "the threads started by hand finished sooner (2.00×)"),
])
def test_describe_thread_styles_agrees_with_the_numbers(cores, by_hand, pool, words):
    styles = lt.ThreadStyles(16, 8, timing(0.8), timing(by_hand), timing(pool), cores)
    text = lt.describe_thread_styles(styles)
    assert words in text
    assert f"threads by hand: {0.8 / by_hand:.2f}× on 8 threads" in text
    assert "waiting tasks need no core" in text or "superlinear" in text  # waiting: ideal 8 whatever the cores


def test_describe_thread_styles_calls_a_slowdown_slower():
    styles = lt.ThreadStyles(16, 8, timing(0.1), timing(0.2), timing(0.2), 2)
    assert "slower than one" in lt.describe_thread_styles(styles)


# --------------------------------------------------------------------------- 2. a race and a lock

def test_the_race_really_loses_updates():
    # Four threads started together; a few tries, so that one lucky run cannot hide the race.
    lost = [n for _ in range(3) for n in lt.race(4, times=100_000, tries=2).lost]
    assert max(lost) > 0, f"no update lost in {len(lost)} runs of 4 threads"


def test_the_race_loses_updates_with_a_short_switch_interval_too():
    before = sys.getswitchinterval()
    result = lt.race(2, times=20_000, tries=3, switch_interval_s=1e-4)
    assert sys.getswitchinterval() == before
    assert any(result.lost)


def test_the_lock_fixes_it():
    result = lt.race(4, times=50_000, tries=3, switch_interval_s=1e-4)
    assert result.locked == (200_000,) * 3
    assert result.lost_locked == (0, 0, 0)


def test_one_thread_loses_nothing():
    result = lt.race(1, times=10_000, tries=2)
    assert result.lost == (0, 0) and result.locked == (10_000, 10_000)


def test_bump_locked_counts_exactly_on_threads():
    counter, lock = lt.Counter(), threading.Lock()
    threads = [threading.Thread(target=lt.bump_locked, args=(counter, 5_000, lock)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert counter.value == 15_000


def test_race_refuses_bad_input():
    with pytest.raises(ValueError, match="workers"):
        lt.race(0)
    with pytest.raises(TypeError, match="times"):
        lt.race(2, times=1.5)
    with pytest.raises(ValueError, match="switch_interval_s"):
        lt.race(2, times=10, switch_interval_s=0)


def race_result(workers, lost, lost_locked=(0, 0), unlocked_s=0.1, locked_s=0.3, times=1000):
    expected = workers * times
    return lt.RaceResult(workers, times, tuple(expected - n for n in lost), tuple(expected - n for n in lost_locked),
                         timing(unlocked_s), timing(locked_s))


def test_describe_race_reports_losses_and_the_lock():
    text = lt.describe_race([race_result(1, (0, 0)), race_result(2, (300, 0)), race_result(4, (2000, 1000))])
    assert "1 thread × 1,000: nothing lost: one thread has nobody to race with." in text
    assert "2 threads × 1,000: lost up to 300 of 2,000 updates (15%), in 1 of 2 tries." in text
    assert "4 threads × 1,000: lost up to 2,000 of 4,000 updates (50%), in 2 of 2 tries." in text
    assert "With the lock, every run counted exactly right." in text
    assert "More threads lost more (2 threads: up to 300; 4: up to 2,000)" in text
    assert "3.00× the time without it" in text


def test_describe_race_says_when_nothing_was_lost_by_luck():
    text = lt.describe_race([race_result(2, (0, 0))])
    assert "nothing lost in 2 tries this time" in text and "still wrong" in text
    assert "More threads lost more" not in text


def test_describe_race_does_not_claim_more_loss_when_there_was_less():
    text = lt.describe_race([race_result(2, (900, 0)), race_result(4, (100, 0))])
    assert "More threads lost more" not in text


@pytest.mark.parametrize(("locked_s", "words"), [(0.3, "3.00× the time"), (0.1, "cost little"),
                                                 (0.05, "even faster this time")])
def test_describe_race_words_the_lock_cost_from_the_numbers(locked_s, words):
    assert words in lt.describe_race([race_result(2, (5, 0), locked_s=locked_s)])


def test_describe_race_names_an_unshared_lock():
    text = lt.describe_race([race_result(2, (5, 0), lost_locked=(3, 0))])
    assert "the lock was not shared" in text


def test_plot_race_draws_two_bars_per_count():
    import matplotlib.pyplot as plt

    ax = lt.plot_race([race_result(1, (0, 0)), race_result(2, (300, 0))])
    assert len(ax.patches) == 4
    plt.close(ax.figure)


# --------------------------------------------------------------------------- 3. producer / consumer

@pytest.mark.parametrize("consumers", [1, 3, 8])
def test_pipeline_returns_the_serial_result_in_order(consumers):
    assert lt.run_pipeline(square, range(30), consumers, maxsize=2) == [square(i) for i in range(30)]


def test_pipeline_stops_its_consumers():
    before = threading.active_count()
    lt.run_pipeline(square, range(10), 4)
    assert threading.active_count() == before


def test_pipeline_refuses_bad_input():
    with pytest.raises(ValueError, match="consumers"):
        lt.run_pipeline(square, range(3), 0)
    with pytest.raises(ValueError, match="maxsize"):
        lt.run_pipeline(square, range(3), 2, maxsize=0)


def test_pipeline_sweep_checks_results():
    sweep = lt.pipeline_sweep(square, range(12), [1, 2], repeats=1)
    assert sweep.workers == [1, 2] and sweep.waiting


def test_pipeline_sweep_catches_a_wrong_result():
    calls = []

    def flaky(x):
        calls.append(x)
        return x if len(calls) <= 12 else -1  # right in the serial runs, wrong later

    with pytest.raises(ResultMismatch):
        lt.pipeline_sweep(flaky, range(6), [2], repeats=1)


def pipeline(speedups: dict[int, float], cores: int):
    meta = dataclasses.replace(Metadata.here(), usable_cores=cores)
    measured = [(k, timing(1.0 / s), 0.0, None) for k, s in speedups.items()]
    return build_sweep("queue pipeline", "threads", None, 16, timing(1.0), measured, metadata=meta,
                       waiting=True, estimate=False)


@pytest.mark.parametrize("cores", [1, 2, 4, 64])
def test_describe_pipeline_agrees_with_the_numbers(cores):
    text = lt.describe_pipeline(pipeline({1: 1.0, 8: 7.0}, cores))
    assert text.startswith("queue pipeline: 7.00× on 8 consumers: near the ideal 8.00×")
    assert ("more consumers than cores still helped" in text) == (8 > cores and 7.0 > 1.1 * cores)


def test_describe_pipeline_calls_a_slowdown_slower():
    text = lt.describe_pipeline(pipeline({1: 1.0, 4: 0.5}, 2))
    assert "slower than one" in text and "still helped" not in text
