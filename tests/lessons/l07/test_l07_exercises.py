"""Lesson 07's checkers: each accepts the solution and right answers written differently, says "not answered
yet" for the placeholder, and rejects the mistakes learners make, in the words the learner reads."""

from __future__ import annotations

import itertools
import sys

import cloudpickle
import dask
import pytest
from dask import delayed

from parlab.lessons.l07 import exercises as ex
from parlab.lessons.l07.tasks import fib_batch
from parlab.workloads import count_primes, fib, prime_windows

# The learners' functions below travel to the workers by value, as a notebook cell's do.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


# --------------------------------------------------------------------------- exercise 1

def placeholder_graph(ns):
    ...


def solution_graph(ns):
    return [delayed(fib)(n) for n in ns]


def mapped_graph(ns):
    return list(map(delayed(fib, pure=True), ns))


def wrapped_graph(ns):
    @delayed
    def one(n):
        return fib(n)

    return tuple(one(n) for n in ns)


def eager_graph(ns):
    return [delayed(fib(n)) for n in ns]


def numbers_graph(ns):
    return [fib(n) for n in ns]


def computed_graph(ns):
    return dask.compute(*[delayed(fib)(n) for n in ns])


def one_literal_graph(ns):
    return delayed([fib(n) for n in ns])


def short_graph(ns):
    return [delayed(fib)(n) for n in ns[:3]]


def wrong_args_graph(ns):
    return [delayed(fib)(n - 1) for n in ns]


@pytest.mark.parametrize("answer", [solution_graph, mapped_graph, wrapped_graph])
def test_graph_accepts_right_answers(answer):
    verdict = ex.check_graph(answer)
    assert verdict.status == "right", str(verdict)


def test_graph_placeholder_is_not_answered():
    verdict = ex.check_graph(placeholder_graph)
    assert verdict.status == "not answered" and "not answered yet" in str(verdict)


@pytest.mark.parametrize(("answer", "words"), [
    (eager_graph, "delayed(fib(n)) runs fib(n) at once"),
    (numbers_graph, "returned numbers: fib already ran"),
    (computed_graph, "returned numbers: fib already ran"),
    (one_literal_graph, "not a list of delayed calls"),
    (short_graph, "returned 3 delayed objects for 8 numbers"),
    (wrong_args_graph, "differs from the serial result at position 0"),
])
def test_graph_rejects_realistic_mistakes(answer, words):
    verdict = ex.check_graph(answer)
    assert verdict.status == "wrong" and words in str(verdict), str(verdict)


def test_graph_slow_build_is_caught(monkeypatch):
    # A graph of real calls whose building still ran the work (fib called, then wrapped).
    def build(ns):
        values = [fib(n) for n in ns]
        return [delayed(int)(v) for v in values]

    # Each timed call one tick of a fixed clock: building "took as long as" the serial loop whatever
    # the load (the real build runs every fib, the real loop too), so the verdict cannot flake.
    ticks = itertools.count()
    monkeypatch.setattr(ex.check.sandbox, "CLOCK", lambda: float(next(ticks)))
    verdict = ex.check_graph(build)
    assert verdict.status == "wrong" and "took as long as the serial loop" in str(verdict)


# --------------------------------------------------------------------------- exercise 2

def placeholder_futures(client, windows):
    ...


def solution_futures(client, windows):
    los, his = zip(*windows, strict=True)
    return client.gather(client.map(count_primes, los, his))


def submitted_futures(client, windows):
    futures = [client.submit(count_primes, lo, hi, pure=False) for lo, hi in windows]
    return [f.result(timeout=60) for f in futures]


def completed_futures(client, windows):
    from distributed import as_completed

    futures = {client.submit(count_primes, lo, hi): i for i, (lo, hi) in enumerate(windows)}
    out = [None] * len(windows)
    for future in as_completed(futures):
        out[futures[future]] = future.result()
    return out


def serial_futures(client, windows):
    return [count_primes(lo, hi) for lo, hi in windows]


def ungathered_futures(client, windows):
    return [client.submit(count_primes, lo, hi) for lo, hi in windows]


def lazy_futures(client, windows):
    return [delayed(count_primes)(lo, hi) for lo, hi in windows]


def one_task_futures(client, windows):
    return client.submit(lambda: [count_primes(lo, hi) for lo, hi in windows]).result()


def eager_submit_futures(client, windows):
    return client.gather([client.submit(count_primes(lo, hi)) for lo, hi in windows])


def unordered_futures(client, windows):
    from distributed import as_completed

    futures = [client.submit(count_primes, lo, hi) for lo, hi in reversed(windows)]
    return [f.result() for f in as_completed(futures)]  # the order they finished in


