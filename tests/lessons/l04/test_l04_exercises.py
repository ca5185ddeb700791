"""Lesson 04's exercise checkers: each accepts the solution, says "not answered" to the placeholder,
and rejects realistic wrong answers with words the learner can act on."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from parlab import coord
from parlab.coord.localredis import LocalRedis
from parlab.lessons.l04 import exercises as ex

# --------------------------------------------------------------------------- exercise 1: the parent


def placeholder_parent(argvs, timeout):
    ...


def solution_parent(argvs, timeout):
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for argv in argvs]
    try:
        outs = [p.communicate(timeout=timeout)[0] for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        for p in procs:
            p.communicate()
        raise
    return [json.loads(out) for out in outs]


def serial_parent(argvs, timeout):
    return [json.loads(subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True).stdout)
            for argv in argvs]


def shell_parent(argvs, timeout):
    procs = [subprocess.Popen(" ".join(argv), shell=True, stdout=subprocess.PIPE, text=True)  # noqa: S602 (the mistake)
             for argv in argvs]
    return [json.loads(p.communicate(timeout=timeout)[0]) for p in procs]


def string_parent(argvs, timeout):
    procs = [subprocess.Popen(" ".join(argv), stdout=subprocess.PIPE, text=True) for argv in argvs]
    return [json.loads(p.communicate(timeout=timeout)[0]) for p in procs]


def no_timeout_parent(argvs, timeout):
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for argv in argvs]
    return [json.loads(p.communicate()[0]) for p in procs]


def leaves_it_running_parent(argvs, timeout):
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for argv in argvs]
    return [json.loads(p.communicate(timeout=timeout)[0]) for p in procs]  # TimeoutExpired, child left running


def test_parent_placeholder_is_not_answered():
    verdict = ex.check_parent(placeholder_parent)
    assert verdict.status == "not answered" and "Popen" in verdict.headline


def test_parent_solution_is_right():
    verdict = ex.check_parent(solution_parent)
    assert verdict.right, str(verdict)
    assert "at the same time" in verdict.headline and "TimeoutExpired after 1 s" in verdict.details


def test_parent_that_waits_for_each_child_in_turn_is_serial():
    verdict = ex.check_parent(serial_parent)
    assert verdict.status == "wrong" and "one after another" in verdict.headline
    assert "Start every child first" in verdict.hint


def test_parent_with_a_shell_is_refused_before_it_runs():
    verdict = ex.check_parent(shell_parent)
    assert verdict.status == "wrong" and "shell=True" in verdict.headline


def test_parent_with_one_string_command_fails_with_the_learners_error():
    verdict = ex.check_parent(string_parent)
    assert verdict.status == "error" and "FileNotFoundError" in verdict.headline


def test_parent_without_a_timeout_is_named():
    verdict = ex.check_parent(no_timeout_parent)
    assert verdict.status == "wrong" and "no timeout stopped it" in verdict.headline
    assert "timeout=timeout" in verdict.hint


def test_parent_that_leaves_the_hanging_child_running():
    verdict = ex.check_parent(leaves_it_running_parent)
    assert verdict.status == "wrong" and "left the child that hangs running" in verdict.headline


# --------------------------------------------------------------------------- exercise 2: the child loop

HEAD = """\
import json
import sys

from parlab.coord import kv_from_env
from parlab.workloads import count_primes

job, name = sys.argv[1], sys.argv[2]
r = kv_from_env()
"""

TEMPLATE = HEAD + """
while True:
    raw = ...
    ...
    task = json.loads(raw)
    count = count_primes(task["lo"], task["hi"])
    ...
    r.incr(f"{job}:done:{name}")
"""

SOLUTION = HEAD + """
while True:
    raw = r.lpop(f"{job}:todo")
    if raw is None:
        break
    task = json.loads(raw)
    count = count_primes(task["lo"], task["hi"])
    r.hset(f"{job}:results", task["id"], count)
    r.incr(f"{job}:done:{name}")
