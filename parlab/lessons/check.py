"""The exercise checker every lesson uses: it runs what the learner wrote and answers in words.

Each lesson's ``lNN_exercises`` module builds its checkers from these parts:

- :class:`Verdict`: right, wrong, not answered, error or timeout, with one headline, a hint
  and details. In JupyterLab the headline and hint are visible and the details (the measured
  numbers, the learner's traceback) sit in a ``<details>`` block, folded when the answer is
  right, so a solution cell shows no answer until the learner opens it.
- :func:`is_placeholder` / :func:`not_answered`: an exercise left as it was (``...``, a
  function whose body is ``...``, a program with ``___`` blanks) is "not answered yet", never
  an exception, so "Run all" goes through.
- :func:`call` and :func:`run_script`: the learner's code runs with a timeout. An exception
  comes back with the learner's own traceback; a hang is named. Processes the learner started
  are stopped; a thread cannot be stopped in Python, so it is left as a daemon and the verdict
  says when the kernel must be restarted.
- :func:`same_results`, :func:`speed`, :func:`prediction`, :func:`choice`: the comparisons.
  A speed check asks for a speedup that depends on the usable cores; on one core it checks
  correctness only and says so. :func:`timed_speed` times the runs it judges, the same way in
  every lesson, beside a known-good version that tells a busy machine from a slow answer.
"""

from __future__ import annotations

import ast
import functools
import gc
import html
import inspect
import multiprocessing
import multiprocessing.pool
import os
import signal
import subprocess
import textwrap
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from parlab._checks import check_timeout, check_whole
from parlab.results import format_seconds, format_speedup
from parlab.system import usable_cores

STATUSES = ("right", "wrong", "not answered", "error", "timeout", "not checked")
# The clock that times the learner's code in call() and every side in timed_speed(): one clock,
# so that a test can replace it (a clock that ticks once per run: every run equally long).
CLOCK: Callable[[], float] = time.perf_counter
RESTART = ("If the kernel stays busy or the notebook slows down, restart it "
           "(Kernel → Restart Kernel) and run the cells above this one again.")


@dataclass(frozen=True)
class Verdict:
    """What the checker says about one exercise."""

    exercise: str
    status: str
    headline: str
    details: str = ""
    hint: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(map(repr, STATUSES))}, not {self.status!r}")

    @property
    def right(self) -> bool:
        return self.status == "right"

    def must_be_right(self) -> Verdict:
        """Return the verdict; raise AssertionError with its text unless it is right (solution cells).

        "not checked" passes too: the machine lacks what the check needs (a compiler), which
        the verdict says, and "Run all" goes on.
        """
        if self.status not in ("right", "not checked"):
            raise AssertionError(str(self))
        return self

    def title(self) -> str:
        word = "not answered yet" if self.status == "not answered" else self.status
        return f"{self.exercise}: {word}"

    def __str__(self) -> str:
        lines = [f"{self.title()} — {self.headline}"]
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        if self.details:
            lines.append(textwrap.indent(self.details.rstrip(), "    "))
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        mark = {"right": "✔", "not answered": "…", "not checked": "–"}.get(self.status, "✘")
        parts = [f'<div class="parlab-verdict parlab-verdict-{self.status.replace(" ", "-")}">',
                 f"<b>{mark} {html.escape(self.title())}</b> — {html.escape(self.headline)}"]
        if self.hint:
            parts.append(f"<br><i>Hint:</i> {html.escape(self.hint)}")
        if self.details:
            opened = "" if self.status in ("right", "not answered", "not checked") else " open"
            parts.append(f"<details{opened}><summary>Details</summary>"
                         f"<pre>{html.escape(self.details.rstrip())}</pre></details>")
        parts.append("</div>")
        return "".join(parts)


def right(exercise: str, headline: str, details: str = "") -> Verdict:
    return Verdict(exercise, "right", headline, details)


def wrong(exercise: str, headline: str, hint: str = "", details: str = "") -> Verdict:
    return Verdict(exercise, "wrong", headline, details, hint)


def not_checked(exercise: str, why: str, details: str = "") -> Verdict:
    """The verdict where this machine cannot check the answer (no compiler): why, and how to fix it."""
    return Verdict(exercise, "not checked", why, details)


def not_answered(exercise: str, todo: str) -> Verdict:
    """The verdict for an exercise still holding its placeholder: what to do, no error."""
    return Verdict(exercise, "not answered", todo)


# --- placeholders -----------------------------------------------------------------------

def _body_is_placeholder(fn: Callable[..., Any]) -> bool:
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return False
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if not defs:
        return False
    body = list(defs[0].body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # a docstring
    return all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                           and s.value.value is Ellipsis) for s in body)


