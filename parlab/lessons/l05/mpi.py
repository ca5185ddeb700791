"""Measure and draw lesson 05's MPI programs: the integral's speedup over ranks, ping-pong curves.

The times come from inside the MPI programs (``Barrier``, then ``MPI.Wtime``, the slowest
rank's time), so the launcher's start-up is not in them; it is reported on its own as the
job's wall time minus the program's own time. Results are checked against one rank first.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes

from parlab import launch, system
from parlab._checks import MPI_TIMEOUT_S, check_ranks, check_timeout, check_whole
from parlab.lessons.words import (
    SAME_HIGH,
    SAME_LOW,
    describe_speedup,
    noisiest_warning,
    point_at_cores,
)
from parlab.measure import build_sweep, check_same, timing_from
from parlab.mpi import MPIRun, find_launcher, run_mpi
from parlab.plot import DPI, plot_speedup
from parlab.results import Sweep, format_seconds, format_speedup

__all__ = [
    "AGREE",
    "collective_table",
    "compare_pingpong",
    "describe_futures",
    "describe_integral",
    "describe_pingpong",
    "format_bytes",
    "integral_agrees",
    "integral_panel",
    "integral_summary",
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
AGREE = 0.25  # two ping-pong figures "agree" when the larger is at most 25 % above the smaller


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
    # No serial-fraction estimate: the timed part has no serial code to estimate (each rank
    # sums its own block), and start-up is reported on its own.
    return build_sweep("midpoint integral", "mpi", None, intervals, serial, measured, estimate=False)


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
    lat.set_title("Time for one trip")
    bw.set_title("Bandwidth: size over time")
    lat.legend(fontsize="small")
    return lat, bw


def format_bytes(nbytes: int) -> str:
    """A message size as 8 B, 64 KiB, 1 MiB (lesson 05)."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale and nbytes % scale == 0:
            return f"{nbytes // scale} {unit}"
    return f"{nbytes} B"


def _fixed_cost(curve: Mapping[int, float]) -> tuple[int, float, int, bool]:
    # The fastest of the four smallest messages (size, seconds: the fixed cost), the largest size
    # under twice that time, and whether a smaller size went over it (noise).
    sizes = sorted(curve)
    fastest = min(sizes[:4], key=lambda n: curve[n])
    floor = curve[fastest]
    last = max(n for n in sizes if curve[n] < 2 * floor)
    return fastest, floor, last, any(curve[n] >= 2 * floor for n in sizes if n < last)


def describe_pingpong(curves: Mapping[str, Mapping[int, float]], *, small: int = 8, big: int = 1 << 20,
                      buffer: str = "parlab buffer", pickled: str = "parlab pickle") -> str:
    """Send/Recv against send/recv from the measured curves: small and large messages, the fixed cost (lesson 05).

    ``curves`` is {label: {bytes: seconds for one trip}}; ``small`` and ``big`` must be sizes of both.
    """
    buf, pkl = curves[buffer], curves[pickled]
    for size in (small, big):
        if size not in buf or size not in pkl:
            raise ValueError(f"both curves need a {size}-byte point; they have {sorted(set(buf) & set(pkl))}")
    b, p = buf[small], pkl[small]
    ratio = p / b
    head = f"{format_bytes(small)} message: Send/Recv {1e6 * b:.1f} µs, send/recv {1e6 * p:.1f} µs: "
    if ratio > SAME_HIGH:
        head += f"pickling made a trip take {ratio:.2f} times as long ({1e6 * (p - b):.1f} µs more)."
    elif ratio < SAME_LOW:
        head += (f"send/recv was faster this time ({ratio:.2f} times the Send/Recv time), although it "
                 "does more work (pickling): noise in one of the runs; run the cell again.")
    else:
        head += f"about the same ({ratio:.2f} times the Send/Recv time)."
    lines = [head]
    bb, bp = big / buf[big] / 1e6, big / pkl[big] / 1e6
    line = f"{format_bytes(big)} message: Send/Recv {bb:.0f} MB/s, send/recv {bp:.0f} MB/s"
    if bb > bp * SAME_HIGH:
        line += f": the buffer way moved {bb / bp:.1f} times as many bytes per second."
    elif bp > bb * SAME_HIGH:
        line += f": send/recv moved {bp / bb:.1f} times as many bytes per second this time."
    else:
        line += ": about the same."
    lines.append(line)
    for name, curve in (("Send/Recv", buf), ("send/recv", pkl)):
        fastest, floor, last, bumps = _fixed_cost(curve)
        line = (f"{name}: the fastest small message ({format_bytes(fastest)}) took {1e6 * floor:.1f} µs; "
                f"messages up to {format_bytes(last)} took less than twice that")
        if bumps:
            line += " (though some smaller ones took longer: noise)"
        if last < 1024:
            line += ": past that the size, more than the fixed cost, sets the time."
        else:
            line += (": below that size the fixed cost per message dominates, so send few large messages "
                     "rather than many small ones.")
        lines.append(line)
    return "\n".join(lines)


