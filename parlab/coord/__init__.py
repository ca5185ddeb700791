"""The coordination server of lesson 04: a task board with leases, embedded or on Redis.

The parent puts tasks on a board; children claim a task, run it and post its result. A claim
is a *lease*: if the child dies before posting, the lease expires and the next claim hands the
task to another child. A task therefore runs at least once, sometimes twice; the first result
posted wins, so the board keeps one result per task even when a slow child and its
replacement both finish. Tasks should be safe to repeat.

If the server goes away in the middle of a job (stopped, crashed, its host unreachable), the
board raises :class:`ServerLost`, which names the server, says what was lost with it and what to
do; ``parlab.jobs.run_job`` then stops every child before it raises.

Two servers, one interface (:class:`Board`):

- ``embedded`` (the default, nothing to install): the standard library's
  ``multiprocessing.managers`` server in a process of its own, on 127.0.0.1, with a random
  key. It speaks pickle, and unpickling data can run any code, so the key is checked (an HMAC
  challenge) *before* the server unpickles a byte, it listens on loopback only, and the key
  travels to the children in their environment, not in their argument list (which any user of
  the machine can read with ``ps``). Never expose a pickle-speaking server to a network or
  peer you do not trust: whoever can send it a pickle can run code in it.
- ``redis``: a real Redis server (address from ``REDIS_URL`` or an argument). Tasks and results
  are stored as JSON, never pickle: any client that can reach Redis can write to it, and a
  pickle read back from there would run that client's code in every child.
"""

from __future__ import annotations

import os
import secrets
import shutil
from typing import Any, Self

from parlab._checks import check_choice
from parlab.coord.board import Board, Claim, CoordError, Outcome, ServerLost, Status
from parlab.coord.embedded import EmbeddedBoard, connect_embedded, connect_embedded_kv, start_manager
from parlab.coord.kv import KV_COMMANDS
from parlab.coord.redisboard import (
    HOW_TO_GET_REDIS,
    RedisBoard,
    check_redis_url,
    connect_redis,
    hide_password,
)

__all__ = [
    "ENV_KEY",
    "ENV_URL",
    "HOW_TO_GET_REDIS",
    "KV_COMMANDS",
    "SERVER_KINDS",
    "Board",
    "Claim",
    "CoordError",
    "Outcome",
    "Server",
    "ServerLost",
    "Status",
    "check_redis_url",
    "kv_from_env",
    "open_board",
    "open_board_from_env",
    "redis_server_binary",
    "serve",
]

SERVER_KINDS = ("embedded", "redis")  # what serve(backend=...) can start or reach
ENV_URL = "PARLAB_COORD_URL"  # where the children find the server
ENV_KEY = "PARLAB_COORD_KEY"  # the embedded server's key, hex (kept out of argument lists)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Server:
    """A running coordination server the parent can hand to its children (lesson 04)."""

    def __init__(self, backend: str, url: str, key: bytes | None, manager: Any, client: Any) -> None:
        self.backend, self.url = backend, url
        self._key, self._manager, self._client = key, manager, client

    def board(self, job: str) -> Board:
        """The board of one job on this server."""
        if self._client is None:
            raise CoordError("this server was closed")
        if self.backend == "embedded":
            return EmbeddedBoard(job, self._client)
        return RedisBoard(job, self._client)

    def kv(self) -> Any:
        """A client with Redis's commands: ``redis.Redis``, or the embedded server's KVStore (lesson 04)."""
        if self._client is None:
            raise CoordError("this server was closed")
        if self.backend == "embedded":
            return self._manager.kv()
        return self._client

    def child_env(self) -> dict[str, str]:
        """The environment to start children with: the address and key, out of their argument lists."""
        env = dict(os.environ, **{ENV_URL: self.url})
        env.pop(ENV_KEY, None)
        if self._key is not None:
            env[ENV_KEY] = self._key.hex()
        return env

    @property
    def server_pid(self) -> int | None:
        """The embedded server's process id (None for Redis, which the parent does not own)."""
        return self._manager._process.pid if self._manager is not None else None

    def close(self) -> None:
        """Disconnect; stop the embedded server process (a Redis server is left running)."""
        client, self._client = self._client, None
        if client is None:
            return
        if self._manager is not None:
            del client
            self._manager.shutdown()
        else:
            client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<parlab.coord.Server {self.backend} at {hide_password(self.url)}>"


def serve(backend: str = "embedded", *, url: str | None = None, host: str = "127.0.0.1") -> Server:
    """Start the embedded server, or connect to Redis at ``url`` / $REDIS_URL (lesson 04)."""
    check_choice("backend", backend, SERVER_KINDS, sep=",")
    if backend == "redis":
        address = url or os.environ.get("REDIS_URL")
        if not address:
            raise CoordError(f"no Redis address: pass url=... or set REDIS_URL; {HOW_TO_GET_REDIS}")
        return Server("redis", check_redis_url(address), None, None, connect_redis(address))
    if url is not None:
        raise ValueError("the embedded server takes no url: it starts on 127.0.0.1 itself")
    if host not in _LOOPBACK:
        raise ValueError(f"the embedded server speaks pickle and listens on loopback only "
                         f"({', '.join(_LOOPBACK)}), got host={host!r}")
    key = secrets.token_bytes(32)
    manager, address, store = start_manager(host, key)
    return Server("embedded", address, key, manager, store)


def open_board(url: str, job: str, key: bytes | None = None) -> Board:
    """Connect to the server at ``url`` (parlab://... with ``key``, or redis://...); open a job's board (lesson 04)."""
    if url.startswith("parlab://"):
        if not key:
            raise CoordError(f"the embedded server at {url} needs its key (the parent puts it in {ENV_KEY})")
        return EmbeddedBoard(job, connect_embedded(url, key))
    return RedisBoard(job, connect_redis(url))


def open_board_from_env(job: str) -> Board:
    """What a child calls: the board of ``job`` on the server its parent named in the environment (lesson 04)."""
    url = os.environ.get(ENV_URL)
    if not url:
        raise CoordError(f"{ENV_URL} is not set: start this program from a parent that serves a board")
    key_hex = os.environ.get(ENV_KEY, "")
    try:
        key = bytes.fromhex(key_hex) if key_hex else None
    except ValueError:
        raise CoordError(f"{ENV_KEY} must be hexadecimal") from None
    return open_board(url, job, key)


def kv_from_env() -> Any:
    """What a hand-written child calls: a Redis client, or the embedded server's client with the same calls (lesson 04).

    The parent names the server in the environment (``PARLAB_COORD_URL``, and
    ``PARLAB_COORD_KEY`` for the embedded server): ``redis://...`` gives ``redis.Redis``
    (``decode_responses=True``), ``parlab://...`` a client of the embedded server's
    :class:`~parlab.coord.kv.KVStore` (lpop, blpop, hset, hsetnx, incr, sadd ...: ``KV_COMMANDS``).
    """
    url = os.environ.get(ENV_URL)
    if not url:
        raise CoordError(f"{ENV_URL} is not set: start this program from a parent that serves a board")
    if not url.startswith("parlab://"):
        return connect_redis(url)
    try:
        key = bytes.fromhex(os.environ.get(ENV_KEY, ""))
    except ValueError:
        raise CoordError(f"{ENV_KEY} must be hexadecimal") from None
    if not key:
        raise CoordError(f"the embedded server at {url} needs its key (the parent puts it in {ENV_KEY})")
    return connect_embedded_kv(url, key)


def redis_server_binary() -> str | None:
    """Path of a ``redis-server`` program on PATH (or Debian's), or None (lesson 04)."""
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None)
