"""The timing harness: warm-up, repeats, median with spread, speedup sweeps, Amdahl's law.

Every result is a dataclass that carries the machine it was measured on. Formatting is
kept apart (``summary()`` and ``format_*``) so that notebooks print one fixed format that
the test suite's sanitize file recognises.
"""

from __future__ import annotations

import datetime as _dt
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from parlab import system
from parlab.run import (DEFAULT_TIMEOUT_S, RunResult, WorkerPool, check_backend, check_picklable,
                        check_start_method, check_workers)

__all__ = [
    "Metadata", "Timing", "timing_from", "time_call", "SweepPoint", "Sweep", "AmdahlFit",
    "amdahl_speedup", "gustafson_speedup", "fit_amdahl", "speedup_sweep", "ResultMismatch",
    "format_seconds", "format_speedup",
]

# pyperf's rules of thumb for a spread worth a warning.
_STDEV_WARN = 0.10    # stdev >= 10 % of the mean
_OUTLIER_WARN = 0.50  # a value >= 50 % away from the median


def format_seconds(seconds: float) -> str:
    """A duration in the one format the lessons print (and the sanitize file matches)."""
    return f"{seconds:.3f} s"


def format_speedup(speedup: float) -> str:
    """A speedup in the one format the lessons print (and the sanitize file matches)."""
    return f"{speedup:.2f}×"


class ResultMismatch(AssertionError):
    """A parallel run returned something other than the serial run: never plot such a point."""


@dataclass(frozen=True)
class Metadata:
    """The machine and interpreter a measurement came from."""

    usable_cores: int
    python: str
    implementation: str
    free_threaded: bool
    gil_enabled: bool
    start_method: str
    platform: str
    timestamp: str

    @classmethod
    def here(cls) -> Metadata:
        """Describe the running machine and interpreter now."""
        build = system.python_build()
        return cls(system.usable_cores(), str(build["version"]), str(build["implementation"]),
                   bool(build["free_threaded"]), bool(build["gil_enabled"]),
                   system.default_start_method(), str(build["platform"]),
                   _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))


@dataclass(frozen=True)
class Timing:
    """Repeated measurements of one thing, in seconds, the warm-up kept apart."""

    values: tuple[float, ...]
    warmup: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("a Timing needs at least one measured value")

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def stdev(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    @property
    def mad(self) -> float:
        """Median absolute deviation: a spread that one outlier cannot inflate."""
        med = self.median
        return statistics.median(abs(v - med) for v in self.values)

    @property
    def quartiles(self) -> tuple[float, float]:
        """First and third quartiles (both the single value when there is one)."""
        if len(self.values) < 2:
            return self.values[0], self.values[0]
        q = statistics.quantiles(self.values, n=4, method="inclusive")
        return q[0], q[2]

    @property
    def warnings(self) -> list[str]:
        """Why these numbers may not be trustworthy (empty when the spread is small)."""
        found = []
        if len(self.values) > 1 and self.stdev >= _STDEV_WARN * self.mean:
            found.append(f"unstable: stdev is {self.stdev / self.mean:.0%} of the mean; "
                         "close other programs or add repeats")
        med = self.median
        outliers = [v for v in self.values if abs(v - med) >= _OUTLIER_WARN * med]
        if outliers:
            found.append(f"{len(outliers)} outlier(s) at least 50% away from the median")
        return found

    def summary(self) -> str:
        """One line: median ± MAD and the number of values."""
        return (f"{format_seconds(self.median)} ± {format_seconds(self.mad)} "
                f"(median ± MAD of {len(self.values)})")


def timing_from(values: Iterable[float], warmup: Iterable[float] = ()) -> Timing:
    """Wrap measured values (seconds) in a Timing (lessons 00-06)."""
    return Timing(tuple(float(v) for v in values), tuple(float(v) for v in warmup))


def time_call(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1) -> Timing:
    """Time ``fn()`` with perf_counter: ``warmup`` discarded calls, then ``repeats`` measured ones (lessons 00-06)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    measured: list[float] = []
    for _ in range(warmup + repeats):
        t0 = time.perf_counter()
        fn()
        measured.append(time.perf_counter() - t0)
    return timing_from(measured[warmup:], measured[:warmup])


# --------------------------------------------------------------------------- Amdahl and Gustafson

def amdahl_speedup(serial_fraction: float, workers: float) -> float:
    """Amdahl's law: the speedup on ``workers`` when a fraction of the work stays serial (lessons 02, 06)."""
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / workers)


def gustafson_speedup(serial_fraction: float, workers: float) -> float:
    """Gustafson's law: the scaled speedup when the problem grows with the workers (lesson 06)."""
    return workers - serial_fraction * (workers - 1)


@dataclass(frozen=True)
class AmdahlFit:
    """The serial fraction that best explains the measured speedups."""

    serial_fraction: float
    points_used: int

    def speedup(self, workers: float) -> float:
        """The speedup the fit predicts on ``workers``."""
        return amdahl_speedup(self.serial_fraction, workers)

    @property
    def max_speedup(self) -> float:
        """The ceiling as workers grow without bound: 1 / serial fraction."""
        return float("inf") if self.serial_fraction == 0 else 1.0 / self.serial_fraction


