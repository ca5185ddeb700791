"""Lesson 06c's program and its measurements: profile first, predict with Amdahl, then measure the pool.

The program has the three parts most real ones have: a serial setup (``make_seeds``: each seed
depends on the one before, so it cannot be split), a loop of independent tasks (``score``, the
part a pool can spread over workers) and a serial merge (``merge``). Every function a process
worker runs is defined here, at module level, so that spawn and forkserver workers can import it.
``python -m parlab.lessons.l06.profiling`` runs the program once (the sampling profiler of
Python 3.15 runs it that way).
"""

from __future__ import annotations

import cProfile
import functools
import importlib.util
import pstats
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from parlab._checks import POOL_TIMEOUT_S, check_choice
from parlab.measure import paired_speedup
from parlab.results import PairedSpeedup
from parlab.system import CpuMeter

__all__ = [
    "PARALLEL_FUNCTION",
    "SERIAL_FUNCTIONS",
    "TASKS",
    "FunctionRow",
    "ProgramSweep",
    "function_rows",
    "make_seeds",
    "measure_program",
    "merge",
    "profile_program",
    "program",
    "sampling_command",
    "sampling_profiler_available",
    "score",
    "serial_share",
    "stats_calls",
]

TASKS = 24          # tasks of the parallel loop
SEED_ROUNDS = 6000  # steps of the serial chain per seed: about a fifth of the run
STEPS = 24000       # steps of one task
MASK = (1 << 64) - 1
SERIAL_FUNCTIONS = ("make_seeds", "merge")
PARALLEL_FUNCTION = "score"


def make_seeds(tasks: int = TASKS, rounds: int = SEED_ROUNDS) -> list[int]:
    """The serial setup: one seed per task from a chain in which each step needs the last (lesson 06c)."""
    x, seeds = 2026, []
    for _ in range(tasks):
        for _ in range(rounds):
            x = (x * 6364136223846793005 + 1442695040888963407) & MASK
        seeds.append(x)
    return seeds


def score(seed: int, steps: int = STEPS) -> int:
    """One independent task of the parallel loop: a score walked from its seed (lesson 06c)."""
    x, total = seed, 0
    for _ in range(steps):
        x = (x * 2862933555777941757 + 3037000493) & MASK
        total += x >> 61
    return total


def merge(scores: Sequence[int]) -> dict[str, Any]:
    """The serial merge: the total and the three best scores (lesson 06c)."""
    ranked = sorted(scores, reverse=True)
    return {"tasks": len(ranked), "total": sum(ranked), "best": ranked[:3]}


def program(tasks: int = TASKS, pool: Executor | None = None) -> dict[str, Any]:
    """The whole program: seeds (serial), scores (serial, or on ``pool``), merge (serial) (lesson 06c)."""
    seeds = make_seeds(tasks)
    if pool is None:
        scores = [score(seed) for seed in seeds]
    else:
        scores = list(pool.map(score, seeds, timeout=POOL_TIMEOUT_S))
    return merge(scores)


# --------------------------------------------------------------------------- reading a profile

@dataclass(frozen=True)
class FunctionRow:
    """One function of a profile: calls, own time (tottime) and time with its callees (cumtime)."""

    name: str
    calls: int
    tottime: float
    cumtime: float


def profile_program(tasks: int = TASKS, pool: Executor | None = None) -> pstats.Stats:
    """cProfile around one run of the program; its pstats (lesson 06c)."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        program(tasks, pool)
    finally:
        profiler.disable()
    return pstats.Stats(profiler)


def _entries(stats: pstats.Stats) -> dict[tuple[str, int, str], tuple[Any, ...]]:
    entries: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    return entries


def _ours(key: tuple[str, int, str], name: str) -> bool:
    return key[2] == name and key[0].replace("\\", "/").rsplit("/", 1)[-1] == "profiling.py"


def function_rows(stats: pstats.Stats, names: Iterable[str] = (*SERIAL_FUNCTIONS, PARALLEL_FUNCTION, "program")
                  ) -> list[FunctionRow]:
    """The rows of this module's functions ``names`` in ``stats`` (summed over processes), costliest first."""
    rows = []
    for name in names:
        found = [v for k, v in _entries(stats).items() if _ours(k, name)]
        if found:
            rows.append(FunctionRow(name, sum(int(v[1]) for v in found), sum(float(v[2]) for v in found),
                                    sum(float(v[3]) for v in found)))
    return sorted(rows, key=lambda r: r.cumtime, reverse=True)


def stats_calls(stats: pstats.Stats, name: str = PARALLEL_FUNCTION) -> int:
    """How many calls of this module's ``name`` the profile holds (lesson 06c, exercise 3)."""
    return sum(int(v[1]) for k, v in _entries(stats).items() if _ours(k, name))


def serial_share(stats: pstats.Stats) -> float:
    """The share of the profiled run spent outside the parallel loop's tasks: Amdahl's f (lesson 06c)."""
    total = float(stats.total_tt)  # type: ignore[attr-defined]
    if total <= 0:
        raise ValueError("the profile holds no time: profile a run of the program first")
    parallel = sum(r.cumtime for r in function_rows(stats, (PARALLEL_FUNCTION,)))
    return min(1.0, max(0.0, 1.0 - parallel / total))


# --------------------------------------------------------------------------- the sampling profiler (3.15+)

def sampling_profiler_available() -> bool:
    """Whether this Python has the sampling profiler ``profiling.sampling`` (Python 3.15+) (lesson 06c)."""
    try:
        return importlib.util.find_spec("profiling.sampling") is not None
    except ModuleNotFoundError:
        return False


def sampling_command(mode: str = "gil") -> list[str]:
    """The argument list that samples one run of this program, ``--mode gil``: where the GIL was held (lesson 06c)."""
    mode = check_choice("mode", mode, ("wall", "cpu", "gil"))
    return [sys.executable, "-m", "profiling.sampling", "run", "--mode", mode, "-m", __name__]


# --------------------------------------------------------------------------- the measurement

@dataclass(frozen=True)
class ProgramSweep:
    """The whole program, serial and on a pool of each size, timed in interleaved pairs (pools started first)."""

    pairs: dict[int, PairedSpeedup]
    others_cores: float | None = None  # cores other programs kept busy meanwhile (system.CpuMeter)

    def speedups(self) -> dict[int, float]:
        """{workers: the median of the pairs' serial/pool ratios}."""
        return {k: p.speedup for k, p in sorted(self.pairs.items())}

    def spreads(self) -> dict[int, tuple[float, float]]:
        """{workers: the pairs' ratios' first and third quartiles}: a wide spread means an unsteady figure."""
        return {k: p.quartiles for k, p in sorted(self.pairs.items())}


def measure_program(workers: Sequence[int], *, tasks: int = TASKS, pairs: int = 3) -> ProgramSweep:
    """Time the whole program serial and on a ProcessPoolExecutor of each size, in pairs, results checked (lesson 06c).

    Each pool starts its workers before the clock: the start-up is not in the program's time.
    """
    measured = {}
    with CpuMeter() as meter:
        for k in workers:
            with ProcessPoolExecutor(max_workers=k) as pool:
                list(pool.map(score, [1] * k, [10] * k, timeout=POOL_TIMEOUT_S))  # start the workers first
                measured[k] = paired_speedup(functools.partial(program, tasks),
                                             functools.partial(program, tasks, pool),
                                             workers=k, pairs=pairs, warmup=0, max_pairs=4 * pairs)
    return ProgramSweep(measured, meter.others_cores)


if __name__ == "__main__":
    print(program())
