"""Lesson 07's conclusion writers over the regimes learners meet: 1, 2, 16 and 64 cores, slowdowns, noise."""

from __future__ import annotations

import pytest

from parlab.lessons.l07 import words
from parlab.lessons.l07.measure import Granularity
from parlab.measure import build_sweep, timing_from
from parlab.results import Metadata


def sweep(cores: int, points: dict[int, list[float]], serial: float = 1.0, startup: float = 1.5):
    meta = Metadata(cores, "3.11.7", "CPython", False, True, "spawn", "linux", "2026-12-06T00:00:00+00:00")
    measured = [(k, timing_from(ts), startup, None) for k, ts in points.items()]
    return build_sweep("fib on dask", "dask", None, 16, timing_from([serial] * 3), measured, metadata=meta)


@pytest.mark.parametrize(("cores", "points", "said"), [
    (2, {1: [1.0] * 3, 2: [0.52] * 3}, "1.92× on 2 dask workers: near the ideal 2.00×"),
    (16, {1: [1.0] * 3, 8: [0.2] * 3, 16: [0.1] * 3}, "10.00× on 16 dask workers: 62% of the ideal 16.00×"),
    (64, {1: [1.0] * 3, 64: [0.018] * 3}, "55.56× on 64 dask workers: near the ideal 64.00×"),
    (1, {1: [1.02] * 3, 2: [1.05] * 3}, "about the same as one (a single worker)"),
])
def test_cluster_regimes(cores, points, said):
    text = words.describe_cluster(sweep(cores, points))
    assert said in text and "Starting that cluster took 1.500 s" in text
    assert ("1 usable core" in text) == (cores == 1)
    assert "Note:" not in text


def test_a_slowdown_is_called_one_and_explained():
    text = words.describe_cluster(sweep(2, {1: [1.0] * 3, 2: [1.9] * 3}))
    assert "slower than one, taking 1.90 times as long" in text and "cost more to send" in text
    assert "near the ideal" not in text


def test_a_noisy_sweep_says_so():
    text = words.describe_cluster(sweep(2, {1: [1.0] * 3, 2: [0.4, 0.55, 0.9]}))
    assert "Note: the repeats ranged from" in text


@pytest.mark.parametrize(("eager", "lazy", "serial", "said", "not_said"), [
    (0.20, 0.001, 0.20, ["about the same as the serial loop", "every fib ran at once", "200 times less"], ["busy"]),
    (0.40, 0.001, 0.20, ["2.0 times the serial loop", "every fib ran at once"], ["busy"]),
    (0.05, 0.001, 0.20, ["4.0 times less than the serial loop", "timed apart"], ["every fib ran", "other programs"]),
    (0.20, 0.19, 0.20, ["no less here"], ["times less:"]),
])
def test_delayed_never_contradicts_its_numbers(eager, lazy, serial, said, not_said):
    text = words.describe_delayed(eager, lazy, serial)
    for part in said:
        assert part in text, text
    for part in not_said:
        assert part not in text, text
    with pytest.raises(ValueError, match="positive"):
        words.describe_delayed(0, lazy, serial)


def grain(dask_each: float, pool_each: float, chunked: float, batched: float) -> Granularity:
    return Granularity(400, dask_each, pool_each, chunked, batched, 50, 2)


def test_granularity_on_a_quiet_and_a_busy_machine():
    quiet = words.describe_granularity(grain(2.5e-3, 100e-6, 5e-6, 80e-6))
    assert "2.5 ms an item: 25 times a ProcessPoolExecutor sending them one by one (100 µs)" in quiet
    assert "500 times one sending chunks of 50 (5 µs)" in quiet and "31 times less than one task per item" in quiet
    busy = words.describe_granularity(grain(1e-3, 1e-3, 1e-3, 1e-3))
    assert "about the same as a ProcessPoolExecutor" in busy and "no gain here" in busy
    assert "far more than a pipe" not in busy


def test_times_and_per_item():
    assert words.times(10, 1) == "10 times" and words.times(1.5, 1) == "1.5 times"
    assert words.times(1, 1.1) == "about the same as" and words.times(1, 3) == "3.0 times less than"
    assert words.per_item(35e-6) == "35 µs" and words.per_item(2.4e-3) == "2.4 ms"
    with pytest.raises(ValueError):
        words.times(0, 1)


@pytest.mark.parametrize(("started", "said"), [
    ({0: [11, 22], 1: [22], 2: [11, 22]}, "had started tasks 0, 2; each of them ran again"),
    ({0: [11, 22], 1: [22]}, "had started task 0; each of them ran again"),
    ({0: [22], 1: [22]}, "had started none of these tasks"),
    ({0: [11], 1: [22]}, "0 of them ran again"),
])
def test_rerun_follows_the_logs(started, said):
    text = words.describe_rerun(started, 11, results_right=True)
    assert said in text and f"All {len(started)} results arrived" in text


def test_rerun_with_wrong_results_does_not_claim_success():
    text = words.describe_rerun({0: [11, 22]}, 11, results_right=False)
    assert "do not match" in text and "arrived and match" not in text
