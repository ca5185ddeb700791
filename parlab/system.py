"""What this machine offers: usable cores, the Python build, the GIL, start methods, tools.

Nothing here runs work. Lesson 00 prints these facts; the harness stores them with every
measurement so a number never travels without the machine that produced it.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Self

__all__ = [
    "Check",
    "CpuMeter",
    "available_start_methods",
    "cgroup_cpu_limit",
    "default_start_method",
    "find_compiler",
    "find_mpiexec",
    "free_threaded_build",
    "gil_enabled",
    "gil_turned_on_by",
    "machine_checks",
    "python_build",
    "usable_cores",
]


def cgroup_cpu_limit(root: str | os.PathLike[str] = "/sys/fs/cgroup") -> float | None:
    """The CPU quota a Linux cgroup (v2 or v1) allows, in cores, or None when unlimited (lesson 00)."""
    root = Path(root)
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]  # cgroup v2: "max 100000"
        if quota != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())  # cgroup v1
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        if quota_us > 0 and period_us > 0:
            return quota_us / period_us
    except (OSError, ValueError):
        pass
    return None


@lru_cache(maxsize=1)
def usable_cores() -> int:
    """Cores this process may really use: CPU affinity and cgroup quota, not os.cpu_count() (lessons 00-06).

    Read once per process: every worker-count check asks, and the cgroup files are read from
    disk. ``usable_cores.cache_clear()`` makes the next call read them again (tests do).
    """
    if hasattr(os, "process_cpu_count"):  # Python 3.13+: affinity-aware
        cores = os.process_cpu_count() or 1
    elif hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    if limit is not None:
        # A quota of 1.5 cores lets two workers share 1.5 cores: round up, never below 1.
        cores = min(cores, max(1, math.ceil(limit)))
    return max(1, cores)


def free_threaded_build() -> bool:
    """True on a free-threaded CPython build such as 3.13t (lesson 01)."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled() -> bool:
    """Whether the GIL is on right now; a free-threaded build can still turn it back on (lesson 01)."""
    probe = getattr(sys, "_is_gil_enabled", None)
    if probe is not None:
        return bool(probe())
    return True  # every build before 3.13 has a GIL (PyPy too)


# What a lesson's kernel imports: a free-threaded build keeps its GIL off only while every one of
# these declares that it can run without it (numba and dask where they install).
LESSON_IMPORTS = ("ipykernel", "zmq", "matplotlib.pyplot", "numpy", "ipywidgets", "threadpoolctl", "mpi4py",
                  "redis", "joblib", "numba", "dask", "distributed", "parlab.kernels", "parlab.widgets")

_GIL_PROBE = """\
import importlib, importlib.util, sys, sysconfig
if not sysconfig.get_config_var("Py_GIL_DISABLED"):
    raise SystemExit(0)  # a build with a GIL: nothing to turn on
for name in sys.argv[1:]:
    if importlib.util.find_spec(name.partition(".")[0]) is None:
        continue
    importlib.import_module(name)
    if sys._is_gil_enabled():
        print(name)
        break
"""


def gil_turned_on_by(modules: tuple[str, ...] = LESSON_IMPORTS, *, python: str | None = None,
                     timeout: float = 120.0) -> str | None:
    """On a free-threaded build: the first of ``modules`` whose import turns the GIL on again (lessons 00, 01a).

    Python does so for an extension that has not declared that it can run without the GIL
    (and warns). The imports run in a fresh interpreter (``python``, this one by default),
    in order, with ``PYTHON_GIL`` unset so the build's default holds; a module that is not
    installed is passed over. None when the GIL stays off, and on a build with a GIL.
    """
    exe = python or sys.executable
    if python is None and not free_threaded_build():
        return None
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    done = subprocess.run([exe, "-c", _GIL_PROBE, *modules], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the GIL probe failed in {exe}: {done.stderr.strip()[-500:]}")
    return done.stdout.strip() or None


def python_build() -> dict[str, str | bool]:
    """Version, implementation and build flags of the running Python (lessons 00, 01)."""
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "free_threaded": free_threaded_build(),
        "gil_enabled": gil_enabled(),
        "executable": sys.executable,
        "platform": f"{platform.system()} {platform.machine()}",
    }


