"""A few Redis commands served by the embedded server, so lesson 04's hand-written children run without Redis.

A child written for Redis talks to it with the ``redis`` client: ``r.rpush``, ``r.lpop``,
``r.blpop(key, timeout=...)``, ``r.hset``, ``r.hsetnx``, ``r.incr``, ``r.sadd`` ... When no Redis
server is at hand, ``parlab.coord.kv_from_env`` returns a client of parlab's embedded server with the
same calls (the subset below, with Redis's return values, strings in and out as with
``decode_responses=True``), so the same child code runs either way.

:class:`KVStore` lives in the embedded server process; each call runs under one lock, so every
command is atomic, as in Redis: ``sadd`` or ``hsetnx`` answer "was it new?" for exactly one of
two children racing on the same key.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from typing import Any

__all__ = ["KV_COMMANDS", "KVStore"]

KV_COMMANDS = ("blpop", "delete", "exists", "get", "hexists", "hget", "hgetall", "hincrby", "hlen", "hset",
               "hsetnx", "incr", "incrby", "keys", "llen", "lpop", "lrange", "rpush", "sadd", "scard", "set",
               "sismember", "smembers")
_MAX_BLOCK_S = 60.0  # blpop never holds a server thread longer than this


def _text(value: object) -> str:
    # Redis stores strings; the redis client turns numbers into their text, and so do we.
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"a value must be str, bytes, int or float (as in Redis), got {type(value).__name__}")
    return repr(value)


class KVStore:
    """Lists, hashes, sets and counters by key, each command atomic (the embedded server's side)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()  # one lock for all keys; notify wakes blpop
        self._data: dict[str, Any] = {}

    def _get(self, key: str, kind: type) -> Any:
        value = self._data.get(key)
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"WRONGTYPE: key {key!r} holds a {type(value).__name__}, not a {kind.__name__}")
        return value

    def _make(self, key: str, kind: type) -> Any:
        value = self._get(key, kind)
        if value is None:
            value = self._data[key] = kind()
        return value

    # -- lists
    def rpush(self, key: str, *values: object) -> int:
        with self._cond:
            items = self._make(key, list)
            items.extend(_text(v) for v in values)
            self._cond.notify_all()
            return len(items)

    def lpop(self, key: str) -> str | None:
        with self._cond:
            items = self._get(key, list)
            if not items:
                return None
            value: str = items.pop(0)
            if not items:
                del self._data[key]
            return value

    def blpop(self, keys: str | list[str], timeout: float = 0) -> tuple[str, str] | None:
        names = [keys] if isinstance(keys, str) else list(keys)
        limit = _MAX_BLOCK_S if not timeout else min(float(timeout), _MAX_BLOCK_S)
        deadline = time.monotonic() + limit
        with self._cond:
            while True:
                for name in names:
                    value = self.lpop(name)
                    if value is not None:
                        return name, value
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def llen(self, key: str) -> int:
        with self._cond:
            return len(self._get(key, list) or ())

    def lrange(self, key: str, start: int, end: int) -> list[str]:
        with self._cond:
            items = self._get(key, list) or []
            stop = len(items) if end == -1 else end + 1  # Redis's end is inclusive
            return list(items[start:stop])

    # -- hashes
    def hset(self, key: str, field: str, value: object) -> int:
        with self._cond:
            fields = self._make(key, dict)
            new = field not in fields
            fields[_text(field)] = _text(value)
            return int(new)

    def hsetnx(self, key: str, field: str, value: object) -> bool:
        with self._cond:
            fields = self._make(key, dict)
            if field in fields:
                return False
            fields[_text(field)] = _text(value)
            return True

    def hget(self, key: str, field: str) -> str | None:
        with self._cond:
            return (self._get(key, dict) or {}).get(field)

    def hgetall(self, key: str) -> dict[str, str]:
        with self._cond:
            return dict(self._get(key, dict) or {})

    def hexists(self, key: str, field: str) -> bool:
        with self._cond:
            return field in (self._get(key, dict) or {})

    def hlen(self, key: str) -> int:
        with self._cond:
            return len(self._get(key, dict) or {})

    def hincrby(self, key: str, field: str, amount: int = 1) -> int:
        with self._cond:
            fields = self._make(key, dict)
            fields[field] = str(int(fields.get(field, "0")) + int(amount))
            return int(fields[field])

    # -- sets
    def sadd(self, key: str, *values: object) -> int:
        with self._cond:
            members = self._make(key, set)
            new = {_text(v) for v in values} - members
            members |= new
            return len(new)

    def sismember(self, key: str, value: object) -> bool:
        with self._cond:
            return _text(value) in (self._get(key, set) or ())

    def smembers(self, key: str) -> set[str]:
        with self._cond:
            return set(self._get(key, set) or ())

    def scard(self, key: str) -> int:
        with self._cond:
            return len(self._get(key, set) or ())

    # -- strings and counters
    def set(self, key: str, value: object, nx: bool = False) -> bool | None:
        with self._cond:
            if nx and key in self._data:
                return None
            self._data[key] = _text(value)
            return True

    def get(self, key: str) -> str | None:
        with self._cond:
            value: str | None = self._get(key, str)
            return value

    def incrby(self, key: str, amount: int = 1) -> int:
        with self._cond:
            value = int(self._get(key, str) or "0") + int(amount)
            self._data[key] = str(value)
            return value

    def incr(self, key: str, amount: int = 1) -> int:
        return self.incrby(key, amount)

    # -- keys
    def delete(self, *keys: str) -> int:
        with self._cond:
            return sum(self._data.pop(k, None) is not None for k in keys)

    def keys(self, pattern: str = "*") -> list[str]:
        with self._cond:
            return [k for k in self._data if fnmatch.fnmatchcase(k, pattern)]

    def exists(self, *keys: str) -> int:
        with self._cond:
            return sum(k in self._data for k in keys)

