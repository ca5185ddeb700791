"""The harness itself: hosts reach each other over the bridge, and nothing outlives them."""

from __future__ import annotations

import sys
import time

from netns import _OWNED, PREFIX, _links, _netns_pids, _pid_alive, remove_leftovers

SERVE = ("import socket, sys\n"
         "s = socket.create_server((sys.argv[1], 0)); print(s.getsockname()[1], flush=True)\n"
         "c, _ = s.accept(); c.sendall(c.recv(64).upper()); c.close()\n")
ASK = ("import socket, sys\n"
       "with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10) as c:\n"
       "    c.sendall(b'hello'); print(c.recv(64).decode())\n")


def _ours() -> tuple[list[str], list[str]]:
    import subprocess

    spaces = subprocess.run(["ip", "netns", "list"], check=False, capture_output=True, text=True, timeout=10).stdout
    return ([n.split()[0] for n in spaces.splitlines() if n.startswith(PREFIX)],
            [n for n in _links() if _OWNED.match(n)])


def test_hosts_talk_over_tcp_and_everything_goes_away(make_hosts):
    before = _ours()
    group = make_hosts(2)
    a, b = group
    assert a.address != b.address and a.netns != b.netns
    server = a.start([sys.executable, "-c", SERVE, a.address])
    port = int(server.popen.stdout.readline())  # type: ignore[union-attr]
    answer = b.run([sys.executable, "-c", ASK, a.address, str(port)], timeout=20)
    assert answer.stdout.strip() == "HELLO"
    server.wait(20)
    # The root namespace reaches a host through the bridge's address as well.
    server = b.start([sys.executable, "-c", SERVE, b.address])
    port = int(server.popen.stdout.readline())  # type: ignore[union-attr]
    import subprocess

    mine = subprocess.run([sys.executable, "-c", ASK, b.address, str(port)], capture_output=True,
                          text=True, timeout=20, check=True)
    assert mine.stdout.strip() == "HELLO"
    a.start([sys.executable, "-c", "import time; time.sleep(60)"])  # left running on purpose
    # `ip netns exec` enters the namespace after it starts: on a busy machine that takes a moment.
    deadline = time.monotonic() + 20
    while not a.pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert a.pids()
    from netns import hosts

    with hosts(1) as (c,):  # the context manager alone, and its teardown
        c.start([sys.executable, "-c", "import time; time.sleep(60)"])
        netns = c.netns
    assert _netns_pids(netns) == [] and netns not in _ours()[0]
    assert len(_ours()[0]) == len(before[0]) + 2
    assert remove_leftovers() == []  # our live run's namespaces are not leftovers


def test_a_crashed_runs_leftovers_are_removed(require, _netns_problem):
    import subprocess

    require(_netns_problem is None, "Linux network namespaces", _netns_problem or "")
    dead = 4_194_303  # the highest pid Linux allows: no process here has it
    assert not _pid_alive(dead)
    name = f"{PREFIX}{dead}r0n0"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        assert name in remove_leftovers()
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True, timeout=10)
    assert name not in _ours()[0]
