"""Lesson 04's later sections: children that wait on a slow server, the double write and its fix,
the hand-written parent, and the sentences printed about them (on 1 to 64 cores)."""

from __future__ import annotations

import textwrap

import pytest

from parlab import coord, launch
from parlab.coord.localredis import LocalRedis
from parlab.lessons.l04 import byhand
from parlab.measure import build_sweep, timing_from
from parlab.results import Metadata
from parlab.slowserver import SlowServer
from parlab.workloads import count_primes

HOW = "install it (Debian: apt-get install redis-server; macOS: brew install redis)"


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def server(request, require):
    if request.param == "redis":
        require(coord.redis_server_binary() is not None, "redis-server", HOW)
        with LocalRedis() as local, coord.serve("redis", url=local.url) as srv:
            yield srv
    else:
        with coord.serve("embedded") as srv:
            yield srv


@pytest.fixture
def slow():
    with SlowServer(delay_s=0.02) as srv:
        yield srv


# --------------------------------------------------------------------------- children that wait

def test_fetch_run_gets_every_reply_once_and_times_ready_apart(server, slow):
    run = byhand.fetch_run(server, slow, 6, 3)
    assert run.replies == byhand.expected_replies(6)
    assert sum(run.done) == 6 and len(run.done) == 3
    assert run.startup_s > 0 and run.work_s > 0
    assert server.kv().keys("fetch-*") == []  # every key of the job was deleted


def test_fetch_run_refuses_bad_input_before_starting(server, slow):
    with pytest.raises(ValueError, match="requests"):
        byhand.fetch_run(server, slow, 0, 2)
    with pytest.raises((TypeError, ValueError), match="workers"):
        byhand.fetch_run(server, slow, 4, 0)


def test_io_sweep_is_a_waiting_sweep_checked_against_the_replies(slow):
    with coord.serve() as srv:
        sweep = byhand.io_sweep(srv, slow, 4, [1, 2], repeats=1)
    assert sweep.waiting and [p.workers for p in sweep.points] == [1, 2]
    assert sweep.tasks == 4
    assert "1 child, start-up excluded" in byhand.io_summary(sweep)


def meta(cores: int) -> Metadata:
    return Metadata(cores, "3.13.5", "CPython", False, True, "fork", "linux", "2025-01-01T00:00:00+00:00")


def io(cores: int, speedups: dict[int, float], startup: float = 0.2):
    base = 1.0
    measured = [(k, timing_from([base / s] * 2), startup * k, None) for k, s in speedups.items()]
    return build_sweep("fetch", "children/embedded", None, 16, timing_from([base] * 2), measured,
                       metadata=meta(cores), waiting=True, estimate=False)


@pytest.mark.parametrize("cores", [1, 2, 4, 8, 64])
def test_describe_io_judges_against_k_not_the_cores(cores):
    text = byhand.describe_io(io(cores, {1: 1.0, 2: 1.95, 8: 7.4}))
    assert text.startswith("7.40× on 8 children: near the ideal 8.00× (waiting tasks need no core")
    assert "capped" not in text
    if cores < 8:
        assert f"More children than cores (8 on {cores}) still helped" in text
    else:
        assert "More children than cores" not in text
    assert "Start-up is outside these times: 8 children took 1.600 s to be ready (1 child: 0.200 s)." in text


def test_describe_io_says_slower_when_the_numbers_are_slower():
    text = byhand.describe_io(io(2, {1: 1.0, 2: 0.8, 8: 0.5}))
    assert text.startswith("0.50× on 8 children: slower than one")
    assert "still helped" not in text
    no_one = byhand.describe_io(io(2, {2: 1.9, 8: 6.0}))
    assert no_one.endswith("8 children took 1.600 s to be ready.")


def test_describe_io_refuses_a_computing_sweep():
    sweep = build_sweep("x", "children/embedded", None, 4, timing_from([1.0]), [(1, timing_from([1.0]), 0.1, None)],
                        metadata=meta(2), estimate=False)
    with pytest.raises(ValueError, match="waiting"):
        byhand.describe_io(sweep)


# --------------------------------------------------------------------------- idempotency

