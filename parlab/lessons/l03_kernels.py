"""Helpers for lesson 03's notebook: source excerpts, Cython's annotation, its nogil check, the panel.

None of these needs a C compiler: Cython translates ``.pyx`` to C (and writes its
annotation) on its own; only building the extension needs the compiler. The sentences the
notebook prints about its measurements are written here (``describe_*``, ``mixed_bound``),
from the numbers and the build alone, and tested in ``tests/test_conclusions_l02_l03.py``.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import parlab.kernels as kernels_package
from parlab import launch, system
from parlab._checks import check_text, check_timeout
from parlab.kernels import (
    COMPILED,
    VARIANTS,
    Variant,
    compiled_variants,
    count_primes_cython_nogil,
    count_primes_python,
    prime_tasks,
    timed_call,
    variant,
)
from parlab.lessons.conclude import NEAR_IDEAL, SAME_HIGH, SAME_LOW, describe_speedup, regime, spread_warning
from parlab.measure import (  # overlap_fraction, worker_counts: the notebook calls them as lesson.NAME
    amdahl_speedup,
    overlap_fraction,
    worker_counts,
)
from parlab.results import RunResult, Sweep, TaskSpan, format_seconds, format_speedup
from parlab.run import run_tasks

__all__ = [
    "AnnotatedLine",
    "Annotation",
    "annotate",
    "cython_errors",
    "default_numbers",
    "describe_mixed",
    "describe_openmp",
    "describe_overlap",
    "describe_single_thread",
    "describe_variants",
    "kernel_panel",
    "kernel_timeline",
    "mixed_bound",
    "mixed_count",
    "overlap_fraction",
    "show_source",
    "source_excerpt",
    "sweep_variants",
    "worker_counts",
]

HERE = Path(kernels_package.__file__).resolve().parent  # the kernels' sources
_LANGUAGES = {".pyx": "cython", ".c": "c", ".h": "c", ".py": "python"}
_TIMEOUT_S = 120.0


def _source_path(filename: str) -> Path:
    path = HERE / filename
    if Path(filename).name != filename or path.suffix not in _LANGUAGES or not path.is_file():
        names = sorted(p.name for p in HERE.iterdir() if p.suffix in _LANGUAGES)
        raise ValueError(f"no kernel source {filename!r}; choose from {', '.join(names)}")
    return path


def _span(lines: Sequence[str], first: str, last: str | None) -> tuple[int, int]:
    # From the first line that starts with `first` to the next one that starts with `last`.
    start = next((i for i, line in enumerate(lines) if line.startswith(first)), None)
    if start is None:
        raise ValueError(f"no line starts with {first!r}")
    if last is None:
        return start, len(lines)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(last)), None)
    if end is None:
        raise ValueError(f"no line after {first!r} starts with {last!r}")
    return start, end + 1


def source_excerpt(filename: str, first: str, last: str | None = None) -> str:
    """Lines of a kernel source file, from one starting with ``first`` to the next one with ``last`` (lesson 03)."""
    lines = _source_path(filename).read_text(encoding="utf-8").splitlines()
    start, end = _span(lines, first, last)
    return "\n".join(lines[start:end]).rstrip()


def show_source(filename: str, first: str, last: str | None = None) -> Any:
    """The excerpt as a highlighted code block for the notebook (lesson 03)."""
    from IPython.display import Markdown

    language = _LANGUAGES[Path(filename).suffix]
    return Markdown(f"`parlab/kernels/{filename}`\n```{language}\n{source_excerpt(filename, first, last)}\n```")


# --------------------------------------------------------------------------- Cython's annotation

@dataclass(frozen=True)
class AnnotatedLine:
    """One source line and its score: how many Python C-API calls Cython generated for it (0 = pure C)."""

    number: int
    score: int
    text: str


class _LineParser(HTMLParser):
    # Cython's report has one <pre class="cython line score-N"> per source line, then the C code.
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._score: int | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        match = re.search(r"\bline score-(\d+)", dict(attrs).get("class") or "")
        if tag == "pre" and match:
            self._score, self._text = int(match.group(1)), []

    def handle_data(self, data: str) -> None:
        if self._score is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre" and self._score is not None:
            self.found.append((self._score, "".join(self._text)))
            self._score = None


@dataclass(frozen=True)
class Annotation:
    """Cython's annotation of a .pyx file, line by line; renders as a trimmed, coloured view (lesson 03)."""

    filename: str
    lines: tuple[AnnotatedLine, ...]

    def between(self, first: str, last: str | None = None) -> list[AnnotatedLine]:
        """The lines from one starting with ``first`` to the next starting with ``last``."""
        start, end = _span([line.text for line in self.lines], first, last)
        return list(self.lines[start:end])

    def view(self, first: str | None = None, last: str | None = None) -> _HTMLView:
        """Yellow lines call into Python (the darker, the more calls); white lines are plain C."""
        shown = self.between(first, last) if first else list(self.lines)
        rows = []
        for line in shown:
            shade = 255 - min(180, 12 * line.score) if line.score else 255
            colour = f"#ffff{shade:02x}" if line.score else "#ffffff"
            rows.append(f"<span style='background:{colour};display:block'>{line.score:>3} │ "
                        f"{line.number:>3}: {escape(line.text)}</span>")
        text = "\n".join(f"{line.score:>3} │ {line.number:>3}: {line.text}" for line in shown)
        head = f"score │ line: parlab/kernels/{self.filename} (score = Python C-API calls Cython made)"
        return _HTMLView(f"<pre style='line-height:1.25'><b>{escape(head)}</b>\n{''.join(rows)}</pre>",
                         f"{head}\n{text}")


