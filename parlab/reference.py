"""One workload on every backend, measured, saved as reference data and read back (lesson 06).

``python -m parlab.reference --save data/reference/NAME`` sweeps the worker count on every
backend this machine offers and writes ``speedups.csv`` and ``machine.json`` there. The
workload is fixed (``TASKS`` calls of ``fib(FIB_N)``) so that sets from different machines
compare. Each backend's speedup is measured against the serial run of the same code: the
pure-Python loop for Python backends, the compiled kernel called in one thread for threads
over a kernel.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import platform
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parlab import __version__, system
from parlab.measure import (Metadata, Sweep, SweepPoint, Timing, fit_amdahl, format_seconds,
                            format_speedup, time_call)
from parlab.run import WorkerPool
from parlab.workloads import fib

__all__ = [
    "FIB_N", "TASKS", "REFERENCE_DIR", "CSV_NAME", "JSON_NAME", "COLUMNS", "Backend", "BACKENDS",
    "workload_tasks", "backend_status", "run_once", "measure_backends", "sweep_rows", "machine_metadata",
    "save_reference", "Reference", "list_references", "load_reference", "reference_speedups",
    "default_workers", "main",
]

FIB_N = 24
TASKS = 64           # divisible by 1, 2, 4, ..., 32 workers: no idle worker at the end on powers of two
RUN_TIMEOUT_S = 120.0
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
CSV_NAME = "speedups.csv"
JSON_NAME = "machine.json"
COLUMNS = ("backend", "workers", "median_s", "mad_s", "speedup", "efficiency", "baseline")

Runner = Callable[[list[int]], list[Any]]


def workload_tasks(tasks: int = TASKS, n: int = FIB_N) -> list[int]:
    """The fixed workload: ``tasks`` copies of ``n`` for fib (lesson 06)."""
    if tasks < 1 or n < 0:
        raise ValueError(f"tasks must be >= 1 and n >= 0, got {tasks} and {n}")
    return [n] * tasks


# --------------------------------------------------------------------------- the backends

@dataclass(frozen=True)
class Backend:
    """A way to run the workload on k workers: ``open(k)`` yields a function tasks -> results."""

    name: str
    label: str
    baseline: str                                  # "python" or "kernel": what speedup divides
    open: Callable[[int], AbstractContextManager[Runner]]
    unavailable: Callable[[], str | None] = lambda: None  # why it cannot run here, or None


def _python_serial(tasks: list[int]) -> list[int]:
    return [fib(n) for n in tasks]


@contextmanager
def _pool(backend: str, workers: int) -> Iterator[Runner]:
    # The pool starts before the clock: start-up is a cost of its own (lesson 02), not the work's.
    with WorkerPool(backend, workers, warn=False) as pool:
        yield lambda tasks: pool.map(fib, tasks, timeout=RUN_TIMEOUT_S).results


BACKENDS: dict[str, Backend] = {
    "threads": Backend("threads", "threads, pure Python", "python",
                       lambda k: _pool("threads", k)),
    "processes": Backend("processes", "processes, pure Python", "python",
                         lambda k: _pool("processes", k)),
}

BASELINES: dict[str, Callable[[], Runner | None]] = {"python": lambda: _python_serial}


def backend_status(names: Sequence[str] | None = None) -> dict[str, str | None]:
    """For each backend: None when it can run here, else the reason it cannot (lesson 06)."""
    chosen = list(names) if names is not None else list(BACKENDS)
    unknown = [n for n in chosen if n not in BACKENDS]
    if unknown:
        raise ValueError(f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
    return {n: BACKENDS[n].unavailable() for n in chosen}


def default_workers(cores: int | None = None, oversubscribe: bool = True) -> list[int]:
    """Worker counts 1..cores (powers of two and the core count), up to 2 × cores when oversubscribing."""
    cores = cores or system.usable_cores()
    top = 2 * cores if oversubscribe else cores
    counts = {1, cores, top} | {2 ** i for i in range(1, 8) if 2 ** i <= top}
    if cores <= 4:
        counts |= set(range(1, top + 1))
    return sorted(counts)


# --------------------------------------------------------------------------- measuring

def run_once(name: str, workers: int, tasks: list[int] | None = None) -> list[Any]:
    """Run the workload once on a backend and return its results, for an equality check (lesson 06)."""
    why = backend_status([name])[name]
    if why:
        raise RuntimeError(f"backend {name!r} cannot run here: {why}")
    with BACKENDS[name].open(workers) as run:
        return run(list(tasks) if tasks is not None else workload_tasks())


def _timed(run: Runner, tasks: list[int], expected: list[int] | None, repeats: int, warmup: int,
           what: str) -> tuple[Timing, list[int]]:
    got: list[list[int]] = []
    timing = time_call(lambda: got.append(run(tasks)), repeats=repeats, warmup=warmup)
    for results in got:
        if expected is not None and results != expected:
            raise AssertionError(f"{what} returned results that differ from the serial run")
    return timing, got[-1]


def measure_backends(backends: Sequence[str] | None = None, workers: Sequence[int] | None = None, *,
                     tasks: list[int] | None = None, repeats: int = 3, warmup: int = 1,
                     progress: Callable[[int, int], None] | None = None
                     ) -> tuple[dict[str, Sweep], dict[str, str]]:
    """Sweep each available backend over ``workers``; returns ({backend: Sweep}, {skipped: why}) (lesson 06).

    The dict starts with ``serial`` (pure Python, one worker). Every result is checked equal
    to the serial run's before a number is kept.
    """
    status = backend_status(backends)
    counts = list(workers) if workers is not None else default_workers()
    if not counts or any(not isinstance(k, int) or k < 1 for k in counts):
        raise ValueError(f"workers must be a non-empty list of whole numbers >= 1, got {counts!r}")
    items = list(tasks) if tasks is not None else workload_tasks()
    skipped = {n: why for n, why in status.items() if why}
    runnable = [n for n, why in status.items() if not why]
    total, done = 1 + len(runnable) * (1 + len(counts)), 0
    cores = system.usable_cores()
    meta = Metadata.here()

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    serial, expected = _timed(_python_serial, items, None, repeats, warmup, "serial")
    baselines: dict[str, Timing] = {"python": serial}
    sweeps = {"serial": Sweep("serial", "serial", None, len(items), serial,
                              (SweepPoint(1, serial, 0.0, 1.0, 1.0, 1.0, 1.0, False),), None, meta)}
    step()
    for name in runnable:
        backend = BACKENDS[name]
        if backend.baseline not in baselines:
            runner = BASELINES[backend.baseline]()
            assert runner is not None, f"{name} is available but its baseline is not"
            baselines[backend.baseline], _ = _timed(runner, items, expected, repeats, warmup,
                                                    f"the serial {backend.baseline} run")
        step()
        base = baselines[backend.baseline].median
        points = []
        for k in counts:
            with backend.open(k) as run:
                timing, _ = _timed(run, items, expected, repeats, warmup, f"{name} with {k} workers")
            q1, q3 = timing.quartiles
            s = base / timing.median
            points.append(SweepPoint(k, timing, 0.0, s, base / q3, base / q1, s / k, k > cores))
            step()
        fit_pts = [(p.workers, p.speedup) for p in points if 1 < p.workers <= cores]
        fit = fit_amdahl(*zip(*fit_pts)) if fit_pts else None
        sweeps[name] = Sweep(backend.label, name, None, len(items), baselines[backend.baseline],
                             tuple(points), fit, meta)
    return sweeps, skipped


def sweep_rows(sweeps: dict[str, Sweep]) -> list[dict[str, Any]]:
    """Every point of every sweep as a row with the CSV columns (lesson 06)."""
    rows = []
    for name, sweep in sweeps.items():
        baseline = "python" if name == "serial" else BACKENDS[name].baseline
        for p in sweep.points:
            rows.append({"backend": name, "workers": p.workers, "median_s": p.timing.median,
                         "mad_s": p.timing.mad, "speedup": p.speedup, "efficiency": p.efficiency,
                         "baseline": baseline})
    return rows


# --------------------------------------------------------------------------- saving and loading

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _mpi_version() -> str | None:
    # MPI never starts in the kernel (or in this process): ask a child, without MPI_Init.
    try:
        import importlib.util
        if importlib.util.find_spec("mpi4py") is None:
            return None
        from parlab.launch import run
        code = ("import mpi4py; mpi4py.rc.initialize = False; from mpi4py import MPI; "
                "print(MPI.Get_library_version().strip().splitlines()[0])")
        return " ".join(run([sys.executable, "-c", code], timeout=60).stdout.split()) or None
    except Exception:  # no MPI library behind mpi4py: report it as absent rather than fail
        return None


def machine_metadata(name: str = "") -> dict[str, Any]:
    """Cores, CPU model, Python, MPI and the date: stored beside every reference set (lesson 06)."""
    build = system.python_build()
    return {
        "name": name, "usable_cores": system.usable_cores(), "logical_cpus": os.cpu_count(),
        "cpu_model": _cpu_model(), "platform": build["platform"], "python": build["version"],
        "implementation": build["implementation"], "free_threaded": build["free_threaded"],
        "gil_enabled": build["gil_enabled"], "start_method": system.default_start_method(),
        "mpi": _mpi_version(), "parlab": __version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "workload": f"{TASKS} tasks of fib({FIB_N})",
    }


def save_reference(rows: Sequence[dict[str, Any]], metadata: dict[str, Any],
                   directory: str | os.PathLike[str]) -> Path:
    """Write ``speedups.csv`` and ``machine.json`` into ``directory`` (created) and return it (lesson 06)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / CSV_NAME, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, **{k: f"{row[k]:.6g}" for k in ("median_s", "mad_s",
                                                                     "speedup", "efficiency")}})
    skipped = metadata.get("skipped", {})
    (out / JSON_NAME).write_text(json.dumps({**metadata, "skipped": skipped}, indent=2) + "\n")
    return out


