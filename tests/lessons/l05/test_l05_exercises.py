"""Lesson 05's exercise checkers (05a, 05b): the solution is right, the blanks "not answered", wrong answers named."""

from __future__ import annotations

import os

import procs
import pytest

from parlab.lessons.l05 import exercises_a as ex
from parlab.lessons.l05 import exercises_b as exb
from parlab.lessons.l05 import programs as common

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

PINGPONG = '''
import numpy as np
from mpi4py import MPI
from parlab.scripts.mpi_common import report

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
if rank == 0:
    ping = np.arange(8, dtype=np.float64)
    pong = np.zeros(8, dtype=np.float64)
    comm.Send(ping, dest=1)
    ___
    report(comm, {"pong": pong.tolist()})
else:
    buffer = np.zeros(8, dtype=np.float64)
    ___
    buffer *= 2
    ___
'''

ALLREDUCE = '''
import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
mine = np.arange(4, dtype=np.float64) * (rank + 1)
total = np.zeros(4, dtype=np.float64)
___
'''

POOL = '''
from mpi4py import MPI
from mpi4py.futures import MPIPoolExecutor
from parlab.scripts.mpi_common import report
from parlab.workloads import fib

if __name__ == "__main__":
    tasks = [18, 19, 20, 21, 22, 23]
    with MPIPoolExecutor() as pool:
        results = ___
        workers = pool.num_workers
    report(MPI.COMM_WORLD, {"results": results, "workers": workers})
'''

PINGPONG_SOLUTION = ("comm.Recv(pong, source=1)", "comm.Recv(buffer, source=0)", "comm.Send(buffer, dest=0)")

_BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _processes_before():
    """The processes alive before each test: the leftover checks look only at newer ones."""
    _BEFORE.clear()
    _BEFORE.update(procs.descendants(os.getpid()))



def fill(template: str, *answers: str) -> str:
    for answer in answers:
        template = template.replace("___", answer, 1)
    return template


def no_process_left() -> None:
    # Only what this test started: earlier tests' servers and multiprocessing's helpers live on.
    ours = [p for p in procs.descendants(os.getpid()) if p not in _BEFORE and not procs.stdlib_helper(p)]
    assert procs.wait_gone(ours, 10) == []


# --------------------------------------------------------------------------- 05a exercise 1: the ring

def test_ring_blanks_are_not_answered_and_start_nothing():
    verdict = ex.check_ring(RING)
    assert verdict.status == "not answered" and "replace every ___" in str(verdict)
    assert ex.check_ring(...).status == "not answered"


def test_ring_solution_is_right(mpiexec):
    verdict = ex.check_ring(fill(RING, "right", "left", "right"))
    assert verdict.right and "P0P1P2P3" in verdict.details


@pytest.mark.slow
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


@pytest.mark.parametrize("answers", [("(rank + 1) % size", "size - 1", "right"), ("1", "3", "(rank + 1) % size")])
def test_ring_written_differently_is_right(mpiexec, answers):
    verdict = ex.check_ring(fill(RING, *answers), timeout_s=30)
    assert verdict.right, str(verdict)


def test_ring_with_the_message_typed_in_is_wrong(mpiexec):
    source = fill(RING, "right", "left", "right").replace('{"message": message}', '{"message": "P0P1P2P3"}')
    verdict = ex.check_ring(source, timeout_s=30)
    assert verdict.status == "wrong" and "typed into the program" in verdict.headline
    assert "built on its way round" in verdict.headline


@pytest.mark.slow
def test_ring_all_to_the_right_deadlocks(mpiexec):
    verdict = ex.check_ring(fill(RING, "right", "right", "right"), timeout_s=SHORT)
    assert verdict.status == "timeout" and "waits in recv" in verdict.headline
    no_process_left()


def test_ring_that_is_not_text_is_wrong():
    verdict = ex.check_ring(42)
    assert verdict.status == "wrong" and "must be the program's text" in verdict.headline


# --------------------------------------------------------------------------- 05b exercise 1: reduce

def test_reduce_blank_is_not_answered():
    assert exb.check_reduce(TOTAL).status == "not answered"


def test_reduce_solution_is_right(mpiexec):
    verdict = exb.check_reduce(fill(TOTAL, "comm.reduce(value, op=MPI.SUM, root=0)"))
    assert verdict.right and "total 30" in verdict.details


def test_gather_then_sum_is_wrong_even_with_the_right_total(mpiexec):
    answer = "sum(comm.gather(value, root=0) or [0])"
    verdict = exb.check_reduce(fill(TOTAL, answer), timeout_s=30)
    assert verdict.status == "wrong" and "still gathers" in verdict.headline


