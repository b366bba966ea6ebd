"""`--input name=value` text found by fuzzing: each is a LiteralValueError naming the input,
never a traceback, and no parsed value is a number JSON cannot write (ADR 0036)."""

from __future__ import annotations

import json

import pytest

from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.translators.yaml import parse_type
from flytepath_airflow.types.cli_values import parse_cli_value


@pytest.mark.parametrize(("type_text", "text"), [
    ("float", "inf"), ("float", "nan"), ("float", "1e400"), ("float", "-Infinity"),
    ("Optional[float]", "nan"), ("json", "NaN"), ("json", '{"a": Infinity}'),
    ("list[float]", "[1e400]"), ("dict[str, float]", '{"a": NaN}'),
])
def test_a_non_finite_number_is_refused(type_text: str, text: str) -> None:
    # Before: inf and nan were accepted and stored as values JSON cannot write.
    with pytest.raises(LiteralValueError, match=r"^n: "):
        parse_cli_value(text, parse_type(type_text), "n")


@pytest.mark.parametrize(("type_text", "text"), [
    ("int", "9" * 5000), ("int", str(2 ** 63)), ("json", "9" * 5000), ("list[int]", f"[{2**63}]"),
])
def test_an_integer_past_64_bits_is_refused(type_text: str, text: str) -> None:
    with pytest.raises(LiteralValueError, match="64 bits"):
        parse_cli_value(text, parse_type(type_text), "n")


def test_deep_json_is_refused() -> None:
    # Before: RecursionError from the JSON decoder.
    with pytest.raises(LiteralValueError, match="nests more than 256 levels"):
        parse_cli_value("[" * 100_000 + "]" * 100_000, parse_type("json"), "n")


@pytest.mark.parametrize(("type_text", "text"), [("str", "a\ud800"), ("json", '"\\ud800"')])
def test_a_lone_surrogate_is_refused(type_text: str, text: str) -> None:
    # Before: accepted; hashing the inputs for the cache key raised UnicodeEncodeError.
    with pytest.raises(LiteralValueError, match="lone surrogate"):
        parse_cli_value(text, parse_type(type_text), "n")


@pytest.mark.parametrize("text", ["1e300", "99999999999d", "inf"])
def test_a_duration_over_100_years_is_refused(text: str) -> None:
    with pytest.raises(LiteralValueError, match="at most 100 years"):
        parse_cli_value(text, parse_type("duration"), "n")


def test_values_within_the_bounds_parse() -> None:
    assert parse_cli_value(str(2 ** 63 - 1), parse_type("int"), "n") == 2 ** 63 - 1
    assert parse_cli_value("1e308", parse_type("float"), "n") == 1e308
    assert json.dumps(parse_cli_value('{"a": [1.5]}', parse_type("json"), "n"))
