"""Checkers for lesson 05a's exercises (point to point): the ring, a Send/Recv ping-pong, a swap without deadlock.

Each checker takes the learner's program text (``___`` blanks: "not answered yet"), runs it
with ``mpiexec`` and a timeout through :func:`parlab.lessons.l05.programs.run_program`, and
answers with a :class:`parlab.lessons.check.Verdict`. Where a right result could come from the
wrong tool (pickling ``send``/``recv`` instead of ``Send``/``Recv`` on a NumPy buffer), the
checker also reads the code that runs (comments and strings left out).
"""

from __future__ import annotations

import re

from parlab.lessons import check
from parlab.lessons.l05.programs import CHECK_TIMEOUT_S, code_only, not_text, run_program

__all__ = [
    "CHECK_TIMEOUT_S",
    "PINGPONG",
    "PONG",
    "RING",
    "SWAP",
    "SWAP_CHECK",
    "SWAP_COUNT",
    "check_pingpong",
    "check_ring",
    "check_swap",
]

RING = "Exercise 1: fill in the ring"
PINGPONG = "Exercise 2: ping-pong with Send and Recv"
SWAP = "Exercise 3: fix the deadlock"
RING_RANKS = 4  # with 2 ranks left and right are the same neighbour, and any answer would pass
PONG = [2.0 * i for i in range(8)]  # rank 1 doubles [0, 1, ..., 7] and sends it back
SWAP_COUNT = 1 << 17  # float64 values: 1 MiB, far past MPICH's eager limit (a few KiB)

# Appended to the learner's swap program: did each rank receive the other's array?
SWAP_CHECK = f"""

# --- added by the checker: what did each rank receive in `theirs`? ---
import numpy as _np
from parlab.scripts.mpi_common import report as _report
_rank = comm.Get_rank()
_other = _np.arange({SWAP_COUNT}, dtype=_np.float64) + (1 - _rank) * 1_000_000
_own = _np.arange({SWAP_COUNT}, dtype=_np.float64) + _rank * 1_000_000
_held = ("the other rank's array" if _np.array_equal(theirs, _other) else
         "its own array" if _np.array_equal(theirs, _own) else "something else")
_report(comm, {{"theirs": comm.gather(_held, root=0)}})
"""


def check_ring(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 1: the ring program, run on 4 ranks, must bring "P0P1P2P3" back to rank 0 (lesson 05a)."""
    missing = not_text(RING, source, "my_ring")
    if missing is not None:
        return missing
    assert isinstance(source, str)
    run = run_program(RING, source, RING_RANKS, timeout_s,
                      deadlock="a rank waits in recv for a message its neighbour sent elsewhere")
    if isinstance(run, check.Verdict):
        return run
    expected = "".join(f"P{r}" for r in range(RING_RANKS))
    message = run.data.get("message")
    if message == expected:
        return check.right(RING, f"the message went once around {RING_RANKS} ranks.",
                           details=f"rank 0 received {message!r}")
    return check.wrong(RING, f"rank 0 received {message!r}, not the message that went around every rank.",
                       hint="Each rank receives from `left` and sends to `right`; rank 0 starts with \"P0\".",
                       details=f"received: {message!r}\nexpected: {expected!r}")


def check_pingpong(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 2: rank 1 doubles rank 0's array and sends it back, all with Send/Recv on buffers (lesson 05a)."""
    missing = not_text(PINGPONG, source, "my_pingpong")
    if missing is not None:
        return missing
    assert isinstance(source, str)
    code = code_only(source)
    run = run_program(PINGPONG, source, 2, timeout_s,
                      deadlock="a rank waits in Recv for a message that no rank sends it")
    if isinstance(run, check.Verdict):
        return run
    pong = run.data.get("pong")
    numbers = f"rank 0's pong: {pong!r}\nexpected:      {PONG!r}"
    if pong != PONG:
        sent_early = isinstance(pong, list) and pong and all(v == 0 for v in pong)
        hint = ("Rank 1 replied before it had received the ping: receive into `buffer` first, then double "
                "it, then send it back." if sent_early else
                "Rank 1 receives the ping into `buffer` from rank 0, doubles it, and sends `buffer` to rank 0, "
                "which receives it into `pong` from rank 1.")
        return check.wrong(PINGPONG, "rank 0 did not get back its array doubled.", hint=hint, details=numbers)
    if re.search(r"\.(send|recv|sendrecv)\s*\(", code):
        return check.wrong(PINGPONG, "the numbers are right, but lower-case send/recv pickled the array "
                                     "on its way.",
                           hint="Use the upper-case calls on the NumPy arrays: comm.Send(array, dest=...) and "
                                "comm.Recv(array, source=...), which fill an array you made.", details=numbers)
    return check.right(PINGPONG, "the array went to rank 1 and came back doubled, as raw buffers both ways.",
                       details=numbers)


def _deadlocks_in_send(code: str) -> bool:
    """Whether the program still swaps with a blocking Send before its Recv (and no other way)."""
    return bool(re.search(r"\.Send\s*\(", code) and re.search(r"\.Recv\s*\(", code)
                and not re.search(r"Sendrecv|Isend|Irecv|sendrecv", code))


def check_swap(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 3: two ranks must swap 1 MiB arrays without a deadlock, each ending with the other's (lesson 05a)."""
    missing = not_text(SWAP, source, "my_swap")
    if missing is not None:
        return missing
    assert isinstance(source, str)
    blocking = _deadlocks_in_send(code_only(source))
    run = run_program(SWAP, source + SWAP_CHECK, 2, timeout_s,
                      deadlock=("deadlock: both ranks wait in Send (a Send of 1 MiB waits for the other rank's "
                                "Recv, and both ranks send first)") if blocking else "")
    if isinstance(run, check.Verdict):
        if run.status == "error" and "NameError" in run.headline:
            return check.Verdict(SWAP, "error", run.headline, details=run.details,
                                 hint="Keep the names comm, mine, other and theirs: the checker reads `theirs`.")
        return run
    held = run.data.get("theirs") or []
    details = "\n".join(f"rank {r}'s theirs holds {what}" for r, what in enumerate(held))
    if held == ["the other rank's array"] * 2:
        return check.right(SWAP, "both ranks received the other's 1 MiB array, and nothing hung.", details=details)
    return check.wrong(SWAP, "the program finished, but `theirs` does not hold the other rank's array on every rank.",
                       hint=("Send `mine` to `other` and receive into `theirs` from `other`; with Isend/Irecv, "
                             "wait for both requests before the arrays are read."), details=details)
