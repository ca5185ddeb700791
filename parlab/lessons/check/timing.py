"""Speed verdicts: the speedup a parallel answer must reach, and the one way every lesson times it.

The speedup asked for is a third of the ideal gain on the usable cores (``measure.ideal_speedup``),
so that a noisy laptop passes a right answer while a serial "parallel" version fails. Each
answer is timed in turning, interleaved rounds beside a known-good version; when even that
version misses the mark the machine is too busy, and the verdict is "not checked", never "right".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from parlab._checks import check_whole
from parlab.lessons.check import sandbox
from parlab.lessons.check.sandbox import Outcome
from parlab.lessons.check.verdicts import Verdict, not_checked, right, wrong
from parlab.measure import ideal_speedup
from parlab.results import format_seconds, format_speedup
from parlab.system import usable_cores

__all__ = ["needed_speedup", "speed", "timed_speed"]


def needed_speedup(workers: int, cores: int | None = None) -> float | None:
    """The speedup a parallel version must reach to pass a speed check; None on one usable core.

    A third of the ideal gain, so that a noisy laptop passes a right answer while a serial
    "parallel" version (about 1×) fails: 1.33× on 2 cores, 2.0× on 4, 3.33× on 8.
    """
    workers = check_whole("workers", workers, 1)
    cores = usable_cores() if cores is None else check_whole("cores", cores, 1)
    ideal = ideal_speedup(workers, cores)
    if ideal < 2:
        return None
    return 1 + (ideal - 1) / 3


def speed(exercise: str, serial_s: float, parallel_s: float, workers: int, *, cores: int | None = None,
          what: str = "your parallel version", reference_s: float | None = None, waiting: bool = False) -> Verdict:
    """Right when ``serial_s / parallel_s`` reaches :func:`needed_speedup`; on one core, correctness only.

    Wrong only when the gain is clearly absent (below a quarter of the gain asked for: a serial
    version reads about 1x); a gain short of the mark is "not checked", since noise can make it.

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
    if ratio >= 1 + (need - 1) / 4:
        # Some gain, short of the mark: a slow parallel version, or noise that kept apart two runs of
        # the same kind of code (seen: a solution at 1.14x beside its own known-good twin). Timing
        # cannot tell which, so it says so; a serial version (about 1x) stays below and is wrong.
        known = ("" if reference_s is None else
                 f"; the known-good version reached {format_speedup(serial_s / reference_s)}")
        return not_checked(exercise, "the results are right, and the work may have run in parallel, but this run "
                                     "could not tell: the gain was short of the mark and other work on the "
                                     "machine can explain that. Run the cell again when the machine is quieter.",
                           details=f"{numbers}{known} (needed at least {format_speedup(need)}).")
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
    - once the learner's version is right after two rounds, the rest are skipped; a "wrong" after
      ``rounds`` rounds is confirmed by as many more (so a burst of load is not called a slow
      answer); on one core (or one worker) there is no speedup to judge, and one round gives the
      numbers shown;
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

    def judged() -> Verdict:
        serial_s, parallel_s = min(times[0]), min(times[1])
        reference_s = None
        if isinstance(reference, tuple):  # the same speedup, as the time it would mean against serial_s
            reference_s = serial_s * min(times[3]) / min(times[2])
        elif reference is not None:
            reference_s = min(times[2])
        return speed(exercise, serial_s, parallel_s, workers, cores=cores, what=what, reference_s=reference_s,
                     waiting=waiting)

    done = 0
    # A "wrong" found in the first rounds is confirmed by as many again: a burst of other work can
    # hold a right answer near 1x for a few rounds (seen with another program on both cores), while
    # a serial version stays near 1x in every round. Right after two rounds ends it early.
    for limit in (rounds, 2 * rounds):
        while done < limit:
            done += 1
            turn = (done - 1) % len(sides)
            for i in list(range(turn, len(sides))) + list(range(turn)):
                start = sandbox.CLOCK()
                got = sides[i]()
                took = sandbox.CLOCK() - start
                if isinstance(got, Verdict):
                    return got
                times[i].append(got.seconds if isinstance(got, Outcome) else took)
            if done >= 2 and need is not None and min(times[0]) / min(times[1]) >= need:
                break
        verdict = judged()
        if verdict.status != "wrong" or need is None:
            break
    rounds_said = f"(the fastest of {done} interleaved rounds on each side)"
    details = f"{verdict.details.rstrip()}\n{rounds_said}" if verdict.details else rounds_said
    return replace(verdict, details=details)
