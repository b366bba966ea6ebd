"""The local backend: order, retries as in Flyte, failures, outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.run import read_node_error
from flytepath_airflow.sdk.targets import load_target

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _spec(name: str):  # type: ignore[no-untyped-def]
    return load_target(f"{FIXTURES}/typed_flows.py:{name}")


@pytest.mark.parametrize("isolate", [False, True])
def test_recoverable_error_is_retried_and_succeeds(
    tmp_path: Path, isolate: bool, fixtures_on_path: Path
) -> None:
    events: list[tuple[str, str]] = []
    result = run_local(_spec("recovering"), {"n": 5}, root=str(tmp_path), isolate=isolate,
                       progress=lambda event: events.append((event.node, event.state)))
    assert result.succeeded and result.outputs == {"o0": 5}
    assert events == [("flaky", "running"), ("flaky", "retrying"), ("flaky", "running"),
                      ("flaky", "succeeded")]


@pytest.mark.parametrize("isolate", [False, True])
def test_user_error_is_not_retried(tmp_path: Path, isolate: bool, fixtures_on_path: Path) -> None:
    result = run_local(_spec("not_retried"), {"n": 1}, root=str(tmp_path), isolate=isolate)
    assert not result.succeeded
    assert result.failed_node == "always_wrong" and result.error_kind == "user"
    assert result.error == "KeyError: 'missing column'"
    assert read_node_error(result.run_id, "always_wrong", 2, str(tmp_path)) is None


def test_failure_marks_downstream_nodes(tmp_path: Path) -> None:
    result = run_local(_spec("failing"), {"n": 2}, root=str(tmp_path))
    assert result.node_states == {"add": "succeeded", "fails": "failed"}


def test_context_reports_node_and_attempt(tmp_path: Path) -> None:
    result = run_local(load_target(f"{FIXTURES}/typed_flows.py:whoami"), {}, root=str(tmp_path))
    assert result.outputs == {"o0": "whoami@1"}
