"""The checkers of lesson 04's exercises; each takes what the learner wrote and returns a check.Verdict.

1. ``check_parent(fn)``: the learner's parent ``fn(argvs, timeout)`` starts one child per
   argument list with ``subprocess`` and returns their JSON results. Checked: the results,
   that the children ran at the same time (their reported spans overlap; speed is not used),
   that every child was waited for, no ``shell=True``, and that a child that hangs ends in a
   timeout that stops it.
2. ``check_child_loop(path, server)``: the learner's child script (``%%writefile``) takes tasks
   off the board with the Redis commands until none is left. Checked by running k copies at
   once (``check.run_script``) against Redis or the embedded server.
3. ``check_write_once(fn, server)``: the learner's ``fn(r, job, task_id, line)`` appends a ledger
   line at most once per task id, also when two children race on the same task.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from parlab import coord
from parlab.coord import Server
from parlab.lessons import check
from parlab.lessons.l04.parent_run import CHILD_SCRIPT, EX1, ParentRun, shell_verdict
from parlab.workloads import count_primes, prime_windows

__all__ = ["CHILD_SCRIPT", "EX1", "EX2", "EX3", "check_child_loop", "check_parent", "check_write_once",
           "loop_tasks", "script_is_placeholder"]

EX2 = "Exercise 2: the child's task loop"
EX3 = "Exercise 3: write once per task"

def _forget(r: Any, job: str) -> None:
    """Delete every key of the job, whatever names the learner chose."""
    keys = r.keys(f"{job}:*")
    if keys:
        r.delete(*keys)


def check_parent(fn: Callable[..., Any], children: int = 3, wait_s: float = 10.0) -> check.Verdict:
    """Exercise 1: ``fn(argvs, timeout)`` runs the children at once and returns their JSON, in order.

    ``wait_s``: how long each child waits for the others at its start barrier before it
    reports that it ran alone (a parent that runs them in turn costs one such wait).
    """
    ex = EX1
    if check.is_placeholder(fn):
        return check.not_answered(ex, "write run_children: Popen every child, then communicate(timeout=...) "
                                      "with each, json.loads its output.")
    if not callable(fn):
        return check.not_a_function(ex, "run_children", fn)
    with tempfile.TemporaryDirectory(prefix="parlab-ex1-") as folder:
        run = ParentRun(fn, Path(folder), children, wait_s)
        try:
            verdict = check.first_failure(lambda: shell_verdict(fn), run.results, run.together, run.waited,
                                          run.hang_stopped, run.timeout_raised)
        finally:
            run.stop_all()
    if verdict is not None:
        return verdict
    assert run.hang is not None and run.hang.error is not None
    return check.right(ex, f"{children} children ran at the same time, their JSON came back in order, "
                           "each was waited for, and a child that hangs was stopped by its timeout.",
                       details=f"{run.numbers()}\nthe child that hangs: {type(run.hang.error).__name__} "
                               "after 1 s, and it is no longer running")


# --------------------------------------------------------------------------- exercise 2

def script_is_placeholder(path: Path) -> bool:
    """True while the script still holds the exercise's ``...`` or ``___`` blanks."""
    text = path.read_text(encoding="utf-8")
    if "___" in text:
        return True
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.Constant) and n.value is Ellipsis for n in ast.walk(tree))


def loop_tasks(count: int = 8) -> list[dict[str, Any]]:
    """The tasks exercise 2 puts on the board: count primes in windows of a few hundredths of a second each."""
    return [{"id": str(i), "lo": lo, "hi": hi} for i, (lo, hi) in enumerate(prime_windows(count, 8000, 1_000_000))]


@functools.lru_cache(maxsize=4)
def _loop_expected(count: int) -> dict[str, int]:
    return {t["id"]: count_primes(t["lo"], t["hi"]) for t in loop_tasks(count)}


