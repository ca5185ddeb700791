"""Shared test fixtures: markers by folder, components that must exist in CI, and no processes left behind.

Markers say what a test needs, so that a loop can leave it out (README, "Running the tests"):
the folder gives most of them (``browser/`` -> browser, ``faults/`` -> faults, a lesson notebook
-> notebook and slow); a test that asks for the ``mpiexec`` fixture is marked mpi; the rest
are marked in their files (redis, compiled, gil, slow).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from procs import HAVE_PROC, cmdline, descendants, parent, stdlib_helper

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TESTS = Path(__file__).resolve().parent
FOLDER_MARKS = {"browser": ("browser", "slow"), "faults": ("faults",), "hosts": ("hosts", "slow")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if path.suffix == ".ipynb":
            marks: tuple[str, ...] = ("notebook", "slow")
        elif path.is_relative_to(TESTS):
            marks = FOLDER_MARKS.get(path.relative_to(TESTS).parts[0], ())
        else:
            marks = ()
        if "mpiexec" in getattr(item, "fixturenames", ()):
            marks += ("mpi",)
        for mark in marks:
            item.add_marker(mark)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the usable cores, at most 4.

    Many tests wait (on a child, a timeout, a server, mpiexec) and leave their core idle: the
    extra worker uses it. On 2 cores, 3 workers ran the suite in 12m24s, 2 workers in 13m02s.
    Each worker that gets a browser test starts its own JupyterLab and Chromium, hence the cap.
    """
    from parlab.system import usable_cores

    return min(usable_cores() + 1, 4)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """How README's command (pytest-xdist workers, ``--dist loadscope``) shares the tests out.

    A notebook's cells share one kernel and a test file's tests may share a fixture or a fixed
    resource (a port, a namespace's name): each stays in one worker, as ``loadscope`` does. Only
    the browser test's lessons go one by one. (pytest-xdist's own ``loadgroup`` marks do not
    reach pytest 9.2's node ids.)

    Lessons (the browser test's, or nbval's) measure parallel speedups on every core: two side by
    side each run about 2.5 times slower than beside short tests. So the first worker takes the
    lessons one after another while the others take the test files, most tests first; a worker
    with nothing of its kind left takes what remains. (``loadscope`` alone orders by test count,
    which put the one-test browser units last, run side by side at the end.)
    """
    from xdist.scheduler import LoadScopeScheduling

    def lesson_unit(scope: str) -> bool:
        return scope.startswith("tests/browser/") or scope.endswith(".ipynb")

    class _Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if path.startswith("tests/browser/") else path

        def _assign_work_unit(self, node: Any) -> None:
            lessons_lane = node.gateway.id == "gw0"
            wanted = next((s for s in self.workqueue if lesson_unit(s) == lessons_lane), None)
            if wanted is not None:
                self.workqueue.move_to_end(wanted, last=False)  # the next unit handed out
            super()._assign_work_unit(node)

    return _Scheduling(config, log)


class _EachLessonOnce:
    """Each lesson executes once: in the browser test, which also compares its stored outputs.

    The browser test runs every lesson in JupyterLab and compares the outputs with the stored
    ones by strict nbval's rules (tests/stored_outputs.py). Where it will run a lesson,
    that lesson's nbval cells are deselected rather than executed a second time. Where it will
    not (no Chromium or Playwright, ``-m "not browser"``, only notebooks/ chosen), nbval runs as
    before; so do the other Pythons' stages and .ci/busy-core, which have no browser.
    """

    @pytest.hookimpl(trylast=True)  # after -m and -k have chosen the tests
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        chromium = os.environ.get("PARLAB_CHROMIUM", "/usr/bin/chromium")
        if not (os.access(chromium, os.X_OK) and importlib.util.find_spec("playwright")):
            return
        in_browser = {(Path(item.module.NOTEBOOK_DIR) / item.callspec.params["name"]).resolve()
                      for item in items if isinstance(item, pytest.Function)
                      and item.originalname == "test_lesson_in_the_browser" and hasattr(item, "callspec")}
        dropped = [item for item in items if Path(str(item.fspath)).resolve() in in_browser]
        if dropped:
            gone = set(dropped)
            items[:] = [item for item in items if item not in gone]
            config.hook.pytest_deselected(items=dropped)


_CONFIG: list[pytest.Config] = []  # this run's config, for the SIGTERM handler


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # SIGTERM (a CI timeout, `kill`) becomes a KeyboardInterrupt: pytest then ends the session as
    # it does on Ctrl-C, tearing down every fixture, so no JupyterLab, kernel, server or worker
    # outlives it. A controller passes it on to its workers (its children) first: Ctrl-C reaches
    # them from the terminal, SIGTERM does not, and a worker killed at the end of the
    # controller's wait would leave its JupyterLab (in a session of its own) running.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
    if _CONFIG and _CONFIG[0].pluginmanager.has_plugin("dsession"):  # a controller, not a worker
        for pid in descendants(os.getpid()):
            if parent(pid) == os.getpid():
                try:
                    os.kill(pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    pass
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config: pytest.Config) -> None:
    _CONFIG[:] = [config]
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started in the background (`cmd &`, nohup), where the shell ignores SIGINT: the tests
        # that press Ctrl-C on a child need children that take it, and they inherit this.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    config.pluginmanager.register(_EachLessonOnce(), "parlab-each-lesson-once")
    if hasattr(signal, "SIGTERM") and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _stop_on_sigterm)


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
def compiled(require) -> None:
    """The compiled kernels (Cython, C API, ctypes library); skipped outside CI and failed under CI when missing."""
    from parlab import kernels

    require(kernels.COMPILED, "the compiled kernels (Cython, C API, ctypes library)",
            "build the kernels: install a C compiler, then `pip install -e .` (see kernels.status())")


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
