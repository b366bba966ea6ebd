"""A run never writes outside the store, whatever names its spec or its caller brings
(ADR 0033): hostile names are refused where they enter, and the blob store refuses any
key that would leave its root even when a spec skipped validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flytepath_airflow.ir.models import SCHEMA_VERSION, NodeSpec, OutputRef, WorkflowSpec
from flytepath_airflow.ir.names import InvalidNameError
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.run import prepare_run
from flytepath_airflow.stores.blob import UnsafeKeyError

HOSTILE_NODE = "../../../../../escaped"
"""From `<store>/runs/<id>/nodes/`, five levels up is the test's tmp_path."""


def flytepath(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, env=dict(os.environ))


@pytest.fixture
def compiled(tmp_path: Path) -> dict[str, object]:
    """The compiled spec document of a one-task workflow."""
    (tmp_path / "names_flow.py").write_text(textwrap.dedent("""
        from flytepath_airflow import task, workflow

        @task
        def double(n: int) -> int:
            return n * 2

        @workflow
        def wf(n: int = 2) -> int:
            return double(n=n)
    """))
    result = flytepath("compile", "names_flow.py:wf", "-o", "spec.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc: dict[str, object] = json.loads((tmp_path / "spec.json").read_text())
    return doc


def _with_node_id(doc: dict[str, object], node_id: str) -> dict[str, object]:
    text = json.dumps(doc).replace('"double"', json.dumps(node_id))
    # the task keeps its name; only the node id and the references to it change
    changed: dict[str, object] = json.loads(text)
    changed["tasks"] = doc["tasks"]
    nodes = changed["nodes"]
    assert isinstance(nodes, list)
    for node in nodes:
        node["task"] = "names_flow.double"
    return changed


def test_a_compiled_spec_with_a_hostile_node_id_is_refused(compiled: dict[str, object],
                                                           tmp_path: Path) -> None:
    (tmp_path / "hostile.json").write_text(json.dumps(_with_node_id(compiled, HOSTILE_NODE)))
    result = flytepath("run", "hostile.json", "--local", cwd=tmp_path)
    assert result.returncode == 2, result.stderr + result.stdout
    assert "at nodes.0.id:" in result.stderr
    assert f"node id {HOSTILE_NODE!r} contains a path separator '/'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "escaped").exists()


def test_a_spec_that_skipped_validation_still_cannot_write_outside_the_store(
        compiled: dict[str, object], tmp_path: Path) -> None:
    sys.path.insert(0, str(tmp_path))
    try:
        spec = WorkflowSpec.model_validate(compiled)
        # model_copy does not validate: the names reach the runtime unchecked.
        node = spec.nodes[0].model_copy(update={"id": HOSTILE_NODE})
        spec = spec.model_copy(update={
            "nodes": (node,),
            "outputs": {"o0": OutputRef.model_construct(node=HOSTILE_NODE, output="o0")}})
        with pytest.raises(UnsafeKeyError, match=r"has a '\.\.' segment"):
            run_local(spec, {"n": 3}, root=str(tmp_path / "home" / "store"))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("names_flow", None)
    assert not (tmp_path / "escaped").exists()
    assert [p for p in tmp_path.rglob("*escaped*")] == []


@pytest.mark.parametrize("run_id", ["../../x", "/abs", "a/b", "", "a\nb", "r" * 300])
def test_prepare_run_refuses_a_run_id_that_is_not_a_folder_name(tmp_path: Path,
                                                                run_id: str) -> None:
    spec = WorkflowSpec(schema_version=SCHEMA_VERSION, name="wf",
                        nodes=(NodeSpec(id="n", task=None, kind="merge",
                                        merge={"branch": "b", "cases": ()}),))
    with pytest.raises(InvalidNameError, match="run id"):
        prepare_run(spec, {}, str(tmp_path / "store"), run_id=run_id)
    assert not (tmp_path / "store").exists()
    assert not (tmp_path / "x").exists()
