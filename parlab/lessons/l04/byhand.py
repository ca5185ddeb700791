"""Lesson 04's later sections at scale: children that wait on a slow server, and a side effect written twice.

- :func:`io_sweep` runs ``python -m parlab.scripts.fetcher`` children over a slow loopback server
  (the seed's scenario: many requests, each a wait) with 1, 2, 4 ... children; start-up is timed
  apart (every child says "ready" on the board, then the parent says "go").
- :func:`ledger_run` runs ``python -m parlab.scripts.ledger`` children whose first one is slower
  than its lease: the task runs twice, and without ``keyed`` its ledger line is written twice.
"""

from __future__ import annotations

import json
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parlab import launch
from parlab._checks import check_timeout, check_whole, check_workers
from parlab.coord import Server
from parlab.lessons.words import describe_speedup, point_at_cores
from parlab.measure import build_sweep, check_same, timing_from
from parlab.results import Sweep, format_seconds
from parlab.scripts.fetcher import ENV_SLOW_KEY

__all__ = ["FetchRun", "LedgerRun", "describe_io", "describe_ledger", "describe_spans", "expected_replies",
           "fetch_run", "io_summary", "io_sweep", "ledger_run", "run_board_script"]


def describe_spans(replies: Sequence[dict[str, Any]]) -> str:
    """When each child ran (its JSON "start"/"end", wall-clock seconds) and whether all ran at once (lesson 04)."""
    if not replies or not all({"start", "end"} <= set(r) for r in replies):
        raise ValueError("replies must be the children's JSON dicts, each with 'start' and 'end'")
    t0 = min(r["start"] for r in replies)
    lines = [f"child {i}: from +{format_seconds(r['start'] - t0)} to +{format_seconds(r['end'] - t0)}"
             for i, r in enumerate(replies)]
    latest_start, first_end = max(r["start"] for r in replies), min(r["end"] for r in replies)
    if len(replies) == 1:
        lines.append("One child: nothing to overlap.")
    elif latest_start < first_end:
        lines.append(f"All {len(replies)} children were running at the same time for "
                     f"{format_seconds(first_end - latest_start)}: they started before any was waited for.")
    else:
        lines.append(f"The {len(replies)} children did not all run at the same time: one ended before the "
                     "last one started.")
    return "\n".join(lines)