def available_start_methods() -> list[str]:
    """Process start methods this platform supports, the default first (lesson 02).

    The standard library's three only: importing joblib registers loky's own methods with
    multiprocessing on some versions (seen on Python 3.14), which no lesson teaches.
    """
    return [m for m in multiprocessing.get_all_start_methods() if m in ("fork", "spawn", "forkserver")]


def default_start_method() -> str:
    """The start method a new process pool gets here unless told otherwise (lesson 02)."""
    chosen = multiprocessing.get_start_method(allow_none=True)
    return chosen or available_start_methods()[0]


def find_compiler() -> str | None:
    """Path of a C compiler that pip can build parlab's kernels with, or None (lessons 00, 03)."""
    configured: list[str] = str(sysconfig.get_config_var("CC") or "").split()
    candidates = [*configured[:1], "cc", "gcc", "clang", "cl"]
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    return None


def find_mpiexec() -> str | None:
    """The mpiexec next to the running Python first (a pip-installed MPI), then on PATH (lessons 00, 05)."""
    bindir = Path(sys.executable).parent
    for name in ("mpiexec", "mpiexec.exe", "mpiexec.hydra"):
        candidate = bindir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("mpiexec")


@dataclass(frozen=True)
class Check:
    """One line of the machine check in lesson 00: a fact, whether it is fine, and a fix."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        mark = "✓" if self.ok else "✗"
        hint = f"  → {self.fix}" if (self.fix and not self.ok) else ""
        return f"{mark} {self.name}: {self.detail}{hint}"


def _module_available(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _gil_detail(free_threaded: bool, enabled: bool) -> str:
    if not free_threaded:
        return "enabled"
    if not enabled:
        return "disabled (free-threaded)"
    if os.environ.get("PYTHON_GIL") == "1":
        return "enabled by PYTHON_GIL=1 on a free-threaded build"
    culprit = gil_turned_on_by()
    why = f"importing {culprit} turned it back on" if culprit else "turned back on by an extension module"
    return f"enabled on a free-threaded build: {why}; set PYTHON_GIL=0 to keep it off"


def machine_checks() -> list[Check]:
    """Every fact lesson 00 checks, each ✓ or ✗ with a hint that fixes it (lesson 00)."""
    cores = usable_cores()
    build = python_build()
    mpiexec = find_mpiexec()
    compiler = find_compiler()
    return [
        Check("usable cores", cores >= 2, f"{cores} (the machine reports {os.cpu_count()})",
              "speedups need at least 2 cores; on a laptop close other heavy programs, on a "
              "cluster ask the batch system for more CPUs"),
        Check("Python", sys.version_info >= (3, 11),
              f"{build['implementation']} {build['version']}"
              + (" free-threaded" if build["free_threaded"] else ""),
              "install Python 3.11 or newer"),
        Check("GIL", True, _gil_detail(bool(build["free_threaded"]), bool(build["gil_enabled"]))),
        Check("start method", True,
              f"{default_start_method()} (available: {', '.join(available_start_methods())})"),
        Check("C compiler", compiler is not None, compiler or "none found",
              "Linux: apt install build-essential; macOS: xcode-select --install; "
              "Windows: Visual Studio Build Tools (C++ workload); then pip install -e ."),
        Check("MPI launcher", mpiexec is not None, mpiexec or "no mpiexec found",
              "pip install mpi4py mpich (Windows: pip install mpi4py impi-rt)"),
        Check("mpi4py", _module_available("mpi4py"), "importable" if _module_available("mpi4py")
              else "not installed", "pip install mpi4py"),
        Check("widgets", _module_available("ipywidgets"),
              "ipywidgets importable" if _module_available("ipywidgets") else "not installed",
              "pip install ipywidgets, then reload JupyterLab"),
    ]


# --------------------------------------------------------------------------- other programs' CPU time

_TICK_S = 1.0 / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)


def _machine_busy_s(stat: str = "/proc/stat") -> float | None:
    """CPU seconds every core of the machine has spent busy since boot (user, nice, system, irq, steal)."""
    try:
        fields = Path(stat).read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system_, _idle, _iowait, irq, softirq, *rest = (int(v) for v in fields[1:])
    steal = rest[0] if rest else 0
    return (user + nice + system_ + irq + softirq + steal) * _TICK_S


def _tree_cpu_s(root: int) -> float:
    """CPU seconds used by process ``root`` and every live descendant, with their reaped children's."""
    total, seen = 0.0, {root}
    by_parent: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        after = text[text.rindex(")") + 2:].split()  # the name may hold spaces and parentheses
        stats[int(entry.name)] = after
        by_parent.setdefault(int(after[1]), []).append(int(entry.name))
    todo = [root]
    while todo:
        pid = todo.pop()
        fields = stats.get(pid)
        if fields is not None:  # utime, stime, cutime, cstime: fields 14-17 of stat
            total += sum(int(v) for v in fields[11:15]) * _TICK_S
        for child in by_parent.get(pid, ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return total


class CpuMeter:
    """How many cores other programs kept busy while a measurement ran (Linux; elsewhere None) (lessons 00-07).

    ``with CpuMeter() as meter: ...`` reads the machine's busy CPU time (/proc/stat) and this
    process tree's own (this process, its workers and children, alive or reaped) before and
    after; what the machine spent beyond this tree is other programs' work. ``others_cores``
    is that time over the wall time: 0.9 means other programs kept about 0.9 of a core busy
    on average. It is a measurement of them, so a lesson can say the machine was busy only
    when it was, instead of guessing from a missing speedup. ``own_cores`` is this tree's own
    time over the wall time (the bench's idle dask cluster).
    """

    def __init__(self) -> None:
        self.others_cores: float | None = None
        self.own_cores: float | None = None
        self._start: tuple[float, float, float] | None = None

    def _read(self) -> tuple[float, float, float] | None:
        busy = _machine_busy_s()
        if busy is None:
            return None
        return busy, _tree_cpu_s(os.getpid()), time.perf_counter()

    def __enter__(self) -> Self:
        self._start = self._read()
        return self

    def __exit__(self, *exc_info: object) -> None:
        end = self._read()
        if self._start is None or end is None:
            return
        wall = end[2] - self._start[2]
        if wall <= 0:
            return
        own = end[1] - self._start[1]
        self.own_cores = own / wall
        self.others_cores = max(0.0, (end[0] - self._start[0] - own) / wall)


# --------------------------------------------------------------------------- memory

def _meminfo_available(path: str = "/proc/meminfo") -> int | None:
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_memory_room(root: str | os.PathLike[str] = "/sys/fs/cgroup") -> int | None:
    # A container's memory limit is lower than the machine's free RAM. Every cgroup on the
    # way from this process's group up to the root may set one; the tightest wins. Reclaimable
    # page cache (inactive_file) counts as free, as container runtimes count it.
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    rooms = []
    for line in lines:
        _, controllers, group = [*line.split(":", 2), "", ""][:3]
        if controllers == "":  # cgroup v2
            base, files, stat_key = Path(root), ("memory.max", "memory.current"), "inactive_file"
        elif "memory" in controllers.split(","):  # cgroup v1
            base = Path(root) / "memory"
            files, stat_key = ("memory.limit_in_bytes", "memory.usage_in_bytes"), "total_inactive_file"
        else:
            continue
        group_path = Path(group.strip() or "/")
        for level in (group_path, *group_path.parents):
            folder = base / str(level).lstrip("/")
            try:
                limit_text = (folder / files[0]).read_text().strip()
                usage = int((folder / files[1]).read_text())
            except (OSError, ValueError):
                continue
            if limit_text == "max" or int(limit_text) >= 2**60:  # v1 writes "unlimited" as ~2**63
                continue
            rooms.append(max(0, int(limit_text) - usage + _stat_value(folder / "memory.stat", stat_key)))
    return min(rooms) if rooms else None


def _stat_value(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _windows_available() -> int | None:
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                    ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                    ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                    ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                    ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        return int(status.ullAvailPhys)
    return None


def available_memory_bytes() -> int | None:
    """Bytes this process can still use: free RAM capped by a container limit, or None (lessons 01, 03)."""
    if sys.platform == "win32":
        return _windows_available()
    found = _meminfo_available()
    if found is None:  # macOS and the BSDs: free pages only (cache not counted), a safe underestimate
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            found = None
    room = _cgroup_memory_room()
    candidates = [v for v in (found, room) if v is not None]
    return min(candidates) if candidates else None


__all__ += ["available_memory_bytes"]
