"""Lesson 06a's and 06b's exercise checkers: the solutions are right, the blanks "not answered", wrong answers named."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import multiprocessing
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from parlab.lessons.l06 import exercises_a as ex
from parlab.lessons.l06 import exercises_b as exb
from parlab.measure import amdahl_speedup, gustafson_speedup
from parlab.workloads import count_primes

NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"
PARTS = {"06a-choosing-a-backend.ipynb": {"choose", "primes_parallel", "fetch_all_within"},
         "06b-laws-and-scaling.ipynb": {"amdahl", "gustafson", "karp_flatt", "workers_for_half", "fixed",
                                        "scaled_256"}}


# --------------------------------------------------------------------------- exercise 1: choose


def placeholder_choose(table):
    """The backend that ran this workload soonest, by the table."""
    ...  # noqa: PIE790 (the notebook's placeholder, as the learner sees it)


def solution_choose(table):
    return min(table, key=lambda row: row["median_s"])["backend"]


def by_speedup(table):
    return max(table, key=lambda row: row["speedup"])["backend"]


def always_processes(table):
    return "processes"


def no_return(table):
    min(table, key=lambda row: row["median_s"])


def raises(table):
    return table[0]["time"]


STOP = threading.Event()


def hangs(table):
    STOP.wait(30)
    return "serial"


def two_core_table(kernel_s: float = 0.016) -> list[dict]:
    rows = ex.sample_tables()["a 4-core machine with a compiled kernel"]
    return [r | {"workers": min(r["workers"], 2)} for r in rows[:3]] + [
        {"backend": "kernel-threads", "workers": 2, "median_s": kernel_s, "speedup": 1.7}]


def by_efficiency(table):
    return max(table, key=lambda row: row["efficiency"])["backend"]


def slowest(table):
    return max(table, key=lambda row: row["median_s"])["backend"]


def sorted_choose(table):  # right, written differently
    ranked = sorted(table, key=lambda row: (row["median_s"], row["workers"]))
    return ranked[0]["backend"]


def loop_choose(table):  # right, written differently
    best = None
    for row in table:
        if best is None or row["median_s"] < best["median_s"]:
            best = row
    return best["backend"]


def test_choose_placeholder_is_not_answered():
    v = ex.check_choose(placeholder_choose, two_core_table())
    assert v.status == "not answered" and "write choose(table)" in v.headline


@pytest.mark.parametrize("table", [two_core_table(), *ex.sample_tables().values()],
                         ids=["2 cores", *ex.sample_tables()])
def test_choose_solution_is_right_on_any_machine(table):
    v = ex.check_choose(solution_choose, table)
    assert v.status == "right", str(v)
    assert "finished soonest" in v.headline and "your own table: ✓" in v.details


def test_choose_by_speedup_is_wrong_and_told_about_baselines():
    v = ex.check_choose(by_speedup, two_core_table())
    assert v.status == "wrong"
    assert "a 4-core machine with a compiled kernel" in v.headline
    assert "different baselines" in v.hint and "median_s" in v.hint
    assert "processes: its best row took" in v.details


def test_choose_a_fixed_answer_is_wrong_on_other_machines():
    v = ex.check_choose(always_processes, two_core_table())
    assert v.status == "wrong" and "a 1-core laptop" in v.headline
    assert "the fastest row is serial on 1 worker" in v.details
    assert "choose returns 'processes' whatever the table" in v.hint


@pytest.mark.parametrize(("fn", "words"), [(by_efficiency, "Efficiency is the speedup per worker"),
                                           (slowest, "That is the slowest row")])
def test_choose_wrong_rules_are_named(fn, words):
    v = ex.check_choose(fn, ex.sample_tables()["an 8-core free-threaded build"])
    assert v.status == "wrong" and "did not pick the fastest backend" in v.headline and words in v.hint


@pytest.mark.parametrize("fn", [sorted_choose, loop_choose])
def test_choose_written_differently_is_right(fn):
    assert ex.check_choose(fn, two_core_table()).status == "right"


def test_choose_within_noise_of_the_fastest_is_right():
    # kernel-threads 0.016 s vs processes 0.0165 s on this table: either is as fast
    table = two_core_table()
    table = [r | {"median_s": 0.0165} if r["backend"] == "processes" else r for r in table]

    def picks_processes_here(rows):
        return "processes" if any(r["median_s"] == 0.0165 for r in rows) else solution_choose(rows)

    v = ex.check_choose(picks_processes_here, table)
    assert v.status == "right" and "within 10% of kernel-threads" in v.details


def test_choose_without_a_return_says_what_it_returned():
    v = ex.check_choose(no_return, two_core_table())
    assert v.status == "wrong" and "choose returned None, not a backend of the table" in v.details


def test_choose_that_raises_shows_the_error():
    v = ex.check_choose(raises, two_core_table())
    assert v.status == "error" and "KeyError" in v.headline and "raises" in v.details


@pytest.mark.slow
def test_choose_that_hangs_times_out():
    try:
        v = ex.check_choose(hangs, two_core_table(), timeout_s=0.5)
    finally:
        STOP.set()
    assert v.status == "timeout" and "did not finish" in v.headline


def test_choose_needs_a_table():
    with pytest.raises(ValueError, match="reference_rows"):
        ex.check_choose(solution_choose, [])


# --------------------------------------------------------------------------- exercise 2: joblib


def placeholder_parallel(tasks, workers):
    ...  # return Parallel(n_jobs=...)(delayed(...)(...) for lo, hi in tasks)


SOLUTION_IN_A_CHILD = """
from joblib import Parallel, delayed
from parlab.lessons.l06 import exercises_a as ex
from parlab.workloads import count_primes

