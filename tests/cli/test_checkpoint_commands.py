"""`flytepath checkpoints list|clear` and the retention of succeeded runs' checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flytepath_airflow.cli.main import app, main
from flytepath_airflow.ir.spec_io import with_version
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.sdk.targets import load_target

FLOWS = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoint_flows.py"


def flytepath(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["checkpoints", *args], env=env)


@pytest.fixture
def runs(fixtures_on_path: Path) -> dict[str, str]:
    """A succeeded run that resumed (2 attempts saved) and a failed one (1 attempt saved)."""
    spec = load_target(f"{FLOWS}:resumable")
    done = run_local(spec, {"steps": 6, "fail_at": 3})
    no_retry = {k: t.model_copy(update={"retries": 0}) for k, t in spec.tasks.items()}
    failing = with_version(spec.model_copy(update={"tasks": no_retry}))
    failed = run_local(failing, {"steps": 6, "fail_at": 3})
    assert done.succeeded and not failed.succeeded
    return {"succeeded": done.run_id, "failed": failed.run_id}


def _listed() -> dict[str, dict]:
    result = flytepath("list", "--json")
    assert result.exit_code == 0, result.output
    return {row["run_id"]: row for row in json.loads(result.stdout)}


def test_list_shows_each_run_and_each_attempt(runs):
    listed = _listed()
    assert listed[runs["succeeded"]]["status"] == "succeeded"
    assert listed[runs["succeeded"]]["attempts"] == 2
    assert listed[runs["failed"]]["status"] == "failed"
    one = flytepath("list", runs["succeeded"], "--json")
    assert [(r["node"], r["attempt"]) for r in json.loads(one.stdout)] == [
        ("count_up", 1), ("count_up", 2)]


def test_expired_clears_only_succeeded_runs_past_the_retention(runs):
    kept = flytepath("clear", "--expired")  # default retention 7d: nothing is that old
    assert "cleared 0 attempts" in kept.stdout
    assert set(_listed()) == set(runs.values())
    cleared = flytepath("clear", "--expired", env={"FLYTEPATH_CHECKPOINT_RETENTION": "0s"})
    assert cleared.exit_code == 0, cleared.output
    assert "cleared 2 attempts' checkpoints in 1 runs" in cleared.stdout
    assert set(_listed()) == {runs["failed"]}  # kept for `flytepath recover`


def test_clear_by_run_and_by_age(runs):
    assert flytepath("clear", "--older-than", "1d").stdout.startswith("cleared 0 attempts")
    assert flytepath("clear", runs["failed"]).exit_code == 0
    assert set(_listed()) == {runs["succeeded"]}
    assert "cleared 2 attempts" in flytepath("clear", "--older-than", "0s").stdout
    assert _listed() == {}


@pytest.mark.parametrize(("args", "env", "says"), [
    ((), None, "takes exactly one of RUN_ID, --older-than DURATION or --expired"),
    (("r1", "--expired"), None, "got RUN_ID, --expired"),
    (("--older-than", "7"), None, "is not a duration"),
    (("--expired",), {"FLYTEPATH_CHECKPOINT_RETENTION": "a week"}, "checkpoint_retention"),
    (("../escape",), None, "run id"),
])
def test_mistakes_are_user_errors(args, env, says, monkeypatch, capsys):
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["checkpoints", "clear", *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