class _HTMLView:
    def __init__(self, html: str, text: str) -> None:
        self._html, self._text = html, text

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return self._text


def annotate(filename: str = "_cy_primes.pyx", timeout: float = _TIMEOUT_S) -> Annotation:
    """Run ``cython -a`` on a kernel (no C compiler needed) and read its report line by line (lesson 03)."""
    timeout = check_timeout(timeout)
    src = _source_path(filename)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{src.stem}.c"
        done = launch.run([sys.executable, "-m", "cython", "-3", "-a", "-o", str(out), str(src)],
                          timeout=timeout, check=False)
        report = out.with_suffix(".html")
        if done.returncode != 0 or not report.is_file():
            raise RuntimeError(f"Cython could not annotate {filename} (install it: pip install 'cython>=3.1'):\n"
                               + done.stderr[-1500:])
        parser = _LineParser()
        parser.feed(report.read_text(encoding="utf-8"))
    lines = []
    for score, raw in parser.found:
        match = re.match(r"^\W*?(\d+): ?(.*)$", raw.replace("\u00a0", " ").rstrip("\n"), re.DOTALL)
        if match:
            lines.append(AnnotatedLine(int(match.group(1)), score, match.group(2).rstrip()))
    if not lines:
        raise RuntimeError("this Cython version writes an annotation report parlab cannot read")
    return Annotation(filename, tuple(lines))


def cython_errors(source: str, timeout: float = _TIMEOUT_S) -> list[str]:
    """Translate a Cython snippet (no C compiler needed); return Cython's errors, [] if it is accepted (lesson 03)."""
    timeout = check_timeout(timeout)
    source = check_text("source", source, "'cdef int i = 0'")
    with tempfile.TemporaryDirectory() as tmp:
        pyx = Path(tmp) / "snippet.pyx"
        pyx.write_text(source, encoding="utf-8")
        done = launch.run([sys.executable, "-m", "cython", "-3", str(pyx), "-o", str(pyx.with_suffix(".c"))],
                          timeout=timeout, check=False)
    found = re.findall(r"snippet\.pyx:(\d+):\d+: (.+)", done.stderr)
    if done.returncode != 0 and not found:
        raise RuntimeError("Cython failed without a message parlab recognises:\n" + done.stderr[-1500:])
    return [f"line {line}: {message.strip()}" for line, message in found]


# --------------------------------------------------------------------------- measuring

def sweep_variants() -> list[Variant]:
    """The variants worth a threads sweep here: the compiled ones, or the fallback alone (lesson 03)."""
    return compiled_variants() or [VARIANTS["python"]]


def default_numbers() -> int:
    """How many numbers the lesson's tasks test: pure Python is ~30× slower, so it gets fewer (lesson 03)."""
    return 300_000 if COMPILED else 20_000


