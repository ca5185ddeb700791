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
OWN_THREADS = ("parlab-check", "parlab-check-stop")


class ChildWatch:
    """Which worker processes and threads the learner's code started while it ran.

    Every ``Process.start`` and ``Thread.start`` in the window is recorded as it happens (both
    are put back after), so a pool whose workers start and finish in a moment is not missed on a
    busy machine, as a thread looking now and then could miss it.
    """

    def __init__(self) -> None:
        self._before = {p.pid for p in multiprocessing.active_children()}
        self.pools_before = {id(pool) for pool in check.sandbox.live_pools()}
        self.threads: set[str] = set()
        self.seen: set[int | None] = set()
        self._starts: tuple[Any, Any] | None = None

    def __enter__(self) -> Self:
        process_start, thread_start = multiprocessing.process.BaseProcess.start, threading.Thread.start

        def start_process(process: Any) -> None:
            process_start(process)
            self.seen.add(process.pid)

        def start_thread(thread: threading.Thread) -> None:
            if thread.name not in OWN_THREADS:
                self.threads.add(thread.name)
            thread_start(thread)

        self._starts = (process_start, thread_start)
        multiprocessing.process.BaseProcess.start = start_process  # type: ignore[method-assign,assignment]
        threading.Thread.start = start_thread  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._starts is not None:
            multiprocessing.process.BaseProcess.start, threading.Thread.start = self._starts  # type: ignore[method-assign]
            self._starts = None

    def still_running(self, grace_s: float = 1.0) -> list[int | None]:
        """New children still alive ``grace_s`` after the learner's code returned."""
        deadline = time.monotonic() + grace_s
        while True:
            alive = [p.pid for p in multiprocessing.active_children() if p.pid not in self._before]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.02)
