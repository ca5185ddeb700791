"""Lesson 02's later sections: sharing instead of sending, BLAS threads × process workers, fork in a kernel.

The notebook writes the worker functions itself (``%%writefile``) and runs them with the
standard library; this module only times a map on an executor the notebook started
(:func:`timed_map`) and writes the sentences about what was measured (``describe_*``), from the
numbers alone, on any core count and Python version. They are tested in
``tests/lessons/l02/test_l02_sharing.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from parlab.measure import time_call
from parlab.results import Timing, format_seconds

__all__ = ["describe_blas", "describe_fork_child", "describe_fork_warning", "describe_kernel_threads",
           "describe_sharing", "timed_map"]


def timed_map(executor: Any, fn: Callable[..., Any], *iterables: Iterable[Any], repeats: int = 3,
              timeout: float = 120) -> tuple[list[Any], Timing]:
    """``list(executor.map(fn, *iterables))`` once as a warm-up (it starts the workers), then timed (lesson 02).

    Returns the warm-up's results, to be checked against the serial ones, and the timing of
    the repeats: the pool's start-up stays out of it.
    """
    args = [list(it) for it in iterables]

    def once() -> list[Any]:
        return list(executor.map(fn, *args, timeout=timeout))

    results = once()
    return results, time_call(once, repeats=repeats, warmup=0)


def _overlap(a: Timing, b: Timing) -> bool:
    # The two timings' quartile ranges overlap: the difference is within the noise.
    return a.quartiles[0] <= b.quartiles[1] and b.quartiles[0] <= a.quartiles[1]


def _times(a: Timing, b: Timing) -> str:
    return f"{a.median / b.median:.1f} times"


def describe_sharing(timings: Mapping[str, Timing], nbytes: int, *, setup_s: float | None = None,
                     rate_bytes_per_s: float | None = None) -> list[str]:
    """Sending an array pickled vs sharing it by name vs inheriting it at fork, per run (lesson 02).

    ``timings`` maps "pickled", "shared memory" and (where fork exists) "inherited at fork" to
    the time of one run over the whole array; ``setup_s`` is the one-time cost of creating the
    shared block and copying the array in; ``rate_bytes_per_s`` the sending rate the pickling
    curve measured, to set beside the "pickled" time.
    """
    if "pickled" not in timings or len(timings) < 2:
        raise ValueError(f"describe_sharing needs 'pickled' and at least one other way, got {sorted(timings)}")
    sent = timings["pickled"]
    lines = [f"{name:<17} {format_seconds(t.median)} per run" for name, t in timings.items()]
    if rate_bytes_per_s:
        lines.append(f"At the rate the sending curve measured ({rate_bytes_per_s / 1e6:,.0f} MB/s), sending "
                     f"{nbytes:,} bytes costs about {format_seconds(nbytes / rate_bytes_per_s)} per run.")
    for name, t in timings.items():
        if name == "pickled":
            continue
        extra = (f" (plus {format_seconds(setup_s)} once, to create the block and copy the array in)"
                 if name == "shared memory" and setup_s is not None else "")
        if _overlap(t, sent):
            lines.append(f"{name}: within the repeats' spread of sending it pickled{extra}: here the sending "
                         "was not what took the time.")
        elif t.median < sent.median:
            lines.append(f"{name}: {_times(sent, t)} as fast as sending it pickled{extra}: the workers read "
                         "the parent's bytes instead of receiving a copy.")
        else:
            lines.append(f"{name}: {_times(t, sent)} as slow as sending it pickled{extra}: here sharing "
                         "cost more than it saved; run the cell again, or try a larger array.")
    if "inherited at fork" not in timings:
        lines.append("No fork on this system: only spawn-started workers, which receive or attach, never inherit.")
    return lines


def describe_blas(unlimited: Timing, limited: Timing, *, processes: int, blas_threads: int,
                  cores: int) -> list[str]:
    """Matrix products in k processes, BLAS threads left alone vs limited to one: what happened here (lesson 02).

    ``blas_threads`` is what one worker's BLAS reported when left alone. The verdict uses the
    medians and the repeats' quartiles, so that one slow repeat does not decide it.
    """
    if processes < 1 or blas_threads < 1 or cores < 1:
        raise ValueError(f"processes, blas_threads and cores must be >= 1, got {processes}, {blas_threads}, {cores}")
    total = processes * blas_threads
    lines = [f"{label:<17}{format_seconds(t.median)} (repeats {format_seconds(min(t.values))} to "
             f"{format_seconds(max(t.values))})" for label, t in (("left alone:", unlimited),
                                                                  ("one BLAS thread:", limited))]
    threads = (f"{processes} process{'es' if processes != 1 else ''} × {blas_threads} BLAS "
               f"thread{'s' if blas_threads != 1 else ''} = {total} busy thread{'s' if total != 1 else ''} "
               f"on {cores} usable core{'s' if cores != 1 else ''}")
    if total <= cores:
        lines.append(f"{threads}: no more threads than cores, so there was nothing to oversubscribe here "
                     + ("(BLAS already runs one thread per process)" if blas_threads == 1 else
                        "(fewer processes than cores)") + "; limiting BLAS "
                     + ("made no difference beyond the repeats' spread." if _overlap(unlimited, limited) else
                        f"changed the time from {format_seconds(unlimited.median)} to "
                        f"{format_seconds(limited.median)}: with nothing oversubscribed, that difference is "
                        "noise between the runs, not the limit's doing."))
        return lines
    head = f"{threads}: oversubscribed, {total / cores:.1f} threads per core"
    if _overlap(unlimited, limited):
        lines.append(f"{head}; yet the two were within the repeats' spread here: the products were short, or "
                     "the BLAS threads gave their cores up quickly. On another run or machine it can cost much more.")
    elif limited.median < unlimited.median:
        lines.append(f"{head}. Limiting each worker to one BLAS thread made the run {_times(unlimited, limited)} "
                     "as fast: the threads no longer fought over the cores.")
    else:
        lines.append(f"{head}; yet limiting BLAS made the run {_times(limited, unlimited)} as slow here: "
                     "each product had fewer threads and the cores were free enough to give them; run it again.")
    return lines


def describe_kernel_threads(names: Sequence[str]) -> str:
    """The threads this process runs, and what a fork child keeps of them (lesson 02)."""
    if not names:
        raise ValueError("describe_kernel_threads needs at least the calling thread's name")
    count = len(names)
    return (f"This process runs {count} thread{'s' if count != 1 else ''}: {', '.join(names)}. "
            + (f"A fork child keeps only the one that calls fork; the other {count - 1} are not copied."
               if count > 1 else "A fork child keeps it: there is no other thread to lose."))


def describe_fork_child(report: Mapping[str, Any], *, lock_held: bool, wait_s: float) -> str:
    """What the fork child found: its threads and the lock another parent thread held (lesson 02)."""
    threads = int(report["threads"])
    took = bool(report["took_lock"])
    head = f"The fork child has {threads} thread{'s' if threads != 1 else ''}"
    if lock_held and not took:
        return (f"{head}. The lock another parent thread held at the fork is held in the child too, by a "
                f"thread the child does not have: acquire() gave up after {format_seconds(wait_s)}. Without "
                "a timeout the child would wait for ever: that is the deadlock fork can leave behind.")
    if lock_held and took:
        return (f"{head}, and it took the lock although a parent thread held it at the fork: the holder "
                "released it before the fork happened; run the cell again.")
    return f"{head}; the lock was free at the fork, so the child could take it."


def describe_fork_warning(messages: Sequence[str], version: tuple[int, int]) -> str:
    """What Python said when the kernel forked while running threads (lesson 02)."""
    where = f"Python {version[0]}.{version[1]}"
    if messages:
        return (f"{where} warned: DeprecationWarning: {messages[0]} — the warning every fork from a process "
                "with threads gives since 3.12.")
    if version >= (3, 12):
        return (f"{where} gave no warning: the process had no other thread at the fork, "
                "or warnings of this kind are switched off.")
    return (f"{where} gave no warning: the DeprecationWarning for a fork from a process with threads "
            "arrived in 3.12.")
