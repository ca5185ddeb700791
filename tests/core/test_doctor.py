"""``python -m parlab.doctor``: one line per need, the fix for each missing one, exit 0 only when the core runs.

Each test starts from a machine where every probe answers "found" (``healthy``), takes one
need away by replacing its probe, and reads the lines and the exit status a learner sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from parlab import doctor, system

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = {"numpy": "2.0.0", "matplotlib": "3.9.0", "jupyterlab": "4.2.0", "ipykernel": "6.29.0",
            "ipywidgets": "8.1.0", "redis": "5.0.0"}
REAL_PROBE_MPI, REAL_PROBE_REDIS, REAL_RUN_CHILD = doctor.probe_mpi, doctor.probe_redis, doctor.run_child


@pytest.fixture
def healthy(monkeypatch):
    """Every probe of the doctor answers as on a fully set-up machine; returns the versions table to edit."""
    versions = dict(VERSIONS)
    monkeypatch.setattr(doctor, "python_version", lambda: (3, 12))
    monkeypatch.setattr(system, "free_threaded_build", lambda: False)
    monkeypatch.setattr(system, "gil_enabled", lambda: True)
    monkeypatch.setattr(system, "usable_cores", lambda: 4)
    monkeypatch.setattr(doctor, "version_of", versions.get)
    monkeypatch.setattr(doctor, "module_found", lambda name: True)
    monkeypatch.setattr(system, "find_compiler", lambda: "/usr/bin/cc")
    monkeypatch.setattr(doctor, "kernels_built", lambda: (True, "Compiled kernels: Cython ✓  C API ✓"))
    monkeypatch.setattr(system, "find_mpiexec", lambda: "/venv/bin/mpiexec")
    monkeypatch.setattr(doctor, "probe_mpi", lambda: {"size": 2, "ranks": [{"rank": 0}, {"rank": 1}],
                                                      "library": "MPICH Version: 5.0.2"})
    monkeypatch.setattr(doctor, "probe_redis", lambda: (True, "started a local redis-server on 127.0.0.1"))

    def child(code: str, timeout: float = doctor.CHILD_TIMEOUT_S) -> dict | str:
        if code == doctor.NUMBA_CODE:
            return {"version": "0.68.1", "value": 499500}
        if code == doctor.DASK_CODE:
            return {"dask": "2026.8.0", "distributed": "2026.8.0"}
        raise AssertionError(f"unexpected child code {code!r}")

    monkeypatch.setattr(doctor, "run_child", child)
    return versions


def run(capsys, *argv: str) -> tuple[int, str]:
    code = doctor.main(list(argv))
    return code, capsys.readouterr().out


def line(out: str, name: str) -> str:
    """The need's line and the fix/affects lines under it."""
    lines = out.splitlines()
    start = next(i for i, text in enumerate(lines) if text.split()[1:2] == name.split()[:1]
                 and text[9:].startswith(name))
    block = [lines[start]]
    for text in lines[start + 1:]:
        if not text.startswith(" "):
            break
        block.append(text)
    return "\n".join(block)


def words(text: str) -> str:
    """The text with every run of white space made one space (the columns' padding varies)."""
    return " ".join(text.split())


def test_a_healthy_machine_prints_ok_on_every_line_and_exits_0(healthy, capsys):
    code, out = run(capsys)
    assert code == 0
    for name in ("Python", "GIL", "cores", "packages", "Jupyter", "C compiler", "MPI", "Redis", "Numba", "Dask"):
        assert line(out, name).startswith("ok "), line(out, name)
    assert "4 usable of" in line(out, "cores")
    assert "2 ranks answered (MPICH Version: 5.0.2)" in line(out, "MPI")
    assert "dask and distributed 2026.8.0" in line(out, "Dask")
    assert out.rstrip().endswith("Everything optional is here too.")


def test_no_compiler_names_the_fix_and_lesson_03_but_exits_0(healthy, capsys, monkeypatch):
    monkeypatch.setattr(system, "find_compiler", lambda: None)
    monkeypatch.setattr(doctor, "kernels_built", lambda: (False, "Compiled kernels MISSING: Cython"))
    monkeypatch.setattr(sys, "platform", "linux")
    code, out = run(capsys)
    assert code == 0
    text = line(out, "C compiler")
    assert words(text).startswith("missing C compiler none found")
    assert "fix: sudo apt-get install -y build-essential && " in text and "-m pip install -e ." in text
    assert "without it: 03 runs a pure-Python fallback" in text
    assert "Optional, missing: C compiler (see above)." in out


