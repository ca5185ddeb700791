"""The board interface of lesson 04: claim a task under a lease, post its result (the first one posted is kept)."""

from __future__ import annotations

import contextlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from parlab._checks import check_timeout

__all__ = ["Board", "Claim", "CoordError", "Outcome", "ServerLost", "Status", "check_name"]

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class CoordError(RuntimeError):
    """The coordination server cannot be reached, refused this client, or was given a bad address."""


_RESTART = {
    "embedded": "start a new one (coord.serve(), or restart the kernel if its process was killed)",
    "Redis": "restart redis-server (or point REDIS_URL at one that runs)",
}


class ServerLost(CoordError):
    """The coordination server went away in the middle of a job: stopped, crashed, or its host unreachable.

    Raised on the board's side (the parent, or a child) in place of the client library's raw
    ``ConnectionError``, ``BrokenPipeError`` or ``EOFError``. It names the server and says what
    went with it; ``kind``, ``address``, ``job`` and ``last_status`` (the counts last seen, or None)
    are kept for code that wants them.
    """

    def __init__(self, kind: str, address: str, job: str, cause: str,
                 last_status: Status | None = None, children_stopped: int | None = None) -> None:
        self.kind, self.address, self.job, self.cause = kind, address, job, cause
        self.last_status, self.children_stopped = last_status, children_stopped
        seen = ""
        if last_status is not None:
            seen = (f" (last seen: {last_status.done} of {last_status.total} tasks done, "
                    f"{last_status.leased} leased to children)")
        stopped = ""
        if children_stopped is not None:
            stopped = f" Every child of the job ({children_stopped}) was stopped."
        super().__init__(
            f"the {kind} coordination server at {address} went away during job {job!r} ({cause}). "
            f"Lost with it: the results it held that were not yet collected, and the tasks not yet "
            f"done{seen}.{stopped} To go on: {_RESTART.get(kind, 'restart the server')}, then run the "
            "job again from the start: a task runs at least once and only its first result is kept, "
            "so every task that is safe to repeat (idempotent) gives the same result in the new run.")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable with its fields, like any exception
        return (ServerLost, (self.kind, self.address, self.job, self.cause, self.last_status,
                             self.children_stopped))

    def with_children_stopped(self, count: int) -> ServerLost:
        """The same error, saying that the parent stopped ``count`` children (``run_job``)."""
        return ServerLost(self.kind, self.address, self.job, self.cause, self.last_status, count)


@dataclass(frozen=True)
class Claim:
    """A task a child has leased: its id and its JSON payload."""

    task_id: str
    payload: Any


@dataclass(frozen=True)
class Outcome:
    """A task's one accepted result, the child that posted it, and how many times it was claimed."""

    task_id: str
    result: Any
    worker: str
    attempts: int


@dataclass(frozen=True)
class Status:
    """How many tasks a board holds: waiting, leased to a child, done."""

    total: int
    pending: int
    leased: int
    done: int


def check_name(kind: str, name: object) -> str:
    """A job or worker name: 1-64 letters, digits, '_', '.' or '-' (it becomes part of server keys)."""
    message = f"{kind} must be 1-64 letters, digits, '_', '.' or '-', got {name!r}"
    if not isinstance(name, str):
        raise TypeError(message)
    if not _NAME.fullmatch(name):
        raise ValueError(message)
    return name


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be a JSON value (dict, list, str, int, float, bool or None): "
                        f"{exc}") from None


class Board(ABC):
    """One job's tasks on a coordination server; the same methods on every backend (lesson 04).

    Every method raises :class:`ServerLost` when the server has gone away.
    """

    kind: ClassVar[str] = "coordination"  # the server's kind, for messages
    _lost: tuple[type[BaseException], ...] = ()  # the client library's errors that mean "the server is gone"

    def __init__(self, job: str, address: str = "an unknown address") -> None:
        self.job = check_name("job", job)
        self.address = address
        self._last: Status | None = None

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except self._lost as exc:
            cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise ServerLost(self.kind, self.address, self.job, cause, self._last) from exc

    def submit(self, payloads: list[Any]) -> list[str]:
        """Put tasks (JSON values) on the board; returns their ids, in order."""
        texts = [_dumps(p, "a task payload") for p in payloads]
        with self._guard():
            return self._submit(texts)

    def claim(self, worker: str, lease_s: float) -> Claim | None:
        """Lease the next task for ``lease_s`` seconds (expired leases return first); None when none is free."""
        name, lease = check_name("worker", worker), check_timeout(lease_s, "lease_s")
        with self._guard():
            got = self._claim(name, lease)
        return None if got is None else Claim(got[0], json.loads(got[1]))

    def complete(self, task_id: str, worker: str, result: Any) -> bool:
        """Post a result; True if it is the task's first, False if another child already posted one."""
        record = _dumps({"result": result, "worker": check_name("worker", worker)}, "a result")
        with self._guard():
            return self._complete(str(task_id), record)

    def outcomes(self) -> list[Outcome]:
        """Every accepted result, in task order."""
        with self._guard():
            found = self._outcomes()
        rows = []
        for task_id, record, attempts in found:
            data = json.loads(record)
            rows.append(Outcome(task_id, data["result"], data["worker"], attempts))
        return sorted(rows, key=lambda o: int(o.task_id))

    def status(self) -> Status:
        """Counts of all, waiting, leased and finished tasks."""
        with self._guard():
            self._last = self._status()
        return self._last

    def leases(self) -> dict[str, str]:
        """Task id -> the worker that holds its lease now (expired leases included until reclaimed)."""
        with self._guard():
            return self._leases()

    def delete(self) -> None:
        """Remove the job's tasks and results from the server."""
        with self._guard():
            self._delete()

    @abstractmethod
    def _status(self) -> Status: ...

    @abstractmethod
    def _leases(self) -> dict[str, str]: ...

    @abstractmethod
    def _delete(self) -> None: ...

    @abstractmethod
    def _submit(self, payloads: list[str]) -> list[str]: ...

    @abstractmethod
    def _claim(self, worker: str, lease_s: float) -> tuple[str, str] | None: ...

    @abstractmethod
    def _complete(self, task_id: str, record: str) -> bool: ...

    @abstractmethod
    def _outcomes(self) -> list[tuple[str, str, int]]: ...
