"""parlab.coord against REAL servers: the embedded one and a local redis-server.

Leases, exactly-once results, a child killed mid-task, keys and passwords, bad addresses.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest
from procs import HAVE_PROC, alive, descendants, wait_gone

from parlab import coord, launch
from parlab.coord import CoordError
from parlab.coord.localredis import LocalRedis, free_port
from parlab.lessons.l04 import children as jobs
from parlab.scripts.worker import check_task, run_task

HOW = "install it (Debian: apt-get install redis-server; macOS: brew install redis)"


@pytest.fixture(scope="module")
def local_redis():
    """One real redis-server for the module, on a free loopback port; stopped afterwards."""
    if coord.redis_server_binary() is None:
        yield None
        return
    with LocalRedis() as server:
        yield server


@pytest.fixture
def redis_url(require, local_redis):
    require(local_redis is not None, "redis-server", HOW)
    return local_redis.url


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def server(request, require, local_redis):
    if request.param == "redis":
        require(local_redis is not None, "redis-server", HOW)
        srv = coord.serve("redis", url=local_redis.url)
    else:
        srv = coord.serve("embedded")
    yield srv
    srv.close()


TASKS = jobs.prime_tasks(8, width=3000)


@pytest.fixture(scope="module")
def expected():
    return [run_task(t) for t in TASKS]


# --------------------------------------------------------------------------- the board itself

def test_claim_and_complete_exactly_once(server):
    board = server.board("basics")
    try:
        assert board.submit([{"n": 1}, {"n": 2}]) == ["0", "1"]
        assert board.status() == coord.Status(total=2, pending=2, leased=0, done=0)
        a = board.claim("a", 30)
        b = board.claim("b", 30)
        assert (a.task_id, a.payload, b.task_id, b.payload) == ("0", {"n": 1}, "1", {"n": 2})
        assert board.claim("c", 30) is None  # everything is leased
        assert board.leases() == {"0": "a", "1": "b"}
        assert board.complete("0", "a", {"sum": 1}) is True
        assert board.complete("0", "a", {"sum": 99}) is False  # a second result is refused
        assert board.complete("7", "a", 1) is False  # no such task
        assert board.status() == coord.Status(total=2, pending=0, leased=1, done=1)
        assert board.complete("1", "b", [2]) is True
        assert [(o.task_id, o.result, o.worker, o.attempts) for o in board.outcomes()] == [
            ("0", {"sum": 1}, "a", 1), ("1", [2], "b", 1)]
    finally:
        board.delete()
    assert board.status().total == 0


def test_an_expired_lease_returns_the_task_and_only_one_result_counts(server):
    board = server.board("lease")
    try:
        board.submit(["only"])
        first = board.claim("slow", 0.3)
        assert board.claim("other", 5) is None
        time.sleep(0.5)  # "slow" died or stalled: its lease expires
        second = board.claim("other", 5)
        assert second is not None and second.task_id == first.task_id
        assert board.complete(second.task_id, "other", "B") is True
        assert board.complete(first.task_id, "slow", "A") is False  # too late: already done
        [outcome] = board.outcomes()
        assert (outcome.result, outcome.worker, outcome.attempts) == ("B", "other", 2)
        assert board.claim("third", 5) is None  # a finished task never comes back
    finally:
        board.delete()


def test_a_late_first_result_wins_and_the_requeued_copy_is_dropped(server):
    board = server.board("late")
    try:
        board.submit(["x"])
        board.claim("slow", 0.2)
        time.sleep(0.35)
        board.claim("other", 5)  # re-leased to another child
        assert board.complete("0", "slow", "A") is True  # the slow child finished first after all
        assert board.complete("0", "other", "B") is False
        assert [(o.result, o.worker) for o in board.outcomes()] == [("A", "slow")]
        assert board.status().leased == 0
    finally:
        board.delete()


@pytest.mark.faults
def test_bad_input_is_refused_with_what_is_allowed(server):
    board = server.board("bad")
    with pytest.raises(TypeError, match="JSON value"):
        board.submit([{1, 2}])
    with pytest.raises(TypeError, match="JSON value"):
        board.submit([float("nan")])
    with pytest.raises(ValueError, match="letters, digits"):
        server.board("no spaces allowed")
    with pytest.raises(ValueError, match="letters, digits"):
        board.claim("a:b", 5)
    with pytest.raises(ValueError, match="lease_s"):
        board.claim("a", 0)
    assert board.status().total == 0


# --------------------------------------------------------------------------- children and the parent

def test_children_finish_the_job_with_the_serial_results(server, expected):
    result = jobs.run_job(server, TASKS, 2, timeout=60)
    assert result.results == expected
    assert [o.task_id for o in result.outcomes] == [str(i) for i in range(len(TASKS))]
    assert sum(r["done"] for r in result.reports) == len(TASKS)
    assert all(c.returncode == 0 for c in result.completed)
    assert result.startup_s > 0


@pytest.mark.faults
def test_a_child_that_dies_mid_task_loses_nothing(server, expected):
    result = jobs.run_job(server, TASKS, 2, lease_s=0.5, die_after=1, timeout=60)
    assert result.completed[0].returncode == -9  # it killed itself with SIGKILL, lease in hand
    assert result.killed == "child-0" and len(result.killed_tasks) == 1
    assert result.results == expected  # every task's result, exactly once, in order
    retried = [o for o in result.outcomes if o.attempts > 1]
    assert [o.task_id for o in retried] == list(result.killed_tasks)
    assert retried[0].worker == "child-1"
    assert result.reports[0] is None and result.reports[1]["done"] == len(TASKS) - 1


@pytest.mark.faults
def test_a_child_killed_by_the_parent_loses_nothing(server, expected):
    result = jobs.run_job(server, TASKS, 3, lease_s=0.5, kill=1, timeout=60)
    assert result.completed[1].returncode == -9
    assert result.killed == "child-1" and result.killed_tasks, "killed while it held a lease"
    for task_id in result.killed_tasks:
        outcome = result.outcomes[int(task_id)]
        assert outcome.worker != "child-1" and outcome.attempts >= 2
    assert result.results == expected
    assert sum(r["done"] for r in result.reports if r) == len(TASKS)


@pytest.mark.faults
def test_tasks_are_data_from_an_allowlist_checked_before_anything_starts(server):
    with pytest.raises(ValueError, match="count_primes"):
        jobs.run_job(server, [{"func": "os.system", "args": ["id"]}], 1)
    with pytest.raises(ValueError, match=r"letters|whole number"):
        jobs.run_job(server, TASKS, 0)
    with pytest.raises(ValueError, match="from 0 to 1"):
        jobs.run_job(server, TASKS, 2, kill=2)
    with pytest.raises(ValueError, match="at least 2 children"):
        jobs.run_job(server, TASKS, 1, die_after=0)
    with pytest.raises(ValueError, match="not both"):
        jobs.run_job(server, TASKS, 2, kill=0, die_after=0)
    with pytest.raises(ValueError, match="data/corpus"):
        run_task({"func": "word_count", "args": ["../../etc/passwd"]})
    assert check_task({"func": "fib", "args": [3]})


@pytest.mark.faults
def test_a_worker_without_a_server_says_so():
    env = {k: v for k, v in os.environ.items() if k not in (coord.ENV_URL, coord.ENV_KEY)}
    done = launch.run(launch.module_argv("parlab.scripts.worker", "--job", "j", "--name", "w"),
                      timeout=30, check=False, env=env)
    assert done.returncode == 2 and coord.ENV_URL in done.stderr


@pytest.mark.slow
def test_job_sweep_measures_and_checks_every_run(server, expected):
    sweep = jobs.job_sweep(server, TASKS, [1, 2], expected=expected, repeats=1)
    assert sweep.workers == [1, 2] and sweep.points[0].speedup == pytest.approx(1.0)
    with pytest.raises(Exception, match="differ"):
        jobs.job_sweep(server, TASKS, [1], expected=[0] * len(TASKS), repeats=1)


# --------------------------------------------------------------------------- keys, passwords, addresses

@pytest.mark.faults
def test_the_embedded_server_refuses_a_client_with_the_wrong_key():
    with coord.serve() as server:
        env = server.child_env()
        key = bytes.fromhex(env[coord.ENV_KEY])
        wrong = bytes([key[0] ^ 1]) + key[1:]
        with pytest.raises(CoordError, match="wrong key"):
            coord.open_board(server.url, "j", wrong)
        with pytest.raises(CoordError, match="needs its key"):
            coord.open_board(server.url, "j", None)
        board = coord.open_board(server.url, "j", key)  # still serving the right key
        assert board.submit([1]) == ["0"]
        assert server.board("j").status().total == 1


@pytest.mark.faults
def test_the_key_travels_in_the_environment_never_in_argv():
    with coord.serve() as server:
        env = server.child_env()
        argv = jobs.worker_argv("j", "w", lease_s=1, timeout=5)
        assert env[coord.ENV_URL] == server.url and len(env[coord.ENV_KEY]) == 64
        assert env[coord.ENV_KEY] not in " ".join(argv)


@pytest.mark.faults
def test_the_embedded_server_listens_on_loopback_only():
    with pytest.raises(ValueError, match="loopback"):
        coord.serve("embedded", host="0.0.0.0")
    with pytest.raises(ValueError, match="takes no url"):
        coord.serve("embedded", url="redis://127.0.0.1:6379")
    with pytest.raises(ValueError, match="embedded, redis"):
        coord.serve("memcached")


@pytest.mark.redis
@pytest.mark.faults
def test_redis_refuses_a_client_with_the_wrong_password(redis_url):
    wrong = redis_url.replace("redis://:", "redis://:x")
    with pytest.raises(CoordError, match="wrong password") as info:
        coord.serve("redis", url=wrong)
    assert redis_url.split("@")[0].split(":")[-1] not in str(info.value)  # the password is hidden


@pytest.mark.faults
@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1:6379", "starts with redis://"),
    ("redis://127.0.0.1:port/0", "not a number"),
    ("redis://127.0.0.1:99999/0", "not a number"),
    ("redis:///0", "names no host"),
    ("redis://127.0.0.1:6379/first", "must be a number"),
    ("127.0.0.1:6379", "starts with redis://"),
])
def test_a_malformed_redis_url_gets_a_clear_error(url, message, monkeypatch):
    with pytest.raises(CoordError, match=message):
        coord.serve("redis", url=url)
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(CoordError, match=message):
        coord.serve("redis")


@pytest.mark.faults
def test_no_redis_address_or_no_server_says_how_to_get_one(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(CoordError, match=r"set REDIS_URL.*apt-get install redis-server"):
        coord.serve("redis")
    with pytest.raises(CoordError, match=r"no Redis server answers.*redis-server --port"):
        coord.serve("redis", url=f"redis://127.0.0.1:{free_port()}/0")


# --------------------------------------------------------------------------- nothing left behind

@pytest.mark.skipif(not HAVE_PROC, reason="needs Linux /proc")
def test_servers_and_children_leave_nothing_behind(require, expected):
    with coord.serve() as server:
        pid = server.server_pid
        assert alive(pid)
        result = jobs.run_job(server, TASKS, 2, timeout=60)
        assert result.results == expected
        assert not any(alive(report["pid"]) for report in result.reports)
    assert not wait_gone([pid], within=5.0), "the embedded server outlived close()"
    require(coord.redis_server_binary() is not None, "redis-server", HOW)
    redis = LocalRedis()
    folder, redis_pid = redis._dir, redis.pid
    assert alive(redis_pid) and folder.is_dir()
    redis.stop()
    assert not wait_gone([redis_pid], within=5.0), "redis-server outlived stop()"
    assert not folder.exists(), "the temporary folder with the password was not removed"


@pytest.mark.faults
def test_local_redis_without_the_program_says_how_to_install(monkeypatch):
    monkeypatch.setattr("parlab.coord.localredis.redis_server_binary", lambda: None)
    with pytest.raises(CoordError, match=r"no redis-server program.*apt-get"):
        LocalRedis()


def test_worker_usage_line():
    done = launch.run([sys.executable, "-m", "parlab.scripts.worker", "--help"], timeout=30)
    assert done.stdout.startswith("usage: python -m parlab.scripts.worker")


PARENT = """
from parlab import coord
from parlab.lessons.l04 import children as jobs
with coord.serve() as server:
    jobs.run_job(server, [{"func": "io_wait", "args": [30]}] * 4, 2, timeout=60)
