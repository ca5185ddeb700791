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
from parlab.lessons.l05.programs import CHECK_TIMEOUT_S, code_only, run_answer

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
    expected = "".join(f"P{r}" for r in range(RING_RANKS))
    run = run_answer(RING, source, "my_ring", RING_RANKS, timeout_s,
                     deadlock="a rank waits in recv for a message its neighbour sent elsewhere")
    if isinstance(run, check.Verdict):
        return run
    assert isinstance(source, str)
    message = run.data.get("message")
    details = f"received: {message!r}\nexpected: {expected!r}"

    def went_around() -> check.Verdict | None:
        if message == expected:
            return None
        return check.wrong(RING, f"rank 0 received {message!r}, not the message that went around every rank.",
                           hint="Each rank receives from `left` and sends to `right`; rank 0 starts with \"P0\".",
                           details=details)

    def not_typed() -> check.Verdict | None:
        if expected not in source:
            return None
        return check.wrong(RING, f"rank 0 reports {expected!r}, but that text is typed into the program: the "
                                 "message must be built on its way round, each rank adding its own part.",
                           hint="Keep message + f\"P{rank}\" on the other ranks, and let rank 0 report what "
                                "it received from `left`.", details=details)

    return check.first_failure(went_around, not_typed) or check.right(
        RING, f"the message went once around {RING_RANKS} ranks.", details=f"rank 0 received {message!r}")


# Lower-case calls pickle what they send; on a NumPy array the upper-case calls send the buffer.
PICKLING = re.compile(r"\.(send|recv|sendrecv|isend|irecv|bcast|ssend)\s*\(")


def check_pingpong(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 2: rank 1 doubles rank 0's array and sends it back, all with Send/Recv on buffers (lesson 05a)."""
    run = run_answer(PINGPONG, source, "my_pingpong", 2, timeout_s,
                     deadlock="a rank waits in Recv for a message that no rank sends it")
    if isinstance(run, check.Verdict):
        if run.status == "error" and "pickle" in (run.headline + run.details).lower():
            return check.Verdict(PINGPONG, "error", run.headline, details=run.details,
                                 hint="One side sent a raw buffer (Send) and the other expected a pickle "
                                      "(lower-case recv): use the upper-case Send and Recv on both sides.")
        return run
    assert isinstance(source, str)
    pong = run.data.get("pong")
    numbers = f"rank 0's pong: {pong!r}\nexpected:      {PONG!r}"

    def came_back() -> check.Verdict | None:
        if pong == PONG:
            return None
        if isinstance(pong, list) and pong and all(v == 0 for v in pong):
            hint = ("Nothing arrived in `pong`: rank 1 replied before it had received the ping (receive into "
                    "`buffer` first, then double it, then send it back), or rank 0 received into another "
                    "array than `pong`.")
        else:
            hint = ("Rank 1 receives the ping into `buffer` from rank 0, doubles it, and sends `buffer` to rank 0, "
                    "which receives it into `pong` from rank 1.")
        return check.wrong(PINGPONG, "rank 0 did not get back its array doubled.", hint=hint, details=numbers)

    def buffers() -> check.Verdict | None:
        if not PICKLING.search(code_only(source)):
            return None
        return check.wrong(PINGPONG, "the numbers are right, but lower-case send/recv pickled the array "
                                     "on its way.",
                           hint="Use the upper-case calls on the NumPy arrays: comm.Send(array, dest=...) and "
                                "comm.Recv(array, source=...), which fill an array you made.", details=numbers)

    return check.first_failure(came_back, buffers) or check.right(
        PINGPONG, "the array went to rank 1 and came back doubled, as raw buffers both ways.", details=numbers)


def _blocking_first(code: str) -> str | None:
    """'Send' or 'Recv': the blocking call the swap makes first when it has no other way; else None."""
    if re.search(r"Sendrecv|Isend|Irecv|Issend|sendrecv", code):
        return None
    calls = re.findall(r"\.(Ssend|Send|Recv)\s*\(", code)
    if "Recv" not in calls or not ({"Send", "Ssend"} & set(calls)):
        return None
    return "Recv" if calls[0] == "Recv" else "Send"


DEADLOCKS = {
    "Send": ("deadlock: both ranks wait in Send (a Send of 1 MiB, past MPI's eager limit, waits for the other "
             "rank's Recv, and both ranks send first)"),
    "Recv": ("deadlock: both ranks wait in Recv first (each waits for a message the other has not sent yet, "
             "whatever its size)"),
}


def check_swap(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 3: two ranks must swap 1 MiB arrays without a deadlock, each ending with the other's (lesson 05a)."""
    first = _blocking_first(code_only(source)) if isinstance(source, str) else None
    run = run_answer(SWAP, source, "my_swap", 2, timeout_s, added=SWAP_CHECK, keep="comm, mine, other and theirs",
                     deadlock=DEADLOCKS.get(first or "", ""))
    if isinstance(run, check.Verdict):
        return run
    assert isinstance(source, str)
    code = code_only(source)
    held = run.data.get("theirs") or []
    details = "\n".join(f"rank {r}'s theirs holds {what}" for r, what in enumerate(held))

    def waited() -> check.Verdict | None:
        if not re.search(r"\.I(send|recv|ssend)\s*\(", code) or re.search(r"\.(Wait|Waitall|wait|waitall)\s*\(",
                                                                          code):
            return None
        return check.wrong(SWAP, "the requests of Isend and Irecv were never waited for: until a Wait returns, "
                                 "`theirs` may not hold the message yet and `mine` must not be reused.",
                           hint="Finish with MPI.Request.Waitall([send_request, recv_request]).", details=details)

    def received() -> check.Verdict | None:
        if held == ["the other rank's array"] * 2:
            return None
        return check.wrong(SWAP, "the program finished, but `theirs` does not hold the other rank's array on "
                                 "every rank.",
                           hint=("Send `mine` to `other` and receive into `theirs` from `other`; with Isend/Irecv, "
                                 "wait for both requests before the arrays are read."), details=details)

    def buffers() -> check.Verdict | None:
        if not PICKLING.search(code):
            return None
        return check.wrong(SWAP, "the arrays arrived, but lower-case sendrecv pickled 1 MiB each way.",
                           hint="Use the upper-case calls on buffers: comm.Sendrecv(mine, dest=other, "
                                "recvbuf=theirs, source=other).", details=details)

    return check.first_failure(waited, received, buffers) or check.right(
        SWAP, "both ranks received the other's 1 MiB array, and nothing hung.", details=details)
