"""``python -m parlab.bench``: the headline figures of every lesson, measured here and now.

Speedups are measured as interleaved (serial, parallel) pairs on pools started before the
clock, and the median of the pair ratios is reported, so that a burst of noise on a shared
machine hits both sides alike. Pool start-up is a figure of its own.

Each lesson adds a group: a function ``entries(cores) -> {name: {...}}`` named in GROUPS.

The report records the build beside ``python``: ``"build"`` holds the implementation, the
version, whether the build is free-threaded and whether the GIL was on after the groups ran
(a free-threaded build turns it back on when it imports an extension that needs it; then
``"gil_enabled_at_start"`` says how it began), so that 3.13 and 3.13t reports tell apart.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

from parlab import system
from parlab.measure import paired_speedup, startup_timing
from parlab.results import PairedSpeedup
from parlab.run import WorkerPool
from parlab.workloads import fib

__all__ = ["GROUPS", "build_info", "collect", "main", "speedup_entry", "speedup_figures"]

# group name -> "module:function"; the function takes the usable core count.
GROUPS: dict[str, str] = {
    "core": "parlab.bench:core_entries",
    "gil": "parlab.benches.gil:entries",            # lessons 01-02
    "kernels": "parlab.benches.kernels:entries",    # lesson 03
    "children": "parlab.benches.children:entries",  # lesson 04
    "mpi": "parlab.benches.mpi:entries",            # lesson 05
    "dask": "parlab.benches.dask:entries",          # lesson 07
}

FIB_N = 27
PAIRS = 7
MAX_PAIRS = 21  # pairs are added while the ratios spread wide (measure.paired_speedup), up to this many


def speedup_figures(paired: PairedSpeedup) -> dict[str, Any]:
    """A paired measurement as a bench entry: the median ratio, its quartiles and range, and whether it stayed noisy."""
    low, high = paired.quartiles
    return {"speedup": round(paired.speedup, 3), "workers": paired.workers,
            "serial_s": round(paired.serial_median, 4), "parallel_s": round(paired.parallel_median, 4),
            "speedup_q1": round(low, 3), "speedup_q3": round(high, 3),
            "speedup_min": round(min(paired.ratios), 3), "speedup_max": round(max(paired.ratios), 3),
            "pairs": paired.pairs, "noisy": paired.noisy}


def speedup_entry(serial: Callable[[], Any], parallel: Callable[[], Any], workers: int,
                  pairs: int = PAIRS) -> dict[str, Any]:
    """Time serial and parallel alternately, adding pairs while noisy; report the median ratio (the headline)."""
    return speedup_figures(paired_speedup(serial, parallel, workers=workers, pairs=pairs,
                                          max_pairs=max(pairs, MAX_PAIRS)))


def _pool_speedup(backend: str, func: Callable[..., Any], tasks: list[Any], workers: int,
                  **pool_kw: Any) -> dict[str, Any]:
    with WorkerPool("serial") as serial_pool, WorkerPool(backend, workers, warn=False, **pool_kw) as pool:
        return speedup_entry(lambda: serial_pool.map(func, tasks).results,
                             lambda: pool.map(func, tasks).results, workers)


def startup_ms(start_method: str, workers: int, repeats: int = 3) -> float:
    """Median time (ms) to start ``workers`` process workers with a start method, until all are ready."""
    return round(1000 * startup_timing(start_method, workers, repeats).median, 1)


def core_entries(cores: int) -> dict[str, Any]:
    """processes_fib, threads_fib, interpreters_fib (3.14), the start-up costs and harness_overhead (lessons 00-02)."""
    tasks = [FIB_N] * (4 * cores)
    out: dict[str, Any] = {
        "processes_fib": _pool_speedup("processes", fib, tasks, cores),
        "threads_fib": _pool_speedup("threads", fib, tasks, cores),
    }
    for method in system.available_start_methods():
        out[f"startup_{method}_ms"] = {"value": startup_ms(method, cores), "workers": cores}
    from parlab.benches import harness, interpreters  # harness_overhead; subinterpreters (3.14)

    out.update(interpreters.entries(cores, _pool_speedup, fib, tasks))
    out.update(harness.entries(cores))
    return out


def build_info(gil_at_start: bool | None = None) -> dict[str, Any]:
    """The running Python's implementation, version, free-threading and GIL state, for the report."""
    build = system.python_build()
    info: dict[str, Any] = {"implementation": str(build["implementation"]), "version": str(build["version"]),
                            "free_threaded": bool(build["free_threaded"]), "gil_enabled": system.gil_enabled()}
    if gil_at_start is not None and gil_at_start != info["gil_enabled"]:
        info["gil_enabled_at_start"] = gil_at_start
    return info


def _describe_build(build: dict[str, Any]) -> str:
    kind = "free-threaded build" if build["free_threaded"] else "GIL build"
    gil = "GIL on" if build["gil_enabled"] else "GIL off"
    if "gil_enabled_at_start" in build:
        gil += f" (it was {'on' if build['gil_enabled_at_start'] else 'off'} at the start)"
    return f"{build['implementation']} {build['version']}, {kind}, {gil}"


def collect(groups: list[str] | None = None) -> dict[str, Any]:
    """Run the chosen groups (all by default) and return the JSON-ready report."""
    names = groups or list(GROUPS)
    unknown = [g for g in names if g not in GROUPS]
    if unknown:
        raise SystemExit(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    cores = system.usable_cores()
    gil_at_start = system.gil_enabled()
    results: dict[str, Any] = {}
    for name in names:
        module, func = GROUPS[name].split(":")
        results.update(getattr(importlib.import_module(module), func)(cores))
    return {"usable_cores": cores, "python": sys.version.split()[0], "build": build_info(gil_at_start),
            "results": results}


def _format(report: dict[str, Any]) -> str:
    build = f" ({_describe_build(report['build'])})" if "build" in report else ""
    lines = [f"parlab bench: {report['usable_cores']} usable cores, Python {report['python']}{build}",
             f"{'name':<26}{'figure':>12}  detail"]
    for name, entry in report["results"].items():
        if "speedup" in entry:
            figure = f"{entry['speedup']:.2f}×" + (" (noisy)" if entry.get("noisy") else "")
            quartiles = (f"  middle half {entry['speedup_q1']:.2f}-{entry['speedup_q3']:.2f}"
                         if "speedup_q1" in entry else "")
            detail = (f"k={entry['workers']}  serial {entry['serial_s']:.3f} s  "
                      f"parallel {entry['parallel_s']:.3f} s{quartiles}  "
                      f"range {entry['speedup_min']:.2f}-{entry['speedup_max']:.2f}  pairs {entry['pairs']}")
        else:
            figure = f"{entry['value']}"
            detail = "  ".join(f"{k}={v}" for k, v in entry.items() if k != "value")
        lines.append(f"{name:<26}{figure:>12}  {detail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: the table, or ``--json`` for machines."""
    parser = argparse.ArgumentParser(prog="python -m parlab.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", nargs="+", metavar="GROUP", help=f"groups: {', '.join(GROUPS)}")
    args = parser.parse_args(argv)
    report = collect(args.only)
    print(json.dumps(report, indent=2) if args.json else _format(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
