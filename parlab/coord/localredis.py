"""A throw-away Redis server for lesson 04, its tests and its benchmark.

``redis-server`` is started as a child in its own process group, on 127.0.0.1 and a free
port, with a random password and no data files kept. Its configuration (which holds the
password) is a file readable by this user only, in a temporary folder that ``stop()`` removes.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
import time
import weakref
from pathlib import Path
from typing import Self

from parlab import launch
from parlab.coord import Server, redis_server_binary, serve
from parlab.coord.board import CoordError
from parlab.coord.redisboard import HOW_TO_GET_REDIS, hide_password

__all__ = ["LocalRedis", "find_redis", "free_port"]

_READY_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalRedis:
    """``redis-server`` on loopback with a password, for as long as the parent needs it (lesson 04).

    Use as a context manager, or call ``stop()``: the server and its temporary folder go away.
    """

    def __init__(self, binary: str | None = None) -> None:
        found = binary or redis_server_binary()
        if found is None:
            raise CoordError(f"no redis-server program found; {HOW_TO_GET_REDIS}")
        self.binary: str = found
        self._dir = Path(tempfile.mkdtemp(prefix="parlab-redis-"))
        self.child: launch.Child | None = None
        self._running: list[launch.Child] = []  # what the clean-up stops
        # Also stopped when the interpreter exits (a kernel restart), if nobody called stop().
        self._finalizer = weakref.finalize(self, LocalRedis._cleanup, self._dir, self._running)
        try:
            for _ in range(3):  # another program may take the free port before we bind it
                self.port = free_port()
                if self._start():
                    return
            raise CoordError(f"redis-server would not start: {self._log_tail()}")
        except BaseException:
            self.stop()
            raise

    def _start(self) -> bool:
        password = secrets.token_hex(16)
        conf = self._dir / "redis.conf"
        lines = [f"port {self.port}", "bind 127.0.0.1", "protected-mode yes", f"requirepass {password}",
                 'save ""', "appendonly no", f"dir {self._dir}", f"logfile {self._dir / 'redis.log'}",
                 "daemonize no"]
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the password stays private
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        self.url = f"redis://:{password}@127.0.0.1:{self.port}/0"
        self.child = launch.start([self.binary, str(conf)])
        self._running[:] = [self.child]
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.child.popen.poll() is not None:  # it exited: most likely the port was taken
                self.child.popen.communicate()
                self.child = None
                self._running.clear()
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(f"AUTH {password}\r\nPING\r\n".encode())
                    if b"PONG" in sock.recv(64) or b"PONG" in sock.recv(64):
                        return True
            except OSError:
                time.sleep(0.02)
        raise CoordError(f"redis-server did not answer within {_READY_TIMEOUT_S:g} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return (self._dir / "redis.log").read_text(errors="replace")[-600:].strip() or "(empty log)"
        except OSError:
            return "(no log)"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self.child.pid if self.child is not None else None

    @staticmethod
    def _cleanup(folder: Path, running: list[launch.Child]) -> None:
        for child in running:
            child.stop()
            child.popen.communicate()
        running.clear()
        shutil.rmtree(folder, ignore_errors=True)

    def stop(self) -> None:
        """Stop the server (its whole process group) and remove its temporary folder."""
        self.child = None
        self._finalizer()  # runs the clean-up once; later calls do nothing

    close = stop  # the same verb as a Server's, so a lesson can close both alike

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port {self.port}" if self.child is not None else "stopped"
        return f"<parlab.coord.localredis.LocalRedis on 127.0.0.1, {state}>"


def find_redis() -> tuple[Server | None, LocalRedis | None, str]:
    """Redis for lesson 04: $REDIS_URL if set, else a local redis-server if installed, else None and why.

    Returns (server connection, local server to stop afterwards or None, what happened).
    """
    if os.environ.get("REDIS_URL"):
        try:
            server = serve("redis")
        except CoordError as exc:
            return None, None, f"REDIS_URL is set, but {exc}"
        return server, None, f"using the Redis server at REDIS_URL ({hide_password(server.url)})"
    if redis_server_binary() is None:
        return None, None, ("no Redis server here: REDIS_URL is not set and no redis-server program was "
                            f"found. To try this part, {HOW_TO_GET_REDIS}.")
    local = LocalRedis()
    try:
        server = serve("redis", url=local.url)
    except BaseException:
        local.stop()
        raise
    return server, local, "started a local redis-server on 127.0.0.1 (free port, random password)"
