"""usage: python -I ft_threads.py [--n N] [--tasks T] [--workers 1,2,...] [--repeats R] [--info]

Times pure-Python fib(N) on threads with the standard library alone, and prints one JSON
object: the interpreter (version, implementation, free-threaded build or not, whether the
GIL was on while it ran), the serial times, and the times on each thread count.

Lesson 01a runs it by path under another Python (a free-threaded ``python3.13t`` beside a
standard kernel, or the other way round) so that both builds are measured side by side on
the same machine. It imports nothing from parlab: that Python has no parlab installed, and
``-I`` (isolated mode) keeps site-packages and PYTHON* variables out. The thread pool is
started before the clock, so its start-up is timed apart from the work, and every threaded
result is checked against the serial one.

``--info`` prints the interpreter facts only (a quick probe: is this a free-threaded build?).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import sysconfig
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

MAX_N = 30        # fib(30) is about a second of pure Python: more is a mistake
MAX_TASKS = 256
MAX_WORKERS = 256
MAX_REPEATS = 50


def fib(n: int) -> int:
    """Naive recursive Fibonacci, the same as parlab.workloads.fib (a test checks they agree)."""
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def build_info() -> dict[str, object]:
    """What this interpreter is, and whether the GIL is on now (False only on a free-threaded build)."""
    gil = getattr(sys, "_is_gil_enabled", None)
    return {"version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
            "gil_enabled": bool(gil()) if gil is not None else True,
            "platform": f"{platform.system()} {platform.machine()}"}


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--workers takes whole numbers separated by commas, e.g. 1,2,4; got {text!r}") from None
    if not counts or not all(1 <= k <= MAX_WORKERS for k in counts):
        raise argparse.ArgumentTypeError(
            f"--workers takes thread counts from 1 to {MAX_WORKERS}, e.g. 1,2,4; got {text!r}")
    return counts


def _bounded(name: str, top: int) -> Callable[[str], int]:
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} takes a whole number from 1 to {top}, got {text!r}") from None
        if not 1 <= value <= top:
            raise argparse.ArgumentTypeError(f"{name} takes a whole number from 1 to {top}, got {text!r}")
        return value
    return check


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ft_threads (lesson 01a)."""
    parser = argparse.ArgumentParser(prog="ft_threads.py",
                                     description="Time fib(N) on threads; print JSON (standard library only).")
    parser.add_argument("--n", type=_bounded("--n", MAX_N), default=25, help="the fib size of each task")
    parser.add_argument("--tasks", type=_bounded("--tasks", MAX_TASKS), default=12, help="how many fib(N) tasks")
    parser.add_argument("--workers", type=_counts, default=[1, 2], help="thread counts, e.g. 1,2,4")
    parser.add_argument("--repeats", type=_bounded("--repeats", MAX_REPEATS), default=3,
                        help="timed runs per thread count (after one warm-up)")
    parser.add_argument("--info", action="store_true", help="print the interpreter facts only")
    return parser.parse_args(argv)


def _timed(run: Callable[[], object], repeats: int) -> list[float]:
    run()  # warm-up: first touch of the code and the threads
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - t0)
    return seconds


def measure(n: int, tasks: int, workers: list[int], repeats: int) -> dict[str, object]:
    """The serial times and each thread count's times; raises AssertionError if threads got other results."""
    items = [n] * tasks
    expected = [fib(x) for x in items]
    serial = _timed(lambda: [fib(x) for x in items], repeats)
    points = []
    for k in workers:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=k) as pool:
            list(pool.map(abs, range(k)))  # start the threads before the clock
            startup = time.perf_counter() - t0
            got: list[int] = []

            def run() -> None:
                got[:] = pool.map(fib, items)  # noqa: B023 (used in this iteration only)

            seconds = _timed(run, repeats)
            if got != expected:
                raise AssertionError(f"{k} threads gave other results than the serial run")
        points.append({"workers": k, "seconds": seconds, "startup_s": startup})
    return {"n": n, "tasks": tasks, "serial": serial, "serial_median": statistics.median(serial),
            "points": points, "results_match": True}


def main(argv: list[str] | None = None) -> int:
    """Print the JSON report (lesson 01a)."""
    args = parse(argv)
    report = build_info()
    if not args.info:
        report.update(measure(args.n, args.tasks, args.workers, args.repeats))
        report["cpu_count"] = os.cpu_count()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
