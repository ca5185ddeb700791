"""Several "hosts" on one Linux machine: network namespaces joined by veth links to a bridge.

``hosts(n)`` creates ``n`` namespaces, each with one address on a private /24 subnet, and a
bridge in the root namespace that joins them (the bridge has an address too, so this process
can reach every host). A :class:`Host` starts programs inside its namespace with
``ip netns exec NS argv...``: argument lists only, never a shell, each program in its own
process group (``parlab.launch``) and waited for with a timeout.

Everything is named ``plh<pid><run>...`` (the pid of the process that created it). At start,
whatever a crashed run left behind (its owner pid no longer alive) is removed. On the way out,
normal or not (an exception, Ctrl-C, SIGTERM turned into KeyboardInterrupt by tests/conftest.py),
every process started inside the namespaces is stopped and waited for, then the links,
namespaces and the bridge are deleted.

Only addresses inside this private subnet, which this module assigns, are ever used.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from parlab import launch

__all__ = ["PREFIX", "Host", "Hosts", "cannot_create", "hosts", "remove_leftovers"]

PREFIX = "plh"  # parlab hosts: every namespace, link and bridge of this harness starts with it
_OWNED = re.compile(rf"^({PREFIX}(\d+)r\d+)[nvb]\d*$")  # (run, owner pid)
_IP_TIMEOUT_S = 10.0
_runs = itertools.count()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS`` (an argument list, a timeout) and return what it printed."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=_IP_TIMEOUT_S, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def cannot_create() -> str | None:
    """Why network namespaces cannot be made here (not root, no ``ip``), or None when they can."""
    if not hasattr(os, "geteuid") or os.name != "posix" or not os.path.isdir("/proc"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (run the hosts tests as root, e.g. in a container)"
    if shutil.which("ip") is None:
        return "the `ip` program (iproute2) is missing: apt-get install iproute2"
    probe = f"{PREFIX}{os.getpid()}r999n0"
    try:
        made = _ip("netns", "add", probe, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip netns add` did not run: {exc}"
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _netns_pids(netns: str) -> list[int]:
    done = _ip("netns", "pids", netns, check=False)
    return [int(p) for p in done.stdout.split() if p.isdigit()]


def _kill_inside(netns: str) -> None:
    """SIGKILL whatever still runs inside one of our namespaces (each by its pid), then wait for it to go."""
    deadline = time.monotonic() + 5
    while (pids := _netns_pids(netns)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _links() -> list[str]:
    done = _ip("-o", "link", "show", check=False)
    return [m.group(1) for m in re.finditer(r"^\d+:\s+([^:@\s]+)", done.stdout, re.MULTILINE)]


def remove_leftovers(*, own: str | None = None) -> list[str]:
    """Remove namespaces and links of this harness whose creating process is gone (or of run ``own``)."""
    removed = []
    names = [line.split()[0] for line in _ip("netns", "list", check=False).stdout.splitlines() if line.strip()]
    for name in names + _links():
        m = _OWNED.match(name)
        if not m:
            continue
        if m.group(1) != own and _pid_alive(int(m.group(2))):
            continue  # another live run's (or ours, still in use)
        if name in names:
            _kill_inside(name)
            _ip("netns", "del", name, check=False)
        else:
            _ip("link", "del", name, check=False)
        removed.append(name)
    return removed


def _free_subnet() -> str:
    """A /24 under 10.213.0.0/16 that no route of the root namespace touches yet: '10.213.X'."""
    used = _ip("-4", "route", "show", "table", "all", check=False).stdout + _ip("-4", "addr", check=False).stdout
    start = os.getpid() % 250
    for i in range(250):
        third = 1 + (start + i) % 250
        if f"10.213.{third}." not in used:
            return f"10.213.{third}"
    raise RuntimeError("no free 10.213.X.0/24 subnet for the test hosts")


@dataclass
class Host:
    """One namespace treated as a host: its name, namespace, address; it starts programs inside."""

    name: str
    netns: str
    address: str
    iface: str = "eth0"
    _children: list[launch.Child] = field(default_factory=list, repr=False)

    def argv(self, argv: Sequence[str]) -> list[str]:
        """``ip netns exec NS argv...``: the argument list that runs ``argv`` on this host."""
        if isinstance(argv, str):
            raise TypeError("argv must be a list of arguments, never one shell string")
        return ["ip", "netns", "exec", self.netns, *argv]

    def start(self, argv: Sequence[str], *, env: dict[str, str] | None = None,
              cwd: str | os.PathLike[str] | None = None) -> launch.Child:
        """Start ``argv`` on this host in its own process group; stopped at teardown if still running."""
        child = launch.start(self.argv(argv), env=env, cwd=cwd)
        self._children.append(child)
        return child

    def run(self, argv: Sequence[str], *, timeout: float, env: dict[str, str] | None = None,
            check: bool = True) -> launch.Completed:
        """Run ``argv`` on this host and wait for it within ``timeout`` seconds."""
        return self.start(argv, env=env).wait(timeout, check=check)

    def pids(self) -> list[int]:
        """Every process running inside this host's namespace now."""
        return _netns_pids(self.netns)

    def stop_all(self) -> None:
        """Stop every program started here (process group: SIGTERM, then SIGKILL), and anything left inside."""
        for child in self._children:
            if child.popen.returncode is None:
                child.stop()
            with contextlib.suppress(Exception):
                child.popen.communicate(timeout=5)
        self._children.clear()
        _kill_inside(self.netns)


