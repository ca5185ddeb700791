"""The timing harness: warm-up, repeats, median with spread; the one sweep builder; Amdahl's law
and the serial-fraction (Karp-Flatt) estimate.

What is measured comes back as data from ``parlab.results``; this module computes it. Every
parallel result is checked equal to the serial one by ``check_same`` (one exception type,
``ResultMismatch``) before a number is kept. Sweeps of every lesson are assembled by
``build_sweep``; interleaved (serial, parallel) pairs by ``paired_speedup``.
"""

from __future__ import annotations

import gc
import operator
import reprlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from parlab._checks import (
    POOL_TIMEOUT_S,
    check_backend,
    check_picklable,
    check_pool,
    check_start_method,
    check_timeout,
    check_whole,
)
from parlab.results import (
    MIN_CEILING_POINTS,
    Metadata,
    PairedSpeedup,
    RunResult,
    SerialFractionEstimate,
    Sweep,
    SweepPoint,
    Timing,
)
from parlab.run import WorkerPool
from parlab.system import CpuMeter

__all__ = [
    "MIN_CEILING_POINTS",
    "ResultMismatch",
    "amdahl_speedup",
    "build_sweep",
    "check_same",
    "estimate_serial_fraction",
    "gustafson_speedup",
    "ideal_speedup",
    "overlap_fraction",
    "paired_speedup",
    "speedup_sweep",
    "startup_timing",
    "time_call",
    "timing_from",
    "worker_counts",
]

Same = Callable[[Any, Any], bool]
_SHORT = reprlib.Repr()  # a mismatch message shows the start of each result, not a dump
_SHORT.maxlist = _SHORT.maxtuple = 6  # attributes: Repr's keyword arguments are 3.12+
_SHORT.maxstring = _SHORT.maxother = 60


def timing_from(values: Iterable[float], warmup: Iterable[float] = ()) -> Timing:
    """Wrap measured values (seconds) in a Timing (lessons 00-06)."""
    return Timing(tuple(float(v) for v in values), tuple(float(v) for v in warmup))


def time_call(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1) -> Timing:
    """Time ``fn()`` with perf_counter: ``warmup`` discarded calls, then ``repeats`` measured ones (lessons 00-06)."""
    repeats, warmup = check_whole("repeats", repeats, 1), check_whole("warmup", warmup, 0)
    measured: list[float] = []
    for _ in range(warmup + repeats):
        t0 = time.perf_counter()
        fn()
        measured.append(time.perf_counter() - t0)
    return timing_from(measured[warmup:], measured[:warmup])


# --------------------------------------------------------------------------- checking results

class ResultMismatch(AssertionError):
    """A parallel run returned something other than the serial run: never plot such a point."""


def check_same(expected: Any, got: Any, what: str, *, same: Same | None = None) -> None:
    """Raise ResultMismatch unless ``same(expected, got)`` (default ``==``); ``what`` names the run (lessons 00-06)."""
    if not (same or operator.eq)(expected, got):
        raise ResultMismatch(f"{what} returned a result that differs from the serial run's: "
                             f"got {_SHORT.repr(got)}, expected {_SHORT.repr(expected)}")


# --------------------------------------------------------------------------- the ideal, Amdahl and Gustafson

def ideal_speedup(workers: float, cores: int, *, waiting: bool = False) -> float:
    """The best speedup ``workers`` can give on ``cores``: k for waiting tasks, min(k, cores) for CPU work.

    CPU-bound work cannot go faster than one core per worker, so its ideal is flat past the
    cores; a task that waits (I/O, a server) needs no core, so its ideal stays k (lessons 00-07).
    """
    if not (workers > 0 and cores >= 1):
        raise ValueError(f"workers and cores must be > 0 and >= 1, got {workers!r} and {cores!r}")
    return float(workers if waiting else min(workers, cores))


def amdahl_speedup(serial_fraction: float, workers: float) -> float:
    """Amdahl's law: the speedup on ``workers`` when a fraction of the work stays serial (lessons 02, 06)."""
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / workers)


def gustafson_speedup(serial_fraction: float, workers: float) -> float:
    """Gustafson's law: the scaled speedup when the problem grows with the workers (lesson 06)."""
    return workers - serial_fraction * (workers - 1)


def _clamp(f: float) -> float:
    return min(1.0, max(0.0, f))


