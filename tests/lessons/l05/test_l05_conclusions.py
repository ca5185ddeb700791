"""Lessons 05a and 05b's conclusions: the ping-pong curves, the midpoint integral over ranks and the futures.

Each test says what the sentence must and must not say, on synthetic results over the regimes
learners meet: 1, 2, 16 and 64 usable cores; GIL on and off; slower than one, about one, near
the ideal, superlinear, far below; a wide spread; more ranks than cores helping and hurting;
pickled messages slower, faster (noise) or about the same as buffers.
"""

from __future__ import annotations

import pytest
from sweeps import launched

from parlab.lessons.l05 import mpi as mpi5
from parlab.results import Sweep

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


def integral(cores: int, speedups: dict[int, float], *, spread: float = 0.0, gil: bool = True) -> Sweep:
    return launched(cores, speedups, tasks=2_000_000, backend="mpi", label="midpoint integral", spread=spread,
                    gil=gil)


def test_integral_summary_counts_intervals_not_tasks():
    text = mpi5.integral_summary(integral(2, {1: 1.0, 2: 1.44, 3: 1.25, 4: 1.42}))
    assert text.startswith("midpoint integral: 2,000,000 intervals, one block per rank; 1 rank: 1.000 s")
    assert "tasks" not in text and "2000000" not in text and "Amdahl" not in text
    assert text.count("(more ranks than cores)") == 2


def test_integral_two_cores_oversubscription_about_the_same():
    text = mpi5.describe_integral(integral(2, {1: 1.0, 2: 1.44, 3: 1.25, 4: 1.42}))
    assert "1.44× on 2 ranks: 72% of the ideal 2.00× (one core per worker)" in text
    assert "1.42× on 4 ranks: 71% of the ideal 2.00× (capped at the 2 usable cores)" in text
    assert "about the same as one rank per core" in text
    assert "Starting a job (mpiexec, the Pythons, MPI) took from 0.110 s on 1 rank to 0.140 s on 4 ranks" in text
    assert "not 4×" not in text


def test_integral_oversubscription_hurting_and_helping():
    hurt = mpi5.describe_integral(integral(2, {1: 1.0, 2: 1.9, 4: 1.2}))
    assert "near the ideal 2.00×" in hurt and "slower than one rank per core" in hurt
    helped = mpi5.describe_integral(integral(2, {1: 1.0, 2: 1.3, 4: 1.9}))
    assert "more than one rank per core gave" in helped and "run the sweep again" in helped
    assert "take turns" not in helped


def test_integral_one_core_slowdown_and_a_wide_spread():
    text = mpi5.describe_integral(integral(1, {1: 1.0, 2: 0.7}, spread=0.4))
    assert "1.00× on 1 rank: about the same as one (a single worker)" in text
    assert "no speedup is possible here" in text and "0.70× on 2 ranks: slower than one" in text
    assert "On 2 ranks, the repeats ranged from" in text
    assert "about the same as one rank per core" not in text


def test_integral_superlinear_and_far_below_on_many_cores():
    superlinear = mpi5.describe_integral(integral(16, {1: 1.0, 16: 18.2}))
    assert "18.20× on 16 ranks: more than 16×, superlinear" in superlinear
    far = mpi5.describe_integral(integral(64, {1: 1.0, 64: 3.2, 128: 3.0}, gil=False))
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
