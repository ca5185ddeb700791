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
import inspect
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from parlab import coord
from parlab.coord import Server
from parlab.lessons import check
from parlab.workloads import count_primes, prime_windows

__all__ = ["CHILD_SCRIPT", "EX1", "EX2", "EX3", "check_child_loop", "check_parent", "check_write_once",
           "loop_tasks", "script_is_placeholder"]

EX1 = "Exercise 1: a parent by hand"
EX2 = "Exercise 2: the child's task loop"
EX3 = "Exercise 3: write once per task"

# The child that check_parent's argument lists start: sleep, then one JSON line with its span.
CHILD_SCRIPT = '''\
import json, os, sys, time
name, sleep_s = sys.argv[1], float(sys.argv[2])
if len(sys.argv) > 3:
    with open(sys.argv[3], "w") as f:  # the pid, so that the checker can find a child that hangs
        f.write(str(os.getpid()))
start = time.time()  # wall clock: comparable between processes
time.sleep(sleep_s)
print(json.dumps({"name": name, "value": len(name), "pid": os.getpid(), "start": start, "end": time.time()}))
'''


def _forget(r: Any, job: str) -> None:
    """Delete every key of the job, whatever names the learner chose."""
    keys = r.keys(f"{job}:*")
    if keys:
        r.delete(*keys)


