"""parlab.launch: children by argument list, in their own group, with timeouts; nothing left behind."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time

import pytest
from procs import HAVE_PROC, alive, descendants, wait_gone

from parlab import launch
from parlab.launch import ChildFailed, ChildTimeout, module_argv

HELLO = "parlab.scripts.hello"


def _grandchild_pid(text: str) -> int:
    match = re.search(r"started grandchild (\d+)", text)
    assert match, f"no grandchild line in {text!r}"
    return int(match.group(1))


needs_proc = pytest.mark.skipif(not HAVE_PROC, reason="needs Linux /proc")


# --------------------------------------------------------------------------- the normal path

def test_arguments_arrive_exactly_as_passed_never_through_a_shell():
    tricky = ["two words", "a;b", "$(echo no)", "`id`", "*", "", "line\nbreak", "é"]
    done = launch.run(module_argv(HELLO, "--", *tricky), timeout=30)
    assert done.returncode == 0
    assert launch.json_result(done)["args"] == tricky


def test_run_many_collects_one_json_result_per_child():
    done = launch.run_many([module_argv(HELLO, f"job-{i}") for i in range(3)], timeout=30)
    assert [launch.json_result(d)["args"] for d in done] == [["job-0"], ["job-1"], ["job-2"]]
    assert len({launch.json_result(d)["pid"] for d in done}) == 3


def test_each_child_leads_its_own_process_group():
    child = launch.start(module_argv(HELLO, "--sleep", "5"))
    try:
        assert os.getpgid(child.pid) == child.pid != os.getpgid(0)
    finally:
        child.stop()
        child.popen.communicate()


def test_json_result_refuses_free_text():
    done = launch.run([sys.executable, "-c", "print('42 apples')"], timeout=30)
    with pytest.raises(ValueError, match="JSON line"):
        launch.json_result(done)
    with pytest.raises(ValueError, match="printed nothing"):
        launch.json_result(launch.run([sys.executable, "-c", "pass"], timeout=30))


# --------------------------------------------------------------------------- bad input, before work

@pytest.mark.faults
@pytest.mark.parametrize("argv", ["python -m parlab.scripts.hello", b"python", [], None])
def test_a_shell_string_or_empty_argv_is_refused(argv):
    with pytest.raises(TypeError, match="list of strings"):
        launch.run(argv, timeout=5)


@pytest.mark.faults
@pytest.mark.parametrize("module", ["", "parlab.scripts.hello; rm -rf /", "../x", "a..b"])
def test_module_argv_refuses_what_is_not_a_module_name(module):
    with pytest.raises(ValueError, match="dotted module name"):
        module_argv(module)


@pytest.mark.faults
@pytest.mark.parametrize("timeout,kind", [(0, ValueError), (-1, ValueError), ("10", TypeError),
                                          (True, TypeError), (float("nan"), ValueError)])
def test_bad_timeouts_are_refused_before_anything_starts(timeout, kind):
    with pytest.raises(kind, match="timeout"):
        launch.run_many([module_argv(HELLO)], timeout=timeout)


@pytest.mark.faults
def test_start_many_checks_every_argv_before_starting_any():
    with pytest.raises(TypeError):
        launch.start_many([module_argv(HELLO, "--sleep", "30"), "not a list"])


# --------------------------------------------------------------------------- failures

@pytest.mark.faults
def test_non_zero_exit_reports_the_code_and_stderr_tail():
    with pytest.raises(ChildFailed) as info:
        launch.run(module_argv(HELLO, "--exit-code", "3"), timeout=30)
    assert info.value.completed.returncode == 3
    assert "exit code 3" in str(info.value)
    done = launch.run(module_argv(HELLO, "--exit-code", "3"), timeout=30, check=False)
    assert done.returncode == 3 and launch.json_result(done)["pid"] > 0


@pytest.mark.faults
def test_a_crash_reports_the_exception_from_stderr():
    with pytest.raises(ChildFailed) as info:
        launch.run(module_argv(HELLO, "--raise"), timeout=30)
    assert "exit code 1" in str(info.value)
    assert "RuntimeError: hello was asked to fail" in str(info.value)


@pytest.mark.faults
@pytest.mark.parametrize("name", ["SIGKILL", "SIGTERM", "SIGABRT"])
def test_death_by_signal_is_named(name):
    with pytest.raises(ChildFailed) as info:
        launch.run(module_argv(HELLO, "--signal", name), timeout=30)
    assert info.value.completed.returncode == -signal.Signals[name]
    assert f"killed by {name}" in str(info.value)


def test_describe_returncode():
    assert launch.describe_returncode(0) == "exit code 0"
    assert launch.describe_returncode(-9) == "killed by SIGKILL"
    assert launch.describe_returncode(-200) == "killed by signal 200"


@pytest.mark.faults
def test_run_many_raises_for_the_failed_child_after_all_finished():
    with pytest.raises(ChildFailed, match="exit code 4"):
        launch.run_many([module_argv(HELLO, "ok"), module_argv(HELLO, "--exit-code", "4")], timeout=30)


# --------------------------------------------------------------------------- timeouts, interrupts, leftovers

@needs_proc
@pytest.mark.faults
def test_timeout_stops_the_child_and_its_grandchild_and_keeps_the_output():
    t0 = time.perf_counter()
    with pytest.raises(ChildTimeout, match="1 s timeout") as info:
        launch.run(module_argv(HELLO, "--grandchild", "--sleep", "60"), timeout=1)
    assert time.perf_counter() - t0 < 15
    done = info.value.completed
    assert "sleeping 60 s" in done.stderr  # output so far is kept
    assert done.returncode < 0
    assert not wait_gone([_grandchild_pid(done.stderr)], within=5.0)


@needs_proc
@pytest.mark.faults
def test_a_grandchild_left_running_by_a_finished_child_is_stopped():
    done = launch.run(module_argv(HELLO, "--grandchild"), timeout=30)
    assert not wait_gone([launch.json_result(done)["grandchild"]], within=5.0)


@needs_proc
@pytest.mark.faults
def test_wait_all_timeout_stops_every_child():
    kids = launch.start_many([module_argv(HELLO, "--sleep", "60", "--grandchild") for _ in range(2)])
    family: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(family) < 4:  # children and grandchildren
        family = [k.pid for k in kids] + [g for k in kids for g in descendants(k.pid)]
        time.sleep(0.05)
    with pytest.raises(ChildTimeout):
        launch.wait_all(kids, timeout=1)
    assert len(family) == 4
    assert not wait_gone(family, within=5.0)
    assert all(k.popen.returncode is not None for k in kids)


PARENT = """
import json, sys
from parlab import launch
kids = launch.start_many([launch.module_argv("parlab.scripts.hello", "--grandchild", "--sleep", "60")
                          for _ in range(2)])
print(json.dumps([k.pid for k in kids]), flush=True)
launch.wait_all(kids, timeout=60)
"""


@needs_proc
@pytest.mark.faults
def test_interrupt_while_waiting_stops_children_and_grandchildren():
    # The parent runs in a process of its own, as a Jupyter kernel does; Ctrl-C reaches only it
    # (the children lead their own groups), so it must pass the interrupt on.
    parent = launch.start([sys.executable, "-c", PARENT])
    try:
        deadline = time.monotonic() + 30
        family: list[int] = []
        while time.monotonic() < deadline:  # two children and two grandchildren, all started
            family = descendants(parent.pid)
            if len(family) >= 4:
                break
            time.sleep(0.05)
        assert len(family) >= 4, f"the parent did not start its family in time: {family}"
        time.sleep(0.3)  # the parent is now blocked waiting
        os.kill(parent.pid, signal.SIGINT)
        done = parent.wait(30, check=False)
    finally:
        parent.stop()
    assert "KeyboardInterrupt" in done.stderr
    assert done.returncode != 0
    assert not wait_gone(family, within=5.0), f"left behind: {[p for p in family if alive(p)]}"
    assert json.loads(done.stdout.splitlines()[0])  # it had printed its children's pids
