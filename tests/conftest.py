"""Shared test fixtures: components that must exist in CI, and no processes left behind."""

from __future__ import annotations

import os
import time

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def require():
    """``require(ok, what, how)``: skip with a hint outside CI, fail under CI=true, when a component is missing."""

    def _require(ok: bool, what: str, how: str) -> None:
        if ok:
            return
        message = f"{what} is not available: {how}"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)

    return _require


def _children(pid: int) -> list[int]:
    """Direct and indirect children of ``pid`` (Linux /proc; empty elsewhere)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as fh:
                    kids = [int(x) for x in fh.read().split()]
            except OSError:
                continue
            found.extend(kids)
            frontier.extend(kids)
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")[:160]
    except OSError:
        return "?"


def _stdlib_helper(pid: int) -> bool:
    # multiprocessing's forkserver and resource tracker are one-per-interpreter helpers that
    # live as long as pytest itself and exit with it; they are not workers left behind.
    cmd = _cmdline(pid)
    return "multiprocessing.forkserver" in cmd or "multiprocessing.resource_tracker" in cmd


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="session", autouse=True)
def no_processes_left_behind():
    """After the whole run, no child process of pytest may still be alive (kernels get time to exit)."""
    yield
    if not os.path.isdir("/proc"):
        return
    deadline = time.monotonic() + 15
    while True:
        left = [p for p in _children(os.getpid()) if _alive(p) and not _stdlib_helper(p)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    described = [f"{pid}: {_cmdline(pid)}" for pid in left]
    if described:
        pytest.fail("processes left behind by the test run:\n" + "\n".join(described), pytrace=False)
