"""Lessons 04 and 05: every conclusion writer on synthetic results, over the regimes learners meet.

Each test says what the sentence must and must not say: 1, 2, 16 and 64 usable cores; GIL on
and off; slower than one (convoy), about one, near the ideal, superlinear, far below; a wide
spread; more workers than cores helping and hurting; at-least-once execution where tasks rerun.
"""

from __future__ import annotations

import pytest

from parlab import launch
from parlab.coord.board import Outcome
from parlab.lessons.l04 import children as jobs
from parlab.lessons.l05 import mpi as mpi5
from parlab.measure import build_sweep
from parlab.results import Metadata, Sweep, Timing

# --------------------------------------------------------------------------- synthetic results


def meta(cores: int, *, gil: bool = True) -> Metadata:
    return Metadata(cores, "3.13.5", "CPython", not gil, gil, "fork", "linux", "2025-01-01T00:00:00+00:00")


def timing(median: float, spread: float = 0.0) -> Timing:
    return Timing((median * (1 - spread), median, median * (1 + spread)))


def sweep(speedups: dict[int, float], cores: int, *, spread: float = 0.0, startup: float = 0.1,
          serial_s: float = 1.0, tasks: int = 16, backend: str = "children/embedded", gil: bool = True,
          label: str = "children via embedded server") -> Sweep:
    serial = timing(serial_s)
    measured = [(k, serial if k == 1 else timing(serial_s / s, spread), startup * (1 + 0.1 * k), None)
                for k, s in speedups.items()]
    # As job_sweep and integral_sweep build theirs: no serial-fraction estimate.
    return build_sweep(label, backend, None, tasks, serial, measured, metadata=meta(cores, gil=gil), estimate=False)


def job(attempts: list[int], duplicates: list[int | None], *, killed: str | None = None,
        results: list[int] | None = None) -> jobs.JobResult:
    results = results if results is not None else list(range(len(attempts)))
    outcomes = tuple(Outcome(str(i), r, "child-1", a) for i, (r, a) in enumerate(zip(results, attempts, strict=True)))
    reports = tuple(None if d is None else {"done": 1, "duplicates": d, "claims": 1} for d in duplicates)
    completed = tuple(launch.Completed(("python",), -9 if d is None else 0, "", "", 0.1) for d in duplicates)
    return jobs.JobResult("embedded", len(duplicates), outcomes, reports, completed, 0.5, 0.1, killed,
                          ("0",) if killed else ())


# --------------------------------------------------------------------------- lesson 04: delivery


def test_a_clean_run_says_at_least_once_not_exactly_once():
    text = jobs.describe_delivery(job([1, 1, 1, 1], [0, 0]), expected=[0, 1, 2, 3])
    assert "4 tasks, 4 results kept: one per task" in text and "equal to the serial run" in text
    assert "claimed once this time (4 claims)" in text and "at least once" in text
    assert "arrived exactly once" not in text and "each exactly once" not in text


def test_a_killed_child_shows_a_task_claimed_twice():
    text = jobs.describe_delivery(job([2, 1, 1, 1], [None, 0], killed="child-0"), expected=[0, 1, 2, 3])
    assert "claimed 5 times for 4 tasks" in text and "1 task (0) ran or started more than once" in text
    assert "1 claim died with child-0" in text and "0 late results discarded" in text
    assert "at-least-once execution" in text and "safe to run twice" in text
    assert "exactly once" not in text


def test_a_short_lease_shows_work_done_twice_but_one_result_kept():
    text = jobs.describe_delivery(job([2, 2, 1, 3], [2, 2]), expected=[0, 1, 2, 3])
    assert "claimed 8 times for 4 tasks" in text and "3 tasks (0, 1, 3)" in text
    assert "4 late results discarded" in text and "one per task" in text
    assert "died with" not in text


def test_results_that_differ_from_the_serial_run_are_named():
    text = jobs.describe_delivery(job([1, 1], [0], results=[5, 6]), expected=[0, 1])
    assert "DIFFER from the serial run" in text and "equal to" not in text


# --------------------------------------------------------------------------- lesson 04: the sweep


