"""Malformed spec JSON found by fuzzing: each is a SpecError naming the field (or the
position), never a traceback, and no spec holds a number JSON cannot write (ADR 0036)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from flytepath_airflow.errors import SpecError
from flytepath_airflow.ir.models import WorkflowSpec
from flytepath_airflow.ir.spec_io import dump_spec, load_spec, loads_spec

INT = {"kind": "simple", "name": "int"}
FLOAT = {"kind": "simple", "name": "float"}


def document() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "name": "wf",
        "interface": {"inputs": [{"name": "n", "type": FLOAT, "default": 1.5}],
                      "outputs": [{"name": "total", "type": INT}]},
        "tasks": {"add": {"name": "add", "fn": "pkg.mod:add", "code_digest": "abc",
                          "timeout": 60,
                          "interface": {"inputs": [{"name": "x", "type": FLOAT}],
                                        "outputs": [{"name": "o0", "type": INT}]}}},
        "nodes": [{"id": "add", "task": "add",
                   "inputs": {"x": {"kind": "input", "name": "n"}}}],
        "outputs": {"total": {"kind": "output", "node": "add", "output": "o0"}},
    }


def text_with(old: str, new: str) -> str:
    text = json.dumps(document())
    assert old in text, old
    return text.replace(old, new, 1)


DEFAULT = re.compile(r"interface\.inputs(\.0|\[0\])\.default")
"""The field of the first input's default, as a model error or the JSON reader names it."""


def load_error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        loads_spec(text, "wf.json")
    return str(info.value)


def test_the_document_loads_and_round_trips() -> None:
    spec = loads_spec(json.dumps(document()))
    assert loads_spec(dump_spec(spec)) == spec


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1e400"])
def test_a_non_finite_default_is_refused_with_its_field(number: str) -> None:
    # Before: Infinity loaded, was dumped as null, and the reload failed; a spec with
    # Infinity and one with null got the same version.
    message = load_error(text_with('"default": 1.5', f'"default": {number}'))
    assert message.startswith("wf.json") and DEFAULT.search(message), message
    assert "not finite; JSON has no infinity or NaN" in message


def test_a_non_finite_timeout_is_refused() -> None:
    message = load_error(text_with('"timeout": 60', '"timeout": Infinity'))
    assert "tasks.add.timeout" in message


@pytest.mark.parametrize("timeout", ["1e300", "31536001"])
def test_a_timeout_over_365_days_is_refused(timeout: str) -> None:
    # Before: 1e300 loaded; timedelta() overflowed when Airflow parsed the DAG.
    message = load_error(text_with('"timeout": 60', f'"timeout": {timeout}'))
    assert "tasks.add.timeout" in message and "less than or equal to 31536000" in message


def test_an_integer_of_5000_digits_is_refused_with_its_field() -> None:
    # Before: ValueError from Python's int/str conversion limit.
    message = load_error(text_with('"default": 1.5', '"default": ' + "9" * 5000))
    assert message.startswith("wf.json") and DEFAULT.search(message), message
    assert "64 bits" in message


def test_an_integer_past_64_bits_is_refused() -> None:
    message = load_error(text_with('"default": 1.5', f'"default": {2 ** 63}'))
    assert DEFAULT.search(message) and "64 bits" in message, message


def test_deep_nesting_is_refused() -> None:
    # Before: RecursionError from the JSON decoder.
    message = load_error(text_with('"default": 1.5', '"default": ' + "[" * 100_000
                                   + "]" * 100_000))
    assert "nests more than 256 levels" in message


def test_nesting_under_the_decoder_limit_is_still_bounded() -> None:
    message = load_error(text_with('"default": 1.5', '"default": ' + "[" * 300 + "]" * 300))
    assert DEFAULT.search(message) and "more than 256 levels" in message, message


def test_an_escaped_lone_surrogate_is_refused_with_its_field() -> None:
    # Before: the spec loaded, then hashing it raised UnicodeEncodeError.
    message = load_error(text_with('"name": "wf"', '"name": "w\\udfff"'))
    assert message.startswith("wf.json: name: the text holds U+DFFF (a lone surrogate)"), message


def test_a_spec_file_with_infinity_is_refused(tmp_path: Any) -> None:
    path = tmp_path / "wf.json"
    path.write_text(text_with('"default": 1.5', '"default": Infinity'), encoding="utf-8")
    with pytest.raises(SpecError, match=DEFAULT):
        load_spec(path)


def test_the_models_refuse_infinity_from_python() -> None:
    # A spec built in Python (the SDK's path) obeys the same rule as one read from JSON.
    doc = document()
    doc["interface"]["inputs"][0]["default"] = float("inf")
    with pytest.raises(ValidationError, match="not finite"):
        WorkflowSpec.model_validate(doc)
    doc = document()
    doc["tasks"]["add"]["timeout"] = float("inf")
    with pytest.raises(ValidationError, match="finite"):
        WorkflowSpec.model_validate(doc)


def test_a_spec_file_that_is_not_utf8_is_refused(tmp_path: Any) -> None:
    # Before: UnicodeDecodeError escaped from load_spec with a traceback.
    path = tmp_path / "wf.json"
    path.write_bytes(json.dumps(document()).encode()[:40] + b"\xff\xfe" + b"}")
    with pytest.raises(SpecError, match=r"byte 41 is not UTF-8"):
        load_spec(path)


@pytest.mark.parametrize(("option", "value"), [
    ("priority_weight", 2 ** 40), ("priority_weight", -(2 ** 40)), ("pool_slots", 2 ** 31)])
def test_an_airflow_option_past_a_32_bit_column_is_refused_with_its_field(
        option: str, value: int) -> None:
    # Before: any 64-bit value loaded, though Airflow keeps these in 32-bit columns.
    doc = document()
    doc["nodes"][0]["airflow"] = {option: value}
    message = load_error(json.dumps(doc))
    assert f"nodes.0.airflow.{option}" in message and "2147483647" in message
    doc["nodes"][0]["airflow"] = {option: 2 ** 31 - 1}
    assert loads_spec(json.dumps(doc)).nodes[0].airflow is not None