def solution_parallel(tasks, workers):
    return Parallel(n_jobs=workers)(delayed(count_primes)(lo, hi) for lo, hi in tasks)

print(ex.check_joblib(solution_parallel, cores=1))
"""

# joblib answers judged in one child (joblib keeps its workers until the process ends), on a
# clock that ticks once per run: the speed can never decide, only where the work ran.
JOBLIB_ANSWERS_IN_A_CHILD = """
import itertools, json
from joblib import Parallel, delayed
from parlab.lessons.l06 import exercises_a as ex
from parlab.workloads import count_primes

ticks = itertools.count()
ex.check.sandbox.CLOCK = lambda: float(next(ticks))

def batched(tasks, workers):
    return Parallel(n_jobs=workers, batch_size=4)(delayed(count_primes)(*t) for t in tasks)

def as_generator(tasks, workers):
    return Parallel(n_jobs=workers, return_as="generator")(delayed(count_primes)(lo, hi) for lo, hi in tasks)

def one_job(tasks, workers):
    return Parallel(n_jobs=1)(delayed(count_primes)(lo, hi) for lo, hi in tasks)

def joblib_threads(tasks, workers):
    return Parallel(n_jobs=workers, prefer="threads")(delayed(count_primes)(lo, hi) for lo, hi in tasks)

for fn in (batched, as_generator, one_job, joblib_threads):
    v = ex.check_joblib(fn, cores=2, repeats=1)  # one round: on this clock every round reads the same
    print(json.dumps({"name": fn.__name__, "status": v.status, "headline": v.headline, "hint": v.hint,
                      "gil": ex.system.gil_enabled()}))
