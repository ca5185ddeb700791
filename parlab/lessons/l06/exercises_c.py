"""Lesson 06c's exercise checkers: the serial hot spot, Amdahl's prediction from a profile, a pool's workers profiled.

Each checker takes exactly what the learner wrote (a name, a function, a module name) and returns
a ``check.Verdict``. The answers come from the learner's own profile and from
``parlab.measure.amdahl_speedup``, never typed in.
"""

from __future__ import annotations

import importlib
import marshal
import math
import multiprocessing
import pstats
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from parlab.lessons import check
from parlab.lessons.l06 import profiling
from parlab.measure import amdahl_speedup
from parlab.results import format_speedup

__all__ = ["HOT_SPOT", "POOL", "PREDICT", "check_hot_spot", "check_predict", "check_profiled_worker"]

HOT_SPOT = "Exercise 1: find the serial hot spot"
PREDICT = "Exercise 2: predict the speedup from the profile"
POOL = "Exercise 3: profile the pool's workers"


# --------------------------------------------------------------------------- exercise 1

def _name_of(answer: object) -> str | None:
    if callable(answer) and hasattr(answer, "__name__"):
        return str(answer.__name__)
    if isinstance(answer, str):
        text = answer.strip().strip("'\"`").strip()
        text = text.removesuffix("()").rsplit(".", 1)[-1].strip()
        return text or None
    return None


def check_hot_spot(answer: object, stats: pstats.Stats) -> check.Verdict:
    """The name of the costliest serial function of the program, read from the learner's own profile."""
    if check.is_placeholder(answer):
        return check.not_answered(HOT_SPOT, "set serial_hot_spot to the name of a function, then run this cell "
                                            "again.")
    rows = {r.name: r for r in profiling.function_rows(stats)}
    serial = [rows[n] for n in profiling.SERIAL_FUNCTIONS if n in rows]
    if not serial:
        return check.wrong(HOT_SPOT, "the profile passed to the checker holds none of the program's serial "
                                     "functions.", hint="Pass the stats of section 1: profile one run of "
                                                        "profiling.program().")
    hot = max(serial, key=lambda r: r.cumtime)
    details = "\n".join(f"{r.name:<11} {r.calls:>4} call(s)  cumtime {r.cumtime:.3f} s"
                        + ("   (the parallel loop's task)" if r.name == profiling.PARALLEL_FUNCTION else "")
                        for r in rows.values())
    name = _name_of(answer)
    if name == hot.name:
        return check.right(HOT_SPOT, f"{hot.name} is the costliest function outside the parallel loop.",
                           details=details)
    if name is None:
        return check.wrong(HOT_SPOT, f"write the function's name as a string, not {check.short(answer)}.",
                           hint="For example serial_hot_spot = \"name_of_the_function\".")
    if name == profiling.PARALLEL_FUNCTION:
        return check.wrong(HOT_SPOT, f"{name} costs the most, but it is the task of the parallel loop: it is "
                                     "the part the pool spreads over workers.",
                           hint="Look for the costliest function that runs once, outside the loop over tasks.",
                           details=details)
    if name == "program":
        return check.wrong(HOT_SPOT, "program's cumulative time holds the whole run, serial and parallel alike.",
                           hint="Look at the functions program calls: which one runs outside the loop and "
                                "costs the most?", details=details)
    if name in rows:
        return check.wrong(HOT_SPOT, f"{name} is serial, but it costs {rows[name].cumtime:.3f} s, less than "
                                     "another serial function.", hint="Compare the cumtime column of the "
                                                                      "functions that run once.", details=details)
    return check.wrong(HOT_SPOT, f"{name!r} is not one of the program's functions in the profile.",
                       hint="Read the function names in the last column of print_stats(); the program's own "
                            "are in profiling.py.", details=details)


# --------------------------------------------------------------------------- exercise 2

