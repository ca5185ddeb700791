"""Real code first: each lesson shows the plain library calls it teaches, in code cells the learner runs.

The measurements at scale go through parlab; the parallel work itself must be readable in the
notebook, written with the standard library, mpi4py, the redis client or joblib, as the
learner will write it after the course.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

# lesson file -> {what the learner must see: a regular expression over the lesson's code cells}
TAUGHT = {
    "01a-the-gil.ipynb": {
        "threading.Thread start and join": r"threading\.Thread\((?s:.)*\.start\(\)(?s:.)*\.join\(",
        "concurrent.futures.ThreadPoolExecutor": r"ThreadPoolExecutor\(",
    },
    "01b-threads-in-practice.ipynb": {
        "threading.Lock": r"threading\.Lock\(\)",
        "queue.Queue": r"queue\.Queue\(",
        "asyncio.gather with await": r"await\s+asyncio\.gather\(",
        "asyncio.Semaphore": r"asyncio\.Semaphore\(",
    },
    "02-threads-vs-processes.ipynb": {
        "a worker module written with %%writefile": r"^%%writefile\s+\S+\.py",
        "multiprocessing Pool": r"\.Pool\(",
        "concurrent.futures.ProcessPoolExecutor": r"ProcessPoolExecutor\(",
        "multiprocessing.shared_memory": r"shared_memory\.SharedMemory\(",
        "threadpoolctl's limit": r"threadpool_limits\(",
    },
    "03-releasing-the-gil.ipynb": {
        "Cython's with nogil": r"with nogil:",
        "threads calling the kernel": r"ThreadPoolExecutor\(",
        "ctypes": r"ctypes\.(CDLL|PyDLL)\b",
    },
    "04-parent-and-child-scripts.ipynb": {
        "subprocess.run with an argument list": r"subprocess\.run\(\s*\[",
        "subprocess.Popen": r"subprocess\.Popen\(",
        "the redis client": r"redis\.Redis\(",
    },
    "05a-mpi-point-to-point.ipynb": {
        "mpi4py's MPI": r"from mpi4py import MPI",
        "rank and size": r"\.Get_rank\(\)(?s:.)*\.Get_size\(\)",
        "pickling point to point": r"comm\.send\((?s:.)*comm\.recv\(",
        "buffer point to point": r"comm\.Send\((?s:.)*comm\.Recv\(",
        "Sendrecv": r"\.Sendrecv\(",
        "non-blocking Isend/Irecv": r"\.Isend\((?s:.)*\.Irecv\(|\.Irecv\((?s:.)*\.Isend\(",
    },
    "05b-mpi-collectives-and-scaling.ipynb": {
        "mpi4py's MPI": r"from mpi4py import MPI",
        "pickling collectives": r"comm\.(bcast|scatter|gather|reduce|allreduce)\(",
        "buffer collectives": r"\.(Allreduce|Reduce)\(",
        "timing with Barrier and Wtime": r"\.Barrier\(\)(?s:.)*MPI\.Wtime\(\)",
        "mpi4py.futures": r"MPIPoolExecutor",
        "a hostfile": r"mpiexec -n \d+ (-f|--hostfile) ",
    },
    "06a-choosing-a-backend.ipynb": {
        "concurrent.futures executors": r"ThreadPoolExecutor\((?s:.)*ProcessPoolExecutor\(",
        "subprocess children with a timeout": r"subprocess\.Popen\((?s:.)*communicate\(timeout=",
        "mpi4py gather": r"from mpi4py import MPI(?s:.)*comm\.gather\(",
        "joblib": r"Parallel\(n_jobs=",
        "mpi4py.futures": r"MPIPoolExecutor",
        "asyncio": r"await\s+asyncio\.gather\(",
        "asyncio.wait_for": r"asyncio\.wait_for\(",
    },
    "06b-laws-and-scaling.ipynb": {
        "ProcessPoolExecutor, fixed and grown work": r"ProcessPoolExecutor\((?s:.)*pool\.map\((?s:.)*grown",
        "Amdahl's and Gustafson's laws": r"amdahl_speedup\((?s:.)*gustafson_speedup\(",
    },
    "06c-profiling-first.ipynb": {
        "cProfile around a run": r"cProfile\.Profile\(\)(?s:.)*\.enable\(\)(?s:.)*\.disable\(\)",
        "pstats": r"pstats\.Stats\(",
        "ProcessPoolExecutor": r"ProcessPoolExecutor\(",
    },
    "07-beyond-one-machine.ipynb": {
        "dask.delayed": r"delayed\(fib\)\(n\)",
        "a LocalCluster and Client": r"LocalCluster\((?s:.)*Client\(cluster\)",
        "futures": r"client\.submit\((?s:.)*client\.map\((?s:.)*as_completed\((?s:.)*client\.gather\(",
        "performance_report": r"performance_report\(filename=",
    },
}


def _joined(text: str | list[str]) -> str:
    return "".join(text) if isinstance(text, list) else text


def _code(nb: Path) -> str:
    """The visible code cells, and the program text they print (lesson 05 prints its MPI programs)."""
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    shown = [c for c in cells if c["cell_type"] == "code"
             and not c.get("metadata", {}).get("jupyter", {}).get("source_hidden")]
    sources = [_joined(c["source"]) for c in shown]
    printed = [_joined(o.get("text", "")) for c in shown for o in c.get("outputs", []) if o.get("name") == "stdout"]
    return "\n".join(sources + printed)


def test_every_lesson_is_listed():
    lessons = {p.name for p in NOTEBOOKS.glob("[0-9][0-9]*-*.ipynb")} - {"00-start-here.ipynb"}
    assert lessons == set(TAUGHT), "a lesson was added or renamed: list what it teaches in TAUGHT"


CASES = [(lesson, what, pattern) for lesson, found in TAUGHT.items() for what, pattern in found.items()]


@pytest.mark.parametrize(("lesson", "what", "pattern"), CASES)
def test_the_lesson_shows_the_plain_code(lesson, what, pattern):
    code = _code(NOTEBOOKS / lesson)
    assert re.search(pattern, code, re.MULTILINE), f"{lesson} never shows {what} in a visible code cell"
