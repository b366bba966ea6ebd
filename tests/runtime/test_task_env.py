"""Local Python task attempts get a built environment and their declared secrets, resolved
from the environment or the secrets folder; a missing secret fails with where to put it."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from flytepath_airflow.ir.models import SecretRef, TaskSpec
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.task_env import python_task_environment
from flytepath_airflow.sdk.targets import load_target

pytestmark = pytest.mark.slow

FLOW = """
    import os
    from pathlib import Path
    from flytepath_airflow import Secret, task, workflow

    @task(environment={"MODE": "fast"},
          secret_requests=[Secret(group="warehouse", key="password"),
                           Secret(group="tls", key="cert", mount="file")])
    def report(names: list[str]) -> dict[str, str]:
        seen = {n: os.environ[n] for n in names if n in os.environ}
        folder = os.environ.get("FLYTEPATH_SECRETS_DIR")
        if folder:
            seen["tls-cert"] = (Path(folder) / "tls" / "cert").read_text()
        return seen

    @workflow
    def wf(names: list[str]) -> dict[str, str]:
        return report(names=names)
"""

NAMES = ["WORKER_ONLY_SECRET", "AWS_SECRET_ACCESS_KEY", "WAREHOUSE_PASSWORD", "MODE",
         "FLYTEPATH_STORE_ROOT", "PATH"]


@pytest.fixture
def flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    code = tmp_path / "code"
    code.mkdir()
    (code / "env_flow.py").write_text(textwrap.dedent(FLOW))
    monkeypatch.setenv("PYTHONPATH", str(code))  # the isolated attempts import it from here
    monkeypatch.setenv("FLYTEPATH_SECRETS_DIR", str(tmp_path / "secrets"))
    (tmp_path / "secrets" / "tls").mkdir(parents=True)
    (tmp_path / "secrets" / "tls" / "cert").write_text("CERT\n")
    return load_target(f"{code / 'env_flow.py'}:wf")


def test_an_isolated_python_task_sees_its_env_and_secrets_not_the_workers(
        flow: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_ONLY_SECRET", "leaked")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "leaked-too")
    monkeypatch.setenv("WAREHOUSE_PASSWORD", "s3cret")
    root = str(tmp_path / "store")
    result = run_local(flow, {"names": NAMES}, root=root, isolate=True)  # type: ignore[arg-type]
    assert result.succeeded, result.error
    assert result.outputs["o0"] == {"WAREHOUSE_PASSWORD": "s3cret", "MODE": "fast",
                                    "FLYTEPATH_STORE_ROOT": root, "tls-cert": "CERT\n",
                                    "PATH": result.outputs["o0"]["PATH"]}


@pytest.mark.parametrize("isolate", [True, False], ids=["isolated", "in-process"])
def test_an_env_secret_resolves_from_the_secrets_folder_when_no_variable_is_set(
        flow: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolate: bool) -> None:
    monkeypatch.delenv("WAREHOUSE_PASSWORD", raising=False)
    (tmp_path / "secrets" / "warehouse").mkdir()
    (tmp_path / "secrets" / "warehouse" / "password").write_text("from-a-file\n")
    result = run_local(flow, {"names": ["WAREHOUSE_PASSWORD"]},  # type: ignore[arg-type]
                       root=str(tmp_path / "store"), isolate=isolate)
    assert result.succeeded, result.error
    assert result.outputs["o0"]["WAREHOUSE_PASSWORD"] == "from-a-file"
    assert "WAREHOUSE_PASSWORD" not in os.environ  # an in-process run gives it back


@pytest.mark.parametrize("isolate", [True, False], ids=["isolated", "in-process"])
def test_a_missing_secret_fails_the_task_naming_the_variable_and_the_file(
        flow: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolate: bool) -> None:
    monkeypatch.delenv("WAREHOUSE_PASSWORD", raising=False)
    result = run_local(flow, {"names": []}, root=str(tmp_path / "store"),  # type: ignore[arg-type]
                       isolate=isolate)
    assert not result.succeeded
    assert result.error_kind == "user"
    error = result.error or ""
    assert "task 'env_flow.report' needs secret warehouse/password as $WAREHOUSE_PASSWORD" in error
    assert str(tmp_path / "secrets" / "warehouse" / "password") in error


def test_a_missing_file_secret_names_the_file(flow: object, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_PASSWORD", "s3cret")
    (tmp_path / "secrets" / "tls" / "cert").unlink()
    result = run_local(flow, {"names": []}, root=str(tmp_path / "store"))  # type: ignore[arg-type]
    assert not result.succeeded
    assert f"{tmp_path / 'secrets' / 'tls' / 'cert'} does not exist" in (result.error or "")


def test_the_platform_decides_flytepath_variables_and_may_pass_more(tmp_path: Path) -> None:
    worker = {"PATH": "/bin", "FLYTEPATH_METADATA_URL": "sqlite:///x.db",
              "FLYTEPATH_STORE_ROOT": "/elsewhere", "AWS_PROFILE": "dev",
              "FLYTEPATH_PASS_ENV": "AWS_PROFILE, AWS_REGION", "GITHUB_TOKEN": "t",
              "FLYTEPATH_HOME": str(tmp_path)}
    task = TaskSpec(name="t", fn="m:f", env={"MODE": "fast"},
                    secrets=(SecretRef(group="gh", key="token", env_var="GITHUB_TOKEN"),))
    env = python_task_environment(task, worker, "/store")
    assert env["FLYTEPATH_STORE_ROOT"] == "/store"
    assert env["FLYTEPATH_METADATA_URL"] == "sqlite:///x.db"
    assert env["AWS_PROFILE"] == "dev"
    assert env["GITHUB_TOKEN"] == "t"  # declared, so forwarded
    assert env["FLYTEPATH_SECRETS_DIR"] == str(tmp_path / "secrets")
    assert "AWS_REGION" not in env
    assert python_task_environment(task.model_copy(update={"secrets": ()}), worker,
                                   "/store").get("GITHUB_TOKEN") is None
