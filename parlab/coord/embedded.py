"""The embedded coordination server of lesson 04: ``multiprocessing.managers`` on loopback, with a key.

The server runs in a process of its own and holds one :class:`BoardStore`; every child talks to
it through a proxy over TCP. The protocol is pickle, which is why the key matters: the server
checks it with an HMAC challenge before it reads a single pickled byte, and it listens on
127.0.0.1 only.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing import AuthenticationError, connection, managers
from multiprocessing.managers import BaseManager
from urllib.parse import urlsplit

from parlab.coord.board import Board, CoordError, Status
from parlab.coord.kv import KVStore

__all__ = ["BoardStore", "EmbeddedBoard", "connect_embedded", "connect_embedded_kv", "start_manager"]


class _Job:
    """One job's state inside the embedded server process (all strings: JSON text and ids)."""

    def __init__(self) -> None:
        self.tasks: dict[str, str] = {}
        self.pending: list[str] = []
        self.leases: dict[str, tuple[str, float]] = {}  # id -> (worker, deadline)
        self.results: dict[str, str] = {}
        self.attempts: dict[str, int] = {}


class BoardStore:
    """The object the embedded server holds; children call its methods through a proxy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the server answers each client in its own thread
        self._jobs: dict[str, _Job] = {}

    def _job(self, job: str) -> _Job:
        return self._jobs.setdefault(job, _Job())

    def submit(self, job: str, payloads: list[str]) -> list[str]:
        with self._lock:
            j = self._job(job)
            ids = [str(len(j.tasks) + i) for i in range(len(payloads))]
            j.tasks.update(zip(ids, payloads, strict=True))
            j.pending.extend(ids)
            return ids

    def claim(self, job: str, worker: str, lease_s: float) -> tuple[str, str] | None:
        with self._lock:
            j, now = self._job(job), time.monotonic()
            expired = [t for t, (_, deadline) in j.leases.items() if deadline <= now]
            for task_id in expired:  # a child died or stalled: its task goes to the front
                del j.leases[task_id]
                if task_id not in j.results:
                    j.pending.insert(0, task_id)
            while j.pending:
                task_id = j.pending.pop(0)
                if task_id not in j.results:
                    j.leases[task_id] = (worker, now + lease_s)
                    j.attempts[task_id] = j.attempts.get(task_id, 0) + 1
                    return task_id, j.tasks[task_id]
            return None

    def complete(self, job: str, task_id: str, record: str) -> bool:
        with self._lock:
            j = self._job(job)
            if task_id not in j.tasks or task_id in j.results:
                return False
            j.results[task_id] = record
            j.leases.pop(task_id, None)
            if task_id in j.pending:
                j.pending.remove(task_id)
            return True

    def status(self, job: str) -> tuple[int, int, int, int]:
        with self._lock:
            j = self._job(job)
            return len(j.tasks), len(j.pending), len(j.leases), len(j.results)

    def leases(self, job: str) -> dict[str, str]:
        with self._lock:
            return {t: w for t, (w, _) in self._job(job).leases.items()}

    def outcomes(self, job: str) -> list[tuple[str, str, int]]:
        with self._lock:
            j = self._job(job)
            return [(t, r, j.attempts.get(t, 1)) for t, r in j.results.items()]

    def delete(self, job: str) -> None:
        with self._lock:
            self._jobs.pop(job, None)


_STORE: BoardStore | None = None
_KV: KVStore | None = None


def _store() -> BoardStore:
    # Runs in the server process: every client gets a proxy to this one object.
    global _STORE
    if _STORE is None:
        _STORE = BoardStore()
    return _STORE


def _kv() -> KVStore:
    # Runs in the server process: the Redis-like commands of hand-written children (coord.kv).
    global _KV
    if _KV is None:
        _KV = KVStore()
    return _KV


def _nodelay_client(address: tuple[str, int], family: str | None = None,
                    authkey: bytes | None = None) -> connection.Connection:
    # multiprocessing's own Client, plus TCP_NODELAY: the key exchange ends with two small writes
    # in a row, which Nagle's algorithm and delayed ACKs would stall for ~40 ms per connection.
    with socket.create_connection(address, timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        conn = connection.Connection(sock.detach())
    if authkey is not None:
        connection.answer_challenge(conn, authkey)  # the server proves it has the key
        connection.deliver_challenge(conn, authkey)  # and so must we
    return conn


# Same pickle protocol and listener as the standard "pickle" serializer; only the client differs.
# listener_client is the table BaseManager(serializer=...) reads; typeshed does not declare it.
managers.listener_client["parlab-nodelay"] = (  # type: ignore[attr-defined]
    connection.Listener, _nodelay_client)


class _Manager(BaseManager):
    # Added by register() below: a proxy that forwards BoardStore's methods to the server's store.
    store: Callable[[], BoardStore]
    kv: Callable[[], KVStore]

    def __init__(self, address: tuple[str, int], authkey: bytes) -> None:
        super().__init__(address=address, authkey=authkey, serializer="parlab-nodelay")


_Manager.register("store", callable=_store)
_Manager.register("kv", callable=_kv)


def _watch_parent() -> None:
    # Runs in the server process. The parent shuts the server down when it closes or exits;
    # if the parent is killed outright it cannot, so the server leaves on its own.
    parent = multiprocessing.parent_process()  # a handle on the process that started us

    def watch() -> None:
        while parent is not None and parent.is_alive():
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parlab-parent-watch", daemon=True).start()


def start_manager(host: str, key: bytes) -> tuple[_Manager, str, BoardStore]:
    """Start the server process on ``host`` and a free port: (manager, parlab://host:port, store proxy)."""
    manager = _Manager(address=(host, 0), authkey=key)
    # Its own process; it ignores Ctrl-C, the parent stops it with shutdown() (also at exit).
    manager.start(_watch_parent)
    address = manager.address
    assert isinstance(address, tuple), address  # a TCP listener's address is (host, port)
    bound_host, port = address[:2]
    return manager, f"parlab://{bound_host}:{port}", manager.store()


class EmbeddedBoard(Board):
    """A job's board on the embedded server, through a proxy to its BoardStore."""

    kind = "embedded"
    # What a proxy raises when the server process is gone: a broken or refused connection
    # (OSError: BrokenPipeError, ConnectionResetError, ConnectionRefusedError) or EOF on reading.
    _lost = (OSError, EOFError)

    def __init__(self, job: str, store: BoardStore) -> None:
        token = getattr(store, "_token", None)  # a proxy's token holds the server's (host, port)
        address = getattr(token, "address", None)
        where = f"parlab://{address[0]}:{address[1]}" if isinstance(address, tuple) else "an unknown address"
        super().__init__(job, where)
        self._store = store  # a proxy: BoardStore's methods, run in the server process

    def _submit(self, payloads: list[str]) -> list[str]:
        return self._store.submit(self.job, payloads)

    def _claim(self, worker: str, lease_s: float) -> tuple[str, str] | None:
        return self._store.claim(self.job, worker, lease_s)

    def _complete(self, task_id: str, record: str) -> bool:
        return self._store.complete(self.job, task_id, record)

    def _outcomes(self) -> list[tuple[str, str, int]]:
        return self._store.outcomes(self.job)

    def _status(self) -> Status:
        return Status(*self._store.status(self.job))

    def _leases(self) -> dict[str, str]:
        return self._store.leases(self.job)

    def _delete(self) -> None:
        self._store.delete(self.job)


def connect_embedded(url: str, key: bytes) -> BoardStore:
    """A proxy to the BoardStore of the embedded server at parlab://host:port, after the key check."""
    return _connect(url, key).store()


def connect_embedded_kv(url: str, key: bytes) -> KVStore:
    """A proxy to the Redis-like KVStore of the embedded server at parlab://host:port (lesson 04)."""
    return _connect(url, key).kv()


def _connect(url: str, key: bytes) -> _Manager:
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if parts.scheme != "parlab" or not host or not port:
        raise CoordError(f"an embedded server address looks like parlab://127.0.0.1:PORT, got {url!r}")
    manager = _Manager(address=(host, port), authkey=key)
    try:
        manager.connect()
    except AuthenticationError:
        raise CoordError(f"the server at {url} refused this client: wrong key (it checks the key "
                         "before it reads any data)") from None
    except OSError as exc:
        raise CoordError(f"no embedded server answers at {url}: {exc}") from None
    return manager