"""


def serial_parallel(tasks, workers):
    return [count_primes(lo, hi) for lo, hi in tasks]


def half_windows(tasks, workers):
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(count_primes, [lo for lo, _ in tasks], [(lo + hi) // 2 for lo, hi in tasks]))


def forgets_to_return(tasks, workers):
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(count_primes, *zip(*tasks, strict=True)))


def lazy_map(tasks, workers):
    return map(count_primes, *zip(*tasks, strict=True))


def lazy_generator(tasks, workers):
    return (count_primes(lo, hi) for lo, hi in tasks)


def thread_pool(tasks, workers):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(count_primes, *zip(*tasks, strict=True)))


def process_pool(tasks, workers):  # right without joblib, as the exercise allows
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(count_primes, *zip(*tasks, strict=True)))


def submitted(tasks, workers):  # right, written differently
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(count_primes, lo, hi) for lo, hi in tasks]
        return [f.result() for f in futures]


def test_joblib_placeholder_is_not_answered():
    v = ex.check_joblib(placeholder_parallel)
    assert v.status == "not answered" and "Parallel" in v.headline


@pytest.mark.slow
def test_joblib_solution_is_right(require):
    # In a child: joblib keeps its workers and a resource tracker until the process ends.
    require(importlib.util.find_spec("joblib") is not None, "joblib", "pip install joblib")
    done = subprocess.run([sys.executable, "-c", SOLUTION_IN_A_CHILD], capture_output=True, text=True,
                          timeout=120, check=True)
    # correctness only (cores=1): the speed is the machine's, not the test's
    assert done.stdout.startswith("Exercise 2: the joblib version: right — the results are right"), done.stdout
    assert "only correctness was checked" in done.stdout


def _ticking(monkeypatch):
    """Every run takes one tick on the speed check's clock, however long it really took."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(ex.check.sandbox, "CLOCK", lambda: float(next(ticks)))


gil = pytest.mark.skipif(not ex.system.gil_enabled(), reason="threads run Python at once without the GIL")


@gil
@pytest.mark.slow
def test_joblib_serial_version_ran_in_this_process(monkeypatch):
    # Caught by where the work ran (this process's CPU time), not by the clock: the clock ticks once per run.
    _ticking(monkeypatch)
    v = ex.check_joblib(serial_parallel, cores=2, busy_check=False)
    assert v.status == "wrong" and "the work ran in this process, one task after another" in v.headline
    assert "worker processes" in v.headline and "of CPU on your call" in v.details


@gil
@pytest.mark.parametrize(("fn", "words"), [(lazy_map, "returned a map object"),
                                           (lazy_generator, "returned a generator expression")])
@pytest.mark.slow
def test_joblib_lazy_answers_are_named(monkeypatch, fn, words):
    # The 1426x of a lazy map: the call only built the iterator. Now it is read inside the call.
    _ticking(monkeypatch)
    v = ex.check_joblib(fn, cores=2)
    assert v.status == "wrong" and words in v.headline and "computes nothing until it is read" in v.headline
    assert "Return the list" in v.hint


@gil
@pytest.mark.slow
def test_joblib_threads_under_the_gil_are_named(monkeypatch):
    _ticking(monkeypatch)
    v = ex.check_joblib(thread_pool, cores=2)
    assert v.status == "wrong" and "threads waiting for the GIL" in v.headline


@pytest.mark.parametrize("fn", [process_pool, submitted])
@pytest.mark.slow
def test_joblib_process_pools_written_differently_are_not_wrong(monkeypatch, fn):
    # Every run one tick: no speedup can show, the known-good pool misses it too, so "not checked".
    # One round is enough: on this clock every round reads the same.
    _ticking(monkeypatch)
    v = ex.check_joblib(fn, cores=2, repeats=1)
    assert v.status == "not checked" and "too busy to judge the speed" in v.headline, str(v)


@gil
@pytest.mark.slow
def test_a_pool_started_per_call_is_judged_by_its_workers_cpu(monkeypatch):
    # Starting, feeding and stopping a pool per call cost this process 0.30 s of user CPU beside a
    # 0.37 s serial loop on a busy machine: over the 80 % mark. Its workers, ended by the time the
    # call returns, spent the work's CPU: so it ran there. Here every call "costs as much as the
    # serial loop" (the mark at 0), and only the ended workers' CPU tells the answers apart.
    # Spawn workers are this process's children (a forkserver's workers are the server's).
    def submitted_spawn(tasks, workers):
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(count_primes, lo, hi) for lo, hi in tasks]
            return [f.result() for f in futures]

    monkeypatch.setattr(ex, "HERE_SHARE", 0.0)
    _ticking(monkeypatch)
    v = ex.check_joblib(submitted_spawn, cores=2, repeats=1)
    assert v.status == "not checked" and "too busy to judge the speed" in v.headline, str(v)
    v = ex.check_joblib(serial_parallel, cores=2, busy_check=False)
    assert v.status == "wrong" and "the work ran in this process" in v.headline, str(v)


