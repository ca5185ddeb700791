"""Checkers for lesson 05's exercises: the learner's MPI program runs under mpiexec with a timeout.

Each exercise is a program text with ``___`` blanks (the placeholder: "not answered yet").
The checker saves the learner's text as a program, runs it with ``mpiexec -n N python -m
mpi4py`` through :func:`parlab.mpi.run_source` (own process group, killed on a timeout), and
answers with a :class:`parlab.lessons.check.Verdict`: the rank that raised and its traceback
(the learner's stderr), a deadlock stopped by the timeout, or what rank 0 reported against
what was expected. Nothing here starts MPI in the kernel.
"""

from __future__ import annotations

import io
import re
import tokenize

from parlab.lessons import check
from parlab.mpi import LauncherNotFound, MPIError, MPIRun, MPITimeout, RankFailed, run_source

__all__ = [
    "CHECK_TIMEOUT_S",
    "RING",
    "SWAP",
    "SWAP_CHECK",
    "SWAP_COUNT",
    "TOTAL",
    "check_reduce",
    "check_ring",
    "check_swap",
    "code_only",
]

RING = "Exercise 1: fill in the ring"
TOTAL = "Exercise 2: turn gather into reduce"
SWAP = "Exercise 3: fix the deadlock"
CHECK_TIMEOUT_S = 10.0  # start-up of 4 ranks takes about a second here; a deadlock is stopped after this
RING_RANKS = 4  # with 2 ranks left and right are the same neighbour, and any answer would pass
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


def code_only(source: str) -> str:
    """The program text with its comments and strings blanked out: what actually runs (lesson 05)."""
    lines = source.splitlines(keepends=True)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return re.sub(r"#.*", "", source)
    for token in tokens:
        if token.type in (tokenize.COMMENT, tokenize.STRING):
            (row, col), (end_row, end_col) = token.start, token.end
            for r in range(row, end_row + 1):
                text = lines[r - 1]
                a = col if r == row else 0
                b = end_col if r == end_row else len(text.rstrip("\n"))
                lines[r - 1] = text[:a] + " " * (b - a) + text[b:]
    return "".join(lines)


def _not_text(exercise: str, source: object, name: str) -> check.Verdict | None:
    if check.is_placeholder(source):
        return check.not_answered(exercise, "replace every ___ in the program text, then run this cell again.")
    if not isinstance(source, str) or not source.strip():
        return check.wrong(exercise, f"{name} must be the program's text (a str), not {type(source).__name__}.",
                           hint=f'Keep {name} = """ ... """ and edit the text between the quotes.')
    return None


def _run(exercise: str, source: str, ranks: int, timeout_s: float, *,
         deadlock: str = "") -> MPIRun | check.Verdict:
    """Run the learner's program on ``ranks`` ranks: its result, or the verdict for how it failed."""
    command = f"mpiexec -n {ranks} python -m mpi4py program.py"
    try:
        return run_source(source, ranks, timeout=timeout_s)
    except LauncherNotFound as err:
        return check.Verdict(exercise, "error", "no MPI launcher, so the program could not run.", details=str(err))
    except MPITimeout as err:
        said = "\n".join(line for line in err.stderr.splitlines() if line.strip())[-1500:]
        return check.Verdict(
            exercise, "timeout",
            f"{command} did not finish within {timeout_s:g} s" + (f": {deadlock}" if deadlock else "") + ".",
            hint=("A rank waits for a message that no rank sends, or every rank waits for another one: a "
                  "deadlock. Follow each message: who sends it, and does the rank it goes to receive it?"),
            details="Every rank was stopped (the launcher killed the mpiexec process group)."
                    + (f"\nWhat the ranks wrote to stderr:\n{said}" if said else ""))
    except RankFailed as err:
        last = err.traceback.splitlines()[-1] if err.traceback else "no traceback"
        who = f"rank {err.rank}" if err.rank is not None else "a rank"
        hint = ("Python could not read the program: check the line the traceback names."
                if "SyntaxError" in last or "IndentationError" in last else
                "Read the traceback: the line of your program it names is where the rank stopped.")
        return check.Verdict(exercise, "error", f"{who} raised ({last}), so the whole job was aborted.",
                             hint=hint, details=err.traceback or err.stderr[-2000:])
    except MPIError as err:
        return check.wrong(exercise, "the program ended without reporting a result.",
                           hint="Keep the report(comm, {...}) line: rank 0 reports through it.", details=str(err))


def check_ring(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 1: the ring program, run on 4 ranks, must bring "P0P1P2P3" back to rank 0 (lesson 05)."""
    missing = _not_text(RING, source, "my_ring")
    if missing is not None:
        return missing
    assert isinstance(source, str)
    run = _run(RING, source, RING_RANKS, timeout_s,
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


def check_reduce(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 2: one reduce call must give the total 30 on 4 ranks, with no gather left (lesson 05)."""
    missing = _not_text(TOTAL, source, "my_total")
    if missing is not None:
        return missing
    assert isinstance(source, str)
    code = code_only(source)
    run = _run(TOTAL, source, 4, timeout_s)
    if isinstance(run, check.Verdict):
        return run
    total = run.data.get("total")
    numbers = f"rank 0 reported total {total!r}; 1 + 4 + 9 + 16 = 30"
    if total != 30:
        return check.wrong(TOTAL, f"rank 0 reported {total!r}, not 30.",
                           hint="Add every rank's value on the root: op=MPI.SUM, root=0.", details=numbers)
    if re.search(r"\bgather\s*\(", code, re.IGNORECASE):
        return check.wrong(TOTAL, "the total is right, but the program still gathers every value on rank 0.",
                           hint="Let one comm.reduce(value, op=MPI.SUM, root=0) add as it collects.",
                           details=numbers)
    if not re.search(r"reduce\s*\(", code, re.IGNORECASE):
        return check.wrong(TOTAL, "the total is right, but not through a reduce call.",
                           hint="Use comm.reduce(value, op=MPI.SUM, root=0).", details=numbers)
    return check.right(TOTAL, "one reduce call added the values as it collected them.", details=numbers)


def _deadlocks_in_send(code: str) -> bool:
    """Whether the program still swaps with a blocking Send before its Recv (and no other way)."""
    return bool(re.search(r"\.Send\s*\(", code) and re.search(r"\.Recv\s*\(", code)
                and not re.search(r"Sendrecv|Isend|Irecv|sendrecv", code))


def check_swap(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 3: the two ranks must swap 1 MiB arrays without a deadlock, each ending with the other's (lesson 05)."""
    missing = _not_text(SWAP, source, "my_swap")
    if missing is not None:
        return missing
    assert isinstance(source, str)
    blocking = _deadlocks_in_send(code_only(source))
    run = _run(SWAP, source + SWAP_CHECK, 2, timeout_s,
               deadlock=("deadlock: both ranks wait in Send (a Send of 1 MiB waits for the other rank's Recv, "
                         "and both ranks send first)") if blocking else "")
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
