"""The Redis coordination server of lesson 04: the same board, stored as JSON in Redis.

Never pickle here: anyone who can reach the Redis server can write to it, and a pickle read
back from there would run that writer's code in every child. JSON is only data.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from parlab.coord.board import Board, CoordError, Status

__all__ = ["HOW_TO_GET_REDIS", "RedisBoard", "check_redis_url", "connect_redis", "hide_password"]

HOW_TO_GET_REDIS = ("install Redis (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install "
                    "redis; conda: conda install -c conda-forge redis), then start one on loopback with "
                    "`redis-server --port 6379 --bind 127.0.0.1` and set REDIS_URL=redis://127.0.0.1:6379/0")


def check_redis_url(url: object) -> str:
    """A Redis address ``redis://[:password@]host:port/db`` checked before connecting (lesson 04)."""
    if not isinstance(url, str) or not url.strip():
        raise CoordError(f"a Redis address looks like redis://127.0.0.1:6379/0, got {url!r}")
    parts = urlsplit(url.strip())
    try:
        _ = parts.port  # urlsplit checks the port only when asked
    except ValueError:
        raise CoordError(f"the port in the Redis address {hide_password(url)!r} is not a number "
                         "from 1 to 65535") from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise CoordError(f"a Redis address starts with redis://, rediss:// or unix://, got "
                         f"{hide_password(url)!r} (e.g. redis://127.0.0.1:6379/0)")
    if parts.scheme != "unix" and not parts.hostname:
        raise CoordError(f"the Redis address {hide_password(url)!r} names no host "
                         "(e.g. redis://127.0.0.1:6379/0)")
    db = parts.path.strip("/")
    if parts.scheme != "unix" and db and not db.isdigit():
        raise CoordError(f"the database in the Redis address {hide_password(url)!r} must be a number")
    return url.strip()


def hide_password(url: str) -> str:
    """The address with its password replaced by ***, for messages."""
    return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)


def connect_redis(url: str) -> Any:
    """A checked, answering ``redis.Redis`` client for ``url``; CoordError with how-to when none answers."""
    url = check_redis_url(url)
    import redis  # imported here: it is optional, and the embedded server needs none of it

    client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=3,
                                  decode_responses=True)
    try:
        client.ping()
    except redis.AuthenticationError:
        client.close()
        raise CoordError(f"the Redis server at {hide_password(url)} refused this client: wrong "
                         "password") from None
    except redis.RedisError as exc:
        client.close()
        raise CoordError(f"no Redis server answers at {hide_password(url)} ({exc}); "
                         f"{HOW_TO_GET_REDIS}") from None
    return client


# Each script runs atomically inside Redis: no other client acts between its steps, so a task
# cannot be handed to two children at once, and only the first result is kept. Times are the
# server's clock (TIME), so children on several hosts need no synchronised clocks.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], id)
  if redis.call('HEXISTS', KEYS[4], id) == 0 then redis.call('LPUSH', KEYS[1], id) end
end
while true do
  local id = redis.call('LPOP', KEYS[1])
  if not id then return false end
  if redis.call('HEXISTS', KEYS[4], id) == 0 then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[5], id, ARGV[1])
    redis.call('HINCRBY', KEYS[6], id, 1)
    return {id, redis.call('HGET', KEYS[3], id)}
  end
end
"""
_COMPLETE = """
if redis.call('HEXISTS', KEYS[4], ARGV[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('LREM', KEYS[3], 0, ARGV[1])
return 1
"""


class RedisBoard(Board):
    """The board on a Redis server: a list of waiting ids, a sorted set of leases, hashes of JSON."""

    kind = "Redis"

    def __init__(self, job: str, client: Any) -> None:
        import redis

        given = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
        if "host" in given:  # never the password: only where the server is
            where = f"redis://{given['host']}:{given.get('port', 6379)}/{given.get('db', 0)}"
        else:
            where = f"unix://{given.get('path', '?')}"
        super().__init__(job, where)
        # redis-py's own ConnectionError and TimeoutError (not the built-in ones): the server went
        # away, or stopped answering within the client's socket timeout.
        self._lost = (redis.ConnectionError, redis.TimeoutError)
        self._r = client
        k = {name: f"parlab:{self.job}:{name}" for name in
             ("pending", "leases", "tasks", "results", "owner", "attempts", "next")}
        self._keys = k
        self._claim_script = client.register_script(_CLAIM)
        self._complete_script = client.register_script(_COMPLETE)

    def _submit(self, payloads: list[str]) -> list[str]:
        if not payloads:
            return []
        first = self._r.incrby(self._keys["next"], len(payloads)) - len(payloads)
        ids = [str(first + i) for i in range(len(payloads))]
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(self._keys["tasks"], mapping=dict(zip(ids, payloads, strict=True)))
        pipe.rpush(self._keys["pending"], *ids)
        pipe.execute()
        return ids

    def _claim(self, worker: str, lease_s: float) -> tuple[str, str] | None:
        k = self._keys
        got = self._claim_script(keys=[k["pending"], k["leases"], k["tasks"], k["results"], k["owner"],
                                       k["attempts"]], args=[worker, int(lease_s * 1000)])
        return None if not got else (got[0], got[1])

    def _complete(self, task_id: str, record: str) -> bool:
        k = self._keys
        return bool(self._complete_script(keys=[k["results"], k["leases"], k["pending"], k["tasks"]],
                                          args=[task_id, record]))

    def _outcomes(self) -> list[tuple[str, str, int]]:
        results = self._r.hgetall(self._keys["results"])
        attempts = self._r.hgetall(self._keys["attempts"])
        return [(t, r, int(attempts.get(t, 1))) for t, r in results.items()]

    def _status(self) -> Status:
        pipe = self._r.pipeline(transaction=True)
        for key, op in (("tasks", "hlen"), ("pending", "llen"), ("leases", "zcard"), ("results", "hlen")):
            getattr(pipe, op)(self._keys[key])
        return Status(*pipe.execute())

    def _leases(self) -> dict[str, str]:
        ids = self._r.zrange(self._keys["leases"], 0, -1)
        owners = self._r.hmget(self._keys["owner"], ids) if ids else []
        return dict(zip(ids, owners, strict=True))  # HMGET answers one per id

    def _delete(self) -> None:
        self._r.delete(*self._keys.values())
