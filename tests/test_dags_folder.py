"""Every file in dags/ loads in a real DagBag; a broken spec is an import error that names it.

dags/ holds the files the provider ships (`flytepath dags-file` writes them into a DAGs
folder), so the tests here also cover what a deployment gets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flytepath_airflow.backends.airflow.dag_files import dag_file_sources
from flytepath_airflow.ir.models import (
    InputRef,
    NodeSpec,
    SimpleType,
    TaskSpec,
    TenantSpec,
    TypedInterface,
    Variable,
    WorkflowSpec,
)
from flytepath_airflow.ir.spec_io import dump_spec, with_version

pytestmark = pytest.mark.airflow

DAGS = Path(__file__).resolve().parent.parent / "dags"
INT = SimpleType(name="int")


def _spec(name: str) -> WorkflowSpec:
    task = TaskSpec(name="inc", fn="somewhere:inc", interface=TypedInterface(
        inputs=(Variable(name="a", type=INT),), outputs=(Variable(name="o", type=INT),)))
    return with_version(WorkflowSpec(
        schema_version=1, name=name, tenant=TenantSpec(project="demo"),
        interface=TypedInterface(inputs=(Variable(name="x", type=INT),)),
        tasks={"inc": task},
        nodes=(NodeSpec(id="inc", task="inc", inputs={"a": InputRef(name="x")}),),
    ))


def _dagbag(specs: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
            dags: Path = DAGS):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("FLYTEPATH_SPECS_DIR", str(specs))
    return DagBag(dag_folder=str(dags), safe_mode=True)


def test_the_checkout_dags_are_the_files_the_provider_ships():
    assert {p.name: p.read_text() for p in DAGS.glob("*.py")} == dag_file_sources()


def test_files_written_by_dags_file_load_dags_and_report_broken_specs(tmp_path, monkeypatch):
    dags, specs = tmp_path / "dags", tmp_path / "specs"
    specs.mkdir()
    (specs / "good.json").write_text(dump_spec(_spec("good")))
    (specs / "corrupt.json").write_text('{"schema_version": 1, "name": ')
    written = subprocess.run(
        [sys.executable, "-m", "flytepath_airflow.cli.main", "dags-file", "-o", str(dags)],
        capture_output=True, text=True, env=dict(os.environ))
    assert written.returncode == 0, written.stderr
    bag = _dagbag(specs, monkeypatch, dags)
    assert bag.dag_ids == ["demo.development.good"]
    (source, message), = bag.import_errors.items()
    assert source == str(dags / "flytepath_spec_errors.py")
    assert "corrupt.json" in message


def test_every_dags_file_loads_without_errors(tmp_path, monkeypatch):
    (tmp_path / "a.json").write_text(dump_spec(_spec("first")))
    (tmp_path / "b.json").write_text(dump_spec(_spec("second")))
    bag = _dagbag(tmp_path, monkeypatch)
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == ["demo.development.first", "demo.development.second"]
    loaded = {Path(p).name for p in bag.file_last_changed}
    assert {p.name for p in DAGS.glob("*.py")} <= loaded


def test_an_empty_or_missing_specs_folder_gives_no_dags_and_no_errors(tmp_path, monkeypatch):
    bag = _dagbag(tmp_path / "missing", monkeypatch)
    assert bag.import_errors == {}
    assert bag.dag_ids == []


def test_a_broken_spec_is_an_import_error_naming_it_and_hides_no_dag(tmp_path, monkeypatch):
    (tmp_path / "good.json").write_text(dump_spec(_spec("good")))
    (tmp_path / "corrupt.json").write_text('{"schema_version": 1, "name": ')
    (tmp_path / "invalid.json").write_text('{"schema_version": 1, "name": "x", "nodes": 3}')
    bag = _dagbag(tmp_path, monkeypatch)
    assert bag.dag_ids == ["demo.development.good"]
    assert len(bag.import_errors) == 1
    (source, message), = bag.import_errors.items()
    assert source.endswith("flytepath_spec_errors.py")
    assert "corrupt.json" in message and "not valid JSON" in message
    assert "invalid.json" in message and "nodes" in message
    assert "good.json" not in message


def test_two_specs_of_one_workflow_keep_the_first_and_report_the_second(tmp_path, monkeypatch):
    (tmp_path / "a.json").write_text(dump_spec(_spec("same")))
    other = _spec("same").model_copy(update={"description": "changed"})
    (tmp_path / "b.json").write_text(dump_spec(with_version(other)))
    bag = _dagbag(tmp_path, monkeypatch)
    assert bag.dag_ids == ["demo.development.same"]
    assert bag.dags["demo.development.same"].task_dict["inc"].spec_uri.endswith("a.json")
    (message,) = bag.import_errors.values()
    assert "b.json" in message and "a.json already defines" in message


def test_a_spec_whose_dag_fails_validation_is_reported_and_hides_no_dag(tmp_path, monkeypatch):
    # A launch plan edited by hand (the compiler refuses this cron) builds a DAG whose
    # timetable Airflow rejects when it validates the DAG: that must stay with this spec.
    from flytepath_airflow.ir.models import LaunchPlanSpec, ScheduleSpec
    from flytepath_airflow.ir.spec_io import dump_launch_plan, launch_plan_version

    workflow = _spec("nightly")
    plan = LaunchPlanSpec(schema_version=1, name="nightly_plan", workflow=workflow,
                          fixed_inputs={"x": 1},
                          schedule=ScheduleSpec(cron="0 25 * * *"))
    plan = plan.model_copy(update={"version": launch_plan_version(plan)})
    (tmp_path / "good.json").write_text(dump_spec(_spec("good")))
    (tmp_path / "demo.development.nightly_plan.json").write_text(dump_launch_plan(plan))
    bag = _dagbag(tmp_path, monkeypatch)
    assert bag.dag_ids == ["demo.development.good"]
    (source, message), = bag.import_errors.items()
    assert source.endswith("flytepath_spec_errors.py")
    assert "demo.development.nightly_plan.json" in message
    assert "0 25 * * *" in message and "out of range" in message
    assert "flytepath unregister" in message
