"""usage: python -m parlab.scripts.worker --job JOB --name NAME [--lease S] [--poll S] [--timeout S] [--die-after N]

A child of lesson 04. It finds the coordination server in its environment (PARLAB_COORD_URL,
and PARLAB_COORD_KEY for the embedded server), then loops: claim a task, run it, post the
result. When no task is free it checks again every --poll seconds, until every task of the
job is done: a task whose child died comes back to the board when its lease expires.
It prints one JSON line: ``{"worker": NAME, "pid": n, "done": n, "claims": n, "duplicates": n, "wall_s": s,
"first_claim": unix time}`` (the parent compares that time with its own to measure start-up).

Tasks are data, never code: ``{"func": NAME, "args": [...]}`` where NAME is one of TASKS.
``--die-after N`` kills this child with SIGKILL in the middle of its task N+1 (a crash on purpose).
If the server goes away, it says so on stderr and exits with code 4.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from parlab import workloads
from parlab._checks import check_timeout
from parlab.scripts.wordcount import CORPUS, count_file

__all__ = ["TASKS", "check_task", "main", "run_task"]


def _word_count(name: str) -> dict[str, Any]:
    # Only files of the corpus, by name: a task must not be able to read any path it likes.
    path = CORPUS / name
    if path.parent != CORPUS or not path.is_file():
        raise ValueError(f"word_count takes the name of a file in data/corpus, got {name!r}")
    return count_file(path)


# The only functions a task may name. A child that ran whatever a queue message named would
# run code chosen by anyone who can write to the queue.
TASKS: dict[str, Callable[..., Any]] = {
    "count_primes": workloads.count_primes,
    "fib": workloads.fib,
    "monte_carlo_pi": workloads.monte_carlo_pi,
    "io_wait": workloads.io_wait,
    "word_count": _word_count,
}


def check_task(task: object) -> dict[str, Any]:
    """A task is ``{"func": one of TASKS, "args": [JSON values]}``; anything else is refused (lesson 04)."""
    if (not isinstance(task, dict) or set(task) != {"func", "args"} or task["func"] not in TASKS
            or not isinstance(task["args"], list)):
        raise ValueError(f"a task looks like {{'func': NAME, 'args': [...]}} with NAME one of "
                         f"{', '.join(TASKS)}; got {task!r}")
    return task


def run_task(task: dict[str, Any]) -> Any:
    """Run one task in this process: what a child does, and the serial reference (lesson 04)."""
    check_task(task)
    return TASKS[task["func"]](*task["args"])


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``worker`` (lesson 04)."""
    parser = argparse.ArgumentParser(prog="python -m parlab.scripts.worker",
                                     description="Claim tasks from the coordination server, run them, "
                                                 "post the results.")
    parser.add_argument("--job", required=True, help="the job's board on the server")
    parser.add_argument("--name", required=True, help="this child's name, recorded with its results")
    parser.add_argument("--lease", type=float, default=5.0, metavar="S",
                        help="seconds a claimed task stays ours before it returns to the board")
    parser.add_argument("--poll", type=float, default=0.02, metavar="S",
                        help="seconds between checks when no task is free")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="S",
                        help="give up (exit code 3) if the job is not done after S seconds")
    parser.add_argument("--die-after", type=int, default=None, metavar="N",
                        help="kill this child with SIGKILL during its task N+1")
    args = parser.parse_args(argv)
    for name in ("lease", "poll", "timeout"):
        try:  # finite and capped, as every parlab timeout: argparse's float accepts inf and nan
            check_timeout(getattr(args, name), f"--{name}")
        except ValueError as exc:
            parser.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    """Claim, run, post until the job is done; print a JSON summary (lesson 04)."""
    from parlab.coord import CoordError, ServerLost, open_board_from_env

    args = parse(argv)
    t0 = time.perf_counter()
    try:
        board = open_board_from_env(args.job)
    except (CoordError, ValueError) as exc:
        print(f"worker {args.name}: {exc}", file=sys.stderr)
        return 2
    done = claims = duplicates = 0
    first_claim = None
    try:
        while True:
            claim = board.claim(args.name, args.lease)
            if claim is None:
                status = board.status()
                if status.done >= status.total:
                    break
                if time.perf_counter() - t0 > args.timeout:
                    print(f"worker {args.name}: job {args.job} not done after {args.timeout:g} s "
                          f"({status})", file=sys.stderr)
                    return 3
                time.sleep(args.poll)  # others hold the remaining leases; one may expire
                continue
            claims += 1
            first_claim = first_claim or time.time()
            if args.die_after is not None and claims > args.die_after:
                os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))  # mid-task, lease held
                time.sleep(5)
            result = run_task(claim.payload)
            if board.complete(claim.task_id, args.name, result):
                done += 1
            else:
                duplicates += 1  # our lease had expired and another child finished first
    except ServerLost as exc:
        print(f"worker {args.name}: {exc}", file=sys.stderr)
        return 4
    print(json.dumps({"worker": args.name, "pid": os.getpid(), "done": done, "claims": claims, "duplicates": duplicates,
                      "wall_s": round(time.perf_counter() - t0, 4), "first_claim": first_claim}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
