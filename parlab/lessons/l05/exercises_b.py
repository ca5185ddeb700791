"""Checkers for lesson 05b's exercises (collectives and scaling): reduce, Allreduce on buffers, MPIPoolExecutor.map.

Each checker takes the learner's program text (``___`` blanks: "not answered yet"), runs it
with ``mpiexec`` and a timeout through :func:`parlab.lessons.l05.programs.run_program` (the
pool program under ``python -m mpi4py.futures``), and answers with a
:class:`parlab.lessons.check.Verdict`. Where a right total could come from the wrong tool
(a gather, a pickling ``allreduce``, a serial loop on rank 0), the checker also reads the code
that runs (comments and strings left out) and says which call to use instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from parlab.lessons import check
from parlab.lessons.l05.programs import CHECK_TIMEOUT_S, code_only, run_answer
from parlab.workloads import fib

__all__ = [
    "ALLREDUCE",
    "ALLREDUCE_CHECK",
    "ALLREDUCE_RANKS",
    "CHECK_TIMEOUT_S",
    "HANDED_OVER",
    "ONE_AT_A_TIME",
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


# What rank 0 gets from reduce with another op than SUM, on the values 1, 4, 9, 16.
OTHER_OPS = {16: "op=MPI.MAX gives the largest value", 1: "op=MPI.MIN gives the smallest value",
             576: "op=MPI.PROD gives the product"}


def check_reduce(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 1: one reduce call must give the total 30 on 4 ranks, with no gather left (lesson 05b)."""
    run = run_answer(TOTAL, source, "my_total", 4, timeout_s)
    if isinstance(run, check.Verdict):
        return run
    assert isinstance(source, str)
    code = code_only(source)
    total = run.data.get("total")
    numbers = f"rank 0 reported total {total!r}; 1 + 4 + 9 + 16 = 30"

    def thirty() -> check.Verdict | None:
        if total == 30:
            return None
        if total is None:
            headline, hint = ("rank 0 got None: the total went to another rank.",
                              "The root receives the result and every other rank gets None: root=0.")
        elif isinstance(total, list):
            headline = f"rank 0 got the list {total!r}: reduce with SUM joined lists instead of adding numbers."
            hint = "Reduce the number itself: comm.reduce(value, op=MPI.SUM, root=0)."
        elif total in OTHER_OPS:
            headline, hint = (f"rank 0 reported {total!r}, not 30: {OTHER_OPS[total]}, not the sum.",
                              "Add every rank's value on the root: op=MPI.SUM, root=0.")
        else:
            headline, hint = (f"rank 0 reported {total!r}, not 30.",
                              "Add every rank's value on the root: op=MPI.SUM, root=0.")
        return check.wrong(TOTAL, headline, hint=hint, details=numbers)

    def no_gather() -> check.Verdict | None:
        if not re.search(r"gather\s*\(", code, re.IGNORECASE):
            return None
        return check.wrong(TOTAL, "the total is right, but the program still gathers every value on rank 0.",
                           hint="Let one comm.reduce(value, op=MPI.SUM, root=0) add as it collects.",
                           details=numbers)

    def reduced() -> check.Verdict | None:
        if re.search(r"reduce\s*\(", code, re.IGNORECASE):
            return None
        return check.wrong(TOTAL, "the total is right, but not through a reduce call.",
                           hint="Use comm.reduce(value, op=MPI.SUM, root=0).", details=numbers)

    return check.first_failure(thirty, no_gather, reduced) or check.right(
        TOTAL, "one reduce call added the values as it collected them.", details=numbers)


def _arrays(rank: int) -> list[float]:
    return [float(i * (rank + 1)) for i in range(4)]


def _combined(op: str) -> list[float]:
    columns = list(zip(*(_arrays(r) for r in range(ALLREDUCE_RANKS)), strict=True))
    how: dict[str, Callable[[tuple[float, ...]], float]] = {"sum": sum, "max": max, "min": min, "prod": math.prod}
    return [float(how[op](c)) for c in columns]


