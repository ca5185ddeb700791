"""Launch lesson 05's MPI programs with ``mpiexec`` from a notebook; MPI never starts in the kernel.

Every program runs as ``mpiexec -n N python -m mpi4py -m parlab.scripts.mpi_NAME args``:
``python -m mpi4py`` turns an exception on one rank into ``MPI_Abort`` for the whole job,
where a plain ``python`` would leave the other ranks waiting for it forever. The launch goes
through :mod:`parlab.launch` (argument list, own process group, a timeout that stops every
rank). Rank 0 prints one JSON line (see :mod:`parlab.scripts.mpi_common`) that is parsed
here, and its size is checked against ``N``: an ``mpiexec`` from another MPI library starts N
unrelated copies of size 1, which would otherwise look like a working but slow job.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import parlab
from parlab import launch, system
from parlab._checks import (
    HOSTFILE_RANK_CAP,
    MPI_TIMEOUT_S,
    check_flag,
    check_ranks,
    check_text,
    check_timeout,
    check_whole,
    max_ranks,
)
from parlab.scripts.mpi_common import FAILED_TAG, RESULT_TAG

__all__ = [
    "HOSTFILE_RANK_CAP",
    "INSTALL_HINT",
    "MPI_TIMEOUT_S",
    "PROGRAMS",
    "LauncherNotFound",
    "MPIError",
    "MPIRun",
    "MPITimeout",
    "RankFailed",
    "WrongSize",
    "check_ranks",
    "find_launcher",
    "max_ranks",
    "mpiexec_argv",
    "run_mpi",
    "run_source",
    "short_command",
    "write_hostfile",
]

PROGRAMS = {name: f"parlab.scripts.mpi_{name}"
            for name in ("hello", "ring", "pingpong", "collectives", "integral", "futures", "primes",
                         "exchange", "reductions")}
# Programs started through mpi4py.futures: rank 0 runs them, the other ranks become pool workers.
FUTURES_PROGRAMS = frozenset({"futures"})
INSTALL_HINT = "pip install mpi4py mpich   (Windows: pip install mpi4py impi-rt)"


class MPIError(RuntimeError):
    """Something went wrong launching or running an MPI job (lesson 05)."""


class LauncherNotFound(MPIError):
    """No ``mpiexec`` next to Python or on PATH; the message gives the install command."""


class WrongSize(MPIError):
    """The ranks did not see the size asked for: the launcher belongs to another MPI library."""


class RankFailed(MPIError):
    """A rank raised (or the job died); carries the rank, its traceback and mpiexec's exit code."""

    def __init__(self, message: str, *, rank: int | None, traceback: str, returncode: int,
                 stderr: str) -> None:
        super().__init__(message)
        self.rank, self.traceback, self.returncode, self.stderr = rank, traceback, returncode, stderr


class MPITimeout(MPIError, TimeoutError):
    """The job ran past its timeout (often a deadlock) and every rank was stopped; keeps what the ranks wrote."""

    def __init__(self, message: str, *, stdout: str = "", stderr: str = "") -> None:
        super().__init__(message)
        self.stdout, self.stderr = stdout, stderr


@dataclass(frozen=True)
class MPIRun:
    """A finished job: rank 0's result, other output, and the wall time including start-up (lesson 05)."""

    program: str
    ranks: int
    argv: tuple[str, ...]
    data: dict[str, Any]
    output: str
    stderr: str
    wall_s: float

    @property
    def command(self) -> str:
        """The command line as a learner would type it."""
        return short_command(self.argv)



def find_launcher(mpiexec: str | os.PathLike[str] | None = None) -> str:
    """The mpiexec to use: the one given, else the one next to Python, else PATH's (lesson 05)."""
    found = os.fspath(mpiexec) if mpiexec is not None else system.find_mpiexec()
    if not found:
        raise LauncherNotFound(f"no MPI launcher (mpiexec) found next to {sys.executable} or on PATH. "
                               f"Install one into this environment with:  {INSTALL_HINT}")
    if not (os.path.isfile(found) and os.access(found, os.X_OK)):
        raise LauncherNotFound(f"mpiexec {found!r} is not an executable file. Install one with:  "
                               f"{INSTALL_HINT}")
    return found


@lru_cache(maxsize=8)
def _flavour(mpiexec: str) -> str:
    """'openmpi' or 'mpich' (MPICH, Intel MPI: the hydra launcher), from ``mpiexec --version``."""
    try:
        text = launch.run([mpiexec, "--version"], timeout=15, check=False)
    except launch.ChildTimeout:
        return "mpich"
    both = text.stdout + text.stderr
    return "openmpi" if ("Open MPI" in both or "OpenRTE" in both or "PRRTE" in both) else "mpich"


