"""Lesson 06's helpers: reference sets (CSV + machine JSON), every backend's adapter, the laws panel, the guide."""

from __future__ import annotations

import csv
import json

import pytest

from parlab import system
from parlab.lessons.l06 import backends, guide, reference, strategy
from parlab.measure import ResultMismatch, amdahl_speedup, gustafson_speedup

SMALL = backends.workload_tasks(4, width=300)  # a few milliseconds of work
EXPECTED = backends.python_serial(SMALL)


def _rows(name="threads", cores=2):
    return [{"backend": "serial", "workers": 1, "median_s": 0.5, "mad_s": 0.01, "speedup": 1.0,
             "efficiency": 1.0, "baseline": "python", "startup_s": 0.0}] + [
        {"backend": name, "workers": k, "median_s": 0.5 / k, "mad_s": 0.001, "speedup": float(k),
         "efficiency": 1.0, "baseline": "python", "startup_s": 0.01} for k in range(1, cores + 1)]


def _save(root, name, cores, rows=None, workload=None):
    meta = reference.machine_metadata(name) | {"usable_cores": cores}
    if workload is not None:  # a set of the same work as the sweeps it is compared with
        meta["workload"] = workload
    return reference.save_reference(rows or _rows(cores=cores), meta, root / name)


# --------------------------------------------------------------------------- saving and loading

def test_csv_round_trip(tmp_path):
    rows = _rows(cores=3)
    folder = _save(tmp_path, "box", 3, rows)
    with open(folder / reference.CSV_NAME, newline="") as fh:
        assert tuple(next(csv.reader(fh))) == reference.COLUMNS
    loaded = reference.load_reference("box", root=tmp_path)
    assert loaded.name == "box"
    assert len(loaded.rows) == len(rows)
    for got, want in zip(loaded.rows, rows, strict=True):
        assert got["backend"] == want["backend"] and got["workers"] == want["workers"]
        for key in ("median_s", "mad_s", "speedup", "efficiency", "startup_s"):
            assert got[key] == pytest.approx(want[key], rel=1e-5)
    assert loaded.backends == ["serial", "threads"]


def test_machine_metadata_names_the_machine():
    meta = reference.machine_metadata("here")
    for key in ("name", "usable_cores", "logical_cpus", "cpu_model", "python", "implementation",
                "gil_enabled", "start_method", "mpi", "date", "workload"):
        assert key in meta, key
    assert meta["usable_cores"] == system.usable_cores()
    assert meta["cpu_model"] and meta["python"].count(".") == 2
    assert meta["date"].endswith("+00:00")
    json.dumps(meta)  # it must be storable as JSON


def test_load_reference_without_a_name_picks_the_nearest_core_count(tmp_path, monkeypatch):
    _save(tmp_path, "small", 2)
    _save(tmp_path, "big", 16)
    (tmp_path / "not-a-set").mkdir()  # a folder without both files is not a set
    assert reference.list_references(tmp_path) == ["big", "small"]
    monkeypatch.setattr(system, "usable_cores", lambda: 12)
    assert reference.load_reference(root=tmp_path).name == "big"
    monkeypatch.setattr(system, "usable_cores", lambda: 4)
    assert reference.load_reference(root=tmp_path).name == "small"


def test_load_reference_errors_say_what_exists(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"python -m parlab\.lessons\.l06\.reference --save"):
        reference.load_reference(root=tmp_path)
    _save(tmp_path, "box", 2)
    with pytest.raises(ValueError, match="available: box"):
        reference.load_reference("nope", root=tmp_path)


def test_reference_speedups_feed_plot_speedup(tmp_path):
    _save(tmp_path, "box", 3)
    ref = reference.load_reference("box", root=tmp_path)
    assert reference.reference_speedups(ref, "threads") == {1: 1.0, 2: 2.0, 3: 3.0}
    with pytest.raises(ValueError, match="has no 'mpi' rows; it has serial, threads"):
        reference.reference_speedups(ref, "mpi")


def test_shipped_reference_set_loads():
    names = reference.list_references()
    assert "2-core-ci" in names
    ref = reference.load_reference("2-core-ci")
    assert ref.machine["usable_cores"] == 2 and ref.machine["workload"] == backends.describe_workload()
    assert {"serial", "threads", "processes"} <= set(ref.backends)
    assert set(reference.reference_speedups(ref, "processes")) == {1, 2, 3, 4}


# --------------------------------------------------------------------------- measuring

