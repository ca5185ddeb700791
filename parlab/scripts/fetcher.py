"""usage: python -m parlab.scripts.fetcher --job JOB --name NAME --port PORT [--timeout S]

A child of lesson 04 that waits rather than computes, as most real jobs do: it sends requests
to a slow loopback server (``parlab.slowserver.SlowServer``; its key comes in the
environment variable PARLAB_SLOW_KEY) and stores each reply. It talks to the board with the
Redis commands (``coord.kv_from_env``: Redis itself, or the embedded server's same calls):

1. ``INCR JOB:ready``, then ``BLPOP JOB:go`` so that the parent starts the clock once every child
   has started (start-up is timed apart from the work);
2. ``LPOP JOB:todo`` until the list is empty: one request each, the reply stored with
   ``HSET JOB:replies MESSAGE REPLY``;
3. ``RPUSH JOB:finished NAME``: the parent stops the clock when every child has said so.

It prints one JSON line: ``{"worker": NAME, "pid": n, "done": n}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from parlab._checks import check_timeout
from parlab.workloads import request_reply

__all__ = ["ENV_SLOW_KEY", "main", "work"]

ENV_SLOW_KEY = "PARLAB_SLOW_KEY"  # the slow server's key: in the environment, out of `ps`


def work(r: Any, job: str, name: str, port: int, key: str, timeout: float) -> int:
    """Say ready, wait for go, then take requests off the list until it is empty (lesson 04)."""
    r.incr(f"{job}:ready")
    if r.blpop(f"{job}:go", timeout=timeout) is None:
        raise TimeoutError(f"no go from the parent within {timeout:g} s")
    done = 0
    while (message := r.lpop(f"{job}:todo")) is not None:
        reply = request_reply(port, key, message, timeout=timeout)  # waits: no core needed
        r.hset(f"{job}:replies", message, reply)
        done += 1
    r.rpush(f"{job}:finished", name)
    return done


def main(argv: list[str] | None = None) -> int:
    """Run :func:`work` against the server the parent named; print a JSON summary (lesson 04)."""
    from parlab.coord import CoordError, kv_from_env

    parser = argparse.ArgumentParser(prog="python -m parlab.scripts.fetcher",
                                     description="Fetch replies from a slow server, tasks from the board.")
    parser.add_argument("--job", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=60.0, metavar="S")
    args = parser.parse_args(argv)
    try:
        timeout = check_timeout(args.timeout, "--timeout")
        r = kv_from_env()
    except (CoordError, ValueError) as exc:
        print(f"fetcher {args.name}: {exc}", file=sys.stderr)
        return 2
    done = work(r, args.job, args.name, args.port, os.environ.get(ENV_SLOW_KEY, ""), timeout)
    print(json.dumps({"worker": args.name, "pid": os.getpid(), "done": done}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