def compare_pingpong(curves: Mapping[str, Mapping[int, float]],
                     sizes: Sequence[int] = (8, 1024, 65536, 1 << 20)) -> str:
    """Where parlab's ping-pong and ``mpi4py.bench``'s agree (within ``AGREE``) and where not, per mode (lesson 05).

    Pairs the curves "parlab MODE" and "mpi4py.bench MODE" and compares their times at ``sizes``.
    """
    lines = []
    for label, ours in curves.items():
        if not label.startswith("parlab "):
            continue
        mode = label.removeprefix("parlab ")
        theirs = curves.get(f"mpi4py.bench {mode}")
        common = [s for s in sizes if theirs is not None and s in ours and s in theirs]
        if theirs is None or not common:
            continue
        same: list[str] = []
        apart: list[str] = []
        for s in common:
            text = f"{format_bytes(s)} ({1e6 * ours[s]:.1f} vs {1e6 * theirs[s]:.1f} µs)"
            # The larger at most AGREE above the smaller, whichever it is.
            (same if max(ours[s], theirs[s]) <= (1 + AGREE) * min(ours[s], theirs[s]) else apart).append(text)
        line = f"{mode}, parlab vs mpi4py.bench: "
        if not apart:
            line += f"agree within {AGREE:.0%} at every size compared: {', '.join(same)}."
        elif not same:
            line += f"more than {AGREE:.0%} apart at every size compared: {', '.join(apart)}."
        else:
            line += (f"agree within {AGREE:.0%} at {', '.join(same)}; more than {AGREE:.0%} apart at "
                     f"{', '.join(apart)}.")
        lines.append(line)
    if not lines:
        raise ValueError("compare_pingpong needs a 'parlab MODE' and an 'mpi4py.bench MODE' curve with common sizes")
    return "\n".join(lines)


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


