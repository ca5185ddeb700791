"""Bench group "gil" (lessons 01-02): threads speed up waiting and GIL-releasing C code.

threads_io: I/O-bound tasks (sleeps, which release the GIL) on 4 threads, whatever the core
count: waiting overlaps, so the aim is a speedup close to 4 (>= 3.5).
threads_hashlib: SHA-256 of large buffers on one thread per core: hashlib releases the GIL
for buffers over a few KB, so the aim is close to the core count (>= 1.7 on 2 cores).
"""

from __future__ import annotations

from typing import Any

from parlab.bench import speedup_entry
from parlab.run import WorkerPool
from parlab.workloads import hash_buffer, io_wait, make_buffer

__all__ = ["HASH_BYTES", "HASH_ROUNDS", "IO_WAIT_S", "IO_WORKERS", "entries"]

IO_WORKERS = 4
IO_WAIT_S = 0.02      # 16 waits of 20 ms: sleep overshoot (~0.1 ms) stays ~1 % of a task
HASH_BYTES = 8 << 20  # 8 MiB: far above hashlib's threshold for releasing the GIL
HASH_ROUNDS = 4
PAIRS: int | None = None  # None: parlab.bench's default; tests set a small number


def _pairs() -> dict[str, int]:
    return {} if PAIRS is None else {"pairs": PAIRS}


def threads_io() -> dict[str, Any]:
    """Speedup of 4 threads over serial on 4 x 4 sleeping tasks (lesson 01)."""
    tasks = [IO_WAIT_S] * (4 * IO_WORKERS)
    with WorkerPool("serial") as serial, WorkerPool("threads", IO_WORKERS, warn=False) as pool:
        return speedup_entry(lambda: serial.map(io_wait, tasks).results,
                             lambda: pool.map(io_wait, tasks).results, IO_WORKERS, **_pairs())


def threads_hashlib(cores: int) -> dict[str, Any]:
    """Speedup of one thread per core over serial hashing large buffers (lessons 01, 03)."""
    data = make_buffer(HASH_BYTES, seed=1)
    tasks = [(data, HASH_ROUNDS)] * (4 * cores)  # threads share the buffer: nothing is copied
    with WorkerPool("serial") as serial, WorkerPool("threads", cores, warn=False) as pool:
        return speedup_entry(lambda: serial.map(hash_buffer, tasks, star=True).results,
                             lambda: pool.map(hash_buffer, tasks, star=True).results, cores, **_pairs())


def entries(cores: int) -> dict[str, Any]:
    """The "gil" bench group: threads_io and threads_hashlib."""
    return {"threads_io": threads_io(), "threads_hashlib": threads_hashlib(cores)}
