"""Lesson 01b's exercise checkers: each accepts the solution, says "not answered" for the scaffold, rejects mistakes."""

from __future__ import annotations

import asyncio
import queue
import threading

import pytest

from parlab.lessons.l01 import exercises_b as ex

# --------------------------------------------------------------------------- exercise 1: a lock

lock = threading.Lock()
blank_lock = ...


def scaffold_bump(counter, times):
    for _ in range(times):
        counter.value = ex.add_one(counter.value)  # uses blank_lock below: still unanswered
        _ = blank_lock


def solution_bump(counter, times):
    for _ in range(times):
        with lock:
            counter.value = ex.add_one(counter.value)


def no_lock_bump(counter, times):
    for _ in range(times):
        counter.value = ex.add_one(counter.value)


def own_lock_bump(counter, times):
    mine = threading.Lock()
    for _ in range(times):
        with mine:
            counter.value = ex.add_one(counter.value)


dead_lock = threading.Lock()  # its own: the stuck threads keep it held after the test


def twice_locked_bump(counter, times):
    for _ in range(times):
        with dead_lock:
            with dead_lock:
                counter.value = ex.add_one(counter.value)


@pytest.mark.slow
def test_lock_accepts_the_solution():
    verdict = ex.check_lock(solution_bump)
    assert verdict.right, str(verdict)
    assert "every run counted exactly" in verdict.headline and "80,000" in verdict.details


@pytest.mark.parametrize("answer", [..., None, scaffold_bump])
def test_lock_says_not_answered_for_the_scaffold(answer):
    verdict = ex.check_lock(answer)
    assert verdict.status == "not answered"
    assert "threading.Lock" in verdict.headline


def test_lock_rejects_no_lock():
    verdict = ex.check_lock(no_lock_bump)
    assert verdict.status == "wrong"
    assert "updates were lost" in verdict.headline
    assert "Hold one shared lock" in verdict.hint


def test_lock_rejects_a_lock_made_in_each_thread():
    verdict = ex.check_lock(own_lock_bump)
    assert verdict.status == "wrong"
    assert "updates were lost" in verdict.headline
    assert "makes a new lock on every call" in verdict.hint


@pytest.mark.slow
def test_lock_names_a_deadlock():
    verdict = ex.check_lock(twice_locked_bump, timeout_s=1.5)
    assert verdict.status == "timeout"
    assert "deadlock" in verdict.headline
    assert "not reentrant" in verdict.hint


def test_lock_reports_an_error_with_the_traceback():
    def broken(counter, times):
        counter.valu = ex.add_one(counter.value)
        raise RuntimeError("boom")

    verdict = ex.check_lock(broken)
    assert verdict.status == "error"
    assert "RuntimeError" in verdict.headline and "boom" in verdict.details


def test_lock_restores_the_switch_interval():
    import sys
    before = sys.getswitchinterval()
    ex.check_lock(no_lock_bump)
    assert sys.getswitchinterval() == before


# --------------------------------------------------------------------------- exercise 2: a queue

STOP = object()


def solution_consumer(q, out):
    while True:
        item = q.get(timeout=5)
        if item is STOP:
            return
        out.append(ex.slow_square(item))


def solution_pipeline(items, consumers):
    q = queue.Queue(maxsize=8)
    out = []
    threads = [threading.Thread(target=solution_consumer, args=(q, out)) for _ in range(consumers)]
    for t in threads:
        t.start()
    for item in items:
        q.put(item, timeout=5)
    for _ in threads:
        q.put(STOP, timeout=5)
    for t in threads:
        t.join(timeout=5)
    return out


def scaffold_consumer(q, out):
    while True:
        item = q.get(timeout=5)
        if item is STOP:
            ...
        out.append(ex.slow_square(item))


def scaffold_pipeline(items, consumers):
    q = queue.Queue(maxsize=8)
    out = []
    threads = [threading.Thread(target=scaffold_consumer, args=(q, out)) for _ in range(consumers)]
    for t in threads:
        t.start()
    for item in items:
        q.put(item, timeout=5)
    for t in threads:
        t.join(timeout=5)
    return out


def endless_consumer(q, out):
    while True:
        item = q.get()  # no stop signal is ever handled, and no timeout
        if item is STOP:
            continue
        out.append(ex.slow_square(item))


def never_stopping_pipeline(items, consumers):
    q = queue.Queue(maxsize=8)
    out = []
    threads = [threading.Thread(target=endless_consumer, args=(q, out), daemon=True) for _ in range(consumers)]
    for t in threads:
        t.start()
    for item in items:
        q.put(item, timeout=5)
    for _ in threads:
        q.put(STOP, timeout=5)
    for t in threads:
        t.join()  # waits for ever
    return out