"""


@pytest.mark.skipif(not HAVE_PROC, reason="needs Linux /proc")
@pytest.mark.faults
def test_interrupting_the_parent_stops_its_children_and_its_server():
    parent = launch.start([sys.executable, "-c", PARENT])
    try:
        family: list[int] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(family) < 3:  # the server and two workers
            family = descendants(parent.pid)
            time.sleep(0.05)
        assert len(family) >= 3, f"the parent did not start its server and children: {family}"
        time.sleep(0.5)  # the workers have claimed their 30 s tasks; the parent waits
        os.kill(parent.pid, signal.SIGINT)
        done = parent.wait(30, check=False)
    finally:
        parent.stop()
    assert "KeyboardInterrupt" in done.stderr
    assert not wait_gone(family, within=5.0), f"left behind: {[p for p in family if alive(p)]}"


ORPHAN = """
import time
from parlab import coord
server = coord.serve()
print(server.server_pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not HAVE_PROC, reason="needs Linux /proc")
@pytest.mark.faults
def test_the_embedded_server_leaves_when_its_parent_is_killed():
    parent = launch.start([sys.executable, "-c", ORPHAN])
    try:
        line = parent.popen.stdout.readline()  # the parent prints the pid, then sleeps
        server_pid = int(line)
        assert alive(server_pid)
        os.kill(parent.pid, signal.SIGKILL)  # the parent alone (not its group): it cannot shut down
        parent.popen.wait(10)
        assert not wait_gone([server_pid], within=10), "the embedded server outlived its killed parent"
    finally:
        parent.stop()
        parent.popen.communicate()