@dataclass(frozen=True)
class Reference:
    """A saved set: its name, the machine it came from, and its rows."""

    name: str
    machine: dict[str, Any]
    rows: tuple[dict[str, Any], ...]

    @property
    def backends(self) -> list[str]:
        return list(dict.fromkeys(r["backend"] for r in self.rows))


def list_references(root: str | os.PathLike[str] = REFERENCE_DIR) -> list[str]:
    """Names of the saved reference sets under ``root`` (lesson 06)."""
    base = Path(root)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / CSV_NAME).is_file() and (p / JSON_NAME).is_file())


def load_reference(name: str | None = None, root: str | os.PathLike[str] = REFERENCE_DIR) -> Reference:
    """A saved set by name; without a name, the one whose core count is nearest this machine's (lesson 06)."""
    names = list_references(root)
    if not names:
        raise FileNotFoundError(f"no reference sets under {root}; make one with "
                                "python -m parlab.reference --save data/reference/NAME")
    if name is None:
        cores = system.usable_cores()
        machines = {n: json.loads((Path(root) / n / JSON_NAME).read_text()) for n in names}
        name = min(names, key=lambda n: (abs(machines[n]["usable_cores"] - cores),
                                         -machines[n]["usable_cores"], n))
    elif name not in names:
        raise ValueError(f"no reference set {name!r}; available: {', '.join(names)}")
    folder = Path(root) / name
    with open(folder / CSV_NAME, newline="") as fh:
        rows = tuple({**r, "workers": int(r["workers"]),
                      **{k: float(r[k]) for k in ("median_s", "mad_s", "speedup", "efficiency")}}
                     for r in csv.DictReader(fh))
    return Reference(name, json.loads((folder / JSON_NAME).read_text()), rows)


