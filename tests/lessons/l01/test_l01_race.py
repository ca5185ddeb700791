"""Lesson 01b, section 2: a race that really loses updates, the lock that really fixes it, and the words about them."""

from __future__ import annotations

import sys
import threading

import pytest

from parlab.lessons.l01 import race as lr
from parlab.results import Timing


def timing(seconds: float) -> Timing:
    return Timing((seconds, seconds, seconds))


# --------------------------------------------------------------------------- 2. a race and a lock

@pytest.mark.slow
def test_the_race_really_loses_updates():
    # Four threads started together; a few tries, so that one lucky run cannot hide the race.
    lost = [n for _ in range(3) for n in lr.race(4, times=100_000, tries=2).lost]
    assert max(lost) > 0, f"no update lost in {len(lost)} runs of 4 threads"


@pytest.mark.slow
def test_the_race_loses_updates_with_a_short_switch_interval_too_and_restores_it():
    before = sys.getswitchinterval()
    lost = [n for _ in range(3) for n in lr.race(4, times=50_000, tries=2, switch_interval_s=1e-3).lost]
    assert sys.getswitchinterval() == before
    assert max(lost) > 0, f"no update lost in {len(lost)} runs of 4 threads"


@pytest.mark.slow
def test_the_lock_fixes_it():
    result = lr.race(4, times=50_000, tries=3, switch_interval_s=1e-4)
    assert result.locked == (200_000,) * 3
    assert result.lost_locked == (0, 0, 0)


def test_one_thread_loses_nothing():
    result = lr.race(1, times=10_000, tries=2)
    assert result.lost == (0, 0) and result.locked == (10_000, 10_000)


def test_bump_locked_counts_exactly_on_threads():
    counter, lock = lr.Counter(), threading.Lock()
    threads = [threading.Thread(target=lr.bump_locked, args=(counter, 5_000, lock)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert counter.value == 15_000


def test_race_refuses_bad_input():
    with pytest.raises(ValueError, match="workers"):
        lr.race(0)
    with pytest.raises(TypeError, match="times"):
        lr.race(2, times=1.5)
    with pytest.raises(ValueError, match="switch_interval_s"):
        lr.race(2, times=10, switch_interval_s=0)


def race_result(workers, lost, lost_locked=(0, 0), unlocked_s=0.1, locked_s=0.3, times=1000):
    expected = workers * times
    return lr.RaceResult(workers, times, tuple(expected - n for n in lost), tuple(expected - n for n in lost_locked),
                         timing(unlocked_s), timing(locked_s))


def test_describe_race_reports_losses_and_the_lock():
    text = lr.describe_race([race_result(1, (0, 0)), race_result(2, (300, 0)), race_result(4, (2000, 1000))])
    assert "1 thread × 1,000: nothing lost: one thread has nobody to race with." in text
    assert "2 threads × 1,000: lost up to 300 of 2,000 updates (15%), in 1 of 2 tries." in text
    assert "4 threads × 1,000: lost up to 2,000 of 4,000 updates (50%), in 2 of 2 tries." in text
    assert "With the lock, every run counted exactly right." in text
    assert "More threads lost more (2 threads: up to 300; 4: up to 2,000)" in text
    assert "3.00× the time without it" in text


def test_describe_race_says_when_nothing_was_lost_by_luck():
    text = lr.describe_race([race_result(2, (0, 0))])
    assert "nothing lost in 2 tries this time" in text and "still wrong" in text
    assert "More threads lost more" not in text


def test_describe_race_does_not_claim_more_loss_when_there_was_less():
    text = lr.describe_race([race_result(2, (900, 0)), race_result(4, (100, 0))])
    assert "More threads lost more" not in text


@pytest.mark.parametrize(("locked_s", "words"), [(0.3, "3.00× the time"), (0.1, "cost little"),
                                                 (0.05, "even faster this time")])
def test_describe_race_words_the_lock_cost_from_the_numbers(locked_s, words):
    assert words in lr.describe_race([race_result(2, (5, 0), locked_s=locked_s)])


def test_describe_race_names_an_unshared_lock():
    text = lr.describe_race([race_result(2, (5, 0), lost_locked=(3, 0))])
    assert "the lock was not shared" in text


def test_plot_race_draws_two_bars_per_count():
    import matplotlib.pyplot as plt

    ax = lr.plot_race([race_result(1, (0, 0)), race_result(2, (300, 0))])
    assert len(ax.patches) == 4
    plt.close(ax.figure)


def test_the_race_panel_counts_without_and_with_a_lock():
    panel = lr.race_panel(tries=2)
    panel.controls["threads"].value, panel.controls["thousands"].value = 2, 10
    (result,) = panel.run()
    assert result.workers == 2 and result.expected == 20_000 and result.lost_locked == (0, 0)
    assert panel.image.value  # the plot was drawn
    assert "with a Lock: lost" in panel.table.value