def kernel_timeline(func: Any, tasks: Sequence[tuple[int, int]], workers: int) -> RunResult:
    """Run (lo, hi) tasks on threads; each bar is timed from C right around the kernel call (lesson 03).

    A timestamp taken in Python is a moment where the GIL can change hands: a thread may
    note its start, then wait while another thread runs a whole GIL-holding task, and its
    bar would cover that task too. ``kernels.timed_call`` takes both timestamps from C.
    """
    run = run_tasks(timed_call, [(time.perf_counter, func, lo, hi) for lo, hi in tasks], backend="threads",
                    workers=workers, star=True, warn=False)
    base = min(t0 for _, t0, _ in run.results) - min(span.start for span in run.timeline)
    spans = [TaskSpan(span.task, span.worker, t0 - base, t1 - base)
             for span, (_, t0, t1) in zip(run.timeline, run.results, strict=True)]
    return dataclasses.replace(run, results=[count for count, _, _ in run.results], timeline=spans)


def mixed_count(start: int, split: int, stop: int) -> int:
    """Primes in [start, split) counted in Python (GIL held) plus [split, stop) in C without the GIL (lesson 03)."""
    return count_primes_python(start, split) + count_primes_cython_nogil(split, stop)


def kernel_panel(repeats: int = 3) -> Any:
    """The lesson's panel: threads, kernel variant and size; Run sweeps 1..threads and plots the speedup (lesson 03)."""
    import ipywidgets as w

    from parlab.measure import speedup_sweep
    from parlab.plot import plot_speedup
    from parlab.widgets import Panel, sweep_rows

    cores = system.usable_cores()
    choices = sweep_variants()
    default = "cython_nogil" if "cython_nogil" in [v.name for v in choices] else choices[0].name
    low, high, value = (100, 2000, 200) if COMPILED else (5, 100, 10)
    controls = {
        "threads": w.IntSlider(value=cores, min=1, max=max(2, 2 * cores), description="threads",
                               continuous_update=False),
        "variant": w.Dropdown(options=[(v.label, v.name) for v in choices], value=default,
                              description="kernel"),
        "size": w.IntSlider(value=value, min=low, max=high, step=low, description="k numbers",
                            continuous_update=False),
    }

    def measure(values: dict[str, Any], progress: Any) -> Any:
        chosen, k = variant(values["variant"]), values["threads"]
        tasks = prime_tasks(values["size"] * 1000, tasks=max(8, 2 * k))
        return speedup_sweep(chosen.func, tasks, backend="threads", workers=range(1, k + 1), star=True,
                             repeats=repeats, label=f"threads · {chosen.label}", progress=progress)

    return Panel(controls, measure, lambda sweep, ax: plot_speedup(sweep, ax), sweep_rows,
                 title="Threads over one kernel variant")


# --------------------------------------------------------------------------- conclusions, from the numbers

def _cores(n: int) -> str:
    return f"{n} usable core{'' if n == 1 else 's'}"


def _gil_words(gil_enabled: bool) -> str:
    return ("this build has a GIL" if gil_enabled else
            "this build runs without a GIL (free-threaded): holding the GIL holds nothing back")


def describe_single_thread(python_s: float, c_s: float, *, compiled: bool) -> str:
    """One thread, pure Python against the Cython kernel: how many times as fast, or why both ran Python (lesson 03)."""
    if not compiled:
        return "The Cython kernel is not built here: both lines ran pure Python."
    ratio = python_s / c_s
    if ratio < SAME_LOW:
        return f"One thread of C took {c_s / python_s:.2f} times as long as pure Python here: slower, not faster."
    if ratio <= SAME_HIGH:
        return f"One thread of C ran about as fast as pure Python here ({format_speedup(ratio)})."
    return f"One thread of C is {format_speedup(ratio)} as fast as pure Python."


