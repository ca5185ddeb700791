"""Lesson 01a, both builds side by side: the stdlib-only child script, finding the other build,
turning its JSON into a parlab sweep, and the words written from both sweeps.

The real free-threaded path runs when one is installed: PARLAB_FREE_THREADED_PYTHON names it
(CI sets it), or the lesson's default build location holds one; otherwise that test skips.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from parlab.lessons.l01 import builds
from parlab.measure import build_sweep, timing_from
from parlab.results import Metadata, Sweep, format_speedup
from parlab.scripts import ft_threads
from parlab.workloads import fib

pytestmark = pytest.mark.gil  # rerun with PYTHON_GIL=1 on a free-threaded build (.ci/other-pythons)

BUILT_313T = Path("/var/cache/parlab-py/py313t/bin/python3.13t")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", str(builds.SCRIPT), *args], capture_output=True,
                          text=True, timeout=60, check=False)


def _fake_python(folder: Path, name: str, *, free_threaded: bool, version: str = "3.13.5") -> Path:
    """An executable that answers l01_gil.time_fib_in's question like a Python of that build would."""
    path = folder / name
    info = {"version": version, "implementation": "CPython", "free_threaded": free_threaded,
            "gil_enabled": not free_threaded, "seconds": [0.001]}
    path.write_text(f"#!{sys.executable}\nimport json\nprint(json.dumps({info!r}))\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _meta(free: bool, gil_on: bool, cores: int = 2, version: str = "3.13.5") -> Metadata:
    return Metadata(cores, version, "CPython", free, gil_on, "forkserver", "Linux x86_64",
                    "2026-12-01T00:00:00+00:00")


def _sweep(speedups: dict[int, float], serial_s: float, meta: Metadata) -> Sweep:
    measured = [(k, timing_from([serial_s / s] * 3), 0.001, None) for k, s in speedups.items()]
    return build_sweep("fib on threads", "threads", None, 12, timing_from([serial_s] * 3), measured,
                       metadata=meta, estimate=False)



# --------------------------------------------------------------------------- the child script

def test_the_script_reports_a_checked_sweep_under_this_python():
    done = _run("--n", "15", "--tasks", "4", "--workers", "1,2", "--repeats", "2")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["version"] == ".".join(map(str, sys.version_info[:3]))
    # The script runs isolated (-I): PYTHON_GIL is ignored there, so its GIL is its build's default.
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    assert report["free_threaded"] is free_threaded and report["gil_enabled"] is (not free_threaded)
    assert report["results_match"] is True
    assert report["n"] == 15 and report["tasks"] == 4 and len(report["serial"]) == 2
    assert [p["workers"] for p in report["points"]] == [1, 2]
    assert all(len(p["seconds"]) == 2 and p["startup_s"] >= 0 for p in report["points"])


def test_the_script_info_probe_runs_no_work():
    done = _run("--info")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and "points" not in report
    assert set(report) == {"version", "implementation", "executable", "free_threaded", "gil_enabled", "platform"}


@pytest.mark.parametrize(("args", "words"), [
    (["--workers", "0"], "thread counts from 1 to 256"),
    (["--workers", "two"], "whole numbers separated by commas"),
    (["--n", "99"], "--n takes a whole number from 1 to 30"),
    (["--tasks", "0"], "--tasks takes a whole number from 1 to 256"),
    (["--repeats", "x"], "--repeats takes a whole number"),
])
def test_the_script_refuses_bad_input_before_any_work(args, words):
    done = _run(*args)
    assert done.returncode == 2 and words in done.stderr and done.stdout == ""


def test_the_script_uses_the_standard_library_alone_and_parlabs_fib():
    tree = ast.parse(builds.SCRIPT.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
    assert [ft_threads.fib(n) for n in range(20)] == [fib(n) for n in range(20)]


def test_the_script_main_prints_json(capsys):
    assert ft_threads.main(["--n", "10", "--tasks", "2", "--workers", "2", "--repeats", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["points"][0]["workers"] == 2 and report["cpu_count"] == os.cpu_count()


# --------------------------------------------------------------------------- finding the other build

def test_the_environment_variable_wins_over_path(tmp_path):
    named = _fake_python(tmp_path, "my-ft-python", free_threaded=True)
    on_path = tmp_path / "bin"
    on_path.mkdir()
    _fake_python(on_path, "python3.13t", free_threaded=True)
    found, note = builds.find_free_threaded({builds.ENV_VAR: str(named), "PATH": str(on_path)})
    assert found == str(named) and f"from {builds.ENV_VAR}" in note and "3.13.5" in note


def test_path_is_searched_newest_first(tmp_path):
    _fake_python(tmp_path, "python3.13t", free_threaded=True)
    _fake_python(tmp_path, "python3.14t", free_threaded=True, version="3.14.0")
    found, note = builds.find_free_threaded({"PATH": str(tmp_path)})
    assert found == str(tmp_path / "python3.14t") and "on PATH" in note


def test_a_missing_path_says_so(tmp_path):
    missing = tmp_path / "nowhere" / "python3.13t"
    found, note = builds.find_free_threaded({builds.ENV_VAR: str(missing), "PATH": ""})
    assert found is None and "names no file" in note and str(missing) in note and "unset it" in note


def test_a_file_that_cannot_run_says_so(tmp_path):
    plain = tmp_path / "python3.13t"
    plain.write_text("not a program\n")
    plain.chmod(0o644)
    found, note = builds.find_free_threaded({builds.ENV_VAR: str(plain)})
    assert found is None and "not an executable program" in note
    found, note = builds.find_free_threaded({builds.ENV_VAR: str(tmp_path)})
    assert found is None and "not an executable program" in note


def test_a_standard_build_named_by_the_variable_is_refused(tmp_path):
    std = _fake_python(tmp_path, "python3.13", free_threaded=False)
    found, note = builds.find_free_threaded({builds.ENV_VAR: str(std)})
    assert found is None and "a standard build with the GIL, not a free-threaded one" in note


def test_a_program_that_fails_the_probe_is_skipped(tmp_path):
    broken = tmp_path / "python3.13t"
    broken.write_text(f"#!{sys.executable}\nraise SystemExit(3)\n")
    broken.chmod(0o755)
    found, note = builds.find_free_threaded({"PATH": str(tmp_path)})
    assert found is None and "no free-threaded Python found" in note and "did not run" in note


def test_nothing_found_says_what_was_looked_for(tmp_path):
    found, note = builds.find_free_threaded({"PATH": str(tmp_path)})
    assert found is None and builds.ENV_VAR in note and "python3.14t or python3.13t" in note
    for words in ("uv python install 3.14t", "python-freethreading", "ipykernel install --user --name py314t",
                  builds.ENV_VAR, "free-threaded"):
        assert words in builds.HOW_TO_GET_ONE


def test_on_a_free_threaded_kernel_the_gil_build_is_looked_for(monkeypatch):
    monkeypatch.setattr(builds, "find_gil_build", lambda timeout: ("/usr/bin/python3.13", "python3.13 at ..."))
    assert builds.find_other_build(True) == ("/usr/bin/python3.13", "python3.13 at ...")


# --------------------------------------------------------------------------- JSON -> sweep -> words

def test_run_script_refuses_bad_worker_counts():
    for bad in ([], [0], [1, True], ["2"]):
        with pytest.raises(ValueError, match="thread counts"):
            builds.run_script(sys.executable, n=10, tasks=2, workers=bad)


def test_run_script_and_other_build_sweep_under_this_python():
    report = builds.run_script(sys.executable, n=12, tasks=4, workers=[1, 2], repeats=1)
    sweep = builds.other_build_sweep(report)
    here = Metadata.here()
    assert sweep.workers == [1, 2] and sweep.tasks == 4 and sweep.backend == "threads"
    assert sweep.metadata.python == here.python and sweep.metadata.usable_cores == here.usable_cores
    assert sweep.label == f"fib on threads, {builds.build_name(sweep.metadata)}"
    assert sweep.serial.median == pytest.approx(report["serial_median"])


def test_a_child_that_did_not_check_its_results_is_refused(tmp_path):
    liar = tmp_path / "liar"
    liar.write_text(f"#!{sys.executable}\nprint('{{\"results_match\": false, \"points\": []}}')\n")
    liar.chmod(0o755)
    with pytest.raises(ValueError, match="did not report a checked sweep"):
        builds.run_script(str(liar), n=10, tasks=2, workers=[1])


def test_a_sweep_labelled_with_its_build_keeps_its_numbers():
    sweep = _sweep({1: 1.0, 2: 1.9}, 0.3, _meta(True, False))
    named = builds.with_build_label(sweep)
    assert named.label == "fib on threads, CPython 3.13.5 free-threaded (GIL off)"
    assert named.points == sweep.points and named.metadata == sweep.metadata


def test_build_names():
    assert builds.build_name(_meta(True, False)) == "CPython 3.13.5 free-threaded (GIL off)"
    assert builds.build_name(_meta(False, True, version="3.11.7")) == "CPython 3.11.7 (GIL on)"
    assert builds.build_name(_meta(True, True)) == "CPython 3.13.5 free-threaded (GIL on)"


@pytest.mark.parametrize("cores", [2, 16, 64])
def test_both_builds_worded_each_for_its_own_build(cores):
    here = _sweep({1: 1.0, 2: 0.97}, 0.25, _meta(False, True, cores, "3.11.7"))
    other = _sweep({1: 1.0, 2: 1.9}, 0.35, _meta(True, False, cores))
    text = builds.describe_builds(here, other)
    first, second, third = text.splitlines()
    assert first.startswith("CPython 3.11.7 (GIL on): 0.97× on 2 threads: about the same as one")
    assert "take turns" in first
    assert second.startswith("CPython 3.13.5 free-threaded (GIL off): 1.90× on 2 threads: near the ideal")
    assert "There is no GIL in this build" in second
    assert "1.40 times as long in the second" in third and "versions" in third


@pytest.mark.parametrize(("other_serial", "words"), [(0.25, "about the same (1.00 times as long in the second)"),
                                                     (0.20, "1.25 times as long in the first"),
                                                     (0.30, "1.20 times as long in the second")])
def test_one_thread_in_both_builds_follows_the_ratio(other_serial, words):
    here = _sweep({1: 1.0, 2: 1.0}, 0.25, _meta(True, False, 2))
    other = _sweep({1: 1.0, 2: 0.8}, other_serial, _meta(False, True, 2))
    text = builds.describe_builds(here, other)
    assert words in text and "versions" not in text  # the same 3.13: the build's own cost
    assert "slower than one" in text.splitlines()[1] and format_speedup(0.8) in text


def test_a_free_threaded_build_that_did_not_scale_is_not_blamed_on_the_gil():
    here = _sweep({1: 1.0, 2: 1.0}, 0.25, _meta(False, True, 2, "3.11.7"))
    other = _sweep({1: 1.0, 2: 1.0}, 0.30, _meta(True, False, 2))
    line = builds.describe_builds(here, other).splitlines()[1]
    assert "Unexpected without a GIL" in line and "Run the cell again" in line


def test_sweeps_from_different_machines_are_refused():
    with pytest.raises(ValueError, match="same machine"):
        builds.describe_builds(_sweep({2: 1.0}, 0.2, _meta(False, True, 2)),
                               _sweep({2: 1.9}, 0.3, _meta(True, False, 4)))


# --------------------------------------------------------------------------- the real thing

def _real_free_threaded() -> str | None:
    named = os.environ.get(builds.ENV_VAR)
    if named:
        return named
    return str(BUILT_313T) if BUILT_313T.exists() else None


@pytest.mark.skipif(_real_free_threaded() is None, reason="no free-threaded Python installed here")
def test_a_real_free_threaded_python_side_by_side():
    found, note = builds.find_free_threaded({builds.ENV_VAR: str(_real_free_threaded())})
    assert found is not None, note
    report = builds.run_script(found, n=15, tasks=4, workers=[1, 2], repeats=1)
    assert report["free_threaded"] is True and report["results_match"] is True
    sweep = builds.other_build_sweep(report)
    assert "free-threaded" in sweep.label and sweep.metadata.gil_enabled == report["gil_enabled"]
    here = builds.other_build_sweep(builds.run_script(sys.executable, n=15, tasks=4, workers=[1, 2], repeats=1))
    assert "free-threaded" in builds.describe_builds(here, sweep)
