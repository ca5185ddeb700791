"""Lesson 07's fixtures: one LocalCluster for the module that asks for it, always closed."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed", reason="lesson 07 needs dask[distributed]")


@pytest.fixture(scope="module")
def client():
    """A 2-worker LocalCluster on loopback and its Client, closed after the module's tests."""
    from parlab.lessons.l07.cluster import local_cluster

    with local_cluster(2) as c:
        yield c