def run_board_script(server: Server, script: str, tasks: Sequence[dict[str, Any]], children: int, *,
                     job: str = "by-hand", timeout: float = 60.0) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The notebook's hand-written parent as a function: tasks on ``JOB:todo``, k copies of ``script`` (lesson 04).

    Returns the results (``JOB:results``, task id -> number) and each child's JSON line; every
    key of the job is deleted afterwards.
    """
    k, timeout = check_workers(children), check_timeout(timeout)
    r = server.kv()
    r.delete(f"{job}:todo", f"{job}:results", f"{job}:done")
    r.rpush(f"{job}:todo", *[json.dumps(t) for t in tasks])
    procs = [subprocess.Popen([sys.executable, script, job, f"child-{i}"], env=server.child_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(k)]
    try:
        outs = [p.communicate(timeout=timeout) for p in procs]
        for p, (_, err) in zip(procs, outs, strict=True):
            if p.returncode != 0:
                raise RuntimeError(f"{script} ended with exit code {p.returncode}: {err[-500:]}")
        results = {key: int(value) for key, value in r.hgetall(f"{job}:results").items()}
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        r.delete(f"{job}:todo", f"{job}:results", f"{job}:done")
    return results, [json.loads(out) for out, _ in outs]


@dataclass(frozen=True)
class FetchRun:
    """One run of the fetch job over k children: replies, start-up and work time."""

    children: int
    replies: dict[str, str]
    done: tuple[int, ...]  # requests each child sent
    startup_s: float  # from the first launch until every child said "ready"
    work_s: float  # from "go" until every child said it had finished


def expected_replies(requests: int) -> dict[str, str]:
    """What the slow server answers to ``request 0`` ... (the serial reference of lesson 04)."""
    return {f"request {i}": f"reply to request {i}" for i in range(requests)}


def _wait_for(test: Any, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not test():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what} within {timeout:g} s")
        time.sleep(0.002)


def fetch_run(server: Server, slow: Any, requests: int, children: int, *, timeout: float = 60.0) -> FetchRun:
    """Put ``requests`` messages on the board, start ``children`` fetchers, time ready and work (lesson 04)."""
    requests, k = check_whole("requests", requests, 1, 10_000), check_workers(children)
    timeout = check_timeout(timeout)
    r, job = server.kv(), f"fetch-{secrets.token_hex(4)}"
    env = dict(server.child_env(), **{ENV_SLOW_KEY: slow.key})
    argvs = [launch.module_argv("parlab.scripts.fetcher", "--job", job, "--name", f"child-{i}",
                                "--port", slow.port, "--timeout", f"{timeout:g}") for i in range(k)]
    try:
        r.rpush(f"{job}:todo", *[f"request {i}" for i in range(requests)])
        t0 = time.perf_counter()
        kids = launch.start_many(argvs, env=env)
        try:
            _wait_for(lambda: int(r.get(f"{job}:ready") or 0) >= k, timeout, f"{k} children were not ready")
        except BaseException:
            for kid in kids:
                kid.stop()
            launch.wait_all(kids, timeout, check=False)
            raise
        t1 = time.perf_counter()
        r.rpush(f"{job}:go", *["go"] * k)  # one token per child: each BLPOP takes one
        for _ in range(k):  # each child pushes its name when its last reply is stored
            if r.blpop(f"{job}:finished", timeout=timeout) is None:
                raise TimeoutError(f"the fetch children did not finish within {timeout:g} s")
        t2 = time.perf_counter()
        done = launch.wait_all(kids, timeout)
        replies = r.hgetall(f"{job}:replies")
    finally:
        r.delete(*(f"{job}:{name}" for name in ("todo", "ready", "go", "replies", "finished")))
    counts = tuple(launch.json_result(d)["done"] for d in done)
    return FetchRun(k, dict(replies), counts, t1 - t0, t2 - t1)


def io_sweep(server: Server, slow: Any, requests: int, children: Sequence[int], *, repeats: int = 2) -> Sweep:
    """Time the fetch job's work on 1 child, then on each count: waiting work, ideal k (lesson 04).

    Every run's replies are checked against :func:`expected_replies`; start-up is each point's
    ``startup_s``, outside the work time.
    """
    counts = [check_workers(c) for c in children]
    repeats = check_whole("repeats", repeats, 1, 20)
    if not counts:
        raise ValueError("children must list at least one count")
    expected = expected_replies(requests)

    def measure(k: int) -> tuple[Any, float]:
        works, starts = [], []
        for _ in range(repeats):
            run = fetch_run(server, slow, requests, k)
            check_same(expected, run.replies, f"{k} fetch children")
            works.append(run.work_s)
            starts.append(run.startup_s)
        return timing_from(works), statistics.median(starts)

    timings = {k: measure(k) for k in dict.fromkeys([1, *counts])}
    measured = [(k, *timings[k], None) for k in counts]
    return build_sweep(f"fetch children via {server.backend} server", f"children/{server.backend}", None,
                       requests, timings[1][0], measured, waiting=True, estimate=False)


def describe_io(sweep: Sweep) -> str:
    """What the waiting children showed: the most children against the ideal k, and start-up (lesson 04)."""
    if not sweep.waiting:
        raise ValueError("describe_io describes a sweep of waiting tasks (io_sweep)")
    cores = sweep.metadata.usable_cores
    top = max(sweep.points, key=lambda p: p.workers)
    lines = [describe_speedup(top.speedup, top.workers, cores, waiting=True, what="children") + "."]
    at = point_at_cores(sweep)
    if top.workers > cores and at.workers != top.workers:
        lines.append(f"With one child per usable core ({at.workers}) it was "
                     + describe_speedup(at.speedup, at.workers, cores, waiting=True, what="children")
                     .split(": ", 1)[1] + ".")
        if top.speedup > at.speedup:
            lines.append(f"More children than cores ({top.workers} on {cores}) still helped: a child that "
                         "waits for a reply needs no core.")
    one = next((p for p in sweep.points if p.workers == 1), None)
    lines.append(f"Start-up is outside these times: {top.workers} children took {format_seconds(top.startup_s)} "
                 "to be ready" + (f" (1 child: {format_seconds(one.startup_s)})." if one else "."))
    return "\n".join(lines)


def io_summary(sweep: Sweep) -> str:
    """The waiting sweep as a table; the baseline named for what it is: one child, start-up excluded (lesson 04)."""
    return sweep.summary(nouns=("child", "children"), baseline="1 child, start-up excluded")


@dataclass(frozen=True)
class LedgerRun:
    """One run of the ledger job: the ledger's lines and how often each task was claimed."""

    keyed: bool
    lease_s: float
    ledger: tuple[str, ...]
    attempts: dict[str, int]
    reports: tuple[dict[str, Any], ...]

    @property
    def written(self) -> Counter[str]:
        """Lines per task id in the ledger."""
        return Counter(line.split()[1] for line in self.ledger)

    @property
    def doubled(self) -> list[str]:
        """Task ids written more than once."""
        return sorted((t for t, n in self.written.items() if n > 1), key=int)


