"""A recovering run reuses a node of the failed run only when it may: same version and
task, same inputs, outputs intact. Counted through the tasks' own call log."""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flytepath_airflow.ir.models import WorkflowSpec
from flytepath_airflow.runtime.control import child_run_id
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.run import RECOVERED_FROM, pointer_key, read_pointer
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobStore
from flytepath_airflow.stores.metadata import MetadataStore

FLOWS = textwrap.dedent('''
    from pathlib import Path

    from flytepath_airflow import dynamic, task, workflow

    HERE = Path(__file__).resolve().parent
    CALLS = HERE / "calls.txt"
    FIXED = HERE / "fixed.txt"


    def _called(name: str) -> None:
        with open(CALLS, "a", encoding="utf-8") as fh:
            fh.write(name + "\\n")


    @task
    def stamp() -> int:
        _called("stamp")
        return len(CALLS.read_text().splitlines())  # differs each time it runs


    @task
    def plus_one(x: int) -> int:
        _called("plus_one")
        return x + 1


    @task
    def finish(x: int) -> int:
        _called("finish")
        if not FIXED.exists():
            raise ValueError("the data is not fixed yet")
        return x


    @workflow
    def chain() -> int:
        return finish(x=plus_one(x=stamp()))


    @task
    def square(x: int) -> int:
        _called(f"square {x}")
        if x == 2 and not FIXED.exists():
            raise ValueError("square 2 needs the fixed data")
        return x * x


    @task
    def total(xs: list[int]) -> int:
        _called("total")
        return sum(xs)


    @dynamic
    def squares(n: int) -> int:
        _called("squares body")
        return total(xs=[square(x=i) for i in range(n)])


    @workflow
    def dynamic_squares(n: int) -> int:
        return squares(n=n)
''')


@pytest.fixture
def flows(tmp_path: Path) -> Callable[[str], WorkflowSpec]:
    # A module name of its own per test: each test's tasks write to its own call log.
    path = tmp_path / f"recovery_flows_{uuid.uuid4().hex[:8]}.py"
    path.write_text(FLOWS)

    def load(name: str) -> WorkflowSpec:
        spec = load_target(f"{path}:{name}")
        assert isinstance(spec, WorkflowSpec)
        return spec

    return load


def calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls.txt"
    return path.read_text().splitlines() if path.exists() else []


def recover(spec: WorkflowSpec, inputs: dict[str, Any], source: str, root: str) -> Any:
    return run_local(spec, inputs, root=root, options={RECOVERED_FROM: source})


def refusals(run_id: str) -> dict[str, str]:
    with MetadataStore() as meta:
        return {str(e.node_id): str(e.payload["reason"]) for e in meta.events(run_id)
                if e.kind == "recovery_refused"}


def test_a_node_whose_upstream_computed_other_values_runs_again(
        flows: Callable[[str], WorkflowSpec], tmp_path: Path) -> None:
    spec, root = flows("chain"), str(tmp_path / "store")
    failed = run_local(spec, {}, root=root)
    assert failed.failed_node == "finish" and calls(tmp_path) == ["stamp", "plus_one",
                                                                   "finish"]
    store = BlobStore(root)
    doc = read_pointer(store, failed.run_id, "stamp")
    doc["outputs"]["o0"]["value"] = 99  # stamp's outputs no longer verify: it runs again
    store.write_json(pointer_key(failed.run_id, "stamp"), doc)
    (tmp_path / "fixed.txt").write_text("")

    result = recover(spec, {}, failed.run_id, root)

    assert result.succeeded, result.error
    # stamp ran again and returned 4; plus_one's inputs changed, so it ran too (5), rather
    # than passing on the 2 the failed run computed from stamp's old 1.
    assert result.outputs == {"o0": 5}
    assert calls(tmp_path)[3:] == ["stamp", "plus_one", "finish"]
    reasons = refusals(result.run_id)
    assert "does not match its recorded sha256" in reasons["stamp"]
    assert "inputs differ" in reasons["plus_one"]


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda doc: doc.pop("inputs_hash"), "records no inputs fingerprint"),
    (lambda doc: doc.update(version="0000000000000000"), "produced by version 0000"),
    (lambda doc: doc.update(task="someone.else"), "produced by task someone.else"),
])
def test_a_pointer_that_does_not_match_is_not_reused(
        flows: Callable[[str], WorkflowSpec], tmp_path: Path,
        edit: Callable[[dict[str, Any]], object], reason: str) -> None:
    spec, root = flows("chain"), str(tmp_path / "store")
    failed = run_local(spec, {}, root=root)
    store = BlobStore(root)
    doc = read_pointer(store, failed.run_id, "plus_one")
    edit(doc)
    store.write_json(pointer_key(failed.run_id, "plus_one"), doc)
    (tmp_path / "fixed.txt").write_text("")

    result = recover(spec, {}, failed.run_id, root)

    assert result.succeeded, result.error
    assert calls(tmp_path)[3:] == ["plus_one", "finish"]  # stamp reused, plus_one ran
    assert reason in refusals(result.run_id)["plus_one"]
    assert read_pointer(store, result.run_id, "stamp")["cache"] == {
        "status": "recovered", "source_run_id": failed.run_id, "source_node_id": "stamp"}


