"""The coordination server going away mid-job, on loopback: a clear ServerLost, and no child left running.

Before, the parent got redis-py's raw ``ConnectionError`` or a raw ``BrokenPipeError``/``EOFError``
from the embedded server's proxy. Now the board raises ``coord.ServerLost`` naming the server,
what was lost and what to do, and ``run_job`` stops every child first. (tests/hosts/ does the
same with the Redis server on another host.)
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time

import pytest
from procs import HAVE_PROC, alive, cmdline, descendants, wait_gone

from parlab import coord, jobs
from parlab.coord import CoordError, ServerLost
from parlab.coord.localredis import LocalRedis

HOW = "install it (Debian: apt-get install redis-server; macOS: brew install redis)"
SLOW = [{"func": "io_wait", "args": [0.5]}] * 12  # 6 s of work for 2 children: the server dies first


class Backend:
    """A server to lose: the embedded one (its process killed) or a local redis-server (killed)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.local = LocalRedis() if kind == "redis" else None
        self.server = coord.serve("redis", url=self.local.url) if self.local else coord.serve()

    @property
    def pid(self) -> int:
        pid = self.local.pid if self.local else self.server.server_pid
        assert pid is not None
        return pid

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        self.server.close()
        if self.local:
            self.local.stop()


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request, require):
    if request.param == "redis":
        require(coord.redis_server_binary() is not None, "redis-server", HOW)
    made = Backend(request.param)
    yield made
    made.close()


def _workers() -> list[int]:
    return [p for p in descendants(os.getpid()) if "parlab.scripts.worker" in cmdline(p)]


@pytest.mark.faults
def test_the_board_says_which_server_went_away_and_what_to_do(backend):
    board = backend.server.board("lost")
    board.submit([1, 2, 3])
    board.claim("w", 30)
    assert board.status() == coord.Status(total=3, pending=2, leased=1, done=0)
    backend.kill()
    assert not wait_gone([backend.pid], within=5.0)
    with pytest.raises(ServerLost) as info:
        for _ in range(3):  # the first call after the kill may still be answered by a dying socket
            board.status()
            time.sleep(0.2)
    lost = info.value
    message = str(lost)
    name = "embedded" if backend.kind == "embedded" else "Redis"
    assert isinstance(lost, CoordError) and isinstance(lost, RuntimeError)
    assert lost.kind == name and f"the {name} coordination server at " in message
    assert lost.address in message and "127.0.0.1:" in lost.address
    assert "job 'lost'" in message
    assert "not yet collected" in message and "tasks not yet done" in message
    assert "last seen: 0 of 3 tasks done, 1 leased" in message
    assert "run the job again" in message and "at least once" in message and "idempotent" in message
    if backend.local:
        assert backend.local.url.split("@")[0].split(":")[-1] not in message  # never the password
        assert "restart redis-server" in message
    assert pickle.loads(pickle.dumps(lost)).args == lost.args
    for call in (lambda: board.claim("w", 5), lambda: board.complete("0", "w", 1), board.outcomes,
                 board.leases, lambda: board.submit([4]), board.delete):
        with pytest.raises(ServerLost):
            call()


@pytest.mark.faults
@pytest.mark.skipif(not HAVE_PROC, reason="needs Linux /proc")
def test_run_job_stops_every_child_and_raises_server_lost(backend):
    killer = threading.Timer(1.5, backend.kill)  # the children are busy with their first tasks by then
    killer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ServerLost) as info:
            jobs.run_job(backend.server, SLOW, 2, lease_s=5, timeout=60)
    finally:
        killer.cancel()
        killer.join()
    took = time.perf_counter() - t0
    message = str(info.value)
    assert "Every child of the job (2) was stopped" in message
    assert "run the job again" in message and info.value.address in message
    assert took < 1.5 + 8, f"the parent took {took:.1f} s to notice the server had gone"
    assert not wait_gone(_workers(), within=5.0), "a child outlived its lost server"
    assert not _workers()
    assert not alive(backend.pid)
