"""A job run over k child scripts that share a coordination server's task board (lessons 04, 06a).

``run_job`` puts the tasks on a board, starts k ``parlab.scripts.worker`` children from
argument lists (never through a shell), waits for all of them with a timeout, and returns
every accepted result with what each child reported. It can lose a child on purpose, in
the middle of a task, to show that a lease brings the task back (at-least-once delivery).
While the children run, the parent watches the server: if it goes away, every child is
stopped and ``parlab.coord.ServerLost`` says what was lost and what to do.
"""

from __future__ import annotations

import contextlib
import secrets
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from parlab import launch
from parlab._checks import MAX_TIMEOUT_S, check_timeout, check_whole, check_workers
from parlab.coord import Server
from parlab.coord.board import Board, Outcome, ServerLost
from parlab.scripts.worker import check_task
from parlab.workloads import prime_windows

__all__ = ["JobResult", "prime_tasks", "run_job", "worker_argv"]

_WATCH_S = 0.2  # how often the parent checks the server while its children run


def prime_tasks(count: int, width: int = 15_000, start: int = 1_000_000) -> list[dict[str, Any]]:
    """``count`` equal CPU tasks: count the primes in consecutive ranges (lesson 04)."""
    return [{"func": "count_primes", "args": [lo, hi]} for lo, hi in prime_windows(count, width, start)]


def worker_argv(job: str, name: str, *, lease_s: float, timeout: float,
                die_after: int | None = None) -> list[str]:
    """The argument list of one child: the job and its name, never the server's key (lesson 04)."""
    lease_s, timeout = check_timeout(lease_s, "lease_s"), check_timeout(timeout)
    extra = ["--die-after", die_after] if die_after is not None else []
    # :g writes 5.0 as 5: the argument list reads as a learner would type it.
    return launch.module_argv("parlab.scripts.worker", "--job", job, "--name", name,
                              "--lease", f"{lease_s:g}", "--timeout", f"{timeout:g}", *extra)


@dataclass(frozen=True)
class JobResult:
    """One job run over k children: every accepted result, what each child reported, and the wall time."""

    backend: str
    children: int
    outcomes: tuple[Outcome, ...]
    reports: tuple[dict[str, Any] | None, ...]  # each child's JSON line; None for a killed child
    completed: tuple[launch.Completed, ...]
    wall_s: float
    startup_s: float  # median time from launch to a child's first claim
    killed: str | None = None
    killed_tasks: tuple[str, ...] = ()

    @property
    def results(self) -> list[Any]:
        """The results in task order."""
        return [o.result for o in self.outcomes]

    def rows(self) -> list[dict[str, str]]:
        """One row per child: name, how it ended, tasks done (for a table)."""
        rows = []
        for i, (done, report) in enumerate(zip(self.completed, self.reports, strict=True)):
            rows.append({"child": f"child-{i}", "ended": launch.describe_returncode(done.returncode),
                         "tasks done": str(report["done"]) if report else "-",
                         "late duplicates": str(report["duplicates"]) if report else "-"})
        return rows


def _sabotage(child: launch.Child, board: Any, name: str, kill: bool, deadline: float) -> tuple[str, ...]:
    # The victim runs alone first, so it surely gets work. With ``kill``, stop it the moment it
    # holds a lease (it is in the middle of a task); otherwise wait until it kills itself.
    # Returns the tasks it held when it died: they come back when their leases expire.
    while time.perf_counter() < deadline:
        if kill and name in board.leases().values():
            child.kill()
            child.popen.wait(5)
            break
        if child.popen.poll() is not None:
            break
        time.sleep(0.002)
    else:
        raise RuntimeError(f"{name} neither claimed a task nor ended before the timeout")
    return tuple(t for t, w in board.leases().items() if w == name)


def _wait_watching(kids: list[launch.Child], board: Board, timeout: float) -> list[launch.Completed]:
    # Wait for the children, asking the server for the job's status meanwhile: a server that has
    # gone raises ServerLost here within _WATCH_S, and the caller stops every child.
    deadline = time.perf_counter() + timeout
    while any(kid.popen.poll() is None for kid in kids) and time.perf_counter() < deadline:
        board.status()
        time.sleep(_WATCH_S)
    return launch.wait_all(kids, min(timeout + 10, MAX_TIMEOUT_S), check=False)