def ledger_run(server: Server, *, keyed: bool, tasks: int = 4, slow_s: float = 0.8, fast_s: float = 0.05,
               lease_s: float = 0.2, timeout: float = 60.0) -> LedgerRun:
    """Two ledger children; child-0 starts alone and takes task 0, slower than its lease (lesson 04).

    Both start and say ready; child-0 gets "go" first, child-1 once child-0 holds task 0: it does
    the fast tasks and, when the lease runs out, task 0 again. Both finish it; the ledger shows
    whether its line was written twice.
    """
    tasks = check_whole("tasks", tasks, 1, 100)
    lease_s, timeout = check_timeout(lease_s, "lease_s"), check_timeout(timeout)
    board, r = server.board(f"ledger-{secrets.token_hex(4)}"), server.kv()
    job, env = board.job, server.child_env()
    argvs = [launch.module_argv("parlab.scripts.ledger", "--job", job, "--name", f"child-{i}",
                                "--lease", f"{lease_s:g}", "--timeout", f"{timeout:g}",
                                *(["--keyed"] if keyed else [])) for i in range(2)]
    kids: list[launch.Child] = []
    try:
        board.submit([{"func": "io_wait", "args": [slow_s if i == 0 else fast_s]} for i in range(tasks)])
        kids = launch.start_many(argvs, env=env)
        _wait_for(lambda: int(r.get(f"{job}:ready") or 0) >= 2, timeout, "the ledger children were not ready")
        r.rpush(f"{job}:go:child-0", "go")
        _wait_for(lambda: "child-0" in board.leases().values(), timeout, "child-0 took no task")
        r.rpush(f"{job}:go:child-1", "go")
        done = launch.wait_all(kids, timeout)
        ledger = tuple(r.lrange(f"{job}:ledger", 0, -1))
        attempts = {o.task_id: o.attempts for o in board.outcomes()}
    except BaseException:
        for kid in kids:
            kid.stop()
        launch.wait_all(kids, timeout, check=False)
        raise
    finally:
        board.delete()
        r.delete(*(f"{job}:{name}" for name in ("ledger", "written", "ready", "go:child-0", "go:child-1")))
    return LedgerRun(keyed, lease_s, ledger, attempts, tuple(launch.json_result(d) for d in done))


def describe_ledger(run: LedgerRun) -> str:
    """What the ledger shows: tasks run twice, lines written twice or once per task (lesson 04)."""
    tasks = len(run.attempts)
    again = sorted((t for t, n in run.attempts.items() if n > 1), key=int)
    how = "keyed by task id" if run.keyed else "plain appends"
    lines = [f"{tasks} tasks, {len(run.ledger)} ledger lines ({how}, lease {format_seconds(run.lease_s)})."]
    if again:
        lines.append(f"Task{'s' if len(again) > 1 else ''} {', '.join(again)} ran more than once: "
                     f"a child was slower than its lease, so another child claimed the task again "
                     "and both finished it. The board gives at least once, not exactly once.")
    else:
        lines.append("Every task ran once this time; the board still promises only at least once.")
    if run.doubled:
        lines.append(f"Written twice: task{'s' if len(run.doubled) > 1 else ''} {', '.join(run.doubled)}. "
                     "The board kept one result, but the side effect happened on every run.")
    elif again:
        lines.append("Still one line per task: the second run of the task found it written and wrote nothing.")
    else:
        lines.append("One line per task.")
    return "\n".join(lines)
