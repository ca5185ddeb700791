"""Process inspection for the tests through Linux /proc (elsewhere: nothing is found, nothing is alive)."""

from __future__ import annotations

import os
import time

HAVE_PROC = os.path.isdir("/proc")

# multiprocessing's one-per-interpreter helpers: they live as long as the interpreter that started them.
_STDLIB_HELPERS = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie ('Z') has ended."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"  # skip "pid (comm)": comm may hold ')'
    except (OSError, IndexError):
        return False


def cmdline(pid: int) -> str:
    """The command line of ``pid`` with its NULs as spaces; '' once it has gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    """Live children, grandchildren, ... of ``pid``."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            tids = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as fh:
                    kids = [int(x) for x in fh.read().split()]
            except OSError:
                continue
            found += kids
            frontier += kids
    return [p for p in found if alive(p)]


def wait_gone(pids: list[int], within: float) -> list[int]:
    """Poll until every one of ``pids`` has ended or ``within`` seconds pass; return those still alive."""
    deadline = time.monotonic() + within
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return [p for p in pids if alive(p)]


def parent(pid: int) -> int | None:
    """The parent process id of ``pid``; None once it has gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[-1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def stdlib_helper(pid: int) -> bool:
    """True for multiprocessing's forkserver and resource_tracker, which live as long as their interpreter.

    Workers that the fork server starts are its forks: they inherit its command line, so the
    command line alone would take them for the server. A helper's parent is not a helper.
    """
    command = cmdline(pid)
    if not any(helper in command for helper in _STDLIB_HELPERS):
        return False
    up = parent(pid)
    return up is None or not any(helper in cmdline(up) for helper in _STDLIB_HELPERS)
