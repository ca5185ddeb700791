"""Lesson 05's programs across two hosts: MPICH's hydra starts one rank on each, as over ssh.

On a cluster: ``mpiexec -launcher ssh -hosts node01,node02 -n 2 python -m mpi4py -m ...``. Here
the "ssh" is a small wrapper this test writes (``-launcher-exec``): it skips ssh's leading
options, maps the host's address to its namespace and runs the command there with
``ip netns exec NS sh -c "$*"``, as sshd would run it through the login shell.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from parlab import launch
from parlab.scripts.mpi_common import RESULT_TAG
from parlab.scripts.mpi_integral import TOLERANCE

TIMEOUT_S = 60


def write_launcher(folder: Path, hosts) -> Path:
    """The ssh stand-in hydra calls as ``WRAPPER [-options] HOST COMMAND...``."""
    cases = "".join(f"  {h.address}) ns={h.netns} ;;\n" for h in hosts)
    wrapper = folder / "netns-ssh"
    wrapper.write_text("#!/bin/sh\n"
                       "# ssh [options] HOST COMMAND...: run COMMAND in HOST's network namespace\n"
                       'while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done\n'
                       'host=$1; shift\n'
                       'case "$host" in\n'
                       f"{cases}"
                       '  *) echo "netns-ssh: unknown host $host" >&2; exit 255 ;;\n'
                       "esac\n"
                       'exec ip netns exec "$ns" sh -c "$*"\n')
    wrapper.chmod(0o755)
    return wrapper


def run_ranks(argv: list[str], env: dict[str, str]) -> dict:
    done = launch.run(argv, timeout=TIMEOUT_S, check=False, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    [line] = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    return json.loads(line[len(RESULT_TAG):])


@pytest.fixture
def two_hosts(make_hosts, mpiexec, tmp_path):
    group = make_hosts(2)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    across = [mpiexec, "-launcher", "ssh", "-launcher-exec", str(write_launcher(tmp_path, group)),
              "-iface", group.bridge, "-hosts", ",".join(h.address for h in group)]
    return group, across, env


@pytest.mark.mpi
def test_hello_runs_one_rank_on_each_host(two_hosts):
    group, across, env = two_hosts
    data = run_ranks([*across, "-n", "2", sys.executable, "-m", "mpi4py", "-m", "parlab.scripts.mpi_hello",
                      "--where"], env)
    assert data["size"] == 2
    assert [r["rank"] for r in data["ranks"]] == [0, 1]
    assert [r["addresses"] for r in data["ranks"]] == [[h.address] for h in group]
    assert all(h.pids() == [] for h in group)  # every rank and proxy has ended


@pytest.mark.mpi
def test_the_integral_across_two_hosts_equals_one_hosts_run(two_hosts, mpiexec):
    group, across, env = two_hosts
    program = [sys.executable, "-m", "mpi4py", "-m", "parlab.scripts.mpi_integral", "--intervals", "200000",
               "--repeats", "1", "--where"]
    spread = run_ranks([*across, "-n", "4", *program], env)
    alone = run_ranks([mpiexec, "-n", "4", *program], env)
    assert spread["size"] == alone["size"] == 4
    # -hosts A,B with one slot each: ranks go round-robin, A B A B.
    assert spread["hosts"] == [[group[i % 2].address] for i in range(4)]
    assert abs(spread["value"] - alone["value"]) <= TOLERANCE * abs(alone["value"])
    assert spread["value"] == pytest.approx(3.141592653589793, abs=1e-9)
    assert all(h.pids() == [] for h in group)
