"""Lesson 06b's exercise checkers: the laws written by hand, Karp–Flatt, Amdahl's half ceiling, fixed or scaled.

Each checker takes exactly what the learner wrote (a function, a number) and returns a
``check.Verdict``. The answers come from ``parlab.measure``'s laws and from the learner's own
sweep, never typed in, so a checker agrees with any machine (1 to 64 cores, either build).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from parlab.lessons import check
from parlab.measure import amdahl_speedup, gustafson_speedup
from parlab.results import Sweep, format_speedup

__all__ = [
    "FIXED",
    "HALF",
    "KARP",
    "LAWS",
    "check_half",
    "check_karp_flatt",
    "check_law_functions",
    "check_laws",
    "karp_flatt_points",
    "noise",
]

LAWS = "Exercise 1: write the two laws"
KARP = "Exercise 2: the serial fraction of your own points"
HALF = "Exercise 3: how far can your processes go?"
FIXED = "Exercise 4: fixed or scaled?"

GRID = [(f, k) for f in (0.0, 0.02, 0.1, 0.25, 0.5, 1.0) for k in (1, 2, 3, 8, 64, 1000)]


def _pairs(fn: Callable[..., Any], grid: list[tuple[float, int]], exercise: str, name: str,
           ) -> tuple[list[tuple[float, int, Any]], check.Verdict | None]:
    """``fn(f, k)`` over the grid in one timed call; the first error is named with its own arguments."""
    def every_pair() -> list[tuple[float, int, Any, Exception | None]]:
        out: list[tuple[float, int, Any, Exception | None]] = []
        for f, k in grid:
            try:
                out.append((f, k, fn(f, k), None))
            except Exception as error:  # noqa: BLE001 (the learner's error is the verdict, named below)
                out.append((f, k, None, error))
                break
        return out

    outcome = check.call(every_pair, timeout_s=5.0)
    failed = check.failure(exercise, outcome, f"{name}(f, k)")
    if failed:
        return [], failed
    got: list[tuple[float, int, Any]] = []
    for f, k, value, error in outcome.value:
        if error is not None:
            return got, check.failure(exercise, check.Outcome(error=error, traceback=check.learner_traceback(error)),
                                      f"{name}({f}, {k})")
        got.append((f, k, value))
    return got, None


def _off(got: list[tuple[float, int, Any]], law: Callable[[float, int], float]) -> tuple[float, int, Any] | None:
    for f, k, v in got:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isclose(v, law(f, k), rel_tol=1e-6):
            return f, k, v
    return None


def check_law_functions(amdahl: Callable[[float, int], float], gustafson: Callable[[float, int], float]
                        ) -> check.Verdict:
    """The learner's ``amdahl(f, k)`` and ``gustafson(alpha, k)`` against parlab's, over a grid of f and k."""
    if check.is_placeholder(amdahl) or check.is_placeholder(gustafson):
        return check.not_answered(LAWS, "fill in both amdahl(f, k) and gustafson(alpha, k), then run this "
                                        "cell again.")
    if not callable(amdahl) or not callable(gustafson):
        return check.wrong(LAWS, "amdahl and gustafson must both be functions.")
    got_a, failed = _pairs(amdahl, GRID, LAWS, "amdahl")
    if failed:
        return failed
    got_g, failed = _pairs(gustafson, GRID, LAWS, "gustafson")
    if failed:
        return failed
    bad_a, bad_g = _off(got_a, amdahl_speedup), _off(got_g, gustafson_speedup)
    details = (f"checked on f (alpha) = 0, 0.02, 0.1, 0.25, 0.5, 1 and k = 1, 2, 3, 8, 64, 1000; "
               f"for example f = 0.1, k = 8: Amdahl {format_speedup(amdahl_speedup(0.1, 8))}, "
               f"Gustafson {format_speedup(gustafson_speedup(0.1, 8))}.")
    if bad_a is None and bad_g is None:
        return check.right(LAWS, "both laws give parlab's speedups for every f and k tried.", details=details)
    swapped = _off(got_a, gustafson_speedup) is None and _off(got_g, amdahl_speedup) is None
    if swapped:
        return check.wrong(LAWS, "the two laws are swapped.", hint="Amdahl: 1 / (f + (1 - f) / k) for a fixed "
                           "problem; Gustafson: k - alpha * (k - 1) for a problem that grows with k.",
                           details=details)
    name, law = ("amdahl", amdahl_speedup) if bad_a is not None else ("gustafson", gustafson_speedup)
    bad = bad_a if bad_a is not None else bad_g
    assert bad is not None
    f, k, v = bad
    hint = ("Amdahl's speedup is 1 / (f + (1 - f) / k): the serial part f, plus the rest shared by k."
            if name == "amdahl" else "Gustafson's scaled speedup is k - alpha * (k - 1).")
    return check.wrong(LAWS, f"{name}({f}, {k}) returned {v!r}; the law gives "
                             f"{format_speedup(law(f, k))}.", hint=hint, details=details)


# --------------------------------------------------------------------------- exercise 2

SAMPLE = {2: 1.82, 4: 3.1, 8: 4.7}  # a sweep of another machine, checked too (works on one core)


def karp_flatt_points(strong: Mapping[int, float]) -> dict[int, float]:
    """{workers: the Karp–Flatt serial fraction} for every point with k >= 2 (lesson 06b)."""
    return {k: (1 / s - 1 / k) / (1 - 1 / k) for k, s in sorted(strong.items()) if k >= 2}


def check_karp_flatt(karp_flatt: Callable[[float, int], float], strong: Mapping[int, float]) -> check.Verdict:
    """The learner's ``karp_flatt(speedup, k)`` on their own sweep points (k >= 2) and on a sample sweep."""
    if check.is_placeholder(karp_flatt):
        return check.not_answered(KARP, "fill in karp_flatt(speedup, k), then run this cell again.")
    if not callable(karp_flatt):
        return check.not_a_function(KARP, "karp_flatt", karp_flatt)
    points = {k: s for k, s in strong.items() if k >= 2}
    tried = [("your sweep", k, s) for k, s in sorted(points.items())] + [("a sample sweep", k, s)
                                                                        for k, s in SAMPLE.items()]
    lines, noisy = [], []
    for where, k, s in tried:
        outcome = check.call(karp_flatt, s, k, timeout_s=5)
        failed = check.failure(KARP, outcome, f"karp_flatt({s:.3f}, {k})")
        if failed:
            return failed
        v, want = outcome.value, (1 / s - 1 / k) / (1 - 1 / k)
        ok = not isinstance(v, bool) and isinstance(v, int | float) and math.isclose(v, want, rel_tol=1e-6,
                                                                                    abs_tol=1e-9)
        yours = f"{v:.3f}" if ok else repr(v)
        lines.append(f"{where}: {format_speedup(s)} on {k} workers: yours {yours}, e = {want:.3f} "
                     f"{'✓' if ok else '✗'}")
        if not ok and where == "your sweep" and not 1 < s < k:
            noisy.append(f"{format_speedup(s)} on {k} workers")  # e outside [0, 1]: a clamp is no mistake
            continue
        if not ok:
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isclose(v, 1 / s, rel_tol=1e-6):
                hint = "That is 1/S alone: subtract the ideal share 1/k, then divide by 1 - 1/k."
            elif isinstance(v, int | float) and not isinstance(v, bool) and v and math.isclose(v, 1 / want,
                                                                                             rel_tol=1e-6):
                hint = "That is upside down: e = (1/S - 1/k) / (1 - 1/k)."
            else:
                hint = "Karp–Flatt: e = (1/S - 1/k) / (1 - 1/k), with S the measured speedup on k workers."
            return check.wrong(KARP, f"karp_flatt({s:.3f}, {k}) is not the serial fraction e = {want:.3f}.",
                               hint=hint, details="\n".join(lines))
    if noisy:
        return check.not_checked(KARP, "karp_flatt is right on the sample sweep, but differs on your point(s) "
                                       f"{', '.join(noisy)}: no gain, or more than ideal, is noise (a busy "
                                       "machine, a pool's overhead), and e there lies outside 0 to 1. Run the "
                                       "sweep again on a quieter machine to check it on your own points.",
                                 details="\n".join(lines))
    mine = "" if points else " (your sweep has no point with 2 or more workers: only the sample sweep was checked)"
    return check.right(KARP, f"karp_flatt gives the serial fraction of every point{mine}.",
                       details="\n".join(lines))