def test_the_cpu_of_children_that_end_during_the_call_is_counted_apart():
    def one_child():
        subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True, timeout=60)

    here, ended = ex._cpu_s(one_child)
    assert ended >= 0.1 and here < ended / 2, (here, ended)


@pytest.mark.skipif(sys.platform == "win32", reason="reads /dev/zero")
def test_where_the_work_ran_counts_user_mode_cpu_only():
    # Forking workers from a large process costs it kernel-mode CPU (its page tables are copied);
    # that is not the work running here, so a right answer in a big notebook is not called serial.
    def kernel_work():  # copies from /dev/zero (kernel mode) until it has spent 0.3 s of CPU
        begun, buffer = time.process_time(), bytearray(1 << 22)
        with open("/dev/zero", "rb", buffering=0) as zero:
            while time.process_time() - begun < 0.3:
                zero.readinto(buffer)

    start = time.process_time()
    here, _ = ex._cpu_s(kernel_work)
    spent = time.process_time() - start
    assert spent >= 0.3 and here < spent / 2, (here, spent)


@pytest.mark.slow
def test_joblib_answers_in_a_child(require):
    require(importlib.util.find_spec("joblib") is not None, "joblib", "pip install joblib")
    done = subprocess.run([sys.executable, "-c", JOBLIB_ANSWERS_IN_A_CHILD], capture_output=True, text=True,
                          timeout=300, check=True)
    got = {v["name"]: v for v in map(json.loads, done.stdout.splitlines())}
    assert got["batched"]["status"] == "not checked" and got["as_generator"]["status"] == "not checked", got
    # judged by the child's own GIL state: a free-threaded child may run threads side by side
    if got["one_job"]["gil"]:
        for name in ("one_job", "joblib_threads"):
            assert got[name]["status"] == "wrong" and "ran in this process" in got[name]["headline"], got[name]


@pytest.mark.slow
def test_joblib_on_busy_cores_is_not_checked(monkeypatch):
    # The known-good version took as long as the serial loop too: the cores are "busy", so an
    # answer that misses the speedup is neither blamed nor passed as right.
    _ticking(monkeypatch)
    v = ex.check_joblib(process_pool, cores=2, reference=serial_parallel, repeats=1)
    assert v.status == "not checked" and "too busy to judge the speed" in v.headline, str(v)
    assert "the known-good version reached 1.00× (needed at least 1.33×)" in v.details
    assert v.must_be_right() is v  # a solution cell goes on


def test_joblib_wrong_results_are_named():
    v = ex.check_joblib(half_windows, cores=2)
    assert v.status == "wrong" and "differs from the serial result at position" in v.headline


@pytest.mark.slow
def test_joblib_without_return_is_wrong():
    v = ex.check_joblib(forgets_to_return, cores=2)
    assert v.status == "wrong" and "differs from the serial result" in v.headline and "None" in v.details


def test_joblib_needs_a_function():
    v = ex.check_joblib("primes_parallel")
    assert v.status == "wrong" and "not str" in v.headline


def test_joblib_workers_stay_within_8():
    assert [ex.joblib_workers(c) for c in (1, 2, 8, 64)] == [1, 2, 8, 8]


# --------------------------------------------------------------------------- exercises 3 and 4: the laws


@pytest.mark.parametrize("f", [0.01, 0.05, 0.106, 0.25, 0.5])
def test_half_the_ceiling_derived_or_searched_is_right(f):
    derived = (1 - f) / f
    searched = next(k for k in range(1, 10_000) if amdahl_speedup(f, k) >= 0.5 / f)
    for answer in (derived, searched):
        v = exb.check_half(answer, f)
        assert v.status == "right", str(v)
        assert "half of the ceiling" in v.headline and f"f = {f:.3f}" in v.details


