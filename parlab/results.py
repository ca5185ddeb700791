"""Results as immutable data: timings, sweeps, runs, the machine they came from; JSON with a schema.

Nothing here measures or computes a law (``measure`` does); these classes hold numbers and
flags, and write and read them as JSON; their ``summary()`` hands the numbers to
``parlab.wording``, which holds the words and the one format the lessons print
(``format_seconds`` and ``format_speedup`` are re-exported here, where the lessons import them).
The JSON plumbing (``SCHEMA_VERSION`` and its history, ``open_document``, what ``from_json``
refuses) is ``parlab._document``.
"""

from __future__ import annotations

import datetime as _dt
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from parlab import system
from parlab._document import SCHEMA_VERSION, Document, open_document
from parlab.wording import (
    estimate_lines,
    format_seconds,
    format_speedup,
    sweep_lines,
    timing_warnings,
    why_no_ceiling,
)

__all__ = [
    "BUSY_CORES",
    "MIN_CEILING_POINTS",
    "NOISY_PAIRS",
    "SCHEMA_VERSION",
    "Metadata",
    "PairedSpeedup",
    "RunResult",
    "SerialFractionEstimate",
    "Sweep",
    "SweepPoint",
    "TaskSpan",
    "Timing",
    "format_seconds",
    "format_speedup",
    "load_sweep",
    "open_document",
    "save_sweep",
]

# Other programs that kept this many cores busy on average while a sweep ran (system.CpuMeter)
# made it a busy machine: its figures are lower than the machine gives when quiet.
BUSY_CORES = 0.25

# Paired ratios whose interquartile range is wider than this share of their median are too noisy
# to print as one firm figure: the bench adds pairs while they are, and marks a figure that stays so.
NOISY_PAIRS = 0.10

# A ceiling (1 / serial fraction) is projected only from this many parallel points within the
# cores: one or two points on short runs cannot tell a serial part from overhead or noise.
MIN_CEILING_POINTS = 3

# pyperf's rules of thumb for a spread worth a warning.
_SPREAD_WARN = 0.10   # MAD >= 10 % of the median (pyperf: stdev >= 10 % of the mean)
_OUTLIER_WARN = 0.50  # a value >= 50 % away from the median


@dataclass(frozen=True)
class Metadata(Document):
    """The machine and interpreter a measurement came from; ``date`` is UTC, ISO 8601, to the second."""

    KIND: ClassVar[str] = "metadata"

    usable_cores: int
    python: str
    implementation: str
    free_threaded: bool
    gil_enabled: bool
    start_method: str
    platform: str
    date: str

    @classmethod
    def here(cls) -> Metadata:
        """Describe the running machine and interpreter now (lessons 00-06)."""
        build = system.python_build()
        return cls(system.usable_cores(), str(build["version"]), str(build["implementation"]),
                   bool(build["free_threaded"]), bool(build["gil_enabled"]),
                   system.default_start_method(), str(build["platform"]),
                   _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))


@dataclass(frozen=True)
class Timing(Document):
    """Repeated measurements of one thing, in seconds, the warm-up kept apart."""

    KIND: ClassVar[str] = "timing"

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
    def spread_share(self) -> float | None:
        """The median absolute deviation over the median when it is 10 % or more, else None.

        pyperf warns when the standard deviation reaches 10 % of the mean, over many values; the
        lessons time a handful of repeats, where one slow run inflates the standard deviation,
        so the same 10 % is asked of the MAD, which one run cannot move (``outliers`` counts
        such a run instead).
        """
        if len(self.values) > 1 and self.mad >= _SPREAD_WARN * self.median:
            return self.mad / self.median
        return None

    @property
    def outliers(self) -> int:
        """How many values lie 50 % or more away from the median."""
        med = self.median
        return sum(abs(v - med) >= _OUTLIER_WARN * med for v in self.values)

    @property
    def warnings(self) -> list[str]:
        """Why these numbers may not be trustworthy (empty when the spread is small)."""
        return timing_warnings(self.spread_share, self.outliers)

    def summary(self) -> str:
        """One line: median ± MAD and the number of values."""
        return (f"{format_seconds(self.median)} ± {format_seconds(self.mad)} "
                f"(median ± MAD of {len(self.values)})")


