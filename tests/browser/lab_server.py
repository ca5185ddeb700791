"""A real JupyterLab server for the browser tests: loopback, a free port, throwaway dirs.

The server runs in its own process group with its own config, runtime, settings and
workspace dirs, so nothing of the user's Jupyter setup leaks in and nothing is left behind:
``stop()`` asks it to shut down (SIGTERM makes jupyter_server stop its kernels), then kills
whatever is left of the group.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from procs import alive, cmdline, descendants

from parlab.coord.localredis import free_port  # a free port on 127.0.0.1

__all__ = ["JupyterLab"]

# Settings written into the throwaway user-settings dir (facts from TESTING.md):
SETTINGS = {
    # no news pop-up covering the page, no update check (no network here)
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    # every cell stays in the DOM (no virtual scrolling): every panel can be found and clicked
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # the copies the browser runs are throwaway; never write them back behind the test's back
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


class JupyterLab:
    """``python -m jupyter lab`` serving a copy of a notebook folder from a temporary root."""

    def __init__(self, workdir: Path, notebooks: Path, repo: Path) -> None:
        self.workdir = workdir
        self.root = workdir / "root"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "jupyter.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._prepare(notebooks, repo)

    def _prepare(self, notebooks: Path, repo: Path) -> None:
        # The browser runs copies: running a lesson must not rewrite the committed file.
        self.root.mkdir(parents=True)
        shutil.copytree(notebooks, self.root / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        # A lesson may read ../data/... relative to its folder: the repo's other folders
        # are linked in beside the copy.
        for entry in repo.iterdir():
            if not entry.name.startswith(".") and entry.name != "notebooks" and entry.is_dir():
                (self.root / entry.name).symlink_to(entry, target_is_directory=True)
        for rel, values in SETTINGS.items():
            path = self.workdir / "settings" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        for name in ("config", "runtime", "workspaces", "ipython"):
            (self.workdir / name).mkdir()

    def argv(self) -> list[str]:
        """The server's command line (an argument list; no shell)."""
        return [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
                f"--port={self.port}", "--ServerApp.port_retries=0",
                "--IdentityProvider.token=", "--ServerApp.password=",
                "--ServerApp.allow_root=True", "--LabApp.expose_app_in_browser=True",
                f"--ServerApp.root_dir={self.root}",
                f"--LabApp.workspaces_dir={self.workdir / 'workspaces'}",
                f"--LabApp.user_settings_dir={self.workdir / 'settings'}"]

    def start(self, timeout: float = 90.0) -> None:
        """Start the server and wait until GET /api/status answers."""
        env = dict(os.environ)
        env.update(JUPYTER_CONFIG_DIR=str(self.workdir / "config"),
                   JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
                   IPYTHONDIR=str(self.workdir / "ipython"), PYDEVD_DISABLE_FILE_VALIDATION="1")
        env.pop("MPLBACKEND", None)  # the kernel must keep its inline backend
        env.pop("JUPYTER_TOKEN", None)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env, cwd=self.workdir,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=5) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"jupyter lab did not answer /api/status within {timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's log (kernel tracebacks land here too)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def kernel_pids(self) -> list[int]:
        """Process ids of the running kernels (children of the server running ipykernel)."""
        if self.proc is None:
            return []
        return [p for p in descendants(self.proc.pid) if "ipykernel" in cmdline(p)]

    def kernel_pid(self, kernel_id: str) -> int | None:
        """The process id of the kernel with this id (its connection file is named after it)."""
        found = [p for p in self.kernel_pids() if kernel_id in cmdline(p)]
        return found[0] if found else None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the server shuts its kernels down), then SIGKILL to anything left in its group."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        left = {pid: cmdline(pid) for pid in descendants(proc.pid)}
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # Kernels live in their own process groups: kill the server's group and each survivor.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for pid, command in left.items():
            if alive(pid) and cmdline(pid) == command:  # the same process, not a reused pid
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        proc.wait(10)
