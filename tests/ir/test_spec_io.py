"""Canonical JSON, content-hash versions and schema-version dispatch (ir/spec_io.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flytepath_airflow.errors import SpecError
from flytepath_airflow.ir import spec_io
from flytepath_airflow.ir.models import WorkflowSpec
from flytepath_airflow.ir.spec_io import (
    canonical_json,
    compute_version,
    dump_spec,
    load_spec,
    loads_spec,
    parse_spec_document,
    with_version,
)

ROOT = Path(__file__).resolve().parents[2]
INT = {"kind": "simple", "name": "int"}


def document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": 1,
        "name": "wf",
        "interface": {"inputs": [{"name": "n", "type": INT}],
                      "outputs": [{"name": "total", "type": INT}]},
        "tasks": {"add": {"name": "add", "fn": "pkg.mod:add", "code_digest": "abc",
                          "interface": {"inputs": [{"name": "x", "type": INT}],
                                        "outputs": [{"name": "o0", "type": INT}]}}},
        "nodes": [{"id": "add", "task": "add",
                   "inputs": {"x": {"kind": "input", "name": "n"}}}],
        "outputs": {"total": {"kind": "output", "node": "add", "output": "o0"}},
    }
    doc.update(changes)
    return doc


def spec(**changes: Any) -> WorkflowSpec:
    return WorkflowSpec.model_validate(document(**changes))


def with_task(**task_changes: Any) -> WorkflowSpec:
    doc = document()
    doc["tasks"]["add"].update(task_changes)
    return WorkflowSpec.model_validate(doc)


# ------------------------------------------------------------------- canonical JSON


def test_canonical_json_sorts_keys_and_is_compact() -> None:
    assert canonical_json({"b": 1, "a": [1, {"d": 2, "c": "é"}]}) == \
        '{"a":[1,{"c":"é","d":2}],"b":1}'


def test_canonical_json_ignores_insertion_order() -> None:
    assert canonical_json({"x": 1, "y": {"p": 1, "q": 2}}) == \
        canonical_json({"y": {"q": 2, "p": 1}, "x": 1})


def test_dump_is_byte_identical_for_equal_specs() -> None:
    first, second = spec(), WorkflowSpec.model_validate(json.loads(dump_spec(spec())))
    assert dump_spec(first) == dump_spec(second)
    assert dump_spec(first).endswith("}\n")


def test_dump_leaves_defaults_out_but_keeps_schema_version() -> None:
    doc = json.loads(dump_spec(spec()))
    assert doc["schema_version"] == 1
    assert "retries" not in doc["tasks"]["add"]
    assert "tenant" not in doc and "labels" not in doc


# ----------------------------------------------------------------------- round trip


def test_dump_then_load_round_trips(tmp_path: Path) -> None:
    original = with_version(spec(labels={"team": "ml"}, tenant={"project": "p"}))
    path = tmp_path / "spec.json"
    path.write_text(dump_spec(original), encoding="utf-8")
    assert load_spec(path) == original
    assert loads_spec(dump_spec(original)) == original
    assert dump_spec(load_spec(str(path))) == dump_spec(original)


def test_load_reports_the_line_of_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text('{\n  "name": "wf",\n  oops\n}\n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"line 3 column 3: not valid JSON"):
        load_spec(path)


def test_load_of_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.json")


def test_validation_errors_name_the_field_path() -> None:
    doc = document()
    doc["tasks"]["add"]["retries"] = -1
    with pytest.raises(SpecError, match=r"at tasks\.add\.retries: Input should be greater"):
        parse_spec_document(doc, "spec.json")


# --------------------------------------------------------------- schema_version dispatch


def test_a_newer_schema_version_asks_to_upgrade() -> None:
    with pytest.raises(SpecError, match=r"schema_version 2, newer than .* Upgrade"):
        parse_spec_document(document(schema_version=2), "spec.json")


def test_a_missing_schema_version_is_rejected() -> None:
    doc = document()
    del doc["schema_version"]
    with pytest.raises(SpecError, match="no integer 'schema_version'"):
        parse_spec_document(doc, "spec.json")


def test_a_non_object_document_is_rejected() -> None:
    with pytest.raises(SpecError, match="must be a JSON object, found list"):
        parse_spec_document([1, 2], "spec.json")


def test_an_old_schema_version_without_migration_is_rejected() -> None:
    with pytest.raises(SpecError, match="no migration from schema_version 0"):
        parse_spec_document(document(schema_version=0), "spec.json")


def test_old_documents_are_migrated_step_by_step(monkeypatch: pytest.MonkeyPatch) -> None:
    def from_v0(doc: dict[str, Any]) -> dict[str, Any]:
        doc = dict(doc)
        doc["name"] = doc.pop("workflow")
        return {**doc, "schema_version": 1}

    monkeypatch.setitem(spec_io.MIGRATIONS, 0, from_v0)
    doc = document(schema_version=0)
    doc["workflow"] = doc.pop("name")
    assert parse_spec_document(doc, "old.json") == spec()


# ------------------------------------------------------------------------- versions


def test_version_is_a_stable_content_hash() -> None:
    version = compute_version(spec())
    assert version == compute_version(spec())
    assert len(version) == spec_io.VERSION_LENGTH
    assert with_version(spec()).version == version


def test_version_ignores_the_current_version_field() -> None:
    assert compute_version(spec(version="whatever")) == compute_version(spec())


def test_version_is_the_same_in_another_process() -> None:
    code = (
        "import json, sys\n"
        "from flytepath_airflow.ir.models import WorkflowSpec\n"
        "from flytepath_airflow.ir.spec_io import compute_version\n"
        "print(compute_version(WorkflowSpec.model_validate(json.load(sys.stdin))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(document()),
                         capture_output=True, text=True, check=True, cwd=ROOT,
                         env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert out.stdout.strip() == compute_version(spec())


def test_version_unchanged_when_optional_fields_sit_at_their_defaults() -> None:
    explicit = with_task(retries=0, interruptible=False, cache=None, env={}, secrets=[],
                         image=None, timeout=None)
    assert compute_version(explicit) == compute_version(spec())


def test_version_unchanged_by_a_new_optional_field_left_at_its_default() -> None:
    class FutureWorkflowSpec(WorkflowSpec):
        owner: str | None = None  # a field a later schema could add

    future = FutureWorkflowSpec.model_validate(document())
    assert compute_version(future) == compute_version(spec())
    assert compute_version(future.model_copy(update={"owner": "ml"})) != \
        compute_version(spec())


def test_version_changes_when_a_task_code_digest_changes() -> None:
    assert compute_version(with_task(code_digest="def")) != compute_version(spec())


def test_version_changes_when_behaviour_changes() -> None:
    assert compute_version(with_task(retries=2)) != compute_version(spec())


def test_tenant_is_not_part_of_the_version() -> None:
    production = spec(tenant={"project": "fraud", "domain": "production"})
    assert compute_version(production) == compute_version(spec())
    assert dump_spec(with_version(production)) != dump_spec(with_version(spec()))


# ------------------------------------------------------ loaded versions are verified


def test_an_edited_compiled_spec_is_refused_naming_both_versions(tmp_path: Path) -> None:
    genuine = with_version(spec())
    doc = json.loads(dump_spec(genuine))
    doc["tasks"]["add"]["code_digest"] = "edited"  # the version claimed stays the genuine one
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(doc))
    forged = WorkflowSpec.model_validate({**doc, "version": ""})
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert str(path) in message
    assert genuine.version in message and compute_version(forged) in message
    assert "edited after it was compiled" in message and "flytepath compile" in message


def test_a_spec_loaded_from_text_or_a_launch_plan_is_verified_too() -> None:
    genuine = with_version(spec())
    edited = dump_spec(genuine).replace('"pkg.mod:add"', '"pkg.mod:other"')
    with pytest.raises(SpecError, match="claims version"):
        loads_spec(edited, "run spec.json")
    plan = {"kind": "launch_plan", "schema_version": 1, "name": "nightly",
            "workflow": json.loads(edited)}
    with pytest.raises(SpecError, match="claims version"):
        parse_spec_document(plan, "plan.json")


def test_a_spec_whose_version_matches_or_is_absent_loads() -> None:
    genuine = with_version(spec())
    assert loads_spec(dump_spec(genuine)).version == genuine.version
    assert parse_spec_document(document()).version == ""
