"""A parent program for the fault tests that need their own process: Ctrl-C and a killed parent.

Usage: python tests/faults/faults_helpers.py interrupt|early|early_many|orphan BACKEND START_METHOD|none

It prints one line per event ("READY <pids>", "INTERRUPTED", ...) and flushes, so the test
can follow it through a pipe. Spawn workers re-import this file, hence the main guard.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from parlab import _faults, workloads
from parlab.run import WorkerPool, run_tasks

# tests/procs.py: run as a script, this file's folder (tests/faults) is sys.path[0], so add tests/ itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from procs import wait_gone

TASKS = 40
TASK_S = 0.3


def say(*words: object) -> None:
    """Print one event line at once (the test reads the pipe line by line)."""
    print(*words, flush=True)


def interrupt(backend: str, method: str | None) -> None:
    """Run long tasks until SIGINT arrives, then report what stopped and run again."""
    pool = WorkerPool(backend, 2, start_method=method, warn=False)
    pids = pool.pids
    say("READY", *pids)
    try:
        pool.map(_faults.spin, [TASK_S] * TASKS, timeout=120)
        say("FINISHED")  # the interrupt never came: the test fails on this
        return
    except KeyboardInterrupt:
        say("INTERRUPTED")
    say("GONE", int(not wait_gone(pids, within=10)))
    if backend == "threads":
        time.sleep(TASK_S + 0.2)  # a task already running finishes; no new one may start
        before, cpu0 = _faults.started_count(), time.process_time()
        time.sleep(1.0)
        after, cpu = _faults.started_count(), time.process_time() - cpu0
        deadline = time.monotonic() + 5
        while threading.active_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        say("THREADS", before, after, f"{cpu:.3f}", threading.active_count())
    again = pool.map(workloads.fib, [10, 11, 12], timeout=60).results  # the same pool restarts
    fresh = run_tasks(workloads.fib, [10, 11, 12], backend=backend, workers=2,
                      start_method=method, warn=False, timeout=60).results
    pool.close()
    say("NEXT", *again, *fresh)


def early(backend: str, method: str | None) -> None:
    """SIGINT to the group while the workers (and the fork server) are still starting."""
    import os
    import signal

    threading.Timer(0.03, os.killpg, (0, signal.SIGINT)).start()
    try:
        with WorkerPool(backend, 4, start_method=method, warn=False):
            time.sleep(2)  # started before the signal came: it interrupts this sleep
    except KeyboardInterrupt:
        say("INTERRUPTED")
    fresh = run_tasks(workloads.fib, [10, 11], backend=backend, workers=2, start_method=method,
                      warn=False, timeout=60).results
    say("NEXT", *fresh)


def early_many(backend: str, method: str | None, rounds: int = 20) -> None:
    """``early`` again and again, the signal landing at another moment of the start each time."""
    import os
    import signal

    for i in range(rounds):
        timer = threading.Timer(0.002 + 0.003 * i, os.killpg, (0, signal.SIGINT))  # 2 to 59 ms into the start
        try:
            timer.start()
            with WorkerPool(backend, 4, start_method=method, warn=False):
                time.sleep(2)  # started before the signal came: it interrupts this sleep
        except KeyboardInterrupt:
            pass
        timer.join()
        fresh = run_tasks(workloads.fib, [10, 11], backend=backend, workers=2, start_method=method,
                          warn=False, timeout=60).results
        say("NEXT", i, *fresh)


def orphan(backend: str, method: str | None) -> None:
    """Start workers on long tasks and wait to be SIGKILLed, as a restarted kernel is."""
    with WorkerPool(backend, 2, start_method=method, warn=False) as pool:
        say("READY", *pool.pids)
        pool.map(_faults.sleep_then, [60] * 4, timeout=120)


if __name__ == "__main__":
    mode, backend_arg, method_arg = sys.argv[1:4]
    start = None if method_arg == "none" else method_arg
    {"interrupt": interrupt, "early": early, "early_many": early_many, "orphan": orphan}[mode](backend_arg, start)
