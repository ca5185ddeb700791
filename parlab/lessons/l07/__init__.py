"""Lesson 07 · Beyond one machine: Dask's delayed, a distributed cluster, futures, granularity, reaching a cluster."""