def test_a_compiler_without_built_kernels_says_rebuild(healthy, capsys, monkeypatch):
    monkeypatch.setattr(doctor, "kernels_built", lambda: (False, "Compiled kernels MISSING: Cython, C API."))
    code, out = run(capsys)
    assert code == 0
    text = line(out, "C compiler")
    assert "/usr/bin/cc, but Compiled kernels MISSING: Cython, C API." in text
    assert "-m pip install -v -e ." in text


def test_no_mpiexec_gives_the_pip_command_and_names_lessons_05(healthy, capsys, monkeypatch):
    monkeypatch.setattr(system, "find_mpiexec", lambda: None)
    monkeypatch.setattr(sys, "platform", "linux")
    code, out = run(capsys)
    assert code == 0
    text = line(out, "MPI")
    assert "no mpiexec next to Python or on PATH" in text
    assert "-m pip install mpi4py mpich" in text and "05a and 05b need it" in text


def test_mpiexec_that_fails_the_two_rank_test_is_missing(healthy, capsys, monkeypatch):
    monkeypatch.setattr(doctor, "probe_mpi", lambda: "asked mpiexec for 2 ranks, but 2 process(es) reported size(s) "
                                                     "[1, 1]: this mpiexec belongs to another MPI library")
    code, out = run(capsys)
    assert code == 0
    text = line(out, "MPI")
    assert text.startswith("missing  MPI")
    assert "the two-rank test failed: asked mpiexec for 2 ranks" in text and "fix: " in text


def test_a_two_rank_test_that_sees_one_rank_is_missing(healthy, capsys, monkeypatch):
    monkeypatch.setattr(doctor, "probe_mpi", lambda: {"size": 2, "ranks": [{"rank": 0}]})
    _, out = run(capsys)
    assert "the two-rank test saw ranks [0], size 2" in line(out, "MPI")


def test_mpi4py_missing_beside_a_launcher(healthy, capsys, monkeypatch):
    monkeypatch.setattr(doctor, "module_found", lambda name: name != "mpi4py")
    _, out = run(capsys)
    assert "/venv/bin/mpiexec, but mpi4py is not installed" in line(out, "MPI")


@pytest.mark.mpi
def test_a_launcher_of_another_mpi_fails_the_real_two_rank_test(healthy, capsys, monkeypatch, fake_mpiexec, require):
    require(doctor.module_found("mpi4py"), "mpi4py", "pip install mpi4py mpich")
    monkeypatch.setattr(doctor, "probe_mpi", REAL_PROBE_MPI)
    monkeypatch.setattr(system, "find_mpiexec", lambda: str(fake_mpiexec))
    code, out = run(capsys)
    assert code == 0
    text = line(out, "MPI")
    assert text.startswith("missing  MPI") and "the two-rank test failed" in text, text


def test_no_redis_says_how_to_get_it_and_what_lesson_04_skips(healthy, capsys, monkeypatch):
    monkeypatch.setattr(doctor, "probe_redis", REAL_PROBE_REDIS)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr("parlab.coord.localredis.redis_server_binary", lambda: None)
    monkeypatch.setattr(sys, "platform", "linux")
    code, out = run(capsys)
    assert code == 0
    text = line(out, "Redis")
    assert "no Redis server here: REDIS_URL is not set and no redis-server program was found" in text
    assert "fix: sudo apt-get install -y redis-server" in text
    assert "04's section 5 (the same job through Redis) is skipped" in text


