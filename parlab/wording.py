"""The words and number formats of results, kept outside the data classes (as pyperf formats outside its results).

``parlab.results`` holds numbers and flags (a timing's spread, an estimate's ceiling); its
``summary()`` and ``__str__`` methods hand those numbers to the functions here. Every lesson
prints durations and speedups in the one format below, which ``tests/sanitize.cfg`` masks.
This module imports nothing of parlab, so that the data classes can use it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "count_list", "estimate_lines", "format_seconds", "format_speedup", "plural", "sweep_lines", "timing_warnings",
]


def format_seconds(seconds: float) -> str:
    """A duration in the one format the lessons print (and the sanitize file matches) (lessons 00-07)."""
    return f"{seconds:.3f} s"


def format_speedup(speedup: float) -> str:
    """A speedup in the one format the lessons print (and the sanitize file matches) (lessons 00-07)."""
    return f"{speedup:.2f}×"


def plural(count: int, one: str, many: str | None = None) -> str:
    """``3 workers``, ``1 worker``: the count and the noun that agrees with it."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def count_list(values: Sequence[int]) -> str:
    """``1, 2 and 3``: counts in a sentence."""
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def timing_warnings(spread_share: float | None, outliers: int) -> list[str]:
    """Why a timing's values may not be trustworthy: ``spread_share`` (MAD / median, None when small) and outliers."""
    found = []
    if spread_share is not None:
        found.append(f"unstable: the repeats vary by {spread_share:.0%} of the median (median absolute "
                     "deviation); more repeats give a steadier median")
    if outliers:
        found.append(f"{outliers} outlier(s) at least 50% away from the median")
    return found


def why_no_ceiling(points_used: int, has_ceiling: bool, min_points: int, cores: int | None = None) -> str | None:
    """Why no ceiling is projected from a serial-fraction estimate, as a clause; None when one is.

    With ``cores``, a machine too small to ever give enough points is named as the reason.
    """
    if has_ceiling:
        return None
    if points_used >= min_points:
        return "the estimate is 0: no share of the run stayed serial"
    why = (f"it takes {min_points} points with 2 or more workers within the cores "
           f"({min_points + 1} or more usable cores) to tell a serial part from overhead and "
           f"noise, and this estimate has {points_used}")
    if cores is not None and cores - 1 < min_points:
        why += f" (a machine with {plural(cores, 'usable core')} can give only {max(cores - 1, 0)})"
    return why


def estimate_lines(serial_fraction: float, low: float, high: float, points_used: int, why_none: str | None,
                   cores: int | None = None) -> str:
    """A serial-fraction estimate, its range and point count, and the ceiling or ``why_none`` is projected."""
    spread = f"{low:.3f}" if points_used == 1 else f"{low:.3f}–{high:.3f}"
    within = f" within the {cores} usable cores" if cores is not None else ""
    lines = [(f"serial-fraction estimate {serial_fraction:.3f} (per point {spread}) "
              f"from {plural(points_used, 'point')}{within}"),
             "  (Karp–Flatt: the share of the run that did not speed up, serial code and overhead alike)"]
    if why_none is None:
        lines.append(f"  projected ceiling: {format_speedup(1.0 / serial_fraction)} however many cores "
                     "(Amdahl's law, 1 / estimate, if all of that share is serial code)")
    else:
        lines.append(f"  no ceiling projected: {why_none}")
    return "\n".join(lines)


def sweep_lines(head: str, rows: Sequence[tuple[int, float, float, float, float, bool]], *,
                nouns: tuple[str, str], estimate: str | None, slower: Sequence[int], superlinear: Sequence[int],
                warnings: Sequence[tuple[int, str]], busy: tuple[float, int] | None = None) -> str:
    """A sweep as a small fixed-format table.

    ``rows``: (workers, median s, speedup, efficiency, start-up s, oversubscribed) per point;
    ``estimate``: the estimate's lines, or None; ``slower``/``superlinear``: worker counts within
    the cores that ran slower than serial / faster than one core's worth each; ``warnings``:
    (workers, warning) for points whose timing is unstable; ``busy``: (cores other programs kept
    busy, usable cores) when they were measured busy meanwhile.
    """
    one, many = nouns
    width = max(7, len(many))
    lines = [head, f"{many:>{width}}      time    speedup  efficiency  start-up"]
    for workers, median, speedup, efficiency, startup, oversubscribed in rows:
        mark = f"  (more {many} than cores)" if oversubscribed else ""
        lines.append(f"{workers:>{width}}  {format_seconds(median):>8}  {format_speedup(speedup):>9}  "
                     f"{efficiency:>10.0%}  {format_seconds(startup):>8}{mark}")
    if estimate is not None:
        lines.append(estimate)
        if slower:
            lines.append(f"  slower than serial on {count_list(slower)} {many} (the estimate is capped at 1): "
                         "a serial part alone never makes a run slower; overhead does")
        if superlinear:
            lines.append(f"  superlinear on {count_list(superlinear)} {many} (more than one core's worth each): "
                         "the estimate is floored at 0")
    lines.extend(f"warning ({plural(k, one, many)}): {w}" for k, w in warnings)
    if busy is not None:
        lines.append(f"busy machine: other programs kept about {busy[0]:.1f} of the {plural(busy[1], 'usable core')} "
                     "busy while this ran (measured), so these figures are lower than this machine gives when quiet")
    return "\n".join(lines)
