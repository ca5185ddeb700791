"""One BLAS/OpenMP thread per process worker, under every start method, however the library got loaded.

A library reads its thread count when it loads: the variables set in the worker cover a
library a task loads later; threadpoolctl covers one already loaded (inherited under fork,
preloaded by the fork server, loaded by re-importing the main script under spawn).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numpy  # noqa: F401  (OpenBLAS loaded in this process: fork workers inherit it)
import pytest
from blas_helpers import numeric_threads  # tests/blas_helpers.py
from threadpoolctl import threadpool_limits

from parlab import _worker
from parlab.run import run_tasks

METHODS = multiprocessing.get_all_start_methods()
HELPER = Path(__file__).resolve().parents[1] / "blas_helpers.py"


def _assert_one_thread_each(workers: list[list[dict[str, object]]], where: str) -> None:
    assert workers, where
    for libs in workers:
        assert any(lib["api"] == "openblas" for lib in libs), f"{where}: numpy's OpenBLAS not reported: {libs}"
        assert all(lib["num_threads"] == 1 for lib in libs), f"{where}: {libs}"


@pytest.mark.parametrize("method", METHODS)
def test_numeric_libraries_run_one_thread_in_each_worker(method):
    # The parent runs OpenBLAS on 2 threads (where it can), so a fork worker that kept the
    # parent's count would report 2: the test cannot pass by accident.
    with threadpool_limits(limits=2):
        parent = numeric_threads()
        got = run_tasks(numeric_threads, [None] * 2, backend="processes", workers=2,
                        start_method=method, warn=False, timeout=120).results
    assert any(lib["api"] == "openblas" for lib in parent)
    _assert_one_thread_each(got, method)


@pytest.mark.slow
def test_libraries_loaded_before_the_initializer_are_limited_too():
    # A script whose main module imports numpy: spawn workers re-import it and the fork
    # server preloads it, so OpenBLAS is loaded at its own count before the initializer runs.
    env = {k: v for k, v in os.environ.items() if k not in _worker.THREAD_LIMIT_VARS}
    out = subprocess.run([sys.executable, str(HELPER)], capture_output=True, text=True, env=env,
                         timeout=300, check=True).stdout
    lines = {line["method"]: line["workers"] for line in map(json.loads, out.splitlines())}
    assert set(lines) == {"parent", *METHODS}
    parent = lines.pop("parent")[0]
    assert any(lib["api"] == "openblas" for lib in parent), parent
    for method, workers in lines.items():
        _assert_one_thread_each(workers, method)


def test_the_loaded_library_check_sees_numpy():
    assert _worker._numeric_library_loaded()  # numpy is imported above