def test_job_summary_names_the_baseline_one_child_with_its_startup():
    text = jobs.job_summary(sweep({1: 1.0, 2: 1.31, 3: 1.58}, 2))
    first = text.splitlines()[0]
    assert "16 tasks; 1 child, start-up included: 1.000 s" in first and "serial" not in first
    assert "(more children than cores)" in text.splitlines()[-1]
    assert "Amdahl" not in text


def test_two_cores_oversubscription_helping_is_not_blamed_on_other_programs():
    text = jobs.describe_children(sweep({1: 1.0, 2: 1.31, 3: 1.58}, 2))
    assert "1.31× on 2 children: 66% of the ideal 2.00× (one core per worker)" in text
    assert "1.58× on 3 children: 79% of the ideal 2.00× (capped at the 2 usable cores)" in text
    assert "More children than cores did better than one per core" in text
    assert "waiting for the server" in text and "The best was 3 children: 1.58×" in text
    assert "other programs" not in text and "noise" not in text and "about 1×" not in text


def test_a_wide_spread_says_so_and_calls_overlapping_ranges_noise():
    text = jobs.describe_children(sweep({1: 1.0, 2: 1.31, 3: 1.58}, 2, spread=0.3))
    assert "or it is noise: the repeats' ranges overlap" in text
    assert "the repeats ranged from" in text and "run the cell again" in text


def test_two_cores_oversubscription_hurting_cpu_work():
    text = jobs.describe_children(sweep({1: 1.0, 2: 1.9, 3: 1.5}, 2))
    assert "1.90× on 2 children: near the ideal 2.00×" in text
    assert "slower than one child per core (1.50× against 1.90× with 2 children)" in text
    assert "did better" not in text and "The best was 2 children: 1.90×" in text


def test_one_core_a_slowdown_is_never_about_one():
    text = jobs.describe_children(sweep({1: 1.0, 2: 0.6}, 1))
    assert "1.00× on 1 child: about the same as one (a single worker)" in text
    assert "1 core: children can only take turns" in text
    assert "0.60× on 2 children: slower than one, taking 1.67 times as long" in text
    assert "The best was one child" in text
    assert "about the same as one child per core" not in text and "near the ideal" not in text


def test_convoy_on_two_cores():
    text = jobs.describe_children(sweep({1: 1.0, 2: 0.8, 3: 0.7}, 2))
    assert "0.80× on 2 children: slower than one" in text and "The best was one child" in text
    assert "about the same" not in text and "of the ideal" not in text


def test_about_one_on_two_cores():
    text = jobs.describe_children(sweep({1: 1.0, 2: 1.05, 3: 1.02}, 2))
    assert "1.05× on 2 children: about the same as one" in text
    assert "about the same as one child per core" in text and "near the ideal" not in text


def test_sixteen_cores_superlinear_is_named():
    text = jobs.describe_children(sweep({1: 1.0, 8: 7.5, 16: 18.5, 17: 17.0}, 16))
    assert "18.50× on 16 children: more than 16×, superlinear" in text
    assert "17.00× on 17 children" in text and "about the same as one child per core" in text


def test_sixty_four_cores_far_below_the_ideal_and_gil_off_words_the_same():
    for gil in (True, False):
        text = jobs.describe_children(sweep({1: 1.0, 32: 5.0, 64: 6.0, 65: 5.9}, 64, gil=gil))
        assert "6.00× on 64 children: 9% of the ideal 64.00× (one core per worker)" in text
        assert "near the ideal" not in text and "GIL" not in text


def test_startup_against_short_tasks_and_long_tasks():
    short = jobs.describe_startup(sweep({1: 1.0, 2: 1.5}, 2, startup=0.1), timing(0.066))
    assert "0.110 s" in short and "0.056 s (one child's time less its start-up, over 16 tasks)" in short
    assert "about 2.0 tasks of work: give each child many more tasks" in short
    long = jobs.describe_startup(sweep({1: 1.0, 2: 1.9}, 2, startup=0.1, serial_s=20.0), timing(0.066))
    assert "0.1 of one task's work: here one task outweighs a child's start" in long
    assert "eats the gain" not in long
    empty = jobs.describe_startup(sweep({1: 1.0}, 2, startup=2.0), timing(0.066))
    assert "no measurable time" in empty and "tasks of work" not in empty