# --------------------------------------------------------------------------- exercises 3 and 4

def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _speedups(points: Mapping[int, float] | Sweep) -> tuple[dict[int, float], list[str]]:
    """{workers: speedup} and the spread warnings of a sweep or of its {workers: speedup}."""
    if isinstance(points, Sweep):
        warned = [f"{p.workers} worker{'s' if p.workers != 1 else ''}: {w}" for p in points.points
                  for w in p.timing.warnings]
        return {p.workers: p.speedup for p in points.points}, warned
    return dict(points), []


def noise(points: Mapping[int, float] | Sweep | None, f_amdahl: float | None = None) -> list[str]:
    """Why a serial fraction from these fixed-size points means nothing (empty when it may be trusted; lesson 06b).

    Noise: the 1-worker point far from 1× (a busy machine or a pool's overhead), no gain on
    2 or more workers, f past one half (the laws then say one worker reaches half the
    ceiling), or a wide spread. Without a point on 2 or more workers f is not theirs.
    """
    if points is None:
        return []
    speedups, warned = _speedups(points)
    if not any(k >= 2 for k in speedups):
        return []
    why = []
    one = speedups.get(1)
    if one is not None and not 0.8 <= one <= 1.25:
        why.append(f"1 worker ran at {format_speedup(one)}, far from 1×")
    why += [f"{k} workers gained nothing ({format_speedup(s)})" for k, s in sorted(speedups.items())
            if k >= 2 and s <= 1.05]
    if f_amdahl is not None and f_amdahl > 0.5:
        why.append(f"f = {f_amdahl:.3f} says more than half of one worker's run is serial")
    return why + warned


