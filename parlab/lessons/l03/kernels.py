"""Helpers for lesson 03's notebook: source excerpts, Cython's annotation, its nogil check, the panel.

None of these needs a C compiler: Cython translates ``.pyx`` to C (and writes its
annotation) on its own; only building the extension needs the compiler. The sentences the
notebook prints about its measurements are in ``l03.words`` (re-exported here: the notebook
calls them as ``lesson.describe_*``).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import tempfile
import time
from collections.abc import Sequence
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
from parlab.lessons.l03.words import (  # the notebook calls them as lesson.NAME
    describe_compile,
    describe_jit_threads,
    describe_layers,
    describe_mixed,
    describe_openmp,
    describe_overlap,
    describe_oversubscription,
    describe_prange,
    describe_single_thread,
    describe_variants,
    mixed_bound,
)
from parlab.measure import (  # overlap_fraction, worker_counts: the notebook calls them as lesson.NAME
    overlap_fraction,
    worker_counts,
)
from parlab.results import RunResult, TaskSpan
from parlab.run import run_tasks

__all__ = [
    "AnnotatedLine",
    "Annotation",
    "annotate",
    "cython_errors",
    "default_numbers",
    "describe_compile",
    "describe_jit_threads",
    "describe_layers",
    "describe_mixed",
    "describe_openmp",
    "describe_overlap",
    "describe_oversubscription",
    "describe_prange",
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
