"""Measure and draw lesson 05's MPI programs: the integral's speedup over ranks, ping-pong curves.

The times come from inside the MPI programs (``Barrier``, then ``MPI.Wtime``, the slowest
rank's time), so the launcher's start-up is not in them; it is reported on its own as the
job's wall time minus the program's own time. Results are checked against one rank first.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Iterable
from typing import Any

from matplotlib.axes import Axes

from parlab import launch, system
from parlab._checks import MPI_TIMEOUT_S, check_ranks, check_timeout, check_whole
from parlab.measure import build_sweep, check_same, timing_from
from parlab.mpi import MPIRun, find_launcher, run_mpi
from parlab.plot import DPI, plot_speedup
from parlab.results import Sweep, format_seconds

__all__ = [
    "collective_table",
    "integral_agrees",
    "integral_panel",
    "integral_sweep",
    "median_startup_s",
    "pingpong_curves",
    "plot_pingpong",
    "reference_pingpong",
    "run_integral",
    "run_pingpong",
    "startup_s",
]

Progress = Callable[[int, int], None]


def run_integral(ranks: int, intervals: int = 2_000_000, repeats: int = 3,
                 timeout: float = MPI_TIMEOUT_S) -> MPIRun:
    """Run the midpoint integral on ``ranks`` ranks; data has value, seconds (per repeat), program_s (lesson 05)."""
    timeout = check_timeout(timeout)
    intervals = check_whole("intervals", intervals, 1, 10**9)
    repeats = check_whole("repeats", repeats, 1, 100)
    return run_mpi("integral", ranks, "--intervals", intervals, "--repeats", repeats, timeout=timeout)


def startup_s(run: MPIRun) -> float:
    """Launcher, interpreter and MPI start-up and shutdown: wall time minus the program's own time (lesson 05)."""
    return max(0.0, run.wall_s - float(run.data["program_s"]))


def integral_agrees(expected: float, got: float, tolerance: float) -> bool:
    """Whether an integral's value is within the program's relative tolerance of another's (lesson 05)."""
    return abs(got - expected) <= tolerance * abs(expected)


def integral_sweep(ranks: Iterable[int], *, intervals: int = 2_000_000, repeats: int = 3,
                   timeout: float = MPI_TIMEOUT_S, progress: Progress | None = None) -> Sweep:
    """Time the integral on 1 rank and on each rank count; check every value; return a Sweep (lesson 05)."""
    timeout = check_timeout(timeout)
    counts = [check_ranks(k) for k in ranks]
    if not counts:
        raise ValueError("ranks must list at least one rank count, e.g. [1, 2, 4]")
    total = 1 + len(counts)
    base = run_integral(1, intervals, repeats, timeout)
    serial = timing_from(base.data["seconds"])
    expected, tolerance = float(base.data["value"]), float(base.data["tolerance"])
    if progress:
        progress(1, total)
    measured = []
    for step, k in enumerate(counts, start=2):
        run = base if k == 1 else run_integral(k, intervals, repeats, timeout)
        check_same(expected, float(run.data["value"]),
                   f"the integral on {k} ranks (relative tolerance {tolerance:g})",
                   same=lambda e, g: integral_agrees(e, g, tolerance))
        measured.append((k, timing_from(run.data["seconds"]), startup_s(run), None))
        if progress:
            progress(step, total)
    return build_sweep(f"integral, {intervals:,} intervals", "mpi", None, intervals, serial, measured)


def run_pingpong(max_size: int = 1 << 20, loop: int = 2000, ranks: int = 2,
                 timeout: float = MPI_TIMEOUT_S) -> MPIRun:
    """Ping-pong from 1 byte to ``max_size`` bytes, buffer and pickle modes (lesson 05)."""
    timeout = check_timeout(timeout)
    max_size = check_whole("max_size", max_size, 1, 1 << 26, what="bytes")
    loop = check_whole("loop", loop, 10, 100_000, what="round trips")
    return run_mpi("pingpong", ranks, "--max-size", max_size, "--loop", loop, timeout=timeout)


def pingpong_curves(run: MPIRun) -> dict[str, dict[int, float]]:
    """The ping-pong result as {mode: {bytes: seconds for one trip}} (lesson 05)."""
    sizes = run.data["sizes"]
    return {mode: dict(zip(sizes, secs, strict=True)) for mode, secs in run.data["seconds"].items()}


