"""Verdicts: what the checker says about one exercise, and the comparisons that make them.

:class:`Verdict` is right, wrong, not answered, error, timeout or not checked, with a headline,
a hint and details. In JupyterLab the headline and hint are visible and the details (the
measured numbers, the learner's traceback) sit in a ``<details>`` block, folded when the answer
is right, so a solution cell shows no answer until the learner opens it.
"""

from __future__ import annotations

import ast
import html
import inspect
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RESTART", "STATUSES", "Verdict", "is_placeholder", "not_a_function", "not_answered", "not_checked",
    "prediction", "right", "same_results", "short", "wrong",
]

STATUSES = ("right", "wrong", "not answered", "error", "timeout", "not checked")
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


def not_a_function(exercise: str, name: str, value: object, hint: str = "") -> Verdict:
    """The verdict for an answer that should be a function and is something else (``name = 3``)."""
    return wrong(exercise, f"{name} must be a function, not {type(value).__name__}.", hint=hint)


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


# --- comparisons ------------------------------------------------------------------------

def short(value: object, width: int = 80) -> str:
    """``repr(value)``, cut to ``width`` characters with an ellipsis."""
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
                     details=f"yours:  {short(got[index])}\nserial: {short(expected[index])}")
    return wrong(exercise, f"{what} differs from the serial result.",
                 hint="Compare your code's result with the serial code's.",
                 details=f"yours:  {short(got)}\nserial: {short(expected)}")


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
