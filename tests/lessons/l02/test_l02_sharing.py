"""Lesson 02's sentences on sharing, BLAS threads and fork agree with the numbers beside them.

Each conclusion writer is driven over the cases a learner's machine can produce: 1 to 64 cores,
BLAS with one thread or many, a win, a tie within the spread, a loss, no fork (Windows), and
Python 3.11 to 3.14.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from parlab.lessons.l02 import sharing
from parlab.results import Timing


def t(*values: float) -> Timing:
    return Timing(tuple(values))


def text(lines: list[str]) -> str:
    return "\n".join(lines)


# --------------------------------------------------------------------------- timed_map

def test_timed_map_returns_the_first_results_and_times_the_repeats():
    with ThreadPoolExecutor(2) as executor:
        results, timing = sharing.timed_map(executor, pow, [2, 3], [2, 2], repeats=2)
    assert results == [4, 9]
    assert len(timing.values) == 2 and not timing.warmup


# --------------------------------------------------------------------------- sharing

def test_sharing_faster_says_so_with_the_setup_and_rate():
    out = text(sharing.describe_sharing({"pickled": t(0.08, 0.09, 0.085), "shared memory": t(0.010, 0.011, 0.012),
                                         "inherited at fork": t(0.009, 0.010, 0.011)}, 16_000_000,
                                        setup_s=0.02, rate_bytes_per_s=250e6))
    assert "shared memory: 7.7 times as fast as sending it pickled (plus 0.020 s once" in out
    assert "inherited at fork: 8.5 times as fast" in out
    assert "(250 MB/s), sending 16,000,000 bytes costs about 0.064 s per run" in out
    assert "No fork" not in out


def test_sharing_within_spread_is_called_a_tie():
    out = text(sharing.describe_sharing({"pickled": t(0.030, 0.040, 0.050), "shared memory": t(0.035, 0.045, 0.05)},
                                        1_000))
    assert "within the repeats' spread" in out and "times as fast" not in out


def test_sharing_slower_says_so_and_no_fork_is_named():
    out = text(sharing.describe_sharing({"pickled": t(0.010, 0.011, 0.012), "shared memory": t(0.05, 0.05, 0.06)},
                                        1_000))
    assert "4.5 times as slow as sending it pickled" in out
    assert "No fork on this system" in out


def test_sharing_needs_pickled_and_another():
    with pytest.raises(ValueError, match="'pickled' and at least one other"):
        sharing.describe_sharing({"pickled": t(0.1)}, 10)


# --------------------------------------------------------------------------- BLAS

@pytest.mark.parametrize("cores", [1, 2, 4, 16, 64])
def test_blas_with_one_thread_never_claims_oversubscription(cores):
    out = text(sharing.describe_blas(t(0.20, 0.21, 0.22), t(0.20, 0.20, 0.21), processes=cores, blas_threads=1,
                                     cores=cores))
    assert "nothing to oversubscribe" in out and "BLAS already runs one thread" in out
    assert "made no difference beyond the repeats' spread" in out


def test_blas_win_across_a_wide_spread_uses_the_median():
    # As measured here: left alone 0.56 to 6.4 s, limited about 0.19 s.
    out = text(sharing.describe_blas(t(0.56, 0.9, 1.4, 3.0, 6.4), t(0.18, 0.19, 0.19, 0.20, 0.21), processes=2,
                                     blas_threads=2, cores=2))
    assert ("2 processes × 2 BLAS threads = 4 busy threads on 2 usable cores: oversubscribed, "
            "2.0 threads per core") in out
    assert "made the run 7.4 times as fast" in out
    assert "left alone:      1.400 s (repeats 0.560 s to 6.400 s)" in out


def test_blas_tie_and_loss_do_not_claim_a_fix():
    tie = text(sharing.describe_blas(t(0.2, 0.25, 0.3), t(0.21, 0.22, 0.28), processes=8, blas_threads=8, cores=8))
    assert "within the repeats' spread" in tie and "times as fast" not in tie
    loss = text(sharing.describe_blas(t(0.10, 0.10, 0.11), t(0.30, 0.31, 0.32), processes=4, blas_threads=4, cores=4))
    assert "as slow here" in loss


def test_blas_one_core_one_process():
    out = text(sharing.describe_blas(t(0.2), t(0.3), processes=1, blas_threads=1, cores=1))
    assert "1 process × 1 BLAS thread = 1 busy thread on 1 usable core" in out
    assert "noise between the runs, not the limit's doing" in out and "other programs" not in out


def test_blas_bad_counts():
    with pytest.raises(ValueError, match="must be >= 1"):
        sharing.describe_blas(t(0.1), t(0.1), processes=0, blas_threads=1, cores=1)


# --------------------------------------------------------------------------- fork

def test_kernel_threads_sentence():
    assert "runs 3 threads: MainThread, a, b" in sharing.describe_kernel_threads(["MainThread", "a", "b"])
    assert "the other 2 are not copied" in sharing.describe_kernel_threads(["MainThread", "a", "b"])
    assert "no other thread to lose" in sharing.describe_kernel_threads(["MainThread"])


def test_fork_child_sentences():
    stuck = sharing.describe_fork_child({"threads": 1, "took_lock": False}, lock_held=True, wait_s=1.0)
    assert "has 1 thread." in stuck and "gave up after 1.000 s" in stuck and "deadlock" in stuck
    assert "released it before" in sharing.describe_fork_child({"threads": 1, "took_lock": True}, lock_held=True,
                                                               wait_s=1.0)
    assert "was free" in sharing.describe_fork_child({"threads": 1, "took_lock": True}, lock_held=False, wait_s=1.0)


@pytest.mark.parametrize(("messages", "version", "words"), [
    ([], (3, 11), "arrived in 3.12"),
    (["This process is multi-threaded, use of fork() may lead to deadlocks in the child."], (3, 12),
     "Python 3.12 warned: DeprecationWarning: This process is multi-threaded"),
    ([], (3, 14), "Python 3.14 gave no warning"),
])
def test_fork_warning_by_version(messages, version, words):
    assert words in sharing.describe_fork_warning(messages, version)
