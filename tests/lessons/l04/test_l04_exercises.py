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


def threads_parent(argvs, timeout):  # a right answer written differently: subprocess.run in threads
    from concurrent.futures import ThreadPoolExecutor

    def one(argv):
        return json.loads(subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True).stdout)

    with ThreadPoolExecutor(len(argvs)) as pool:
        return list(pool.map(one, argvs))


def wait_then_read_parent(argvs, timeout):  # right too: Popen all, then wait(timeout) and read, kill on timeout
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for argv in argvs]
    outs = []
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
                q.wait()
            raise
        outs.append(json.loads(p.stdout.read()))
        p.stdout.close()
    return outs


def completion_order_parent(argvs, timeout):
    from concurrent.futures import ThreadPoolExecutor, as_completed

    def one(argv):
        return json.loads(subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True).stdout)

    with ThreadPoolExecutor(len(argvs)) as pool:
        futures = [pool.submit(one, a) for a in reversed(argvs)]
        return [f.result() for f in as_completed(futures)]


def text_parent(argvs, timeout):
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for argv in argvs]
    return [p.communicate(timeout=timeout)[0] for p in procs]


def swallows_timeout_parent(argvs, timeout):
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for argv in argvs]
    results = []
    for p in procs:
        try:
            results.append(json.loads(p.communicate(timeout=timeout)[0]))
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            results.append(None)
    return results


