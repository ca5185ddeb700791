"""Lesson 04, exercise 1's machinery: the children the checker hands the learner's parent, and its rules.

The children meet at a start barrier (files in a folder), not in a clock's window, so that a
parent running them one after another is told from one running them at once however busy the
machine is; :class:`ParentRun` runs the learner's parent and holds one rule per mistake, which
``exercises.check_parent`` lists with ``check.first_failure``.
"""

from __future__ import annotations

import ast
import inspect
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from parlab.lessons import check

__all__ = ["CHILD_SCRIPT", "EX1", "HANG_S", "ParentRun", "shell_verdict"]

EX1 = "Exercise 1: a parent by hand"

# The child that check_parent's argument lists start. A start barrier, not a clock, tells
# children run at once from children run in turn: each child says it is ready (a file), then
# waits until every child of the run is ready; a child that waits `wait_s` in vain gives up
# (and says so to the children after it), so a parent that runs them one by one is caught
# after one wait, however busy the machine. The child that hangs (count 0) only sleeps. Each
# child ends after the one named last on its command line, so that they end in the reverse
# of their order: a parent that collects results as they come cannot keep the order by luck.
CHILD_SCRIPT = """\
import json, os, sys, time
from pathlib import Path

name, folder, count, wait_s = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
after = sys.argv[5] if len(sys.argv) > 5 else ""
(folder / f"{os.getpid()}.pid").write_text(name)  # so that the checker finds every child it must stop
if count == 0:  # the child that hangs
    time.sleep(wait_s)
    sys.exit(0)
(folder / f"ready-{name}").touch()
deadline = time.monotonic() + wait_s
together = False
while time.monotonic() < deadline and not (folder / "gave-up").exists():
    if len(list(folder.glob("ready-*"))) >= count:
        together = True
        break
    time.sleep(0.01)
if not together:
    (folder / "gave-up").touch()
while together and after and time.monotonic() < deadline and not (folder / f"done-{after}").exists():
    time.sleep(0.01)
time.sleep(0.05 if after else 0)
(folder / f"done-{name}").touch()
print(json.dumps({"name": name, "value": len(name), "pid": os.getpid(), "together": together}))
"""


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


def _settled(pid: int, within_s: float = 2.0) -> str:
    """The child's state once a kill sent to it has had time to land: 'running' only if it still runs."""
    deadline = time.monotonic() + within_s
    state = _state(pid)
    while state == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        state = _state(pid)
    return state


def _kill(pid: int) -> None:
    try:
        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        if os.name == "posix":
            os.waitpid(pid, 0)
    except (OSError, ChildProcessError):
        pass


HANG_S = 60.0  # the child that hangs sleeps this long: far past the 1 s timeout it is given


