"""Lesson 01a's exercise checkers: each accepts the solution, says "not answered yet" for the
placeholder, and rejects realistic wrong answers with words the learner can act on.

Speed is never asserted: exercise 2's solution is checked as on one usable core (correctness
only), and exercise 3's waits are long enough (200 ms) that overlapping them is unmistakable.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import pytest

from parlab.lessons.l01 import exercises_a as ex
from parlab.results import Metadata
from parlab.workloads import request_reply

# Six distinct windows of 4 MiB into one block, as hash_buffers makes them: quick to hash, but each
# thread's share takes milliseconds, so threads started together are seen alive together.
_BLOCK = memoryview(hashlib.shake_256(b"parlab test 01a").digest((4 << 20) + 5 * (64 << 10)))
BUFFERS = [_BLOCK[i * (64 << 10): i * (64 << 10) + (4 << 20)] for i in range(6)]
FAST = {"trips": 8, "workers": 8, "delay_s": 0.2}      # exercise 3: a serial loop needs >= 1.6 s


def _meta(free: bool, gil_on: bool, cores: int = 2) -> Metadata:
    return Metadata(cores, "3.13.5", "CPython", free, gil_on, "forkserver", "Linux x86_64",
                    "2026-12-01T00:00:00+00:00")


# --------------------------------------------------------------------------- the learner's answers

def placeholder(buffers, workers):
    """The learner's cell as committed."""
    # results = [None] * len(buffers)
    ...  # noqa: PIE790 (the placeholder the checker must recognise)


def hash_with_threads(buffers, workers):
    results = [None] * len(buffers)

    def work(w):
        for i in range(w, len(buffers), workers):
            results[i] = hashlib.sha256(buffers[i]).hexdigest()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def hash_serially(buffers, workers):
    return [hashlib.sha256(b).hexdigest() for b in buffers]


def hash_never_joined(buffers, workers):
    results = [None] * len(buffers)
    gate = threading.Event()

    def work(w):
        gate.wait(5)  # the function returns before any thread is done
        for i in range(w, len(buffers), workers):
            results[i] = hashlib.sha256(buffers[i]).hexdigest()

    for w in range(workers):
        threading.Thread(target=work, args=(w,)).start()
    snapshot = list(results)
    gate.set()
    return snapshot


def hash_left_running(buffers, workers):
    done = threading.Event()
    results = hash_with_threads(buffers, workers)
    threading.Thread(target=done.wait, args=(2,), name="forgotten").start()
    return results


def hash_wrong_algorithm(buffers, workers):
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda b: hashlib.md5(b).hexdigest(), buffers))


def hash_one_thread(buffers, workers):
    out: list[str] = []
    thread = threading.Thread(target=lambda: out.extend(hash_serially(buffers, workers)))
    thread.start()
    thread.join()
    return out


def hash_lazily(buffers, workers):
    return (hashlib.sha256(b).hexdigest() for b in buffers)  # a generator: nothing is hashed yet


def hash_pool_map_returned(buffers, workers):
    with ThreadPoolExecutor(workers) as pool:
        return pool.map(lambda b: hashlib.sha256(b).hexdigest(), buffers)  # the map iterator, not a list


def hash_start_then_join_each(buffers, workers):
    results = [None] * len(buffers)

    def work(w):
        for i in range(w, len(buffers), workers):
            results[i] = hashlib.sha256(buffers[i]).hexdigest()

    for w in range(workers):
        t = threading.Thread(target=work, args=(w,))
        t.start()
        t.join()  # waits for this thread before starting the next: one at a time
    return results


def hash_target_called(buffers, workers):
    results = [None] * len(buffers)

    def work(w):
        for i in range(w, len(buffers), workers):
            results[i] = hashlib.sha256(buffers[i]).hexdigest()

    threads = [threading.Thread(target=work(w)) for w in range(workers)]  # work(w) runs here, now
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def hash_on_a_pool(buffers, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda b: hashlib.sha256(b).hexdigest(), buffers))


def hash_in_slices(buffers, workers):
    parts = [None] * workers

    def work(w):
        parts[w] = [hashlib.sha256(b).hexdigest() for b in buffers[w::workers]]

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    out = [None] * len(buffers)
    for w in range(workers):
        out[w::workers] = parts[w]
    return out


def hash_that_hangs(buffers, workers):
    threading.Event().wait()


def hash_that_raises(buffers, workers):
    return [hashlib.sha256(b).hexdigest() for b in buffers[workers]]