def describe_variants(sweeps: Mapping[str, Sweep], processes: Sweep | None = None) -> list[str]:
    """Threads over each kernel variant (``{variant name: sweep}``), GIL-holding against releasing (lesson 03).

    Each sweep's last point is read (the most threads); the build (GIL on or off) and the
    usable cores come from the sweeps' metadata, so the sentence never credits the GIL with
    what a free-threaded build did, nor a missing core with what the GIL did.
    """
    if not sweeps:
        raise ValueError("describe_variants needs at least one sweep")
    first = next(iter(sweeps.values()))
    cores, gil = first.metadata.usable_cores, first.metadata.gil_enabled
    groups: dict[bool, list[tuple[str, float, int]]] = {True: [], False: []}
    for name, sweep in sweeps.items():
        last = sweep.points[-1]
        groups[variant(name).releases_gil].append((variant(name).label, last.speedup, last.workers))
    lines = []
    if cores == 1:
        lines.append("One usable core: two threads cannot run at once whatever the GIL does, so no variant can "
                     "speed up here.")
    else:
        lines.append(f"{_gil_words(gil)[0].upper()}{_gil_words(gil)[1:]}; {_cores(cores)}.")
    for releases, found in ((False, groups[False]), (True, groups[True])):
        if not found:
            continue
        kind = "release the GIL" if releases else "hold the GIL"
        worst = min(found, key=lambda item: item[1])
        best = max(found, key=lambda item: item[1])
        text = describe_speedup(best[1], best[2], cores, what="thread" if best[2] == 1 else "threads")
        start = "" if len(found) == 1 else f"from {format_speedup(worst[1])} to "
        lines.append(f"Kernels that {kind}: {start}{text}.")
    if not groups[True]:
        lines.append("No compiled kernel here: only the pure-Python fallback ran. Build the kernels (see Setup) "
                     "and rerun.")
    if cores > 1 and groups[False]:
        held = max(s for _, s, _ in groups[False])
        held_kind = regime(held, groups[False][0][2], cores)
        if gil and held > SAME_HIGH:
            lines.append(f"A GIL-holding kernel measured {format_speedup(held)} although only one thread at a time "
                         "can hold this build's GIL: the serial run was probably slowed by other programs; run the "
                         "cell again.")
        elif gil:
            lines.append("With the GIL held, only one of the threads runs at a time, whatever the language.")
        elif held_kind in ("near-ideal", "superlinear"):
            lines.append("Without a GIL, the 'GIL held' kernels ran side by side too.")
        else:
            lines.append("Without a GIL the 'GIL held' kernels could have run side by side, yet did not reach near "
                         "the ideal: see the numbers above.")
    if cores > 1 and groups[True] and max(s for _, s, _ in groups[True]) <= SAME_HIGH:
        lines.append("The kernels that release the GIL could have run side by side on these cores, yet did not "
                     "gain: other programs were probably using the cores; run the cell again.")
    noisy = [(variant(name).label, warning) for name, sweep in sweeps.items()
             if (warning := spread_warning(sweep.points[-1].speedup_low, sweep.points[-1].speedup,
                                           sweep.points[-1].speedup_high))]
    if noisy:
        lines.append(f"Careful ({noisy[0][0]}{' and others' if len(noisy) > 1 else ''}): {noisy[0][1]}.")
    if processes is not None:
        last = processes.points[-1]
        text = describe_speedup(last.speedup, last.workers, cores,
                                what="process" if last.workers == 1 else "processes")
        why = "; each process has its own GIL" if gil and last.speedup > SAME_HIGH else ""
        lines.append(f"Processes over the GIL-holding kernel: {text}{why}.")
    return lines


