"""The workflow the deployment tests register, trigger through the REST API and check.

`base` is cached and serialized, so 20 concurrent runs with the same seed compute it once;
each call appends a line ("base:<seed> <pid>") to the file named by FLYTEPATH_TEST_CALLS (set
for every Airflow component by the fixture), so a test counts real executions across workers.
`checked` raises the user's own error for a negative `n`.
"""

from __future__ import annotations

import os

from flytepath_airflow import task, workflow


def _called(name: str) -> None:
    path = os.environ.get("FLYTEPATH_TEST_CALLS")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{name} {os.getpid()}\n")


@task(cache=True, cache_version="1", cache_serialize=True)
def base(seed: int) -> int:
    """Ten times the seed; computed once per seed across runs."""
    _called(f"base:{seed}")
    return seed * 10


@task
def checked(n: int) -> int:
    """`n` itself; a negative `n` is the user's error."""
    _called("checked")
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    return n


@task
def add(a: int, b: int) -> int:
    """The sum."""
    return a + b


@workflow
def scored(n: int, seed: int = 4) -> int:
    """`seed * 10 + n`; fails for a negative `n`."""
    return add(a=base(seed=seed), b=checked(n=n))