class Hosts(list[Host]):
    """The hosts of one run, plus the bridge that joins them (address ``bridge_address`` in the root namespace)."""

    def __init__(self, hosts: Sequence[Host], bridge: str, bridge_address: str) -> None:
        super().__init__(hosts)
        self.bridge, self.bridge_address = bridge, bridge_address

    def by_address(self) -> dict[str, Host]:
        return {h.address: h for h in self}


def _teardown(run: str, made: list[Host]) -> None:
    for host in made:
        with contextlib.suppress(Exception):
            host.stop_all()
    remove_leftovers(own=run)
    deadline = time.monotonic() + 5  # a deleted namespace takes its veth end away asynchronously
    while time.monotonic() < deadline and any(
            (m := _OWNED.match(name)) and m.group(1) == run for name in _links()):
        time.sleep(0.05)


@contextlib.contextmanager
def hosts(n: int) -> Iterator[Hosts]:
    """``n`` hosts (namespaces) on one bridge; everything removed on the way out, whatever happens."""
    if not 1 <= n <= 8:
        raise ValueError(f"n must be from 1 to 8 hosts, got {n}")
    remove_leftovers()
    run = f"{PREFIX}{os.getpid()}r{next(_runs)}"
    bridge = f"{run}b"
    made: list[Host] = []
    cleanup = functools.partial(_teardown, run, made)  # this run's own: unregistered by identity
    atexit.register(cleanup)  # in case an interrupted teardown never reaches the finally below
    try:
        _ip("link", "add", bridge, "type", "bridge")
        subnet = _free_subnet()
        bridge_address = f"{subnet}.1"
        _ip("addr", "add", f"{bridge_address}/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for i in range(n):
            netns, outer = f"{run}n{i}", f"{run}v{i}"
            _ip("netns", "add", netns)
            host = Host(f"host{i}", netns, f"{subnet}.{10 + i}")
            made.append(host)
            _ip("link", "add", outer, "type", "veth", "peer", "name", host.iface, "netns", netns)
            _ip("link", "set", outer, "master", bridge, "up")
            _ip("-n", netns, "addr", "add", f"{host.address}/24", "dev", host.iface)
            _ip("-n", netns, "link", "set", host.iface, "up")
            _ip("-n", netns, "link", "set", "lo", "up")
        yield Hosts(made, bridge, bridge_address)
    finally:
        cleanup()
        atexit.unregister(cleanup)
