"""Property: any input is a FlytePath error or a valid spec, never anything else.

Four entry points, fed mutations of a real workflow (examples/shell_pipeline.yaml, and its
compiled spec JSON) plus hostile atoms: control characters, lone surrogates, deep nesting,
huge integers, inf/nan/1e400, very long text, values of the wrong type. A valid result must
also be sound: its spec dumps to JSON without a non-finite number and loads back with the
same version; a CLI value is plain JSON. The larger campaign (20,000 cases, hangs and memory
too) is benchmarks/fuzz_campaign.py; docs/reliability.md has its figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flytepath_airflow.errors import FlytePathError
from flytepath_airflow.ir.models import WorkflowSpec
from flytepath_airflow.ir.spec_io import compute_version, dump_spec, loads_spec
from flytepath_airflow.translators.yaml import compile_yaml_text, parse_type
from flytepath_airflow.types.cli_values import parse_cli_value

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "examples" / "shell_pipeline.yaml").read_text(encoding="utf-8")
EXAMPLE_DOC = yaml.safe_load(EXAMPLE)
SPEC_JSON = dump_spec(compile_yaml_text(EXAMPLE))
SPEC_DOC = json.loads(SPEC_JSON)

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ATOMS = [
    "\x00", "\x07", "\x1b", "\x7f", "\ud800", "\udfff", '"\\ud800"', '"\\x00"', "\t", "\r",
    "1e400", "-1e400", "1e300", "1e99999999", "9" * 5000, str(2 ** 63), ".inf", ".nan",
    "Infinity", "NaN", "inf", "nan", "99999999999d", "400d", "1e99999999Gi", "9Ei", "-1",
    "0", "null", "true", "[]", "{}", "&a [*a]", "!!python/object:os.system", "x" * 20_000,
    "[" * 3000, "{a: " * 600, "list[" * 2000, "Optional[" * 40 + "int" + "]" * 40,
    "${{ nodes.", "{{ inputs.", ":", "- ", "#", "'", '"',
]

hostile_text = st.one_of(st.sampled_from(ATOMS), st.text(max_size=30))
hostile_value = st.one_of(
    st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e300, 2 ** 63, 10 ** 30,
                     -(2 ** 64), True, None, [], {}, "", [[[[[[1]]]]]]]),
    st.integers(), st.floats(), hostile_text,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*prefix, index)))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return doc


@st.composite
def mutated_text(draw: st.DrawFn, text: str, atoms: st.SearchStrategy[str]) -> str:
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "cut", "replace"]))
        if op == "insert":
            text = text[:pos] + draw(atoms) + text[pos:]
        elif op == "cut":
            text = text[:pos] + text[pos + draw(st.integers(1, 30)):]
        else:
            text = text[:pos] + draw(atoms) + text[pos + draw(st.integers(1, 10)):]
    return text


@st.composite
def mutated_document(draw: st.DrawFn, doc: Any) -> Any:
    paths = _paths(doc)
    return _replace(doc, draw(st.sampled_from(paths)), draw(hostile_value))


def _dump_yaml(doc: Any) -> str:
    try:
        return yaml.dump(doc, allow_unicode=True, sort_keys=False, width=1 << 20)
    except (yaml.YAMLError, ValueError):
        return EXAMPLE


def _dump_json(doc: Any) -> str:
    try:
        return json.dumps(doc, allow_nan=True)
    except ValueError:  # an integer past Python's conversion limit
        return SPEC_JSON


yaml_inputs = st.one_of(
    mutated_text(EXAMPLE, hostile_text),
    mutated_document(EXAMPLE_DOC).map(_dump_yaml),
)
json_inputs = st.one_of(
    mutated_text(SPEC_JSON, st.one_of(hostile_text, st.sampled_from(
        ["Infinity", "NaN", "1e400", '"\\ud800"', "[" * 100_000, "9" * 5000]))),
    mutated_document(SPEC_DOC).map(_dump_json),
)
type_inputs = st.one_of(
    mutated_text("dict[str, list[Optional[File[csv]]]]",
                 st.one_of(hostile_text, st.sampled_from(["[", "]", ",", "|", "int"]))),
    st.integers(1, 3000).map(lambda n: "list[" * n + "int" + "]" * n),
    hostile_text,
)


def assert_sound(spec: WorkflowSpec) -> None:
    """A valid spec is plain JSON and loads back to the same spec and version."""
    text = dump_spec(spec)

    def refuse(constant: str) -> None:
        raise AssertionError(f"the spec holds {constant}")

    json.loads(text, parse_constant=refuse)
    again = loads_spec(text)
    assert again == spec
    assert compute_version(again) == compute_version(spec)


@FUZZ
@given(yaml_inputs)
def test_any_yaml_text_is_a_flytepath_error_or_a_sound_spec(text: str) -> None:
    try:
        spec = compile_yaml_text(text, "fuzz.yaml")
    except FlytePathError as exc:
        assert str(exc).startswith("fuzz.yaml") or "fuzz.yaml" in str(exc)
        return
    assert_sound(spec)


@FUZZ
@given(json_inputs)
def test_any_spec_json_is_a_flytepath_error_or_a_sound_spec(text: str) -> None:
    try:
        spec = loads_spec(text, "fuzz.json")
    except FlytePathError as exc:
        assert "fuzz.json" in str(exc)
        return
    assert_sound(spec)


@FUZZ
@given(type_inputs)
def test_any_type_expression_is_a_flytepath_error_or_a_type(text: str) -> None:
    try:
        parse_type(text)
    except FlytePathError:
        pass


@settings(FUZZ, max_examples=400)  # a CLI value takes microseconds
@given(st.sampled_from(["int", "float", "str", "bool", "duration", "json", "list[float]",
                        "Optional[int]", "dict[str, float]", "Union[int, str]"]),
       st.one_of(hostile_text, mutated_text('{"a": [1.5, 2]}', hostile_text)))
def test_any_cli_value_is_a_flytepath_error_or_json(type_text: str, text: str) -> None:
    try:
        value = parse_cli_value(text, parse_type(type_text), "x")
    except FlytePathError as exc:
        assert str(exc).startswith("x: ")
        return
    json.dumps(value, allow_nan=False)
