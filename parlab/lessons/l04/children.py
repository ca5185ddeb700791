"""Lesson 04's measurements of jobs over k child scripts: sweeps, start-up, their words and the panel.

The job itself (a board, k ``python -m parlab.scripts.worker`` children started from argument
lists in their own process groups, every result collected) is ``parlab.jobs.run_job``; the
server's address and key reach the children through their environment.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from parlab import launch
from parlab._checks import check_timeout, check_whole, check_workers
from parlab.coord import Server
from parlab.jobs import JobResult, prime_tasks, run_job, worker_argv  # the lesson shows them as jobs.NAME
from parlab.lessons.words import (
    SAME_HIGH,
    SAME_LOW,
    describe_speedup,
    noisiest_warning,
    point_at_cores,
)
from parlab.measure import build_sweep, check_same, time_call, timing_from
from parlab.results import Sweep, SweepPoint, Timing, format_seconds, format_speedup
from parlab.scripts.worker import check_task

__all__ = [
    "JobResult",
    "child_startup",
    "children_panel",
    "describe",
    "describe_children",
    "describe_delivery",
    "describe_redis_startup",
    "describe_startup",
    "import_cost",
    "job_summary",
    "job_sweep",
    "prime_tasks",
    "run_job",
    "worker_argv",
]


def job_sweep(server: Server, tasks: Sequence[dict[str, Any]], children: Sequence[int], *,
              expected: Sequence[Any] | None = None, repeats: int = 3, warmup: int = 0,
              lease_s: float = 5.0, timeout: float = 120.0,
              progress: Callable[[int, int], None] | None = None) -> Sweep:
    """Time the job on 1 child, then on each count of ``children``: speedup over one child (lesson 04).

    Every run's results are checked against ``expected`` (the in-process serial results) or,
    without it, against the one-child run.
    """
    timeout, lease_s = check_timeout(timeout), check_timeout(lease_s, "lease_s")
    counts = [check_workers(c) for c in children]
    if not counts or repeats < 1 or warmup < 0:
        raise ValueError("children must list at least one count, repeats >= 1 and warmup >= 0")
    items = [check_task(t) for t in tasks]
    reference = list(expected) if expected is not None else None
    total = 1 + len([c for c in counts if c != 1])
    timings: dict[int, tuple[Timing, float]] = {}

    def measure(k: int) -> tuple[Timing, float]:
        nonlocal reference
        walls, starts = [], []
        for i in range(warmup + repeats):
            run = run_job(server, items, k, lease_s=lease_s, timeout=timeout)
            if reference is None:
                reference = run.results
            check_same(reference, run.results, f"{k} children")
            if i >= warmup:
                walls.append(run.wall_s)
                starts.append(run.startup_s)
        return timing_from(walls), statistics.median(starts)

    for step, k in enumerate([1] + [c for c in counts if c != 1], start=1):
        timings[k] = measure(k)
        if progress:
            progress(step, total)
    measured = [(k, *timings[k], None) for k in counts]
    # No serial-fraction estimate: what does not speed up here is start-up and server round
    # trips, not a serial part of the work (lesson 04 describes them on their own).
    return build_sweep(f"children via {server.backend} server", f"children/{server.backend}", None,
                       len(items), timings[1][0], measured, estimate=False)


def child_startup(repeats: int = 5) -> Timing:
    """Time to start a minimal child script and collect its JSON line, start to exit (lesson 04)."""
    argv = launch.module_argv("parlab.scripts.hello", "ready")
    # The warm-up start also reads the files into the OS cache.
    return time_call(lambda: launch.json_result(launch.run(argv, timeout=60)), repeats=repeats, warmup=1)


def import_cost(module: str = "redis", repeats: int = 5) -> tuple[Timing, Timing]:
    """Start-up of a child that imports what a worker imports, without and with ``import module`` (lesson 04).

    The two children are started in turn, ``repeats`` times each after one warm-up pair, through
    ``launch.run``; the times are start to exit. The difference of the medians is what the
    import adds to a child's start.
    """
    if not isinstance(module, str) or not module.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"module must be a module name such as 'redis', got {module!r}")
    repeats = check_whole("repeats", repeats, 1, 50)
    base = "import parlab.scripts.worker, parlab.coord"
    argvs = {"without": [sys.executable, "-c", base], "with": [sys.executable, "-c", f"{base}, {module}"]}
    walls: dict[str, list[float]] = {"without": [], "with": []}
    for i in range(repeats + 1):  # the first pair is a warm-up: it reads the files into the OS cache
        for kind, argv in argvs.items():
            t0 = time.perf_counter()
            launch.run(argv, timeout=60)
            if i:
                walls[kind].append(time.perf_counter() - t0)
    return timing_from(walls["without"]), timing_from(walls["with"])


def _children(k: int) -> str:
    return f"{k} child" + ("ren" if k != 1 else "")


def describe(result: JobResult) -> str:
    """One line about a job run, its time in the lessons' format (lesson 04)."""
    return (f"{len(result.outcomes)} tasks over {_children(result.children)} via the {result.backend} server "
            f"in {format_seconds(result.wall_s)} (from the first launch to the last exit)")


