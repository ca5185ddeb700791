"""Plots draw what they are given on the axes they are given, and touch no global style."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")  # tests only: notebooks keep the inline backend

import matplotlib.pyplot as plt
import pytest

from parlab.measure import amdahl_speedup, build_sweep, speedup_sweep, timing_from
from parlab.plot import plot_efficiency, plot_speedup, plot_timeline
from parlab.results import Metadata, Sweep
from parlab.run import run_tasks
from parlab.workloads import fib


@pytest.fixture(scope="module")
def sweep():
    return speedup_sweep(fib, [14] * 6, backend="threads", workers=[1, 2, 3], repeats=1)


def test_speedup_plot_has_ideal_line_and_labels(sweep):
    before = dict(plt.rcParams)
    fig, ax = plt.subplots()
    assert plot_speedup(sweep, ax=ax, reference={1: 1.0, 2: 1.9}) is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("ideal") for label in labels)
    assert "reference machine" in labels
    assert f"{sweep.metadata.usable_cores} usable cores" in ax.get_title()
    assert "workers" in ax.get_xlabel() and "speedup" in ax.get_ylabel()
    assert dict(plt.rcParams) == before
    plt.close(fig)


def _meta(cores: int) -> Metadata:
    return Metadata(cores, "3.13.0", "CPython", False, True, "fork", "Linux x86_64", "2026-12-01T10:00:00+00:00")


def _synthetic(cores: int, ks: range, fraction: float = 0.1, **options: bool) -> Sweep:
    measured = [(k, timing_from([1 / amdahl_speedup(fraction, min(k, cores))]), 0.0, None) for k in ks]
    return build_sweep("synthetic", "processes", None, 64, timing_from([1.0]), measured, metadata=_meta(cores),
                       **options)


def _line(ax, prefix: str):
    found = [line for line in ax.get_lines() if line.get_label().startswith(prefix)]
    assert len(found) == 1, [line.get_label() for line in ax.get_lines()]
    return found[0]


@pytest.mark.parametrize(("cores", "top"), [(1, 4), (2, 4), (16, 24), (64, 8)])
def test_a_cpu_bound_ideal_stops_rising_at_the_cores_and_says_so(cores, top):
    fig, ax = plt.subplots()
    plot_speedup(_synthetic(cores, range(1, top + 1)), ax=ax)
    ideal = _line(ax, "ideal: one core per worker")
    assert f"up to the {cores} usable core" in ideal.get_label()
    xs, ys = ideal.get_data()
    assert list(ys) == [min(k, cores) for k in xs] and max(xs) == top
    assert not any(line.get_label().startswith("ideal for waiting") for line in ax.get_lines())
    shaded = [p for p in ax.patches if p.get_label() == "more workers than cores"]
    assert len(shaded) == (1 if top > cores else 0)
    plt.close(fig)


def test_a_waiting_ideal_is_the_worker_count_past_the_cores():
    fig, ax = plt.subplots()
    plot_speedup(_synthetic(2, range(1, 9), fraction=0.0, waiting=True, estimate=False), ax=ax)
    xs, ys = _line(ax, "ideal for waiting tasks: speedup = workers").get_data()
    assert list(ys) == list(xs) and max(xs) == 8
    assert not any("Amdahl" in line.get_label() for line in ax.get_lines())  # no estimate, no law
    plt.close(fig)


def test_amdahls_law_is_drawn_only_for_an_estimate_and_only_over_the_cores():
    fig, ax = plt.subplots()
    plot_speedup(_synthetic(16, range(1, 25)), ax=ax)
    law = _line(ax, "Amdahl's law, estimated serial fraction 0.10 (15 points)")
    assert max(law.get_xdata()) == 16  # the estimate came from 2..16 workers: not projected past them
    plt.close(fig)
    for no_law in (_synthetic(16, range(1, 9), estimate=False), _synthetic(16, range(1, 9), fraction=0.0),
                   _synthetic(1, range(1, 4))):
        fig, ax = plt.subplots()
        plot_speedup(no_law, ax=ax)
        assert not any("Amdahl" in line.get_label() for line in ax.get_lines())
        plt.close(fig)
    fig, ax = plt.subplots()
    plot_speedup(_synthetic(16, range(1, 9)), ax=ax, fit=False)
    assert not any("Amdahl" in line.get_label() for line in ax.get_lines())
    plt.close(fig)


def test_efficiency_ideal_is_100_up_to_the_cores_then_shared_for_cpu_work():
    fig, ax = plt.subplots()
    plot_efficiency([_synthetic(2, range(1, 9)), _synthetic(2, range(1, 9), waiting=True)], ax=ax)
    xs, ys = _line(ax, "ideal: 100 % up to the").get_data()
    assert list(ys) == pytest.approx([100 * min(k, 2) / k for k in xs])
    _, waiting = _line(ax, "ideal for waiting tasks: 100 %").get_data()
    assert set(waiting) == {100}
    plt.close(fig)
    superlinear = _synthetic(4, range(1, 5), fraction=-0.1)  # above 100 % efficiency: stays in view
    ax = plot_efficiency(superlinear)
    assert ax.get_ylim()[1] > 100 * max(p.efficiency for p in superlinear.points)
    plt.close("all")


def test_efficiency_and_timeline_return_their_axes(sweep):
    ax = plot_efficiency(sweep)
    assert ax.get_ylabel() == "efficiency (%)"
    run = run_tasks(fib, [15, 16, 17, 18], backend="threads", workers=2)
    ax2 = plot_timeline(run)
    assert len(ax2.patches) == 4  # one bar per task
    workers = len({s.worker for s in run.timeline})
    assert [t.get_text() for t in ax2.get_yticklabels()] == ["worker 0", "worker 1"][:workers]
    plt.close("all")


def test_speedup_plot_needs_data():
    with pytest.raises(ValueError, match="at least one Sweep"):
        plot_speedup([])


def test_more_than_16_workers_get_matplotlibs_own_ticks():
    # A big machine's sweep: once crashed in set_xticks(None) for plot_speedup and plot_efficiency.
    wide = speedup_sweep(fib, [10] * 20, backend="threads", workers=[1, 20], repeats=1, warmup=0)
    for plot in (plot_speedup, plot_efficiency):
        fig, ax = plt.subplots()
        assert plot(wide, ax=ax) is ax
        assert len(ax.get_xticks()) < 20  # not one per worker count
        plt.close(fig)
