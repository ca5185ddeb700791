"""usage: python -m parlab.scripts.ledger --job JOB --name NAME [--lease S] [--keyed] [--timeout S]

A child of lesson 04 whose task has a side effect: it appends a line to a ledger (a Redis list,
``JOB:ledger``), as a real job writes a row or sends a payment. Tasks come from the leased
board (``coord.open_board_from_env``); the ledger is written with the Redis commands
(``coord.kv_from_env``). A task is ``{"func": "io_wait", "args": [seconds]}``.

A child that is slower than its lease loses the task to another child, and both finish it:
the board keeps one *result*, but the side effect happens twice. ``--keyed`` makes the write
idempotent: ``SADD JOB:written TASK_ID`` answers 1 only for the first writer, and only that
one appends. Each child says ``INCR JOB:ready`` and waits for ``BLPOP JOB:go:NAME`` first, so
that the parent decides who starts working when.
It prints ``{"worker": NAME, "pid": n, "done": n, "late": n, "wrote": n}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from parlab._checks import check_timeout
from parlab.workloads import io_wait

__all__ = ["main", "work", "write_once", "write_plain"]


def write_plain(r: Any, job: str, task_id: str, line: str) -> bool:
    """Append the line: a retried task appends it again (at least once means twice, sometimes)."""
    r.rpush(f"{job}:ledger", line)
    return True


def write_once(r: Any, job: str, task_id: str, line: str) -> bool:
    """Append the line only if no one wrote this task yet: SADD is atomic and says who was first."""
    if r.sadd(f"{job}:written", task_id) == 0:
        return False  # another run of this task already wrote it
    r.rpush(f"{job}:ledger", line)
    return True


def work(board: Any, r: Any, job: str, name: str, lease_s: float, keyed: bool, timeout: float) -> dict[str, int]:
    """Claim a task (a lease), do it, write the ledger, post the result; until the job is done (lesson 04)."""
    write = write_once if keyed else write_plain
    counts = {"done": 0, "late": 0, "wrote": 0}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        claim = board.claim(name, lease_s)
        if claim is None:
            status = board.status()
            if status.done >= status.total:
                return counts
            time.sleep(0.01)  # others hold the remaining leases; one may expire
            continue
        io_wait(*claim.payload["args"])  # the work; it may outlast the lease
        counts["wrote"] += write(r, job, claim.task_id, f"task {claim.task_id} by {name}")
        if board.complete(claim.task_id, name, claim.payload["args"][0]):
            counts["done"] += 1
        else:
            counts["late"] += 1  # our lease had run out and another child finished first
    raise TimeoutError(f"job {job} not done after {timeout:g} s")


def main(argv: list[str] | None = None) -> int:
    """Run :func:`work` against the server the parent named; print a JSON summary (lesson 04)."""
    from parlab.coord import CoordError, kv_from_env, open_board_from_env

    parser = argparse.ArgumentParser(prog="python -m parlab.scripts.ledger",
                                     description="Tasks with a side effect: append to a ledger.")
    parser.add_argument("--job", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--lease", type=float, default=5.0, metavar="S")
    parser.add_argument("--keyed", action="store_true", help="write each task's line at most once")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="S")
    args = parser.parse_args(argv)
    try:
        lease_s, timeout = check_timeout(args.lease, "--lease"), check_timeout(args.timeout, "--timeout")
        board, r = open_board_from_env(args.job), kv_from_env()
    except (CoordError, ValueError) as exc:
        print(f"ledger {args.name}: {exc}", file=sys.stderr)
        return 2
    r.incr(f"{args.job}:ready")  # the parent starts each child's work when all are up
    if r.blpop(f"{args.job}:go:{args.name}", timeout=timeout) is None:
        print(f"ledger {args.name}: no go from the parent within {timeout:g} s", file=sys.stderr)
        return 3
    counts = work(board, r, args.job, args.name, lease_s, args.keyed, timeout)
    print(json.dumps({"worker": args.name, "pid": os.getpid(), **counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
