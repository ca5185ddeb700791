"""Lesson 01b, exercise 2: how each consumer thread of a learner's pipeline ended, recorded, not guessed.

``slow_square`` notes which threads did the work; ``WatchedQueue`` (put in place of
``queue.Queue`` while a check runs) notes what each consumer took last, a STOP or nothing
before its timeout; ``watching_consumers`` catches, through ``threading.excepthook``, a
consumer that died; ``how_consumers_ended`` turns those records into the verdict's words.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from parlab.lessons import check

__all__ = [
    "EX2", "WatchedQueue", "how_consumers_ended", "said", "slow_square",
    "threads", "watching_consumers", "worked", "worked_lock",
]

EX2 = "Exercise 2: a producer and its consumers"


worked: set[int] = set()  # idents of the threads that called slow_square during a check
worked_lock = threading.Lock()
threads: dict[int, threading.Thread] = {}


def slow_square(x: int) -> int:
    """Wait 5 ms, as a request would, then return ``x * x``; notes which thread did it (lesson 01b, exercise 2)."""
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"slow_square takes an int item, not {type(x).__name__}: did a stop signal reach it?")
    me = threading.current_thread()
    with worked_lock:
        worked.add(me.ident or 0)
        threads[me.ident or 0] = me
    time.sleep(0.005)
    return x * x


class WatchedQueue(queue.Queue):
    """``queue.Queue`` that notes, for each get, the thread and what it took (or that it waited in vain)."""

    made: ClassVar[list[WatchedQueue]] = []

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self.gets: list[tuple[int, str, str, object]] = []  # (thread ident, thread name, "got"/"empty", item)
        WatchedQueue.made.append(self)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        me = threading.current_thread()
        try:
            item = super().get(block, timeout)
        except queue.Empty:
            self.gets.append((me.ident or 0, me.name, "empty", None))
            raise
        self.gets.append((me.ident or 0, me.name, "got", item))
        return item


@contextlib.contextmanager
def watching_consumers() -> Iterator[dict[int, tuple[str, BaseException]]]:
    """Record the threads that die of an exception, and swap in :class:`WatchedQueue`, while the learner's code runs.

    Yields {thread ident: (thread name, the exception)}; a thread that ends with SystemExit
    ended on purpose and is not recorded.
    """
    died: dict[int, tuple[str, BaseException]] = {}
    previous_hook, previous_queue = threading.excepthook, queue.Queue

    def hook(args: Any) -> None:
        if args.thread is not None and args.exc_value is not None and args.exc_type is not SystemExit:
            died[args.thread.ident or 0] = (args.thread.name, args.exc_value)

    WatchedQueue.made = []
    threading.excepthook = hook
    queue.Queue = WatchedQueue  # type: ignore[misc]
    try:
        yield died
    finally:
        threading.excepthook = previous_hook
        queue.Queue = previous_queue  # type: ignore[misc]


def how_consumers_ended(tasks: list[int], died: dict[int, tuple[str, BaseException]],
                         details: str) -> check.Verdict | None:
    """A wrong verdict naming a consumer that died, or that stopped without taking a STOP; None if all took one."""
    task_set = set(tasks)

    def is_item(x: object) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x in task_set

    work = [q for q in WatchedQueue.made if any(kind == "got" and is_item(x) for _, _, kind, x in q.gets)]
    events: dict[int, list[tuple[str, object]]] = {}
    names: dict[int, str] = {}
    for q in work:
        for ident, name, kind, item in q.gets:
            if name != "parlab-check":  # check.call's thread runs run_pipeline: the producer
                events.setdefault(ident, []).append((kind, item))
                names[ident] = name
    def stops_taken(ident: int) -> list[int]:
        return [i for i, (kind, x) in enumerate(events.get(ident, [])) if kind == "got" and not is_item(x)]

    went_on = [i for i in set(events) | set(died)
               if stops_taken(i) and (i in died or stops_taken(i)[0] != len(events[i]) - 1)]
    for ident in went_on:  # the mistake itself first: a consumer that took STOP and did not stop
        name = died[ident][0] if ident in died else names[ident]
        error = died[ident][1] if ident in died else None
        end = (f"it then died of {'queue.Empty' if isinstance(error, queue.Empty) else type(error).__name__}."
               if error is not None
               else "it went back to the queue.")
        return check.wrong(EX2, f"consumer {name} took STOP and went on instead of stopping: {end}",
                           hint="When a consumer takes STOP it must leave its loop: return (or break). "
                                "pass does nothing and continue goes back to q.get(), so the loop goes on: "
                                "it hands STOP to slow_square, or waits for an item that never comes.",
                           details=details + (f"\n{name}: {said(died[ident][1])}" if ident in died else ""))
    for name, error in died.values():
        if isinstance(error, queue.Empty):
            return check.wrong(EX2, f"consumer {name} died of queue.Empty: it waited for an item that never "
                                    "came, because no STOP reached it.",
                               hint="Put one STOP per consumer on the queue, after the items "
                                    "(for _ in threads: q.put(STOP)): each consumer takes one and returns.",
                               details=f"{details}\n{name}: {said(error)}")
    for name, error in died.values():
        return check.wrong(EX2, f"consumer {name} died of {type(error).__name__} instead of stopping.",
                           hint="A consumer should end only by returning when it takes STOP; read its "
                                "traceback below.",
                           details=f"{details}\n{name}: {said(error)}")
    for ident, took in events.items():
        if not stops_taken(ident) and took and took[-1][0] == "empty":
            return check.wrong(EX2, f"consumer {names[ident]} stopped only because the queue stayed empty "
                                    "until its get timed out: no STOP reached it.",
                               hint="Put one STOP per consumer on the queue after the items, and let a "
                                    "consumer stop when it takes STOP: a timeout is for a producer that has "
                                    "died, not the normal way to stop.", details=details)
    return None


def said(error: BaseException) -> str:
    """The exception's line and the learner's traceback."""
    return check.learner_traceback(error).rstrip()
