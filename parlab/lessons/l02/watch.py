"""Which worker processes and threads a learner's code started: lesson 02's checkers ask it.

A serial "parallel" version, or one on threads, is named as such even on one core or a busy
machine: every start is recorded as it happens (see :class:`ChildWatch`).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import threading
import time
from typing import Any, Self

from parlab.lessons import check

__all__ = ["OWN_THREADS", "ChildWatch"]

# The checker's own threads: never counted as the learner's.
OWN_THREADS = ("parlab-check", "parlab-child-watch", "parlab-check-stop")


class ChildWatch:
    """Which worker processes and threads the learner's code started while it ran.

    Every ``Process.start`` and ``Thread.start`` in the window is recorded as it happens, so a
    pool whose workers start and finish between two looks is not missed on a busy machine;
    a sampling thread also notes children that appear by other routes.
    """

    def __init__(self, interval_s: float = 0.005) -> None:
        self._before = {p.pid for p in multiprocessing.active_children()}
        self._threads_before = {t.ident for t in threading.enumerate()}
        self.threads: set[str] = set()
        self.pools_before = {id(pool) for pool in check.sandbox.live_pools()}
        self._interval = interval_s
        self._stop = threading.Event()
        self.seen: set[int | None] = set()
        self._thread = threading.Thread(target=self._run, name="parlab-child-watch", daemon=True)
        self._starts: tuple[Any, Any] | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.seen.update(p.pid for p in multiprocessing.active_children() if p.pid not in self._before)
            self.threads.update(t.name for t in threading.enumerate()
                                if t.ident not in self._threads_before and t.name not in OWN_THREADS)
            self._stop.wait(self._interval)

    def _record_starts(self) -> None:
        process_start, thread_start = multiprocessing.process.BaseProcess.start, threading.Thread.start
        watch = self

        def start_process(process: Any) -> None:
            process_start(process)
            watch.seen.add(process.pid)

        def start_thread(thread: threading.Thread) -> None:
            if thread.name not in OWN_THREADS:
                watch.threads.add(thread.name)
            thread_start(thread)

        self._starts = (process_start, thread_start)
        multiprocessing.process.BaseProcess.start = start_process  # type: ignore[method-assign,assignment]
        threading.Thread.start = start_thread  # type: ignore[method-assign,assignment]

    def __enter__(self) -> Self:
        self._record_starts()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._starts is not None:
            multiprocessing.process.BaseProcess.start, threading.Thread.start = self._starts  # type: ignore[method-assign]
            self._starts = None
        self._stop.set()
        self._thread.join(timeout=5)

    def still_running(self, grace_s: float = 1.0) -> list[int | None]:
        """New children still alive ``grace_s`` after the learner's code returned."""
        deadline = time.monotonic() + grace_s
        while True:
            alive = [p.pid for p in multiprocessing.active_children() if p.pid not in self._before]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.02)
