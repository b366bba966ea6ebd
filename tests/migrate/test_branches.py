"""Branch operators and `@task.branch` whose decision is a plain comparison become
FlytePath conditionals that run; any other decision stays an Airflow branch task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flytepath_airflow.ir.models import WorkflowSpec
from flytepath_airflow.migrate.rebuild import load_converted

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "branches"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.airflow


@pytest.fixture
def converted(flytepath, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path / "specs"
    result = flytepath("convert", str(FIXTURES), "-o", str(out), "--check")
    assert result.code == 0, result.err
    return out


def _spec(out: Path, dag_id: str) -> WorkflowSpec:
    spec = load_converted(out / f"{dag_id}.yaml")
    assert isinstance(spec, WorkflowSpec)
    return spec


def _entry(out: Path, dag_id: str, task_id: str) -> dict[str, Any]:
    report = json.loads((out / "conversion.json").read_text())
    dag = next(d for d in report["dags"] if d["dag_id"] == dag_id)
    return dict(next(t for t in dag["tasks"] if t["task_id"] == task_id))


def _run_converted(out: Path, tmp_path: Path, dag_id: str, *inputs: str, local: bool,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Compile the converted spec and run it with `flytepath run --json` (through Airflow,
    or `--local`), as a user would; returns the finished process."""
    compiled = tmp_path / f"{dag_id}.json"
    environ = {**os.environ, "PYTHONPATH": str(out), "FLYTEPATH_HOME": str(tmp_path / "home"),
               **(env or {})}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                              capture_output=True, text=True, cwd=ROOT, env=environ,
                              check=False)

    proc = cli("compile", str(out / f"{dag_id}.yaml"), "-o", str(compiled))
    assert proc.returncode == 0, proc.stderr
    pairs = [arg for value in inputs for arg in ("-i", value)]
    return cli("run", str(compiled), *(["--local"] if local else []), "--json", *pairs)