"""

NEVER_STOPS = SOLUTION.replace("break", "continue")
ONE_TASK = HEAD + """
raw = r.lpop(f"{job}:todo")
task = json.loads(raw)
r.hset(f"{job}:results", task["id"], count_primes(task["lo"], task["hi"]))
r.incr(f"{job}:done:{name}")
"""
OFF_BY_ONE = SOLUTION.replace('task["hi"])', 'task["hi"] + 1000)')
CRASHES = SOLUTION.replace("r.lpop(", "r.lpopp(")


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def server(request, require):
    if request.param == "redis":
        require(coord.redis_server_binary() is not None, "redis-server",
                "install it (Debian: apt-get install redis-server; macOS: brew install redis)")
        with LocalRedis() as local, coord.serve("redis", url=local.url) as srv:
            yield srv
    else:
        with coord.serve("embedded") as srv:
            yield srv


def _script(tmp_path, text, name="my_child.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_child_loop_placeholder_and_missing_file_are_not_answered(tmp_path):
    assert ex.check_child_loop(_script(tmp_path, TEMPLATE)).status == "not answered"
    verdict = ex.check_child_loop(tmp_path / "absent.py")
    assert verdict.status == "not answered" and "absent.py" in verdict.headline


def test_child_loop_solution_is_right_on_both_servers(tmp_path, server):
    verdict = ex.check_child_loop(_script(tmp_path, SOLUTION), server)
    assert verdict.right, str(verdict)
    assert f"through the {server.backend} server" in verdict.headline
    assert server.kv().keys("ex2-*") == []  # the checker cleans up after itself


def test_child_loop_that_never_stops_times_out(tmp_path):
    verdict = ex.check_child_loop(_script(tmp_path, NEVER_STOPS), timeout_s=3)
    assert verdict.status == "timeout" and "did not finish" in verdict.headline
    assert "lpop(...) returns None" in verdict.hint


def test_child_loop_without_a_loop_leaves_tasks(tmp_path):
    verdict = ex.check_child_loop(_script(tmp_path, ONE_TASK))
    assert verdict.status == "wrong" and "5 of 8 tasks have no result" in verdict.headline


def test_child_loop_with_a_wrong_count(tmp_path):
    verdict = ex.check_child_loop(_script(tmp_path, OFF_BY_ONE))
    assert verdict.status == "wrong" and "the serial count is" in verdict.headline


def test_child_loop_that_crashes_shows_its_traceback(tmp_path):
    verdict = ex.check_child_loop(_script(tmp_path, CRASHES))
    assert verdict.status == "error" and "exit code 1" in verdict.headline
    assert "lpopp" in verdict.details


# --------------------------------------------------------------------------- exercise 3: write once


def placeholder_write(r, job, task_id, line):
    ...


def solution_write(r, job, task_id, line):
    if r.sadd(f"{job}:written", task_id):
        r.rpush(f"{job}:ledger", line)


def hsetnx_write(r, job, task_id, line):
    if r.hsetnx(f"{job}:done", task_id, line):
        r.rpush(f"{job}:ledger", line)


def plain_write(r, job, task_id, line):
    r.rpush(f"{job}:ledger", line)


def check_then_write(r, job, task_id, line):
    if not r.sismember(f"{job}:written", task_id):
        r.sadd(f"{job}:written", task_id)
        r.rpush(f"{job}:ledger", line)


def once_per_job_write(r, job, task_id, line):
    if r.set(f"{job}:written", 1, nx=True):
        r.rpush(f"{job}:ledger", line)


def test_write_once_placeholder_is_not_answered():
    verdict = ex.check_write_once(placeholder_write)
    assert verdict.status == "not answered" and "r.sadd" in verdict.headline


@pytest.mark.parametrize("fn", [solution_write, hsetnx_write])
def test_write_once_solutions_are_right(fn, server):
    verdict = ex.check_write_once(fn, server)
    assert verdict.right, str(verdict)
    assert server.kv().keys("ex3-*") == []


def test_write_once_rejects_the_double_write():
    verdict = ex.check_write_once(plain_write)
    assert verdict.status == "wrong" and "task 7 was written twice" in verdict.headline
    assert "atomic" in verdict.hint


def test_write_once_rejects_check_then_write_under_a_race():
    verdict = ex.check_write_once(check_then_write)
    assert verdict.status == "wrong" and "racing on task 9 wrote it 2 times" in verdict.headline
    assert "r.sadd or r.hsetnx" in verdict.hint


def test_write_once_rejects_a_key_per_job_instead_of_per_task():
    verdict = ex.check_write_once(once_per_job_write)
    assert verdict.status == "wrong" and "task 8 was never written" in verdict.headline


def test_script_is_placeholder_reads_the_blanks(tmp_path):
    assert ex.script_is_placeholder(_script(tmp_path, TEMPLATE))
    assert not ex.script_is_placeholder(_script(tmp_path, SOLUTION))
    assert ex.script_is_placeholder(_script(tmp_path, SOLUTION + "\nx = '___'\n"))
    assert sys.executable  # the scripts run on the interpreter running the tests