@pytest.mark.parametrize("answer", [solution_futures, submitted_futures, completed_futures])
@pytest.mark.slow
def test_futures_accepts_right_answers(client, answer, monkeypatch):
    # Every run one tick of a fixed clock: the speed verdict cannot depend on how busy the machine is
    # (the known-good version misses the mark too, so "not checked"); the mechanism is still judged.
    # On that clock the work's size decides nothing: windows a tenth as wide, as many of them.
    ticks = itertools.count()
    monkeypatch.setattr(ex.check.sandbox, "CLOCK", lambda: float(next(ticks)))
    (lo, hi), count = ex.WINDOWS[0], len(ex.WINDOWS)
    monkeypatch.setattr(ex, "WINDOWS", prime_windows(count, (hi - lo) // 10, lo))
    verdict = ex.check_futures(answer, client)
    assert verdict.status in ("right", "not checked"), str(verdict)
    assert f"{count} tasks ran on the cluster's workers" in verdict.details


def test_futures_placeholder_is_not_answered(client):
    assert ex.check_futures(placeholder_futures, client).status == "not answered"


@pytest.mark.parametrize(("answer", "words"), [
    (serial_futures, "no task ran on the cluster"),
    (ungathered_futures, "returned futures, not results"),
    (lazy_futures, "a lazy graph that was never computed"),
    (one_task_futures, "one task did all the work"),
    (eager_submit_futures, "client.submit(count_primes(lo, hi)) would count in the notebook"),
    (unordered_futures, "differs from the serial result"),
])
@pytest.mark.slow
def test_futures_rejects_realistic_mistakes(client, answer, words):
    verdict = ex.check_futures(answer, client)
    assert verdict.status == "wrong" and words in str(verdict), str(verdict)


# --------------------------------------------------------------------------- exercise 3

def placeholder_batches(client, ns, size):
    ...


def solution_batches(client, ns, size):
    def fib_many(part):
        return [fib(n) for n in part]

    parts = client.gather(client.map(fib_many, [ns[i:i + size] for i in range(0, len(ns), size)]))
    return [x for part in parts for x in part]


def submitted_batches(client, ns, size):
    futures = [client.submit(fib_batch, ns[i:i + size]) for i in range(0, len(ns), size)]
    out = []
    for f in futures:
        out.extend(f.result())
    return out


def bagged_batches(client, ns, size):
    import itertools

    parts = client.gather(client.map(fib_batch, [list(b) for b in itertools.batched(ns, size)])) \
        if hasattr(itertools, "batched") else client.gather(
            client.map(fib_batch, [ns[i:i + size] for i in range(0, len(ns), size)]))
    return list(itertools.chain.from_iterable(parts))


def per_item_batches(client, ns, size):
    return client.gather(client.map(fib, ns, pure=False))


def per_item_pure_batches(client, ns, size):
    return client.gather(client.map(fib, ns))  # pure: identical calls share one task


def one_task_batches(client, ns, size):
    return client.submit(fib_batch, ns).result()


def unflattened_batches(client, ns, size):
    return client.gather(client.map(fib_batch, [ns[i:i + size] for i in range(0, len(ns), size)]))


def serial_batches(client, ns, size):
    return [fib(n) for n in ns]


def dropped_batches(client, ns, size):
    parts = client.gather(client.map(fib_batch, [ns[i:i + size] for i in range(0, len(ns) - size, size)]))
    return [x for part in parts for x in part]


def wrong_size_batches(client, ns, size):
    parts = client.gather(client.map(fib_batch, [ns[i:i + 5] for i in range(0, len(ns), 5)]))
    return [x for part in parts for x in part]


@pytest.mark.parametrize("answer", [solution_batches, submitted_batches, bagged_batches, ex.solution_batches])
def test_batches_accepts_right_answers(client, answer):
    verdict = ex.check_batches(answer, client)
    assert verdict.status == "right", str(verdict)


def test_batches_placeholder_is_not_answered(client):
    assert ex.check_batches(placeholder_batches, client).status == "not answered"


@pytest.mark.parametrize(("answer", "words"), [
    (per_item_batches, "one task per item"),
    (per_item_pure_batches, "one task per item"),
    (one_task_batches, "all the items ran in one task"),
    (unflattened_batches, "not joined into one list"),
    (serial_batches, "no task ran on the cluster"),
    (dropped_batches, "gave 550 results; the serial code gives 600"),
    (wrong_size_batches, "not one per batch of 50"),
])
@pytest.mark.slow
def test_batches_rejects_realistic_mistakes(client, answer, words):
    verdict = ex.check_batches(answer, client)
    assert verdict.status == "wrong" and words in str(verdict), str(verdict)


def test_a_broken_answer_is_an_error_with_the_learners_traceback(client):
    def broken(client, ns, size):
        raise RuntimeError("oops")

    verdict = ex.check_batches(broken, client)
    assert verdict.status == "error" and "oops" in verdict.details
