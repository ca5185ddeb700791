"""The start-up handshake's two signals, as the run's three kinds of worker see them.

A pool's workers each release a "ready" count once started, then wait for one "go" signal, so
that start-up is timed apart from the work (``parlab.run``). Threads use ``threading``
primitives and processes ``multiprocessing`` ones; subinterpreters (Python 3.14) cannot share
either, so they get the same two signals over ``concurrent.interpreters`` queues.
"""

from __future__ import annotations

import importlib
import time
from typing import Any, Protocol

__all__ = ["QUEUE_POLL_S", "Go", "QueueGo", "QueueReady", "Ready", "interpreter_queue", "interpreters"]

QUEUE_POLL_S = 0.002  # how often the parent looks into an interpreters queue while workers start


class Ready(Protocol):
    """The start-up count: a threading.Semaphore for threads, a multiprocessing one for processes."""

    def acquire(self, block: bool = ..., /, timeout: float | None = ...) -> bool: ...

    def release(self) -> None: ...


class Go(Protocol):
    """The start signal: a threading.Event for threads, a multiprocessing one for processes."""

    def set(self) -> None: ...

    def wait(self, timeout: float | None = ..., /) -> bool: ...


def interpreters() -> Any:
    # concurrent.interpreters is new in Python 3.14 (check_backend refuses the backend before it).
    return importlib.import_module("concurrent.interpreters")


def interpreter_queue() -> Any:
    return interpreters().create_queue()


class QueueReady:
    """The start-up count over an interpreters queue: each worker puts one item (see Ready)."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        # Polled here: Queue.get(timeout=...) truncates the timeout to whole seconds (0.05 -> 0),
        # and a loop around it would spin and take a core from the starting workers.
        empty = interpreters().QueueEmpty
        deadline = time.monotonic() + (timeout if block and timeout is not None else 0.0)
        while True:
            try:
                self._queue.get_nowait()
            except empty:
                if not block or time.monotonic() >= deadline:
                    return False
                time.sleep(QUEUE_POLL_S)
            else:
                return True

    def release(self) -> None:
        self._queue.put_nowait(None)


class QueueGo:
    """The start signal over an interpreters queue: ``set`` puts one item per worker (see Go)."""

    def __init__(self, queue: Any, workers: int) -> None:
        self._queue, self._workers = queue, workers

    def set(self) -> None:
        for _ in range(self._workers):
            self._queue.put_nowait(None)

    def wait(self, timeout: float | None = None) -> bool:
        raise NotImplementedError("workers wait on the queue itself (_worker.init_interpreter_worker)")
