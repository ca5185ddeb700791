"""Lesson 05's MPI programs and their launcher: every program at -n 1, 2 and 4, and every failure mode."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parlab import mpi, system
from parlab.lessons.l05.mpi import collective_table, integral_sweep, pingpong_curves, reference_pingpong
from parlab.workloads import count_primes, fib

pytestmark = pytest.mark.mpi
SIZES = [1, 2, 4]
TIMEOUT = 60


# --------------------------------------------------------------------------- MPI never starts here

@pytest.mark.slow
def test_importing_the_programs_does_not_start_mpi():
    code = ("import sys, parlab.mpi, parlab.lessons.l05.mpi, parlab.lessons.l05.blocking, "
            "parlab.lessons.l05.programs, parlab.lessons.l05.exercises_a, parlab.lessons.l05.exercises_b, "
            "parlab.benches.mpi\n"
            + "".join(f"import {m}\n" for m in mpi.PROGRAMS.values())
            + "assert 'mpi4py.MPI' not in sys.modules, 'mpi4py.MPI imported'\nprint('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# --------------------------------------------------------------------------- every program, 1/2/4 ranks

@pytest.mark.parametrize("n", SIZES)
def test_hello_lists_every_rank_in_order(mpiexec, n):
    run = mpi.run_mpi("hello", n, timeout=TIMEOUT)
    assert run.data["size"] == n
    assert [r["rank"] for r in run.data["ranks"]] == list(range(n))
    assert {r["size"] for r in run.data["ranks"]} == {n}
    assert len({r["pid"] for r in run.data["ranks"]}) == n  # n separate processes
    assert run.command == f"mpiexec -n {n} python -m mpi4py -m parlab.scripts.mpi_hello"


@pytest.mark.parametrize("n", SIZES)
def test_ring_passes_the_message_around(mpiexec, n):
    run = mpi.run_mpi("ring", n, timeout=TIMEOUT)
    assert run.data["message"] == "".join(f"P{r}" for r in range(n))


@pytest.mark.parametrize("n", SIZES)
def test_pingpong_times_every_size_in_both_modes(mpiexec, n):
    run = mpi.run_mpi("pingpong", n, "--max-size", 1024, "--loop", 20, "--skip", 2, timeout=TIMEOUT)
    curves = pingpong_curves(run)
    assert set(curves) == {"buffer", "pickle"}
    for curve in curves.values():
        assert sorted(curve) == [1 << i for i in range(11)]
        assert all(t > 0 for t in curve.values())
    assert all(10 <= trips <= 20 for mode in curves for trips in run.data["trips"][mode])


@pytest.mark.parametrize("n", SIZES)
def test_collectives_leave_the_documented_values(mpiexec, n):
    steps = {s["name"]: s for s in mpi.run_mpi("collectives", n, timeout=TIMEOUT).data["collectives"]}
    total = n * (n + 1) // 2
    assert steps["bcast"]["after"] == [{"step": 0.5, "n": 100}] * n
    assert steps["scatter"]["after"] == [[2 * r, 2 * r + 1] for r in range(n)]
    assert steps["gather"]["after"] == [[r * r for r in range(n)]] + [None] * (n - 1)
    assert steps["reduce"]["after"] == [total] + [None] * (n - 1)
    assert steps["allreduce"]["after"] == [total] * n
    assert collective_table(steps["reduce"]).splitlines()[2].split() == ["0", "1", str(total)]


@pytest.mark.parametrize("n", SIZES)
def test_integral_is_pi_within_tolerance_at_every_size(mpiexec, n):
    run = mpi.run_mpi("integral", n, "--intervals", 10_000, "--repeats", 2, timeout=TIMEOUT)
    assert abs(run.data["value"] - math.pi) < 1e-8  # midpoint rule error ~ 1/(12 N²)
    assert len(run.data["seconds"]) == 2 and all(t > 0 for t in run.data["seconds"])


@pytest.mark.parametrize("n", SIZES)
def test_futures_gives_the_serial_results(mpiexec, n):
    run = mpi.run_mpi("futures", n, "--tasks", 6, "--fib", 15, timeout=TIMEOUT)
    assert run.data["results"] == [fib(15)] * 6
    assert run.data["workers"] == max(1, n - 1)  # rank 0 runs the program; 1 rank spawns a worker
    assert run.command.startswith(f"mpiexec -n {n} python -m mpi4py.futures -m ")


@pytest.mark.parametrize("n", SIZES)
def test_primes_counts_every_window_in_task_order(mpiexec, n):
    windows = [(lo, lo + 500) for lo in range(10_000, 13_500, 500)]  # 7 windows: uneven over 2 and 4 ranks
    run = mpi.run_mpi("primes", n, json.dumps(windows), timeout=TIMEOUT)
    assert run.data["results"] == [count_primes(lo, hi) for lo, hi in windows]
    assert run.data["size"] == n


def test_primes_refuses_windows_that_are_not_pairs(mpiexec):
    with pytest.raises(mpi.RankFailed, match="windows must be a JSON list"):
        mpi.run_mpi("primes", 1, "[[1, 2, 3]]", timeout=TIMEOUT)


def test_integral_sweep_checks_values_and_reports_startup(mpiexec):
    sweep = integral_sweep([1, 2], intervals=20_000, repeats=2)
    assert sweep.workers == [1, 2] and sweep.backend == "mpi"
    assert all(p.startup_s > 0 for p in sweep.points)


def test_reference_pingpong_is_parsed(mpiexec):
    curve = reference_pingpong(max_size=64, loop=20)
    assert sorted(curve) == [1, 2, 4, 8, 16, 32, 64] and all(t > 0 for t in curve.values())


def test_a_hostfile_listing_this_machine_runs(mpiexec, tmp_path):
    hostfile = mpi.write_hostfile(tmp_path / "hosts", {"localhost": 2})
    run = mpi.run_mpi("hello", 2, hostfile=hostfile, timeout=TIMEOUT)
    assert [r["rank"] for r in run.data["ranks"]] == [0, 1]
    assert " -f " in run.command or " --hostfile " in run.command


def test_run_source_runs_a_program_text(mpiexec):
    source = ("from mpi4py import MPI\nfrom parlab.scripts.mpi_common import report\n"
              "comm = MPI.COMM_WORLD\nreport(comm, {'total': comm.allreduce(comm.Get_rank())})\n")
    assert mpi.run_source(source, 3, timeout=TIMEOUT).data["total"] == 3


def test_run_source_runs_a_pool_program_under_mpi4py_futures(mpiexec):
    source = ("from mpi4py import MPI\nfrom mpi4py.futures import MPIPoolExecutor\n"
              "from parlab.scripts.mpi_common import report\n"
              "if __name__ == '__main__':\n"
              "    with MPIPoolExecutor() as pool:\n"
              "        squares = list(pool.map(abs, [-1, -2, -3]))\n"
              "        workers = pool.num_workers\n"
              "    report(MPI.COMM_WORLD, {'squares': squares, 'workers': workers})\n")
    run = mpi.run_source(source, 3, timeout=TIMEOUT, futures=True)
    assert run.data == {"size": 3, "squares": [1, 2, 3], "workers": 2}
    assert "-m mpi4py.futures" in run.command


# --------------------------------------------------------------------------- failures

@pytest.mark.faults
def test_a_rank_that_raises_ends_the_job_with_its_traceback(mpiexec):
    start = time.perf_counter()
    with pytest.raises(mpi.RankFailed) as info:
        mpi.run_mpi("ring", 4, "--fail-rank", 2, timeout=TIMEOUT)
    assert time.perf_counter() - start < TIMEOUT / 2  # aborted, not left to the timeout
    err = info.value
    assert err.returncode != 0 and err.rank == 2
    assert "RuntimeError: rank 2 was asked to fail" in err.traceback
    assert "mpi_ring.py" in str(err) and "<frozen runpy>" not in err.traceback


def test_the_failing_rank_is_named_even_when_the_mpi_library_line_is_lost():
    # MPICH's "Abort(1) on node 2 (rank 2 in comm 0)" comes after the traceback and can be lost
    # while mpiexec tears the job down; the program's own line before the traceback is not.
    from parlab.launch import Completed
    from parlab.scripts.mpi_common import FAILED_TAG

    stderr = (f"{FAILED_TAG}2\nTraceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
              "RuntimeError: rank 2 was asked to fail\n")
    err = mpi._failed("ring", Completed(("mpiexec",), 1, "", stderr, 0.1))
    assert err.rank == 2 and err.traceback.endswith("RuntimeError: rank 2 was asked to fail")
    assert FAILED_TAG not in err.traceback
    lost = mpi._failed("ring", Completed(("mpiexec",), 1, "", "Traceback (most recent call last):\nX\n", 0.1))
    assert lost.rank is None and "a rank stopped it" in str(lost)


def test_a_traceback_cut_by_another_ranks_lines_still_names_the_exception():
    # Three ranks raise at once: the last traceback in stderr can be cut by another rank's Abort
    # line before its exception line; the learner still reads what was raised.
    from parlab.launch import Completed
    from parlab.scripts.mpi_common import FAILED_TAG

    raised = "ValueError: the exchange needs exactly 2 ranks (mpiexec -n 2), got 3"
    stderr = (f"{FAILED_TAG}1\nTraceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
              f"{raised}\n{FAILED_TAG}2\nTraceback (most recent call last):\n"
              "Abort(1) on node 1 (rank 1 in comm 0): application called MPI_Abort\n")
    err = mpi._failed("exchange", Completed(("mpiexec",), 1, "", stderr, 0.1))
    assert err.traceback.endswith(raised) and "exactly 2 ranks" in str(err)


@pytest.mark.faults
def test_futures_program_error_ends_the_job(mpiexec):
    with pytest.raises(mpi.RankFailed, match="--tasks and --workers"):
        mpi.run_mpi("futures", 2, "--tasks", 0, timeout=TIMEOUT)


@pytest.mark.faults
def test_a_deadlock_hits_the_timeout_and_every_rank_is_stopped(mpiexec):
    start = time.perf_counter()
    with pytest.raises(mpi.MPITimeout, match="deadlock") as info:
        mpi.run_mpi("ring", 3, "--stall-rank", 1, timeout=2)
    assert time.perf_counter() - start < 15  # timeout plus the group's grace period
    assert isinstance(info.value.stderr, str) and isinstance(info.value.stdout, str)  # what the ranks wrote
    # the session fixture in conftest.py fails the run if any rank were left alive


@pytest.mark.faults
def test_a_launcher_of_another_mpi_is_detected(mpiexec, fake_mpiexec):
    # A launcher that starts N unrelated copies: each initialises MPI alone, as size 1.
    with pytest.raises(mpi.WrongSize, match=r"asked .* for 3 ranks.*size\(s\) \[1, 1, 1\]"):
        mpi.run_mpi("hello", 3, mpiexec=fake_mpiexec, timeout=TIMEOUT)


@pytest.mark.faults
def test_missing_launcher_names_the_install_command(monkeypatch):
    monkeypatch.setattr(system, "find_mpiexec", lambda: None)
    with pytest.raises(mpi.LauncherNotFound, match="pip install mpi4py mpich"):
        mpi.run_mpi("hello", 2)
    with pytest.raises(mpi.LauncherNotFound, match="not an executable"):
        mpi.run_mpi("hello", 2, mpiexec="/nonexistent/mpiexec")


@pytest.mark.faults
@pytest.mark.parametrize("ranks,kind", [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError),
                                        ("4", TypeError), (None, TypeError), (10_000, ValueError)])
def test_bad_rank_counts_are_refused_before_launching(ranks, kind):
    with pytest.raises(kind, match="ranks must be a whole number from 1 to"):
        mpi.run_mpi("hello", ranks, mpiexec="/nonexistent/mpiexec")  # type: ignore[arg-type]


@pytest.mark.faults
def test_bad_programs_and_timeouts_are_refused(tmp_path):
    with pytest.raises(ValueError, match="program must be one of hello, ring"):
        mpi.mpiexec_argv("nope", 2)
    with pytest.raises(ValueError, match="timeout must be"):
        mpi.run_source("print(1)", 2, timeout=0)
    with pytest.raises(TypeError, match="futures must be True or False"):
        mpi.mpiexec_argv("hello", 2, futures="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hostfile"):
        mpi.mpiexec_argv("hello", 2, hostfile=tmp_path / "missing", mpiexec=sys.executable)
    assert mpi.check_ranks(mpi.max_ranks()) == mpi.max_ranks()
    assert Path(mpi.write_hostfile(tmp_path / "h", {"a": 1, "b": 2})).read_text() == "a:1\nb:2\n"


def test_result_lines_run_together_by_several_copies_count_as_several():
    from parlab import launch
    from parlab.scripts.mpi_common import RESULT_TAG

    line = f'{RESULT_TAG}{{"size": 1}}{RESULT_TAG}{{"size": 1}}\n{RESULT_TAG}{{"si'
    done = launch.Completed(("mpiexec",), 0, line, "", 0.1)
    with pytest.raises(mpi.WrongSize, match=r"3 process\(es\)"):
        mpi._parse("hello", 3, "mpiexec", done)