def is_placeholder(value: object) -> bool:
    """True for what an exercise holds before the learner answers it.

    ``...`` or ``None``; a string with ``___`` blanks; a function whose body is only ``...``,
    ``pass`` or a docstring. Anything else counts as an answer, right or wrong.
    """
    if value is None or value is Ellipsis:
        return True
    if isinstance(value, str):
        return "___" in value
    if callable(value) and (inspect.isfunction(value) or inspect.ismethod(value)):
        return _body_is_placeholder(value)
    return False


# --- running the learner's code ---------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """How a call of the learner's code ended."""

    value: Any = None
    error: BaseException | None = None
    traceback: str = ""
    timed_out: bool = False
    seconds: float = 0.0
    timeout_s: float = 0.0
    stopped: tuple[int, ...] = ()  # pids of the learner's processes stopped after a timeout
    in_thread: bool = True  # False for a program run by run_script

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out


def _learner_traceback(error: BaseException) -> str:
    """The traceback without this module's own frames: what the learner's code did."""
    here = os.path.abspath(__file__)
    frames = [f for f in traceback.extract_tb(error.__traceback__) if os.path.abspath(f.filename) != here]
    lines = traceback.format_list(frames) if frames else []
    lines += traceback.format_exception_only(type(error), error)
    return "Traceback (most recent call last):\n" + "".join(lines) if frames else "".join(lines)


def _pools() -> list[Any]:
    """The process pools alive now (``multiprocessing`` pools and ``ProcessPoolExecutor``s)."""
    return [o for o in gc.get_objects() if isinstance(o, multiprocessing.pool.Pool | ProcessPoolExecutor)]


def _stop_pools(before: set[int]) -> None:
    """Stop the pools created since ``before`` (ids), so that they start no new workers.

    A ``multiprocessing.Pool`` replaces a worker that dies, so its workers alone cannot be
    stopped; it is terminated, each in a thread bounded by a timeout.
    """
    for pool in [p for p in _pools() if id(p) not in before]:
        if isinstance(pool, ProcessPoolExecutor):
            stop = functools.partial(pool.shutdown, wait=False, cancel_futures=True)
        else:
            stop = pool.terminate
        worker = threading.Thread(target=stop, name="parlab-check-stop", daemon=True)
        worker.start()
        worker.join(5)


def _stop_children(before: set[int]) -> list[int]:
    """Terminate, then kill, the multiprocessing children started since ``before``."""
    new = [p for p in multiprocessing.active_children() if p.pid not in before]
    for p in new:
        p.terminate()
    for p in new:
        p.join(2)
        if p.is_alive():
            p.kill()
            p.join(2)
    return [p.pid for p in new if p.pid is not None]


