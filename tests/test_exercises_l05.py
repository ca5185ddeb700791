"""Lesson 05's exercise checkers: the solution is right, the blanks "not answered", wrong answers named."""

from __future__ import annotations

import os

import procs
import pytest

from parlab.lessons import l05_exercises as ex

pytestmark = pytest.mark.mpi
SHORT = 4.0  # the timeout for the answers that deadlock: long enough for 4 ranks to start here

RING = '''
from mpi4py import MPI
from parlab.scripts.mpi_common import report

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
left, right = (rank - 1) % size, (rank + 1) % size
if rank == 0:
    comm.send("P0", dest=___)
    message = comm.recv(source=___)
    report(comm, {"message": message})
else:
    message = comm.recv(source=left)
    comm.send(message + f"P{rank}", dest=___)
'''

TOTAL = '''
from mpi4py import MPI
from parlab.scripts.mpi_common import report

comm = MPI.COMM_WORLD
value = (comm.Get_rank() + 1) ** 2
total = ___
report(comm, {"total": total})
'''

SWAP = '''
import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
other = 1 - rank
mine = np.arange(1 << 17, dtype=np.float64) + rank * 1_000_000
theirs = np.empty_like(mine)
___
'''


def fill(template: str, *answers: str) -> str:
    for answer in answers:
        template = template.replace("___", answer, 1)
    return template


def no_process_left() -> None:
    assert procs.wait_gone(procs.descendants(os.getpid()), 10) == []


# --------------------------------------------------------------------------- exercise 1: the ring

def test_ring_blanks_are_not_answered_and_start_nothing():
    verdict = ex.check_ring(RING)
    assert verdict.status == "not answered" and "replace every ___" in str(verdict)
    assert ex.check_ring(...).status == "not answered"


def test_ring_solution_is_right(mpiexec):
    verdict = ex.check_ring(fill(RING, "right", "left", "right"))
    assert verdict.right and "P0P1P2P3" in verdict.details


def test_ring_sent_the_wrong_way_deadlocks_and_is_stopped(mpiexec):
    verdict = ex.check_ring(fill(RING, "left", "left", "right"), timeout_s=SHORT)
    assert verdict.status == "timeout"
    assert "did not finish within 4 s" in verdict.headline and "waits in recv" in verdict.headline
    assert "killed the mpiexec process group" in verdict.details
    no_process_left()


def test_ring_that_raises_shows_the_learners_traceback(mpiexec):
    verdict = ex.check_ring(fill(RING, "right", "left", "rihgt"), timeout_s=30)
    assert verdict.status == "error" and "NameError" in verdict.headline
    assert "name 'rihgt' is not defined" in verdict.details and "program.py" in verdict.details


def test_ring_with_a_wrong_tag_is_wrong(mpiexec):
    source = fill(RING, "right", "left", "right").replace('f"P{rank}"', '"P1"')
    verdict = ex.check_ring(source, timeout_s=30)
    assert verdict.status == "wrong" and "'P0P1P1P1'" in verdict.headline


def test_ring_that_is_not_text_is_wrong():
    verdict = ex.check_ring(42)
    assert verdict.status == "wrong" and "must be the program's text" in verdict.headline


# --------------------------------------------------------------------------- exercise 2: reduce

def test_reduce_blank_is_not_answered():
    assert ex.check_reduce(TOTAL).status == "not answered"


def test_reduce_solution_is_right(mpiexec):
    verdict = ex.check_reduce(fill(TOTAL, "comm.reduce(value, op=MPI.SUM, root=0)"))
    assert verdict.right and "total 30" in verdict.details


def test_gather_then_sum_is_wrong_even_with_the_right_total(mpiexec):
    answer = "sum(comm.gather(value, root=0) or [0])"
    verdict = ex.check_reduce(fill(TOTAL, answer), timeout_s=30)
    assert verdict.status == "wrong" and "still gathers" in verdict.headline


def test_reduce_with_the_wrong_operation_is_wrong(mpiexec):
    verdict = ex.check_reduce(fill(TOTAL, "comm.reduce(value, op=MPI.MAX, root=0)"), timeout_s=30)
    assert verdict.status == "wrong" and "reported 16, not 30" in verdict.headline


def test_a_comment_naming_reduce_does_not_count(mpiexec):
    verdict = ex.check_reduce(fill(TOTAL, "30  # comm.reduce(value)"), timeout_s=30)
    assert verdict.status == "wrong" and "not through a reduce call" in verdict.headline


# --------------------------------------------------------------------------- exercise 3: the deadlock

def test_swap_blank_is_not_answered():
    assert ex.check_swap(SWAP).status == "not answered"


@pytest.mark.parametrize("answer", [
    "comm.Sendrecv(mine, dest=other, recvbuf=theirs, source=other)",
    ("requests = [comm.Isend(mine, dest=other), comm.Irecv(theirs, source=other)]\n"
    "MPI.Request.Waitall(requests)"),
])
def test_swap_fixes_are_right(mpiexec, answer):
    verdict = ex.check_swap(fill(SWAP, answer), timeout_s=30)
    assert verdict.right, str(verdict)
    assert verdict.details.count("the other rank's array") == 2


def test_the_deadlocking_swap_is_stopped_by_the_timeout_and_named(mpiexec):
    answer = "comm.Send(mine, dest=other)\ncomm.Recv(theirs, source=other)"
    verdict = ex.check_swap(fill(SWAP, answer), timeout_s=SHORT)
    assert verdict.status == "timeout" and not verdict.right
    assert "deadlock: both ranks wait in Send" in verdict.headline
    no_process_left()
    with pytest.raises(AssertionError, match="deadlock"):
        verdict.must_be_right()


def test_a_swap_that_receives_into_the_wrong_array_is_wrong(mpiexec):
    answer = "comm.Sendrecv(theirs, dest=other, recvbuf=mine, source=other)"
    verdict = ex.check_swap(fill(SWAP, answer), timeout_s=30)
    assert verdict.status == "wrong" and "does not hold the other rank's array" in verdict.headline
    assert "rank 0's theirs holds" in verdict.details and "the other rank's array" not in verdict.details


def test_a_swap_that_sends_to_itself_is_wrong(mpiexec):
    answer = "comm.Sendrecv(mine, dest=rank, recvbuf=theirs, source=rank)"
    verdict = ex.check_swap(fill(SWAP, answer), timeout_s=30)
    assert verdict.status == "wrong" and verdict.details.count("its own array") == 2


def test_a_swap_that_renames_theirs_names_the_cause(mpiexec):
    answer = "got = comm.sendrecv(mine, dest=other, source=other)"
    verdict = ex.check_swap(fill(SWAP, answer).replace("theirs = np.empty_like(mine)", ""), timeout_s=30)
    assert verdict.status == "error" and "Keep the names" in verdict.hint


def test_code_only_drops_comments_and_strings():
    assert "gather" not in ex.code_only("x = 1  # gather\ny = 'gather'\n")
    assert "reduce" in ex.code_only("t = comm.reduce(v)\n")
