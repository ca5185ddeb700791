"""Lesson 05's blocking section: a Send/Send deadlock caught by a timeout, its two fixes, Reduce vs reduce.

``run_exchange`` runs ``parlab.scripts.mpi_exchange`` on 2 ranks with a short timeout. A job
that hangs is stopped by the launcher (the whole mpiexec process group) and reported, not
raised: where each rank was waiting is read from the marks the ranks wrote to stderr before
each blocking call, so the lesson can say "deadlock: both ranks wait in Send" from evidence.
``describe_reductions`` words the upper- against lower-case comparison from the timings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from parlab._checks import MPI_TIMEOUT_S, check_choice, check_timeout, check_whole
from parlab.lessons.l05.mpi import format_bytes
from parlab.lessons.words import SAME_HIGH, SAME_LOW
from parlab.mpi import MPIRun, MPITimeout, run_mpi
from parlab.results import format_seconds
from parlab.scripts.mpi_exchange import AT_TAG, MODES

__all__ = [
    "DEADLOCK_TIMEOUT_S",
    "Exchange",
    "describe_eager",
    "describe_exchange",
    "describe_hang",
    "describe_reductions",
    "reduction_table",
    "reductions_equal",
    "run_exchange",
    "run_reductions",
    "waiting_calls",
]

DEADLOCK_TIMEOUT_S = 4.0  # 2 ranks start in about a second here; a swap of 1 MiB takes milliseconds


@dataclass(frozen=True)
class Exchange:
    """One swap between two ranks: finished (with whether each rank got the other's data) or stopped (lesson 05)."""

    mode: str
    count: int
    command: str
    finished: bool
    right: tuple[bool, ...] = ()
    seconds: float | None = None
    waiting: Mapping[int, str] | None = None  # on a timeout: rank -> the call it was waiting in
    timeout: float = DEADLOCK_TIMEOUT_S

    @property
    def nbytes(self) -> int:
        """The size of each rank's message (float64 values)."""
        return 8 * self.count


def waiting_calls(stderr: str) -> dict[int, str]:
    """{rank: the last call it said it was about to wait in}, from the ``AT_TAG`` lines of stderr (lesson 05)."""
    found: dict[int, str] = {}
    for line in stderr.splitlines():
        if line.startswith(AT_TAG):
            words = line[len(AT_TAG):].split()
            if len(words) == 3 and words[0] == "rank" and words[1].isdigit():
                found[int(words[1])] = words[2]
    return found


def describe_hang(waiting: Mapping[int, str], ranks: int = 2) -> str:
    """Name a hang from where the ranks waited: 'deadlock: both ranks wait in Send' (lesson 05)."""
    calls = {waiting.get(r) for r in range(ranks)}
    if None in calls:
        missing = [r for r in range(ranks) if r not in waiting]
        return (f"deadlock or a rank that never started: rank(s) {missing} did not say where they "
                "waited (the machine may be too busy to start them within the timeout)")
    if len(calls) == 1:
        return f"deadlock: {'both' if ranks == 2 else 'all'} ranks wait in {calls.pop()}"
    return "deadlock: " + ", ".join(f"rank {r} waits in {waiting[r]}" for r in range(ranks))


def run_exchange(mode: str, count: int, timeout: float = DEADLOCK_TIMEOUT_S) -> Exchange:
    """Swap ``count`` float64 values between 2 ranks with ``mode``; a hang returns a stopped Exchange (lesson 05)."""
    mode = check_choice("mode", mode, MODES)
    count = check_whole("count", count, 1, 1 << 24, what="float64 values")
    timeout = check_timeout(timeout)
    args = ("--mode", mode, "--count", count)
    try:
        run = run_mpi("exchange", 2, *args, timeout=timeout)
    except MPITimeout as err:
        command = f"mpiexec -n 2 python -m mpi4py -m parlab.scripts.mpi_exchange {' '.join(map(str, args))}"
        return Exchange(mode, count, command, False, waiting=waiting_calls(err.stderr), timeout=timeout)
    return Exchange(mode, count, run.command, True, tuple(run.data["right"]), float(run.data["seconds"]),
                    timeout=timeout)


def describe_exchange(ex: Exchange) -> str:
    """One line: the swap finished with the right data (or not), or was stopped and why (lesson 05)."""
    head = f"{ex.mode}, {format_bytes(ex.nbytes)} each way: "
    if not ex.finished:
        return (head + f"no answer within {ex.timeout:g} s, so the launcher killed the mpiexec process group. "
                + describe_hang(ex.waiting or {}) + ".")
    seconds = format_seconds(ex.seconds) if ex.seconds is not None else "?"
    if ex.right and all(ex.right):
        return head + f"finished, the swap took {seconds}; each rank received the other's data."
    wrong = [r for r, ok in enumerate(ex.right) if not ok]
    return head + f"finished in {seconds}, but rank(s) {wrong} did not receive the other rank's data."


def describe_eager(small: Exchange, large: Exchange) -> str:
    """What Send then Recv did at a small and a large size, from the two runs (lesson 05)."""
    s, big = format_bytes(small.nbytes), format_bytes(large.nbytes)
    if small.finished and not large.finished:
        return (f"Send returned at {s}: the MPI library copied the small message into a buffer of its own "
                f"(the eager protocol) and let the sender go on. At {big} Send waits for the matching Recv, and "
                f"the job hung ({describe_hang(large.waiting or {})}). The program was wrong at both sizes; "
                "only the small size hid it.")
    if small.finished and large.finished:
        return (f"Send then Recv finished at both {s} and {big}: this MPI library buffers even {big} "
                "(its eager limit is higher). The program is still wrong: MPI may make any Send wait for "
                "its Recv, and a larger message will hang.")
    if large.finished:
        return f"{s} hung but {big} finished: unexpected; run the cell again (a busy machine can delay a start)."
    return (f"Even {s} did not finish within {small.timeout:g} s: this MPI library does not buffer it, "
            "or the machine was too busy to start both ranks in time; run the cell again.")


def run_reductions(counts: Iterable[int] = (1, 1024, 131072), repeats: int = 20, ranks: int = 2,
                   timeout: float = MPI_TIMEOUT_S) -> MPIRun:
    """Time Reduce/reduce and Allreduce/allreduce at each array length; totals compared in the program (lesson 05)."""
    timeout = check_timeout(timeout)
    sizes = [check_whole("a count", c, 1, 1 << 24, what="float64 values") for c in counts]
    if not sizes:
        raise ValueError("counts must list at least one array length, e.g. [1, 1024, 131072]")
    repeats = check_whole("repeats", repeats, 1, 10_000)
    return run_mpi("reductions", ranks, "--counts", ",".join(map(str, sizes)), "--repeats", repeats,
                   timeout=timeout)


def reductions_equal(data: Mapping[str, Any]) -> bool:
    """Whether upper and lower case gave equal totals at every size, on every rank (lesson 05)."""
    return all(all(flags) for flags in data["equal"].values())


def reduction_table(data: Mapping[str, Any]) -> str:
    """The four calls' times (µs: slowest rank, median of the repeats) by array size, as a table (lesson 05)."""
    names = list(data["seconds"])
    lines = ["  array size" + "".join(f"{n:>13}" for n in names)]
    for i, nbytes in enumerate(data["nbytes"]):
        lines.append(f"{format_bytes(nbytes):>12}" + "".join(f"{1e6 * data['seconds'][n][i]:>10.1f} µs" for n in names))
    return "\n".join(lines)


def describe_reductions(data: Mapping[str, Any]) -> str:
    """Upper case against lower case at each size, from the times: how many times as long pickling took (lesson 05)."""
    lines = []
    for upper, lower in (("Reduce", "reduce"), ("Allreduce", "allreduce")):
        parts = []
        for i, nbytes in enumerate(data["nbytes"]):
            buf, pkl = data["seconds"][upper][i], data["seconds"][lower][i]
            ratio = pkl / buf if buf > 0 else float("inf")
            if ratio > SAME_HIGH:
                parts.append(f"{format_bytes(nbytes)}: {lower} took {ratio:.1f} times as long")
            elif ratio < SAME_LOW:
                parts.append(f"{format_bytes(nbytes)}: {lower} was faster this time "
                             f"({ratio:.2f} times the {upper} time)")
            else:
                parts.append(f"{format_bytes(nbytes)}: about the same ({ratio:.2f} times)")
        lines.append(f"{upper} vs {lower}: " + "; ".join(parts) + ".")
    ratios = [data["seconds"][lo][i] / data["seconds"][up][i]
              for up, lo in (("Reduce", "reduce"), ("Allreduce", "allreduce"))
              for i in range(len(data["nbytes"])) if data["seconds"][up][i] > 0]
    slower = sum(r > SAME_HIGH for r in ratios)
    lines.append(f"The pickling call was slower in {slower} of {len(ratios)} comparisons"
                 + (": on NumPy arrays, use the upper-case calls." if slower > len(ratios) / 2 else
                    ": on this machine the buffer calls did not win most of them; run the cell again "
                    "before drawing a conclusion."))
    lines.append("Totals: " + ("equal at every size, on every rank (numpy.array_equal)." if reductions_equal(data)
                               else "NOT equal at some size: " + repr(data["equal"])))
    return "\n".join(lines)