def call(fn: Callable[..., Any], *args: Any, timeout_s: float = 10.0, **kwargs: Any) -> Outcome:
    """Run ``fn(*args, **kwargs)`` in a daemon thread, waiting at most ``timeout_s`` seconds.

    An exception is caught and kept with the learner's traceback. On a timeout, the
    multiprocessing children started during the call (pool workers) are stopped; the thread
    itself cannot be stopped and keeps running as a daemon.
    """
    if not callable(fn):
        raise TypeError(f"call needs a function, not {type(fn).__name__}")
    timeout_s = check_timeout(timeout_s)
    before = {p.pid for p in multiprocessing.active_children() if p.pid is not None}
    pools_before = {id(p) for p in _pools()}
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 (the learner's error is the verdict, SystemExit included)
            box["error"] = error

    thread = threading.Thread(target=target, name="parlab-check", daemon=True)
    start = CLOCK()
    thread.start()
    thread.join(timeout_s)
    seconds = CLOCK() - start
    if thread.is_alive():
        started = {p.pid for p in multiprocessing.active_children() if p.pid is not None and p.pid not in before}
        _stop_pools(pools_before)
        stopped = tuple(sorted(started.union(_stop_children(before))))
        return Outcome(timed_out=True, seconds=seconds, timeout_s=timeout_s, stopped=stopped)
    error = box.get("error")
    if error is not None:
        return Outcome(error=error, traceback=_learner_traceback(error), seconds=seconds, timeout_s=timeout_s)
    return Outcome(value=box.get("value"), seconds=seconds, timeout_s=timeout_s)


def rerun(exercise: str, fn: Callable[..., Any], *args: Any, expected: object, what: str,
          timeout_s: float = 10.0) -> Verdict | Outcome:
    """One more :func:`call` of code that was already found right, for :func:`timed_speed`.

    Its :class:`Outcome`, or the verdict when this run failed or gave other results (a tuple
    or a generator counts as the list it holds).
    """
    outcome = call(fn, *args, timeout_s=timeout_s)
    got = outcome.value
    if outcome.ok and not isinstance(got, list | str | bytes | dict) and hasattr(got, "__iter__"):
        got = list(got)
    return failure(exercise, outcome, what) or same_results(exercise, got, expected, what) or outcome


def run_script(argv: Sequence[str], *, timeout_s: float = 30.0, cwd: str | os.PathLike[str] | None = None,
               env: Mapping[str, str] | None = None, input: str | None = None) -> Outcome:
    """Run a program from an argument list in its own process group; kill the group on timeout.

    ``value`` is the :class:`subprocess.CompletedProcess` (text mode) when it ended in time.
    """
    if isinstance(argv, str) or not argv or not all(isinstance(a, str | os.PathLike) for a in argv):
        raise TypeError("run_script needs a non-empty list of arguments (no shell strings), "
                        f"e.g. [sys.executable, 'child.py'], not {argv!r}")
    timeout_s = check_timeout(timeout_s)
    start = time.perf_counter()
    proc = subprocess.Popen([os.fspath(a) for a in argv], cwd=cwd, env=None if env is None else dict(env),
                            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=os.name == "posix")
    try:
        out, err = proc.communicate(input, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        return Outcome(timed_out=True, seconds=time.perf_counter() - start, timeout_s=timeout_s,
                       stopped=(proc.pid,), in_thread=False)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return Outcome(value=done, seconds=time.perf_counter() - start, timeout_s=timeout_s, in_thread=False)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # the group is already gone
    else:
        proc.kill()


def _hint_for(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    if "Can't get attribute" in text or ("__main__" in text and "attribute" in text):
        return ("A spawn or forkserver worker starts a fresh Python that cannot see functions defined "
                "in the notebook: put the worker function in a module (%%writefile) and import it.")
    if "BrokenProcessPool" in text or "terminated abruptly" in text:
        return ("A worker process died. Under spawn, a worker that cannot import its function dies "
                "this way: keep worker functions in a module you import.")
    if isinstance(error, NameError):
        return "A name is not defined: run the cells above this one first, and check the spelling."
    return ""


def failure(exercise: str, outcome: Outcome, what: str) -> Verdict | None:
    """The error or timeout verdict for ``outcome``; ``None`` when the call returned."""
    if outcome.timed_out and not outcome.in_thread:
        return Verdict(exercise, "timeout", f"{what} did not finish within {format_seconds(outcome.timeout_s)}.",
                       hint=("Something waits forever: a deadlock (each side waiting for the other), an "
                             "endless loop, or a read from a server or queue that never answers."),
                       details="The program and the processes it started were stopped.")
    if outcome.timed_out:
        return Verdict(exercise, "timeout",
                       f"{what} did not finish within {format_seconds(outcome.timeout_s)}.",
                       hint=("Something waits forever: a deadlock (a lock taken twice, two sides each "
                             "waiting for the other), an endless loop, a queue.get or join that never "
                             "returns, or a pool worker that cannot find its function."),
                       details=(f"{len(outcome.stopped)} worker process(es) it started were stopped. "
                                if outcome.stopped else "")
                       + "A thread cannot be stopped in Python: it keeps running in the background. " + RESTART)
    if outcome.error is not None:
        return Verdict(exercise, "error", f"{what} raised {type(outcome.error).__name__}.",
                       details=outcome.traceback, hint=_hint_for(outcome.error))
    return None


# --- comparisons ------------------------------------------------------------------------

def _short(value: object, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def same_results(exercise: str, got: object, expected: object, what: str) -> Verdict | None:
    """A wrong verdict naming the first difference between ``got`` and ``expected``; None when equal."""
    if got == expected:
        return None
    if isinstance(got, Sequence) and isinstance(expected, Sequence) and not isinstance(got, str | bytes):
        if len(got) != len(expected):
            return wrong(exercise, f"{what} gave {len(got)} results; the serial code gives {len(expected)}.",
                         hint="Every task must give exactly one result: did a worker drop or repeat one?")
        index = next(i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e)
        moved = sorted(map(repr, got)) == sorted(map(repr, expected))
        hint = ("The same results in another order: keep the tasks' order (map keeps it; "
                "as_completed does not)." if moved else "Compare your worker's result with the serial code's.")
        return wrong(exercise, f"{what} differs from the serial result at position {index}.", hint=hint,
                     details=f"yours:  {_short(got[index])}\nserial: {_short(expected[index])}")
    return wrong(exercise, f"{what} differs from the serial result.",
                 hint="Compare your code's result with the serial code's.",
                 details=f"yours:  {_short(got)}\nserial: {_short(expected)}")


def needed_speedup(workers: int, cores: int | None = None) -> float | None:
    """The speedup a parallel version must reach to pass a speed check; None on one usable core.

    A third of the ideal gain, so that a noisy laptop passes a right answer while a serial
    "parallel" version (about 1×) fails: 1.33× on 2 cores, 2.0× on 4, 3.33× on 8.
    """
    workers = check_whole("workers", workers, 1)
    cores = usable_cores() if cores is None else check_whole("cores", cores, 1)
    usable = min(workers, cores)
    if usable < 2:
        return None
    return 1 + (usable - 1) / 3


def speed(exercise: str, serial_s: float, parallel_s: float, workers: int, *, cores: int | None = None,
          what: str = "your parallel version", reference_s: float | None = None, waiting: bool = False) -> Verdict:
    """Right when ``serial_s / parallel_s`` reaches :func:`needed_speedup`; on one core, correctness only.

    Call it once the results are known to be right. ``reference_s``: the time a known-good
    parallel version (parlab's own) took in the same rounds. When the learner's version misses
    the mark and the reference misses it too, the machine is too busy to judge speed now: the
    verdict is "not checked", not "wrong" (and not "right": a serial version would pass too).
    ``waiting``: the tasks wait (I/O) rather than compute; a waiting task needs no core, so the
    speedup asked for follows the workers, not the cores.
    """
    if not (serial_s > 0 and parallel_s > 0) or (reference_s is not None and not reference_s > 0):
        raise ValueError("serial_s, parallel_s and reference_s must be positive seconds, not "
                         f"{serial_s!r}, {parallel_s!r} and {reference_s!r}")
    workers = check_whole("workers", workers, 1)
    cores = usable_cores() if cores is None else check_whole("cores", cores, 1)
    ratio = serial_s / parallel_s
    numbers = (f"serial {format_seconds(serial_s)}, {what} {format_seconds(parallel_s)} "
               f"with {workers} workers on {cores} usable cores"
               f"{' (waiting tasks need no core)' if waiting else ''}: {format_speedup(ratio)}")
    need = needed_speedup(workers, workers if waiting else cores)
    if need is None:
        one = "1 worker" if workers < 2 else "1 usable core"
        return right(exercise, f"the results are right; with {one} no speedup is possible, "
                               "so only correctness was checked.", details=numbers)
    if ratio >= need:
        return right(exercise, "the results are right and the work ran in parallel.",
                     details=f"{numbers} (needed at least {format_speedup(need)}).")
    if (reference_s is not None and serial_s / reference_s >= need
            and ratio >= max(0.8 * serial_s / reference_s, 1 + (need - 1) / 2)):
        # Nearly as fast as a known-good parallel version timed in the same rounds (within 20 %,
        # and at least half the gain asked for): noise kept both near the mark, as spawning a
        # pool does (02 on 3.13t: 1.24× beside a known-good 1.38×); a serial version stays
        # near 1× and fails.
        return right(exercise, "the results are right and the work ran in parallel, as fast as a known-good "
                               "parallel version here.",
                     details=f"{numbers}; the known-good version reached {format_speedup(serial_s / reference_s)}.")
    if reference_s is not None and serial_s / reference_s < need:
        known = format_speedup(serial_s / reference_s)
        return not_checked(exercise, "the results are right, but this machine is too busy to judge the speed "
                                     "now: a known-good parallel version missed the mark too. Run the cell "
                                     "again when the machine is quieter.",
                           details=(f"{numbers}; the known-good version reached {known} "
                                    f"(needed at least {format_speedup(need)})."))
    return wrong(exercise, f"the results are right, but {what} ran only {format_speedup(ratio)} as fast as "
                           f"the serial code; {format_speedup(need)} or more shows that the work ran in parallel.",
                 hint=("Check that the work really runs at once: start every worker before you wait for "
                       "any, and make sure the work can run in parallel on this backend (pure-Python "
                       "work in threads waits for the GIL)."),
                 details=f"{numbers} (needed at least {format_speedup(need)}).")


def timed_speed(exercise: str, serial: Callable[[], object], parallel: Callable[[], object], workers: int, *,
                reference: Callable[[], object] | tuple[Callable[[], object], Callable[[], object]] | None = None,
                cores: int | None = None, what: str = "your parallel version", rounds: int = 3,
                waiting: bool = False) -> Verdict:
    """Time ``serial()``, ``parallel()`` and a known-good ``reference`` in interleaved rounds, then :func:`speed`.

    The one way every lesson times a speed exercise on a shared, noisy machine:

    - each round runs every side once, in an order that turns from round to round, so a burst
      of other work slows one run of each side, not one side;
    - the fastest run of each side counts: load slows a run down, never speeds it up;
    - ``reference`` is a known-good parallel version of the same work, timed in the same
      rounds: one callable (its speedup is taken against ``serial``), or a pair
      ``(its_serial, its_parallel)`` when it has a baseline of its own (a different kernel).
      When even it misses the mark, the verdict is "not checked", never "right";
    - once the learner's version is right after two rounds, the rest are skipped; on one core
      (or one worker) there is no speedup to judge, and one round gives the numbers shown;
    - ``waiting``: see :func:`speed`.

    ``parallel`` runs the learner's code: it may return the :class:`Outcome` of :func:`call`,
    whose own seconds then count (the checker's bookkeeping around the call does not), or,
    where a run failed, a :class:`Verdict` (from :func:`failure` or :func:`same_results`),
    which is returned as it is.
    """
    rounds = check_whole("rounds", rounds, 1)
    need = needed_speedup(workers, workers if waiting else cores)
    if need is None:  # one core or one worker: no speedup to judge, one round for the numbers shown
        rounds, reference = 1, None
    sides: list[Callable[[], object]] = [serial, parallel]
    if reference is not None:
        sides += list(reference) if isinstance(reference, tuple) else [reference]
    times: list[list[float]] = [[] for _ in sides]
    done = 0
    for done in range(1, rounds + 1):
        turn = (done - 1) % len(sides)
        for i in list(range(turn, len(sides))) + list(range(turn)):
            start = CLOCK()
            got = sides[i]()
            took = CLOCK() - start
            if isinstance(got, Verdict):
                return got
            times[i].append(got.seconds if isinstance(got, Outcome) else took)
        if done >= 2 and need is not None and min(times[0]) / min(times[1]) >= need:
            break
    serial_s, parallel_s = min(times[0]), min(times[1])
    reference_s = None
    if isinstance(reference, tuple):  # the same speedup, as the time it would mean against serial_s
        reference_s = serial_s * min(times[3]) / min(times[2])
    elif reference is not None:
        reference_s = min(times[2])
    verdict = speed(exercise, serial_s, parallel_s, workers, cores=cores, what=what, reference_s=reference_s,
                    waiting=waiting)
    rounds_said = f"(the fastest of {done} interleaved rounds on each side)"
    details = f"{verdict.details.rstrip()}\n{rounds_said}" if verdict.details else rounds_said
    return replace(verdict, details=details)


def prediction(exercise: str, predicted: float, measured: float, *, tolerance: float, unit: str = "×") -> Verdict:
    """Compare a predicted number with a measured one: right within ``tolerance`` (same unit)."""
    if is_placeholder(predicted):
        return not_answered(exercise, "write your prediction as a number, then run this cell again.")
    if isinstance(predicted, bool) or not isinstance(predicted, int | float):
        return wrong(exercise, f"a prediction must be a number, not {type(predicted).__name__}.",
                     hint="Write a number such as 1.5.")
    if tolerance < 0:
        raise ValueError(f"tolerance must be zero or more, not {tolerance!r}")
    said = f"You predicted {predicted:.2f}{unit}; this machine measured {measured:.2f}{unit}."
    off = predicted - measured
    if abs(off) <= tolerance:
        return right(exercise, "your prediction matches the measurement.", details=said)
    direction = "higher" if off > 0 else "lower"
    return wrong(exercise, f"your prediction is {abs(off):.2f}{unit} {direction} than the measurement.",
                 hint="Think about what limits this work here: the GIL, the cores, or the cost of sending data.",
                 details=said)


def choice(exercise: str, answer: object, correct: str, choices: Mapping[str, str]) -> Verdict:
    """A multiple-choice answer by letter; the wrong letter's text says what it would mean."""
    if correct not in choices:
        raise ValueError(f"correct must be one of {sorted(choices)}, not {correct!r}")
    if is_placeholder(answer):
        return not_answered(exercise, f"set your answer to one of {', '.join(map(repr, sorted(choices)))}.")
    letter = str(answer).strip().lower()
    if letter not in {c.lower() for c in choices}:
        return wrong(exercise, f"{answer!r} is not one of the choices {', '.join(map(repr, sorted(choices)))}.")
    if letter == correct.lower():
        return right(exercise, "that is the right choice.", details=choices[correct])
    picked = next(text for key, text in choices.items() if key.lower() == letter)
    return wrong(exercise, "not that one.", hint="Look again at what was measured above.", details=picked)