@pytest.mark.slow
def test_a_child_slower_than_its_lease_writes_twice_and_keyed_writes_once(server):
    plain = byhand.ledger_run(server, keyed=False)
    keyed = byhand.ledger_run(server, keyed=True)
    for run in (plain, keyed):
        assert sorted(run.attempts) == ["0", "1", "2", "3"]
        assert run.attempts["0"] >= 2, "child-1 was up before child-0's lease ran out: task 0 must run twice"
    # Plain: one line per finished run, so the retried task is written twice.
    assert len(plain.ledger) == sum(plain.attempts.values())
    assert plain.doubled == ["0"]
    # Keyed: one line per task, whatever ran twice.
    assert keyed.doubled == [] and dict(keyed.written) == {"0": 1, "1": 1, "2": 1, "3": 1}
    assert sum(r["late"] for r in keyed.reports) >= 1  # the board kept one result; the late one was refused
    assert server.kv().keys("ledger-*") == []


def test_describe_ledger_agrees_with_the_runs():
    doubled = byhand.LedgerRun(False, 0.2, ("task 1 by b", "task 0 by a", "task 0 by b"), {"0": 2, "1": 1}, ())
    text = byhand.describe_ledger(doubled)
    assert "2 tasks, 3 ledger lines (plain appends, lease 0.200 s)." in text
    assert "Task 0 ran more than once" in text and "at least once, not exactly once" in text
    assert "Written twice: task 0." in text
    keyed = byhand.LedgerRun(True, 0.2, ("task 1 by b", "task 0 by a"), {"0": 2, "1": 1}, ())
    text = byhand.describe_ledger(keyed)
    assert "keyed by task id" in text and "Still one line per task" in text and "twice" not in text.split(".")[-2]
    once = byhand.LedgerRun(False, 5.0, ("task 0 by a",), {"0": 1}, ())
    text = byhand.describe_ledger(once)
    assert "Every task ran once this time" in text and "Written twice" not in text


def test_ledger_script_without_a_server_exits_2():
    done = launch.run(launch.module_argv("parlab.scripts.ledger", "--job", "j", "--name", "n"),
                      timeout=60, check=False, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2 and "PARLAB_COORD_URL is not set" in done.stderr


def test_fetcher_script_without_a_server_exits_2():
    done = launch.run(launch.module_argv("parlab.scripts.fetcher", "--job", "j", "--name", "n", "--port", "1"),
                      timeout=60, check=False, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2 and "PARLAB_COORD_URL is not set" in done.stderr


# --------------------------------------------------------------------------- the hand-written parent

BOARD_CHILD = """\
import json, os, sys
from parlab.coord import kv_from_env
from parlab.workloads import count_primes
job, name = sys.argv[1], sys.argv[2]
r = kv_from_env()
done = 0
while (raw := r.lpop(f"{job}:todo")) is not None:
    task = json.loads(raw)
    r.hset(f"{job}:results", task["id"], count_primes(task["lo"], task["hi"]))
    r.incr(f"{job}:done")
    done += 1
print(json.dumps({"child": name, "done": done}))
"""


def test_run_board_script_shares_the_tasks(tmp_path, server):
    script = tmp_path / "board_child.py"
    script.write_text(textwrap.dedent(BOARD_CHILD), encoding="utf-8")
    tasks = [{"id": str(i), "lo": 1000 * i, "hi": 1000 * (i + 1)} for i in range(6)]
    results, reports = byhand.run_board_script(server, str(script), tasks, 3)
    assert results == {str(i): count_primes(1000 * i, 1000 * (i + 1)) for i in range(6)}
    assert sum(r["done"] for r in reports) == 6 and len(reports) == 3
    assert server.kv().keys("by-hand:*") == []


def test_run_board_script_reports_a_failing_child(tmp_path, server):
    script = tmp_path / "bad.py"
    script.write_text("raise SystemExit('no board for me')\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="exit code 1: no board for me"):
        byhand.run_board_script(server, str(script), [{"id": "0", "lo": 0, "hi": 10}], 2)


def test_describe_spans_tells_overlap_from_one_after_another():
    together = [{"start": 10.0, "end": 10.5}, {"start": 10.1, "end": 10.6}]
    text = byhand.describe_spans(together)
    assert "child 1: from +0.100 s to +0.600 s" in text
    assert "All 2 children were running at the same time for 0.400 s" in text
    serial = [{"start": 10.0, "end": 10.5}, {"start": 10.5, "end": 11.0}]
    assert "did not all run at the same time" in byhand.describe_spans(serial)
    assert "One child" in byhand.describe_spans(together[:1])
    with pytest.raises(ValueError, match="'start' and 'end'"):
        byhand.describe_spans([{"start": 1.0}])