def fit_amdahl(workers: Sequence[float], speedups: Sequence[float]) -> AmdahlFit:
    """Least-squares serial fraction from measured (workers, speedup) points (lessons 02, 06).

    Amdahl's law is linear in the serial fraction f once written as
    1/S - 1/k = f (1 - 1/k), so the fit has a closed form; f is kept within [0, 1].
    """
    if len(workers) != len(speedups):
        raise ValueError("workers and speedups must have the same length")
    num = den = 0.0
    used = 0
    for k, s in zip(workers, speedups):
        if k > 1 and s > 0:
            x = 1.0 - 1.0 / k
            num += x * (1.0 / s - 1.0 / k)
            den += x * x
            used += 1
    if used == 0:
        raise ValueError("an Amdahl fit needs at least one point with more than one worker")
    return AmdahlFit(min(1.0, max(0.0, num / den)), used)


# --------------------------------------------------------------------------- sweeps

@dataclass(frozen=True)
class SweepPoint:
    """One worker count of a sweep: its timing, start-up, speedup (with a quartile range) and efficiency."""

    workers: int
    timing: Timing
    startup_s: float
    speedup: float
    speedup_low: float
    speedup_high: float
    efficiency: float
    oversubscribed: bool
    run: RunResult | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Sweep:
    """Speedup and efficiency over worker counts, each result checked against the serial run."""

    label: str
    backend: str
    start_method: str | None
    tasks: int
    serial: Timing
    points: tuple[SweepPoint, ...]
    fit: AmdahlFit | None
    metadata: Metadata

    @property
    def workers(self) -> list[int]:
        return [p.workers for p in self.points]

    @property
    def speedups(self) -> list[float]:
        return [p.speedup for p in self.points]

    def table(self) -> list[dict[str, Any]]:
        """The numbers as rows (for a DataFrame, a widget table or CSV)."""
        return [{"workers": p.workers, "median_s": p.timing.median, "mad_s": p.timing.mad,
                 "speedup": p.speedup, "efficiency": p.efficiency, "startup_s": p.startup_s,
                 "oversubscribed": p.oversubscribed} for p in self.points]

    def summary(self) -> str:
        """A small fixed-format table of the sweep."""
        lines = [f"{self.label}: {self.tasks} tasks, serial {self.serial.summary()}",
                 "workers      time    speedup  efficiency  start-up"]
        for p in self.points:
            mark = "  (more workers than cores)" if p.oversubscribed else ""
            lines.append(f"{p.workers:>7}  {format_seconds(p.timing.median):>8}  "
                         f"{format_speedup(p.speedup):>9}  {p.efficiency:>10.0%}  "
                         f"{format_seconds(p.startup_s):>8}{mark}")
        if self.fit is not None:
            lines.append(f"Amdahl fit: serial fraction {self.fit.serial_fraction:.3f}")
        for p in self.points:
            lines.extend(f"warning ({p.workers} workers): {w}" for w in p.timing.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _quartile_speedups(serial_median: float, timing: Timing) -> tuple[float, float]:
    q1, q3 = timing.quartiles
    return serial_median / q3, serial_median / q1


def speedup_sweep(func: Callable[..., Any], tasks: Iterable[Any], *, backend: str,
                  workers: Iterable[int], start_method: str | None = None, repeats: int = 3,
                  warmup: int = 1, chunksize: int = 1, star: bool = False,
                  timeout: float = DEFAULT_TIMEOUT_S, label: str | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Sweep:
    """Measure the serial run, then each worker count on a started pool; check every result (lessons 00-06).

    ``progress(done, total)`` is called after each measured step (the widgets' progress bar).
    """
    items = list(tasks)
    counts = [check_workers(k) for k in workers]
    if not counts:
        raise ValueError("workers must list at least one worker count, e.g. [1, 2, 4]")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    # Validate everything before the serial run costs time.
    check_backend(backend)
    method = check_start_method(start_method, backend)
    if backend == "processes":
        check_picklable(func, method or "")
    if backend == "serial" and counts != [1] * len(counts):
        raise ValueError(f"the serial backend runs with workers=1, got {counts}")
    total = 1 + len(counts)
    cores = system.usable_cores()

    with WorkerPool("serial", 1) as serial_pool:
        expected: list[Any] = []

        def serial_once() -> None:
            expected[:] = serial_pool.map(func, items, star=star, timeout=timeout).results

        serial = time_call(serial_once, repeats=repeats, warmup=warmup)
    if progress:
        progress(1, total)

    points = []
    for step, k in enumerate(counts, start=2):
        with WorkerPool(backend, k, start_method=start_method, warn=False) as pool:
            runs: list[RunResult] = []

            def parallel_once() -> None:
                runs.append(pool.map(func, items, chunksize=chunksize, star=star, timeout=timeout))

            timing = time_call(parallel_once, repeats=repeats, warmup=warmup)
            for r in runs:
                if r.results != expected:
                    raise ResultMismatch(f"{backend} with {k} workers returned results that differ "
                                         "from the serial run")
            low, high = _quartile_speedups(serial.median, timing)
            speedup = serial.median / timing.median
            points.append(SweepPoint(k, timing, pool.startup_s, speedup, low, high, speedup / k,
                                     k > cores, runs[-1]))
        if progress:
            progress(step, total)

    fit_points = [(p.workers, p.speedup) for p in points if p.workers <= cores]
    fit = fit_amdahl(*zip(*fit_points)) if any(k > 1 for k, _ in fit_points) else None
    return Sweep(label or f"{getattr(func, '__name__', 'task')} on {backend}", backend, method,
                 len(items), serial, tuple(points), fit, Metadata.here())