def reference_pingpong(max_size: int = 1 << 20, loop: int = 2000, pickle: bool = False,
                       min_size: int = 1, timeout: float = MPI_TIMEOUT_S) -> dict[int, float]:
    """``python -m mpi4py.bench pingpong`` on 2 ranks, as {bytes: seconds for one trip} (lesson 05)."""
    timeout = check_timeout(timeout)
    skip, large = max(1, loop // 40), max(1, loop // 10)  # the same counts as parlab's ping-pong
    argv = [find_launcher(), "-n", "2", sys.executable, "-m", "mpi4py.bench", "pingpong",
            "-m", str(min_size), "-n", str(max_size), "-l", str(loop), "-s", str(skip),
            "--loop-large", str(large), "--skip-large", str(max(1, skip // 10))] + (["-p"] if pickle else [])
    done = launch.run(argv, timeout=timeout)
    curve = {}
    for line in done.stdout.splitlines():
        if "|" in line and not line.lstrip().startswith("#"):
            left, right = line.split("|", 1)
            curve[int(left.split()[0])] = float(right.split()[0])
    if not curve:
        raise RuntimeError(f"mpi4py.bench pingpong printed no results:\n{done.stdout[-800:]}")
    return curve


def plot_pingpong(curves: dict[str, dict[int, float]], axes: tuple[Axes, Axes] | None = None) -> tuple[Axes, Axes]:
    """Latency (µs) and bandwidth (MB/s) against message size, one line per curve (lesson 05)."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(10, 3.6), dpi=DPI, layout="constrained")
    lat, bw = axes
    for label, curve in curves.items():
        sizes = sorted(curve)
        # One colour per way of sending; parlab's line solid, mpi4py.bench's dashed.
        colour = "C1" if "pickle" in label else "C0"
        style: dict[str, Any] = {"linestyle": "--", "marker": "x"} if "mpi4py.bench" in label else {"marker": "o"}
        style["color"] = colour
        lat.plot(sizes, [1e6 * curve[s] for s in sizes], label=label, markersize=4, **style)
        bw.plot(sizes, [s / curve[s] / 1e6 for s in sizes], label=label, markersize=4, **style)
    for ax, what in ((lat, "time for one trip (µs)"), (bw, "bandwidth (MB/s)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("message size (bytes)")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3, which="both")
    lat.set_title("Latency: small messages cost a fixed time")
    bw.set_title("Bandwidth: large messages are limited by copying")
    lat.legend(fontsize="small")
    return lat, bw


def collective_table(step: dict[str, Any]) -> str:
    """Who holds what before and after one collective, as a fixed-width text table (lesson 05)."""
    width = max(len("before"), *(len(repr(v)) for v in step["before"])) + 2
    lines = [f"{step['name']}:  {step['call']}", f"  rank  {'before':<{width}}after"]
    for rank, (before, after) in enumerate(zip(step["before"], step["after"], strict=True)):
        lines.append(f"  {rank:>4}  {before!r:<{width}}{after!r}")
    return "\n".join(lines)


def integral_panel(repeats: int = 3) -> Any:
    """Sliders for ranks (1 to 2 × cores) and work size; Run redraws the integral's speedup (lesson 05)."""
    import ipywidgets as w

    from parlab.widgets import Panel, sweep_rows

    top = 2 * system.usable_cores()
    controls = {
        "ranks": w.IntSlider(value=top, min=1, max=top, description="ranks", continuous_update=False),
        "millions": w.IntSlider(value=1, min=1, max=10, description="M intervals",
                                continuous_update=False),
    }

    def measure(values: dict[str, Any], progress: Progress) -> Sweep:
        return integral_sweep(range(1, values["ranks"] + 1), intervals=values["millions"] * 1_000_000,
                              repeats=repeats, progress=progress)

    def draw(sweep: Sweep, ax: Axes) -> None:
        plot_speedup(sweep, ax, title=f"MPI integral: speedup over ranks ({sweep.metadata.usable_cores} cores)")
        ax.set_xlabel("ranks (mpiexec -n)")

    def rows(sweep: Sweep) -> list[dict[str, str]]:
        return [{"ranks": row.pop("workers"), **row, "start-up": format_seconds(point.startup_s)}
                for row, point in zip(sweep_rows(sweep), sweep.points, strict=True)]

    return Panel(controls, measure, draw, rows, title="Parallel integral with MPI")


def median_startup_s(runs: Iterable[MPIRun]) -> float:
    """Median start-up of several runs (the bench's mpiexec_startup_ms)."""
    return statistics.median(startup_s(r) for r in runs)