def _program_argv(program: str | os.PathLike[str], futures: bool = False) -> tuple[str, list[str]]:
    """(display name, the argv after ``python``) for a program name or a .py file.

    A named program knows its runner; a .py file runs under ``mpi4py.futures`` (rank 0 runs it,
    the other ranks serve an ``MPIPoolExecutor``) when ``futures`` is true, else ``mpi4py``.
    """
    check_flag("futures", futures)
    if isinstance(program, str) and program in PROGRAMS:
        runner = "mpi4py.futures" if program in FUTURES_PROGRAMS else "mpi4py"
        return program, ["-m", runner, "-m", PROGRAMS[program]]
    path = Path(program)
    if path.suffix == ".py" and path.is_file():
        return path.name, ["-m", "mpi4py.futures" if futures else "mpi4py", str(path)]
    raise ValueError(f"program must be one of {', '.join(PROGRAMS)} or an existing .py file, got {program!r}")


def mpiexec_argv(program: str | os.PathLike[str], ranks: int, *args: object,
                 mpiexec: str | os.PathLike[str] | None = None,
                 hostfile: str | os.PathLike[str] | None = None, futures: bool = False) -> list[str]:
    """The argument list that runs ``program`` on ``ranks`` ranks, checked before anything starts (lesson 05)."""
    ranks = check_ranks(ranks, hostfile is not None)
    _, tail = _program_argv(program, futures)
    exe = find_launcher(mpiexec)
    hosts: list[str] = []
    if hostfile is not None:
        if not Path(hostfile).is_file():
            raise ValueError(f"hostfile {os.fspath(hostfile)!r} does not exist")
        hosts = ["--hostfile" if _flavour(exe) == "openmpi" else "-f", os.fspath(hostfile)]
    return [exe, "-n", str(ranks), *hosts, sys.executable, *tail, *(str(a) for a in args)]


def short_command(argv: Sequence[str]) -> str:
    """An argument list as a learner would type it: ``mpiexec -n 4 python -m mpi4py ...`` (lesson 05)."""
    words = list(argv)
    if words:
        words[0] = Path(words[0]).name
    words = ["python" if w == sys.executable else w for w in words]
    return " ".join(shlex.quote(w) for w in words)


