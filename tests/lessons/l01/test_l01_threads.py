"""Lesson 01b, sections 1 and 3: threads by hand and a queue pipeline; and their conclusion writers."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from parlab.lessons.l01 import threads as lt
from parlab.measure import ResultMismatch, build_sweep
from parlab.results import Metadata, Timing

pytestmark = pytest.mark.gil  # rerun with PYTHON_GIL=1 on a free-threaded build (.ci/other-pythons)


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
