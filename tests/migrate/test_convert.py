"""`flytepath convert` on DAG files of every kind it converts, and on bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from flytepath_airflow.migrate.rebuild import load_converted

FIXTURES = Path(__file__).resolve().parent / "fixtures"

pytestmark = pytest.mark.airflow


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def _report(output: Path) -> dict[str, Any]:
    return json.loads((output / "conversion.json").read_text())


def _dag(report: dict[str, Any], dag_id: str) -> dict[str, Any]:
    return next(d for d in report["dags"] if d["dag_id"] == dag_id)


def _task(dag: dict[str, Any], task_id: str) -> dict[str, Any]:
    return next(t for t in dag["tasks"] if t["task_id"] == task_id)


def test_convert_check_round_trips_every_kind_of_task(flytepath, tmp_path: Path) -> None:
    out = tmp_path / "specs"
    result = flytepath("convert", str(FIXTURES / "good"), "-o", str(out), "--check",
                       "--report", str(tmp_path / "conversion.md"))
    assert result.code == 0, result.err
    assert "round trip: 100.0%" in result.err
    report = _report(out)
    assert {d["dag_id"] for d in report["dags"]} == {"typed_pipeline", "classic_operators"}
    assert all(d["check"]["status"] in ("same", "declared") for d in report["dags"])
    markdown = (tmp_path / "conversion.md").read_text()
    assert "| `classic_operators` | `classic_operators.py:" in markdown


def test_taskflow_tasks_become_typed_tasks_with_bindings_groups_and_a_map(
        flytepath, tmp_path: Path) -> None:
    out = tmp_path / "specs"
    assert flytepath("convert", str(FIXTURES / "good"), "-o", str(out)).code == 0
    plan = load_converted(out / "typed_pipeline.yaml")
    assert plan.kind == "launch_plan"  # type: ignore[union-attr]
    assert plan.schedule is not None and plan.schedule.cron == "0 6 * * 1-5"  # type: ignore[union-attr]
    spec = plan.workflow  # type: ignore[union-attr]
    assert [(v.name, v.default) for v in spec.interface.inputs] == [("label", "run"),
                                                                      ("limit", 5)]
    scale = spec.node("scale")
    assert scale.kind == "map" and scale.map is not None and scale.map.mapped == ("value",)
    assert scale.inputs["value"].node == "numbers"  # type: ignore[union-attr]
    # The pool is the platform's to decide (ADR 0037): not kept, and said so.
    assert scale.airflow is not None and scale.airflow.pool is None
    scale_entry = _task(_dag(_report(out), "typed_pipeline"), "scale")
    assert any("pool 'heavy' is not kept" in note for note in scale_entry["notes"])
    assert scale.airflow.priority_weight == 7 and scale.airflow.owner == "data-team"
    assert spec.tasks["scale"].retries == 4 and spec.tasks["numbers"].retries == 2
    numbers = spec.tasks["numbers"]
    assert numbers.kind == "python"
    assert numbers.interface.outputs[0].type.model_dump() == {
        "kind": "list", "item": {"kind": "simple", "name": "int"}}
    assert numbers.docs == "Make the numbers."
    render = spec.node("report.render")
    assert render.group == ("report",)
    assert render.inputs["unit"].value == "items"  # type: ignore[union-attr]
    publish = spec.node("report.publish")
    assert publish.airflow is not None and publish.airflow.trigger_rule == "all_done"
    untyped = spec.tasks["report.publish"].interface.inputs[0]
    assert untyped.type.model_dump() == {"kind": "simple", "name": "json"}
    entry = _task(_dag(_report(out), "typed_pipeline"), "report.publish")
    assert entry["status"] == "changed" and "no type hint" in entry["notes"][0]
    module = (out / "flytepath_converted" / "typed_pipeline.py").read_text()
    assert "def numbers(count: int = 4) -> list[int]:" in module
    assert "def _helper(value: int) -> int:" in module and "SCALE = 3" in module
    assert "@task" not in module


def test_classic_operators_keep_their_settings(flytepath, tmp_path: Path) -> None:
    out = tmp_path / "specs"
    assert flytepath("convert", str(FIXTURES / "good"), "-o", str(out)).code == 0
    plan = load_converted(out / "classic_operators.yaml")
    assert plan.schedule is not None  # type: ignore[union-attr]
    assert plan.schedule.fixed_rate == 4 * 3600 and plan.schedule.catchup  # type: ignore[union-attr]
    spec = plan.workflow  # type: ignore[union-attr]
    train = spec.tasks["train"]
    assert train.kind == "container" and train.container is not None
    assert train.container.image == "ghcr.io/acme/train:1.2"
    assert train.container.command == ("python", "-m", "train")
    assert train.container.args == ("--epochs", "3")
    assert train.env == {"LOG_LEVEL": "info"}
    assert (train.resources.requests.cpu, train.resources.limits.mem) == ("500m", "4Gi")
    assert train.pod_overrides is not None
    assert train.pod_overrides.node_selector == {"pool": "gpu"}
    assert train.pod_overrides.tolerations[0].key == "gpu"
    namespace_note = _task(_dag(_report(out), "classic_operators"), "train")["notes"]
    assert any("namespace 'ml-jobs'" in note for note in namespace_note)
    shell = spec.tasks["shell"]
    assert shell.kind == "shell" and shell.script == "echo hello && date"
    assert shell.env == {"MODE": "fast"} and shell.retry_delay == 120
    assert spec.node("shell").airflow.pool_slots == 2  # type: ignore[union-attr]
    adder = spec.tasks["adder"]
    assert adder.kind == "python" and adder.timeout == 600
    assert spec.node("adder").inputs["a"].value == 2  # type: ignore[union-attr]
    wait = spec.tasks["wait"]
    assert wait.kind == "airflow" and wait.operator is not None
    assert wait.operator.class_path.endswith("TimeDeltaSensor")
    assert wait.operator.kwargs["delta"] == {"__flytepath__": "timedelta", "seconds": 1.0}
    assert spec.tasks["branch"].kind == "airflow"
    assert spec.node("done").airflow.trigger_rule == "none_failed_min_one_success"  # type: ignore[union-attr]


def test_rerun_is_byte_identical_and_leaves_the_input_untouched(
        flytepath, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(FIXTURES / "good", dags)
    before = _tree_digest(dags)
    out = tmp_path / "specs"
    assert flytepath("convert", str(dags), "-o", str(out), "--check").code == 0
    first = _tree_digest(out)
    assert flytepath("convert", str(dags), "-o", str(out), "--check").code == 0
    assert _tree_digest(out) == first
    assert _tree_digest(dags) == before
    assert "typed_pipeline.yaml" in first and "flytepath_converted/typed_pipeline.py" in first


def _bad_dags(tmp_path: Path) -> Path:
    """fixtures/bad as a DAG folder (the syntax error is stored under another suffix so
    that linters skip it)."""
    dags = tmp_path / "dags"
    shutil.copytree(FIXTURES / "bad", dags)
    broken = dags / "syntax_error_dag.py.broken"
    broken.rename(dags / "syntax_error_dag.py")
    return dags


def test_bad_files_get_report_entries_and_the_rest_converts(flytepath, tmp_path: Path) -> None:
    out = tmp_path / "specs"
    result = flytepath("convert", str(_bad_dags(tmp_path)), "-o", str(out), "--timeout", "10",
                       "--check")
    assert result.code == 0, result.err
    report = _report(out)
    errors = {e["file"]: e for e in report["file_errors"]}
    assert errors["syntax_error_dag.py"]["kind"] == "syntax"
    assert errors["syntax_error_dag.py"]["line"] == 4
    assert errors["raises_dag.py"]["kind"] == "import"
    assert errors["raises_dag.py"]["line"] == 7
    assert "missing_key" in errors["raises_dag.py"]["message"]
    assert errors["slow_dag.py"]["kind"] == "timeout"
    assert errors["cycle_dag.py"]["kind"] == "cycle"
    assert [d["dag_id"] for d in report["dags"]] == ["fine_dag"]
    assert (out / "fine_dag.yaml").exists()
    assert "4 file(s) could not be loaded" in result.err


def test_an_output_folder_with_other_files_is_refused(flytepath, tmp_path: Path) -> None:
    out = tmp_path / "specs"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = flytepath("convert", str(FIXTURES / "good"), "-o", str(out))
    assert result.code == 2
    assert "already holds files flytepath convert did not write (notes.txt)" in result.err
    assert "Traceback" not in result.err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_an_output_folder_inside_the_dag_folder_is_refused(flytepath, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(FIXTURES / "good", dags)
    result = flytepath("convert", str(dags), "-o", str(dags / "specs"))
    assert result.code == 2 and "inside the DAG folder" in result.err
    assert "Traceback" not in result.err


def test_files_a_previous_run_wrote_are_replaced(flytepath, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(FIXTURES / "good", dags)
    out = tmp_path / "specs"
    assert flytepath("convert", str(dags), "-o", str(out)).code == 0
    (dags / "typed_pipeline.py").unlink()
    assert flytepath("convert", str(dags), "-o", str(out)).code == 0
    assert not (out / "typed_pipeline.yaml").exists()
    assert not (out / "flytepath_converted" / "typed_pipeline.py").exists()
    assert (out / "classic_operators.yaml").exists()


def test_mapped_classic_operators_round_trip(flytepath, tmp_path: Path) -> None:
    out = tmp_path / "specs"
    result = flytepath("convert", str(FIXTURES / "mapped"), "-o", str(out), "--check")
    report = _report(out)
    dag = _dag(report, "classic_mapped")
    assert _task(dag, "echo")["kind"] == "map/airflow"
    assert _task(dag, "shown")["kind"] == "map/airflow"
    assert result.code == 0, result.err


def test_a_converted_spec_compiles_to_the_json_the_dag_loader_reads(
        flytepath, tmp_path: Path) -> None:
    from flytepath_airflow.ir.spec_io import load_spec

    out = tmp_path / "specs"
    assert flytepath("convert", str(FIXTURES / "good"), "-o", str(out)).code == 0
    compiled = tmp_path / "typed_pipeline.json"
    result = flytepath("compile", str(out / "typed_pipeline.yaml"), "-o", str(compiled),
                       "--project", "ml")
    assert result.code == 0, result.err
    spec = load_spec(compiled)
    plan = load_converted(out / "typed_pipeline.yaml")
    assert spec.tenant.project == "ml"
    assert spec.nodes == plan.workflow.nodes  # type: ignore[union-attr]


def test_a_converted_taskflow_dag_runs_and_computes_what_the_original_did(
        flytepath, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    out = tmp_path / "specs"
    assert flytepath("convert", str(FIXTURES / "good"), "-o", str(out)).code == 0
    # `publish(text)` is untyped in the DAG file: its carried code says JSON, like the spec.
    module = (out / "flytepath_converted" / "typed_pipeline.py").read_text()
    assert "publish.__annotations__.update({'text': _FlytePathJSON, 'return': None})" in module
    compiled = tmp_path / "typed_pipeline.json"
    assert flytepath("compile", str(out / "typed_pipeline.yaml"), "-o",
                     str(compiled)).code == 0
    proc = subprocess.run(
        [sys.executable, "-m", "flytepath_airflow.cli.main", "run", str(compiled), "--local",
         "--json"], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(out), "FLYTEPATH_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr
    # numbers() -> [0, 1, 2, 3], scaled x3 -> 18 in total, rendered and printed by publish.
    assert "18 items" in proc.stdout.splitlines()
    assert "[ok] report.publish" in proc.stderr


QUEUED_DAG = '''
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("queued", schedule=None, start_date=datetime(2024, 1, 1)):
    BashOperator(task_id="render", bash_command="echo hi", queue="gpu", pool="render_pool")
'''


def test_a_queue_or_pool_the_tenant_policy_decides_is_said_in_the_report(
        flytepath, tmp_path: Path) -> None:
    # ADR 0037: the pool is dropped (the tenant's pool applies); the queue is kept, and
    # the built DAG is refused until the platform lists the queue for the tenant.
    dag_file = tmp_path / "dags" / "queued.py"
    dag_file.parent.mkdir()
    dag_file.write_text(QUEUED_DAG)
    out = tmp_path / "specs"
    result = flytepath("convert", str(dag_file.parent), "-o", str(out), "--check")
    assert result.code == 1
    dag = _dag(_report(out), "queued")
    notes = " ".join(_task(dag, "render")["notes"])
    assert "pool 'render_pool' is not kept" in notes
    assert "queue 'gpu' is kept" in notes and "tenant_queues" in notes
    assert dag["check"]["status"] == "failed"
    assert "names Airflow queue 'gpu'" in dag["check"]["error"]
