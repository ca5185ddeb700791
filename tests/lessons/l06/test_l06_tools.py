"""Lesson 06's higher-level tools: timed against the serial run with equal results, worded as measured."""

from __future__ import annotations

import asyncio
import re

import pytest

from parlab.lessons.l06 import guide, tools
from parlab.measure import ResultMismatch, build_sweep
from parlab.results import Metadata, Sweep, Timing


def _meta(cores: int, gil: bool = True) -> Metadata:
    return Metadata(cores, "3.13.0", "CPython", not gil, gil, "fork", "linux", "2026-01-01T00:00:00+00:00")


def _sweep(name: str, cores: int, times: dict[int, float], serial: float = 1.0, gil: bool = True) -> Sweep:
    measured = [(k, Timing((t,) * 3), 0.01, None) for k, t in times.items()]
    return build_sweep(name, name, None, 64, Timing((serial,) * 3), measured, metadata=_meta(cores, gil))


def _sweeps(cores: int, proc_s: float, kernel_s: float | None = None, gil: bool = True) -> dict[str, Sweep]:
    ks = sorted({1, cores})
    out = {"serial": _sweep("serial", cores, {1: 1.0}, gil=gil),
           "threads": _sweep("threads", cores, dict.fromkeys(ks, 1.0), gil=gil),
           "processes": _sweep("processes", cores, {k: (proc_s if k == cores else 1.05) for k in ks}, gil=gil)}
    if kernel_s is not None:  # its own baseline: the kernel in one thread, 20 times faster than Python
        out["kernel-threads"] = _sweep("kernel-threads", cores, dict.fromkeys(ks, kernel_s), serial=0.05, gil=gil)
    return out


def _run(name: str, speedup: float, workers: int, *, waiting: bool = False, what: str = "workers",
         serial_s: float = 1.0) -> tools.ToolRun:
    return tools.ToolRun(name, serial_s, serial_s / speedup, workers, waiting, what)


# --------------------------------------------------------------------------- measuring


def test_time_tool_checks_results_and_keeps_the_median():
    base = tools.baseline(lambda: [1, 2, 3], repeats=2)
    assert base.results == [1, 2, 3] and base.seconds > 0
    run = tools.time_tool("same", lambda: (1, 2, 3), base, workers=2, repeats=2)
    assert run.speedup == pytest.approx(base.seconds / run.seconds) and run.workers == 2
    with pytest.raises(ResultMismatch):
        tools.time_tool("wrong", lambda: [1, 2, 4], base, workers=2, repeats=1)
    with pytest.raises(ValueError, match="workers must be a whole number >= 1"):
        tools.time_tool("none", lambda: [1, 2, 3], base, workers=0)


def test_run_async_works_inside_a_running_loop_and_passes_errors_on():
    async def square(x):
        await asyncio.sleep(0)
        return x * x

    async def fail():
        raise KeyError("lost")

    async def inside():  # what a notebook cell is: a loop already running
        return tools.run_async(square, 7)

    assert asyncio.run(inside()) == 49
    with pytest.raises(KeyError, match="lost"):
        tools.run_async(fail)
    with pytest.raises(TimeoutError, match=r"did not finish within 0\.1 s"):
        tools.run_async(asyncio.sleep, 1, timeout=0.1)


def test_tool_status_names_every_tool():
    status = tools.tool_status()
    assert list(status) == list(tools.TOOLS) and status["asyncio"] is None
    assert all(why is None or "install" in why or "mpiexec" in why for why in status.values())


# --------------------------------------------------------------------------- words


@pytest.mark.parametrize(("speedup", "words"), [(12.0, "faster than the loop without any parallelism"),
                                                (1.02, "about the same as the loop"),
                                                (0.5, "slower than the loop, taking 2.00 times as long")])
def test_one_core_tools_are_not_called_superlinear(speedup, words):
    text = tools.describe_tool(_run("numpy", speedup, 1), 8)
    assert words in text and "superlinear" not in text and text.startswith(f"{speedup:.2f}× on one core")


def test_waiting_tools_compare_with_the_worker_count_not_the_cores():
    text = tools.describe_tool(_run("asyncio", 45.0, 50, waiting=True, what="coroutines"), 2)
    assert "45.00× on 50 coroutines: near the ideal 50.00× (waiting tasks need no core" in text


def test_best_parallel_ranks_by_time_over_the_python_loop():
    sweeps = _sweeps(4, proc_s=0.3, kernel_s=0.02)
    name, k, speedup = tools.best_parallel(sweeps, 4)
    assert (name, k) == ("kernel-threads", 1) and speedup == pytest.approx(50.0)  # ties: fewest workers
    assert tools.best_parallel({"serial": sweeps["serial"]}, 4) is None
    assert tools.best_parallel({}, 4) is None


