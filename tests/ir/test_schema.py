"""The committed JSON Schema of the spec matches the models (drift test)."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import jsonschema
import pytest

from flytepath_airflow.ir.schema import (
    REGENERATE_COMMAND,
    SCHEMA_PATH,
    render_schema,
    write_schema,
)
from flytepath_airflow.ir.spec_io import spec_document
from flytepath_airflow.translators.yaml import compile_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_matches_the_models() -> None:
    expected = render_schema()
    committed = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
    if committed != expected:
        diff = "".join(difflib.unified_diff(
            committed.splitlines(keepends=True), expected.splitlines(keepends=True),
            "committed", "from the models", n=1))
        pytest.fail(
            f"{SCHEMA_PATH.relative_to(ROOT)} is out of date with flytepath_airflow/ir/"
            f"models.py. Regenerate it with `.venv/bin/{REGENERATE_COMMAND}` and commit it."
            f"\n{diff[:4000]}",
            pytrace=False,
        )


def test_schema_accepts_a_compiled_spec_document() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    spec = compile_yaml(ROOT / "examples" / "shell_pipeline.yaml")
    jsonschema.validate(spec_document(spec), schema)


def test_schema_rejects_an_unknown_field() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    doc = {"schema_version": 1, "name": "wf", "nodez": []}
    assert any("nodez" in e.message for e in validator.iter_errors(doc))


def test_write_schema_reports_whether_the_file_changed(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    assert write_schema(target) is True
    assert write_schema(target) is False
    assert target.read_text(encoding="utf-8") == render_schema()


def test_render_schema_is_deterministic() -> None:
    assert render_schema() == render_schema()
    assert render_schema().endswith("}\n")
