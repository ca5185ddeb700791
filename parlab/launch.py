"""Start child programs safely: argument lists, their own process group, a timeout, cleanup.

Never through a shell: ``[sys.executable, "-m", "parlab.scripts.name", arg, ...]`` passes
each argument as it is, so a file name with spaces or a ``;`` cannot run a second command.
Each child leads its own process group (a session on POSIX), so the whole group, with any
grandchild, can be stopped on a timeout or an interrupt: Jupyter's interrupt does not reach
a child in another group, so the parent has to pass it on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parlab._checks import CHILD_TIMEOUT_S, check_timeout

__all__ = [
    "CHILD_TIMEOUT_S",
    "Child",
    "ChildFailed",
    "ChildTimeout",
    "Completed",
    "describe_returncode",
    "json_result",
    "module_argv",
    "run",
    "run_many",
    "start",
    "start_many",
    "wait_all",
]

_GRACE_S = 2.0  # between SIGTERM and SIGKILL
_STDERR_TAIL = 2000


def describe_returncode(code: int) -> str:
    """'exit code 3' or, for a negative code, the signal's name: 'killed by SIGKILL'."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass(frozen=True)
class Completed:
    """What a finished child left: its argument list, return code, output and wall time."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    wall_s: float


class ChildFailed(RuntimeError):
    """A child exited non-zero or was killed by a signal; carries the return code and stderr's tail."""

    def __init__(self, completed: Completed) -> None:
        self.completed = completed
        tail = completed.stderr[-_STDERR_TAIL:].rstrip()
        name = " ".join(completed.argv[1:4]) if len(completed.argv) > 1 else completed.argv[0]
        super().__init__(f"child '{name}' failed: {describe_returncode(completed.returncode)}"
                         + (f"\n--- end of its stderr ---\n{tail}" if tail else ""))


class ChildTimeout(TimeoutError):
    """A child ran past its timeout; its whole process group was stopped. Output so far is kept."""

    def __init__(self, completed: Completed, timeout: float) -> None:
        self.completed = completed
        name = " ".join(completed.argv[1:4])
        super().__init__(f"child '{name}' ran past its {timeout:g} s timeout; its process group "
                         "was terminated")


def module_argv(module: str, *args: object) -> list[str]:
    """``[python, -m, module, args...]`` for the running interpreter, every argument a string."""
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise ValueError(f"module must be a dotted module name like 'parlab.scripts.worker', got {module!r}")
    return [sys.executable, "-m", module, *(str(a) for a in args)]


def _check_argv(argv: Sequence[str]) -> list[str]:
    if isinstance(argv, (str, bytes)) or not argv:
        raise TypeError("argv must be a non-empty list of strings (never one shell string), "
                        f"got {argv!r}")
    out = [os.fspath(a) for a in argv]
    if not all(isinstance(a, str) for a in out):
        raise TypeError(f"every argument must be a string or path, got {argv!r}")
    return out



def _group_alive(pgid: int) -> bool:
    """Whether a process group still has a running (not zombie) member."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not os.path.isdir("/proc"):
        return True
    # kill(0) also succeeds for zombies waiting to be reaped by init; /proc tells them apart.
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                state, _ppid, group = fh.read().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if state != "Z" and int(group) == pgid:
            return True
    return False


class Child:
    """A started child in its own process group (lessons 04, 05)."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str] | None = None,
                 cwd: str | os.PathLike[str] | None = None) -> None:
        self.argv = tuple(_check_argv(argv))
        group = ({"start_new_session": True} if os.name == "posix"
                 else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP})  # type: ignore[attr-defined]
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=env, cwd=cwd, **group)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        """Terminate the child's whole group, then kill what is left after a grace period."""
        if os.name == "posix":
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.popen.pid, sig)
                except ProcessLookupError:
                    return
                try:
                    self.popen.wait(_GRACE_S)
                except subprocess.TimeoutExpired:
                    continue
                if sig == signal.SIGTERM:  # the leader is gone; grandchildren may not be
                    try:
                        os.killpg(self.popen.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                return
        else:
            self.popen.kill()
            self.popen.wait(_GRACE_S)

    def kill(self) -> None:
        """Kill the child's whole group at once with SIGKILL, as a crash would (lesson 04 does it on purpose)."""
        try:
            if os.name == "posix":
                os.killpg(self.popen.pid, signal.SIGKILL)
            else:
                self.popen.kill()
        except ProcessLookupError:
            pass

    def _reap_group(self) -> None:
        # The leader exited on its own, but a grandchild it started may still run in its group:
        # terminate it, give it a moment, then kill what is left, so nothing outlives the child.
        if os.name != "posix":
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return  # the usual case: the group is empty
        deadline = time.monotonic() + _GRACE_S
        while time.monotonic() < deadline and _group_alive(self.popen.pid):
            time.sleep(0.02)
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout: float = CHILD_TIMEOUT_S, *, check: bool = True) -> Completed:
        """Wait for the child; stop its group on timeout or Ctrl-C; raise ChildFailed on failure."""
        timeout = check_timeout(timeout)
        remaining = max(0.0, timeout - (time.perf_counter() - self.started))
        try:
            out, err = self.popen.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            self.stop()
            out, err = self.popen.communicate()
            raise ChildTimeout(self._completed(out, err), timeout) from None
        except BaseException:  # KeyboardInterrupt from Jupyter's interrupt: pass it on to the group
            self.stop()
            self.popen.communicate()
            raise
        self._reap_group()
        done = self._completed(out, err)
        if check and done.returncode != 0:
            raise ChildFailed(done)
        return done

    def _completed(self, out: str | None, err: str | None) -> Completed:
        return Completed(self.argv, self.popen.returncode if self.popen.returncode is not None else -9,
                         out or "", err or "", time.perf_counter() - self.started)