@pytest.mark.parametrize(("embedded", "redis", "without", "with_", "must", "must_not"), [
    (0.10, 0.21, 0.11, 0.23, ["0.110 s later", "adds 0.120 s", "accounts for the difference"], ["rest"]),
    (0.166, 0.247, 0.199, 0.417, ["0.081 s later", "adds 0.218 s", "more than the whole 0.081 s difference"],
     ["accounts for"]),
    (0.10, 0.21, 0.11, 0.165, ["adds 0.055 s", "about 50% of the 0.110 s difference"], ["accounts"]),
    (0.10, 0.21, 0.11, 0.12, ["adds 0.010 s", "little of the 0.110 s difference"], ["accounts"]),
    (0.10, 0.21, 0.11, 0.10, ["added no measurable time"], ["accounts", "adds"]),
    (0.20, 0.10, 0.11, 0.23, ["no slower than embedded ones", "adds 0.120 s"], ["later"]),
    (0.100, 0.105, 0.11, 0.23, ["about as fast as embedded ones"], ["later", "slower"]),
])
def test_redis_startup_is_worded_from_the_measured_import(embedded, redis, without, with_, must, must_not):
    text = jobs.describe_redis_startup(embedded, redis, timing(without), timing(with_))
    assert text.startswith(f"from launch to first claim: embedded {embedded:.3f} s, redis {redis:.3f} s")
    for phrase in must:
        assert phrase in text, (phrase, text)
    for phrase in must_not:
        assert phrase not in text, (phrase, text)
    assert "takes time." not in text  # the old unmeasured claim


def test_redis_startup_refuses_a_zero_time():
    with pytest.raises(ValueError, match="must be > 0"):
        jobs.describe_redis_startup(0.0, 0.1, timing(0.1), timing(0.2))


def test_import_cost_times_children_with_and_without_the_import():
    without, with_ = jobs.import_cost("json", repeats=1)
    assert len(without.values) == len(with_.values) == 1 and without.median > 0 and with_.median > 0
    with pytest.raises(ValueError, match="module name"):
        jobs.import_cost("os; import shutil")


# --------------------------------------------------------------------------- lesson 05: ping-pong


def curve(latency: float, bandwidth: float, top: int = 1 << 20) -> dict[int, float]:
    return {1 << i: latency + (1 << i) / bandwidth for i in range(top.bit_length())}


def test_format_bytes():
    assert [mpi5.format_bytes(n) for n in (1, 8, 1024, 65536, 1 << 20, 1536)] == \
        ["1 B", "8 B", "1 KiB", "64 KiB", "1 MiB", "1536 B"]


def test_pingpong_pickle_slower_says_how_much_and_never_the_same_latency():
    curves = {"parlab buffer": curve(1.7e-6, 13e9), "parlab pickle": curve(17.7e-6, 1.5e9)}
    text = mpi5.describe_pingpong(curves)
    assert "8 B message: Send/Recv 1.7 µs, send/recv 17.7 µs: pickling made a trip take 10.4" in text
    assert "the buffer way moved" in text and "times as many bytes per second" in text
    assert ("Send/Recv: the fastest small message (1 B) took 1.7 µs; messages up to 16 KiB took less than "
            "twice that: below that size the fixed cost per message dominates") in text
    assert "send/recv: the fastest small message (1 B) took 17.7 µs; messages up to 16 KiB" in text
    assert "same fixed latency" not in text and "noise" not in text


def test_pingpong_pickle_faster_is_named_as_noise_and_about_the_same_as_such():
    faster = mpi5.describe_pingpong({"parlab buffer": curve(3e-6, 10e9), "parlab pickle": curve(2e-6, 12e9)})
    assert "send/recv was faster this time" in faster and "pickling made" not in faster
    assert "send/recv moved 1.2 times as many bytes per second this time" in faster
    same = mpi5.describe_pingpong({"parlab buffer": curve(2e-6, 10e9), "parlab pickle": curve(2.1e-6, 10e9)})
    assert "about the same (1.0" in same and "faster" not in same and ": about the same." in same