def test_reduce_with_the_wrong_operation_is_wrong(mpiexec):
    verdict = exb.check_reduce(fill(TOTAL, "comm.reduce(value, op=MPI.MAX, root=0)"), timeout_s=30)
    assert verdict.status == "wrong" and "reported 16, not 30" in verdict.headline
    assert "op=MPI.MAX gives the largest value" in verdict.headline


@pytest.mark.parametrize("answer", ["comm.reduce(value, root=0)", "comm.allreduce(value, op=MPI.SUM)",
                                    "comm.reduce(value, MPI.SUM, 0)"])
def test_reduce_written_differently_is_right(mpiexec, answer):
    verdict = exb.check_reduce(fill(TOTAL, answer), timeout_s=30)
    assert verdict.right, str(verdict)


def test_allgather_then_sum_is_wrong(mpiexec):
    verdict = exb.check_reduce(fill(TOTAL, "sum(comm.allgather(value))"), timeout_s=30)
    assert verdict.status == "wrong" and "still gathers" in verdict.headline


def test_reduce_to_another_root_is_named(mpiexec):
    verdict = exb.check_reduce(fill(TOTAL, "comm.reduce(value, op=MPI.SUM, root=1)"), timeout_s=30)
    assert verdict.status == "wrong" and "rank 0 got None: the total went to another rank" in verdict.headline
    assert "root=0" in verdict.hint


def test_reduce_of_lists_is_named(mpiexec):
    verdict = exb.check_reduce(fill(TOTAL, "comm.reduce([value], op=MPI.SUM, root=0)"), timeout_s=30)
    assert verdict.status == "wrong" and "joined lists instead of adding numbers" in verdict.headline


def test_reduce_with_the_product_is_named(mpiexec):
    verdict = exb.check_reduce(fill(TOTAL, "comm.reduce(value, op=MPI.PROD, root=0)"), timeout_s=30)
    assert verdict.status == "wrong" and "op=MPI.PROD gives the product" in verdict.headline


def test_a_comment_naming_reduce_does_not_count(mpiexec):
    verdict = exb.check_reduce(fill(TOTAL, "30  # comm.reduce(value)"), timeout_s=30)
    assert verdict.status == "wrong" and "not through a reduce call" in verdict.headline


# --------------------------------------------------------------------------- 05a exercise 3: the deadlock

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


@pytest.mark.parametrize("answer", [
    ("if rank == 0:\n    comm.Send(mine, dest=other)\n    comm.Recv(theirs, source=other)\n"
     "else:\n    comm.Recv(theirs, source=other)\n    comm.Send(mine, dest=other)"),
    "theirs[:] = mine\ncomm.Sendrecv_replace(theirs, dest=other, source=other)",
    "request = comm.Irecv(theirs, source=other)\ncomm.Send(mine, dest=other)\nrequest.Wait()",
], ids=["ordered by rank", "Sendrecv_replace", "Irecv first"])
def test_swap_written_differently_is_right(mpiexec, answer):
    verdict = ex.check_swap(fill(SWAP, answer), timeout_s=30)
    assert verdict.right, str(verdict)


@pytest.mark.slow
def test_the_swap_that_receives_first_is_named_a_recv_deadlock(mpiexec):
    answer = "comm.Recv(theirs, source=other)\ncomm.Send(mine, dest=other)"
    verdict = ex.check_swap(fill(SWAP, answer), timeout_s=SHORT)
    assert verdict.status == "timeout"
    assert "both ranks wait in Recv first" in verdict.headline and "Send" not in verdict.headline.split(":")[1]
    no_process_left()


def test_a_pickling_sendrecv_is_wrong(mpiexec):
    answer = "theirs = comm.sendrecv(mine, dest=other, source=other)"
    verdict = ex.check_swap(fill(SWAP, answer), timeout_s=30)
    assert verdict.status == "wrong" and "lower-case sendrecv pickled 1 MiB" in verdict.headline


def test_a_swap_that_never_waits_is_wrong(mpiexec):
    answer = "comm.Isend(mine, dest=other)\ncomm.Irecv(theirs, source=other)"
    verdict = ex.check_swap(fill(SWAP, answer), timeout_s=30)
    assert not verdict.right
    if verdict.status == "wrong":
        assert "never waited for" in verdict.headline or "does not hold" in verdict.headline


@pytest.mark.slow
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


# --------------------------------------------------------------------------- 05a exercise 2: ping-pong

def test_pingpong_blanks_are_not_answered():
    verdict = ex.check_pingpong(PINGPONG)
    assert verdict.status == "not answered" and "replace every ___" in verdict.headline


