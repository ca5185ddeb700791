"""The common exercise checker: verdicts, placeholders, timeouts, the learner's traceback, comparisons."""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time

import pytest

from parlab import workloads
from parlab.lessons import check

EX = "Exercise 1: test"


def test_a_verdict_names_its_exercise_status_and_hint_in_text_and_html():
    v = check.wrong(EX, "the count is off.", hint="Use a lock.", details="yours: 3\nserial: 4")
    assert str(v).splitlines()[0] == "Exercise 1: test: wrong — the count is off."
    assert "Hint: Use a lock." in str(v)
    page = v._repr_html_()
    assert 'class="parlab-verdict parlab-verdict-wrong"' in page
    assert "<details open>" in page and "serial: 4" in page


def test_a_right_verdict_folds_its_numbers_so_a_solution_shows_no_answer():
    v = check.right(EX, "your prediction matches the measurement.", details="measured 0.97×")
    page = v._repr_html_()
    assert "<details>" in page and "<details open>" not in page
    before_details = page.split("<details>")[0]
    assert "0.97" not in before_details
    assert v.must_be_right() is v


def test_must_be_right_raises_with_the_verdict_text():
    with pytest.raises(AssertionError, match="wrong — the count is off"):
        check.wrong(EX, "the count is off.").must_be_right()


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="status must be one of"):
        check.Verdict(EX, "ok", "fine")


def test_not_answered_reads_not_answered_yet():
    v = check.not_answered(EX, "replace the ... with your code.")
    assert str(v) == "Exercise 1: test: not answered yet — replace the ... with your code."
    assert v.status == "not answered" and not v.right


def _blank():
    ...


def _blank_with_docstring(x):
    """Your code here."""
    pass  # noqa: PIE790 (what a learner leaves in a blank function)


def _answered(x):
    return x + 1


@pytest.mark.parametrize("value", [..., None, "a = ___", _blank, _blank_with_docstring])
def test_placeholders_are_recognised(value):
    assert check.is_placeholder(value)


@pytest.mark.parametrize("value", [0, 1.5, "", "a = 1", _answered, [1], print])
def test_answers_are_not_placeholders(value):
    assert not check.is_placeholder(value)


def test_call_returns_the_value_and_the_time():
    out = check.call(_answered, 1, timeout_s=5)
    assert out.ok and out.value == 2 and out.seconds >= 0


def _raises(x):
    return {}[x]


def test_call_keeps_the_learners_traceback_without_the_checkers_frames():
    out = check.call(_raises, "missing", timeout_s=5)
    assert not out.ok and isinstance(out.error, KeyError)
    assert "_raises" in out.traceback and "return {}[x]" in out.traceback
    assert "parlab/lessons/check.py" not in out.traceback and "in target" not in out.traceback
    v = check.failure(EX, out, "your function")
    assert v is not None and v.status == "error"
    assert v.headline == "your function raised KeyError."
    assert "return {}[x]" in v.details


@pytest.mark.slow
def test_a_deadlock_is_named_within_the_timeout():
    lock = threading.Lock()

    def takes_the_lock_twice():
        with lock, lock:
            pass

    start = time.perf_counter()
    out = check.call(takes_the_lock_twice, timeout_s=0.5)
    assert out.timed_out and time.perf_counter() - start < 5
    v = check.failure(EX, out, "your function")
    assert v is not None and v.status == "timeout"
    assert v.headline == "your function did not finish within 0.500 s."
    assert "deadlock" in v.hint and "restart" in v.details.lower()


def _sleep_forever_in_a_pool():
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(workloads.io_wait, (60,))


@pytest.mark.faults
def test_a_hanging_pool_has_its_workers_stopped():
    out = check.call(_sleep_forever_in_a_pool, timeout_s=8)
    assert out.timed_out and out.stopped
    assert not [p for p in multiprocessing.active_children() if p.pid in out.stopped]
    v = check.failure(EX, out, "your pool")
    assert v is not None and v.details.startswith(f"{len(out.stopped)} worker process(es) it started were stopped.")


def test_a_function_from_main_under_spawn_gets_the_module_hint():
    error = AttributeError("Can't get attribute 'work' on <module '__main__' (built-in)>")
    v = check.failure(EX, check.Outcome(error=error, traceback="..."), "your pool")
    assert v is not None and "%%writefile" in v.hint