def describe_delivery(result: JobResult, expected: Sequence[Any] | None = None) -> str:
    """What the board kept and what ran: one result per task, but each task run at least once (lesson 04).

    The board keeps the first result posted for a task; a task whose lease expired (its child
    died, or was slow) is claimed again, so work can run twice: at-least-once execution.
    """
    tasks = len(result.outcomes)
    kept = f"{tasks} tasks, {tasks} results kept: one per task, the first one posted"
    if expected is not None:
        kept += (", equal to the serial run" if list(expected) == result.results
                 else ", which DIFFER from the serial run")
    claims = sum(o.attempts for o in result.outcomes)
    again = [o.task_id for o in result.outcomes if o.attempts > 1]
    late = sum(r["duplicates"] for r in result.reports if r)
    if claims == tasks:
        ran = (f"Each task was claimed once this time ({claims} claims). The board promises at least "
               "once, not exactly once: a task whose lease expires is claimed again.")
        return f"{kept}.\n{ran}"
    shown = ", ".join(again[:8]) + (", ..." if len(again) > 8 else "")
    parts = [f"{late} late result{'s' if late != 1 else ''} discarded"]
    lost = claims - tasks - late
    if lost > 0 and result.killed:
        parts.append(f"{lost} claim{'s' if lost != 1 else ''} died with {result.killed}")
    ran = (f"Tasks were claimed {claims} times for {tasks} tasks: {len(again)} task"
           f"{'s' if len(again) != 1 else ''} ({shown}) ran or started more than once "
           f"({'; '.join(parts)}). That is at-least-once execution: one result is kept per task, "
           "but work can be repeated, so a task must be safe to run twice.")
    return f"{kept}.\n{ran}"


def job_summary(sweep: Sweep) -> str:
    """A children sweep as a table; the baseline named for what it is: one child, start-up included (lesson 04)."""
    return sweep.summary(nouns=("child", "children"), baseline="1 child, start-up included")


def _noisiest(points: Sequence[SweepPoint]) -> str | None:
    found = noisiest_warning(points)
    return f"At {_children(found[0].workers)}, {found[1]}." if found else None


def describe_children(sweep: Sweep) -> str:
    """What the children sweep showed, from its numbers: one child per core, beyond the cores, the best (lesson 04).

    The tasks compute (CPU-bound), so the ideal is capped at the usable cores; each time
    includes the children's start-up and their waits for the server.
    """
    cores = sweep.metadata.usable_cores
    at = point_at_cores(sweep)
    what = "child" if at.workers == 1 else "children"
    lines = [describe_speedup(at.speedup, at.workers, cores, what=what) + "."]
    if cores == 1:
        lines.append("This machine lets Python use 1 core: children can only take turns on it.")
    over = [p for p in sweep.points if p.oversubscribed]
    if over:
        p = max(over, key=lambda q: q.workers)
        lines.append(describe_speedup(p.speedup, p.workers, cores, what="children") + ".")
        versus = f"{format_speedup(p.speedup)} against {format_speedup(at.speedup)} with {_children(at.workers)}"
        if p.speedup > at.speedup * SAME_HIGH:
            line = (f"More children than cores did better than one per core ({versus}). Computing tasks "
                    "cannot use cores that are not there: the extra children gained by overlapping what "
                    "is not computing (starting up, waiting for the server)")
            if p.speedup_low <= at.speedup_high:
                line += (f"; or it is noise: the repeats' ranges overlap ({format_speedup(at.speedup_low)}"
                         f"–{format_speedup(at.speedup_high)} and {format_speedup(p.speedup_low)}–"
                         f"{format_speedup(p.speedup_high)}), so run the sweep again")
            lines.append(line + ".")
        elif p.speedup < at.speedup * SAME_LOW:
            lines.append(f"That is slower than one child per core ({versus}): the extra children take "
                         "turns on the same cores and each adds its own start-up.")
        else:
            lines.append(f"That is about the same as one child per core ({versus}): the extra children "
                         "take turns on the same cores.")
    best = max(sweep.points, key=lambda q: q.speedup)
    if best.workers == 1:
        lines.append("The best was one child: adding children did not make this job faster here.")
    else:
        lines.append(f"The best was {_children(best.workers)}: {format_speedup(best.speedup)}.")
    noisy = _noisiest(sweep.points)
    if noisy:
        lines.append(noisy)
    return "\n".join(lines)