# --------------------------------------------------------------------------- Redis commands for hand-written children

@pytest.mark.slow
def test_kv_commands_answer_as_redis_does(server):
    r = server.kv()
    r.delete("t:list", "t:hash", "t:set", "t:count", "t:str")
    assert r.rpush("t:list", "a", 2) == 2 and r.lrange("t:list", 0, -1) == ["a", "2"]
    assert r.lpop("t:list") == "a" and r.llen("t:list") == 1
    assert tuple(r.blpop("t:list", timeout=1)) == ("t:list", "2")
    t0 = time.monotonic()
    assert r.blpop(["t:list"], timeout=1) is None and time.monotonic() - t0 >= 0.9
    assert r.lpop("t:list") is None
    assert r.hset("t:hash", "f", 1) == 1 and r.hset("t:hash", "f", 2) == 0
    assert r.hsetnx("t:hash", "g", 3) and not r.hsetnx("t:hash", "g", 4)
    assert r.hgetall("t:hash") == {"f": "2", "g": "3"} and r.hget("t:hash", "f") == "2"
    assert r.hexists("t:hash", "g") and r.hlen("t:hash") == 2 and r.hincrby("t:hash", "f", 5) == 7
    assert r.sadd("t:set", "x") == 1 and r.sadd("t:set", "x") == 0 and r.sismember("t:set", "x")
    assert r.smembers("t:set") == {"x"} and r.scard("t:set") == 1
    assert r.incr("t:count") == 1 and r.incr("t:count") == 2 and r.incrby("t:count", 3) == 5
    assert r.get("t:count") == "5" and r.get("t:none") is None
    assert r.set("t:str", "v", nx=True) and not r.set("t:str", "w", nx=True) and r.get("t:str") == "v"
    assert sorted(r.keys("t:*")) == ["t:count", "t:hash", "t:set", "t:str"]
    assert r.exists("t:hash", "t:none") == 1
    assert r.delete("t:hash", "t:set", "t:count", "t:str", "t:none") == 4 and r.keys("t:*") == []


