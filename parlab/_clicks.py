"""Where a Run click came from and when it was made, for the slider panels (parlab.widgets).

JupyterLab may deliver a widget click on a kernel subshell (another thread) and the kernel
holds back clicks that arrive during a run until it ends. The browser stamps each message
with its own clock; these helpers read that stamp and put it on the kernel's clock, so a
panel can tell a click made during the last run (refused) from a new one.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import ipywidgets as w

__all__ = ["SenderClock", "is_click_on", "kernel", "parent_message", "sent_at", "sent_before"]


def kernel() -> Any:
    """The ipykernel this code runs in, or None (plain Python, tests) (lessons 00-06)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return getattr(get_ipython(), "kernel", None)


def parent_message() -> dict[str, Any] | None:
    """The message the kernel is handling now (a cell's execute_request, a click), or None (lessons 00-06)."""
    current = kernel()
    try:
        return current.get_parent("shell") if current is not None else None
    except (TypeError, AttributeError):  # an ipykernel without get_parent(channel): no stamp to go by
        return None


def sent_at(message: dict[str, Any] | None) -> float | None:
    """When the sender stamped ``message`` (its own clock, seconds since the epoch), if it did (lessons 00-06)."""
    date = (message or {}).get("header", {}).get("date")
    if isinstance(date, str):
        try:
            date = datetime.fromisoformat(date)  # 3.11+ reads a trailing Z
        except ValueError:
            return None
    if not isinstance(date, datetime):
        return None
    return (date if date.tzinfo else date.replace(tzinfo=UTC)).timestamp()


def is_click_on(message: dict[str, Any] | None, button: w.Button) -> bool:
    """True when ``message`` is the browser's click on ``button`` (not ``.click()`` in code) (lessons 00-06)."""
    comm = getattr(button, "comm", None)
    return bool(message and comm is not None
                and message.get("header", {}).get("msg_type") == "comm_msg"
                and message.get("content", {}).get("comm_id") == comm.comm_id)


def sent_before(message: dict[str, Any] | None, button: w.Button, moment: float) -> bool:
    """True when ``message`` is a browser click on ``button`` sent before ``moment`` (kernel clock) (lessons 00-06)."""
    if not is_click_on(message, button):
        return False  # .click() in code: always meant
    sent = SenderClock.kernel_time(message)
    return sent is not None and sent < moment


class SenderClock:
    """Kernel clock minus the browser's clock, the smallest seen: puts a click's stamp on the kernel's clock.

    The smallest difference is the clock skew plus the shortest delivery time, so the
    estimate is never earlier than the real moment of the click: a click counts as made
    during a run only when it certainly was.
    """

    offset: float | None = None

    @classmethod
    def observe(cls, message: dict[str, Any] | None) -> None:
        """Take one more stamped message into the estimate of the offset (lessons 00-06)."""
        sent = sent_at(message)
        if sent is not None:
            seen = time.time() - sent
            cls.offset = seen if cls.offset is None else min(cls.offset, seen)

    @classmethod
    def kernel_time(cls, message: dict[str, Any] | None) -> float | None:
        """When ``message`` was sent, on the kernel's clock; None without a stamp or an estimate (lessons 00-06)."""
        sent = sent_at(message)
        return None if sent is None or cls.offset is None else sent + cls.offset
