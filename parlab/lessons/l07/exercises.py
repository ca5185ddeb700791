"""Lesson 07's exercise checkers: a graph with delayed, futures on the cluster, batches of tiny tasks.

Each checker runs what the learner wrote with a timeout and judges the mechanism as well as
the result: a graph must be lazy (``delayed(fib(n))`` gives the right numbers but ran fib at
once, in the notebook), work must run as tasks on the cluster's workers (dask's task stream
records every task; a loop in the notebook records none), futures must be gathered and graphs
computed, and tiny tasks must travel in batches. A speed verdict is timed beside a known-good
version, so that a busy machine gives "not checked", never "wrong".
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from parlab.lessons import check
from parlab.lessons.l07.measure import batches, worker_count
from parlab.lessons.l07.tasks import count_window, fib_batch
from parlab.results import format_seconds
from parlab.workloads import count_primes, fib, prime_windows

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["BATCHES", "FUTURES", "GRAPH", "check_batches", "check_futures", "check_graph", "stream_tasks"]

GRAPH = "Exercise 1: build a graph with delayed"
FUTURES = "Exercise 2: futures on the cluster"
BATCHES = "Exercise 3: batch the tiny tasks"

GRAPH_NS = [24, 23, 22, 24, 23, 22, 21, 20]            # about 0.1 s of fib, serially
WINDOWS = prime_windows(24, 6_000, 1_500_000)          # about 30 ms a window (0.7 s serial); not the lesson's own
TINY = random.Random(7).choices(range(5, 18), k=600)    # fib(5) .. fib(17): microseconds; no two batches alike
BATCH_SIZE = 50
TIMEOUT_S = 120.0


def _is_call(task: object) -> bool:
    """True for a graph node that calls a function (dask's Task, or an old-style tuple), not a plain value."""
    if isinstance(task, tuple):
        return bool(task) and callable(task[0])
    return callable(getattr(task, "func", None))


def _kind(value: object) -> str:
    """"delayed", "future", "numbers" or "other": what the learner's code returned, item by item."""
    from dask.delayed import Delayed
    from distributed import Future

    items = list(value) if isinstance(value, list | tuple) else [value]
    if items and all(isinstance(v, Delayed) for v in items):
        return "delayed"
    if items and any(isinstance(v, Future) for v in items):
        return "future"
    if items and all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        return "numbers"
    return "other"


def stream_tasks(client: Client, fn: Callable[[], Any]) -> tuple[check.Outcome, list[dict[str, Any]]]:
    """Run ``fn`` (through ``check.call``) while dask records its task stream; the outcome and the computed tasks."""
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        outcome = check.call(fn, timeout_s=TIMEOUT_S)
    computed = [r for r in stream.data if any(s.get("action") == "compute" for s in r.get("startstops", ()))]
    return outcome, computed


# --------------------------------------------------------------------------- exercise 1

def check_graph(build_graph: Callable[[list[int]], Any], *, timeout_s: float = 60.0) -> check.Verdict:
    """Exercise 1: build_graph(ns) returns one lazy delayed call per n, fast, and compute() gives [fib(n)...]."""
    if check.is_placeholder(build_graph):
        return check.not_answered(GRAPH, "write build_graph(ns) so that it returns a list of delayed calls, "
                                         "then run this cell again.")
    if not callable(build_graph):
        return check.not_a_function(GRAPH, "build_graph", build_graph,
                                    hint="Write def build_graph(ns): return [... for n in ns].")
    import dask

    ns = list(GRAPH_NS)
    serial = check.call(lambda: [fib(n) for n in ns], timeout_s=timeout_s)
    expected = serial.value
    built = check.call(build_graph, list(ns), timeout_s=timeout_s)
    said = f"building took {format_seconds(built.seconds)}; the serial loop takes {format_seconds(serial.seconds)}"
    failed = check.failure(GRAPH, built, "build_graph")
    if failed:
        return failed
    graph, kind = built.value, _kind(built.value)
    if kind == "numbers":
        return check.wrong(GRAPH, "build_graph returned numbers: fib already ran, in the notebook, one call "
                                  "after another. Return the delayed calls, uncomputed.",
                           hint="delayed(fib)(n) records the call; leave compute() to the checker.", details=said)
    if kind != "delayed" or not isinstance(graph, list | tuple):
        return check.wrong(GRAPH, f"build_graph returned {check.short(graph, 60)}, not a list of delayed calls.",
                           hint="Return [delayed(fib)(n) for n in ns]: one delayed object per n.")
    if len(graph) != len(ns):
        return check.wrong(GRAPH, f"build_graph returned {len(graph)} delayed objects for {len(ns)} numbers.",
                           hint="One delayed call per n, in the order of ns.")
    literal = [i for i, d in enumerate(graph) if not _is_call(d.__dask_graph__()[d.key])]
    if literal:
        return check.wrong(GRAPH, "the graph holds finished values, not calls: delayed(fib(n)) runs fib(n) at "
                                  "once, in the notebook, and hands dask only its result.",
                           hint="Wrap the function, then call it: delayed(fib)(n).",
                           details=f"{len(literal)} of {len(ns)} items hold a value; {said}.")
    if serial.seconds > 0.05 and built.seconds >= 0.5 * serial.seconds:
        return check.wrong(GRAPH, "building the graph took as long as the serial loop: the work ran while "
                                  "the graph was built, not when it was computed.",
                           hint="Call nothing inside build_graph but delayed(fib)(n).", details=said)
    computed = check.call(lambda: list(dask.compute(*graph, scheduler="sync")), timeout_s=timeout_s)
    failed = check.failure(GRAPH, computed, "computing your graph")
    if failed:
        return failed
    return (check.same_results(GRAPH, computed.value, expected, "computing your graph")
            or check.right(GRAPH, "one lazy call per n, built at once; compute() ran them and gave the serial "
                                  "results.", details=f"{len(ns)} delayed calls; {said}."))


# --------------------------------------------------------------------------- exercise 2

def _futures_solution(client: Client, windows: list[tuple[int, int]]) -> list[int]:
    """Exercise 2's known-good version, timed beside the learner's."""
    return list(client.gather(client.map(count_window, windows, pure=False)))


def _results_of(exercise: str, value: object, what: str) -> check.Verdict | None:
    """The wrong verdict for futures never gathered or a graph never computed; None for plain results."""
    kind = _kind(value)
    if kind == "future":
        return check.wrong(exercise, f"{what} returned futures, not results: a future is a handle on a task "
                                     "that runs (or ran) on a worker.",
                           hint="Wait for them and fetch their values with client.gather(futures).")
    if kind == "delayed":
        return check.wrong(exercise, f"{what} returned a lazy graph that was never computed: nothing ran.",
                           hint="Submit the work with client.submit or client.map, then client.gather.")
    return None


def check_futures(primes_on_cluster: Callable[[Client, list[tuple[int, int]]], Any], client: Client, *,
                  rounds: int = 3) -> check.Verdict:
    """Exercise 2: primes_on_cluster(client, windows) runs one task per window on the workers and gathers them."""
    if check.is_placeholder(primes_on_cluster):
        return check.not_answered(FUTURES, "write primes_on_cluster(client, windows) with client.map or "
                                           "client.submit and client.gather, then run this cell again.")
    if not callable(primes_on_cluster):
        return check.not_a_function(FUTURES, "primes_on_cluster", primes_on_cluster)
    windows = list(WINDOWS)
    expected = [count_primes(lo, hi) for lo, hi in windows]
    outcome, tasks = stream_tasks(client, lambda: primes_on_cluster(client, list(windows)))
    if outcome.error is not None and "callable" in str(outcome.error):
        return check.wrong(FUTURES, f"primes_on_cluster raised {type(outcome.error).__name__}: {outcome.error}",
                           hint="client.submit(count_primes, lo, hi) sends the function and its arguments; "
                                "client.submit(count_primes(lo, hi)) would count in the notebook first.",
                           details=outcome.traceback)
    failed = check.failure(FUTURES, outcome, "primes_on_cluster")
    if failed:
        return failed
    got = outcome.value
    failed = _results_of(FUTURES, got, "primes_on_cluster") or check.same_results(
        FUTURES, list(got) if isinstance(got, list | tuple) else got, expected, "primes_on_cluster")
    if failed:
        return failed
    if not tasks:
        return check.wrong(FUTURES, "the results are right, but no task ran on the cluster: the counting "
                                    "happened here, in the notebook.",
                           hint="Send the work to the workers: client.map(count_primes, los, his).")
    if len(tasks) == 1 and len(windows) > 1:
        return check.wrong(FUTURES, "the results are right, but one task did all the work, on one worker: "
                                    "nothing ran in parallel.",
                           hint="One task per window: client.map(count_primes, los, his), or client.submit "
                                "in a loop.")
    workers = max(1, worker_count(client))
    verdict = check.timed_speed(
        FUTURES, lambda: [count_primes(lo, hi) for lo, hi in windows],
        lambda: check.rerun(FUTURES, primes_on_cluster, client, list(windows), expected=expected,
                            what="primes_on_cluster", timeout_s=TIMEOUT_S),
        workers, reference=lambda: _futures_solution(client, windows), what="primes_on_cluster", rounds=rounds)
    note = f"{len(tasks)} tasks ran on the cluster's workers."
    return replace(verdict, details=f"{note}\n{verdict.details}")


# --------------------------------------------------------------------------- exercise 3

def check_batches(fib_in_batches: Callable[[Client, list[int], int], Any], client: Client) -> check.Verdict:
    """Exercise 3: fib_in_batches(client, ns, size) runs one task per batch of ``size`` and returns one flat list."""
    if check.is_placeholder(fib_in_batches):
        return check.not_answered(BATCHES, "write fib_in_batches(client, ns, size), then run this cell again.")
    if not callable(fib_in_batches):
        return check.not_a_function(BATCHES, "fib_in_batches", fib_in_batches)
    ns, size = list(TINY), BATCH_SIZE
    expected = [fib(n) for n in ns]
    want = math.ceil(len(ns) / size)
    outcome, tasks = stream_tasks(client, lambda: fib_in_batches(client, list(ns), size))
    failed = check.failure(BATCHES, outcome, "fib_in_batches")
    if failed:
        return failed
    got = outcome.value
    parts = [list(p) for p in got if isinstance(p, list | tuple)] if isinstance(got, list | tuple) else []
    if parts and parts == batches(expected, size):
        return check.wrong(BATCHES, f"fib_in_batches returned {len(got)} lists, one per batch: the results are "
                                    "right but not joined into one list.",
                           hint="Flatten: [x for part in parts for x in part].")
    failed = _results_of(BATCHES, got, "fib_in_batches") or check.same_results(
        BATCHES, list(got) if isinstance(got, list | tuple) else got, expected, "fib_in_batches")
    if failed:
        return failed
    said = f"{len(ns)} items in batches of {size}: {want} batches; the cluster ran {len(tasks)} tasks."
    if not tasks:
        return check.wrong(BATCHES, "the results are right, but no task ran on the cluster: the work ran here, "
                                    "in the notebook.", hint="client.map(your_batch_function, the_batches).",
                           details=said)
    from dask.utils import key_split

    per_item = [t for t in tasks if key_split(t["key"]) == "fib"]
    if per_item or len(tasks) >= len(ns) // 2:
        return check.wrong(BATCHES, f"the results are right, but the cluster ran fib as a task of its own "
                                    f"for each item ({len(tasks)} tasks; identical calls are run once): one "
                                    "task per item, so the scheduler's cost per task dominates.",
                           hint=f"Cut ns into lists of {size} and send one task per list.", details=said)
    if len(tasks) == 1:
        return check.wrong(BATCHES, "the results are right, but all the items ran in one task, on one worker: "
                                    "batches of `size` make several tasks the workers share.",
                           hint=f"Cut ns into lists of {size}: ns[i:i + size] for i in range(0, len(ns), size).",
                           details=said)
    if not want <= len(tasks) <= 2 * want + 1:
        return check.wrong(BATCHES, f"the results are right, but the cluster ran {len(tasks)} tasks, not one per "
                                    f"batch of {size} ({want}).",
                           hint=f"Cut ns into lists of {size}: ns[i:i + size] for i in range(0, len(ns), size).",
                           details=said)
    return check.right(BATCHES, "one task per batch, run on the workers, and the results joined in order.",
                       details=said)


def solution_batches(client: Client, ns: Sequence[int], size: int) -> list[int]:
    """Exercise 3's known-good version (tests use it)."""
    parts = client.gather(client.map(fib_batch, batches(list(ns), size), pure=False))
    return [x for part in parts for x in part]