def fetch_all(tasks, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(request_reply, *task) for task in tasks]
        return [f.result(timeout=30) for f in futures]


def fetch_with_map(tasks, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda task: request_reply(*task), tasks))


def fetch_as_completed(tasks, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(request_reply, *task) for task in tasks]
        return [f.result() for f in as_completed(futures)]


def fetch_reversed(tasks, workers):
    return fetch_all(tasks, workers)[::-1]


def fetch_serially(tasks, workers):
    return [request_reply(*task) for task in tasks]


def fetch_futures(tasks, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [pool.submit(request_reply, *task) for task in tasks]


def fetch_one_at_a_time(tasks, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [pool.submit(request_reply, *task).result() for task in tasks]


def fetch_on_threads_by_hand(tasks, workers):
    replies = [None] * len(tasks)

    def work(w):
        for i in range(w, len(tasks), workers):
            replies[i] = request_reply(*tasks[i])

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


def fetch_lazily(tasks, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return pool.map(lambda task: request_reply(*task), tasks)


def fetch_that_hangs(tasks, workers):
    threading.Event().wait()


# --------------------------------------------------------------------------- exercise 1

@pytest.mark.parametrize("answer", [..., None])
def test_prediction_not_answered(answer):
    verdict = ex.check_prediction(answer, measured=1.0, meta=_meta(False, True))
    assert verdict.status == "not answered" and "my_prediction" in verdict.headline


def test_prediction_with_the_gil_on():
    meta = _meta(False, True)
    right = ex.check_prediction(1.0, measured=0.97, meta=meta)
    assert right.right and "measured 0.97×" in right.details and "take turns" in right.details
    wrong = ex.check_prediction(2, measured=0.97, meta=meta)
    assert wrong.status == "wrong" and "1.03× higher than the measurement" in wrong.headline


def test_prediction_without_a_gil():
    meta = _meta(True, False, cores=8)
    assert ex.check_prediction(2.0, measured=1.9, meta=meta).right
    wrong = ex.check_prediction(1.0, measured=1.9, meta=meta)
    assert wrong.status == "wrong" and "lower than the measurement" in wrong.headline
    assert "no GIL in this build" in wrong.details


def test_a_missed_prediction_on_a_busy_machine_is_not_checked():
    # Predicted 2x without a GIL, measured 0.88x: were the threads slow, or were the cores taken?
    meta = _meta(True, False, cores=2)
    busy = ex.check_prediction(2.0, measured=0.88, overlap=1.05, meta=meta)
    assert busy.status == "not checked" and "too busy to measure threads" in busy.headline
    assert "even hashlib" in busy.headline and "1.05×" in busy.headline and "measured 0.88×" in busy.details
    quiet = ex.check_prediction(2.0, measured=0.88, overlap=1.9, meta=meta)
    assert quiet.status == "wrong"  # hashlib's threads ran side by side: the measurement stands
    assert ex.check_prediction(2.0, measured=0.88, overlap=1.05, meta=_meta(True, False, cores=1)).status == "wrong"


@pytest.mark.slow
def test_threads_overlap_is_measured_on_hashlib():
    assert ex.measure_threads_overlap(2, pairs=1) > 0  # it raises if the threads' digests differ


def test_prediction_must_be_a_number():
    verdict = ex.check_prediction("two", measured=1.0, meta=_meta(False, True))
    assert verdict.status == "wrong" and "must be a number, not str" in verdict.headline


def test_prediction_is_measured_on_checked_threads():
    assert ex.prime_ranges()[0] == (1_000_000, 1_005_000)
    assert ex.prime_ranges(2, 100) == [(1_000_000, 1_000_100), (1_000_100, 1_000_200)]
    assert ex.measure_primes_speedup(2, pairs=1) > 0  # it raises if the threads' counts differ


# --------------------------------------------------------------------------- exercise 2

def _hash(fn, **kwargs):
    return ex.check_hash_threads(fn, buffers=BUFFERS, workers=3, cores=1, repeats=1, **kwargs)


@pytest.mark.parametrize("answer", [placeholder, ..., None])
def test_hash_threads_not_answered(answer):
    verdict = _hash(answer)
    assert verdict.status == "not answered" and "write hash_with_threads" in verdict.headline


@pytest.mark.parametrize("answer", [hash_with_threads, hash_on_a_pool, hash_in_slices])
def test_hash_threads_accepts_the_solution_and_other_right_ways(answer):
    verdict = _hash(answer)
    assert verdict.right, verdict
    assert "only correctness was checked" in verdict.headline  # one usable core, as asked


@pytest.mark.parametrize(("answer", "words"), [
    (hash_lazily, "returned a generator object, not a list of results"),
    (hash_pool_map_returned, "returned a generator object, not a list of results"),
])
def test_hash_threads_rejects_an_iterator_for_the_results(answer, words):
    verdict = _hash(answer)
    assert verdict.status == "wrong" and words in verdict.headline and "list(pool.map(...))" in verdict.hint


@pytest.mark.parametrize("answer", [hash_start_then_join_each, hash_target_called])
def test_hash_threads_rejects_threads_that_ran_one_at_a_time(answer):
    verdict = _hash(answer)
    assert verdict.status == "wrong" and "they ran one at a time" in verdict.headline
    assert "then join them all in a second loop" in verdict.hint and "target=work(w)" in verdict.hint


def test_hash_threads_rejects_a_serial_version():
    verdict = _hash(hash_serially)
    assert verdict.status == "wrong" and "started no threads" in verdict.headline


def test_hash_threads_rejects_threads_never_joined():
    verdict = _hash(hash_never_joined)
    assert verdict.status == "wrong" and "still None" in verdict.headline and "join()" in verdict.hint


def test_hash_threads_rejects_a_thread_left_running():
    verdict = _hash(hash_left_running)
    assert verdict.status == "wrong" and "still running" in verdict.headline and "forgotten" in verdict.details


def test_hash_threads_rejects_wrong_results():
    verdict = _hash(hash_wrong_algorithm)
    assert verdict.status == "wrong" and "differs from the serial result at position 0" in verdict.headline


def test_hash_threads_rejects_too_few_threads():
    verdict = _hash(hash_one_thread)
    assert verdict.status == "wrong" and "started 1 thread(s); it was asked for 3" in verdict.headline


@pytest.mark.slow
def test_hash_threads_names_a_hang():
    verdict = _hash(hash_that_hangs, timeout_s=0.5)
    assert verdict.status == "timeout" and "did not finish within 0.500 s" in verdict.headline


def test_hash_threads_shows_the_learners_error():
    verdict = _hash(hash_that_raises)
    assert verdict.status == "error" and "TypeError" in verdict.headline
    assert "hash_that_raises" in verdict.details


def test_hash_threads_refuses_what_is_not_a_function():
    verdict = _hash(42)
    assert verdict.status == "wrong" and "must be a function, not int" in verdict.headline


def test_hash_buffers_are_distinct_and_large_enough_to_time():
    buffers = ex.hash_buffers()
    assert len(buffers) == 12 and all(len(b) == 32 << 20 for b in buffers)
    assert len({bytes(b[:64]) for b in buffers}) == 12  # windows at different offsets: different bytes
    assert buffers[0].obj is buffers[11].obj  # one block in memory, not twelve


# --------------------------------------------------------------------------- exercise 3

@pytest.mark.parametrize("answer", [fetch_all, fetch_with_map, fetch_on_threads_by_hand])
@pytest.mark.slow
def test_fetch_all_accepts_the_solution(answer):
    verdict = ex.check_fetch_all(answer, **FAST)
    assert verdict.right, verdict
    assert verdict.headline == "the replies are right, in order, and the waits overlapped."
    assert "with 8 workers on" in verdict.details and "(waiting tasks need no core)" in verdict.details


@pytest.mark.slow
def test_fetch_all_on_a_busy_machine_is_not_checked(monkeypatch):
    # Every run takes as long on this clock, the known-good pool's too: the waits could not
    # be seen to overlap just now, so a right answer is "not checked", not "wrong".
    ticks = iter(range(10**6))
    monkeypatch.setattr(ex.check.sandbox, "CLOCK", lambda: float(next(ticks)))
    verdict = ex.check_fetch_all(fetch_all, trips=4, workers=4, delay_s=0.01)
    assert verdict.status == "not checked" and "too busy to judge the speed" in verdict.headline
    assert "(waiting tasks need no core)" in verdict.details and "known-good" in verdict.details


def test_fetch_all_not_answered():
    def learner(tasks, workers):
        """request_reply(*task) for every task."""
        # with ThreadPoolExecutor(max_workers=workers) as pool:
        ...  # noqa: PIE790 (the placeholder the checker must recognise)

    for value in (learner, ...):
        verdict = ex.check_fetch_all(value, **FAST)
        assert verdict.status == "not answered" and "write fetch_all" in verdict.headline


def test_fetch_all_rejects_reordered_replies():
    verdict = ex.check_fetch_all(fetch_reversed, trips=8, workers=8, delay_s=0.01)
    assert verdict.status == "wrong" and "differs from the serial result at position 0" in verdict.headline
    assert "as_completed" in verdict.hint


def test_fetch_all_as_completed_is_right_only_when_the_order_happens_to_hold():
    verdict = ex.check_fetch_all(fetch_as_completed, trips=8, workers=8, delay_s=0.01)
    # Replies in the order they came back: right only when that happens to be the tasks' order.
    assert verdict.right or verdict.status == "not checked" or (
        verdict.status == "wrong" and ("differs from the serial result" in verdict.headline
                                       or "as fast" in verdict.headline)), str(verdict)


def test_fetch_all_rejects_a_serial_loop():
    verdict = ex.check_fetch_all(fetch_serially, trips=4, workers=4, delay_s=0.01)
    assert verdict.status == "wrong" and "started no threads" in verdict.headline


def test_fetch_all_rejects_futures_for_results():
    verdict = ex.check_fetch_all(fetch_futures, trips=4, workers=4, delay_s=0.01)
    assert verdict.status == "wrong" and "Future objects" in verdict.headline and ".result()" in verdict.hint


@pytest.mark.slow
def test_fetch_all_rejects_waiting_for_each_before_sending_the_next():
    verdict = ex.check_fetch_all(fetch_one_at_a_time, trips=8, workers=8, delay_s=0.1)
    # The pool starts a thread per submit while none is idle: 1 here, 2 on a free-threaded build.
    assert verdict.status == "wrong" and re.search(r"started [12] thread\(s\); it was asked for 8", verdict.headline)
    assert "before you wait for any result" in verdict.hint


def test_fetch_all_rejects_the_map_iterator_for_the_replies():
    verdict = ex.check_fetch_all(fetch_lazily, trips=4, workers=4, delay_s=0.01)
    assert verdict.status == "wrong" and "not a list of results" in verdict.headline


@pytest.mark.slow
def test_fetch_all_names_a_hang():
    verdict = ex.check_fetch_all(fetch_that_hangs, trips=2, workers=2, delay_s=0.01, timeout_s=0.5)
    assert verdict.status == "timeout" and "fetch_all(tasks, 2)" in verdict.headline


def test_thread_watch_sees_the_learners_threads_only():
    with ex.ThreadWatch() as watch:
        t = threading.Thread(target=lambda: None, name="learner-1")
        t.start()
        t.join()
    assert watch.started == ["learner-1"] and watch.still_running() == []
    assert threading.getprofile() is None
    assert threading.Thread.start is START and threading.Thread.join is JOIN  # put back


START, JOIN = threading.Thread.start, threading.Thread.join


def test_thread_watch_tells_one_at_a_time_from_the_calls_not_from_timing():
    # The second thread starts only after the first has finished, as a busy machine can make it
    # happen; but both were started before either was joined: not one at a time.
    with ex.ThreadWatch() as watch:
        first, second = (threading.Thread(target=lambda: None, name=f"learner-{i}") for i in (1, 2))
        first.start()
        while first.is_alive():
            time.sleep(0.001)
        second.start()
        first.join()
        second.join()
    assert watch.started == ["learner-1", "learner-2"] and not watch.one_at_a_time()
    with ex.ThreadWatch() as watch:
        for i in (1, 2):
            t = threading.Thread(target=lambda: None, name=f"learner-{i}")
            t.start()
            t.join()
    assert watch.joined_before_start and watch.one_at_a_time()
    with ex.ThreadWatch() as watch:
        idle = [threading.Thread(target=None) for _ in range(2)]  # target=work(w): work(w) returned None
        for t in idle:
            t.start()
        for t in idle:
            t.join()
    assert watch.without_work == 2 and watch.one_at_a_time()


def test_a_speed_check_on_a_busy_machine_says_it_could_not_judge(monkeypatch):
    # Every run takes the same time on this clock, the known-good threads' too: the machine
    # could show no speedup just now, so a right answer is "not checked", not "wrong".
    ticks = iter(range(10**6))
    monkeypatch.setattr(ex.check.sandbox, "CLOCK", lambda: float(next(ticks)))
    verdict = ex.check_hash_threads(hash_with_threads, buffers=BUFFERS, workers=2, cores=2, repeats=2)
    assert verdict.status == "not checked"
    assert "too busy to judge the speed" in verdict.headline and "known-good" in verdict.details