@dataclass(frozen=True)
class SerialFractionEstimate(Document):
    """A serial-fraction (Karp-Flatt) estimate from ``points_used`` parallel points (lessons 00-06).

    Made by ``measure.estimate_serial_fraction``.

    Each point with k workers and speedup s gives e_k = (1/s - 1/k) / (1 - 1/k), clamped to
    [0, 1]: the share of the run that did not get faster, serial code and overhead alike.
    ``serial_fraction`` is the least-squares value over the points; ``low`` and ``high`` the
    range of the per-point values (equal for one point).
    """

    KIND: ClassVar[str] = "serial_fraction_estimate"

    serial_fraction: float
    points_used: int
    low: float
    high: float

    @property
    def ceiling(self) -> float | None:
        """Amdahl's ceiling 1 / serial fraction, or None: fewer than MIN_CEILING_POINTS points, or no serial part."""
        if self.points_used < MIN_CEILING_POINTS or self.serial_fraction <= 0:
            return None
        return 1.0 / self.serial_fraction

    def why_no_ceiling(self, cores: int | None = None) -> str | None:
        """Why no ceiling is projected from this estimate, as a clause; None when one is (lessons 00-06)."""
        return why_no_ceiling(self.points_used, self.ceiling is not None, MIN_CEILING_POINTS, cores)

    def summary(self, cores: int | None = None) -> str:
        """The estimate, its range and point count, and the ceiling or why none is projected (lessons 00-06).

        ``cores`` (the usable cores the points lie within) makes the sentences say so.
        """
        return estimate_lines(self.serial_fraction, self.low, self.high, self.points_used,
                              self.why_no_ceiling(cores), cores)


@dataclass(frozen=True)
class TaskSpan(Document):
    """One task on the timeline: which worker ran it, from when to when (seconds from the run's start)."""

    KIND: ClassVar[str] = "task_span"

    task: int
    worker: int
    start: float
    end: float


@dataclass(frozen=True)
class RunResult(Document):
    """Results in task order, the per-task timeline, and how the run was made (lessons 00-06).

    ``results`` stays a list, so that ``run.results == [...]`` reads as it did; the timeline
    and the worker ids are tuples.
    """

    KIND: ClassVar[str] = "run_result"

    results: list[Any]
    timeline: Sequence[TaskSpan]  # stored as a tuple
    wall_s: float
    backend: str
    workers: int
    start_method: str | None
    startup_s: float = 0.0
    worker_ids: Sequence[str] = ()  # stored as a tuple

    def __post_init__(self) -> None:
        # Frozen: the fields cannot be rebound; copies keep a caller's list from changing them.
        object.__setattr__(self, "results", list(self.results))
        object.__setattr__(self, "timeline", tuple(self.timeline))
        object.__setattr__(self, "worker_ids", tuple(self.worker_ids))

    def _fields(self) -> dict[str, Any]:
        return {**asdict(self), "timeline": [asdict(s) for s in self.timeline]}

    @classmethod
    def _build(cls, obj: Mapping[str, Any]) -> RunResult:
        spans = tuple(TaskSpan._build(s) for s in obj["timeline"])
        return cls(obj["results"], spans, obj["wall_s"], obj["backend"], obj["workers"],
                   obj["start_method"], obj["startup_s"], tuple(obj["worker_ids"]))


@dataclass(frozen=True)
class SweepPoint(Document):
    """One worker count of a sweep: its timing, start-up, speedup (with a quartile range) and efficiency."""

    KIND: ClassVar[str] = "sweep_point"

    workers: int
    timing: Timing
    startup_s: float
    speedup: float
    speedup_low: float
    speedup_high: float
    efficiency: float
    oversubscribed: bool
    run: RunResult | None = field(default=None, repr=False, compare=False)

    def _fields(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "timing"}
        return out | {"timing": self.timing._fields(), "run": None}  # run: see the module docstring

    @classmethod
    def _build(cls, obj: Mapping[str, Any]) -> SweepPoint:
        return cls(obj["workers"], Timing._build(obj["timing"]), obj["startup_s"], obj["speedup"],
                   obj["speedup_low"], obj["speedup_high"], obj["efficiency"], obj["oversubscribed"])