def impatient_consumer(q, out):
    while not q.empty():  # stops whenever the queue is empty for a moment
        item = q.get(timeout=5)
        if item is STOP:
            return
        out.append(ex.slow_square(item))


def lossy_pipeline(items, consumers):
    q = queue.Queue(maxsize=8)
    out = []
    threads = [threading.Thread(target=impatient_consumer, args=(q, out)) for _ in range(consumers)]
    for t in threads:
        t.start()  # the consumers start before any item: they see an empty queue and stop
    for item in items:
        try:
            q.put(item, timeout=0.2)
        except queue.Full:
            break
    for t in threads:
        t.join(timeout=5)
    return out


def serial_pipeline(items, consumers):
    return [ex.slow_square(item) for item in items]


def test_pipeline_accepts_the_solution():
    verdict = ex.check_pipeline(solution_pipeline)
    assert verdict.right, str(verdict)
    assert "every result came back once" in verdict.headline and "24" in verdict.details


@pytest.mark.parametrize("answer", [..., scaffold_pipeline])
def test_pipeline_says_not_answered_for_the_scaffold(answer):
    verdict = ex.check_pipeline(answer)
    assert verdict.status == "not answered"
    assert "STOP" in verdict.headline


@pytest.mark.slow
def test_pipeline_names_a_consumer_that_never_stops():
    verdict = ex.check_pipeline(never_stopping_pipeline, timeout_s=1.5)
    assert verdict.status == "timeout"
    assert "did not finish" in verdict.headline
    assert "never gets its stop signal" in verdict.hint


def test_pipeline_rejects_lost_items():
    verdict = ex.check_pipeline(lossy_pipeline)
    assert verdict.status == "wrong"
    assert "item(s) lost" in verdict.headline


def test_pipeline_rejects_a_serial_loop():
    verdict = ex.check_pipeline(serial_pipeline)
    assert verdict.status == "wrong"
    assert "one thread did all the work" in verdict.headline


# --------------------------------------------------------------------------- exercise 3: asyncio.gather

async def solution_fetch_all(port, key, count, limit):
    gate = asyncio.Semaphore(limit)

    async def one(i):
        async with gate:
            return await ex.ask_async(port, key, f"request {i}")

    return await asyncio.gather(*(one(i) for i in range(count)))


async def scaffold_fetch_all(port, key, count, limit):
    gate = ...

    async def one(i):
        async with gate:
            return await ex.ask_async(port, key, f"request {i}")

    return ...


async def sequential_fetch_all(port, key, count, limit):
    return [await ex.ask_async(port, key, f"request {i}") for i in range(count)]


async def unbounded_fetch_all(port, key, count, limit):
    async def one(i):
        async with asyncio.Semaphore(limit):  # a new semaphore per request: no bound at all
            return await ex.ask_async(port, key, f"request {i}")

    return await asyncio.gather(*(one(i) for i in range(count)))


async def unordered_fetch_all(port, key, count, limit):
    replies = await solution_fetch_all(port, key, count, limit)
    return sorted(replies)


def blocking_fetch_all(port, key, count, limit):
    return []


def test_gather_accepts_the_solution():
    verdict = asyncio.run(ex.check_gather(solution_fetch_all))
    assert verdict.right, str(verdict)
    assert "every reply came back, in order" in verdict.headline and "40 replies" in verdict.details


@pytest.mark.parametrize("answer", [..., scaffold_fetch_all])
def test_gather_says_not_answered_for_the_scaffold(answer):
    verdict = asyncio.run(ex.check_gather(answer))
    assert verdict.status == "not answered"
    assert "asyncio.gather" in verdict.headline


@pytest.mark.slow
def test_gather_rejects_a_sequential_loop():
    verdict = asyncio.run(ex.check_gather(sequential_fetch_all))
    assert verdict.status == "wrong"
    assert "one after another" in verdict.headline
    assert "asyncio.gather" in verdict.hint


def test_gather_rejects_a_semaphore_per_request():
    verdict = asyncio.run(ex.check_gather(unbounded_fetch_all))
    assert verdict.status == "wrong"
    assert "more than 8 requests were in flight" in verdict.headline


def test_gather_rejects_replies_out_of_order():
    verdict = asyncio.run(ex.check_gather(unordered_fetch_all))
    assert verdict.status == "wrong"
    assert "differs from the serial result" in verdict.headline