def check_child_loop(path: str | os.PathLike[str], server: Server | None = None, children: int = 3,
                     timeout_s: float = 20.0) -> check.Verdict:
    """Exercise 2: run ``children`` copies of the learner's child at once; every task done once, right."""
    ex = EX2
    script = Path(path)
    if not script.is_file() or script_is_placeholder(script):
        return check.not_answered(ex, f"fill in the blanks (...) of {script.name} and run its cell, then this one.")
    own = server is None
    server = coord.serve() if server is None else server
    r, job = server.kv(), f"ex2-{secrets.token_hex(4)}"
    tasks = loop_tasks()
    names = [f"child-{i}" for i in range(children)]
    try:
        r.rpush(f"{job}:todo", *[json.dumps(t) for t in tasks])
        env = server.child_env()
        argvs = [[sys.executable, str(script.resolve()), job, name] for name in names]
        with ThreadPoolExecutor(children) as pool:  # k copies at once, each in its own process group
            outcomes = list(pool.map(lambda a: check.run_script(a, timeout_s=timeout_s, env=env,
                                                                cwd=script.resolve().parent), argvs))
        try:
            results: dict[str, str] | None = r.hgetall(f"{job}:results")
        except Exception:  # noqa: BLE001 (WRONGTYPE from either server: the learner made it a list or a string)
            results = None
        done = {n: int(r.get(f"{job}:done:{n}") or 0) for n in names}
        left = r.llen(f"{job}:todo")
    finally:
        _forget(r, job)
        if own:
            server.close()
    expected = _loop_expected(len(tasks))  # the serial counts, computed here once
    return check.first_failure(
        lambda: _loop_ended(outcomes, script.name),
        lambda: _loop_hash(results, job),
        lambda: _loop_values(results or {}, expected),
        lambda: _loop_repeated(done, len(tasks)),
        lambda: _loop_missing(results or {}, expected, left, done, job),
        lambda: _loop_counted(done, len(tasks)),
    ) or check.right(ex, f"{children} copies of {script.name} shared {len(tasks)} tasks through the "
                         f"{server.backend} server, each task done once; every result is right.",
                     details=_per_child(done))


def _per_child(done: dict[str, int]) -> str:
    return ", ".join(f"{n}: {d} task{'s' if d != 1 else ''}" for n, d in done.items())


def _loop_ended(outcomes: list[check.Outcome], name: str) -> check.Verdict | None:
    """Every copy ended by itself, with exit code 0."""
    for outcome in outcomes:
        if outcome.timed_out:
            failed = check.failure(EX2, outcome, f"a copy of {name}")
            assert failed is not None
            return check.Verdict(EX2, "timeout", failed.headline,
                                 hint="The loop must stop: break when r.lpop(...) returns None (no task left).",
                                 details=failed.details)
        if outcome.value.returncode != 0:
            return check.Verdict(EX2, "error", f"a copy of {name} ended with exit code "
                                               f"{outcome.value.returncode}.",
                                 details=outcome.value.stderr[-2000:])
    return None


def _loop_hash(results: dict[str, str] | None, job: str) -> check.Verdict | None:
    """The results are a hash (task id -> count), not a list or a string."""
    if results is not None:
        return None
    return check.wrong(EX2, f"{job}:results is not a hash: the counts were stored without their task ids.",
                       hint="Store each count under its task's id: r.hset(f\"{job}:results\", task[\"id\"], count), "
                            "not r.rpush or r.set.")


def _loop_values(results: dict[str, str], expected: dict[str, int]) -> check.Verdict | None:
    """Every stored result is the serial count of its task."""
    try:
        got = {k: int(v) for k, v in results.items()}
    except ValueError:
        return check.wrong(EX2, "a stored result is not a number.", hint="r.hset(key, task['id'], count)",
                           details=repr(results))
    bad = [t for t in expected if t in got and got[t] != expected[t]]
    if bad:
        return check.wrong(EX2, f"task {bad[0]}'s result is {got[bad[0]]}; the serial count is {expected[bad[0]]}.",
                           hint="Count the primes in [task['lo'], task['hi']) with count_primes.")
    return None