def pingpong_panel() -> Any:
    """Sliders for the largest message and the round trips; Run redraws ping-pong's time per trip (lesson 05a)."""
    import ipywidgets as w

    from parlab.widgets import Panel

    controls = {
        "max_kib": w.IntSlider(value=64, min=1, max=4096, description="max KiB", continuous_update=False),
        "trips": w.IntSlider(value=1000, min=100, max=5000, step=100, description="round trips",
                             continuous_update=False),
    }

    def measure(values: dict[str, Any], progress: Progress) -> dict[str, dict[int, float]]:
        progress(0, 1)
        curves = pingpong_curves(run_pingpong(max_size=values["max_kib"] * 1024, loop=values["trips"]))
        progress(1, 1)
        return curves

    def draw(curves: dict[str, dict[int, float]], ax: Axes) -> None:
        for label, curve in curves.items():
            sizes = sorted(curve)
            ax.plot(sizes, [1e6 * curve[n] for n in sizes], marker="o", markersize=4, label=label,
                    color="C1" if "pickle" in label else "C0")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("message size (bytes)")
        ax.set_ylabel("time for one trip (µs)")
        ax.set_title("Ping-pong between 2 ranks")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small")

    def rows(curves: dict[str, dict[int, float]]) -> list[dict[str, str]]:
        sizes = sorted(next(iter(curves.values())))
        return [{"size": format_bytes(n), **{label: f"{1e6 * curve[n]:.1f} µs" for label, curve in curves.items()}}
                for n in sizes if n in (sizes[0], sizes[len(sizes) // 2], sizes[-1])]

    return Panel(controls, measure, draw, rows, title="Ping-pong: message size and time per trip")


def integral_summary(sweep: Sweep) -> str:
    """The integral sweep as a table: the work in intervals, one block per rank, the baseline 1 rank (lesson 05)."""
    return sweep.summary(nouns=("rank", "ranks"), work="intervals, one block per rank", baseline="1 rank")


def _ranks(k: int) -> str:
    return f"{k} rank" + ("s" if k != 1 else "")


def describe_integral(sweep: Sweep) -> str:
    """What the integral sweep showed, from its numbers: one rank per core, beyond the cores, start-up (lesson 05).

    The ranks compute (CPU-bound), so the ideal is capped at the usable cores. The times are
    taken inside the program (after a Barrier), so start-up is not in them.
    """
    cores = sweep.metadata.usable_cores
    at = point_at_cores(sweep)
    lines = [describe_speedup(at.speedup, at.workers, cores, what="rank" if at.workers == 1 else "ranks") + "."]
    if cores == 1:
        lines.append("With one usable core, ranks can only take turns: no speedup is possible here.")
    over = [p for p in sweep.points if p.oversubscribed]
    if over:
        p = max(over, key=lambda q: q.workers)
        lines.append(describe_speedup(p.speedup, p.workers, cores, what="ranks") + ".")
        versus = f"{format_speedup(p.speedup)} against {format_speedup(at.speedup)} on {_ranks(at.workers)}"
        if p.speedup > at.speedup * SAME_HIGH:
            lines.append(f"That is more than one rank per core gave ({versus}), yet the timed part only "
                         "computes, so extra ranks have no extra core to use (unless other programs share "
                         "the cores: more ranks then win a larger share of them); the repeats ranged "
                         f"{format_speedup(at.speedup_low)}–{format_speedup(at.speedup_high)} and "
                         f"{format_speedup(p.speedup_low)}–{format_speedup(p.speedup_high)}; "
                         "run the sweep again to see whether the difference stays.")
        elif p.speedup < at.speedup * SAME_LOW:
            lines.append(f"That is slower than one rank per core ({versus}): the extra ranks take turns on "
                         "the same cores, and the answer waits for the slowest rank.")
        else:
            lines.append(f"That is about the same as one rank per core ({versus}): the extra ranks take "
                         "turns on the same cores (the shaded area).")
    if noisy := noisiest_warning(sweep.points):
        lines.append(f"On {_ranks(noisy[0].workers)}, {noisy[1]}.")
    first, last = min(sweep.points, key=lambda q: q.workers), max(sweep.points, key=lambda q: q.workers)
    grew = (f"from {format_seconds(first.startup_s)} on {_ranks(first.workers)} to "
            f"{format_seconds(last.startup_s)} on {_ranks(last.workers)}") if last is not first else (
            f"{format_seconds(first.startup_s)} on {_ranks(first.workers)}")
    lines.append(f"Starting a job (mpiexec, the Pythons, MPI) took {grew}; it is outside the timed "
                 "region, and paid once per job, however long the job runs.")
    return "\n".join(lines)


def describe_futures(seconds: Mapping[str, float], serial_s: float | Mapping[str, float], workers: int,
                     cores: int, *, gil_enabled: bool) -> str:
    """Each executor's time against the serial run, worded from the numbers and the build (lesson 05).

    ``seconds`` is {executor: seconds for the map}; ``serial_s`` the same work serially: one
    time, or {executor: the serial loop timed in that executor's own program}.
    """
    serials = dict(serial_s) if isinstance(serial_s, Mapping) else dict.fromkeys(seconds, serial_s)
    if any(t <= 0 for t in (*serials.values(), *seconds.values())) or set(serials) < set(seconds):
        raise ValueError("times must be > 0, with a serial time for every executor")
    names = {"threads": "threads", "processes": "processes", "mpi": "MPI workers"}
    if isinstance(serial_s, Mapping):
        fastest, slowest = min(serials.values()), max(serials.values())
        lines = [f"serially, in each executor's own program just before it: {format_seconds(fastest)} to "
                 + format_seconds(slowest)]
    else:
        lines = [f"serially, in this notebook: {format_seconds(serial_s)}"]
    for executor, secs in seconds.items():
        said = describe_speedup(serials[executor] / secs, workers, cores, what=names.get(executor, executor))
        lines.append(f"{executor:>9}: {format_seconds(secs)}, {said}")
    if "threads" in seconds:
        threads = serials["threads"] / seconds["threads"]
        if gil_enabled:
            line = ("This build has a GIL and fib is pure Python: its threads take turns, so threads "
                    "cannot run it faster than one.")
            if threads > SAME_HIGH:
                line += (" They measured faster anyway: "
                         + ("the serial time comes from this notebook's process, not the program the threads "
                            "ran in" if not isinstance(serial_s, Mapping) else "these runs are short")
                         + ", so run the cell again.")
        else:
            line = "This build runs without a GIL: threads can run fib on several cores at once."
        lines.append(line)
    return "\n".join(lines)


def median_startup_s(runs: Iterable[MPIRun]) -> float:
    """Median start-up of several runs (the bench's mpiexec_startup_ms)."""
    return statistics.median(startup_s(r) for r in runs)
