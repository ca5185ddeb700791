"""Lesson 04's children on two hosts, taking tasks from a Redis server on a third.

redis-server runs inside host 2, bound to that host's address, with a password. The parent
(this test process, in the root namespace) reaches it through the bridge; ``run_job`` starts
child i on host i % 2 with ``ip netns exec`` and the environment ``server.child_env()`` gives
(``PARLAB_COORD_URL``), as ``ssh`` would on a cluster.
"""

from __future__ import annotations

import os
import secrets
import threading
import time

import pytest

from parlab import coord, jobs
from parlab.coord import CoordError, ServerLost
from parlab.scripts.worker import run_task

pytestmark = pytest.mark.redis

PORT = 6379  # each host has its own network stack: nothing else listens on this port there
READY_S = 15.0
TASKS = jobs.prime_tasks(8, width=4000)


class RedisOnHost:
    """redis-server inside one host's namespace, on that host's address, with a random password."""

    def __init__(self, host, binary: str, folder) -> None:
        self.host = host
        password = secrets.token_hex(16)
        conf = folder / "redis.conf"
        lines = [f"port {PORT}", f"bind {host.address}", "protected-mode yes", f"requirepass {password}",
                 'save ""', "appendonly no", f"dir {folder}", f"logfile {folder / 'redis.log'}", "daemonize no"]
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the password stays private
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        self.url = f"redis://:{password}@{host.address}:{PORT}/0"
        self.child = host.start([binary, str(conf)])
        deadline = time.monotonic() + READY_S
        while True:
            try:
                self.server = coord.serve("redis", url=self.url)  # from the root namespace, via the bridge
                return
            except CoordError:
                if time.monotonic() > deadline or self.child.popen.poll() is not None:
                    raise
                time.sleep(0.1)

    def kill(self) -> None:
        self.child.kill()


@pytest.fixture
def three_hosts(make_hosts, redis_server_binary, tmp_path):
    group = make_hosts(3)
    redis = RedisOnHost(group[2], redis_server_binary, tmp_path)
    yield group, redis
    redis.server.close()


def on_hosts(group):
    """run_job's launcher: child i runs on host i % 2 (hosts 0 and 1), through ``ip netns exec``."""
    return lambda i, argv: group[i % 2].argv(argv)


@pytest.fixture(scope="module")
def expected():
    return [run_task(t) for t in TASKS]


def test_a_task_lost_with_a_child_on_one_host_is_finished_on_the_other(three_hosts, expected):
    group, redis = three_hosts
    assert redis.server.url.split("@")[1].startswith(group[2].address)
    result = jobs.run_job(redis.server, TASKS, 2, lease_s=1, kill=0, timeout=60, launcher=on_hosts(group))
    assert result.completed[0].returncode == -9  # child-0, on host 0, killed holding a lease
    assert result.killed == "child-0" and result.killed_tasks
    assert result.results == expected  # every task's result, once, in task order
    assert [o.task_id for o in result.outcomes] == [str(i) for i in range(len(TASKS))]
    for task_id in result.killed_tasks:  # its lease expired, and the child on host 1 finished it
        outcome = result.outcomes[int(task_id)]
        assert outcome.worker == "child-1" and outcome.attempts == 2
    assert result.reports[1]["done"] == len(TASKS) and result.reports[1]["duplicates"] == 0
    assert result.completed[1].argv[:4] == ("ip", "netns", "exec", group[1].netns)
    assert group[0].pids() == [] and group[1].pids() == []  # no child left on either host


def test_the_redis_host_losing_its_server_mid_job_stops_every_child(three_hosts):
    group, redis = three_hosts
    slow = [{"func": "io_wait", "args": [0.5]}] * 16  # 4 s of work for 2 children: Redis dies first
    killer = threading.Timer(2.0, redis.kill)
    killer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ServerLost) as info:
            jobs.run_job(redis.server, slow, 2, lease_s=5, timeout=60, launcher=on_hosts(group))
    finally:
        killer.cancel()
        killer.join()
    took = time.perf_counter() - t0
    message = str(info.value)
    assert info.value.kind == "Redis" and info.value.address == f"redis://{group[2].address}:{PORT}/0"
    assert f"Redis coordination server at redis://{group[2].address}:{PORT}/0 went away" in message
    assert "Every child of the job (2) was stopped" in message and "run the job again" in message
    assert redis.url.split("@")[0].rsplit(":", 1)[1] not in message  # never the password
    assert took < 2.0 + 8, f"the parent took {took:.1f} s to notice"
    assert group[0].pids() == [] and group[1].pids() == [] and group[2].pids() == []
