"""Which BLAS/OpenMP libraries a process worker has loaded, and with how many threads.

Imported by tests/core/test_blas_threads.py (workers find it by name: spawn and forkserver get
the parent's sys.path), and run as a script by the same test:

    python tests/blas_helpers.py

As a script its main module imports numpy before any pool starts, so OpenBLAS is already
loaded, at its own thread count, before the pool's initializer runs: under spawn the worker
re-imports this script, under forkserver the fork server preloads it, under fork the worker
inherits it. It prints one JSON line for itself, then one per start method.
"""

from __future__ import annotations

import json
import multiprocessing

import numpy  # noqa: F401  (loaded here on purpose: see above)


def numeric_threads(_: object = None) -> list[dict[str, object]]:
    """In a worker: each loaded BLAS/OpenMP library and its thread count, as threadpoolctl reports it.

    A worker that gets this function imports this module, hence numpy and its OpenBLAS.
    """
    from threadpoolctl import threadpool_info

    return [{"api": lib["internal_api"], "prefix": lib["prefix"], "num_threads": lib["num_threads"]}
            for lib in threadpool_info()]


if __name__ == "__main__":
    from parlab.run import run_tasks

    print(json.dumps({"method": "parent", "workers": [numeric_threads()]}), flush=True)
    for method in multiprocessing.get_all_start_methods():
        got = run_tasks(numeric_threads, [None] * 2, backend="processes", workers=2,
                        start_method=method, warn=False, timeout=120).results
        print(json.dumps({"method": method, "workers": got}), flush=True)