def describe_startup(sweep: Sweep, startup: Timing) -> str:
    """A child's start-up beside one task's work, from the children sweep and ``child_startup`` (lesson 04)."""
    one = next((p for p in sweep.points if p.workers == 1), None)
    first_claim = one.startup_s if one is not None else 0.0
    per_task = (sweep.serial.median - first_claim) / max(1, sweep.tasks)
    lines = [f"start a minimal child and read its JSON line: {startup.summary()}",
             f"launch a worker until its first claim:        {format_seconds(first_claim)}"]
    if per_task <= 0:
        lines.append("one child's time was no longer than its start-up: the tasks took no measurable time")
        return "\n".join(lines)
    lines.append(f"one task of this batch takes about:           {format_seconds(per_task)} "
                 f"(one child's time less its start-up, over {sweep.tasks} tasks)")
    ratio = first_claim / per_task
    if ratio >= 1:
        lines.append(f"so starting a child costs about {ratio:.1f} tasks of work: give each child many more "
                     "tasks than that, or its start-up eats the gain.")
    else:
        lines.append(f"so starting a child costs about {ratio:.1f} of one task's work: here one task "
                     "outweighs a child's start; with shorter tasks the start-up would weigh more.")
    return "\n".join(lines)


def describe_redis_startup(embedded_s: float, redis_s: float, without: Timing, with_redis: Timing) -> str:
    """Redis against embedded children's start, with what importing the redis client costs here (lesson 04).

    ``embedded_s`` and ``redis_s``: launch to first claim (the sweeps' one-child start-up);
    ``without``/``with_redis``: ``import_cost("redis")``.
    """
    if embedded_s <= 0 or redis_s <= 0:
        raise ValueError(f"start-up times must be > 0, got {embedded_s!r} and {redis_s!r}")
    imported = with_redis.median - without.median
    cost = (f"importing the redis client adds {format_seconds(imported)} to a child's start "
            f"({format_seconds(with_redis.median)} with it, {format_seconds(without.median)} without, "
            f"medians of {len(with_redis.values)})") if imported > 0 else (
            f"importing the redis client added no measurable time to a child's start "
            f"({format_seconds(with_redis.median)} with it, {format_seconds(without.median)} without)")
    head = (f"from launch to first claim: embedded {format_seconds(embedded_s)}, "
            f"redis {format_seconds(redis_s)}")
    diff = redis_s - embedded_s
    if redis_s <= embedded_s * SAME_HIGH:
        word = "no slower than" if redis_s < embedded_s * SAME_LOW or diff <= 0 else "about as fast as"
        return f"{head}.\nRedis children started {word} embedded ones here; {cost}."
    share = imported / diff
    if share > 1.2:
        tail = (f"more than the whole {format_seconds(diff)} difference: the two were timed in different "
                "runs, and the rest of a Redis child's start took less than an embedded child's.")
    elif share >= 0.8:
        tail = "that accounts for the difference."
    elif share >= 0.2:
        tail = (f"that is about {share:.0%} of the {format_seconds(diff)} difference; the rest is spent "
                "after the import (connecting, the first claim), which this cell does not time apart.")
    else:
        tail = (f"that is little of the {format_seconds(diff)} difference: most of it is spent after the "
                "import (connecting, the first claim), which this cell does not time apart.")
    return f"{head}: Redis children reached their first claim {format_seconds(diff)} later.\n{cost}: {tail}"


def children_panel(backend: str = "embedded", *, url: str | None = None, tasks: int = 8,
                   repeats: int = 1) -> Any:
    """Sliders for children and tasks; Run sweeps 1..children and plots the speedup over one child (lesson 04).

    Each Run starts its own server (``serve(backend, url=url)``) and stops it afterwards, so the
    panel keeps working after the lesson's Cleanup has stopped the lesson's servers.
    """
    import ipywidgets as w

    from parlab.coord import serve
    from parlab.plot import plot_speedup
    from parlab.system import usable_cores
    from parlab.widgets import Panel, sweep_rows

    cores = usable_cores()
    controls = {
        "children": w.IntSlider(value=cores, min=1, max=cores + 2, description="children",
                                continuous_update=False),
        "tasks": w.IntSlider(value=tasks, min=1, max=64, description="tasks", continuous_update=False),
    }

    def measure(values: dict[str, Any], progress: Callable[[int, int], None]) -> Sweep:
        with serve(backend, url=url) as server:
            return job_sweep(server, prime_tasks(values["tasks"]), range(1, values["children"] + 1),
                             repeats=repeats, progress=progress)

    def draw(sweep: Sweep, ax: Any) -> None:
        plot_speedup(sweep, ax, title=f"{sweep.tasks} tasks over k children ({backend} server)")
        ax.set_xlabel("children")

    return Panel(controls, measure, draw, sweep_rows, title="Children and tasks: speedup over one child")
