"""Reaching a real cluster with the same code: the batch script dask-jobqueue would submit (lesson 07).

``slurm_job_script`` builds a ``dask_jobqueue.SLURMCluster`` on loopback with no workers and
returns ``job_script()``: the sbatch file each worker job would run. No Slurm is needed; the
cluster's scheduler is closed before the function returns.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

__all__ = ["jobqueue_status", "slurm_job_script"]


def jobqueue_status() -> str | None:
    """None when dask-jobqueue can be imported here, else how to install it (lesson 07)."""
    if importlib.util.find_spec("dask_jobqueue") is None:
        return "dask-jobqueue is not installed: pip install dask-jobqueue"
    return None


def slurm_job_script(**options: Any) -> str:
    """The sbatch script ``SLURMCluster(**options)`` submits per worker job, made here without Slurm (lesson 07)."""
    from dask_jobqueue import SLURMCluster

    # Loopback, a free port, no dashboard: nothing listens beyond this machine, nothing clashes.
    scheduler = {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0", "dashboard": False,
                 **options.pop("scheduler_options", {})}
    with SLURMCluster(scheduler_options=scheduler, silence_logs=logging.CRITICAL, **options) as cluster:
        return str(cluster.job_script())
