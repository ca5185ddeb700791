"""Lesson 05's blocking section: the Send/Send deadlock is stopped and named, the fixes swap the right data,
Reduce and reduce give equal totals, and every sentence agrees with the numbers it is built from."""

from __future__ import annotations

import os
import time

import procs
import pytest

from parlab import mpi
from parlab.lessons.l05 import blocking as lb
from parlab.scripts.mpi_exchange import AT_TAG

LARGE = 1 << 17  # 1 MiB of float64: past MPICH's eager limit

_BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _processes_before():
    """The processes alive before each test: the leftover checks look only at newer ones."""
    _BEFORE.clear()
    _BEFORE.update(procs.descendants(os.getpid()))



def exchange(finished: bool, right: tuple[bool, ...] = (True, True), waiting: dict[int, str] | None = None,
             count: int = 128) -> lb.Exchange:
    return lb.Exchange("send", count, "mpiexec ...", finished, right if finished else (),
                       0.001 if finished else None, waiting, 4.0)


# --------------------------------------------------------------------------- words from numbers

def test_waiting_calls_keeps_each_ranks_last_call_and_ignores_other_lines():
    stderr = f"{AT_TAG}rank 0 Send\nnoise\n{AT_TAG}rank 1 Send\n{AT_TAG}rank 0 Recv\n{AT_TAG}garbled\n"
    assert lb.waiting_calls(stderr) == {0: "Recv", 1: "Send"}


def test_describe_hang_names_where_the_ranks_wait():
    assert lb.describe_hang({0: "Send", 1: "Send"}) == "deadlock: both ranks wait in Send"
    assert lb.describe_hang({0: "Recv", 1: "Send"}) == "deadlock: rank 0 waits in Recv, rank 1 waits in Send"
    assert "rank(s) [1] did not say where they waited" in lb.describe_hang({0: "Send"})


def test_describe_exchange_in_each_case():
    assert "finished, the swap took 0.001 s; each rank received" in lb.describe_exchange(exchange(True))
    wrong = lb.describe_exchange(exchange(True, (True, False)))
    assert "rank(s) [1] did not receive" in wrong
    stopped = lb.describe_exchange(exchange(False, waiting={0: "Send", 1: "Send"}, count=LARGE))
    assert stopped.startswith("send, 1 MiB each way: no answer within 4 s")
    assert "killed the mpiexec process group" in stopped and stopped.endswith("deadlock: both ranks wait in Send.")


@pytest.mark.parametrize(("small", "large", "words"), [
    (True, False, "Send returned at 1 KiB"),
    (True, True, "finished at both 1 KiB and 1 MiB"),
    (False, False, "Even 1 KiB did not finish"),
    (False, True, "unexpected"),
])
def test_describe_eager_says_what_happened_at_each_size(small, large, words):
    text = lb.describe_eager(exchange(small), exchange(large, waiting={0: "Send", 1: "Send"}, count=LARGE))
    assert words in text
    if small and not large:
        assert "(deadlock: both ranks wait in Send)" in text


def reductions(buffer: float, pickled: float, equal: bool = True) -> dict:
    return {"nbytes": [8, 1 << 20], "seconds": {"Reduce": [buffer] * 2, "reduce": [pickled] * 2,
                                                 "Allreduce": [buffer] * 2, "allreduce": [pickled] * 2},
            "equal": {"reduce": [True, equal], "allreduce": [True, True]}}


def test_describe_reductions_when_pickling_is_slower():
    text = lb.describe_reductions(reductions(1e-5, 5e-5))
    assert "8 B: reduce took 5.0 times as long" in text
    assert "slower in 4 of 4 comparisons: on NumPy arrays, use the upper-case calls" in text
    assert "Totals: equal at every size" in text


def test_describe_reductions_when_pickling_is_not_slower_does_not_claim_it():
    faster = lb.describe_reductions(reductions(5e-5, 1e-5))
    assert "was faster this time (0.20 times the Reduce time)" in faster
    assert "slower in 0 of 4" in faster and "use the upper-case" not in faster
    same = lb.describe_reductions(reductions(1e-5, 1.05e-5))
    assert "about the same (1.05 times)" in same and "took" not in same


def test_describe_reductions_reports_unequal_totals():
    assert "NOT equal at some size" in lb.describe_reductions(reductions(1e-5, 5e-5, equal=False))
    assert not lb.reductions_equal(reductions(1e-5, 5e-5, equal=False))


def test_reduction_table_has_a_row_per_size_in_microseconds():
    lines = lb.reduction_table(reductions(1e-5, 5e-5)).splitlines()
    assert lines[0].split() == ["array", "size", "Reduce", "reduce", "Allreduce", "allreduce"]
    assert lines[2].split()[:4] == ["1", "MiB", "10.0", "µs"]


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"mode": "Send", "count": 1}, ValueError),
    ({"mode": "send", "count": 0}, ValueError),
    ({"mode": "send", "count": 1.5}, TypeError),
    ({"mode": "send", "count": 1, "timeout": -1}, ValueError),
])
def test_bad_exchange_arguments_are_refused_before_launching(kwargs, error):
    with pytest.raises(error):
        lb.run_exchange(**kwargs)


def test_bad_reduction_arguments_are_refused_before_launching():
    with pytest.raises(ValueError, match="at least one"):
        lb.run_reductions([])
    with pytest.raises(ValueError):
        lb.run_reductions([0])


# --------------------------------------------------------------------------- real MPI jobs

@pytest.mark.mpi
def test_a_small_send_then_recv_passes_on_the_eager_protocol(mpiexec):
    small = lb.run_exchange("send", 128, timeout=30)
    assert small.finished and small.right == (True, True)


@pytest.mark.mpi
@pytest.mark.faults
def test_a_large_send_then_recv_deadlocks_is_stopped_and_leaves_no_process(mpiexec):
    start = time.perf_counter()
    large = lb.run_exchange("send", LARGE, timeout=5)
    assert time.perf_counter() - start < 15  # the timeout plus the group's grace period
    assert not large.finished and large.waiting == {0: "Send", 1: "Send"}
    assert "deadlock: both ranks wait in Send" in lb.describe_exchange(large)
    # Only what this test started: earlier tests' servers and multiprocessing's helpers live on.
    ours = [p for p in procs.descendants(os.getpid()) if p not in _BEFORE and not procs.stdlib_helper(p)]
    assert procs.wait_gone(ours, 10) == []


@pytest.mark.mpi
@pytest.mark.parametrize("mode", ["sendrecv", "nonblocking"])
def test_the_fixes_swap_the_right_data(mpiexec, mode):
    fixed = lb.run_exchange(mode, LARGE, timeout=30)
    assert fixed.finished and fixed.right == (True, True) and fixed.seconds is not None


@pytest.mark.mpi
def test_the_exchange_needs_two_ranks(mpiexec):
    with pytest.raises(mpi.RankFailed, match="exactly 2 ranks"):
        mpi.run_mpi("exchange", 3, timeout=30)


@pytest.mark.mpi
@pytest.mark.parametrize("n", [1, 2])
def test_upper_and_lower_case_reductions_give_equal_totals(mpiexec, n):
    run = lb.run_reductions([1, 1000], repeats=2, ranks=n, timeout=60)
    assert run.data["nbytes"] == [8, 8000] and lb.reductions_equal(run.data)
    assert all(len(v) == 2 and all(t > 0 for t in v) for v in run.data["seconds"].values())
