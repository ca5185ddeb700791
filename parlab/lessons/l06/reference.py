"""One workload on every backend, measured, saved as reference data and read back (lesson 06).

``python -m parlab.lessons.l06.reference --save data/reference/NAME`` sweeps the worker count on every
backend this machine offers (see :mod:`parlab.lessons.l06.backends`) and writes ``speedups.csv`` and
``machine.json`` there. The workload is fixed so that sets from different machines compare;
``check_comparable`` refuses a set of another workload. ``machine.json`` is ``Metadata``'s
fields plus the set's own (CPU model, MPI, parlab version, workload), with ``"schema"``
(``parlab.results.SCHEMA_VERSION``) and ``"kind": "reference"``; another schema is refused.
Each backend's speedup is measured against the serial run of the same code: the pure-Python
loop for Python backends, the compiled kernel called in one thread for threads over a kernel.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path
from typing import Any

from parlab import __version__, system
from parlab._checks import check_whole
from parlab.lessons.l06.backends import (
    BASELINES,
    STRATEGIES,
    TASKS,
    Runner,
    Task,
    backend_status,
    default_workers,
    describe_workload,
    python_serial,
    workload_tasks,
)
from parlab.measure import build_sweep, check_same, time_call, timing_from
from parlab.results import Metadata, Sweep, Timing, format_seconds, format_speedup, open_document

__all__ = [
    "COLUMNS",
    "CSV_NAME",
    "JSON_NAME",
    "KIND",
    "REFERENCE_DIR",
    "Reference",
    "check_comparable",
    "describe_tasks",
    "format_table",
    "list_references",
    "load_reference",
    "machine_metadata",
    "main",
    "measure_backends",
    "reference_rows",
    "reference_speedups",
    "save_reference",
]

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "data" / "reference"
CSV_NAME = "speedups.csv"
JSON_NAME = "machine.json"
COLUMNS = ("backend", "workers", "median_s", "mad_s", "speedup", "efficiency", "baseline", "startup_s")
_NUMBERS = ("median_s", "mad_s", "speedup", "efficiency", "startup_s")
KIND = "reference"  # machine.json's kind; its schema is parlab.results.SCHEMA_VERSION


# --------------------------------------------------------------------------- measuring

def _timed(run: Runner, tasks: list[Task], expected: list[int] | None, repeats: int, warmup: int,
           what: str, workers: int = 1) -> tuple[Timing, list[int]]:
    """Time ``run(tasks)`` ``repeats`` times, after ``warmup`` runs of the first two tasks a worker.

    A warm-up starts the workers and loads the code in them: two tasks a worker do that as well
    as the whole workload does, in a fraction of its time.
    """
    head = tasks[:2 * workers]
    for _ in range(warmup):
        warm = run(head)
        if expected is not None:
            check_same(expected[:len(head)], warm, f"{what} (warm-up)")
    got: list[list[int]] = []
    timing = time_call(lambda: got.append(run(tasks)), repeats=repeats, warmup=0)
    for results in got:
        if expected is not None:
            check_same(expected, results, what)
    return timing, got[-1]


def measure_backends(backends: Sequence[str] | None = None, workers: Sequence[int] | None = None, *,
                     tasks: list[Task] | None = None, repeats: int = 3, warmup: int = 1,
                     progress: Callable[[int, int], None] | None = None
                     ) -> tuple[dict[str, Sweep], dict[str, str]]:
    """Sweep each available backend over ``workers``; returns ({backend: Sweep}, {skipped: why}) (lesson 06).

    The dict starts with ``serial`` (pure Python, one worker). Every result is checked equal
    to the serial run's before a number is kept.
    """
    status = backend_status(backends)
    counts = list(workers) if workers is not None else default_workers()
    if not counts:
        raise ValueError(f"workers must be a non-empty list of whole numbers >= 1, got {counts!r}")
    counts = [check_whole("each of workers", k, 1) for k in counts]
    items = list(tasks) if tasks is not None else workload_tasks()
    skipped = {n: why for n, why in status.items() if why}
    runnable = [n for n, why in status.items() if not why]
    total, done = 1 + len(runnable) * (1 + len(counts)), 0  # the final re-timing is not counted
    meta = Metadata.here()

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    # Baselines are timed when first needed and again at the end; the median of both halves
    # keeps one burst of noise from another program from skewing every speedup.
    first, expected = _timed(python_serial, items, None, repeats, warmup, "serial")
    runners: dict[str, Runner] = {"python": python_serial}
    base_values: dict[str, list[float]] = {"python": list(first.values)}
    step()
    measured: dict[str, list[tuple[int, Timing, float]]] = {}
    for name in runnable:
        backend = STRATEGIES[name]
        if backend.baseline not in runners:
            runner = BASELINES[backend.baseline]()
            assert runner is not None, f"{name} is available but its baseline is not"
            runners[backend.baseline] = runner
            t, _ = _timed(runner, items, expected, repeats, warmup, f"the serial {backend.baseline} run")
            base_values[backend.baseline] = list(t.values)
        step()
        measured[name] = []
        for k in counts:
            t0 = time.perf_counter()
            with backend.open(k) as run:
                opened = time.perf_counter() - t0
                # An empty run is the launch alone: what child scripts and MPI pay every time;
                # it also serves as their warm-up (each run starts fresh programs anyway).
                empty = time_call(partial(run, []), repeats=1, warmup=0).median if backend.launches else 0.0
                timing, _ = _timed(run, items, expected, repeats, 0 if backend.launches else warmup,
                                   f"{name} with {k} workers", k)
            measured[name].append((k, timing, opened + empty))
            step()
    baselines = {}
    for what, runner in runners.items():
        again, _ = _timed(runner, items, expected, repeats, 0, f"the serial {what} run")
        baselines[what] = timing_from(base_values[what] + list(again.values))
    serial = baselines["python"]
    workload = describe_tasks(items)
    sweeps = {"serial": build_sweep("serial", "serial", None, len(items), serial, [(1, serial, 0.0, None)],
                                    metadata=meta, workload=workload)}
    for name, timings in measured.items():
        backend = STRATEGIES[name]
        sweeps[name] = build_sweep(backend.label, name, None, len(items), baselines[backend.baseline],
                                   [(k, timing, startup, None) for k, timing, startup in timings],
                                   metadata=meta, workload=workload)
    return sweeps, skipped


def describe_tasks(items: Sequence[Task]) -> str:
    """The workload in words: the lesson's windows by their count, other windows by their bounds (lesson 06)."""
    if items and list(items) == workload_tasks(len(items)):
        return describe_workload(len(items))
    return f"count_primes in {len(items)} windows from {items[0][0]} to {items[-1][1]} (not the lesson's)"