def reference_speedups(reference: Reference, backend: str = "processes") -> dict[int, float]:
    """{workers: speedup} of one backend in a saved set, for ``plot_speedup(reference=...)`` (lessons 00-06)."""
    found = {r["workers"]: r["speedup"] for r in reference.rows if r["backend"] == backend}
    if not found:
        raise ValueError(f"reference set {reference.name!r} has no {backend!r} rows; it has "
                         f"{', '.join(reference.backends)}")
    return dict(sorted(found.items()))


# --------------------------------------------------------------------------- command line

def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as a fixed-format text table (the lesson and the command print this)."""
    lines = [f"{'backend':<16}{'workers':>8}{'time':>11}{'± MAD':>11}{'speedup':>10}{'efficiency':>12}"]
    for r in rows:
        lines.append(f"{r['backend']:<16}{r['workers']:>8}{format_seconds(r['median_s']):>11}"
                     f"{format_seconds(r['mad_s']):>11}{format_speedup(r['speedup']):>10}"
                     f"{r['efficiency']:>12.0%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m parlab.reference [--save DIR] [--backends ...] [--workers ...] [--repeats N]``."""
    parser = argparse.ArgumentParser(prog="python -m parlab.reference", description=__doc__.split("\n")[0])
    parser.add_argument("--save", metavar="DIR", help="write speedups.csv and machine.json here")
    parser.add_argument("--backends", nargs="+", choices=list(BACKENDS), help="default: all")
    parser.add_argument("--workers", nargs="+", type=int, help="default: 1..2 x usable cores")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    progress = (lambda d, t: print(f"  {d}/{t}", end="\r", file=sys.stderr, flush=True))
    sweeps, skipped = measure_backends(args.backends, args.workers, repeats=args.repeats,
                                       progress=progress)
    rows = sweep_rows(sweeps)
    print(format_table(rows))
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")
    if args.save:
        meta = machine_metadata(Path(args.save).name) | {"repeats": args.repeats, "skipped": skipped}
        print(f"saved to {save_reference(rows, meta, args.save)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
