"""The board interface of lesson 04: claim a task under a lease, post its result (the first one posted is kept)."""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from parlab._checks import check_timeout

__all__ = ["Board", "Claim", "CoordError", "Outcome", "Status", "check_name"]

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class CoordError(RuntimeError):
    """The coordination server cannot be reached, refused this client, or was given a bad address."""


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
    """One job's tasks on a coordination server; the same methods on every backend (lesson 04)."""

    def __init__(self, job: str) -> None:
        self.job = check_name("job", job)

    def submit(self, payloads: list[Any]) -> list[str]:
        """Put tasks (JSON values) on the board; returns their ids, in order."""
        return self._submit([_dumps(p, "a task payload") for p in payloads])

    def claim(self, worker: str, lease_s: float) -> Claim | None:
        """Lease the next task for ``lease_s`` seconds (expired leases return first); None when none is free."""
        got = self._claim(check_name("worker", worker), check_timeout(lease_s, "lease_s"))
        return None if got is None else Claim(got[0], json.loads(got[1]))

    def complete(self, task_id: str, worker: str, result: Any) -> bool:
        """Post a result; True if it is the task's first, False if another child already posted one."""
        record = _dumps({"result": result, "worker": check_name("worker", worker)}, "a result")
        return self._complete(str(task_id), record)

    def outcomes(self) -> list[Outcome]:
        """Every accepted result, in task order."""
        rows = []
        for task_id, record, attempts in self._outcomes():
            data = json.loads(record)
            rows.append(Outcome(task_id, data["result"], data["worker"], attempts))
        return sorted(rows, key=lambda o: int(o.task_id))

    @abstractmethod
    def status(self) -> Status:
        """Counts of all, waiting, leased and finished tasks."""

    @abstractmethod
    def leases(self) -> dict[str, str]:
        """Task id -> the worker that holds its lease now (expired leases included until reclaimed)."""

    @abstractmethod
    def delete(self) -> None:
        """Remove the job's tasks and results from the server."""

    @abstractmethod
    def _submit(self, payloads: list[str]) -> list[str]: ...

    @abstractmethod
    def _claim(self, worker: str, lease_s: float) -> tuple[str, str] | None: ...

    @abstractmethod
    def _complete(self, task_id: str, record: str) -> bool: ...

    @abstractmethod
    def _outcomes(self) -> list[tuple[str, str, int]]: ...
