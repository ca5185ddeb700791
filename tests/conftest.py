"""Shared test fixtures: components that must exist in CI, and no processes left behind."""

from __future__ import annotations

import os
import sys
import time

import pytest
from procs import HAVE_PROC, cmdline, descendants, stdlib_helper

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def require():
    """``require(ok, what, how)``: skip with a hint outside CI, fail under CI=true, when a component is missing."""

    def _require(ok: bool, what: str, how: str) -> None:
        if ok:
            return
        message = f"{what} is not available: {how}"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)

    return _require


@pytest.fixture
def mpiexec(require) -> str:
    """The MPI launcher the lessons use; skipped outside CI and failed under CI when it is missing."""
    from parlab import mpi, system

    found = system.find_mpiexec()
    require(found is not None, "mpiexec", mpi.INSTALL_HINT)
    try:
        import mpi4py  # noqa: F401  (the package only: mpi4py.MPI would start MPI inside pytest)
    except ImportError:
        require(False, "mpi4py", mpi.INSTALL_HINT)
    return str(found)


@pytest.fixture
def fake_mpiexec(tmp_path):
    """A launcher of 'another MPI': it starts N unrelated copies, each initialising MPI as size 1."""
    fake = tmp_path / "mpiexec"
    fake.write_text(f"#!{sys.executable}\n"
                    "import subprocess, sys\n"
                    "args = sys.argv[1:]\n"
                    "if '-n' not in args: sys.exit(0)\n"
                    "i = args.index('-n'); n = int(args[i + 1])\n"
                    "procs = [subprocess.Popen(args[i + 2:]) for _ in range(n)]\n"
                    "sys.exit(max(p.wait(60) for p in procs))\n")
    fake.chmod(0o755)
    return fake


@pytest.fixture(scope="session", autouse=True)
def no_processes_left_behind():
    """After the whole run, no child process of pytest may still be alive (kernels get time to exit)."""
    yield
    if not HAVE_PROC:
        return
    deadline = time.monotonic() + 15
    while True:
        left = [p for p in descendants(os.getpid()) if not stdlib_helper(p)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    described = [f"{pid}: {cmdline(pid)[:160] or '?'}" for pid in left]
    if described:
        pytest.fail("processes left behind by the test run:\n" + "\n".join(described), pytrace=False)