def test_pingpong_fixed_cost_steep_curves_and_noisy_small_sizes():
    steep = {1: 1e-6, 2: 3e-6, 4: 6e-6, 8: 12e-6}
    text = mpi5.describe_pingpong({"parlab buffer": steep, "parlab pickle": steep}, small=8, big=8)
    assert "messages up to 1 B took less than twice that: past that the size" in text
    assert "send few large" not in text
    noisy = curve(2e-6, 10e9) | {1: 700e-6, 64: 50e-6}
    text = mpi5.describe_pingpong({"parlab buffer": noisy, "parlab pickle": noisy})
    assert ("the fastest small message (2 B) took 2.0 µs; messages up to 16 KiB took less than twice that "
            "(though some smaller ones took longer: noise)") in text
    with pytest.raises(ValueError, match="8-byte point"):
        mpi5.describe_pingpong({"parlab buffer": {1: 1e-6}, "parlab pickle": {1: 1e-6}})


def test_compare_pingpong_says_where_the_two_agree_and_where_not():
    curves = {
        "parlab buffer": {8: 1.7e-6, 1024: 2.0e-6, 65536: 7.5e-6, 1 << 20: 80.8e-6},
        "parlab pickle": {8: 17.7e-6, 1024: 17.2e-6, 65536: 43.0e-6, 1 << 20: 480e-6},
        "mpi4py.bench buffer": {8: 1.7e-6, 1024: 2.2e-6, 65536: 9.9e-6, 1 << 20: 60.4e-6},
        "mpi4py.bench pickle": {8: 15.5e-6, 1024: 21.5e-6, 65536: 38.8e-6, 1 << 20: 1337e-6},
    }
    text = mpi5.compare_pingpong(curves)
    buffer, pickle = text.splitlines()
    assert buffer == ("buffer, parlab vs mpi4py.bench: agree within 25% at 8 B (1.7 vs 1.7 µs), "
                      "1 KiB (2.0 vs 2.2 µs); more than 25% apart at 64 KiB (7.5 vs 9.9 µs), "
                      "1 MiB (80.8 vs 60.4 µs).")
    assert "more than 25% apart at 1 MiB (480.0 vs 1337.0 µs)" in pickle and "agree within 25% at 8 B" in pickle
    assert "same program" not in text and "measured the same way" not in text


def test_compare_pingpong_all_agree_none_agree_and_nothing_to_compare():
    same = {"parlab buffer": {8: 1e-6, 16: 1e-6}, "mpi4py.bench buffer": {8: 1.1e-6, 16: 0.9e-6}}
    assert "agree within 25% at every size compared" in mpi5.compare_pingpong(same, sizes=(8, 16))
    apart = {"parlab buffer": {8: 1e-6}, "mpi4py.bench buffer": {8: 2e-6}}
    assert "more than 25% apart at every size compared" in mpi5.compare_pingpong(apart, sizes=(8,))
    with pytest.raises(ValueError, match="needs a 'parlab MODE'"):
        mpi5.compare_pingpong({"parlab buffer": {8: 1e-6}})


# --------------------------------------------------------------------------- lesson 05: the integral


def integral(speedups: dict[int, float], cores: int, **kw) -> Sweep:
    return sweep(speedups, cores, tasks=2_000_000, backend="mpi", label="midpoint integral", **kw)


def test_integral_summary_counts_intervals_not_tasks():
    text = mpi5.integral_summary(integral({1: 1.0, 2: 1.44, 3: 1.25, 4: 1.42}, 2))
    assert text.startswith("midpoint integral: 2,000,000 intervals, one block per rank; 1 rank: 1.000 s")
    assert "tasks" not in text and "2000000" not in text and "Amdahl" not in text
    assert text.count("(more ranks than cores)") == 2


def test_integral_two_cores_oversubscription_about_the_same():
    text = mpi5.describe_integral(integral({1: 1.0, 2: 1.44, 3: 1.25, 4: 1.42}, 2))
    assert "1.44× on 2 ranks: 72% of the ideal 2.00× (one core per worker)" in text
    assert "1.42× on 4 ranks: 71% of the ideal 2.00× (capped at the 2 usable cores)" in text
    assert "about the same as one rank per core" in text
    assert "Starting a job (mpiexec, the Pythons, MPI) took from 0.110 s on 1 rank to 0.140 s on 4 ranks" in text
    assert "not 4×" not in text