def test_kv_blpop_wakes_when_another_client_pushes(server):
    r = server.kv()
    r.delete("t:wake")
    pusher = threading.Timer(0.2, lambda: server.kv().rpush("t:wake", "now"))
    pusher.start()
    t0 = time.monotonic()
    assert tuple(r.blpop("t:wake", timeout=10)) == ("t:wake", "now")
    assert time.monotonic() - t0 < 5
    pusher.join()


def test_embedded_kv_refuses_wrong_types():
    with coord.serve("embedded") as srv:
        r = srv.kv()
        r.rpush("l", "a")
        with pytest.raises(TypeError, match="WRONGTYPE"):
            r.hset("l", "f", "v")
        with pytest.raises(TypeError, match="str, bytes, int or float"):
            r.rpush("l", [1, 2])


def test_kv_from_env_needs_the_parents_environment(monkeypatch):
    monkeypatch.delenv(coord.ENV_URL, raising=False)
    with pytest.raises(CoordError, match="PARLAB_COORD_URL is not set"):
        coord.kv_from_env()
    with coord.serve("embedded") as srv:
        monkeypatch.setenv(coord.ENV_URL, srv.url)
        monkeypatch.delenv(coord.ENV_KEY, raising=False)
        with pytest.raises(CoordError, match="needs its key"):
            coord.kv_from_env()
        monkeypatch.setenv(coord.ENV_KEY, "ab" * 32)
        with pytest.raises(CoordError, match="wrong key"):
            coord.kv_from_env()
        monkeypatch.setenv(coord.ENV_KEY, srv.child_env()[coord.ENV_KEY])
        client = coord.kv_from_env()
        assert client.incr("n") == 1 and srv.kv().get("n") == "1"