def test_pingpong_solution_is_right(mpiexec):
    verdict = ex.check_pingpong(fill(PINGPONG, *PINGPONG_SOLUTION), timeout_s=30)
    assert verdict.right, str(verdict)
    assert "came back doubled, as raw buffers" in verdict.headline and "14.0" in verdict.details


def test_pingpong_with_lower_case_calls_is_wrong_though_the_numbers_are_right(mpiexec):
    answers = ("pong = comm.recv(source=1)", "comm.Recv(buffer, source=0)", "comm.send(buffer, dest=0)")
    verdict = ex.check_pingpong(fill(PINGPONG, *answers), timeout_s=30)
    assert verdict.status == "wrong" and "lower-case send/recv pickled the array" in verdict.headline
    assert "comm.Send(array, dest=...)" in verdict.hint


def test_pingpong_that_replies_before_receiving_is_wrong(mpiexec):
    answers = ("comm.Recv(pong, source=1)", "comm.Send(buffer, dest=0)", "comm.Recv(buffer, source=0)")
    verdict = ex.check_pingpong(fill(PINGPONG, *answers), timeout_s=30)
    assert verdict.status == "wrong" and "did not get back its array doubled" in verdict.headline
    assert "replied before it had received the ping" in verdict.hint and "0.0, 0.0" in verdict.details


@pytest.mark.parametrize("answers", [
    ("comm.Recv([pong, MPI.DOUBLE], source=1)", "comm.Recv(buffer, source=MPI.ANY_SOURCE)", "comm.Send(buffer, 0)"),
    ("comm.Recv(buf=pong, source=1, tag=0)", "comm.Recv(buffer, 0)", "comm.Isend(buffer, dest=0).Wait()"),
])
def test_pingpong_written_differently_is_right(mpiexec, answers):
    verdict = ex.check_pingpong(fill(PINGPONG, *answers), timeout_s=30)
    assert verdict.right, str(verdict)


def test_pingpong_received_into_the_wrong_array_is_wrong(mpiexec):
    answers = ("comm.Recv(ping, source=1)", *PINGPONG_SOLUTION[1:])
    verdict = ex.check_pingpong(fill(PINGPONG, *answers), timeout_s=30)
    assert verdict.status == "wrong" and "did not get back its array doubled" in verdict.headline
    assert "received into another array than `pong`" in verdict.hint


@pytest.mark.slow
def test_pingpong_receiving_from_itself_hangs_and_is_stopped(mpiexec):
    answers = ("comm.Recv(pong, source=0)", *PINGPONG_SOLUTION[1:])
    verdict = ex.check_pingpong(fill(PINGPONG, *answers), timeout_s=SHORT)
    assert verdict.status == "timeout" and "waits in Recv for a message that no rank sends" in verdict.headline
    no_process_left()


# --------------------------------------------------------------------------- 05b exercise 2: Allreduce

def test_allreduce_blank_is_not_answered():
    assert exb.check_allreduce(ALLREDUCE).status == "not answered"
    assert exb.check_allreduce(...).status == "not answered"


def test_allreduce_solution_is_right(mpiexec):
    verdict = exb.check_allreduce(fill(ALLREDUCE, "comm.Allreduce(mine, total, op=MPI.SUM)"), timeout_s=30)
    assert verdict.right, str(verdict)
    assert verdict.details.count("[0.0, 10.0, 20.0, 30.0]") == 5  # 4 ranks and the expected line


def test_pickling_allreduce_is_wrong_though_the_totals_are_right(mpiexec):
    verdict = exb.check_allreduce(fill(ALLREDUCE, "total = comm.allreduce(mine, op=MPI.SUM)"), timeout_s=30)
    assert verdict.status == "wrong" and "went through pickle" in verdict.headline
    assert "comm.Allreduce(mine, total, op=MPI.SUM)" in verdict.hint


def test_reduce_instead_of_allreduce_is_wrong_on_the_other_ranks(mpiexec):
    verdict = exb.check_allreduce(fill(ALLREDUCE, "comm.Reduce(mine, total, op=MPI.SUM, root=0)"), timeout_s=30)
    assert verdict.status == "wrong" and "ranks 1-3 do not: that is what Reduce gives" in verdict.headline
    assert "rank 1's total: [0.0, 0.0, 0.0, 0.0]" in verdict.details


def test_allreduce_with_max_is_named(mpiexec):
    verdict = exb.check_allreduce(fill(ALLREDUCE, "comm.Allreduce(mine, total, op=MPI.MAX)"), timeout_s=30)
    assert verdict.status == "wrong"
    assert "the largest of the arrays' values, not their sum: op=MPI.MAX" in verdict.headline


