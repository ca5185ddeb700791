"""A loopback server that answers each keyed request after a delay, like a slow remote service.

Lessons 01a, 01b and 04 wait on it (``parlab.workloads.request_reply`` is its client): threads
that wait on a socket need no core, so k of them finish k round trips in about the time of one.
It runs on threads inside the process that starts it (in a lesson, the Jupyter kernel).
"""

from __future__ import annotations

import hmac
import secrets
import socketserver
import threading
import time
from typing import Self

__all__ = ["SlowServer"]


class _SlowHandler(socketserver.StreamRequestHandler):
    timeout = 10  # a client that never sends cannot hold a handler thread for ever

    def handle(self) -> None:
        line = self.rfile.readline(4096).decode(errors="replace").rstrip("\n")
        key, _, message = line.partition(" ")
        owner: SlowServer = self.server.owner  # type: ignore[attr-defined]
        if not hmac.compare_digest(key.encode(), owner.key.encode()):
            return  # no reply: the client reports the refusal
        time.sleep(owner.delay_s)  # the "remote" work: the client waits in recv meanwhile
        self.wfile.write(f"reply to {message}\n".encode())


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connect at once; a full backlog would stall them


class SlowServer:
    """A loopback server that answers each keyed request after ``delay_s``, like a slow remote service (lesson 01)."""

    def __init__(self, delay_s: float = 0.01) -> None:
        if not 0 < delay_s <= 5:
            raise ValueError(f"delay_s must be a number of seconds in (0, 5], got {delay_s!r}")
        self.delay_s = float(delay_s)
        self.key = secrets.token_hex(16)  # only requests that carry it get an answer
        self._server = _Server(("127.0.0.1", 0), _SlowHandler)
        self._server.owner = self  # type: ignore[attr-defined]
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="parlab-slow-server", daemon=True)
        self._thread.start()

    def tasks(self, count: int) -> list[tuple[int, str, str]]:
        """``count`` requests for ``workloads.request_reply`` (use ``star=True``)."""
        return [(self.port, self.key, f"request {i}") for i in range(count)]

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