def _uses_shell(fn: Callable[..., Any]) -> str | None:
    """What in ``fn``'s source hands a command to a shell, or None."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "shell" and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            return "shell=True"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in ("system", "popen"):
            return f"os.{node.attr}"
    return None


def _state(pid: int) -> str:
    """'running', 'zombie' (ended, never waited for: now reaped by us) or 'gone'."""
    if os.name != "posix":
        return "gone"
    try:
        got, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # already waited for (or not our child)
        try:
            os.kill(pid, 0)
        except OSError:
            return "gone"
        return "running"
    return "running" if got == 0 else "zombie"


def _kill(pid: int) -> None:
    try:
        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        if os.name == "posix":
            os.waitpid(pid, 0)
    except (OSError, ChildProcessError):
        pass


def check_parent(fn: Callable[..., Any], children: int = 3, sleep_s: float = 0.4) -> check.Verdict:
    """Exercise 1: ``fn(argvs, timeout)`` runs the children at once and returns their JSON, in order."""
    ex = EX1
    if check.is_placeholder(fn):
        return check.not_answered(ex, "write run_children: Popen every child, then communicate(timeout=...) "
                                      "with each, json.loads its output.")
    if not callable(fn):
        return check.wrong(ex, f"run_children must be a function, not {type(fn).__name__}.")
    shell = _uses_shell(fn)
    if shell:
        return check.wrong(ex, f"your parent uses {shell}: a shell reads the command as one string.",
                           hint="Pass the argument list itself: subprocess.Popen(argv, ...), no shell.")
    with tempfile.TemporaryDirectory(prefix="parlab-ex1-") as folder:
        script = Path(folder, "child.py")
        script.write_text(CHILD_SCRIPT, encoding="utf-8")
        names = [f"child-{i}" for i in range(children)]
        argvs = [[sys.executable, str(script), name, str(sleep_s)] for name in names]
        outcome = check.call(fn, argvs, 30, timeout_s=40)
        failed = check.failure(ex, outcome, "run_children")
        if failed:
            return failed
        got = outcome.value
        if not isinstance(got, list) or not all(isinstance(r, dict) for r in got):
            return check.wrong(ex, "run_children must return a list with each child's JSON (json.loads "
                                   f"of its output), got {type(got).__name__}.")
        wrong = check.same_results(ex, [{k: r.get(k) for k in ("name", "value")} for r in got],
                                   [{"name": n, "value": len(n)} for n in names], "run_children")
        if wrong:
            return wrong
        spans = [(r["start"], r["end"]) for r in got]
        t0 = min(s for s, _ in spans)
        numbers = "\n".join(f"{r['name']}: ran from +{r['start'] - t0:.2f} s to +{r['end'] - t0:.2f} s"
                            for r in got)
        if max(s for s, _ in spans) >= min(e for _, e in spans):
            return check.wrong(ex, "the children ran one after another, not at the same time.",
                               hint="Start every child first (a list of Popen), then wait for each: "
                                    "subprocess.run waits for its child before it returns.",
                               details=numbers)
        left = {r["pid"]: _state(r["pid"]) for r in got}
        if any(s != "gone" for s in left.values()):
            for pid, s in left.items():
                if s == "running":
                    _kill(pid)
            return check.wrong(ex, "a child was not waited for: "
                                   + ", ".join(f"pid {p} {s}" for p, s in left.items() if s != "gone") + ".",
                               hint="Wait for every child (communicate() or wait()), so none is left running "
                                    "or as a zombie.", details=numbers)
        pidfile = Path(folder, "hang.pid")
        hang = [sys.executable, str(script), "hangs", "60", str(pidfile)]
        outcome = check.call(fn, [argvs[0], hang], 1, timeout_s=6)
        pid = int(pidfile.read_text()) if pidfile.exists() and pidfile.read_text() else None
        if outcome.timed_out:
            if pid:
                _kill(pid)
            return check.wrong(ex, "a child that hangs kept your parent waiting: no timeout stopped it.",
                               hint="Pass timeout=timeout to communicate() (or subprocess.run), and on "
                                    "subprocess.TimeoutExpired kill the child, wait for it, and raise.")
        if pid and _state(pid) == "running":
            _kill(pid)
            return check.wrong(ex, "your parent noticed the timeout but left the child that hangs running.",
                               hint="On subprocess.TimeoutExpired call kill() then wait() on the child "
                                    "(subprocess.run does both for you).")
        if outcome.error is None:
            return check.wrong(ex, "a child that hangs went unnoticed: with timeout=1 your parent returned "
                                   f"{check.short(outcome.value)} instead of raising.",
                               hint="Let subprocess.TimeoutExpired propagate after you stop the child.")
        if not isinstance(outcome.error, TimeoutError | subprocess.TimeoutExpired):
            failed = check.failure(ex, outcome, "run_children (with a child that hangs)")
            assert failed is not None
            return failed
        return check.right(ex, f"{children} children ran at the same time, their JSON came back in order, "
                               "each was waited for, and a child that hangs was stopped by its timeout.",
                           details=f"{numbers}\nthe child that hangs: {type(outcome.error).__name__} "
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
        results = r.hgetall(f"{job}:results")
        done = {n: int(r.get(f"{job}:done:{n}") or 0) for n in names}
        left = r.llen(f"{job}:todo")
    finally:
        _forget(r, job)
        if own:
            server.close()
    for outcome in outcomes:
        if outcome.timed_out:
            failed = check.failure(ex, outcome, f"a copy of {script.name}")
            assert failed is not None
            return check.Verdict(ex, "timeout", failed.headline,
                                 hint="The loop must stop: break when r.lpop(...) returns None (no task left).",
                                 details=failed.details)
        if outcome.value.returncode != 0:
            return check.Verdict(ex, "error", f"a copy of {script.name} ended with exit code "
                                              f"{outcome.value.returncode}.",
                                 details=outcome.value.stderr[-2000:])
    per_child = ", ".join(f"{n}: {d} task{'s' if d != 1 else ''}" for n, d in done.items())
    expected = _loop_expected(len(tasks))  # the serial counts, computed here once
    try:
        got = {k: int(v) for k, v in results.items()}
    except ValueError:
        return check.wrong(ex, "a stored result is not a number.", hint="r.hset(key, task['id'], count)",
                           details=repr(results))
    missing = [t for t in expected if t not in got]
    if missing or left:
        return check.wrong(ex, f"{len(missing)} of {len(tasks)} tasks have no result in {job}:results.",
                           hint="Loop until r.lpop returns None, and store each count with "
                                "r.hset(f\"{job}:results\", task[\"id\"], count).",
                           details=f"missing: {', '.join(missing)}; tasks left on the list: {left}\n{per_child}")
    bad = [t for t in expected if got[t] != expected[t]]
    if bad:
        return check.wrong(ex, f"task {bad[0]}'s result is {got[bad[0]]}; the serial count is {expected[bad[0]]}.",
                           hint="Count the primes in [task['lo'], task['hi']) with count_primes.")
    return check.right(ex, f"{children} copies of {script.name} shared {len(tasks)} tasks through the "
                           f"{server.backend} server; every result is right.", details=per_child)


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

    def scenario() -> list[str]:
        fn(r, job, "7", "task 7 by child-0")
        fn(r, job, "7", "task 7 by child-1")  # the retry after a lost lease
        fn(r, job, "8", "task 8 by child-1")
        errors = _race(fn, _SlowReads(r), job)
        if errors:
            raise errors[0]
        return list(r.lrange(f"{job}:ledger", 0, -1))

    try:
        outcome = check.call(scenario, timeout_s=20)
        _forget(r, job)
    finally:
        if own:
            server.close()
    failed = check.failure(ex, outcome, "write_once")
    if failed:
        return failed
    ledger = outcome.value
    shown = "ledger: " + json.dumps(ledger)
    sevens = [x for x in ledger if x.startswith("task 7 ")]
    if len(sevens) > 1:
        return check.wrong(ex, "task 7 was written twice: its retry (after a lost lease) appended again.",
                           hint="Before appending, record the task id in a set or hash with one atomic "
                                "command that says whether it was new: r.sadd(...) == 1 or r.hsetnx(...).",
                           details=shown)
    if sevens != ["task 7 by child-0"]:
        return check.wrong(ex, "task 7's first write is missing from the ledger.",
                           hint="Append the line with r.rpush(f\"{{job}}:ledger\", line) the first time.",
                           details=shown)
    if not any(x.startswith("task 8 ") for x in ledger):
        return check.wrong(ex, "task 8 was never written: a write for one task blocked another task's.",
                           hint="Key the record by the task id, not by the job.", details=shown)
    nines = [x for x in ledger if x.startswith("task 9 ")]
    if len(nines) != 1:
        return check.wrong(ex, f"two children racing on task 9 wrote it {len(nines)} times.",
                           hint="Checking first (sismember, hexists, get) and writing after is two steps: "
                                "both children can check before either writes. Use one atomic command "
                                "that checks and records together: r.sadd or r.hsetnx.",
                           details=shown)
    per_task = ", ".join(f"task {t}: {sum(x.startswith(f'task {t} ') for x in ledger)} line"
                         for t in ("7", "8", "9"))
    return check.right(ex, "one line per task: the retry wrote nothing, and of two racing children only "
                           "one wrote.", details=f"ledger lines per task: {per_task}")