def test_measure_backends_checks_results_and_fills_every_column():
    sweeps, skipped = reference.measure_backends(["threads", "processes"], [1, 2], tasks=SMALL,
                                                 repeats=1, warmup=0)
    assert list(sweeps) == ["serial", "threads", "processes"] and skipped == {}
    rows = reference.reference_rows(sweeps)
    assert [(r["backend"], r["workers"]) for r in rows] == [
        ("serial", 1), ("threads", 1), ("threads", 2), ("processes", 1), ("processes", 2)]
    for r in rows:
        assert set(reference.COLUMNS) <= set(r)
        assert r["median_s"] > 0 and r["speedup"] > 0
        assert r["efficiency"] == pytest.approx(r["speedup"] / r["workers"])
    assert "speedup" in reference.format_table(rows)


def test_a_warm_up_runs_two_tasks_a_worker_and_is_checked_too():
    tasks = backends.workload_tasks(12, width=300)
    expected = backends.python_serial(tasks)
    seen = []

    def run(part):
        seen.append(len(part))
        return backends.python_serial(part)

    timing, got = reference._timed(run, tasks, expected, 2, 1, "threads with 3 workers", 3)
    assert seen == [6, 12, 12] and got == expected and len(timing.values) == 2
    with pytest.raises(ResultMismatch, match=r"threads with 3 workers \(warm-up\)"):
        reference._timed(lambda part: [0] * len(part), tasks, expected, 1, 1, "threads with 3 workers", 3)


def test_bad_input_is_refused_before_work():
    with pytest.raises(ValueError, match="choose from threads, processes"):
        backends.backend_status(["gpu"])
    with pytest.raises(ValueError, match="workers must be"):
        reference.measure_backends(["threads"], [0], tasks=SMALL)
    with pytest.raises(ValueError, match="tasks and width must be >= 1"):
        backends.workload_tasks(0)


def test_a_missing_backend_is_skipped_with_its_reason(monkeypatch):
    missing = backends.Backend("mpi", "MPI ranks", "python", backends.STRATEGIES["mpi"].open,
                               lambda: "no mpiexec here")
    monkeypatch.setitem(backends.STRATEGIES, "mpi", missing)
    sweeps, skipped = reference.measure_backends(["mpi"], [1], tasks=SMALL, repeats=1, warmup=0)
    assert skipped == {"mpi": "no mpiexec here"} and list(sweeps) == ["serial"]
    with pytest.raises(RuntimeError, match="no mpiexec here"):
        backends.run_once("mpi", 1, SMALL)


def test_default_workers():
    assert backends.default_workers(2) == [1, 2, 3, 4]
    assert backends.default_workers(2, oversubscribe=False) == [1, 2]
    assert backends.default_workers(16) == [1, 2, 4, 8, 16, 32]
    assert backends.default_workers(1, oversubscribe=False) == [1]


def test_kernel_threads_return_the_serial_results(require):
    require(backends.backend_status(["kernel-threads"])["kernel-threads"] is None,
            "the compiled kernels", "install a C compiler and run pip install -e .")
    assert backends.run_once("kernel-threads", 2, SMALL) == EXPECTED


def test_child_scripts_return_the_serial_results():
    assert backends.run_once("children", 2, SMALL) == EXPECTED


@pytest.mark.mpi
def test_mpi_ranks_return_the_serial_results(require):
    require(system.find_mpiexec() is not None, "mpiexec", "pip install mpi4py mpich")
    assert backends.run_once("mpi", 2, SMALL) == EXPECTED


def test_command_line_saves_a_set(tmp_path, capsys):
    out = tmp_path / "cli-box"
    assert reference.main(["--backends", "threads", "--workers", "1", "2", "--repeats", "1",
                           "--tasks", "2", "--save", str(out)]) == 0
    assert "saved to" in capsys.readouterr().out
    ref = reference.load_reference("cli-box", root=tmp_path)
    assert ref.machine["workload"] == backends.describe_workload(2) and ref.machine["repeats"] == 1
    assert ref.backends == ["serial", "threads"]


def test_command_line_refuses_bad_numbers(tmp_path):
    with pytest.raises(SystemExit):
        reference.main(["--repeats", "0"])
    with pytest.raises(SystemExit):
        reference.main(["--backends", "gpu"])


# --------------------------------------------------------------------------- laws, panel, guide

