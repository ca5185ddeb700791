"""What lesson 05's exercise checkers share: the learner's MPI program runs under mpiexec with a timeout.

Lesson 05 has two parts, each with its own checkers (``l05a_exercises``: point to point,
``l05b_exercises``: collectives and mpi4py.futures). Each exercise is a program text with
``___`` blanks (the placeholder: "not answered yet"). :func:`run_program` saves the learner's
text as a program, runs it with ``mpiexec -n N python -m mpi4py`` (or ``-m mpi4py.futures``)
through :func:`parlab.mpi.run_source` (own process group, killed on a timeout), and returns
rank 0's report, or the :class:`parlab.lessons.check.Verdict` for how it failed: the rank that
raised and its traceback (the learner's stderr), or a deadlock stopped by the timeout.
:func:`code_only` lets a checker look at the code that runs, without comments and strings.
Nothing here starts MPI in the kernel.
"""

from __future__ import annotations

import io
import re
import tokenize

from parlab.lessons import check
from parlab.mpi import LauncherNotFound, MPIError, MPIRun, MPITimeout, RankFailed, run_source

__all__ = ["CHECK_TIMEOUT_S", "code_only", "not_text", "run_answer", "run_program"]

CHECK_TIMEOUT_S = 10.0  # start-up of 4 ranks takes about a second here; a deadlock is stopped after this


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


def not_text(exercise: str, source: object, name: str) -> check.Verdict | None:
    """The verdict "not answered yet" for the blanks, "wrong" for anything but a text; None for a text."""
    if check.is_placeholder(source):
        return check.not_answered(exercise, "replace every ___ in the program text, then run this cell again.")
    if not isinstance(source, str) or not source.strip():
        return check.wrong(exercise, f"{name} must be the program's text (a str), not {type(source).__name__}.",
                           hint=f'Keep {name} = """ ... """ and edit the text between the quotes.')
    return None


def run_program(exercise: str, source: str, ranks: int, timeout_s: float, *, deadlock: str = "",
                futures: bool = False) -> MPIRun | check.Verdict:
    """Run the learner's program on ``ranks`` ranks: its result, or the verdict for how it failed.

    ``deadlock`` names the likely hang in a timeout's headline; ``futures`` runs the program
    under ``python -m mpi4py.futures`` (rank 0 runs it, the other ranks are the pool's workers).
    """
    runner = "mpi4py.futures" if futures else "mpi4py"
    command = f"mpiexec -n {ranks} python -m {runner} program.py"
    try:
        return run_source(source, ranks, timeout=timeout_s, futures=futures)
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


def run_answer(exercise: str, source: object, name: str, ranks: int, timeout_s: float, *, added: str = "",
               keep: str = "", deadlock: str = "", futures: bool = False) -> MPIRun | check.Verdict:
    """The preamble every lesson 05 checker shares: the blanks, then the run, or the verdict that ends the check.

    ``source`` is the learner's ``name`` (a program text): ``___`` left in it is "not answered
    yet". ``added`` is appended to the program (the checker's own report of what the ranks
    hold); ``keep`` names the variables it reads, for the hint when the learner renamed one.
    """
    missing = not_text(exercise, source, name)
    if missing is not None:
        return missing
    assert isinstance(source, str)
    run = run_program(exercise, source + added, ranks, timeout_s, deadlock=deadlock, futures=futures)
    if isinstance(run, check.Verdict) and keep and run.status == "error" and "NameError" in run.headline:
        return check.Verdict(exercise, "error", run.headline, details=run.details,
                             hint=f"Keep the names {keep}: the checker reads them on every rank.")
    return run