def _loop_repeated(done: dict[str, int], total: int) -> check.Verdict | None:
    """The children's task counts add up to no more than the tasks: no task ran twice."""
    ran = sum(done.values())
    if ran <= total:
        return None
    if all(d == total for d in done.values()):
        return check.wrong(EX2, f"every child ran every task: {len(done)} children ran {ran} tasks for "
                                f"{total}, each reading the whole list instead of taking tasks off it.",
                           hint="Reading the list (r.lrange, r.lindex) leaves every task on it for the next "
                                "child: take each task off with r.lpop, which hands it to one child only.",
                           details=_per_child(done))
    return check.wrong(EX2, f"some tasks ran more than once: the children ran {ran} tasks for {total}.",
                       hint="Take each task off the list with one r.lpop: a task read first and removed "
                            "later can be read by another child in between.", details=_per_child(done))


def _loop_missing(results: dict[str, str], expected: dict[str, int], left: int, done: dict[str, int],
                  job: str) -> check.Verdict | None:
    """Every task has a result, and no task is left on the list."""
    missing = [t for t in expected if t not in results]
    if not (missing or left):
        return None
    return check.wrong(EX2, f"{len(missing)} of {len(expected)} tasks have no result in {job}:results.",
                       hint="Loop until r.lpop returns None, and store each count with "
                            "r.hset(f\"{job}:results\", task[\"id\"], count).",
                       details=f"missing: {', '.join(missing) or 'none'}; tasks left on the list: {left}\n"
                               f"{_per_child(done)}")


def _loop_counted(done: dict[str, int], total: int) -> check.Verdict | None:
    """Each child counted the tasks it ran: the counts add up to the tasks."""
    ran = sum(done.values())
    if ran == total:
        return None
    if ran == 0:
        return check.wrong(EX2, "the results are right, but no child counted its tasks, so the checker "
                                "cannot tell who ran what.",
                           hint="Keep the last line of the loop: r.incr(f\"{job}:done:{name}\").")
    return check.wrong(EX2, f"the children counted {ran} tasks for {total}: count each task once, after "
                            "storing its result.",
                       hint="Keep r.incr(f\"{job}:done:{name}\") once per task, at the end of the loop.",
                       details=_per_child(done))


# --------------------------------------------------------------------------- exercise 3

class _SlowReads:
    """A client whose read commands pause after reading: two racing callers both read before either writes."""

    READS = frozenset({"exists", "get", "hexists", "hget", "hgetall", "lrange", "llen", "scard", "sismember",
                       "smembers"})

    def __init__(self, client: Any, pause_s: float = 0.15) -> None:
        self._client, self._pause_s = client, pause_s

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in self.READS:
            return method

        def read(*args: Any, **kwargs: Any) -> Any:
            value = method(*args, **kwargs)
            time.sleep(self._pause_s)
            return value
        return read


