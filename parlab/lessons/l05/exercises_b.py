"""Checkers for lesson 05b's exercises (collectives and scaling): reduce, Allreduce on buffers, MPIPoolExecutor.map.

Each checker takes the learner's program text (``___`` blanks: "not answered yet"), runs it
with ``mpiexec`` and a timeout through :func:`parlab.lessons.l05.programs.run_program` (the
pool program under ``python -m mpi4py.futures``), and answers with a
:class:`parlab.lessons.check.Verdict`. Where a right total could come from the wrong tool
(a gather, a pickling ``allreduce``, a serial loop on rank 0), the checker also reads the code
that runs (comments and strings left out) and says which call to use instead.
"""

from __future__ import annotations

import re

from parlab.lessons import check
from parlab.lessons.l05.programs import CHECK_TIMEOUT_S, code_only, not_text, run_program
from parlab.workloads import fib

__all__ = [
    "ALLREDUCE",
    "ALLREDUCE_CHECK",
    "ALLREDUCE_RANKS",
    "CHECK_TIMEOUT_S",
    "POOL",
    "POOL_TASKS",
    "TOTAL",
    "check_allreduce",
    "check_pool",
    "check_reduce",
]

TOTAL = "Exercise 1: turn gather into reduce"
ALLREDUCE = "Exercise 2: Allreduce an array"
POOL = "Exercise 3: map on an MPIPoolExecutor"
ALLREDUCE_RANKS = 4
POOL_RANKS = 3  # rank 0 runs the program, ranks 1 and 2 are the pool's workers
POOL_TASKS = [18, 19, 20, 21, 22, 23]

# Appended to the learner's Allreduce program: what does `total` hold on each rank?
ALLREDUCE_CHECK = """

# --- added by the checker: what does each rank hold in `total`? ---
from parlab.scripts.mpi_common import report as _report
_report(comm, {"totals": comm.gather([float(v) for v in total], root=0)})
"""


def check_reduce(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 1: one reduce call must give the total 30 on 4 ranks, with no gather left (lesson 05b)."""
    missing = not_text(TOTAL, source, "my_total")
    if missing is not None:
        return missing
    assert isinstance(source, str)
    code = code_only(source)
    run = run_program(TOTAL, source, 4, timeout_s)
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


def check_allreduce(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 2: on 4 ranks, every rank's ``total`` must be the sum of every ``mine``, by Allreduce (lesson 05b)."""
    missing = not_text(ALLREDUCE, source, "my_allreduce")
    if missing is not None:
        return missing
    assert isinstance(source, str)
    code = code_only(source)
    run = run_program(ALLREDUCE, source + ALLREDUCE_CHECK, ALLREDUCE_RANKS, timeout_s)
    if isinstance(run, check.Verdict):
        if run.status == "error" and "NameError" in run.headline:
            return check.Verdict(ALLREDUCE, "error", run.headline, details=run.details,
                                 hint="Keep the names comm, mine and total: the checker reads `total` on every rank.")
        return run
    expected = [float(i * sum(range(1, ALLREDUCE_RANKS + 1))) for i in range(4)]
    totals = run.data.get("totals") or []
    details = "\n".join(f"rank {r}'s total: {t}" for r, t in enumerate(totals)) + f"\nexpected:       {expected}"
    wrong_ranks = [r for r, t in enumerate(totals) if t != expected]
    if wrong_ranks == list(range(1, ALLREDUCE_RANKS)) and totals and totals[0] == expected:
        return check.wrong(ALLREDUCE, f"rank 0 holds the total, but ranks 1-{ALLREDUCE_RANKS - 1} do not: "
                                      "that is what Reduce gives.",
                           hint="Reduce delivers the sum to the root only; Allreduce delivers it to every rank.",
                           details=details)
    if wrong_ranks or len(totals) != ALLREDUCE_RANKS:
        return check.wrong(ALLREDUCE, f"`total` is not the sum of every rank's `mine` on rank(s) "
                                      f"{', '.join(map(str, wrong_ranks))}.",
                           hint="Add with op=MPI.SUM (the default), from `mine` into `total`.", details=details)
    if not re.search(r"\.Allreduce\s*\(", code):
        return check.wrong(ALLREDUCE, "the totals are right, but the arrays went through pickle (lower-case "
                                      "allreduce), not as buffers.",
                           hint="Use comm.Allreduce(mine, total, op=MPI.SUM): MPI adds the numbers straight "
                                "into the array `total` you made.", details=details)
    return check.right(ALLREDUCE, "every rank holds the sum of the 4 arrays, added by MPI in the buffers.",
                       details=details)


def check_pool(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 3: fib of every task, in order, computed on an MPIPoolExecutor's workers (lesson 05b)."""
    missing = not_text(POOL, source, "my_pool")
    if missing is not None:
        return missing
    assert isinstance(source, str)
    code = code_only(source)
    run = run_program(POOL, source, POOL_RANKS, timeout_s, futures=True)
    if isinstance(run, check.Verdict):
        said = run.headline + "\n" + run.details  # 3.14 words the headline differently; the traceback has it
        if run.status == "error" and any(w in said for w in ("generator", "not JSON serializable",
                                                               "when serializing")):
            return check.Verdict(POOL, "error", run.headline, details=run.details,
                                 hint="pool.map returns an iterator of results: wrap it in list(...).")
        return run
    expected = [fib(n) for n in POOL_TASKS]
    results = run.data.get("results")
    details = f"results:  {results!r}\nexpected: {expected!r} (fib of {POOL_TASKS})"
    if results != expected:
        hint = ("The results are in another order: pool.map keeps the order of the tasks."
                if isinstance(results, list) and sorted(map(str, results)) == sorted(map(str, expected)) else
                "Map fib over tasks: every task gives fib(task), in the order of tasks.")
        return check.wrong(POOL, "the results are not fib of each task, in order.", hint=hint, details=details)
    if not re.search(r"\bpool\s*\.\s*(map|submit)\s*\(", code):
        return check.wrong(POOL, "the results are right, but rank 0 computed them itself: the pool's workers "
                                 "did nothing.",
                           hint="Hand the work to the pool: list(pool.map(fib, tasks)).", details=details)
    workers = run.data.get("workers")
    return check.right(POOL, f"the pool's {workers} MPI workers computed fib of every task, in order.",
                       details=details)