def test_half_wrong_answers_get_their_own_hint():
    f = 0.1
    half = exb.check_half(0.5 / f, f)  # the speedup, not the workers
    assert half.status == "wrong" and "a speedup" in half.hint and "needs more workers" in half.headline
    ceiling = exb.check_half(1 / f, f)
    assert ceiling.status == "wrong" and "On 1/f workers" in ceiling.hint and "fewer" in ceiling.headline


def test_half_clamps_f_and_refuses_non_numbers():
    assert exb.check_half(1, 0.9).status == "right"  # f kept at 0.5: one worker gives 1× = half of 2×
    assert "f = 0.010" in exb.check_half(99, 0.0001).details
    assert exb.check_half(..., 0.1).status == "not answered"
    v = exb.check_half("nine", 0.1)
    assert v.status == "wrong" and "positive number" in v.headline


BUSY = {1: 0.70, 2: 1.15}  # the stored run of 06b on a busy machine: f = 0.738


def test_half_on_noisy_points_is_not_checked():
    for answer in (1, 2, 9):  # "1 worker" follows from the noise; none of them is judged
        v = exb.check_half(answer, 0.738, BUSY)
        assert v.status == "not checked" and "too noisy to give a serial fraction" in v.headline
        assert "1 worker ran at 0.70×, far from 1×" in v.details and "f = 0.738" in v.details


def test_half_on_quiet_points_is_judged():
    quiet = {1: 0.97, 2: 1.82, 4: 3.1}
    assert exb.noise(quiet, 0.09) == []
    assert exb.check_half(10, 0.09, quiet).status == "right"
    assert exb.check_half(2 / 0.09, 0.09, quiet).status == "wrong"
    assert exb.noise({1: 0.95}, 0.10) == []  # one core: f is not from the points, nothing to doubt


def test_half_noise_names_no_gain():
    assert "2 workers gained nothing (0.98×)" in exb.noise({1: 0.95, 2: 0.98}, 0.3)


@pytest.mark.slow
def test_karp_flatt_on_noisy_points_is_not_checked_when_clamped():
    def clamped(speedup, k):
        return min(1.0, max(0.0, (1 / speedup - 1 / k) / (1 - 1 / k)))

    assert exb.check_karp_flatt(clamped, BUSY).status == "right"  # 1.15x on 2 gives e inside [0, 1]
    v = exb.check_karp_flatt(clamped, {1: 0.7, 2: 0.9})
    assert v.status == "not checked" and "0.90× on 2 workers" in v.headline
    assert exb.check_karp_flatt(lambda s, k: 1 / s, {1: 0.7, 2: 0.9}).status == "wrong"  # wrong on the sample too


@pytest.mark.slow
def test_karp_flatt_written_differently_is_right():
    v = exb.check_karp_flatt(lambda s, k: (k / s - 1) / (k - 1), {1: 0.95, 2: 1.7})
    assert v.status == "right"
    v = exb.check_karp_flatt(lambda s, k: (1 / s - 1 / k) * k / (k - 1), {1: 0.95, 2: 1.7, 4: 3.0})
    assert v.status == "right"


def test_karp_flatt_swapped_with_amdahl_is_wrong():
    v = exb.check_karp_flatt(lambda s, k: 1 / (s + (1 - s) / k), {2: 1.7})
    assert v.status == "wrong" and "not the serial fraction" in v.headline
    v = exb.check_karp_flatt(lambda s, k: (1 / s - 1 / k) / (1 + 1 / k), {2: 1.7})
    assert v.status == "wrong" and "Karp–Flatt: e = (1/S - 1/k) / (1 - 1/k)" in v.hint


def test_laws_right_swapped_and_ceiling():
    a, g = amdahl_speedup(0.02, 256), gustafson_speedup(0.02, 256)
    assert exb.check_laws(a, g).status == "right"
    swapped = exb.check_laws(g, a)
    assert swapped.status == "wrong" and "swapped" in swapped.headline
    ceiling = exb.check_laws(50.0, g)
    assert ceiling.status == "wrong" and "ceiling" in ceiling.headline
    off = exb.check_laws(a, 256.0)
    assert off.status == "wrong" and off.headline.startswith("scaled_256 is not")


