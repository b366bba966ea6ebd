"""What a run reports while it runs: one event type for every backend.

The local runner emits these events as its nodes run; the Airflow backend's events (JSON
lines from the embedded Airflow) are translated into the same type by the CLI, so one
renderer (`cli/progress.py`) shows both runs with the same words. An event carries facts,
not text: the renderer measures durations and counts map elements itself.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

STATES = ("running", "succeeded", "cached", "recovered", "retrying", "failed", "skipped")
"""The states an event reports, in the words the user sees."""


@dataclass(frozen=True)
class NodeEvent:
    """One change of state of a node, or of one element of a map node.

    :param node: the node id (a map's id for its elements; `parent/child` for a node a
        dynamic task built).
    :param state: one of `STATES`.
    :param element: the element's index when the event is about one element of a map.
    :param attempt: the attempt number, from 1, when known.
    :param attempts: how many attempts the task has (retries + 1), when known.
    :param message: why: the error of a failed or retried attempt, the reason of a skip,
        the case a conditional took.
    :param cached_from: for `cached`, the run that computed the reused outputs; for
        `recovered`, the failed run whose outputs a recovery reused.
    :param size: for a map node's `running` event, how many elements it runs.
    """

    node: str
    state: str
    element: int | None = None
    attempt: int | None = None
    attempts: int | None = None
    message: str = ""
    cached_from: str | None = None
    size: int | None = None


Progress = Callable[[NodeEvent], None]
"""progress(event): called as nodes start, finish, retry, fail or are skipped."""