def test_run_script_returns_the_completed_process():
    out = check.run_script([sys.executable, "-c", "print(6 * 7)"], timeout_s=30)
    assert out.ok and out.value.returncode == 0 and out.value.stdout.strip() == "42"


@pytest.mark.slow
def test_run_script_kills_a_hanging_program_and_names_it():
    out = check.run_script([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=1)
    assert out.timed_out and not out.in_thread
    v = check.failure(EX, out, "your child script")
    assert v is not None and v.status == "timeout" and "were stopped" in v.details


@pytest.mark.parametrize("argv", ["python -c 1", [], ["python", 3]])
def test_run_script_wants_an_argument_list(argv):
    with pytest.raises(TypeError, match="list of arguments"):
        check.run_script(argv)


def test_same_results_names_the_first_difference_and_a_reordering():
    assert check.same_results(EX, [1, 2, 3], [1, 2, 3], "your pool") is None
    v = check.same_results(EX, [1, 3, 2], [1, 2, 3], "your pool")
    assert v is not None and v.headline == "your pool differs from the serial result at position 1."
    assert "order" in v.hint
    v = check.same_results(EX, [1, 2], [1, 2, 3], "your pool")
    assert v is not None and "gave 2 results; the serial code gives 3" in v.headline
    v = check.same_results(EX, 5, 6, "your count")
    assert v is not None and "yours:  5" in v.details


@pytest.mark.parametrize(("workers", "cores", "need"), [(2, 2, 4 / 3), (4, 2, 4 / 3), (4, 4, 2.0), (8, 16, 10 / 3)])
def test_the_speed_needed_depends_on_usable_cores(workers, cores, need):
    assert check.needed_speedup(workers, cores) == pytest.approx(need)


def test_one_core_checks_correctness_only_and_says_so():
    assert check.needed_speedup(4, 1) is None
    v = check.speed(EX, 1.0, 1.0, 4, cores=1)
    assert v.right and "only correctness was checked" in v.headline


def test_a_serial_parallel_version_is_wrong_on_two_cores():
    v = check.speed(EX, 1.0, 0.98, 2, cores=2)
    assert v.status == "wrong" and "ran only 1.02× as fast" in v.headline
    assert check.speed(EX, 1.0, 0.55, 2, cores=2).right


def test_speed_refuses_non_positive_times():
    with pytest.raises(ValueError, match="positive seconds"):
        check.speed(EX, 0.0, 1.0, 2, cores=2)


class FakeClock:
    """A clock that moves only when a timed side says how long it took: timings without load."""

    def __init__(self, monkeypatch):
        self.now = 0.0
        self.log = []
        monkeypatch.setattr(check.sandbox, "CLOCK", self)  # the checker's one clock

    def __call__(self):
        return self.now

    def side(self, name, *seconds):
        """A side whose runs take ``seconds`` in turn (the last one repeats)."""
        runs = iter(seconds)
        last = [seconds[-1]]

        def run():
            last[0] = next(runs, last[0])
            self.now += last[0]
            self.log.append(name)
        return run


def test_timed_speed_interleaves_turning_rounds_and_keeps_the_fastest_run(monkeypatch):
    clock = FakeClock(monkeypatch)
    serial, par, ref = clock.side("s", 3.0, 1.0), clock.side("p", 0.98), clock.side("r", 0.5)
    v = check.timed_speed(EX, serial, par, 2, reference=ref, cores=2, rounds=3)
    # The slow first serial run (a burst of load) does not decide: 1.0 / 0.98 s is 1.02x, serial.
    assert clock.log[:9] == ["s", "p", "r", "p", "r", "s", "r", "s", "p"]
    # "wrong" after the 3 rounds asked for is confirmed by 3 more, turning on as before
    assert clock.log[9:] == ["s", "p", "r", "p", "r", "s", "r", "s", "p"]
    assert v.status == "wrong" and "ran only 1.02× as fast" in v.headline
    assert "the fastest of 6 interleaved rounds on each side" in v.details


def test_timed_speed_confirms_a_wrong_verdict_before_giving_it(monkeypatch):
    # Another program held the right answer near 1x for the first three rounds; the fourth shows its gain.
    clock = FakeClock(monkeypatch)
    v = check.timed_speed(EX, clock.side("s", 1.0), clock.side("p", 1.0, 1.0, 1.0, 0.5), 2,
                          reference=clock.side("r", 0.5), cores=2, rounds=3)
    assert v.right and "the fastest of 4 interleaved rounds" in v.details


def test_a_gain_short_of_the_mark_is_not_checked_and_no_gain_is_wrong():
    # A solution once read 1.14x beside its own known-good twin on a busy machine: some gain short of
    # the mark cannot be told from noise, so it is "not checked"; about 1x (a serial version) is wrong.
    short = check.speed(EX, 1.0, 1 / 1.14, 2, cores=2, reference_s=0.5)
    assert short.status == "not checked" and "could not tell" in short.headline
    assert "the known-good version reached 2.00×" in short.details and short.must_be_right() is short
    assert check.speed(EX, 1.0, 1 / 1.05, 2, cores=2, reference_s=0.5).status == "wrong"
    assert check.speed(EX, 1.0, 1 / 1.05, 2, cores=2).status == "wrong"  # no reference: the same rule


def test_timed_speed_stops_after_two_rounds_once_right(monkeypatch):
    clock = FakeClock(monkeypatch)
    v = check.timed_speed(EX, clock.side("s", 1.0), clock.side("p", 0.5), 2, reference=clock.side("r", 0.5),
                          cores=2, rounds=5)
    assert v.right and len(clock.log) == 6 and "the fastest of 2 interleaved rounds" in v.details


def test_timed_speed_on_a_busy_machine_is_not_checked_never_right(monkeypatch):
    clock = FakeClock(monkeypatch)
    v = check.timed_speed(EX, clock.side("s", 1.0), clock.side("p", 1.0), 2, reference=clock.side("r", 0.95),
                          cores=2)
    assert v.status == "not checked" and "too busy" in v.headline
    clock = FakeClock(monkeypatch)
    v = check.timed_speed(EX, clock.side("s", 1.0), clock.side("p", 1.0), 2, cores=2)
    assert v.status == "wrong"  # with nothing known-good beside it, a serial answer is simply slow


def test_timed_speed_with_a_reference_of_its_own_baseline(monkeypatch):
    # The known-good kernel is twice as slow as the learner's, and 2x faster on two threads.
    def judge(parallel_s):
        clock = FakeClock(monkeypatch)
        return check.timed_speed(EX, clock.side("s", 1.0), clock.side("p", parallel_s), 2, cores=2,
                                 reference=(clock.side("rs", 2.0), clock.side("rp", 1.0)))
    assert judge(0.5).right
    slow = judge(1.0)
    assert slow.status == "wrong" and "ran only 1.00× as fast" in slow.headline
    assert judge(0.53).right  # 1.89x: within 20 % of the known-good 2.00x


def test_near_a_known_good_version_is_right_but_a_serial_one_is_not():
    # 02 on 3.13t with its GIL on: 1.24x beside a known-good pool at 1.38x, both spawning.
    near = check.speed(EX, 1.845, 1.482, 2, cores=2, reference_s=1.845 / 1.38)
    assert near.right and "as fast as a known-good" in near.headline
    serial = check.speed(EX, 1.0, 0.95, 2, cores=2, reference_s=1.0 / 1.34)  # 1.05x: under half the gain
    assert serial.status == "wrong"


def test_timed_speed_on_one_core_times_one_round_and_checks_correctness_only(monkeypatch):
    clock = FakeClock(monkeypatch)
    v = check.timed_speed(EX, clock.side("s", 1.0), clock.side("p", 1.0), 4, reference=clock.side("r", 1.0),
                          cores=1)
    assert v.right and "only correctness was checked" in v.headline and clock.log == ["s", "p"]


def test_timed_speed_counts_the_seconds_a_call_measured_not_the_bookkeeping_around_it(monkeypatch):
    clock = FakeClock(monkeypatch)
    bookkeeping = clock.side("p", 3.0)  # looking for the learner's pools, before and after the call

    def learner():
        bookkeeping()
        return check.Outcome(value=[1], seconds=0.5)

    v = check.timed_speed(EX, clock.side("s", 1.0), learner, 2, cores=2)
    assert v.right and "your parallel version 0.500 s" in v.details


def test_call_times_the_learners_code_on_the_checkers_clock(monkeypatch):
    clock = FakeClock(monkeypatch)
    outcome = check.call(clock.side("learner", 0.25))
    assert outcome.ok and outcome.seconds == 0.25


def test_waiting_tasks_are_asked_for_a_speedup_by_workers_not_cores():
    v = check.speed(EX, 0.32, 0.109, 8, cores=2, waiting=True)
    assert v.status == "not checked" and "(needed at least 3.33×)" in v.details  # a gain, short of 3.33x
    assert "with 8 workers on 2 usable cores (waiting tasks need no core): 2.94×" in v.details
    assert check.speed(EX, 0.32, 0.25, 8, cores=2, waiting=True).status == "wrong"  # 1.28x: waits ran in turn
    assert check.speed(EX, 0.32, 0.05, 8, cores=1, waiting=True).right  # waits overlap on one core too


def test_rerun_gives_the_outcome_or_what_went_wrong():
    assert check.rerun(EX, lambda n: list(range(n)), 3, expected=[0, 1, 2], what="yours").ok
    assert check.rerun(EX, lambda n: (i for i in range(n)), 3, expected=[0, 1, 2], what="yours").ok
    other = check.rerun(EX, lambda n: [0] * n, 3, expected=[0, 1, 2], what="yours")
    assert isinstance(other, check.Verdict) and "yours differs from the serial result at position 1" in other.headline
    broken = check.rerun(EX, lambda n: 1 / 0, 3, expected=[0, 1, 2], what="yours")
    assert isinstance(broken, check.Verdict) and broken.status == "error"


def test_timed_speed_returns_a_failed_run_as_it_is(monkeypatch):
    clock = FakeClock(monkeypatch)
    failed = check.wrong(EX, "run 2 gave other results.")
    answers = iter([None, failed])
    v = check.timed_speed(EX, clock.side("s", 1.0), lambda: next(answers), 2, cores=2)
    assert v is failed
    with pytest.raises(ValueError, match="rounds"):
        check.timed_speed(EX, clock.side("s", 1.0), clock.side("p", 1.0), 2, rounds=0)


def test_prediction_compares_in_words():
    assert check.prediction(EX, ..., 1.0, tolerance=0.3).status == "not answered"
    v = check.prediction(EX, 1.0, 0.97, tolerance=0.3)
    assert v.right and v.details == "You predicted 1.00×; this machine measured 0.97×."
    v = check.prediction(EX, 2.0, 0.97, tolerance=0.3)
    assert v.status == "wrong" and v.headline == "your prediction is 1.03× higher than the measurement."
    assert check.prediction(EX, "two", 0.97, tolerance=0.3).status == "wrong"



def test_not_checked_says_why_and_lets_a_solution_cell_go_on():
    v = check.not_checked(EX, "no C compiler here: install build-essential.")
    assert str(v) == "Exercise 1: test: not checked — no C compiler here: install build-essential."
    assert v.must_be_right() is v and not v.right


def test_a_busy_machine_is_not_checked_rather_than_passing_a_serial_version():
    # parlab's own pool reached 1.1× where 1.33× is needed: the speed cannot be judged now.
    v = check.speed(EX, 1.0, 0.98, 2, cores=2, reference_s=0.9)
    assert v.status == "not checked" and "too busy to judge the speed" in v.headline
    assert v.must_be_right() is v
    # When the reference reached the mark, a serial version is wrong.
    v = check.speed(EX, 1.0, 0.98, 2, cores=2, reference_s=0.55)
    assert v.status == "wrong"
    with pytest.raises(ValueError, match="positive seconds"):
        check.speed(EX, 1.0, 0.5, 2, cores=2, reference_s=0.0)


def test_as_fast_as_the_known_good_version_is_right_and_a_serial_one_is_not():
    # The known-good version reached 1.36×, the learner's 1.30×: the same code, within noise.
    v = check.speed(EX, 1.0, 1 / 1.30, 2, cores=2, reference_s=1 / 1.36)
    assert v.right and "as fast as a known-good parallel version" in v.headline
    assert check.speed(EX, 1.0, 0.98, 2, cores=2, reference_s=1 / 1.36).status == "wrong"


def test_a_dead_weakref_proxy_among_the_objects_does_not_break_the_pool_scan():
    import weakref

    class Thing:
        pass

    thing = Thing()
    proxy = weakref.proxy(thing)
    del thing  # the proxy is now dead: isinstance(proxy, ...) raises ReferenceError
    assert check.sandbox.live_pools() == [] or all(p is not proxy for p in check.sandbox.live_pools())
    assert check.call(lambda: 42).value == 42


def test_an_answer_that_is_not_a_function_is_named_wrong():
    verdict = check.not_a_function("Exercise 1: time it", "time_it", 3, hint="Write def time_it(fn): ...")
    assert verdict.status == "wrong" and verdict.headline == "time_it must be a function, not int."
    assert verdict.hint == "Write def time_it(fn): ..."