def test_integral_oversubscription_hurting_and_helping():
    hurt = mpi5.describe_integral(integral({1: 1.0, 2: 1.9, 4: 1.2}, 2))
    assert "near the ideal 2.00×" in hurt and "slower than one rank per core" in hurt
    helped = mpi5.describe_integral(integral({1: 1.0, 2: 1.3, 4: 1.9}, 2))
    assert "more than one rank per core gave" in helped and "run the sweep again" in helped
    assert "take turns" not in helped


def test_integral_one_core_slowdown_and_a_wide_spread():
    text = mpi5.describe_integral(integral({1: 1.0, 2: 0.7}, 1, spread=0.4))
    assert "1.00× on 1 rank: about the same as one (a single worker)" in text
    assert "no speedup is possible here" in text and "0.70× on 2 ranks: slower than one" in text
    assert "On 2 ranks, the repeats ranged from" in text
    assert "about the same as one rank per core" not in text


def test_integral_superlinear_and_far_below_on_many_cores():
    superlinear = mpi5.describe_integral(integral({1: 1.0, 16: 18.2}, 16))
    assert "18.20× on 16 ranks: more than 16×, superlinear" in superlinear
    far = mpi5.describe_integral(integral({1: 1.0, 64: 3.2, 128: 3.0}, 64, gil=False))
    assert "3.20× on 64 ranks: 5% of the ideal 64.00×" in far and "near the ideal" not in far


# --------------------------------------------------------------------------- lesson 05: futures


def test_futures_gil_build_threads_about_one_processes_faster():
    text = mpi5.describe_futures({"threads": 0.065, "processes": 0.038, "mpi": 0.047}, 0.062, 2, 2,
                                 gil_enabled=True)
    assert "threads: 0.065 s, 0.95× on 2 threads: about the same as one" in text
    assert "processes: 0.038 s, 1.63× on 2 processes: 82% of the ideal 2.00×" in text
    assert "mpi: 0.047 s, 1.32× on 2 MPI workers" in text
    assert "has a GIL" in text and "measured faster anyway" not in text


def test_futures_gil_build_threads_measured_faster_says_so():
    text = mpi5.describe_futures({"threads": 0.04}, 0.062, 2, 2, gil_enabled=True)
    assert "1.55× on 2 threads" in text and "measured faster anyway" in text


def test_futures_free_threaded_build_and_one_core():
    free = mpi5.describe_futures({"threads": 0.033, "processes": 0.035}, 0.062, 2, 2, gil_enabled=False)
    assert "1.88× on 2 threads: near the ideal 2.00×" in free and "without a GIL" in free
    assert "take turns" not in free
    one = mpi5.describe_futures({"threads": 0.07, "processes": 0.09}, 0.062, 2, 1, gil_enabled=True)
    assert "0.89× on 2 threads: slower than one" in one and "0.69× on 2 processes: slower than one" in one
    many = mpi5.describe_futures({"processes": 0.016}, 0.062, 4, 64, gil_enabled=False)
    assert "3.88× on 4 processes: near the ideal 4.00×" in many
    with pytest.raises(ValueError):
        mpi5.describe_futures({"threads": 0.0}, 0.062, 2, 2, gil_enabled=True)


def test_futures_each_executor_against_its_own_serial_loop():
    # serial times from each executor's own program: threads 1.0× there, never "faster" on a GIL build
    text = mpi5.describe_futures({"threads": 0.10, "processes": 0.055}, {"threads": 0.10, "processes": 0.11},
                                 2, 2, gil_enabled=True)
    assert "in each executor's own program" in text and "1.00× on 2 threads" in text
    assert "2.00× on 2 processes" in text and "run the cell again" not in text
    with pytest.raises(ValueError, match="serial time for every executor"):
        mpi5.describe_futures({"threads": 0.1, "mpi": 0.1}, {"threads": 0.1}, 2, 2, gil_enabled=True)

