"""Bench group "mpi" (lesson 05): the integral's speedup inside MPI, mpiexec start-up, ping-pong latency.

The integral's times are taken inside the MPI program (after a Barrier, with MPI.Wtime,
the slowest rank's), so launching is not in the speedup; runs on 1 rank and on all usable
cores alternate so that noise on a shared machine hits both alike. The ping-pong latency
(8-byte buffer) is set beside ``python -m mpi4py.bench pingpong`` measured in the same run.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from parlab import system
from parlab.bench import speedup_figures
from parlab.lessons.l05.mpi import integral_agrees, median_startup_s, reference_pingpong, run_integral
from parlab.measure import paired_speedup
from parlab.mpi import INSTALL_HINT, MPIRun, run_mpi

__all__ = ["entries", "integral_entry", "pingpong_entry"]

INTERVALS = 4_000_000
REPEATS = 3
PAIRS = 5
LATENCY_BYTES = 8
LATENCY_LOOP = 10_000
LATENCY_ROUNDS = 3


def _integral_call(ranks: int, runs: list[MPIRun]) -> Callable[[], tuple[tuple[float, float], float]]:
    # The result is (value, relative tolerance), the time the program's own (after a Barrier).
    def call() -> tuple[tuple[float, float], float]:
        run = run_integral(ranks, INTERVALS, REPEATS)
        runs.append(run)
        return ((float(run.data["value"]), float(run.data["tolerance"])),
                statistics.median(run.data["seconds"]))
    return call


def _within_tolerance(one: tuple[float, float], wide: tuple[float, float]) -> bool:
    return integral_agrees(one[0], wide[0], one[1])


def integral_entry(cores: int, pairs: int = PAIRS) -> tuple[dict[str, Any], dict[str, Any]]:
    """(mpi_integral speedup entry, mpiexec_startup_ms entry), from alternating 1-rank and all-core jobs."""
    wide_runs: list[MPIRun] = []
    paired = paired_speedup(_integral_call(1, []), _integral_call(cores, wide_runs), workers=cores,
                            pairs=pairs, warmup=0, same=_within_tolerance, own_times=True)
    speedup = speedup_figures(paired) | {"intervals": INTERVALS}
    startup = {"value": round(1000 * median_startup_s(wide_runs), 1), "ranks": cores}
    return speedup, startup


def pingpong_entry(rounds: int = LATENCY_ROUNDS) -> dict[str, Any]:
    """One-trip latency of an 8-byte buffer (Send/Recv) against mpi4py.bench's, alternating, medians in µs."""
    ours, reference = [], []
    for _ in range(rounds):
        run = run_mpi("pingpong", 2, "--min-size", LATENCY_BYTES, "--max-size", LATENCY_BYTES,
                      "--loop", LATENCY_LOOP, "--skip", LATENCY_LOOP // 40, "--budget", 5,
                      "--modes", "buffer")
        ours.append(run.data["seconds"]["buffer"][0])
        ref = reference_pingpong(LATENCY_BYTES, LATENCY_LOOP, min_size=LATENCY_BYTES)
        reference.append(ref[LATENCY_BYTES])
    latency, ref_latency = 1e6 * statistics.median(ours), 1e6 * statistics.median(reference)
    return {"value": round(latency, 3), "latency_us": round(latency, 3),
            "reference_latency_us": round(ref_latency, 3), "ratio": round(latency / ref_latency, 3),
            "bytes": LATENCY_BYTES, "ranks": 2, "rounds": rounds}


def entries(cores: int) -> dict[str, Any]:
    """mpi_integral, mpiexec_startup_ms and mpi_pingpong (lesson 05); a note instead when MPI is missing."""
    if system.find_mpiexec() is None:
        return {"mpi_skipped": {"value": None, "reason": f"no mpiexec: {INSTALL_HINT}"}}
    speedup, startup = integral_entry(cores)
    return {"mpi_integral": speedup, "mpiexec_startup_ms": startup, "mpi_pingpong": pingpong_entry()}