def _race(fn: Callable[..., Any], r: Any, job: str) -> list[BaseException]:
    errors: list[BaseException] = []
    go = threading.Barrier(2)

    def child(name: str) -> None:
        go.wait(5)
        try:
            fn(r, job, "9", f"task 9 by {name}")
        except BaseException as exc:  # noqa: BLE001 (reported as the learner's error)
            errors.append(exc)
    threads = [threading.Thread(target=child, args=(n,)) for n in ("child-a", "child-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return errors


def check_write_once(fn: Callable[..., Any], server: Server | None = None) -> check.Verdict:
    """Exercise 3: ``fn(r, job, task_id, line)`` appends to ``{job}:ledger`` once per task id, race included."""
    ex = EX3
    if check.is_placeholder(fn):
        return check.not_answered(ex, "write write_once: decide atomically whether this task was written "
                                      "(r.sadd or r.hsetnx), and append only then.")
    own = server is None
    server = coord.serve() if server is None else server
    r, job = server.kv(), f"ex3-{secrets.token_hex(4)}"

    before = set(r.keys("*"))

    def scenario() -> tuple[list[str], list[str]]:
        fn(r, job, "7", "task 7 by child-0")
        fn(r, job, "7", "task 7 by child-1")  # the retry after a lost lease
        fn(r, job, "8", "task 8 by child-1")
        errors = _race(fn, _SlowReads(r), job)
        if errors:
            raise errors[0]
        records = sorted(set(r.keys("*")) - before - {f"{job}:ledger"})
        return list(r.lrange(f"{job}:ledger", 0, -1)), records

    try:
        outcome = check.call(scenario, timeout_s=20)
        _forget(r, job)
        if outcome.ok:
            theirs = [k for k in outcome.value[1] if job in k]
            if theirs:
                r.delete(*theirs)
    finally:
        if own:
            server.close()
    failed = check.failure(ex, outcome, "write_once")
    if failed:
        return failed
    ledger, records = outcome.value
    shown = "ledger: " + json.dumps(ledger)
    return check.first_failure(
        lambda: _once_retry(ledger, shown),
        lambda: _once_other_task(ledger, shown),
        lambda: _once_race(ledger, shown),
        lambda: _once_on_server(records, shown),
    ) or check.right(ex, "one line per task: the retry wrote nothing, and of two racing children only "
                         "one wrote.",
                     details="ledger lines per task: " + ", ".join(
                         f"task {t}: {sum(x.startswith(f'task {t} ') for x in ledger)} line" for t in ("7", "8", "9"))
                     # the job's name is random (two checks never share keys): JOB reads the same every run
                     + "\nwritten tasks recorded on the server in: "
                     + ", ".join(k.replace(job, "JOB") for k in records))


def _once_retry(ledger: list[str], shown: str) -> check.Verdict | None:
    sevens = [x for x in ledger if x.startswith("task 7 ")]
    if len(sevens) > 1:
        return check.wrong(EX3, "task 7 was written twice: its retry (after a lost lease) appended again.",
                           hint="Before appending, record the task id in a set or hash with one atomic "
                                "command that says whether it was new: r.sadd(...) == 1 or r.hsetnx(...).",
                           details=shown)
    if sevens != ["task 7 by child-0"]:
        return check.wrong(EX3, "task 7's first write is missing from the ledger.",
                           hint="Append the line with r.rpush(f\"{job}:ledger\", line) the first time: "
                                "r.sadd returns 1 when the id is new, 0 when it was there.",
                           details=shown)
    return None


def _once_other_task(ledger: list[str], shown: str) -> check.Verdict | None:
    if any(x.startswith("task 8 ") for x in ledger):
        return None
    return check.wrong(EX3, "task 8 was never written: a write for one task blocked another task's.",
                       hint="Key the record by the task id, not by the job.", details=shown)


def _once_race(ledger: list[str], shown: str) -> check.Verdict | None:
    nines = [x for x in ledger if x.startswith("task 9 ")]
    if len(nines) == 1:
        return None
    return check.wrong(EX3, f"two children racing on task 9 wrote it {len(nines)} times.",
                       hint="Checking first (sismember, hexists, get) and writing after is two steps: "
                            "both children can check before either writes. Use one atomic command "
                            "that checks and records together: r.sadd or r.hsetnx.",
                       details=shown)


def _once_on_server(records: list[str], shown: str) -> check.Verdict | None:
    if records:
        return None
    return check.wrong(EX3, "the ledger is right here, but which tasks were written is kept in this Python "
                            "process (a set or dict), not on the server: a child in another process, or a "
                            "child started again, would not see it and would write again.",
                       hint="Record the task id on the server, in one atomic command that says whether it "
                            "was new: r.sadd(f\"{job}:written\", task_id) == 1.", details=shown)