def estimate_serial_fraction(workers: Sequence[float], speedups: Sequence[float]) -> SerialFractionEstimate:
    """The serial-fraction (Karp-Flatt) estimate from measured (workers, speedup) points (lessons 02, 06).

    Amdahl's law is linear in the serial fraction f once written as 1/S - 1/k = f (1 - 1/k):
    each point with k > 1 gives e_k = (1/S - 1/k) / (1 - 1/k) (the Karp-Flatt metric), and
    the least-squares f over the points has a closed form. f and each e_k are kept within
    [0, 1]; ``low``/``high`` are the smallest and largest e_k. It measures what did not get
    faster, serial code and overhead alike: it is Amdahl's f only where the work has a
    serial part and the overhead is small.
    """
    if len(workers) != len(speedups):
        raise ValueError("workers and speedups must have the same length")
    num = den = 0.0
    per_point = []
    for k, s in zip(workers, speedups, strict=True):
        if k > 1 and s > 0:
            x = 1.0 - 1.0 / k
            y = 1.0 / s - 1.0 / k
            num += x * y
            den += x * x
            per_point.append(_clamp(y / x))
    if not per_point:
        raise ValueError("a serial-fraction estimate needs at least one point with more than one worker")
    return SerialFractionEstimate(_clamp(num / den), len(per_point), min(per_point), max(per_point))


def startup_timing(start_method: str, workers: int, repeats: int = 3) -> Timing:
    """Seconds to start ``workers`` process workers with a start method, until all are ready (lesson 02; bench)."""
    values = []
    for _ in range(repeats):
        with WorkerPool("processes", workers, start_method=start_method, warn=False) as pool:
            values.append(pool.startup_s)
    return timing_from(values)


def overlap_fraction(run: RunResult) -> float:
    """Share of the timeline (first start to last end) in which two or more tasks ran at once (lessons 01, 03)."""
    events = sorted([(s.start, 1) for s in run.timeline] + [(s.end, -1) for s in run.timeline])
    if not events or events[-1][0] <= events[0][0]:
        return 0.0
    running, together, last = 0, 0.0, events[0][0]
    for when, change in events:  # at equal times an end (-1) sorts before a start
        if running >= 2:
            together += when - last
        running, last = running + change, when
    return together / (events[-1][0] - events[0][0])


# --------------------------------------------------------------------------- sweeps