def describe_overlap(label: str, share: float, *, releases_gil: bool, cores: int, gil_enabled: bool) -> str:
    """How much of a timeline had two or more tasks at once, and what in the build explains it (lesson 03)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be within [0, 1], got {share!r}")
    head = f"{label:<20} two or more tasks ran at once during {share:.0%} of the run"
    if share < 0.10:
        if cores == 1 and releases_gil:
            return f"{head}: one at a time (the system ran them in turns on the 1 usable core)"
        if gil_enabled and not releases_gil:
            return f"{head}: one at a time, a staircase (the GIL let one thread run)"
        return f"{head}: one at a time, although nothing here made them take turns (a busy machine?)"
    where = " (taking turns on the 1 usable core)" if cores == 1 else ""
    if share >= 0.5:
        why = ("the kernel released the GIL" if releases_gil else
               "this build has no GIL to hold" if not gil_enabled else "unexpected with the GIL held")
        return f"{head}: side by side{where} ({why})"
    return f"{head}: partly side by side{where}"


def mixed_bound(python_s: float, c_s: float, threads: int, cores: int, *, gil_enabled: bool = True) -> float:
    """The best speedup of tasks running ``python_s`` of Python (GIL held), then ``c_s`` of C (released) (lesson 03).

    With a GIL, the Python parts of all tasks take turns, but one thread's Python runs beside
    another thread's C: the run can be no shorter than all the Python parts one after
    another, nor than all the work shared by min(threads, cores) cores. So the speedup is at
    most min(threads, cores, (P + C) / P). Without a GIL only the cores bound it.
    Amdahl's law with P / (P + C) as the serial fraction assumes that nothing else runs during
    the Python part, which is too pessimistic here.
    """
    if python_s < 0 or c_s < 0 or python_s + c_s <= 0:
        raise ValueError(f"the two parts' times must be >= 0 and not both 0, got {python_s!r} and {c_s!r}")
    if threads < 1 or cores < 1:
        raise ValueError(f"threads and cores must be >= 1, got {threads} and {cores}")
    lanes = float(min(threads, cores))
    if not gil_enabled or python_s == 0:
        return lanes
    return min(lanes, (python_s + c_s) / python_s)


def describe_mixed(python_s: float, c_s: float, measured: float, threads: int, cores: int, *,
                   gil_enabled: bool, spread: tuple[float, float] | None = None) -> list[str]:
    """Section 7: the measured speedup of half-Python, half-C tasks beside the bound and Amdahl's law (lesson 03).

    ``spread`` is the measured speedup's (low, high) range; a wide one adds a warning.
    """
    share = python_s / (python_s + c_s)
    bound = mixed_bound(python_s, c_s, threads, cores, gil_enabled=gil_enabled)
    amdahl = amdahl_speedup(share, min(threads, cores))
    lanes = min(threads, cores)
    lines = [f"Per task: Python {format_seconds(python_s)}, C {format_seconds(c_s)} (Python's share {share:.2f})."]
    if lanes == 1:
        lines.append(f"{threads} thread{'s' if threads > 1 else ''} on {_cores(cores)}: nothing can overlap on "
                     "the cores, so the bound is 1.00×.")
    elif gil_enabled:
        limit = ("the Python parts one after another" if bound < lanes
                 else f"the work shared by {lanes} cores")
        lines.append(f"With a GIL the Python parts take turns, but one thread's Python runs beside another "
                     f"thread's C: the bound is {format_speedup(bound)} on {threads} threads (set by {limit}). "
                     f"Amdahl's law with {share:.2f} as the serial fraction gives {format_speedup(amdahl)}: it "
                     "assumes the other threads wait during the Python part, and they do not.")
    else:
        lines.append(f"This build runs without a GIL: the Python parts need not take turns either, so only the "
                     f"{lanes} cores bound it: {format_speedup(bound)} on {threads} threads. Amdahl's law with "
                     f"{share:.2f} as the serial fraction gives {format_speedup(amdahl)}, but nothing here is "
                     "serial.")
    got = format_speedup(measured)
    if measured < SAME_LOW:
        verdict = f"measured {got}: slower than one thread"
    elif measured > SAME_HIGH * bound:
        verdict = (f"measured {got}: above the bound {format_speedup(bound)}, so the one-thread timings of the "
                   "parts were slower than in the run; run the cells again")
    elif measured >= NEAR_IDEAL * bound:
        verdict = f"measured {got}: {measured / bound:.0%} of the bound, close to it"
    elif measured > SAME_HIGH * amdahl:
        verdict = (f"measured {got}: above Amdahl's {format_speedup(amdahl)}, {measured / bound:.0%} of the "
                   "bound: the threads overlapped Python with C, but not fully")
    elif measured >= amdahl / SAME_HIGH:
        verdict = (f"measured {got}: about Amdahl's {format_speedup(amdahl)}, {measured / bound:.0%} of the "
                   "bound: little of the Python overlapped with C")
    elif measured <= SAME_HIGH:
        verdict = f"measured {got}: about the same as one thread, below even Amdahl's {format_speedup(amdahl)}"
    else:
        verdict = f"measured {got}: below even Amdahl's {format_speedup(amdahl)}"
    lines.append(verdict[0].upper() + verdict[1:] + ".")
    if spread is not None and (warning := spread_warning(spread[0], measured, spread[1])):
        lines.append(f"Careful: {warning}.")
    return lines


def describe_openmp(one_s: float | None, many_s: float | None, threads: int, *, cores: int,
                    openmp: bool, cython: bool) -> str:
    """One call on 1 thread against one call on ``threads`` OpenMP threads, or why it was not run (lesson 03)."""
    if not openmp or one_s is None or many_s is None:
        if cython:
            return "OpenMP is not available with this compiler: the optional prange kernel was not built."
        return "The compiled kernels are not built here (see Setup), so neither is the OpenMP one."
    return (f"one call, 1 thread: {format_seconds(one_s)}; one call, {threads} OpenMP threads: "
            f"{format_seconds(many_s)}: " + describe_speedup(one_s / many_s, threads, cores, what="OpenMP threads"))