def test_allreduce_into_the_wrong_array_is_wrong_on_every_rank(mpiexec):
    verdict = exb.check_allreduce(fill(ALLREDUCE, "comm.Allreduce(total, mine, op=MPI.SUM)"), timeout_s=30)
    assert verdict.status == "wrong" and "on rank(s) 0, 1, 2, 3" in verdict.headline


def test_allgather_then_sum_is_not_an_allreduce(mpiexec):
    verdict = exb.check_allreduce(fill(ALLREDUCE, "total[:] = sum(comm.allgather(mine))"), timeout_s=30)
    assert verdict.status == "wrong" and "gathered every array" in verdict.headline
    assert "comm.Allreduce(mine, total" in verdict.hint


def test_reduce_then_bcast_is_not_one_allreduce(mpiexec):
    answer = "comm.Reduce(mine, total, op=MPI.SUM, root=0)\ncomm.Bcast(total, root=0)"
    verdict = exb.check_allreduce(fill(ALLREDUCE, answer), timeout_s=30)
    assert verdict.status == "wrong" and "Reduce then Bcast" in verdict.headline


@pytest.mark.parametrize("answer", ["comm.Allreduce(mine, total)",
                                    "total[:] = mine\ncomm.Allreduce(MPI.IN_PLACE, total, op=MPI.SUM)",
                                    "comm.Allreduce([mine, MPI.DOUBLE], [total, MPI.DOUBLE], op=MPI.SUM)"],
                         ids=["default op", "in place", "with datatypes"])
def test_allreduce_written_differently_is_right(mpiexec, answer):
    verdict = exb.check_allreduce(fill(ALLREDUCE, answer), timeout_s=30)
    assert verdict.right, str(verdict)


# --------------------------------------------------------------------------- 05b exercise 3: MPIPoolExecutor

def test_pool_blank_is_not_answered():
    assert exb.check_pool(POOL).status == "not answered"


def test_pool_solution_is_right(mpiexec):
    verdict = exb.check_pool(fill(POOL, "list(pool.map(fib, tasks))"), timeout_s=30)
    assert verdict.right, str(verdict)
    assert "2 MPI workers" in verdict.headline and "28657" in verdict.details


@pytest.mark.parametrize("answer", [
    "list(pool.starmap(fib, [(t,) for t in tasks]))",
    "[f.result() for f in [pool.submit(fib, t) for t in tasks]]",
    "list(pool.map(fib, tasks, chunksize=2))",
], ids=["starmap", "submit then result", "map with chunks"])
def test_pool_written_differently_is_right(mpiexec, answer):
    verdict = exb.check_pool(fill(POOL, answer), timeout_s=30)
    assert verdict.right, str(verdict)


def test_pool_submit_waited_one_at_a_time_is_wrong(mpiexec):
    verdict = exb.check_pool(fill(POOL, "[pool.submit(fib, t).result() for t in tasks]"), timeout_s=30)
    assert verdict.status == "wrong" and "waited for each task before it submitted the next" in verdict.headline


def test_pool_futures_without_result_are_named(mpiexec):
    verdict = exb.check_pool(fill(POOL, "[pool.submit(fib, t) for t in tasks]"), timeout_s=30)
    assert verdict.status == "error" and "call .result()" in verdict.hint


def test_builtin_map_on_rank_0_is_wrong(mpiexec):
    verdict = exb.check_pool(fill(POOL, "list(map(fib, tasks))"), timeout_s=30)
    assert verdict.status == "wrong" and "rank 0 computed them itself" in verdict.headline


def test_a_serial_loop_on_rank_0_is_wrong(mpiexec):
    verdict = exb.check_pool(fill(POOL, "[fib(t) for t in tasks]"), timeout_s=30)
    assert verdict.status == "wrong" and "rank 0 computed them itself" in verdict.headline


def test_map_without_list_names_the_iterator(mpiexec):
    verdict = exb.check_pool(fill(POOL, "pool.map(fib, tasks)"), timeout_s=30)
    said = verdict.headline + verdict.details  # 3.11-3.13 and 3.14 word the JSON error differently
    assert verdict.status == "error" and ("not JSON serializable" in said or "when serializing" in said)
    assert "wrap it in list(...)" in verdict.hint and "program.py" in verdict.details


def test_results_in_another_order_are_wrong(mpiexec):
    verdict = exb.check_pool(fill(POOL, "list(pool.map(fib, sorted(tasks, reverse=True)))"), timeout_s=30)
    assert verdict.status == "wrong" and "not fib of each task, in order" in verdict.headline
    assert "another order" in verdict.hint


def test_code_only_drops_comments_and_strings():
    assert "gather" not in common.code_only("x = 1  # gather\ny = 'gather'\n")
    assert "reduce" in common.code_only("t = comm.reduce(v)\n")