def check_half(workers_for_half: object, f_amdahl: float,
               points: Mapping[int, float] | Sweep | None = None) -> check.Verdict:
    """Workers that give half of Amdahl's ceiling 1/f, for the learner's f (kept in [0.01, 0.5]).

    ``points``: the fixed-size sweep ``f_amdahl`` was estimated from (``strong`` or the sweep).
    When they are noise (:func:`noise`), the answer rests on a meaningless f: "not checked".
    """
    if check.is_placeholder(workers_for_half):
        return check.not_answered(HALF, "set workers_for_half to a number of workers, then run this cell again.")
    k = _number(workers_for_half)
    if k is None or k <= 0:
        return check.wrong(HALF, f"workers_for_half must be a positive number, not {workers_for_half!r}.")
    why = noise(points, float(f_amdahl))
    if why:
        return check.not_checked(HALF, "your processes sweep is too noisy to give a serial fraction, so an "
                                       "answer from its f would mean nothing: run section 1's sweep again on a "
                                       "quieter machine, or answer for f = 0.10 and check it with "
                                       "ex.check_half(workers_for_half, 0.10).",
                                 details="; ".join(why) + ".")
    f = min(max(float(f_amdahl), 0.01), 0.5)
    half = 0.5 / f
    got = amdahl_speedup(f, k)
    details = (f"f = {f:.3f}; the ceiling 1/f = {format_speedup(1 / f)}, half of it {format_speedup(half)}; "
               f"Amdahl's speedup on {k:g} worker{'s' if k != 1 else ''}: {format_speedup(got)}.")
    if abs(got - half) <= 0.05 * half or (k >= 2 and k == math.ceil(k) and amdahl_speedup(f, k - 1) < half <= got):
        return check.right(HALF, "on that many workers Amdahl's law gives half of the ceiling.", details=details)
    if abs(k - half) <= 0.05 * half:
        hint = "That is half of the ceiling, a speedup; the question asks how many workers reach it."
    elif abs(k - 1 / f) <= 0.05 / f:
        hint = "On 1/f workers the speedup is already past half of the ceiling: solve S(k) = 1 / (2 f) for k."
    elif abs(k - 2 / f) <= 0.1 / f:
        hint = "That many workers give more than half: S(k) = 1 / (2 f) gives k = (1 - f) / f."
    else:
        hint = "Set Amdahl's speedup 1 / (f + (1 - f) / k) equal to half the ceiling and solve for k."
    more = "more" if got < half else "fewer"
    return check.wrong(HALF, f"not quite: half of the ceiling needs {more} workers than that.", hint=hint,
                       details=details)


def check_laws(fixed: object, scaled_256: object, *, fraction: float = 0.02, workers: int = 256) -> check.Verdict:
    """Amdahl's speedup (fixed size) and Gustafson's (scaled) for a 2 % serial fraction on 256 cores."""
    if check.is_placeholder(fixed) or check.is_placeholder(scaled_256):
        return check.not_answered(FIXED, "set both fixed and scaled_256, then run this cell again.")
    a, g = _number(fixed), _number(scaled_256)
    if a is None or g is None:
        return check.wrong(FIXED, "fixed and scaled_256 must both be numbers (speedups).")
    want_a, want_g = amdahl_speedup(fraction, workers), gustafson_speedup(fraction, workers)
    details = (f"yours: fixed {format_speedup(a)}, scaled {format_speedup(g)}; the laws give fixed "
               f"{format_speedup(want_a)} (under the ceiling {format_speedup(1 / fraction)}) and scaled "
               f"{format_speedup(want_g)}.")

    def close(x: float, y: float) -> bool:
        return abs(x - y) <= 0.01 * y

    if close(a, want_a) and close(g, want_g):
        return check.right(FIXED, "the fixed problem stays under Amdahl's ceiling; the growing one passes it.",
                           details=details)
    if close(a, want_g) and close(g, want_a):
        return check.wrong(FIXED, "the two are swapped.", hint="Amdahl's law is for the fixed size, "
                           "Gustafson's for the problem that grows with the cores.", details=details)
    if close(a, 1 / fraction):
        return check.wrong(FIXED, "fixed is Amdahl's ceiling 1/f, the limit for endless workers, not the "
                           "speedup on 256.", hint="Use amdahl_speedup(0.02, 256).", details=details)
    which = [name for name, ok in (("fixed", close(a, want_a)), ("scaled_256", close(g, want_g))) if not ok]
    return check.wrong(FIXED, f"{' and '.join(which)} {'is' if len(which) == 1 else 'are'} not what the law gives.",
                       hint="Both functions take (serial_fraction, workers): amdahl_speedup(0.02, 256) and "
                            "gustafson_speedup(0.02, 256).", details=details)