GRID = [(s, t, k) for s, t in ((1.0, 4.0), (0.25, 1.0), (0.0, 2.0), (3.0, 3.0)) for k in (1, 2, 8, 64)]


def _is_number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def check_predict(predict: Callable[[float, float, int], float], serial_s: float, total_s: float
                  ) -> check.Verdict:
    """The learner's ``predict(serial_s, total_s, workers)``: Amdahl's speedup with f = serial_s / total_s."""
    if check.is_placeholder(predict):
        return check.not_answered(PREDICT, "fill in predict(serial_s, total_s, workers), then run this cell again.")
    if not callable(predict):
        return check.not_a_function(PREDICT, "predict", predict)
    tried = [(serial_s, total_s, k) for k in (1, 2, 4, 16)] + GRID
    lines = []
    for s, t, k in tried:
        outcome = check.call(predict, s, t, k, timeout_s=5)
        failed = check.failure(PREDICT, outcome, f"predict({s:.3f}, {t:.3f}, {k})")
        if failed:
            return failed
        f = s / t
        want, got = amdahl_speedup(f, k), outcome.value
        ok = _is_number(got) and math.isclose(got, want, rel_tol=1e-6)
        lines.append(f"serial {s:.3f} s of {t:.3f} s (f = {f:.3f}), {k} worker{'s' if k != 1 else ''}: yours "
                     f"{format_speedup(got) if _is_number(got) else check.short(got)}, Amdahl "
                     f"{format_speedup(want)} {'✓' if ok else '✗'}")
        if ok:
            continue
        details = "\n".join(lines)
        if not _is_number(got):
            return check.wrong(PREDICT, f"predict({s:.3f}, {t:.3f}, {k}) returned {check.short(got)}, not a number.",
                               hint="Return the speedup, a number such as 2.5.", details=details)
        if math.isclose(got, f, rel_tol=1e-6):
            hint = "That is the serial share f itself; the speedup is 1 / (f + (1 - f) / workers)."
        elif f < 1 and math.isclose(got, amdahl_speedup(1 - f, k), rel_tol=1e-6):
            hint = "f and 1 - f are swapped: f is the SERIAL share, serial_s / total_s."
        elif f > 0 and math.isclose(got, 1 / f, rel_tol=1e-6):
            hint = "That is the ceiling 1 / f, the limit for endless workers, not the speedup on this many."
        elif math.isclose(got, k, rel_tol=1e-6):
            hint = "That is the ideal speedup, as if nothing were serial: Amdahl's law keeps f serial."
        else:
            hint = "With f = serial_s / total_s, Amdahl's speedup is 1 / (f + (1 - f) / workers)."
        return check.wrong(PREDICT, f"predict({s:.3f}, {t:.3f}, {k}) is not Amdahl's speedup "
                                    f"{format_speedup(want)}.", hint=hint, details=details)
    return check.right(PREDICT, "predict gives Amdahl's speedup from the profile's serial share.",
                       details="\n".join(lines[:4]))


# --------------------------------------------------------------------------- exercise 3

def _load(module: object) -> ModuleType | check.Verdict:
    if isinstance(module, ModuleType):
        module = module.__name__
    if not isinstance(module, str) or not module.isidentifier():
        return check.wrong(POOL, f"pass the module's name as a string, such as 'my_profiled', not {module!r}.")
    try:
        loaded = importlib.reload(importlib.import_module(module))
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        return check.wrong(POOL, f"there is no module {module!r} next to the notebook.",
                           hint=f"Run the %%writefile {module}.py cell above first: it writes the file.")
    except Exception as error:  # noqa: BLE001 (the learner's import error is the verdict)
        found = check.failure(POOL, check.Outcome(error=error, traceback=check.learner_traceback(error)),
                              f"importing {module}")
        assert found is not None
        return found
    if not callable(getattr(loaded, "profiled_score", None)):
        return check.wrong(POOL, f"{module} has no function profiled_score.",
                           hint="Keep the name the cell gave you: the check calls it.")
    return loaded


