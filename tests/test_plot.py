"""Plots draw what they are given on the axes they are given, and touch no global style."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")  # tests only: notebooks keep the inline backend

import matplotlib.pyplot as plt
import pytest

from parlab.measure import speedup_sweep
from parlab.plot import plot_efficiency, plot_speedup, plot_timeline
from parlab.run import run_tasks
from parlab.workloads import fib


@pytest.fixture(scope="module")
def sweep():
    return speedup_sweep(fib, [14] * 6, backend="threads", workers=[1, 2, 3], repeats=1)


def test_speedup_plot_has_ideal_line_fit_and_labels(sweep):
    before = dict(plt.rcParams)
    fig, ax = plt.subplots()
    assert plot_speedup(sweep, ax=ax, reference={1: 1.0, 2: 1.9}) is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("ideal") for label in labels)
    assert any("Amdahl" in label for label in labels)
    assert "reference machine" in labels
    assert f"{sweep.metadata.usable_cores} usable cores" in ax.get_title()
    assert "workers" in ax.get_xlabel() and "speedup" in ax.get_ylabel()
    assert dict(plt.rcParams) == before
    plt.close(fig)


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