def _states(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The state each node or task ended in, from the run's progress lines."""
    assert proc.returncode == 0, proc.stderr
    states: dict[str, str] = {}
    for line in proc.stderr.splitlines():
        text = line.strip()
        if text[:4] in ("[ok]", "[--]", "[!!]"):
            node, state = text[4:].split()[:2]
            states[node] = state
    return states


def _run_local(out: Path, tmp_path: Path, dag_id: str, *inputs: str,
               env: dict[str, str] | None = None) -> dict[str, str]:
    """Run the converted spec with `--local`; returns the state each node ended in."""
    return _states(_run_converted(out, tmp_path, dag_id, *inputs, local=True, env=env))


def _run_on_airflow(out: Path, tmp_path: Path, dag_id: str, *inputs: str) -> dict[str, str]:
    """Run the converted spec through Airflow; returns the state each task ended in."""
    return _states(_run_converted(out, tmp_path, dag_id, *inputs, local=False))


def test_task_branch_on_params_becomes_a_conditional_guarding_its_downstream_tasks(
        converted: Path) -> None:
    spec = _spec(converted, "branch_on_param")
    choose = spec.node("choose")
    assert choose.kind == "branch" and choose.task is None and choose.branch is not None
    first, second, last = (case.condition for case in choose.branch.cases)
    assert first is not None and first.model_dump() == {
        "kind": "and",
        "left": {"kind": "compare", "op": ">", "left": {"kind": "input", "name": "threshold"},
                 "right": {"kind": "literal", "value": 10}},
        "right": {"kind": "compare", "op": "==", "left": {"kind": "input", "name": "mode"},
                  "right": {"kind": "literal", "value": "fast"}},
    }
    assert second is not None and second.model_dump() == {
        "kind": "not",
        "operand": {"kind": "compare", "op": ">=",
                    "left": {"kind": "input", "name": "threshold"},
                    "right": {"kind": "literal", "value": 0}},
    }
    assert last is None
    guards = {n.id: (n.guard.branch, n.guard.case) if n.guard else None for n in spec.nodes}
    assert guards == {"choose": None, "big": ("choose", 0), "negative": ("choose", 1),
                      "small": ("choose", 2), "join": None}
    join = spec.node("join")
    assert join.airflow is not None
    assert join.airflow.trigger_rule == "none_failed_min_one_success"
    entry = _entry(converted, "branch_on_param", "choose")
    assert entry["status"] == "changed" and entry["kind"] == "branch"
    assert "case 0 -> big; case 1 -> negative; else -> small" in entry["notes"][0]


@pytest.mark.parametrize(("inputs", "taken"), [
    (("threshold=20",), "big"),
    (("threshold=20", "mode=slow"), "small"),
    (("threshold=-3",), "negative"),
    ((), "small"),
])
def test_converted_param_branch_runs_only_the_case_taken_and_the_join(
        converted: Path, tmp_path: Path, inputs: tuple[str, ...], taken: str) -> None:
    states = _run_local(converted, tmp_path, "branch_on_param", *inputs)
    assert states == {"choose": "succeeded", "join": "succeeded",
                      **{case: "succeeded" if case == taken else "skipped"
                         for case in ("big", "small", "negative")}}


def test_branch_operator_on_an_upstream_value_compares_that_task_output(
        converted: Path) -> None:
    spec = _spec(converted, "branch_on_upstream")
    route = spec.node("route")
    assert route.kind == "branch" and route.branch is not None
    condition = route.branch.cases[0].condition
    assert condition is not None and condition.model_dump() == {
        "kind": "compare", "op": ">=", "left": {"kind": "output", "node": "measure",
                                                "output": "o0"},
        "right": {"kind": "literal", "value": 10}}
    assert route.dependencies() == ["measure"]
    assert spec.node("large").guard is not None and spec.node("large").guard.case == 0
    assert spec.node("little").guard is not None and spec.node("little").guard.case == 1
    assert spec.tasks["measure"].kind == "python"


@pytest.mark.parametrize(("extra", "taken"), [("0", "little"), ("10", "large")])
def test_converted_upstream_branch_runs_the_case_the_value_selects(
        converted: Path, tmp_path: Path, extra: str, taken: str) -> None:
    states = _run_local(converted, tmp_path, "branch_on_upstream",
                        env={"BRANCH_FIXTURE_EXTRA": extra})
    assert states == {"measure": "succeeded", "route": "succeeded", "done": "succeeded",
                      **{case: "succeeded" if case == taken else "skipped"
                         for case in ("large", "little")}}


def test_branch_calling_a_function_stays_an_airflow_branch_task_with_the_reason(
        converted: Path) -> None:
    spec = _spec(converted, "branch_kept")
    pick = spec.node("pick")
    assert pick.kind == "task" and spec.tasks["pick"].kind == "airflow"
    assert all(node.guard is None for node in spec.nodes)
    entry = _entry(converted, "branch_kept", "pick")
    assert entry["status"] == "kept"
    assert "line 15: its condition reads 'datetime.now().hour'" in entry["notes"][0]


def test_converted_branches_build_back_with_the_original_ids_and_edges(
        converted: Path) -> None:
    report = json.loads((converted / "conversion.json").read_text())
    assert {d["dag_id"]: d["check"]["status"] for d in report["dags"]} == {
        "branch_on_param": "same", "branch_on_upstream": "same", "branch_kept": "same",
        "branch_to_operators": "same", "branch_to_empty": "same"}


@pytest.mark.slow
def test_converted_param_branch_runs_through_airflow_skipping_the_cases_not_taken(
        converted: Path, tmp_path: Path) -> None:
    states = _run_on_airflow(converted, tmp_path, "branch_on_param", "threshold=-3")
    assert states == {"big": "skipped", "choose": "succeeded", "join": "succeeded",
                      "negative": "succeeded", "small": "skipped"}


@pytest.mark.slow
def test_kept_operators_of_an_untaken_case_skip_themselves_on_airflow(
        converted: Path, tmp_path: Path) -> None:
    spec = _spec(converted, "branch_to_operators")
    assert spec.node("pick").kind == "branch"
    assert spec.tasks[spec.node("archive").task or ""].kind == "airflow"
    assert spec.node("archive").guard is not None
    states = _run_on_airflow(converted, tmp_path, "branch_to_operators", "size=500")
    assert states == {"archive": "succeeded", "done": "succeeded", "pick": "succeeded",
                      "publish": "skipped"}


def test_running_kept_operators_locally_is_a_clear_user_error(
        converted: Path, tmp_path: Path) -> None:
    proc = _run_converted(converted, tmp_path, "branch_to_operators", "size=5", local=True)
    assert proc.returncode == 2
    assert "keeps Airflow operators from a converted DAG (nodes archive, publish, done)" \
        in proc.stderr
    assert "run only on Airflow" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_empty_operator_cases_skip_when_not_taken_on_airflow(
        converted: Path, tmp_path: Path) -> None:
    spec = _spec(converted, "branch_to_empty")
    assert spec.node("route").kind == "branch"
    assert spec.node("weekend").guard is not None
    states = _run_on_airflow(converted, tmp_path, "branch_to_empty", "weekday=false")
    # Airflow would mark a plain EmptyOperator successful without running it; the built
    # task runs and skips itself when its case is not taken.
    assert states == {"join": "succeeded", "route": "succeeded", "weekend": "succeeded",
                      "workday": "skipped"}