def test_gather_rejects_a_plain_function():
    verdict = asyncio.run(ex.check_gather(blocking_fetch_all))
    assert verdict.status == "wrong"
    assert "async def" in verdict.headline


def test_gather_names_a_hang():
    async def hangs(port, key, count, limit):
        await asyncio.sleep(60)

    verdict = asyncio.run(ex.check_gather(hangs, timeout_s=0.5))
    assert verdict.status == "timeout"
    assert "fetch_all did not finish" in verdict.headline and "cancelled" in verdict.details


def test_gather_reports_the_learners_error_with_its_own_frames():
    async def broken(port, key, count, limit):
        raise RuntimeError("no connection today")

    verdict = asyncio.run(ex.check_gather(broken))
    assert verdict.status == "error"
    assert "RuntimeError" in verdict.headline
    assert "no connection today" in verdict.details and "in broken" in verdict.details
    assert "l01b_exercises" not in verdict.details


def test_has_blank_finds_blanks_in_helpers_and_globals():
    assert ex.has_blank(scaffold_pipeline)  # the blank is in scaffold_consumer
    assert ex.has_blank(scaffold_bump)  # uses blank_lock = ...
    assert not ex.has_blank(solution_pipeline)
    assert not ex.has_blank(solution_bump)


# --------------------------------------------------------------------------- more learners' answers

def write_only_locked_bump(counter, times):
    for _ in range(times):
        value = ex.add_one(counter.value)  # read and add outside the lock
        with lock:
            counter.value = value


def acquire_try_finally_bump(counter, times):
    for _ in range(times):
        lock.acquire()
        try:
            counter.value = ex.add_one(counter.value)
        finally:
            lock.release()


rlock = threading.RLock()


def whole_loop_rlock_bump(counter, times):
    with rlock:  # one hold around the whole loop: slower, but exact
        for _ in range(times):
            counter.value = ex.add_one(counter.value)


not_a_lock = threading.Lock  # no parentheses: the function that makes a lock


def no_parentheses_bump(counter, times):
    for _ in range(times):
        with not_a_lock:
            counter.value = ex.add_one(counter.value)


never_released = threading.Lock()  # its own: the stuck threads keep it held after the test


def never_released_bump(counter, times):
    for _ in range(times):
        never_released.acquire()
        counter.value = ex.add_one(counter.value)


@pytest.mark.parametrize("answer", [acquire_try_finally_bump, whole_loop_rlock_bump])
@pytest.mark.slow
def test_lock_accepts_other_right_ways(answer):
    verdict = ex.check_lock(answer)
    assert verdict.right, str(verdict)


@pytest.mark.slow
def test_lock_rejects_a_lock_around_the_write_only():
    verdict = ex.check_lock(write_only_locked_bump)
    assert verdict.status == "wrong" and "updates were lost" in verdict.headline
    assert "Hold one shared lock around the whole line" in verdict.hint


def test_lock_names_a_lock_without_parentheses():
    verdict = ex.check_lock(no_parentheses_bump)
    assert verdict.status == "error" and "TypeError" in verdict.headline
    assert "threading.Lock() with parentheses" in verdict.hint


@pytest.mark.slow
def test_lock_names_an_acquire_without_release():
    verdict = ex.check_lock(never_released_bump, timeout_s=1.5)
    assert verdict.status == "timeout" and "deadlock" in verdict.headline
    assert "every lock.acquire() needs its lock.release()" in verdict.hint


def _pipeline(consumer, stops=None, get_timeout=0.5):
    """run_pipeline as the scaffold writes it, with the learner's consumer and count of STOPs."""
    def run_pipeline(items, consumers):
        q = queue.Queue(maxsize=8)
        out = []
        threads = [threading.Thread(target=consumer, args=(q, out, get_timeout)) for _ in range(consumers)]
        for t in threads:
            t.start()
        for item in items:
            q.put(item, timeout=5)
        for _ in range(consumers if stops is None else stops):
            q.put(STOP, timeout=5)
        for t in threads:
            t.join(timeout=5)
        return out
    return run_pipeline


def passing_consumer(q, out, wait):
    while True:
        item = q.get(timeout=wait)
        if item is STOP:
            pass  # blank 1 filled with pass: slow_square(STOP) comes next
        out.append(ex.slow_square(item))


def continuing_consumer(q, out, wait):
    while True:
        item = q.get(timeout=wait)
        if item is STOP:
            continue  # back to q.get(): waits for an item that never comes
        out.append(ex.slow_square(item))


def returning_consumer(q, out, wait):
    while True:
        item = q.get(timeout=wait)
        if item is STOP:
            return
        out.append(ex.slow_square(item))


