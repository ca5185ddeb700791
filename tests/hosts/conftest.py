"""Fixtures of the hosts tests: ``make_hosts(n)`` gives n network namespaces, removed at teardown.

Creating namespaces needs root and ``ip`` (iproute2): elsewhere the tests skip with the reason,
under CI=true they fail with it (the ``require`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from netns import Hosts, cannot_create, hosts


@pytest.fixture(scope="session")
def _netns_problem() -> str | None:
    return cannot_create()


@pytest.fixture
def make_hosts(require, _netns_problem) -> Iterator[Callable[[int], Hosts]]:
    """``make_hosts(n)``: n hosts joined by a bridge; every process, link and namespace removed afterwards."""
    require(_netns_problem is None, "Linux network namespaces", _netns_problem or "")
    with contextlib.ExitStack() as stack:
        yield lambda n: stack.enter_context(hosts(n))


@pytest.fixture
def redis_server_binary(require) -> str:
    from parlab import coord

    found = coord.redis_server_binary()
    require(found is not None, "redis-server", "apt-get install redis-server")
    return str(found)