def test_laws_and_gustafson_fit():
    curves = strategy.laws(0.1, 8)
    assert curves["amdahl"][7] == pytest.approx(amdahl_speedup(0.1, 8))
    assert curves["gustafson"][7] == pytest.approx(gustafson_speedup(0.1, 8))
    exact = {k: gustafson_speedup(0.2, k) for k in (1, 2, 4, 8)}
    assert strategy.fit_gustafson(exact) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="more than one worker"):
        strategy.fit_gustafson({1: 1.0})
    with pytest.raises(ValueError, match="fraction must be a number from 0 to 1"):
        strategy.laws(1.5, 8)


def test_laws_panel_redraws_on_run_and_on_a_slider():
    panel = strategy.laws_panel({1: 1.0, 2: 1.8}, {1: 1.0, 2: 1.9}, reference={2: 1.9, 4: 3.5},
                                fraction=0.05, max_workers=8)
    result = panel.run()
    assert result["fraction"] == 0.05 and result["strong"] == {1: 1.0, 2: 1.8}
    assert panel.image.value[:4] == b"\x89PNG"
    assert "Gustafson" in panel.table.value and "measured (scaled)" in panel.table.value
    first = panel.image.value
    panel.controls["fraction"].value = 0.25  # a slider alone starts nothing, as in every panel
    assert panel.result["fraction"] == 0.05
    panel.click()
    assert panel.status.value.startswith("done")
    assert panel.result["fraction"] == 0.25 and panel.image.value != first
    panel.widget.close()


def test_decision_guide_gives_a_measured_reason_for_each_case():
    sweeps, _ = reference.measure_backends(["threads", "processes"], [1, 2], tasks=SMALL,
                                           repeats=1, warmup=0)
    skipped = {"kernel-threads": "no compiler here", "mpi": "no mpiexec here"}
    lines = guide.decision_guide(sweeps, skipped, io=(0.4, 0.05, 8.0), c_threads=(0.2, 0.1, 2.0))
    text = "\n".join(lines)
    for case in ("I/O-bound", "CPU-bound pure Python", "C code that releases the GIL", "More than one machine"):
        assert case in text
    assert "8.00×" in text and "no compiler here" in text and "no mpiexec here" in text


def test_compare_rows_and_plot(tmp_path):
    sweeps, _ = reference.measure_backends(["threads"], [1, 2], tasks=SMALL, repeats=1, warmup=0)
    _save(tmp_path, "box", 2, workload=sweeps["serial"].workload)
    ref = reference.load_reference("box", root=tmp_path)
    rows = strategy.compare_rows(sweeps, ref)
    assert rows[1] == {"backend": "threads", "workers": "1", "here": rows[1]["here"], "box": "1.00×"}
    assert "box" in strategy.text_table(rows)
    ax = strategy.plot_backends(sweeps, ref)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["ideal", "threads (here)", "threads (box)"]
    import matplotlib.pyplot as plt
    plt.close(ax.figure)


def test_scaled_speedups_check_results():
    scaled = strategy.scaled_speedups([1, 2], per_worker=2, repeats=1)
    assert set(scaled) == {1, 2} and all(s > 0 for s in scaled.values())



def test_a_new_backend_appears_as_a_row_everywhere(monkeypatch):
    # Another helper registers a backend (e.g. subinterpreters) in l06_backends.STRATEGIES:
    # the table, the plot, the guide and exercise 1 must show it without a change here.
    new = backends.Backend("interpreters", "subinterpreters", "python",
                           backends.STRATEGIES["threads"].open)
    monkeypatch.setitem(backends.STRATEGIES, "interpreters", new)
    sweeps, _ = reference.measure_backends(["threads", "interpreters"], [1, 2], tasks=SMALL,
                                           repeats=1, warmup=0)
    rows = reference.reference_rows(sweeps)
    assert [(r["backend"], r["workers"]) for r in rows][-2:] == [("interpreters", 1), ("interpreters", 2)]
    assert "interpreters" in reference.format_table(rows)
    ax = strategy.plot_backends(sweeps)
    assert "interpreters (here)" in [t.get_text() for t in ax.get_legend().get_texts()]
    import matplotlib.pyplot as plt
    plt.close(ax.figure)
    text = "\n".join(guide.decision_guide(sweeps, {}, io=(0.4, 0.05, 8.0), c_threads=(0.2, 0.1, 2.0)))
    assert "subinterpreters (interpreters), also in your table:" in text

    from parlab.lessons.l06 import exercises_a as ex

    fastest = min(rows, key=lambda r: r["median_s"])["backend"]
    assert next(iter(ex.fastest(rows))) == fastest
