"""Workflows the benchmarks run (importable as `_flows` from the benchmarks folder)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from flytepath_airflow import task, workflow


@task(cache=True, cache_version="1")
def burn(step: int, seconds: float) -> int:
    """Stand-in for expensive work: sleeps `seconds`."""
    time.sleep(seconds)
    return step + 1


@workflow
def burn_chain(seconds: float = 0.5) -> int:
    """Four cached tasks in a chain, each burning `seconds`."""
    a = burn(step=0, seconds=seconds)
    b = burn(step=a, seconds=seconds)
    c = burn(step=b, seconds=seconds)
    return burn(step=c, seconds=seconds)


@task
def make_frame(cells: int) -> pd.DataFrame:
    """A frame of `cells` random float64 values in 10 columns."""
    rows = cells // 10
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.random((rows, 10)), columns=[f"c{i}" for i in range(10)])


@task
def count_cells(df: pd.DataFrame) -> int:
    """Read the frame and count its cells."""
    return int(df.size)


@workflow
def pass_frame(cells: int) -> int:
    """One task makes a frame, the next reads it."""
    return count_cells(df=make_frame(cells=cells))