def kills_without_waiting_parent(argvs, timeout):
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for argv in argvs]
    try:
        return [json.loads(p.communicate(timeout=timeout)[0]) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        raise


def os_system_parent(argvs, timeout):
    import os
    for argv in argvs:
        os.system(" ".join(argv))  # noqa: S605 (the mistake)
    return []


def test_parent_placeholder_is_not_answered():
    verdict = ex.check_parent(placeholder_parent)
    assert verdict.status == "not answered" and "Popen" in verdict.headline


@pytest.mark.slow
def test_parent_solution_is_right():
    verdict = ex.check_parent(solution_parent)
    assert verdict.right, str(verdict)
    assert "at the same time" in verdict.headline and "TimeoutExpired after 1 s" in verdict.details


@pytest.mark.parametrize("fn", [threads_parent, wait_then_read_parent])
@pytest.mark.slow
def test_parent_written_differently_is_right(fn):
    verdict = ex.check_parent(fn)
    assert verdict.right, str(verdict)


@pytest.mark.slow
def test_parent_that_waits_for_each_child_in_turn_is_serial():
    # Caught by the children's start barrier, not by a clock: a busy machine cannot pass it.
    verdict = ex.check_parent(serial_parent, wait_s=2)
    assert verdict.status == "wrong" and "one after another" in verdict.headline
    assert "Start every child first" in verdict.hint and "waited for the others in vain" in verdict.details


def test_parent_with_os_system_is_refused_before_it_runs():
    verdict = ex.check_parent(os_system_parent)
    assert verdict.status == "wrong" and "os.system" in verdict.headline and "no shell" in verdict.hint


def test_parent_in_completion_order_is_wrong():
    verdict = ex.check_parent(completion_order_parent)
    assert verdict.status == "wrong" and "differs from the serial result at position" in verdict.headline


def test_parent_returning_text_not_json_is_wrong():
    verdict = ex.check_parent(text_parent)
    assert verdict.status == "wrong" and "must return a list with each child's JSON" in verdict.headline
    assert "json.loads" in verdict.hint


@pytest.mark.slow
def test_parent_that_swallows_the_timeout_is_wrong():
    verdict = ex.check_parent(swallows_timeout_parent)
    assert verdict.status == "wrong" and "a child that hangs went unnoticed" in verdict.headline


@pytest.mark.slow
def test_parent_that_kills_without_waiting_leaves_a_zombie():
    verdict = ex.check_parent(kills_without_waiting_parent)
    assert verdict.status == "wrong" and "never waited for it" in verdict.headline and "p.wait()" in verdict.hint


def test_parent_with_a_shell_is_refused_before_it_runs():
    verdict = ex.check_parent(shell_parent)
    assert verdict.status == "wrong" and "shell=True" in verdict.headline


def test_parent_with_one_string_command_fails_with_the_learners_error():
    verdict = ex.check_parent(string_parent)
    assert verdict.status == "error" and "FileNotFoundError" in verdict.headline


@pytest.mark.slow
def test_parent_without_a_timeout_is_named():
    verdict = ex.check_parent(no_timeout_parent)
    assert verdict.status == "wrong" and "no timeout stopped it" in verdict.headline
    assert "timeout=timeout" in verdict.hint


@pytest.mark.slow
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
EVERY_TASK = HEAD + """
for raw in r.lrange(f"{job}:todo", 0, -1):  # reads the list: every child gets every task
    task = json.loads(raw)
    r.hset(f"{job}:results", task["id"], count_primes(task["lo"], task["hi"]))
    r.incr(f"{job}:done:{name}")
r.delete(f"{job}:todo")
"""
EVERY_TASK_LEFT = HEAD + """
for raw in r.lrange(f"{job}:todo", 0, -1):
    task = json.loads(raw)
    r.hset(f"{job}:results", task["id"], count_primes(task["lo"], task["hi"]))
    r.incr(f"{job}:done:{name}")
"""
NO_COUNT = SOLUTION.replace('    r.incr(f"{job}:done:{name}")\n', "")
LIST_NOT_HASH = SOLUTION.replace('r.hset(f"{job}:results", task["id"], count)',
                                 'r.rpush(f"{job}:results", count)')
BLPOP = HEAD + """
while True:
    item = r.blpop(f"{job}:todo", timeout=1)
    if item is None:
        break
    task = json.loads(item[1])
    r.hset(f"{job}:results", task["id"], count_primes(task["lo"], task["hi"]))
    r.incr(f"{job}:done:{name}")
"""
WALRUS = HEAD + """
while (raw := r.lpop(f"{job}:todo")) is not None:
    task = json.loads(raw)
    r.hset(f"{job}:results", task["id"], count_primes(task["lo"], task["hi"]))
    r.incr(f"{job}:done:{name}")
"""


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


@pytest.mark.parametrize("text", [BLPOP, WALRUS], ids=["blpop", "walrus"])
@pytest.mark.slow
def test_child_loop_written_differently_is_right(tmp_path, text):
    verdict = ex.check_child_loop(_script(tmp_path, text))
    assert verdict.right, str(verdict)


@pytest.mark.parametrize("text", [EVERY_TASK, EVERY_TASK_LEFT], ids=["list deleted", "list left"])
@pytest.mark.slow
def test_child_loop_where_every_child_runs_every_task_is_wrong(tmp_path, text):
    verdict = ex.check_child_loop(_script(tmp_path, text))
    assert verdict.status == "wrong" and "every child ran every task" in verdict.headline
    assert "3 children ran 24 tasks for 8" in verdict.headline and "r.lpop" in verdict.hint
    assert "child-0: 8 tasks, child-1: 8 tasks, child-2: 8 tasks" in verdict.details


def test_child_loop_that_does_not_count_is_wrong(tmp_path):
    verdict = ex.check_child_loop(_script(tmp_path, NO_COUNT))
    assert verdict.status == "wrong" and "no child counted its tasks" in verdict.headline


def test_child_loop_that_stores_in_a_list_is_wrong(tmp_path):
    verdict = ex.check_child_loop(_script(tmp_path, LIST_NOT_HASH))
    assert verdict.status == "wrong" and "is not a hash" in verdict.headline and "r.hset" in verdict.hint


@pytest.mark.slow
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


def incr_write(r, job, task_id, line):  # right, written differently: a counter per task
    if r.incr(f"{job}:n:{task_id}") == 1:
        r.rpush(f"{job}:ledger", line)


def set_nx_write(r, job, task_id, line):  # right, written differently: one key per task, set if absent
    if r.set(f"written:{job}:{task_id}", 1, nx=True):
        r.rpush(f"{job}:ledger", line)


WRITTEN: set[tuple[str, str]] = set()


def python_set_write(r, job, task_id, line):
    if (job, task_id) not in WRITTEN:
        WRITTEN.add((job, task_id))
        r.rpush(f"{job}:ledger", line)


def inverted_write(r, job, task_id, line):
    if r.sadd(f"{job}:written", task_id) == 0:
        r.rpush(f"{job}:ledger", line)


def test_write_once_placeholder_is_not_answered():
    verdict = ex.check_write_once(placeholder_write)
    assert verdict.status == "not answered" and "r.sadd" in verdict.headline


@pytest.mark.parametrize("fn", [solution_write, hsetnx_write, incr_write, set_nx_write])
def test_write_once_solutions_are_right(fn, server):
    verdict = ex.check_write_once(fn, server)
    assert verdict.right, str(verdict)
    assert server.kv().keys("ex3-*") == [] and server.kv().keys("*ex3-*") == []


def test_write_once_rejects_a_record_kept_in_python():
    verdict = ex.check_write_once(python_set_write)
    assert verdict.status == "wrong" and "kept in this Python process" in verdict.headline
    assert "r.sadd" in verdict.hint


def test_write_once_rejects_the_inverted_test():
    verdict = ex.check_write_once(inverted_write)
    assert verdict.status == "wrong" and "task 7's first write is missing" in verdict.headline


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