def _score_calls(files: list[Path]) -> int | None:
    """Calls of profiling.score in the saved profiles, merged; None when a file is no profile.

    Each file is read on its own: pstats refuses an empty profile (a profiler never enabled),
    which counts here as a profile with no calls.
    """
    calls = 0
    for path in files:
        try:
            with path.open("rb") as fh:
                entries = marshal.load(fh)
        except (EOFError, ValueError, TypeError, OSError):
            return None
        if not isinstance(entries, dict):
            return None
        if entries:
            try:
                calls += profiling.stats_calls(pstats.Stats(str(path)))
            except Exception:  # noqa: BLE001 (a file marshal reads but pstats cannot is no profile)
                return None
    return calls


def _run_pool(fn: Callable[..., Any], seeds: list[int], folder: str, workers: int) -> list[Any]:
    context = multiprocessing.get_context("spawn")  # as on macOS and Windows: the worker must be importable
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(fn, seeds, [folder] * len(seeds), timeout=60))


def check_profiled_worker(module: object, *, tasks: int = 6, workers: int = 2, timeout_s: float = 90.0
                          ) -> check.Verdict:
    """``module.profiled_score(seed, folder)`` on a spawn pool: the right scores, and one profile per task in folder."""
    loaded = _load(module)
    if isinstance(loaded, check.Verdict):
        return loaded
    fn = loaded.profiled_score
    if check.is_placeholder(fn):
        return check.not_answered(POOL, "write profiled_score in the %%writefile cell above, run that cell, "
                                        "then run this one again.")
    seeds = profiling.make_seeds(tasks, 10)
    expected = [profiling.score(seed) for seed in seeds]
    with tempfile.TemporaryDirectory(prefix="parlab-profiles-") as folder:
        outcome = check.call(_run_pool, fn, seeds, folder, workers, timeout_s=timeout_s)
        failed = check.failure(POOL, outcome, "profiled_score on a pool")
        if failed:
            return failed
        got = outcome.value
        if all(v is None for v in got):
            return check.wrong(POOL, "profiled_score returned None: the pool got no scores back.",
                               hint="Return score(seed)'s result after saving the profile.")
        same = check.same_results(POOL, got, expected, "profiled_score's results")
        if same is not None:
            return same
        files = sorted(p for p in Path(folder).iterdir() if p.is_file())
        if not files:
            return check.wrong(POOL, "the scores are right, but no profile was saved in folder.",
                               hint="In the worker: profiler.dump_stats(os.path.join(folder, NAME)), with a "
                                    "name of its own per task.")
        calls = _score_calls(files)
        if calls is None:
            return check.wrong(POOL, "the files in folder are not profiles pstats can read.",
                               hint="Save them with profiler.dump_stats(path).")
        details = f"{len(files)} file(s) in folder; merged, they hold {calls} call(s) of score for {tasks} tasks."
        if calls == 0:
            return check.wrong(POOL, "the saved profiles hold no call of score: the profiler was not running "
                                     "while score ran.", hint="profiler.enable() before score(seed) and "
                                                              "profiler.disable() after (or profiler.runcall).",
                               details=details)
        if calls < tasks:
            return check.wrong(POOL, f"the merged profiles hold {calls} call(s) of score, not {tasks}: tasks "
                                     "saved over each other's files.", hint="Give each task's file its own name, "
                                                                            "from the seed or the process id and a "
                                                                            "counter.", details=details)
        if calls > tasks:
            return check.wrong(POOL, f"the merged profiles hold {calls} calls of score for {tasks} tasks: score ran "
                                     "more than once per task.", hint="Call score(seed) once, inside the profiler, "
                                                                      "and return that result.", details=details)
    return check.right(POOL, "each worker profiled its tasks, and the merged profiles count every call of score.",
                       details=details)