def reference_rows(sweeps: dict[str, Sweep]) -> list[dict[str, Any]]:
    """Every point of every sweep as a row of numbers with the CSV columns, from ``Sweep.table()`` (lesson 06)."""
    return [{"backend": name, **row,
             "baseline": "python" if name == "serial" else STRATEGIES[name].baseline}
            for name, sweep in sweeps.items() for row in sweep.table()]


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
    except Exception:  # noqa: BLE001 (no MPI library behind mpi4py, or a broken one: report it absent, never fail)
        return None


def machine_metadata(name: str = "") -> dict[str, Any]:
    """``Metadata.here()``'s fields plus the CPU, MPI, parlab version and workload: a set's machine.json (lesson 06)."""
    return {**Metadata.here().to_dict(), "kind": KIND, "name": name, "logical_cpus": os.cpu_count(),
            "cpu_model": _cpu_model(), "mpi": _mpi_version(), "parlab": __version__,
            "workload": describe_workload()}


def _checked(machine: dict[str, Any], where: str) -> dict[str, Any]:
    # One shape: a set's machine is Metadata's fields and the set's own, under this schema.
    try:
        machine = open_document(machine, KIND)
    except ValueError as exc:
        raise ValueError(f"reference set {where}: {exc}") from None
    missing = [f.name for f in fields(Metadata) if f.name not in machine]
    if missing or "workload" not in machine:
        raise ValueError(f"reference set {where}: machine.json lacks {', '.join(missing or ['workload'])}")
    return machine


def save_reference(rows: Sequence[dict[str, Any]], metadata: dict[str, Any],
                   directory: str | os.PathLike[str]) -> Path:
    """Write ``speedups.csv`` and ``machine.json`` (from ``machine_metadata``) into ``directory`` (lesson 06)."""
    out = Path(directory)
    machine = _checked({"skipped": {}, **metadata}, repr(out.name))  # refused before a file is written
    out.mkdir(parents=True, exist_ok=True)
    with open(out / CSV_NAME, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, **{k: f"{row[k]:.6g}" for k in _NUMBERS if k in row}})
    (out / JSON_NAME).write_text(json.dumps(machine, indent=2) + "\n")
    return out