class ParentRun:
    """One check of the learner's parent: its runs, made when a rule first asks (exercise 1)."""

    def __init__(self, fn: Callable[..., Any], folder: Path, children: int, wait_s: float) -> None:
        self.fn, self.folder, self.children, self.wait_s = fn, folder, children, wait_s
        self.script = folder / "child.py"
        self.script.write_text(CHILD_SCRIPT, encoding="utf-8")
        self.names = [f"child-{i}" for i in range(children)]
        self.got: list[dict[str, Any]] = []
        self.hang: check.Outcome | None = None
        self.hang_pid: int | None = None

    def argv(self, name: str, run: Path, count: int, wait_s: float | None = None, after: str = "") -> list[str]:
        wait = self.wait_s if wait_s is None else wait_s
        return [sys.executable, str(self.script), name, str(run), str(count), str(wait)] + ([after] if after else [])

    def numbers(self) -> str:
        return "\n".join(f"{r['name']}: pid {r['pid']}, "
                         f"{'ran beside the others' if r.get('together') else 'waited for the others in vain'}"
                         for r in self.got)

    def stop_all(self) -> None:
        """Stop every child of this check still running (a parent that left one behind)."""
        for pidfile in self.folder.glob("*/*.pid"):
            pid = int(pidfile.stem)
            if _state(pid) == "running":
                _kill(pid)

    # --- the rules, in order -----------------------------------------------------------
    def results(self) -> check.Verdict | None:
        run = self.folder / "together"
        run.mkdir()
        after = [*self.names[1:], ""]  # child-0 ends after child-1, ..., the last one first
        argvs = [self.argv(name, run, self.children, after=a) for name, a in zip(self.names, after, strict=True)]
        outcome = check.call(self.fn, argvs, 30, timeout_s=30 + 2 * self.wait_s)
        failed = check.failure(EX1, outcome, "run_children")
        if failed:
            return failed
        got = outcome.value
        if not isinstance(got, list) or not all(isinstance(r, dict) for r in got):
            hint = ("json.loads each child's output: the parent returns the children's JSON, not their text."
                    if isinstance(got, list) and got and all(isinstance(r, str | bytes) for r in got) else
                    "Return the list: [json.loads(out) for out in outs].")
            return check.wrong(EX1, "run_children must return a list with each child's JSON (json.loads "
                                    f"of its output), got {check.short(got, 60)}.", hint=hint)
        self.got = got
        return check.same_results(EX1, [{k: r.get(k) for k in ("name", "value")} for r in got],
                                  [{"name": n, "value": len(n)} for n in self.names], "run_children")

    def together(self) -> check.Verdict | None:
        if all(r.get("together") for r in self.got):
            return None
        return check.wrong(EX1, "the children ran one after another, not at the same time: each child "
                                "waited for the others to start, and they never did.",
                           hint="Start every child first (a list of Popen), then wait for each: "
                                "subprocess.run waits for its child before it returns.",
                           details=self.numbers())

    def waited(self) -> check.Verdict | None:
        left = {r["pid"]: _state(r["pid"]) for r in self.got}
        if all(s == "gone" for s in left.values()):
            return None
        for pid, s in left.items():
            if s == "running":
                _kill(pid)
        return check.wrong(EX1, "a child was not waited for: "
                                + ", ".join(f"pid {p} {s}" for p, s in left.items() if s != "gone") + ".",
                           hint="Wait for every child (communicate() or wait()), so none is left running "
                                "or as a zombie.", details=self.numbers())

    def hang_stopped(self) -> check.Verdict | None:
        run = self.folder / "hangs"
        run.mkdir()
        argvs = [self.argv("quick", run, 1), self.argv("hangs", run, 0, HANG_S)]
        self.hang = outcome = check.call(self.fn, argvs, 1, timeout_s=6)
        pids = [int(p.stem) for p in run.glob("*.pid") if p.read_text() == "hangs"]
        pid = self.hang_pid = pids[0] if pids else None
        if outcome.timed_out:
            self.stop_all()
            return check.wrong(EX1, "a child that hangs kept your parent waiting: no timeout stopped it.",
                               hint="Pass timeout=timeout to communicate() (or subprocess.run), and on "
                                    "subprocess.TimeoutExpired kill the child, wait for it, and raise.")
        state = _settled(pid) if pid else "gone"
        if state == "running":
            _kill(pid)  # type: ignore[arg-type]
            return check.wrong(EX1, "your parent noticed the timeout but left the child that hangs running.",
                               hint="On subprocess.TimeoutExpired call kill() then wait() on the child "
                                    "(subprocess.run does both for you).")
        if state == "zombie":
            return check.wrong(EX1, "your parent killed the child that hangs but never waited for it: it was "
                                    "left as a zombie.",
                               hint="After p.kill(), call p.wait() (or p.communicate()) so the ended child "
                                    "is reaped; subprocess.run does both for you.")
        return None

    def timeout_raised(self) -> check.Verdict | None:
        outcome = self.hang
        assert outcome is not None
        if outcome.error is None:
            return check.wrong(EX1, "a child that hangs went unnoticed: with timeout=1 your parent returned "
                                    f"{check.short(outcome.value)} instead of raising.",
                               hint="Let subprocess.TimeoutExpired propagate after you stop the child.")
        if not isinstance(outcome.error, TimeoutError | subprocess.TimeoutExpired):
            return check.failure(EX1, outcome, "run_children (with a child that hangs)")
        return None


def shell_verdict(fn: Callable[..., Any]) -> check.Verdict | None:
    shell = _uses_shell(fn)
    if not shell:
        return None
    return check.wrong(EX1, f"your parent uses {shell}: a shell reads the command as one string.",
                       hint="Pass the argument list itself: subprocess.Popen(argv, ...), no shell.")