def _environment(exe: str) -> dict[str, str]:
    env = dict(os.environ)
    # Ranks import the same parlab as this kernel, installed or not.
    root = str(Path(parlab.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    if _flavour(exe) == "openmpi":  # MPICH needs neither: it runs as root and oversubscribes
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
        env.setdefault("PRTE_MCA_rmaps_default_mapping_policy", ":oversubscribe")
    return env


# The last line of a Python traceback: "ValueError: ...", "mpi4py.MPI.Exception: ...", "SystemExit: 2".
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b.*$", re.MULTILINE)
_ABORT_RANK = re.compile(r"\(rank (\d+) in comm|MPI_ABORT was invoked on rank (\d+)")


def _rank_traceback(stderr: str) -> str:
    """The last Python traceback in stderr, without the frames of runpy and mpi4py's runner.

    Several ranks write to one stderr: when another rank's lines cut it before its exception
    line, the last exception line in stderr ends it.
    """
    start = stderr.rfind("Traceback (most recent call last):")
    if start < 0:
        return ""
    kept, skipping = [], False
    for line in stderr[start:].splitlines():
        if line.startswith("Abort(") or "MPI_ABORT" in line:
            break
        if line.startswith("  File "):
            skipping = "<frozen runpy>" in line or f"{os.sep}mpi4py{os.sep}" in line
        elif not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    trace = "\n".join(kept).rstrip()
    if not _EXCEPTION_LINE.search(trace):  # cut by another rank's lines (its Abort) before the last one
        raised = _EXCEPTION_LINE.findall(stderr)
        trace += f"\n{raised[-1]}" if raised else ""
    return trace


def _failed(name: str, done: launch.Completed) -> RankFailed:
    # The program's own line first (see mpi_common.FAILED_TAG), then the MPI library's.
    found = re.search(re.escape(FAILED_TAG) + r"(\d+)", done.stderr) or _ABORT_RANK.search(done.stderr)
    rank = int(next(g for g in found.groups() if g)) if found else None
    trace = _rank_traceback(done.stderr)
    who = f"rank {rank}" if rank is not None else "a rank"
    detail = trace or done.stderr[-1500:].rstrip() or "(nothing on stderr)"
    return RankFailed(f"MPI job '{name}' failed: {who} stopped it ({launch.describe_returncode(done.returncode)}); "
                      f"the other ranks were aborted.\n{detail}", rank=rank, traceback=trace,
                      returncode=done.returncode, stderr=done.stderr)


def _parse(name: str, ranks: int, exe: str, done: launch.Completed) -> tuple[dict[str, Any], str]:
    results, other = [], []
    decoder = json.JSONDecoder()
    for line in done.stdout.splitlines():
        if RESULT_TAG not in line:
            other.append(line)
            continue
        # Normally one tag per line; copies from a wrong launcher may run theirs together.
        for piece in line.split(RESULT_TAG)[1:]:
            try:
                results.append(decoder.raw_decode(piece)[0])
            except json.JSONDecodeError:
                results.append({"size": None})  # a garbled copy still counts as a copy
        if not line.startswith(RESULT_TAG):
            other.append(line.split(RESULT_TAG)[0])
    sizes = [r.get("size") for r in results]
    if len(results) > 1 or (results and sizes[0] != ranks):
        raise WrongSize(f"asked {exe} for {ranks} ranks, but {len(results)} process(es) reported size(s) "
                        f"{sizes}: this mpiexec belongs to another MPI library than mpi4py's, so it "
                        f"started {ranks} unrelated copies. Use the mpiexec installed next to Python "
                        f"({INSTALL_HINT}), or rebuild mpi4py against this MPI.")
    if not results:
        raise MPIError(f"MPI job '{name}' exited normally but rank 0 printed no result line "
                       f"(parlab.scripts.mpi_common.report); its output was:\n" + "\n".join(other[-20:]))
    return results[0], "\n".join(other)


def run_mpi(program: str | os.PathLike[str], ranks: int, *args: object, timeout: float = MPI_TIMEOUT_S,
            mpiexec: str | os.PathLike[str] | None = None,
            hostfile: str | os.PathLike[str] | None = None, futures: bool = False) -> MPIRun:
    """Run a lesson 05 program (or a .py file) on ``ranks`` ranks within ``timeout`` s; return rank 0's result.

    ``futures=True`` runs a .py file under ``python -m mpi4py.futures`` (see ``_program_argv``).
    """
    timeout = check_timeout(timeout)  # first: mpiexec_argv may run `mpiexec --version`
    argv = mpiexec_argv(program, ranks, *args, mpiexec=mpiexec, hostfile=hostfile, futures=futures)
    name, _ = _program_argv(program)
    try:
        done = launch.run(argv, timeout=timeout, check=False, env=_environment(argv[0]))
    except launch.ChildTimeout as exc:
        raise MPITimeout(f"MPI job '{name}' on {ranks} ranks ran past its {timeout:g} s timeout, so every "
                         "rank was stopped. A rank waiting for a message that is never sent (a deadlock) "
                         "looks exactly like this.", stdout=exc.completed.stdout,
                         stderr=exc.completed.stderr) from exc
    if done.returncode != 0:
        raise _failed(name, done)
    data, output = _parse(name, int(ranks), argv[0], done)
    return MPIRun(name, int(ranks), tuple(argv), data, output, done.stderr, done.wall_s)


def run_source(source: str, ranks: int, *args: object, timeout: float = MPI_TIMEOUT_S,
               futures: bool = False) -> MPIRun:
    """Save ``source`` as a program in a temporary folder and run it like run_mpi (lesson 05 exercises).

    ``futures=True``: ``mpiexec -n N python -m mpi4py.futures program.py`` (an MPIPoolExecutor program).
    """
    timeout = check_timeout(timeout)
    if not isinstance(source, str):
        raise TypeError(f"source must be the text of a Python program (a str), got {type(source).__name__}")
    if not source.strip():
        raise ValueError("source must be the text of a Python program, got only white space")
    check_ranks(ranks)
    with tempfile.TemporaryDirectory(prefix="parlab-mpi-") as folder:
        path = Path(folder) / "program.py"
        path.write_text(source)
        return run_mpi(path, ranks, *args, timeout=timeout, futures=futures)


def write_hostfile(path: str | os.PathLike[str], hosts: Mapping[str, int]) -> Path:
    """Write an MPICH hostfile, one ``host:slots`` line per host (lesson 05)."""
    allowed = f"a dict of host names to slot counts from 1 to {HOSTFILE_RANK_CAP}, e.g. {{'localhost': 4}}"
    if not isinstance(hosts, Mapping):
        raise TypeError(f"hosts must be {allowed}; got {type(hosts).__name__}")
    if not hosts:
        raise ValueError(f"hosts must be {allowed}; got an empty one")
    lines = []
    for host, slots in hosts.items():
        check_text("a host name", host, "'localhost'")
        if any(c.isspace() or c == ":" for c in host):  # each would split or break the host:slots line
            raise ValueError(f"a host name has no spaces and no ':', got {host!r}")
        count = check_whole(f"the slots of {host!r}", slots, 1, HOSTFILE_RANK_CAP)
        lines.append(f"{host}:{count}\n")
    path = Path(path)
    path.write_text("".join(lines))
    return path
