"""Dask across hosts: a scheduler on host 0, one worker on each of hosts 1 and 2, the client here.

On a cluster: ``dask scheduler --host ADDR --port P`` on one machine, ``dask worker tcp://ADDR:P``
on the others, ``Client("tcp://ADDR:P")`` in the notebook. A worker's host is lost mid-job
(its ``dask worker`` process group killed): the scheduler gives its tasks to the other worker,
and every result still comes back, equal to the serial one.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from parlab.lessons.l07.measure import scheduler_workers
from parlab.workloads import count_primes, prime_windows

distributed = pytest.importorskip("distributed") if os.environ.get("CI", "").lower() not in ("1", "true", "yes") \
    else __import__("distributed")  # under CI=true a missing distributed fails, never skips

PORT = 8786  # the scheduler's host has a network stack of its own: the port is free there
TIMEOUT_S = 30
WINDOWS = prime_windows(24, 6000, 1_000_000)  # 24 tasks of ~0.1 s


def dask_cli() -> list[str]:
    dask = Path(sys.executable).parent / "dask"
    if dask.exists():
        return [str(dask)]
    return [sys.executable, "-m", "dask"]


@pytest.fixture
def cluster(make_hosts, tmp_path):
    group = make_hosts(3)
    scheduler_host, *worker_hosts = group
    address = f"tcp://{scheduler_host.address}:{PORT}"
    common = ["--no-dashboard"]
    scheduler = scheduler_host.start([*dask_cli(), "scheduler", "--host", scheduler_host.address,
                                      "--port", str(PORT), *common], cwd=tmp_path)
    workers = {h.address: h.start([*dask_cli(), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                   "--host", h.address, "--name", h.name, "--death-timeout", "20",
                                   "--local-directory", str(tmp_path / h.name), *common], cwd=tmp_path)
               for h in worker_hosts}
    client = distributed.Client(address, timeout=TIMEOUT_S)
    try:
        client.wait_for_workers(2, timeout=TIMEOUT_S)
        yield group, client, workers
    finally:
        client.close(timeout=10)
        for child in [scheduler, *workers.values()]:
            child.stop()


def worker_hosts(client) -> list[str]:
    """The hosts of the workers the scheduler holds now (not the client's copy: see scheduler_workers)."""
    return sorted(w["host"] for w in scheduler_workers(client).values())


def test_tasks_survive_a_lost_worker_host(cluster):
    group, client, workers = cluster
    serial = [count_primes(lo, hi) for lo, hi in WINDOWS]
    assert worker_hosts(client) == sorted(h.address for h in group[1:])  # one worker on each of hosts 1, 2
    futures = client.map(count_primes, [lo for lo, _ in WINDOWS], [hi for _, hi in WINDOWS], pure=False)
    # Lose a worker while it is busy: once a few results are in, kill the first worker that holds tasks.
    deadline = time.monotonic() + TIMEOUT_S
    victim = None
    while victim is None and time.monotonic() < deadline:
        done = sum(f.done() for f in futures)
        busy = [addr for addr, keys in client.processing().items() if keys]
        if done >= 3 and busy:
            victim = busy[0].removeprefix("tcp://").rsplit(":", 1)[0]
        else:
            time.sleep(0.02)
    assert victim in workers, f"no busy worker to lose: {client.processing()}"
    workers[victim].kill()  # the nanny and its worker, as a crashed host would
    assert workers[victim].popen.wait(10) is not None
    results = client.gather(futures)
    assert results == serial
    assert worker_hosts(client) == [a for a in workers if a != victim]
    assert next(h for h in group if h.address == victim).pids() == []