@dataclass(frozen=True)
class Reference:
    """A saved set: its name, the machine it came from (machine.json), and its rows (lesson 06)."""

    name: str
    machine: dict[str, Any]
    rows: tuple[dict[str, Any], ...]

    @property
    def backends(self) -> list[str]:
        return list(dict.fromkeys(r["backend"] for r in self.rows))

    @property
    def metadata(self) -> Metadata:
        """The machine as every sweep describes one."""
        return Metadata.from_json({**self.machine, "kind": Metadata.KIND})


def check_comparable(reference: Reference, workload: str | None) -> None:
    """Refuse to set a reference set beside measurements of another workload (lesson 06)."""
    theirs = reference.machine["workload"]
    if workload != theirs:
        raise ValueError(f"reference set {reference.name!r} measured {theirs!r}, but these sweeps "
                         f"measured {workload!r}: speedups of different work do not compare; measure "
                         "the lesson's workload (l06_backends.workload_tasks()) or choose another set")


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
                                "python -m parlab.lessons.l06.reference --save data/reference/NAME")
    if name is None:
        cores = system.usable_cores()
        machines = {n: json.loads((Path(root) / n / JSON_NAME).read_text()) for n in names}
        name = min(names, key=lambda n: (abs(machines[n]["usable_cores"] - cores),
                                         -machines[n]["usable_cores"], n))
    elif name not in names:
        raise ValueError(f"no reference set {name!r}; available: {', '.join(names)}")
    folder = Path(root) / name
    machine = _checked(json.loads((folder / JSON_NAME).read_text()), f"{name!r} ({folder})")
    with open(folder / CSV_NAME, newline="") as fh:
        rows = tuple({**r, "workers": int(r["workers"]),
                      **{k: float(r[k]) for k in _NUMBERS if r.get(k)}}
                     for r in csv.DictReader(fh))
    return Reference(name, machine, rows)


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
    head = f"{'backend':<16}{'workers':>8}{'time':>11}{'± MAD':>11}{'speedup':>10}{'efficiency':>12}"
    lines = [head + f"{'start-up':>11}"]
    for r in rows:
        lines.append(f"{r['backend']:<16}{r['workers']:>8}{format_seconds(r['median_s']):>11}"
                     f"{format_seconds(r['mad_s']):>11}{format_speedup(r['speedup']):>10}"
                     f"{r['efficiency']:>12.0%}{format_seconds(r.get('startup_s', 0.0)):>11}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The command line: ``python -m parlab.lessons.l06.reference [--save DIR] [--backends ...]
    [--workers ...] [--repeats N] [--tasks T]``."""
    parser = argparse.ArgumentParser(prog="python -m parlab.lessons.l06.reference", description=__doc__.split("\n")[0])
    parser.add_argument("--save", metavar="DIR", help="write speedups.csv and machine.json here")
    parser.add_argument("--backends", nargs="+", choices=list(STRATEGIES), help="default: all")
    parser.add_argument("--workers", nargs="+", type=int, help="default: 1..2 x usable cores")
    parser.add_argument("--repeats", type=int, default=5, help="measured runs per point (default 5)")
    parser.add_argument("--tasks", type=int, default=TASKS,
                        help=f"windows in the workload (default {TASKS}; change it only to test)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.tasks < 1 or any(k < 1 for k in args.workers or [1]):
        parser.error("--repeats, --tasks and every --workers value must be >= 1")

    def progress(done: int, total: int) -> None:
        print(f"  {done}/{total}", end="\r", file=sys.stderr, flush=True)

    sweeps, skipped = measure_backends(args.backends, args.workers, tasks=workload_tasks(args.tasks),
                                       repeats=args.repeats, progress=progress)
    print(file=sys.stderr)
    rows = reference_rows(sweeps)
    print(format_table(rows))
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")
    if args.save:
        meta = machine_metadata(Path(args.save).name) | {
            "workload": sweeps["serial"].workload, "repeats": args.repeats, "skipped": skipped}
        print(f"saved to {save_reference(rows, meta, args.save)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