def worker_counts(top: int, *, even: bool = False) -> list[int]:
    """Worker counts 1..``top`` for a sweep: every count up to 8, else a spread ending at ``top`` (lessons 01-03).

    The spread is 1, 2, 4, top/2, 3top/4, top; with ``even`` it is 1, 2 and steps of
    top/8 (rounded up), about eight points, for a curve drawn evenly.
    """
    if top < 1:
        raise ValueError(f"top must be a whole number >= 1, got {top!r}")
    if top <= 8:
        return list(range(1, top + 1))
    if even:
        step = -(-top // 8)
        return sorted({1, 2, *range(step, top, step), top})
    return sorted({1, 2, 4, top // 2, (3 * top) // 4, top})


def build_sweep(label: str, backend: str, start_method: str | None, tasks: int, serial: Timing,
                measured: Sequence[tuple[int, Timing, float, RunResult | None]], *,
                metadata: Metadata | None = None, workload: str | None = None,
                waiting: bool = False, estimate: bool = True, others_cores: float | None = None) -> Sweep:
    """The one way a Sweep is assembled from (workers, timing, start-up s, run or None) (lessons 00-06).

    Speedup is the serial median over each median, with the range from the quartiles;
    efficiency is speedup / workers; a point with more workers than cores is marked; the
    serial-fraction estimate uses the points with 1 < workers <= cores (oversubscribed ones
    share cores). ``estimate=False`` leaves it out: for work with no serial part to estimate
    (sleeping threads, GIL-bound threads). ``waiting=True`` marks tasks that wait (sleep,
    sockets): their ideal speedup stays the worker count past the cores. ``others_cores``: how
    many cores other programs kept busy meanwhile (``system.CpuMeter``), when it was measured.
    """
    meta = metadata or Metadata.here()
    cores, base = meta.usable_cores, serial.median
    points = []
    for k, timing, startup, run in measured:
        q1, q3 = timing.quartiles
        speedup = base / timing.median
        points.append(SweepPoint(k, timing, startup, speedup, base / q3, base / q1, speedup / k,
                                 k > cores, run))
    within = [(p.workers, p.speedup) for p in points if 1 < p.workers <= cores]
    found = estimate_serial_fraction(*zip(*within, strict=True)) if estimate and within else None
    return Sweep(label, backend, start_method, tasks, serial, tuple(points), found, meta, workload,
                 bool(waiting), others_cores)


def speedup_sweep(func: Callable[..., Any], tasks: Iterable[Any], *, backend: str,
                  workers: Iterable[int], start_method: str | None = None, repeats: int = 3,
                  warmup: int = 1, chunksize: int = 1, star: bool = False,
                  timeout: float = POOL_TIMEOUT_S, label: str | None = None,
                  progress: Callable[[int, int], None] | None = None, waiting: bool = False,
                  estimate: bool = True) -> Sweep:
    """Measure the serial run, then each worker count on a started pool; check every result (lessons 00-06).

    ``progress(done, total)`` is called after each measured step (the widgets' progress bar).
    ``waiting`` and ``estimate`` go to ``build_sweep``: tasks that wait, and whether to
    estimate a serial fraction.
    """
    timeout = check_timeout(timeout)
    items = list(tasks)
    # Each worker count is checked once here; the pools below are opened without a second check.
    counts = [check_pool(backend, k, start_method)[1] for k in workers]
    if not counts:
        raise ValueError("workers must list at least one worker count, e.g. [1, 2, 4]")
    repeats, warmup = check_whole("repeats", repeats, 1), check_whole("warmup", warmup, 0)
    # Validate everything before the serial run costs time.
    check_backend(backend)
    method = check_start_method(start_method, backend)
    if backend == "processes":
        check_picklable(func, method or "")
    if backend == "serial" and counts != [1] * len(counts):
        raise ValueError(f"the serial backend runs with workers=1, got {counts}")
    total = 1 + len(counts)

    with CpuMeter() as meter:  # other programs' CPU time while this runs: a busy machine is measured
        with WorkerPool._checked("serial", 1, None, warn=False) as serial_pool:
            expected: list[Any] = []

            def serial_once() -> None:
                expected[:] = serial_pool.map(func, items, star=star, timeout=timeout).results

            serial = time_call(serial_once, repeats=repeats, warmup=warmup)
        if progress:
            progress(1, total)

        measured = []
        for step, k in enumerate(counts, start=2):
            with WorkerPool._checked(backend, k, method, warn=False) as pool:
                runs: list[RunResult] = []

                def parallel_once() -> None:
                    result = pool.map(func, items, chunksize=chunksize, star=star, timeout=timeout)
                    runs.append(result)  # noqa: B023 (time_call below calls it in this iteration only)

                timing = time_call(parallel_once, repeats=repeats, warmup=warmup)
                for r in runs:
                    check_same(expected, r.results, f"{backend} with {k} workers")
                measured.append((k, timing, pool.startup_s, runs[-1]))
            if progress:
                progress(step, total)
    return build_sweep(label or f"{getattr(func, '__name__', 'task')} on {backend}", backend, method,
                       len(items), serial, measured, waiting=waiting, estimate=estimate,
                       others_cores=meter.others_cores)


# --------------------------------------------------------------------------- paired timings

def paired_speedup(serial: Callable[[], Any], parallel: Callable[[], Any], *, workers: int,
                   pairs: int = 7, warmup: int = 1, same: Same | None = None,
                   own_times: bool = False, alternate: bool = False, max_pairs: int | None = None) -> PairedSpeedup:
    """Time serial and parallel alternately ``pairs`` times, each result checked (bench; lessons 00-05).

    Alternating puts a burst of noise on a shared machine into one pair, not into one side.
    With ``own_times`` each call returns (result, seconds it measured itself), e.g. MPI's
    Wtime inside the program, so that launching is left out; else perf_counter times the call.
    With ``alternate`` every other pair runs parallel first, and garbage is collected before
    each pair, so that neither side always pays for what the other left behind (tiny tasks).
    With ``max_pairs``, pairs are added while the ratios stay noisy (``PairedSpeedup.noisy``), up
    to that many, as pyperf calibrates its runs; a result still noisy then says so itself.
    """
    pairs, warmup = check_whole("pairs", pairs, 1), check_whole("warmup", warmup, 0)
    if max_pairs is not None and check_whole("max_pairs", max_pairs, 1) < pairs:
        raise ValueError(f"max_pairs must be at least pairs ({pairs}), got {max_pairs}")

    def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
        if own_times:
            result, seconds = fn()
            return result, float(seconds)
        t0 = time.perf_counter()
        result = fn()
        return result, time.perf_counter() - t0

    for _ in range(warmup):  # imports, caches, first touch of the workers
        serial(), parallel()
    s_times: list[float] = []
    p_times: list[float] = []
    i = 0
    while i < pairs or (max_pairs is not None and i < max_pairs
                        and PairedSpeedup(workers, tuple(s_times), tuple(p_times)).noisy):
        if alternate:
            gc.collect()
        if alternate and i % 2:
            got, p = timed(parallel)
            expected, s = timed(serial)
        else:
            expected, s = timed(serial)
            got, p = timed(parallel)
        check_same(expected, got, f"the parallel run ({workers} workers)", same=same)
        s_times.append(s)
        p_times.append(p)
        i += 1
    return PairedSpeedup(workers, tuple(s_times), tuple(p_times))
