"""Lesson 03's exercise checkers: a Cython kernel without the GIL, a thread driver, hashlib.

Each checker takes what the learner wrote and returns a :class:`check.Verdict`; none raises
for a wrong answer. Whether a kernel released the GIL is decided by a probe that does not
depend on timing two noisy runs against each other: a Python thread counts in a loop while
the kernel runs. With the GIL held by the kernel, the counter stands still; with it
released, the counter runs on (on another core, or in turns on one core). Only on a
free-threaded build, where there is no GIL to hold, the learner's source is read instead.
"""

from __future__ import annotations

import hashlib
import re
import statistics
import threading
import time
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from parlab import system
from parlab.kernels import count_primes_cython_nogil, count_primes_python
from parlab.lessons import check
from parlab.lessons.conclude import SAME_HIGH
from parlab.lessons.l03_compile import compile_cython
from parlab.results import format_seconds, format_speedup
from parlab.workloads import hash_buffer, make_buffer

__all__ = ["EX_DRIVER", "EX_HASHING", "EX_NOGIL", "NotChecked", "check_driver", "check_hashing",
           "check_nogil_kernel", "gil_held_share", "reference_driver"]

EX_NOGIL = "Exercise 1: a Cython kernel that releases the GIL"
EX_DRIVER = "Exercise 2: threads over the kernel"
EX_HASHING = "Exercise 3: does hashlib release the GIL?"
HELD_SHARE = 0.5  # a Python thread stood still for this share of the call or more: the GIL was held
_START = 10**7


@dataclass(frozen=True, repr=False)  # repr=False: keep Verdict's display, not a dataclass repr
class NotChecked(check.Verdict):
    """A verdict for an exercise this machine cannot check (no C compiler): it says how to fix that.

    Its ``must_be_right`` does not raise, so a solution cell on such a machine lets "Run all"
    go on. (A candidate for ``check.py``.)
    """

    def title(self) -> str:
        return f"{self.exercise}: not checked"

    def must_be_right(self) -> check.Verdict:
        return self


def _workers(cores: int) -> int:
    return max(2, min(cores, 4))


def gil_held_share(action: Callable[[], Any]) -> float:
    """The longest stretch in which a Python thread could not run while ``action`` ran, as a share of it (lesson 03).

    A second thread runs a tight Python loop and notes every pause longer than 2 ms. A call
    that holds the GIL stops that thread for the whole call: a share near 1. A call that
    releases it leaves only the system's short scheduling pauses, on one core or many: a
    share near 0. Longest pause, not average speed, so a busy machine does not blur the two.
    """
    pauses: list[tuple[float, float]] = []
    stop = threading.Event()

    def spin() -> None:
        clock = time.perf_counter
        before = clock()
        while not stop.is_set():
            now = clock()
            if now - before > 0.002:
                pauses.append((before, now))
            before = now

    spinner = threading.Thread(target=spin, name="parlab-gil-probe", daemon=True)
    spinner.start()
    time.sleep(0.02)
    t0 = time.perf_counter()
    action()
    t1 = time.perf_counter()
    time.sleep(0.02)  # let the spinner note the pause that ends after the call
    stop.set()
    spinner.join(5)
    longest = max((min(b, t1) - max(a, t0) for a, b in pauses), default=0.0)
    return max(0.0, longest) / (t1 - t0)


