"""Lesson 01b, section 4: asyncio against threads for socket round trips, and its conclusion writer."""

from __future__ import annotations

import asyncio

import pytest

from parlab.lessons.l01 import waits as la
from parlab.results import Timing
from parlab.slowserver import SlowServer


@pytest.fixture(scope="module")
def server():
    with SlowServer(delay_s=0.01) as running:
        yield running


def test_ask_async_gets_the_reply(server):
    assert asyncio.run(la.ask_async(server.port, server.key, "hello")) == "reply to hello"


def test_ask_async_names_a_refusal(server):
    with pytest.raises(ConnectionError, match="without a reply"):
        asyncio.run(la.ask_async(server.port, "wrong key", "hello"))


def test_gather_and_threads_return_the_serial_replies(server):
    expected = [f"reply to request {i}" for i in range(60)]
    assert asyncio.run(la.gather_replies(server.port, server.key, 60, 20)) == expected
    assert la.thread_replies(server.port, server.key, 60, 20) == expected


def test_time_gather_is_a_coroutine_that_times_and_checks(server):
    timing = asyncio.run(la.time_gather(server.port, server.key, 30, 10, repeats=2))
    assert len(timing.values) == 2 and len(timing.warmup) == 1
    # 30 requests, 10 in flight: at least 3 rounds of the 10 ms delay
    assert min(timing.values) >= 3 * 0.01 * 0.9


def test_gather_overlaps_the_waits():
    # 20 requests of 100 ms need 2 s one at a time; 20 in flight wait together (a wait, not a computation,
    # so this holds on any core count): far below 2 s even on a busy machine.
    with SlowServer(delay_s=0.1) as slow:
        timing = asyncio.run(la.time_gather(slow.port, slow.key, 20, 20, repeats=1, warmup=0))
    assert timing.median < 1.0


def test_measure_both_styles(server):
    result = asyncio.run(la.measure_async_vs_threads(server.port, server.key, server.delay_s, count=20,
                                                     limits=(5, 20), repeats=1))
    assert result.limits == (5, 20) and len(result.asyncio) == len(result.threads) == 2
    assert result.floor_s(5) == pytest.approx(0.04) and result.floor_s(20) == pytest.approx(0.01)


@pytest.mark.parametrize(("call", "kind", "words"), [
    (lambda s: la.gather_replies(s.port, s.key, 10, 0), ValueError, "limit"),
    (lambda s: la.gather_replies(s.port, s.key, 10, la.MAX_IN_FLIGHT + 1), ValueError, "limit"),
    (lambda s: la.gather_replies(s.port, s.key, 0, 5), ValueError, "count"),
    (lambda s: la.time_gather(s.port, s.key, 10, 5, repeats=0), ValueError, "repeats"),
    (lambda s: la.measure_async_vs_threads(s.port, s.key, 0.01, limits=()), ValueError, "limits"),
])
def test_bad_input_is_refused_before_any_request(server, call, kind, words):
    with pytest.raises(kind, match=words):
        asyncio.run(call(server))


def test_thread_replies_refuses_too_many_threads(server):
    with pytest.raises(ValueError, match="limit"):
        la.thread_replies(server.port, server.key, 10, 1000)


def versus(asyncio_s: float, threads_s: float, cores: int = 2) -> la.AsyncVsThreads:
    return la.AsyncVsThreads(200, 0.01, (20, 100), (Timing((0.5,)), Timing((asyncio_s,))),
                             (Timing((0.5,)), Timing((threads_s,))), cores)


@pytest.mark.parametrize("cores", [1, 2, 64])
@pytest.mark.parametrize(("a", "t", "words"), [
    (0.05, 0.1, "asyncio finished 2.00× sooner here"),
    (0.1, 0.05, "Threads finished 2.00× sooner here"),
    (0.1, 0.1, "Both took about the same time"),
])
def test_describe_async_vs_threads_agrees_with_the_numbers(cores, a, t, words):
    text = la.describe_async_vs_threads(versus(a, t, cores))
    assert words in text
    assert "one at a time they need at least 2.000 s; 100 at once, at least 0.020 s" in text
    assert f"asyncio: {a:.3f} s; against the one-at-a-time floor, {2.0 / a:.2f}× on 100 requests in flight" in text


def test_plot_async_vs_threads_draws_three_lines():
    import matplotlib.pyplot as plt

    ax = la.plot_async_vs_threads(versus(0.05, 0.1))
    assert len(ax.lines) == 3
    plt.close(ax.figure)