def test_a_dynamic_node_rebuilds_its_graph_and_reuses_its_generated_nodes(
        flows: Callable[[str], WorkflowSpec], tmp_path: Path) -> None:
    spec, root = flows("dynamic_squares"), str(tmp_path / "store")
    failed = run_local(spec, {"n": 4}, root=root)
    assert not failed.succeeded
    first = calls(tmp_path)
    assert first == ["squares body", "square 0", "square 1", "square 2"]
    (tmp_path / "fixed.txt").write_text("")

    result = recover(spec, {"n": 4}, failed.run_id, root)

    assert result.succeeded, result.error
    assert result.outputs == {"o0": 0 + 1 + 4 + 9}
    # The body ran again (it only builds the graph); of the generated nodes, those that
    # succeeded were reused, the one that failed and those after it ran.
    assert calls(tmp_path)[len(first):] == ["squares body", "square 2", "square 3", "total"]
    child = child_run_id(result.run_id, "squares")
    pointer = read_pointer(BlobStore(root), child, "square")  # square 0
    assert pointer["cache"]["source_run_id"] == child_run_id(failed.run_id, "squares")


def test_the_recovered_run_records_the_link_on_both_runs(
        flows: Callable[[str], WorkflowSpec], tmp_path: Path) -> None:
    spec, root = flows("chain"), str(tmp_path / "store")
    failed = run_local(spec, {}, root=root)
    (tmp_path / "fixed.txt").write_text("")
    result = recover(spec, {}, failed.run_id, root)

    with MetadataStore() as meta:
        row = meta.get_execution(result.run_id)
        new_events = [(e.kind, e.payload) for e in meta.events(result.run_id)
                      if e.node_id is None]
        old_events = [(e.kind, e.payload) for e in meta.events(failed.run_id)
                      if e.kind == "recovered_by"]
        attempt = {n.node_id: n.cache_status for n in meta.node_executions(result.run_id)}
    assert row is not None and row.parent_run_id == failed.run_id
    assert ("recovered_from", {"run_id": failed.run_id}) in new_events
    assert old_events == [("recovered_by", {"run_id": result.run_id})]
    assert attempt["stamp"] == "recovered" and attempt["finish"] is None
    options = json.loads((Path(root) / "runs" / result.run_id / "inputs.json").read_text())
    assert options["options"][RECOVERED_FROM] == failed.run_id


def test_a_hostile_recovered_from_option_is_refused_before_anything_is_read(
        flows: Callable[[str], WorkflowSpec], tmp_path: Path) -> None:
    from flytepath_airflow.ir.names import InvalidNameError

    root = str(tmp_path / "store")
    with pytest.raises(InvalidNameError, match="run option recovered_from"):
        recover(flows("chain"), {}, "../../etc", root)
    assert not (tmp_path / "calls.txt").exists()