def test_laws_placeholders_and_non_numbers():
    assert exb.check_laws(..., ...).status == "not answered"
    assert exb.check_laws(42.0, ...).status == "not answered"
    v = exb.check_laws("42", 250.9)
    assert v.status == "wrong" and "numbers" in v.headline


# --------------------------------------------------------------------------- the notebook's cells


def _assigned(source: str) -> set[str]:
    names = set(re.findall(r"^(?:async\s+def|def|class)\s+(\w+)", source, re.MULTILINE))
    for target in re.findall(r"^([\w, ]+?)\s*=(?!=)", source, re.MULTILINE):
        names |= {n.strip() for n in target.split(",") if n.strip()}
    return names


@pytest.mark.parametrize("part", PARTS)
def test_solution_cells_use_their_own_names_and_end_with_the_checker(part):
    cells = json.loads((NOTEBOOKS / part).read_text(encoding="utf-8"))["cells"]
    start = next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith("## Exercises"))
    learner: set[str] = set()
    solutions = 0
    for cell in cells[start:]:
        text = "".join(cell["source"])
        if cell["cell_type"] != "code":
            continue
        if "solution" in cell["metadata"].get("tags", []):
            solutions += 1
            assert not (_assigned(text) & learner), f"a solution reassigns a learner's name: {text[:80]}"
            assert all(n.startswith("solution_") for n in _assigned(text)), text[:80]
            assert re.search(r"^ex\.check_\w+\(.*\)\.must_be_right\(\)$", text.rstrip().splitlines()[-1]), text
        elif "ex.check_" in text:
            learner |= _assigned(text)
            assert text.rstrip().splitlines()[-1].startswith("ex.check_")
    assert solutions >= 3 and PARTS[part] <= learner


# --------------------------------------------------------------------------- 06a exercise 3: waits with a limit


async def fetch(i, seconds):
    await asyncio.sleep(seconds)
    return i * i


async def placeholder_within(delays, limit):
    ...


async def solution_one(i, seconds, limit):
    try:
        return await asyncio.wait_for(fetch(i, seconds), timeout=limit)
    except TimeoutError:
        return None


async def solution_within(delays, limit):
    return await asyncio.gather(*(solution_one(i, d, limit) for i, d in enumerate(delays)))


async def one_after_another(delays, limit):
    return [await solution_one(i, d, limit) for i, d in enumerate(delays)]


async def without_limit(delays, limit):
    return await asyncio.gather(*(fetch(i, d) for i, d in enumerate(delays)))


async def exceptions_kept(delays, limit):
    return await asyncio.gather(*(asyncio.wait_for(fetch(i, d), limit) for i, d in enumerate(delays)),
                                return_exceptions=True)


def not_a_coroutine(delays, limit):
    return [None] * len(delays)


def test_within_placeholder_is_not_answered():
    v = ex.check_within(placeholder_within)
    assert v.status == "not answered" and "asyncio.wait_for" in v.headline


def test_within_solution_is_right():
    v = ex.check_within(solution_within)
    assert v.status == "right" and "every wait ran at once" in v.headline, str(v)
    assert "22 waits, 2 of them longer than the limit" in v.details


def test_within_one_after_another_is_wrong():
    v = ex.check_within(one_after_another, delays=[0.05] * 8 + [1.0], limit=0.2)
    assert v.status == "wrong" and "the waits ran one after another" in v.headline
    assert "asyncio.gather" in v.hint


def test_within_without_a_limit_is_wrong():
    v = ex.check_within(without_limit, delays=[0.02] * 4 + [0.6], limit=0.2)
    assert v.status == "wrong" and "every wait ran to its end" in v.headline and "wait_for" in v.hint


def test_within_exceptions_in_the_list_are_wrong():
    v = ex.check_within(exceptions_kept)
    assert v.status == "wrong" and "holds exceptions" in v.headline and "TimeoutError" in v.hint


async def batch_limit(delays, limit):
    try:
        return await asyncio.wait_for(asyncio.gather(*(fetch(i, d) for i, d in enumerate(delays))), limit)
    except TimeoutError:
        return [None] * len(delays)