@dataclass(frozen=True)
class Sweep(Document):
    """Speedup and efficiency over worker counts, each result checked against the serial run.

    ``workload`` names the work when a lesson compares sweeps across machines (lesson 06).
    ``estimate`` is the serial-fraction estimate from the points with 1 < workers <= cores
    (None where there are none, or where the work has no serial part to estimate);
    ``waiting`` marks tasks that wait (sleep, sockets), whose ideal speedup stays the worker
    count past the cores, where CPU-bound work's ideal stops at the core count.
    """

    KIND: ClassVar[str] = "sweep"

    label: str
    backend: str
    start_method: str | None
    tasks: int
    serial: Timing
    points: tuple[SweepPoint, ...]
    estimate: SerialFractionEstimate | None
    metadata: Metadata
    workload: str | None = None
    waiting: bool = False
    others_cores: float | None = None  # cores other programs kept busy meanwhile (system.CpuMeter)

    @property
    def busy(self) -> bool:
        """True when other programs kept at least a quarter of a core busy while this was measured."""
        return self.others_cores is not None and self.others_cores >= BUSY_CORES

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

    def summary(self, *, nouns: tuple[str, str] = ("worker", "workers"), work: str = "tasks",
                baseline: str | None = None) -> str:
        """A small fixed-format table of the sweep; ``nouns`` name a worker (("rank", "ranks"), ...).

        ``work`` names what ``tasks`` counts and ``baseline`` what the speedups divide when it is
        not the serial run, e.g. "intervals, one block per rank" and "1 rank" for lesson 05.
        """
        against = ", serial " if baseline is None else f"; {baseline}: "
        cores = self.metadata.usable_cores
        within = [p for p in self.points if 1 < p.workers <= cores]
        return sweep_lines(
            f"{self.label}: {self.tasks:,} {work}{against}{self.serial.summary()}",
            [(p.workers, p.timing.median, p.speedup, p.efficiency, p.startup_s, p.oversubscribed)
             for p in self.points],
            nouns=nouns, estimate=None if self.estimate is None else self.estimate.summary(cores),
            slower=[p.workers for p in within if p.speedup < 1],
            superlinear=[p.workers for p in within if p.speedup > p.workers],
            warnings=[(p.workers, w) for p in self.points for w in p.timing.warnings],
            busy=(self.others_cores, cores) if self.busy and self.others_cores is not None else None)

    def __str__(self) -> str:
        return self.summary()

    def _fields(self) -> dict[str, Any]:
        return {"label": self.label, "backend": self.backend, "start_method": self.start_method,
                "tasks": self.tasks, "serial": self.serial._fields(),
                "points": [p._fields() for p in self.points],
                "estimate": self.estimate._fields() if self.estimate is not None else None,
                "metadata": self.metadata._fields(), "workload": self.workload, "waiting": self.waiting,
                "others_cores": self.others_cores}

    @classmethod
    def _build(cls, obj: Mapping[str, Any]) -> Sweep:
        return cls(obj["label"], obj["backend"], obj["start_method"], obj["tasks"],
                   Timing._build(obj["serial"]), tuple(SweepPoint._build(p) for p in obj["points"]),
                   SerialFractionEstimate._build(obj["estimate"]) if obj["estimate"] is not None else None,
                   Metadata._build(obj["metadata"]), obj.get("workload"), bool(obj.get("waiting", False)),
                   obj.get("others_cores"))


@dataclass(frozen=True)
class PairedSpeedup(Document):
    """Interleaved (serial, parallel) timings of the same work; the headline is the median ratio (bench)."""

    KIND: ClassVar[str] = "paired_speedup"

    workers: int
    serial_s: tuple[float, ...]
    parallel_s: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.serial_s or len(self.serial_s) != len(self.parallel_s):
            raise ValueError("a PairedSpeedup needs as many parallel times as serial times, at least one")

    @property
    def pairs(self) -> int:
        return len(self.serial_s)

    @property
    def ratios(self) -> list[float]:
        """Serial time over parallel time, one per pair."""
        return [s / p for s, p in zip(self.serial_s, self.parallel_s, strict=True)]

    @property
    def speedup(self) -> float:
        """The median of the pair ratios: a burst of noise hits one pair, not the figure."""
        return statistics.median(self.ratios)

    @property
    def quartiles(self) -> tuple[float, float]:
        """The first and third quartiles of the pair ratios (the single ratio twice for one pair)."""
        if self.pairs < 2:
            return self.ratios[0], self.ratios[0]
        q = statistics.quantiles(self.ratios, n=4, method="inclusive")
        return q[0], q[2]

    @property
    def spread(self) -> float:
        """The interquartile range of the ratios over their median: how far one figure can be trusted."""
        low, high = self.quartiles
        return (high - low) / self.speedup

    @property
    def noisy(self) -> bool:
        """True when the ratios' interquartile range is wider than ``NOISY_PAIRS`` of the median."""
        return self.spread > NOISY_PAIRS

    @property
    def serial_median(self) -> float:
        return statistics.median(self.serial_s)

    @property
    def parallel_median(self) -> float:
        return statistics.median(self.parallel_s)


def save_sweep(sweep: Sweep, path: str | os.PathLike[str]) -> Path:
    """Write a sweep as JSON (without its points' runs) and return the path (lessons 00-06)."""
    out = Path(path)
    out.write_text(sweep.to_json(indent=1) + "\n")
    return out


def load_sweep(path: str | os.PathLike[str]) -> Sweep:
    """Read a sweep that ``save_sweep`` wrote; another schema or kind is refused (lessons 00-06)."""
    return Sweep.from_json(Path(path).read_text())
