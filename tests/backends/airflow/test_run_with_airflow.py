"""`flytepath run` through a real Airflow: dag.test() against SQLite, in a child process."""

from __future__ import annotations

from pathlib import Path

import pytest

from flytepath_airflow.cli.airflow_commands import run_with_airflow
from flytepath_airflow.cli.render_commands import render_spec
from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.ir.spec_io import with_version
from flytepath_airflow.sdk.targets import load_target

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
WORKFLOWS = HERE / "af_workflows.py"


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One embedded Airflow (its SQLite DB is migrated once) for the whole module."""
    return str(tmp_path_factory.mktemp("embedded-airflow"))


def _run(name: str, inputs: dict, home: str, root: Path, **spec_changes):  # type: ignore[no-untyped-def]
    spec = load_target(f"{WORKFLOWS}:{name}")
    if spec_changes:
        tasks = {k: t.model_copy(update=spec_changes) for k, t in spec.tasks.items()}
        spec = with_version(spec.model_copy(update={"tasks": tasks}))
    events: list[tuple[str, str, str]] = []
    result = run_with_airflow(spec, inputs, root=str(root), home=home,
                              progress=lambda e: events.append((e.node, e.state, e.message)))
    return spec, result, events


def test_a_workflow_runs_through_airflow_with_outputs(airflow_home, tmp_path):
    spec, result, events = _run("pipeline", {"x": 5}, airflow_home, tmp_path / "store")
    assert result.succeeded, result.error
    assert result.outputs == {"o0": 13}
    assert set(result.node_states.values()) == {"success"}
    assert [(n, s) for n, s, _ in events if s == "succeeded"] == [
        (spec.nodes[0].id, "succeeded"), (spec.nodes[1].id, "succeeded")]


def test_a_failing_task_fails_the_run_with_its_own_message_and_no_retry(
        airflow_home, tmp_path):
    _, result, events = _run("failing", {"x": 2}, airflow_home, tmp_path / "store", retries=3)
    assert not result.succeeded
    assert "cannot handle 4" in (result.error or "")
    assert result.failed_node is not None and "explode" in result.failed_node
    assert [s for _, s, _ in events].count("retrying") == 0


def test_a_recoverable_error_is_retried_by_airflow(airflow_home, tmp_path):
    _, result, events = _run("retrying", {"x": 1}, airflow_home, tmp_path / "store",
                             retry_delay=0.0)
    assert result.succeeded, result.error
    assert result.outputs == {"o0": 2}
    states = [s for _, s, _ in events]
    assert states.count("retrying") == 1 and states[-1] == "succeeded"


def test_a_wrong_input_fails_before_airflow_starts(airflow_home, tmp_path):
    spec = load_target(f"{WORKFLOWS}:pipeline")
    with pytest.raises(LiteralValueError):
        run_with_airflow(spec, {"x": "many"}, root=str(tmp_path), home=airflow_home)


def test_render_lists_tasks_edges_pools_and_params():
    text = render_spec(load_target(f"{WORKFLOWS}:pipeline"))
    assert "DAG default.development." in text
    assert "x: int (required)" in text and "scale: int (default 3)" in text
    assert "pool=flytepath_default_development" in text
    assert ">>" in text


def test_a_python_task_sees_its_env_and_secrets_not_the_workers(airflow_home, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("WORKER_ONLY_SECRET", "leaked")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "leaked-too")
    monkeypatch.setenv("WAREHOUSE_PASSWORD", "s3cret")
    secrets = tmp_path / "secrets"
    (secrets / "tls").mkdir(parents=True)
    (secrets / "tls" / "cert").write_text("-----BEGIN CERT-----\n")
    monkeypatch.setenv("FLYTEPATH_SECRETS_DIR", str(secrets))
    names = ["WORKER_ONLY_SECRET", "AWS_SECRET_ACCESS_KEY", "AIRFLOW_HOME",
             "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "WAREHOUSE_PASSWORD", "MODE",
             "FLYTEPATH_STORE_ROOT", "PATH"]
    _, result, _ = _run("environment", {"names": names}, airflow_home, tmp_path / "store")
    assert result.succeeded, result.error
    seen = result.outputs["o0"]
    assert {"WORKER_ONLY_SECRET", "AWS_SECRET_ACCESS_KEY", "AIRFLOW_HOME",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"}.isdisjoint(seen)
    assert seen["WAREHOUSE_PASSWORD"] == "s3cret"
    assert seen["MODE"] == "fast"
    assert seen["tls-cert"] == "-----BEGIN CERT-----\n"
    assert seen["FLYTEPATH_STORE_ROOT"] == str(tmp_path / "store")
    assert "PATH" in seen


def test_a_python_task_missing_a_secret_fails_naming_where_to_put_it(airflow_home, tmp_path,
                                                                      monkeypatch):
    monkeypatch.delenv("WAREHOUSE_PASSWORD", raising=False)
    monkeypatch.setenv("FLYTEPATH_SECRETS_DIR", str(tmp_path / "secrets"))
    _, result, events = _run("environment", {"names": ["MODE"]}, airflow_home,
                             tmp_path / "store", retries=2)
    assert not result.succeeded
    error = result.error or ""
    assert "secret warehouse/password" in error
    assert "WAREHOUSE_PASSWORD" in error
    assert str(tmp_path / "secrets" / "warehouse" / "password") in error
    assert [s for _, s, _ in events].count("retrying") == 0