async def tasks_within(delays, limit):  # right, written differently: tasks, then awaited in order
    tasks = [asyncio.create_task(solution_one(i, d, limit)) for i, d in enumerate(delays)]
    return [await t for t in tasks]


async def taskgroup_within(delays, limit):  # right, written differently: a TaskGroup
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(solution_one(i, d, limit)) for i, d in enumerate(delays)]
    return [t.result() for t in tasks]


def test_within_one_limit_for_the_batch_is_named():
    v = ex.check_within(batch_limit, delays=[0.02] * 4 + [0.6], limit=0.2)
    assert v.status == "wrong" and "one limit was put on all the waits together" in v.headline


@pytest.mark.parametrize("fn", [tasks_within, taskgroup_within])
def test_within_written_differently_is_right(fn):
    assert ex.check_within(fn).status == "right"


def test_within_needs_async_def():
    v = ex.check_within(not_a_coroutine)
    assert v.status == "wrong" and "write it with async def" in v.headline


def test_within_delays_put_the_slow_waits_among_the_quick():
    delays = ex.limit_delays()
    assert len(delays) == 22 and delays.count(ex.SLOW_S) == 2 and delays[0] == delays[-1] == ex.FAST_S


# --------------------------------------------------------------------------- 06b exercises 1 and 2


def placeholder_law(f, k):
    ...


def amdahl(f, k):
    return 1 / (f + (1 - f) / k)


def gustafson(alpha, k):
    return k - alpha * (k - 1)


@pytest.mark.slow
def test_law_functions_placeholder_solution_swapped_and_wrong():
    assert exb.check_law_functions(placeholder_law, gustafson).status == "not answered"
    right = exb.check_law_functions(amdahl, gustafson)
    assert right.status == "right" and "parlab's speedups for every f and k" in right.headline
    swapped = exb.check_law_functions(gustafson, amdahl)
    assert swapped.status == "wrong" and "swapped" in swapped.headline
    times_k = exb.check_law_functions(lambda f, k: 1 / (f + (1 - f) * k), gustafson)
    assert times_k.status == "wrong" and times_k.headline.startswith("amdahl(0.0, 2) returned 0.5")
    assert "1 / (f + (1 - f) / k)" in times_k.hint
    plus_one = exb.check_law_functions(amdahl, lambda a, k: k - a * (k + 1))
    assert plus_one.status == "wrong" and plus_one.headline.startswith("gustafson(") and "k - alpha" in plus_one.hint


def test_law_functions_that_raise_show_the_error():
    v = exb.check_law_functions(lambda f, k: 1 / f, gustafson)
    assert v.status == "error" and "ZeroDivisionError" in v.headline


def karp_flatt(speedup, k):
    return (1 / speedup - 1 / k) / (1 - 1 / k)


@pytest.mark.slow
def test_karp_flatt_right_on_any_sweep():
    v = exb.check_karp_flatt(karp_flatt, {1: 0.9, 2: 1.7})
    assert v.status == "right" and "your sweep: 1.70× on 2 workers: yours 0.176" in v.details
    one_core = exb.check_karp_flatt(karp_flatt, {1: 0.95})
    assert one_core.status == "right" and "only the sample sweep was checked" in one_core.headline
    assert exb.karp_flatt_points({1: 0.9, 2: 1.7}) == {2: pytest.approx(0.17647, rel=1e-4)}


def test_karp_flatt_wrong_answers_get_their_own_hint():
    assert exb.check_karp_flatt(placeholder_law, {2: 1.7}).status == "not answered"
    alone = exb.check_karp_flatt(lambda s, k: 1 / s, {2: 1.7})
    assert alone.status == "wrong" and "not the serial fraction e = 0.176" in alone.headline
    assert "1/S alone" in alone.hint
    upside = exb.check_karp_flatt(lambda s, k: (1 - 1 / k) / (1 / s - 1 / k), {2: 1.7})
    assert upside.status == "wrong" and "upside down" in upside.hint