def _check_job(tasks: Sequence[dict[str, Any]], children: int, kill: int | None,
               die_after: int | None) -> tuple[list[dict[str, Any]], int, int | None, int | None]:
    """run_job's arguments, all checked before anything starts: (tasks, children, die_after, the victim's index)."""
    items = [check_task(t) for t in tasks]
    k = check_workers(children)
    if not items:
        raise ValueError("tasks is empty: give the job at least one task")
    if kill is not None:
        kill = check_whole("kill", kill, 0, what="(a child's index) or None")
    if die_after is not None:
        die_after = check_whole("die_after", die_after, 0, what="(tasks done before it dies) or None")
    if kill is not None and die_after is not None:
        raise ValueError("choose kill or die_after, not both")
    victim = kill if kill is not None else (0 if die_after is not None else None)
    if victim is not None and k < 2:
        raise ValueError("a job that loses a child needs at least 2 children: another must finish its task")
    if kill is not None and kill >= k:
        raise ValueError(f"kill must name a child from 0 to {k - 1}, got {kill}")
    return items, k, die_after, victim


def run_job(server: Server, tasks: Sequence[dict[str, Any]], children: int, *, lease_s: float = 5.0,
            timeout: float = 120.0, kill: int | None = None, die_after: int | None = None,
            launcher: Callable[[int, list[str]], Sequence[str]] | None = None) -> JobResult:
    """Run ``tasks`` over ``children`` worker scripts through ``server`` and collect every result (lesson 04).

    ``kill=i`` kills child i with SIGKILL in the middle of a task; ``die_after=n`` makes child 0
    kill itself during its task n+1. The victim starts first and alone, so that it surely has a
    task when it dies; the others start then, and finish its task when the lease expires.
    """
    timeout, lease_s = check_timeout(timeout), check_timeout(lease_s, "lease_s")
    items, k, die_after, victim = _check_job(tasks, children, kill, die_after)
    board = server.board(f"job-{secrets.token_hex(4)}")
    env = server.child_env()
    t0, launched = time.perf_counter(), time.time()
    kids: list[launch.Child | None] = [None] * k
    lost: tuple[str, ...] = ()
    try:
        board.submit(items)
        argvs = [worker_argv(board.job, f"child-{i}", lease_s=lease_s, timeout=timeout,
                             die_after=die_after if i == victim else None) for i in range(k)]
        if launcher is not None:
            argvs = [list(launcher(i, argv)) for i, argv in enumerate(argvs)]
        try:
            if victim is not None:
                kids[victim] = first = launch.start(argvs[victim], env=env)
                lost = _sabotage(first, board, f"child-{victim}", kill is not None, t0 + timeout)
            rest = [i for i in range(k) if kids[i] is None]
            for i, child in zip(rest, launch.start_many([argvs[i] for i in rest], env=env), strict=True):
                kids[i] = child
            done = _wait_watching([kid for kid in kids if kid is not None], board, timeout)
        except BaseException:  # ServerLost, a timeout, Ctrl-C: no child outlives the parent
            started = [kid for kid in kids if kid is not None]
            for kid in started:
                kid.stop()
            launch.wait_all(started, timeout, check=False)
            raise
        wall = time.perf_counter() - t0
        outcomes = tuple(board.outcomes())
    except ServerLost as gone:  # every child has ended by now (stopped above, or exited)
        raise gone.with_children_stopped(k) from gone.__cause__
    finally:
        with contextlib.suppress(ServerLost):  # a lost server took the job's keys with it
            board.delete()
    for i, completed in enumerate(done):
        if completed.returncode != 0 and i != victim:
            raise launch.ChildFailed(completed)
    reports = tuple(launch.json_result(c) if c.returncode == 0 else None for c in done)
    if [o.task_id for o in outcomes] != [str(i) for i in range(len(items))]:
        raise RuntimeError(f"{len(items)} tasks but results for {len(outcomes)}: a task was lost")
    firsts = [r["first_claim"] - launched for r in reports if r and r.get("first_claim")]
    died = victim is not None and done[victim].returncode != 0
    return JobResult(server.backend, k, outcomes, reports, tuple(done), wall,
                     statistics.median(firsts) if firsts else 0.0,
                     f"child-{victim}" if died else None, lost if died else ())