@pytest.mark.parametrize(("numpy_x", "words"), [(30.0, "vectorising beat it by 10.00×"),
                                               (3.1, "about the same as vectorising"),
                                               (1.5, "here it beat vectorising by 2.00×")])
def test_numpy_line_compares_with_the_fastest_backend(numpy_x, words):
    text = "\n".join(tools.tool_lines({"numpy": _run("numpy", numpy_x, 1)}, {}, _sweeps(4, proc_s=1 / 3), 4))
    assert "The fastest backend in your table, processes on 4 workers, ran 3.00× faster" in text
    assert words in text and f"{numpy_x:.2f}×" in text


@pytest.mark.parametrize("cores", [1, 2, 8, 64])
def test_tool_lines_say_what_each_number_says_on_any_core_count(cores):
    runs = {"asyncio": _run("asyncio", 1.0, 50, waiting=True, what="coroutines"),
            "joblib": _run("joblib", 0.8, cores, what="processes"),
            "mpi4py.futures": _run("mpi4py.futures", 0.3, cores, what="ranks")}
    text = "\n".join(tools.tool_lines(runs, {"numpy": "numpy is not installed: pip install numpy."},
                                      _sweeps(cores, proc_s=1.25), cores))
    assert "here they did not: run the cell again" in text  # 1.00× on 50 waits is no overlap
    assert "0.80× on" in text and "slower than one, taking 1.25 times as long" in text
    assert "0.30× on" in text and "launch included" in text
    assert "numpy was not measured: numpy is not installed: pip install numpy." in text
    assert "ProcessPoolExecutor in your table: 0.80×" in text  # the table's point at the same k
    assert not re.search(r"\b0\.\d+× on \d+ \w+: (near|above)", text)


def test_format_tools_prints_one_row_per_tool():
    table = tools.format_tools({"numpy": _run("numpy", 4.0, 1, serial_s=0.8)})
    assert table.splitlines()[1].split() == ["numpy", "1", "0.800", "s", "0.200", "s", "4.00×"]


# --------------------------------------------------------------------------- the guide with tools


def test_decision_guide_adds_the_tools_and_any_new_backend():
    sweeps = _sweeps(2, proc_s=0.55)
    sweeps["interpreters"] = _sweep("subinterpreters", 2, {1: 1.0, 2: 0.6})
    lines = guide.decision_guide(sweeps, {}, io=(0.4, 0.05, 8.0), c_threads=(0.2, 0.11, 1.8),
                                 tools={"numpy": _run("numpy", 20.0, 1)},
                                 tools_skipped={"joblib": "joblib is not installed: pip install joblib"})
    text = "\n".join(lines)
    assert "subinterpreters (interpreters), also in your table: 1.67× on 2 workers" in text
    assert "vectorising beat it by" in text and "joblib was not measured: joblib is not installed" in text
    plain = guide.decision_guide(_sweeps(2, proc_s=0.55), {}, io=(0.4, 0.05, 8.0), c_threads=(0.2, 0.11, 1.8))
    assert not any("vectoris" in line or "also in your table" in line for line in plain)


def test_mpi_futures_line_sets_the_pool_start_up_beside_the_launch():
    sweeps = _sweeps(2, proc_s=0.55)
    sweeps["mpi"] = build_sweep("mpi", "mpi", None, 64, Timing((1.0,) * 3),
                                [(k, Timing((0.8,) * 3), 0.6, None) for k in (1, 2)], metadata=_meta(2))
    text = "\n".join(tools.tool_lines({"mpi4py.futures": _run("mpi4py.futures", 0.9, 2, what="ranks")}, {},
                                      sweeps, 2))
    assert "a process pool starts sooner: your table's process pool started in 0.010 s" in text
    assert "mpiexec's launch took 0.600 s" in text
    slow_pool = {**sweeps, "mpi": build_sweep("mpi", "mpi", None, 64, Timing((1.0,) * 3),
                                              [(2, Timing((0.8,) * 3), 0.001, None)], metadata=_meta(2))}
    assert "no sooner than MPI ranks" in "\n".join(
        tools.tool_lines({"mpi4py.futures": _run("mpi4py.futures", 0.9, 2)}, {}, slow_pool, 2))
    assert "started in" not in "\n".join(
        tools.tool_lines({"mpi4py.futures": _run("mpi4py.futures", 0.9, 2)}, {}, _sweeps(2, proc_s=0.55), 2))
