"""Bench group "children" (lesson 04): k child scripts over one, through each coordination server.

``children_embedded`` and ``children_redis``: the same batch of CPU tasks run by one child and
by k = usable cores children, coordinated through the embedded server and through a local
redis-server (started here on a free loopback port and stopped after; skipped when the
program is missing). Child start-up and server round trips are inside the clock: that is
the real cost of this design. ``child_startup_ms``: start a minimal child and read its JSON line.
"""

from __future__ import annotations

from typing import Any

from parlab import coord
from parlab.bench import speedup_entry
from parlab.coord.localredis import LocalRedis
from parlab.lessons.l04 import children as jobs

__all__ = ["entries"]

PAIRS = 5
TASK_WIDTH = 15_000  # primes in a range this wide: about 40 ms of pure-Python work per task


def _tasks(cores: int) -> list[dict[str, Any]]:
    # Enough tasks that every child has several, and that start-up is a small part of the run.
    return jobs.prime_tasks(max(48, 4 * cores), width=TASK_WIDTH)


def _speedup(server: coord.Server, tasks: list[dict[str, Any]], cores: int) -> dict[str, Any]:
    entry = speedup_entry(lambda: jobs.run_job(server, tasks, 1).results,
                          lambda: jobs.run_job(server, tasks, cores).results, cores, pairs=PAIRS)
    entry["tasks"] = len(tasks)
    return entry


def entries(cores: int) -> dict[str, Any]:
    """children_embedded, children_redis (speedup of ``cores`` children over one) and child_startup_ms."""
    tasks = _tasks(cores)
    out: dict[str, Any] = {}
    with coord.serve("embedded") as server:
        out["children_embedded"] = _speedup(server, tasks, cores)
    if coord.redis_server_binary() is None:
        out["children_redis"] = {"value": None, "skipped": "no redis-server program on this machine; "
                                 + coord.HOW_TO_GET_REDIS}
    else:
        with LocalRedis() as redis, coord.serve("redis", url=redis.url) as server:
            out["children_redis"] = _speedup(server, tasks, cores)
    startup = jobs.child_startup(repeats=7)
    out["child_startup_ms"] = {"value": round(1000 * startup.median, 1),
                               "mad_ms": round(1000 * startup.mad, 1), "repeats": 7,
                               "script": "parlab.scripts.hello"}
    return out
