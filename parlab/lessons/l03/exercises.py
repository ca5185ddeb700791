"""Lesson 03's exercise checkers: a Cython kernel without the GIL, a thread driver, hashlib, ctypes, Numba.

Each checker takes what the learner wrote and returns a :class:`check.Verdict`; none raises
for a wrong answer. Whether a kernel released the GIL is decided by a probe that does not
depend on timing two noisy runs against each other: a Python thread counts in a loop while
the kernel runs. With the GIL held by the kernel, the counter stands still; with it
released, the counter runs on (on another core, or in turns on one core). Only on a
free-threaded build, where there is no GIL to hold, the learner's source is read instead.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import math
import threading
import time
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from parlab import system
from parlab.kernels import CTYPES, count_primes_cython_nogil, count_primes_python, library_path, variant
from parlab.lessons import check
from parlab.lessons.l03 import numba_kernels
from parlab.lessons.l03.build import compile_cython
from parlab.lessons.l03.probe import (
    HELD_SHARE,
    START,
    gil_held_share,
    loop_inside_nogil,
    reference_driver,
    span_for,
    workers_for,
)
from parlab.lessons.words import SAME_HIGH
from parlab.measure import paired_speedup
from parlab.results import format_seconds, format_speedup
from parlab.workloads import hash_buffer, make_buffer

__all__ = ["EX_CTYPES", "EX_DRIVER", "EX_HASHING", "EX_NOGIL", "EX_NUMBA", "check_ctypes", "check_driver",
           "check_hashing", "check_nogil_kernel", "check_numba"]

# The serial work each speed round times: short runs on two threads lose a large share to a
# busy moment, so that even parlab's own threads missed 1.33x at 0.1 s on a 2-core machine.
# Each is sized for 0.3 s on a quiet machine, so that its fastest run stays above 0.25 s.
SPEED_WORK_S = 0.3
_PYTHONAPI = 0x4  # ctypes marks the functions PyDLL makes with this flag (_PYTHONAPI)

EX_NOGIL = "Exercise 1: a Cython kernel that releases the GIL"
EX_DRIVER = "Exercise 2: threads over the kernel"
EX_HASHING = "Exercise 3: does hashlib release the GIL?"
EX_CTYPES = "Exercise 4: one C library, two loaders"
EX_NUMBA = "Exercise 5: Numba, no C compiler needed"


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
        return check.not_checked(ex, built.problem)
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
    numbers = span_for(fn, SPEED_WORK_S)
    big = check.call(fn, START, START + numbers, timeout_s=30)
    if (bad := check.failure(ex, big, f"{name}({START}, {START + numbers})")) is not None:
        return bad
    expected = count_primes_cython_nogil(START, START + numbers)
    if (bad := check.same_results(ex, big.value, expected, f"{name}({START}, {START + numbers})")) is not None:
        return bad
    cores = system.usable_cores()
    if system.gil_enabled():
        share = gil_held_share(lambda: fn(START, START + numbers))
        probe = (f"a Python thread in the background stood still for {share:.0%} of your kernel's call at most "
                 f"(50% or more: the GIL was held)")
        if share >= HELD_SHARE:
            return check.wrong(ex, "the results are right, but your kernel holds the GIL while it loops: "
                                   "threads over it take turns.",
                               hint="Put the whole loop inside `with nogil:` (indented under it).", details=probe)
    else:
        probe = "this build runs without a GIL: the source was read instead of probing"
        if not loop_inside_nogil(source):
            return check.wrong(ex, "the results are right, but your loop is not inside `with nogil:`. This "
                                   "free-threaded build runs it in parallel anyway; with a GIL it would hold it.",
                               hint="Put the whole loop inside `with nogil:` (indented under it).", details=probe)
    workers, stop = workers_for(cores), START + numbers
    timed = check.timed_speed(ex, lambda: fn(START, stop), lambda: reference_driver(fn, START, stop, workers),
                              workers, cores=cores, what=f"{workers} threads over your kernel",
                              reference=(lambda: count_primes_cython_nogil(START, stop),
                                         lambda: reference_driver(count_primes_cython_nogil, START, stop, workers)))
    details = f"{name}: right results ({expected} primes in [{START}, {stop})).\n{probe}.\n{timed.details}"
    if not timed.right:  # too slow, or a machine too busy to judge
        return dataclasses.replace(timed, details=details)
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
        return check.not_a_function(ex, "count_in_threads", driver)
    cores = system.usable_cores()
    workers = workers_for(cores)
    kernel = count_primes_cython_nogil
    numbers = span_for(kernel, SPEED_WORK_S)
    start, stop = START + 1, START + 1 + numbers  # an odd start: chunks must begin exactly where asked
    calls: list[tuple[int, int]] = []
    lock = threading.Lock()
    active = [0, 0]  # now, most at once

    def tracked(lo: int, hi: int) -> int:
        with lock:
            calls.append((lo, hi))
            active[0] += 1
            active[1] = max(active[1], active[0])
        try:
            # Wait (a little) for a second call to arrive: a driver that submits every chunk before
            # it waits always gets two in flight, however busy the machine; one that waits on each
            # chunk never does, and pays 0.25 s a call for it.
            deadline = time.monotonic() + 0.25
            while active[1] < 2 and time.monotonic() < deadline:
                time.sleep(0.002)
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
    timed = check.timed_speed(ex, lambda: kernel(start, stop), lambda: driver(kernel, start, stop, workers), workers,
                              cores=cores, what="count_in_threads",
                              reference=(lambda: kernel(start, stop),
                                         lambda: reference_driver(kernel, start, stop, workers)))
    if timed.status == "wrong":
        # Two calls were in flight at once above, on parlab's own GIL-releasing kernel: the driver
        # runs its chunks at once. Held near 1x through every round, it was held by other work on
        # the cores (seen beside a second test worker, while parlab's driver caught one quiet round).
        return check.not_checked(ex, "the results are right and two chunks were counted at once, but this "
                                     "machine gave the threads no second core in any round: too busy to judge "
                                     "the speed now. Run the cell again when the machine is quieter.",
                                 details=detail + "\n" + timed.details)
    if not timed.right:
        return dataclasses.replace(timed, details=detail + "\n" + timed.details)
    return check.right(ex, "count_in_threads splits the range over threads, runs the chunks at once and adds "
                           "them up right.", details=detail + "\n" + timed.details)


# --------------------------------------------------------------------------- exercise 3

def _seconds(action: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    action()
    return time.perf_counter() - t0


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
    if type(prediction).__module__ == "numpy" and type(prediction).__name__ in ("bool", "bool_"):  # np.True_
        prediction = bool(prediction)
    if not isinstance(prediction, bool):
        return check.wrong(ex, f"prediction must be True or False, not {prediction!r}.",
                           hint="Write True or False without quotes.")
    cores = system.usable_cores()
    workers = workers_for(cores)
    buffer = make_buffer(nbytes, seed=3)
    tasks = [buffer] * (2 * workers)
    one = min(_seconds(lambda: hash_buffer(buffer, 1)) for _ in range(3))  # the fastest: load only slows
    rounds = max(1, math.ceil(SPEED_WORK_S / (len(tasks) * max(one, 1e-6))))  # at least 0.25 s of serial work

    def serial() -> list[str]:
        return [hash_buffer(b, rounds) for b in tasks]

    def threads() -> list[str]:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(hash_buffer, tasks, [rounds] * len(tasks)))

    # Medians of interleaved pairs, each pair's digests compared (a difference is parlab's bug, not the learner's).
    measured = paired_speedup(serial, threads, workers=workers, pairs=3, warmup=0)  # warmed up above
    serial_s, parallel_s = measured.serial_median, measured.parallel_median
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


# --------------------------------------------------------------------------- exercise 4

def _is_int64(kind: object) -> bool:
    """A ctypes integer type of 64 bits: c_longlong, c_int64, c_long where it has 64 bits (Linux, macOS), ..."""
    return (isinstance(kind, type) and issubclass(kind, ctypes._SimpleCData)
            and getattr(kind, "_type_", "") in ("l", "L", "q", "Q") and ctypes.sizeof(kind) == 8)


_BIG = 2**40  # beyond a C int: without argtypes, ctypes refuses to pass it


def _types_problem(ex: str, name: str, fn: Any) -> check.Verdict | None:
    """Exercise 4: a function of ``loader`` that counts wrong, or right only by luck; the mistake it shows."""
    argtypes = list(getattr(fn, "argtypes", None) or [])
    types_ok = len(argtypes) == 2 and all(map(_is_int64, argtypes))
    calls = [(0, 100), (START, START + 2_000), (_BIG, _BIG + 300)]
    for lo, hi in calls:
        outcome = check.call(fn, lo, hi, timeout_s=10)
        expected = (count_primes_python if lo < _BIG else variant("ctypes_cdll").func)(lo, hi)
        bad = (check.failure(ex, outcome, f"the {name} function({lo}, {hi})")
               or check.same_results(ex, outcome.value, expected, f"the {name} function({lo}, {hi})"))
        if bad is not None and not argtypes:
            return check.wrong(ex, f"the {name} function got ({lo}, {hi}) wrong: its argument types are not "
                                   "declared.",
                               hint="Set argtypes to [ctypes.c_longlong, ctypes.c_longlong]: without it ctypes "
                                    "passes a Python int as a C int, and 2**40 does not fit.",
                               details=bad.details)
        if bad is not None and types_ok and not _is_int64(getattr(fn, "restype", None)):
            break  # the result type is what is wrong: said below
        if bad is not None and not types_ok:
            said = ", ".join(getattr(t, "__name__", repr(t)) for t in argtypes)
            return check.wrong(ex, f"the {name} function got ({lo}, {hi}) wrong: its argument types are declared "
                                   f"as {said}, but the C function takes two long long.",
                               hint="Declare both arguments as ctypes.c_longlong (64 bits): a C int holds at most "
                                    "2**31 - 1, and 2**40 does not fit.", details=bad.details)
        if bad is not None:
            return bad
    if not _is_int64(getattr(fn, "restype", None)):
        kind = getattr(getattr(fn, "restype", None), "__name__", None)
        return check.wrong(ex, (f"the {name} function's restype is {kind}, so its results come back wrong."
                                if bad is not None else
                                f"the results are right, but the {name} function's restype is {kind}: a "
                                "count above 2**31 would come back wrong."),
                           hint="Set restype to ctypes.c_longlong, the C function's return type.",
                           details=bad.details if bad is not None else "")
    return None


def check_ctypes(load_count: object) -> check.Verdict:
    """Exercise 4: ``load_count(loader)`` loads parlab_count_primes with ``loader`` (CDLL or PyDLL), typed.

    Checked on any build: the results (a number beyond a C int included), the declared types,
    and which loader made the function (ctypes marks PyDLL's functions). On a build with a
    GIL the probe then shows that the CDLL function released it and the PyDLL one held it.
    """
    ex = EX_CTYPES
    if check.is_placeholder(load_count) or (callable(load_count) and _has_blanks(load_count)):
        return check.not_answered(ex, "fill in the ... blanks of load_count, then run the cell.")
    if not callable(load_count):
        return check.not_a_function(ex, "load_count", load_count)
    if not CTYPES or library_path() is None:
        return check.not_checked(ex, "parlab's C library (_primes_lib) was not built here; "
                                         "install a C compiler and run pip install -e . again (see lesson 00).")
    loaded = {}
    for loader in (ctypes.CDLL, ctypes.PyDLL):
        outcome = check.call(load_count, loader, timeout_s=10)
        if (bad := check.failure(ex, outcome, f"load_count(ctypes.{loader.__name__})")) is not None:
            return bad
        if not callable(outcome.value):
            return check.wrong(ex, f"load_count(ctypes.{loader.__name__}) returned {type(outcome.value).__name__}, "
                                   "not the C function.", hint="Return lib.parlab_count_primes.")
        loaded[loader.__name__] = outcome.value
    for name, fn in loaded.items():
        if (problem := _types_problem(ex, name, fn)) is not None:
            return problem
    marks = {name: bool(getattr(fn, "_flags_", 0) & _PYTHONAPI) for name, fn in loaded.items()}
    if marks != {"CDLL": False, "PyDLL": True}:
        return check.wrong(ex, "both calls returned a function of the same loader: load_count ignores its "
                               "argument.", hint="Load the library with loader(path), not with a fixed ctypes.CDLL.",
                           details=f"made by PyDLL: CDLL call {marks['CDLL']}, PyDLL call {marks['PyDLL']}")
    lines = ["Both functions count right (2**40 included) and declare long long arguments and result."]
    headline = "CDLL's function releases the GIL during each call; PyDLL's keeps it."
    if system.gil_enabled():
        numbers = span_for(loaded["CDLL"], 0.1)
        shares = {name: gil_held_share(partial(fn, START, START + numbers)) for name, fn in loaded.items()}
        lines.append(f"A Python thread in the background stood still for {shares['CDLL']:.0%} of a CDLL call and "
                     f"{shares['PyDLL']:.0%} of a PyDLL call (50% or more: the GIL was held).")
        if not shares["CDLL"] < HELD_SHARE <= shares["PyDLL"]:
            headline = ("both functions are right; CDLL's releases the GIL and PyDLL's keeps it, though this run's "
                        "probe could not show it (a busy machine?): run the cell again.")
    else:
        lines.append("This build runs without a GIL: PyDLL has no GIL to keep, so both run side by side here.")
        headline = "both functions are right; with a GIL, CDLL's would release it during each call and PyDLL's keep it."
    return check.right(ex, headline, details="\n".join(lines))


# --------------------------------------------------------------------------- exercise 5

# Every kernel the checker saw stays alive: a compiled Numba dispatcher that is freed (a cell run
# again redefines it) leaves a dead weakref proxy among the garbage collector's objects.
_KEPT: list[Any] = []


def check_numba(kernel: object, driver: object) -> check.Verdict:
    """Exercise 5: an ``@njit(nogil=True)`` prime counter, and ``driver(start, stop, workers)`` running it on threads.

    The mechanism is judged, not a speed alone: the kernel must be a Numba dispatcher compiled
    with ``nogil=True`` (its ``targetoptions``), count right, and the driver's threads must
    gain beside parlab's own nogil kernel timed in the same rounds (a busy machine: "not checked").
    """
    ex = EX_NUMBA
    options = getattr(kernel, "targetoptions", None)
    if (check.is_placeholder(kernel) or check.is_placeholder(driver) or (callable(driver) and _has_blanks(driver))
            or (isinstance(options, dict) and options.get("nogil") is Ellipsis)):
        return check.not_answered(ex, "fill in the ... blanks (the option of @njit that releases the GIL, and the "
                                      "function each thread runs), then run the cell.")
    if not callable(kernel) or not callable(driver):
        return check.wrong(ex, "my_jit_count and my_jit_threads must both be functions.")
    if why := numba_kernels.missing():
        return check.not_checked(ex, why)
    from numba.core.dispatcher import Dispatcher

    if isinstance(kernel, Dispatcher):
        _KEPT.append(kernel)  # a compiled dispatcher that dies leaves a dead weakref proxy behind in Numba
    else:
        return check.wrong(ex, "my_jit_count is a plain Python function: Numba did not compile it, so threads "
                               "over it take turns for the GIL.",
                           hint="Put @njit(nogil=True) on the line just above `def my_jit_count`.")
    if options.get("forceobj") or options.get("nopython") is False:  # type: ignore[union-attr]
        return check.wrong(ex, "my_jit_count runs in Numba's object mode, which works on Python objects and "
                               "keeps the GIL.", hint="Use @njit(nogil=True): machine code only, no Python objects.")
    if options.get("nogil") is not True:  # type: ignore[union-attr]
        return check.wrong(ex, "Numba compiles my_jit_count, but without nogil=True the compiled code keeps the "
                               "GIL: threads over it take turns.", hint="Write @njit(nogil=True).",
                           details=f"my_jit_count.targetoptions = {options!r}")
    small = check.call(kernel, 0, 3_000, timeout_s=120)  # the first call compiles
    if (bad := check.failure(ex, small, "my_jit_count(0, 3000)")) is not None:
        return dataclasses.replace(bad, hint=bad.hint or "Numba compiles numbers and loops; keep the kernel "
                                                         "free of Python objects (lists, strings, print).")
    if (bad := check.same_results(ex, small.value, count_primes_python(0, 3_000), "my_jit_count(0, 3000)")):
        return bad
    cores = system.usable_cores()
    workers, numbers = workers_for(cores), span_for(kernel, SPEED_WORK_S)
    stop = START + numbers
    expected = numba_kernels.count_primes_numba(START, stop)
    said = f"my_jit_threads({START}, {stop}, {workers})"
    outcome = check.call(driver, START, stop, workers, timeout_s=60)
    if (bad := check.failure(ex, outcome, said) or check.same_results(ex, outcome.value, expected, said)):
        return bad
    ours = numba_kernels.nogil_dispatcher()
    timed = check.timed_speed(ex, lambda: kernel(START, stop),
                              lambda: check.rerun(ex, driver, START, stop, workers, expected=expected, what=said,
                                                  timeout_s=60),
                              workers, cores=cores, what="my_jit_threads",
                              reference=(lambda: ours(START, stop),
                                         lambda: reference_driver(ours, START, stop, workers)))
    details = (f"my_jit_count: a Numba dispatcher compiled with nogil=True; right results ({expected} primes in "
               f"[{START}, {stop})).\n{timed.details}")
    if not timed.right:
        return dataclasses.replace(timed, details=details)
    return check.right(ex, "my_jit_count is compiled with nogil=True and my_jit_threads runs it on threads at once"
                           + (" (1 usable core: correctness only)." if cores < 2 else "."), details=details)