def test_an_unreachable_redis_url_says_so(healthy, capsys, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(doctor, "probe_redis", lambda: (False, "REDIS_URL is set, but no server answers"))
    _, out = run(capsys)
    text = line(out, "Redis")
    assert "REDIS_URL is set, but no server answers" in text
    assert "fix: start the server REDIS_URL names, or unset REDIS_URL" in text


def test_no_redis_client(healthy, capsys):
    del healthy["redis"]
    _, out = run(capsys)
    assert "the redis client is not installed" in line(out, "Redis") and "-m pip install redis" in line(out, "Redis")


def test_no_numba_runs_a_real_child_and_names_the_import_error(healthy, capsys, monkeypatch):
    monkeypatch.setattr(doctor, "run_child", REAL_RUN_CHILD)
    monkeypatch.setattr(doctor, "NUMBA_CODE", "import numba_is_not_installed_here")
    monkeypatch.setattr(doctor, "DASK_CODE", 'import json; print(json.dumps({"dask": "1", "distributed": "1"}))')
    code, out = run(capsys)
    assert code == 0
    text = line(out, "Numba")
    assert "a tiny njit function failed: ModuleNotFoundError: No module named 'numba_is_not_installed_here'" in text
    assert "-m pip install numba" in text and "03's Numba part" in text


def test_a_numba_that_computes_wrong_is_missing(healthy, capsys, monkeypatch):
    monkeypatch.setattr(doctor, "run_child", lambda code, timeout=0: {"version": "0.1", "value": 0, "dask": "1",
                                                                      "distributed": "1"})
    _, out = run(capsys)
    assert "numba 0.1 compiled a function that returned 0, not 499500" in line(out, "Numba")


def test_mismatched_dask_versions(healthy, capsys, monkeypatch):
    monkeypatch.setattr(doctor, "run_child", lambda code, timeout=0: {"dask": "2026.11.0",
                                                                      "distributed": "2026.8.0"}
                        if code == doctor.DASK_CODE else {"version": "0.68.1", "value": 499500})
    code, out = run(capsys)
    assert code == 0
    text = line(out, "Dask")
    assert "dask 2026.11.0 but distributed 2026.8.0: they must be the same version" in text
    assert "-m pip install -r requirements.txt   (pins dask and distributed to one version)" in text
    assert "07 (Dask) needs it" in text


@pytest.mark.slow
def test_a_child_that_hangs_is_stopped_by_its_timeout():
    said = REAL_RUN_CHILD("import time; time.sleep(30)", timeout=1)
    assert said == "did not finish within 1 s"


def test_free_threaded_build_with_the_gil_back_on(healthy, capsys, monkeypatch):
    monkeypatch.setattr(system, "free_threaded_build", lambda: True)
    code, out = run(capsys)
    assert code == 0
    text = line(out, "GIL")
    assert words(text).startswith("missing GIL on, in a free-threaded build")
    assert "fix: export PYTHON_GIL=0" in text


def test_free_threaded_build_with_the_gil_off_is_ok(healthy, capsys, monkeypatch):
    monkeypatch.setattr(system, "free_threaded_build", lambda: True)
    monkeypatch.setattr(system, "gil_enabled", lambda: False)
    _, out = run(capsys)
    assert words(line(out, "GIL")) == "ok GIL off (a free-threaded build)"


def test_one_usable_core_is_said_but_not_fatal(healthy, capsys, monkeypatch):
    monkeypatch.setattr(system, "usable_cores", lambda: 1)
    code, out = run(capsys)
    assert code == 0
    assert "with 1 core no speedup can show" in line(out, "cores")


@pytest.mark.parametrize(("broken", "name"), [
    ("old python", "Python"), ("numpy", "packages"), ("matplotlib", "packages"), ("ipywidgets", "Jupyter"),
    ("no jupyter at all", "Jupyter")])
def test_a_core_need_missing_exits_1(healthy, capsys, monkeypatch, broken, name):
    if broken == "old python":
        monkeypatch.setattr(doctor, "python_version", lambda: (3, 10))
    elif broken == "no jupyter at all":
        del healthy["jupyterlab"], healthy["ipykernel"]
    else:
        del healthy[broken]
    code, out = run(capsys)
    assert code == 1
    assert line(out, name).startswith("MISSING")
    assert "fix: " in line(out, name)
    assert out.rstrip().splitlines()[-1].startswith(f"NOT ready: the lessons cannot run until {name} is fixed")


def test_ipykernel_without_jupyterlab_is_enough(healthy, capsys):
    del healthy["jupyterlab"]
    code, out = run(capsys)
    assert code == 0
    assert "no JupyterLab, ipykernel 6.29.0" in line(out, "Jupyter")


def test_a_check_that_raises_becomes_a_line(healthy, capsys, monkeypatch):
    def broken() -> tuple[bool, str]:
        raise OSError("disk on fire")

    monkeypatch.setattr(doctor, "kernels_built", broken)
    code, out = run(capsys)
    assert code == 0
    assert "missing compiler the check itself failed: OSError: disk on fire" in words(out)


def test_json_has_every_need(healthy, capsys, monkeypatch):
    monkeypatch.setattr(system, "find_mpiexec", lambda: None)
    code, out = run(capsys, "--json")
    data = json.loads(out)
    assert code == 0 and data["ready"] is True
    needs = {n["name"]: n for n in data["needs"]}
    assert set(needs) == {"Python", "GIL", "cores", "packages", "Jupyter", "C compiler", "MPI", "Redis", "Numba",
                          "Dask"}
    assert needs["MPI"]["ok"] is False and "mpi4py" in needs["MPI"]["fix"] and needs["MPI"]["core"] is False
    assert needs["Python"]["core"] is True


@pytest.mark.mpi
@pytest.mark.redis
@pytest.mark.slow
def test_the_real_run_here_exits_0(mpiexec):
    done = subprocess.run([sys.executable, "-m", "parlab.doctor", "--json"], check=False, cwd=ROOT,
                          capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert data["ready"] is True
    needs = {n["name"]: n for n in data["needs"]}
    assert needs["MPI"]["ok"], needs["MPI"]
