"""Synthetic sweeps for lessons 00 and 02-06's conclusion tests (tests/lessons/lNN/test_lNN_conclusions.py).

A sweep built here has exactly the median speedups a test asks for, on the usable cores it
names and a build with the GIL on or off, so that a test can put a lesson's sentence writer in
any regime learners meet (1, 2, 16 or 64 cores; slower than one, about one, near the ideal,
superlinear, far below; a wide spread; more workers than cores) without measuring anything.
``synthetic`` builds one the way ``parlab.measure.speedup_sweep`` does (lessons 00, 02, 03 and
06); ``launched`` the way lesson 04's ``job_sweep`` and lesson 05's ``integral_sweep`` do.
``CORES`` are the usable cores every lesson is tested on; ``text`` joins a writer's lines.
Lesson 01 keeps its own builders (its sweeps give quartiles point by point).
"""

from __future__ import annotations

from parlab.measure import build_sweep
from parlab.results import Metadata, Sweep, Timing

CORES = (1, 2, 16, 64)

QUIET = 0.02
"""A quiet machine's repeats, 2% either side of the median (lessons 02, 03): not noisy, never called so."""


def meta(cores: int, *, gil: bool = True) -> Metadata:
    """A CPython 3.13 on Linux with ``cores`` usable cores; ``gil=False`` is the free-threaded build."""
    return Metadata(cores, "3.13.5", "CPython", not gil, gil, "fork", "linux", "2026-01-01T00:00:00+00:00")


def timing(median: float, spread: float = 0.0) -> Timing:
    """Three repeats: the median and ``spread`` (a share of it) either side."""
    return Timing((median * (1 - spread), median, median * (1 + spread)))


def synthetic(cores: int, speedups: dict[int, float], *, backend: str = "processes", label: str | None = None,
              tasks: int | None = None, serial: float = 1.0, spread: float = 0.0, startup: float = 0.01,
              gil: bool = True, waiting: bool = False, others: float | None = None,
              start_method: str | None = "fork", estimate: bool = True, startup_growth: float = 0.0,
              baseline_one: bool = False) -> Sweep:
    """A sweep whose points have exactly these median speedups ``{workers: speedup}`` over ``serial`` s.

    ``label``: "fib on BACKEND" unless given; ``tasks``: 4 per core unless given. Each point's
    repeats spread by ``spread`` either side; its start-up is ``startup`` s, grown by
    ``startup_growth`` of it per worker (a launcher starts one process per worker).
    ``baseline_one``: the serial timing is the one-worker run itself, so that point repeats it
    exactly, without the spread. ``waiting``, ``estimate`` and ``others`` (the cores other
    programs kept busy meanwhile, as system.CpuMeter would have measured) go to build_sweep.
    """
    base = timing(serial)
    measured = [(k, base if baseline_one and k == 1 else timing(serial / s, spread),
                 startup * (1 + startup_growth * k), None) for k, s in speedups.items()]
    return build_sweep(label or f"fib on {backend}", backend, start_method, tasks or 4 * cores, base,
                       measured, metadata=meta(cores, gil=gil), waiting=waiting, estimate=estimate,
                       others_cores=others)


def launched(cores: int, speedups: dict[int, float], *, backend: str = "children/embedded",
             label: str = "children via embedded server", tasks: int = 16, serial: float = 1.0,
             spread: float = 0.0, startup: float = 0.1, gil: bool = True) -> Sweep:
    """A sweep of launched workers, as job_sweep (lesson 04) and integral_sweep (lesson 05) build theirs.

    The baseline is the one-worker run, start-up included (no start method: each worker is a new
    program), start-up grows a tenth per worker, and no serial fraction is estimated.
    """
    return synthetic(cores, speedups, backend=backend, label=label, tasks=tasks, serial=serial, spread=spread,
                     startup=startup, gil=gil, start_method=None, estimate=False, startup_growth=0.1,
                     baseline_one=True)


def text(lines: list[str]) -> str:
    """A writer's lines as the notebook prints them (lessons 02 and 03)."""
    return "\n".join(lines)
