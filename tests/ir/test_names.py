"""The naming rules (ir/names.py, ADR 0033): what each kind of name accepts, what the
messages say, and that a compiled spec with a hostile name is refused when it is loaded."""

from __future__ import annotations

import json

import pytest

from flytepath_airflow.errors import FlytePathUserError, SpecError
from flytepath_airflow.ir.models import SCHEMA_VERSION, NodeSpec, TaskSpec, WorkflowSpec
from flytepath_airflow.ir.names import (
    MAX_RUN_ID_LENGTH,
    RULES,
    InvalidNameError,
    check_name,
    name_problem,
    safe_run_id,
)
from flytepath_airflow.ir.spec_io import dump_spec, loads_spec

HOSTILE = ["", ".", "..", "../x", "/abs", "a/../../b", "a\\b", "a\x00b", "a\nb", "a b",
           "-rf", ".hidden", "x" * 300, "p\u0430yments",  # Cyrillic a, looks like Latin a
           "caf\u00e9", "a\u200bb", "a..b"]
"""Values no name of any kind may take."""


@pytest.mark.parametrize("kind", sorted(RULES))
@pytest.mark.parametrize("value", HOSTILE)
def test_every_kind_of_name_refuses_hostile_values(kind: str, value: str) -> None:
    assert name_problem(value, kind) is not None
    with pytest.raises(InvalidNameError) as caught:
        check_name(value, kind, where="somewhere")
    assert isinstance(caught.value, FlytePathUserError)
    message = str(caught.value)
    assert message.startswith(f"somewhere: {RULES[kind].what} ")
    assert "Use a name like '" in message


@pytest.mark.parametrize(("kind", "value"), [
    ("project", "flytesnacks"), ("project", "ml-team"), ("project", "default"),
    ("domain", "development"), ("domain", "production"), ("domain", "d"),
    ("workflow", "examples.hello.wf"), ("workflow", "flow.wf.sub_n0"),
    ("task", "pkg.mod.clean"), ("node", "map_double_2"), ("node", "group.task-1"),
    ("version", "3f2a9c0d1e4b5a67"), ("run_id", "fp-20260101T120000-1a2b3c4d"),
    ("run_id", "ml.development.wf__manual__2026-01-01T00_00_00_00_00-h0123456789ab"),
])
def test_names_the_project_uses_stay_valid(kind: str, value: str) -> None:
    assert check_name(value, kind) == value


def test_tenants_hold_no_separator_of_derived_names() -> None:
    for value in ("a.b", "a_b", "ML", "-a", "a-"):
        assert name_problem(value, "project") is not None
        assert name_problem(value, "domain") is not None


def test_the_message_says_what_where_why_and_how() -> None:
    with pytest.raises(InvalidNameError) as caught:
        check_name("ML team", "project", where="--project")
    assert str(caught.value) == (
        "--project: project 'ML team' contains upper-case letters; a project uses lower-case "
        "letters, digits and '-', starts and ends with a letter or digit, and has at most 63 "
        "characters. Use a name like 'ml-team'.")


def test_a_look_alike_letter_is_named() -> None:
    problem = name_problem("p\u0430yments", "workflow")
    assert problem is not None and "CYRILLIC SMALL LETTER A" in problem


def test_safe_run_id_keeps_valid_ids_and_separates_texts_that_clean_alike() -> None:
    assert safe_run_id("fp-1") == "fp-1"
    texts = ["my run/1", "my run 1", "my_run_1/", "my:run:1", "../my_run_1", "my_run_1\x00"]
    ids = [safe_run_id(t) for t in texts]
    assert len(set(ids)) == len(texts)
    for run_id in ids:
        assert check_name(run_id, "run_id") == run_id
        assert safe_run_id(run_id) == run_id
    long = safe_run_id("y" * 1000)
    assert len(long) <= MAX_RUN_ID_LENGTH and long != safe_run_id("y" * 999)


def _spec() -> WorkflowSpec:
    return WorkflowSpec(
        schema_version=SCHEMA_VERSION, name="wf",
        nodes=(NodeSpec(id="n0", task="t"),),
        tasks={"t": TaskSpec(name="t", fn="m:f")},
    )


@pytest.mark.parametrize(("path", "value", "field"), [
    (("nodes", 0, "id"), "../../../../x", "nodes.0.id"),
    (("name",), "../wf", "name"),
    (("version",), "../../v", "version"),
    (("tenant", "project"), "../../p", "tenant.project"),
    (("tenant", "domain"), "a/b", "tenant.domain"),
    (("tasks", "t", "name"), "t/../../x", "tasks.t.name"),
])
def test_loading_a_spec_with_a_hostile_name_is_refused_naming_the_field(
        path: tuple[str | int, ...], value: str, field: str) -> None:
    doc = json.loads(dump_spec(_spec()))
    target = doc
    for part in path[:-1]:
        target = target.setdefault(part, {}) if isinstance(part, str) else target[part]
    target[path[-1]] = value
    with pytest.raises(SpecError) as caught:
        loads_spec(json.dumps(doc), "wf.json")
    message = str(caught.value)
    assert f"at {field}:" in message and repr(value) in message


def test_a_hostile_task_key_or_reference_is_refused() -> None:
    doc = json.loads(dump_spec(_spec()))
    doc["tasks"] = {"../t": doc["tasks"]["t"]}
    with pytest.raises(SpecError, match="at tasks"):
        loads_spec(json.dumps(doc), "wf.json")
    doc = json.loads(dump_spec(_spec()))
    doc["outputs"] = {"o": {"kind": "output", "node": "../../n0", "output": "o"}}
    with pytest.raises(SpecError, match=r"outputs\.o\.output\.node"):
        loads_spec(json.dumps(doc), "wf.json")