def _loop_inside_nogil(source: str) -> bool:
    """Does a `for`/`while` loop sit inside a `with nogil:` block? (read from the text, by indentation)."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)with\s+nogil\s*:", line)
        if not match:
            continue
        indent = len(match.group(1))
        for inner in lines[i + 1:]:
            if not inner.strip() or inner.strip().startswith("#"):
                continue
            if len(inner) - len(inner.lstrip()) <= indent:
                break
            if re.match(r"^\s*(for|while)\b", inner):
                return True
    return False


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def _paired(serial: Callable[[], Any], parallel: Callable[[], Any], pairs: int = 3) -> tuple[float, float]:
    """Median serial and parallel seconds over alternating pairs (noise hits a pair, not one side)."""
    s_times, p_times = [], []
    for _ in range(pairs):
        s_times.append(_timed(serial)[1])
        p_times.append(_timed(parallel)[1])
    return statistics.median(s_times), statistics.median(p_times)


def reference_driver(count: Callable[[int, int], int], start: int, stop: int, workers: int) -> int:
    """The primes in [start, stop) counted by ``count(lo, hi)`` on ``workers`` threads (lesson 03's answer)."""
    step = -(-(stop - start) // workers)
    bounds = [(lo, min(lo + step, stop)) for lo in range(start, stop, step)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(count, lo, hi) for lo, hi in bounds]
        return sum(f.result(timeout=60) for f in futures)


def _span_for(fn: Callable[[int, int], int], seconds: float) -> int:
    """How many numbers from 10**7 on ``fn`` counts in about ``seconds`` (at least 2 000)."""
    numbers = 2_000
    while True:
        stop = _START + numbers
        took = _timed(lambda: fn(_START, stop))[1]  # noqa: B023 (called at once, in this iteration)
        if took >= seconds / 4 or numbers >= 4_000_000:
            return max(2_000, int(numbers * seconds / max(took, 1e-6)))
        numbers *= 4


def _speed(exercise: str, serial: Callable[[], Any], parallel: Callable[[], Any], workers: int, cores: int,
           *, what: str, reference: tuple[Callable[[], Any], Callable[[], Any]],
           pairs: int = 3) -> tuple[check.Verdict | None, str]:
    """check.speed over interleaved timings; (None, numbers) when it passes or when only noise held it back.

    Each round times the serial run, the learner's threads and ``reference`` (parlab's own
    serial run and threads over its GIL-free kernel) back to back, so a busy moment hits
    them all. Speed
    is held against the learner only when the reference reached the needed speedup and the
    learner's threads fell clearly short of both.
    """
    need = check.needed_speedup(workers, cores)
    for attempt in range(2):  # a burst of noise gets a second measurement before it counts against anyone
        times: list[list[float]] = [[], [], [], []]
        for i in range(pairs):
            order = list(zip((serial, parallel, *reference), times, strict=True))
            for fn, into in order[i % 4:] + order[:i % 4]:
                into.append(_timed(fn)[1])
        serial_s, parallel_s, ref_serial_s, ref_parallel_s = (statistics.median(t) for t in times)
        verdict = check.speed(exercise, serial_s, parallel_s, workers, cores=cores, what=what)
        ref = ref_serial_s / ref_parallel_s
        numbers = f"{verdict.details}\nparlab's own threads, timed in the same rounds: {format_speedup(ref)}."
        if verdict.right or need is None:
            return None, numbers
        if ref < need or serial_s / parallel_s >= 0.8 * ref:
            return None, numbers + (" Speed was not held against you: parlab's own threads did no better on "
                                    "this busy machine.")
        if attempt == 0:
            time.sleep(0.05)
    return verdict, numbers


# --------------------------------------------------------------------------- exercise 1

def check_nogil_kernel(source: object, name: str = "count_primes") -> check.Verdict:
    """Exercise 1: compile the learner's Cython source; its ``count_primes`` must be right and release the GIL."""
    ex = EX_NOGIL
    if check.is_placeholder(source):
        return check.not_answered(ex, "replace each ___ in the source with the missing words, then run the cell.")
    if not isinstance(source, str):
        return check.wrong(ex, f"the answer must be the Cython source as a string, not {type(source).__name__}.",
                           hint="Keep the source between the triple quotes.")
    gil_before = system.gil_enabled()
    built = compile_cython(source)
    if built.kind == "no compiler":
        return NotChecked(ex, "error", built.problem)
    if not built.ok:
        return check.wrong(ex, built.problem.splitlines()[0], details=built.problem + "\n\n" + built.details[-1500:],
                           hint="Inside `with nogil:` use C values only (cdef-typed variables, C arithmetic): "
                                "no Python objects, no Python calls." if built.kind == "cython error" else "")
    fn = built.function(name)
    if not callable(fn):
        return check.wrong(ex, f"your source defines no function {name}.", hint=f"Keep `def {name}(...)`.")
    if not gil_before and system.gil_enabled():
        return check.wrong(ex, "importing your module turned the GIL back on in this free-threaded Python.",
                           hint="Keep the first line `# cython: freethreading_compatible=True`: it tells Python "
                                "the module is safe without the GIL. The GIL stays on until you restart the "
                                "kernel (Kernel → Restart Kernel).")
    small = check.call(fn, 0, 3_000, timeout_s=20)
    if (bad := check.failure(ex, small, f"{name}(0, 3000)")) is not None:
        return bad
    if (bad := check.same_results(ex, small.value, count_primes_python(0, 3_000), f"{name}(0, 3000)")) is not None:
        return bad
    numbers = _span_for(fn, 0.1)
    big = check.call(fn, _START, _START + numbers, timeout_s=30)
    if (bad := check.failure(ex, big, f"{name}({_START}, {_START + numbers})")) is not None:
        return bad
    expected = count_primes_cython_nogil(_START, _START + numbers)
    if (bad := check.same_results(ex, big.value, expected, f"{name}({_START}, {_START + numbers})")) is not None:
        return bad
    cores = system.usable_cores()
    if system.gil_enabled():
        share = gil_held_share(lambda: fn(_START, _START + numbers))
        probe = (f"a Python thread in the background stood still for {share:.0%} of your kernel's call at most "
                 f"(50% or more: the GIL was held)")
        if share >= HELD_SHARE:
            return check.wrong(ex, "the results are right, but your kernel holds the GIL while it loops: "
                                   "threads over it take turns.",
                               hint="Put the whole loop inside `with nogil:` (indented under it).", details=probe)
    else:
        probe = "this build runs without a GIL: the source was read instead of probing"
        if not _loop_inside_nogil(source):
            return check.wrong(ex, "the results are right, but your loop is not inside `with nogil:`. This "
                                   "free-threaded build runs it in parallel anyway; with a GIL it would hold it.",
                               hint="Put the whole loop inside `with nogil:` (indented under it).", details=probe)
    workers, stop = _workers(cores), _START + numbers
    slow, numbers_line = _speed(ex, lambda: fn(_START, stop), lambda: reference_driver(fn, _START, stop, workers),
                                workers, cores, what=f"{workers} threads over your kernel",
                                reference=(lambda: count_primes_cython_nogil(_START, stop),
                                           lambda: reference_driver(count_primes_cython_nogil, _START, stop, workers)))
    details = f"{name}: right results ({expected} primes in [{_START}, {stop})).\n{probe}.\n{numbers_line}"
    if slow is not None:
        return check.wrong(ex, slow.headline, hint=slow.hint, details=details)
    return check.right(ex, "your kernel counts right and releases the GIL: threads over it can run side by side"
                           + (" (1 usable core: correctness only)." if cores < 2 else "."), details=details)


# --------------------------------------------------------------------------- exercise 2

def _has_blanks(fn: Callable[..., Any]) -> bool:
    """True while a function still holds a `...` blank (the scaffold's), in it or in a nested comprehension."""
    def consts(code: types.CodeType) -> bool:
        return any(c is Ellipsis or (isinstance(c, types.CodeType) and consts(c)) for c in code.co_consts)
    code = getattr(fn, "__code__", None)
    return isinstance(code, types.CodeType) and consts(code)


def check_driver(driver: object) -> check.Verdict:
    """Exercise 2: ``driver(count, start, stop, workers)`` must split the range over threads and add the counts."""
    ex = EX_DRIVER
    if check.is_placeholder(driver) or (callable(driver) and _has_blanks(driver)):
        return check.not_answered(ex, "fill in the ... blanks of count_in_threads, then run the cell.")
    if not callable(driver):
        return check.wrong(ex, f"count_in_threads must be a function, not {type(driver).__name__}.")
    cores = system.usable_cores()
    workers = _workers(cores)
    kernel = count_primes_cython_nogil
    numbers = _span_for(kernel, 0.1)
    start, stop = _START + 1, _START + 1 + numbers  # an odd start: chunks must begin exactly where asked
    calls: list[tuple[int, int]] = []
    lock = threading.Lock()
    active = [0, 0]  # now, most at once

    def tracked(lo: int, hi: int) -> int:
        with lock:
            calls.append((lo, hi))
            active[0] += 1
            active[1] = max(active[1], active[0])
        try:
            time.sleep(0.002)  # long enough for calls in flight at once to overlap here
            return kernel(lo, hi)
        finally:
            with lock:
                active[0] -= 1

    outcome = check.call(driver, tracked, start, stop, workers, timeout_s=30)
    if (bad := check.failure(ex, outcome, f"count_in_threads(count, {start}, {stop}, {workers})")) is not None:
        return bad
    chunks = sorted(calls)
    ends = [start] + [hi for _, hi in chunks]
    if chunks and (any(lo != end for (lo, _), end in zip(chunks, ends, strict=False)) or ends[-1] != stop):
        shown = ", ".join(f"[{lo}, {hi})" for lo, hi in chunks[:6]) + (" …" if len(chunks) > 6 else "")
        return check.wrong(ex, f"the chunks do not cover [{start}, {stop}) exactly once.",
                           hint="Each chunk starts where the last one ended (count(lo, hi) counts lo up to, but "
                                "not including, hi), and the last one ends at stop.",
                           details=f"chunks counted: {shown}")
    if (bad := check.same_results(ex, outcome.value, kernel(start, stop),
                                  f"count_in_threads(count, {start}, {stop}, {workers})")) is not None:
        return bad
    detail = f"{len(calls)} calls of count, at most {active[1]} at once, result {outcome.value} (right)."
    if len(calls) < workers:
        return check.wrong(ex, f"the result is right, but count was called {len(calls)} time(s) for {workers} "
                               "workers: each thread needs a chunk of its own.",
                           hint="Split [start, stop) into `workers` chunks and submit one task per chunk.",
                           details=detail)
    if active[1] < 2:
        return check.wrong(ex, "the result is right, but the calls ran one after another: no two were in "
                               "flight at once.",
                           hint="Submit every chunk to the pool before you wait for any result "
                                "(a list of futures first, then .result()).", details=detail)
    slow, numbers_line = _speed(ex, lambda: kernel(start, stop), lambda: driver(kernel, start, stop, workers),
                                workers, cores, what="count_in_threads",
                                reference=(lambda: kernel(start, stop),
                                           lambda: reference_driver(kernel, start, stop, workers)))
    if slow is not None:
        return check.wrong(ex, slow.headline, hint=slow.hint, details=detail + "\n" + numbers_line)
    return check.right(ex, "count_in_threads splits the range over threads, runs the chunks at once and adds "
                           "them up right.", details=detail + "\n" + numbers_line)


# --------------------------------------------------------------------------- exercise 3

def check_hashing(prediction: object, *, nbytes: int = 4_000_000) -> check.Verdict:
    """Exercise 3: the learner predicts whether threads speed up hashlib on a large buffer; parlab measures it.

    The answer is settled by what decides it, robustly on a busy machine: whether hashlib
    released the GIL (the probe) and whether there is a second core; the measured speedup
    is shown beside it, with a word when noise hid the gain.
    """
    ex = EX_HASHING
    if check.is_placeholder(prediction):
        return check.not_answered(ex, "set prediction to True (threads speed it up here) or False, then run "
                                      "the cell.")
    if not isinstance(prediction, bool):
        return check.wrong(ex, f"prediction must be True or False, not {prediction!r}.")
    cores = system.usable_cores()
    workers = _workers(cores)
    buffer = make_buffer(nbytes, seed=3)
    tasks = [buffer] * (2 * workers)
    rounds = 3

    def serial() -> list[str]:
        return [hash_buffer(b, rounds) for b in tasks]

    def threads() -> list[str]:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(hash_buffer, tasks, [rounds] * len(tasks)))

    if threads() != serial():
        raise AssertionError("threads hashed differently from the serial loop")  # parlab's bug, not the learner's
    serial_s, parallel_s = _paired(serial, threads, pairs=3)
    speedup = serial_s / parallel_s
    gil = system.gil_enabled()
    long_buffer = buffer * max(1, 32_000_000 // len(buffer))  # one call long enough (~0.1 s) for the probe
    share = gil_held_share(lambda: hashlib.sha256(long_buffer).digest()) if gil else 0.0
    released = share < HELD_SHARE
    speeds_up = released and cores > 1
    lines = [(f"serial {format_seconds(serial_s)}, {workers} threads {format_seconds(parallel_s)} "
              f"({len(tasks)} tasks, each {rounds} SHA-256 hashes of {nbytes / 1e6:g} MB): "
              f"{format_speedup(speedup)}."),
             (f"A Python thread in the background stood still for {share:.0%} of a SHA-256 call on 32 MB at most: "
              f"hashlib {'released' if released else 'held'} the GIL." if gil else
              "This build runs without a GIL: nothing holds the threads back but the cores."),
             f"{cores} usable core{'s' if cores != 1 else ''}: threads "
             + ("can hash at the same time." if speeds_up else "cannot hash at the same time here.")]
    if speeds_up and speedup <= SAME_HIGH:
        lines.append(f"This run measured only {format_speedup(speedup)}: other programs were using the cores. "
                     "Run the cell again to see the gain.")
    elif not speeds_up and speedup > SAME_HIGH:
        lines.append(f"This run measured {format_speedup(speedup)}, yet threads cannot overlap here: the serial "
                     "run was probably slowed by other programs.")
    details = "\n".join(lines)
    if prediction == speeds_up:
        return check.right(ex, "your prediction matches: threads "
                               + ("do" if speeds_up else "do not") + " speed up hashlib here.", details=details)
    hint = ("hashlib releases the GIL while it hashes a large buffer, so threads hash at the same time on "
            "two or more cores." if speeds_up else
            "Even a call that releases the GIL needs a free core to run beside another one."
            if cores < 2 else "Look at the probe above: here hashlib kept the GIL.")
    return check.wrong(ex, "your prediction does not match: threads " + ("do" if speeds_up else "do not")
                       + " speed up hashlib here.", hint=hint, details=details)