def timing_out_consumer(q, out, wait):
    while True:
        try:
            item = q.get(timeout=wait)
        except queue.Empty:
            return  # stops when nothing comes for a while, not on STOP
        if item is STOP:
            return
        out.append(ex.slow_square(item))


def passing_it_on_consumer(q, out, wait):
    while True:
        item = q.get(timeout=wait)
        if item is STOP:
            q.put(STOP)  # leave the STOP for the next consumer, then stop
            return
        out.append(ex.slow_square(item))


def iter_consumer(q, out, wait):
    for item in iter(lambda: q.get(timeout=wait), STOP):
        out.append(ex.slow_square(item))


@pytest.mark.parametrize(("pipeline", "words"), [
    (_pipeline(passing_consumer), "took STOP and went on instead of stopping: it then died of TypeError"),
    (_pipeline(continuing_consumer), "took STOP and went on instead of stopping: it then died of queue.Empty"),
    (_pipeline(returning_consumer, stops=1), "died of queue.Empty: it waited for an item that never came"),
    (_pipeline(timing_out_consumer, stops=1), "stopped only because the queue stayed empty"),
])
def test_pipeline_names_a_consumer_that_did_not_stop_on_stop(pipeline, words):
    verdict = ex.check_pipeline(pipeline)
    assert verdict.status == "wrong", str(verdict)
    assert words in verdict.headline
    assert "consumer Thread-" in verdict.headline
    assert ("return (or break)" in verdict.hint) or ("one STOP per consumer" in verdict.hint)


@pytest.mark.parametrize("pipeline", [_pipeline(passing_it_on_consumer, stops=1), _pipeline(iter_consumer)])
def test_pipeline_accepts_other_right_ways(pipeline):
    verdict = ex.check_pipeline(pipeline)
    assert verdict.right, str(verdict)


def test_pipeline_leaves_queue_and_excepthook_as_they_were():
    hook, kind = threading.excepthook, queue.Queue
    ex.check_pipeline(_pipeline(passing_consumer))
    assert queue.Queue is kind and threading.excepthook is hook


async def unawaited_fetch_all(port, key, count, limit):
    gate = asyncio.Semaphore(limit)

    async def one(i):
        async with gate:
            return await ex.ask_async(port, key, f"request {i}")

    return asyncio.gather(*(one(i) for i in range(count)))  # no await: a Future comes back


async def coroutines_fetch_all(port, key, count, limit):
    gate = asyncio.Semaphore(limit)

    async def one(i):
        async with gate:
            return await ex.ask_async(port, key, f"request {i}")

    return [one(i) for i in range(count)]  # made, never run


async def one_at_a_time_gate_fetch_all(port, key, count, limit):
    gate = asyncio.Semaphore(1)  # the limit ignored: one at a time

    async def one(i):
        async with gate:
            return await ex.ask_async(port, key, f"request {i}")

    return await asyncio.gather(*(one(i) for i in range(count)))


async def half_limit_fetch_all(port, key, count, limit):
    gate = asyncio.Semaphore(limit // 2)

    async def one(i):
        async with gate:
            return await ex.ask_async(port, key, f"request {i}")

    return await asyncio.gather(*(one(i) for i in range(count)))


async def taskgroup_fetch_all(port, key, count, limit):
    gate = asyncio.BoundedSemaphore(limit)

    async def one(i):
        async with gate:
            return await ex.ask_async(port, key, f"request {i}")

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(i)) for i in range(count)]
    return [t.result() for t in tasks]


async def tasks_then_await_fetch_all(port, key, count, limit):
    gate = asyncio.Semaphore(limit)

    async def one(i):
        async with gate:
            return await ex.ask_async(port, key, f"request {i}")

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    return [await t for t in tasks]


@pytest.mark.parametrize(("answer", "words"), [
    (unawaited_fetch_all, "returned a Future, not the replies"),
    (coroutines_fetch_all, "returned coroutine objects that never ran"),
    (one_at_a_time_gate_fetch_all, "the requests ran one after another"),
    (half_limit_fetch_all, "at most 4 requests were in flight at once; your limit lets 8 in"),
])
@pytest.mark.slow
def test_gather_names_more_mistakes(answer, words):
    verdict = asyncio.run(ex.check_gather(answer))
    assert verdict.status == "wrong", str(verdict)
    assert words in verdict.headline


@pytest.mark.parametrize("answer", [taskgroup_fetch_all, tasks_then_await_fetch_all])
def test_gather_accepts_other_right_ways(answer):
    verdict = asyncio.run(ex.check_gather(answer))
    assert verdict.right, str(verdict)
