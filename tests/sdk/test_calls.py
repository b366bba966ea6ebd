"""Calling tasks and workflows with Python values runs them locally, like flytekit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from flytepath_airflow.errors import CompileError, FlytePathUserError, TaskExecutionError


@pytest.fixture
def flows(fixtures_on_path: Path):  # type: ignore[no-untyped-def]
    import typed_flows

    return typed_flows


def test_workflow_call_returns_python_values(flows) -> None:  # type: ignore[no-untyped-def]
    assert flows.arithmetic(x=3) == 6.5
    point = flows.structured(p=flows.Point(x=0, y=1), color=flows.Color.BLUE)
    assert point == flows.Point(x=1.5, y=1.0, tags=["blue"])
    stats = flows.outputs_by_name(values=[2, 4])
    assert isinstance(stats, flows.Stats) and stats.total == 6 and stats.mean == 3.0
    assert flows.tuples(n=2) == (4, "n=2")


def test_task_call_outside_workflow_runs_through_serialization(flows) -> None:  # type: ignore[no-untyped-def]
    frame = flows.make_frame(n=3)
    assert isinstance(frame, pd.DataFrame) and list(frame["v"]) == [0, 1, 2]
    summary = flows.summarize(df=frame)
    assert summary == flows.Summary(count=3, mean=1.0)
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert flows.describe(when=when, span=dt.timedelta(minutes=1), data={}) \
        == "2026-01-01T00:00:00+00:00 +60s keys=[]"


def test_task_call_with_wrong_value_type_fails_clearly(flows) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FlytePathUserError):
        flows.add(a="three")


def test_positional_call_is_rejected(flows) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CompileError, match="keyword arguments"):
        flows.add(1)


def test_failing_task_raises_with_its_message(flows) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TaskExecutionError, match="n must be even, got 3"):
        flows.failing(n=2)