def start(argv: Sequence[str], *, env: dict[str, str] | None = None,
          cwd: str | os.PathLike[str] | None = None) -> Child:
    """Start a child from an argument list in its own process group (lessons 04, 05)."""
    return Child(argv, env=env, cwd=cwd)


def run(argv: Sequence[str], *, timeout: float = CHILD_TIMEOUT_S, check: bool = True,
        env: dict[str, str] | None = None, cwd: str | os.PathLike[str] | None = None) -> Completed:
    """Start a child, wait for it within ``timeout``, and return what it printed (lessons 04, 05)."""
    timeout = check_timeout(timeout)
    return start(argv, env=env, cwd=cwd).wait(timeout, check=check)


def start_many(argvs: Sequence[Sequence[str]], *, env: dict[str, str] | None = None,
               cwd: str | os.PathLike[str] | None = None) -> list[Child]:
    """Start several children at once, each in its own group; if one fails to start, stop the others (lesson 04)."""
    lists = [_check_argv(argv) for argv in argvs]  # every argument list checked before anything starts
    children: list[Child] = []
    try:
        for argv in lists:
            children.append(Child(argv, env=env, cwd=cwd))
    except BaseException:
        for child in children:
            child.stop()
            child.popen.communicate()
        raise
    return children


def wait_all(children: Sequence[Child], timeout: float = CHILD_TIMEOUT_S, *,
             check: bool = True) -> list[Completed]:
    """Wait for every child (each within ``timeout`` of its start); on a timeout or Ctrl-C stop them all (lesson 04).

    With ``check``, the first child that failed raises ChildFailed once all have finished.
    """
    timeout = check_timeout(timeout)
    done: list[Completed] = []
    try:
        for child in children:
            done.append(child.wait(timeout, check=False))
    except BaseException:  # ChildTimeout or KeyboardInterrupt: the others must not outlive the parent
        for child in children[len(done):]:
            child.stop()
            child.popen.communicate()
        raise
    if check:
        for completed in done:
            if completed.returncode != 0:
                raise ChildFailed(completed)
    return done


def run_many(argvs: Sequence[Sequence[str]], *, timeout: float = CHILD_TIMEOUT_S, check: bool = True,
             env: dict[str, str] | None = None, cwd: str | os.PathLike[str] | None = None) -> list[Completed]:
    """Start several children together and wait for all of them (lesson 04)."""
    timeout = check_timeout(timeout)
    return wait_all(start_many(argvs, env=env, cwd=cwd), timeout, check=check)


def json_result(completed: Completed) -> Any:
    """The JSON value a child printed as the last line of its stdout (lesson 04); never parsed from free text."""
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    name = " ".join(completed.argv[1:4])
    if not lines:
        raise ValueError(f"child '{name}' printed nothing on stdout; it should print one JSON line")
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"child '{name}' did not end its output with a JSON line: {lines[-1][:200]!r} "
                         f"({exc.msg})") from None