def check_allreduce(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 2: on 4 ranks, every rank's ``total`` must be the sum of every ``mine``, by Allreduce (lesson 05b)."""
    run = run_answer(ALLREDUCE, source, "my_allreduce", ALLREDUCE_RANKS, timeout_s, added=ALLREDUCE_CHECK,
                     keep="comm, mine and total")
    if isinstance(run, check.Verdict):
        return run
    assert isinstance(source, str)
    code = code_only(source)
    expected = _combined("sum")
    totals = run.data.get("totals") or []
    details = "\n".join(f"rank {r}'s total: {t}" for r, t in enumerate(totals)) + f"\nexpected:       {expected}"
    wrong_ranks = [r for r, t in enumerate(totals) if t != expected]

    def root_only() -> check.Verdict | None:
        if not (wrong_ranks == list(range(1, ALLREDUCE_RANKS)) and totals and totals[0] == expected):
            return None
        return check.wrong(ALLREDUCE, f"rank 0 holds the total, but ranks 1-{ALLREDUCE_RANKS - 1} do not: "
                                      "that is what Reduce gives.",
                           hint="Reduce delivers the sum to the root only; Allreduce delivers it to every rank.",
                           details=details)

    def other_op() -> check.Verdict | None:
        named = {"max": "the largest", "min": "the smallest", "prod": "the product"}
        op = next((o for o in named if totals and all(t == _combined(o) for t in totals)), None)
        if op is None:
            return None
        return check.wrong(ALLREDUCE, f"every rank holds {named[op]} of the arrays' values, not their sum: "
                                      f"op=MPI.{op.upper()}.",
                           hint="Add with op=MPI.SUM (the default).", details=details)

    def summed() -> check.Verdict | None:
        if not wrong_ranks and len(totals) == ALLREDUCE_RANKS:
            return None
        return check.wrong(ALLREDUCE, f"`total` is not the sum of every rank's `mine` on rank(s) "
                                      f"{', '.join(map(str, wrong_ranks))}.",
                           hint="Add with op=MPI.SUM (the default), from `mine` into `total`.", details=details)

    def one_allreduce() -> check.Verdict | None:
        if re.search(r"\.Allreduce\s*\(", code):
            return None
        if re.search(r"gather\s*\(", code, re.IGNORECASE):
            headline = ("the totals are right, but every rank gathered every array and added them itself: "
                        "4 arrays travel to each rank where one Allreduce sends the sum.")
        elif re.search(r"\.Reduce\s*\(", code) and re.search(r"\.Bcast\s*\(", code):
            headline = "the totals are right, but through Reduce then Bcast: two collectives where one does both."
        elif re.search(r"\.allreduce\s*\(", code):
            headline = ("the totals are right, but the arrays went through pickle (lower-case allreduce), "
                        "not as buffers.")
        else:
            headline = "the totals are right, but not through one Allreduce call on the buffers."
        return check.wrong(ALLREDUCE, headline,
                           hint="Use comm.Allreduce(mine, total, op=MPI.SUM): MPI adds the numbers straight "
                                "into the array `total` you made.", details=details)

    return check.first_failure(root_only, other_op, summed, one_allreduce) or check.right(
        ALLREDUCE, "every rank holds the sum of the 4 arrays, added by MPI in the buffers.", details=details)


# pool.map / pool.starmap / pool.submit: the calls that hand tasks to the pool's workers.
HANDED_OVER = re.compile(r"\bpool\s*\.\s*(map|starmap|submit)\s*\(")
# pool.submit(...).result() in one go: rank 0 waits for each task before it hands over the next.
ONE_AT_A_TIME = re.compile(r"\.\s*submit\s*\((?:[^()]|\([^()]*\))*\)\s*\.\s*result\s*\(")


def check_pool(source: object, timeout_s: float = CHECK_TIMEOUT_S) -> check.Verdict:
    """Exercise 3: fib of every task, in order, computed on an MPIPoolExecutor's workers (lesson 05b).

    Right with ``pool.map``, ``pool.starmap`` or ``pool.submit`` then ``result()``.
    """
    run = run_answer(POOL, source, "my_pool", POOL_RANKS, timeout_s, futures=True)
    if isinstance(run, check.Verdict):
        said = run.headline + "\n" + run.details  # 3.14 words the headline differently; the traceback has it
        if run.status == "error" and "Future" in said and ("serializ" in said or "JSON" in said):
            return check.Verdict(POOL, "error", run.headline, details=run.details,
                                 hint="pool.submit returns a Future: call .result() on each to get its value.")
        if run.status == "error" and any(w in said for w in ("generator", "not JSON serializable",
                                                               "when serializing")):
            return check.Verdict(POOL, "error", run.headline, details=run.details,
                                 hint="pool.map returns an iterator of results: wrap it in list(...).")
        return run
    assert isinstance(source, str)
    code = code_only(source)
    expected = [fib(n) for n in POOL_TASKS]
    results = run.data.get("results")
    details = f"results:  {results!r}\nexpected: {expected!r} (fib of {POOL_TASKS})"

    def in_order() -> check.Verdict | None:
        if results == expected:
            return None
        hint = ("The results are in another order: pool.map keeps the order of the tasks (as_completed and "
                "unordered=True do not)."
                if isinstance(results, list) and sorted(map(str, results)) == sorted(map(str, expected)) else
                "Map fib over tasks: every task gives fib(task), in the order of tasks.")
        return check.wrong(POOL, "the results are not fib of each task, in order.", hint=hint, details=details)

    def on_workers() -> check.Verdict | None:
        if HANDED_OVER.search(code):
            return None
        return check.wrong(POOL, "the results are right, but rank 0 computed them itself: the pool's workers "
                                 "did nothing.",
                           hint="Hand the work to the pool: list(pool.map(fib, tasks)).", details=details)

    def at_once() -> check.Verdict | None:
        if not ONE_AT_A_TIME.search(code):
            return None
        return check.wrong(POOL, "the results are right, but rank 0 waited for each task before it submitted "
                                 "the next: the workers took turns, one task at a time.",
                           hint="Submit every task first, then collect: futures = [pool.submit(fib, t) for t "
                                "in tasks]; [f.result() for f in futures], or list(pool.map(fib, tasks)).",
                           details=details)

    workers = run.data.get("workers")
    return check.first_failure(in_order, on_workers, at_once) or check.right(
        POOL, f"the pool's {workers} MPI workers computed fib of every task, in order.", details=details)
