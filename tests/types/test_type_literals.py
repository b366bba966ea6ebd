"""Literal-type-only helpers: validate, parse CLI text, castability, render, JSON Schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.ir.models import LiteralType
from flytepath_airflow.types import (
    castability_error,
    literal_type_to_json_schema,
    parse_cli_value,
    render_type,
    validate_literal,
)
from flytepath_airflow.types._make import (
    blob_type,
    dataframe_type,
    enum_type,
    field_spec,
    list_type,
    map_type,
    pickled_type,
    simple_type,
    struct_type,
    union_type,
)

INT = simple_type("int")
FLOAT = simple_type("float")
STR = simple_type("str")
BOOL = simple_type("bool")
BYTES = simple_type("bytes")
DATETIME = simple_type("datetime")
DATE = simple_type("date")
DURATION = simple_type("duration")
NONE = simple_type("none")
JSON_T = simple_type("json")
FILE = blob_type("file")
DIRECTORY = blob_type("directory")
SHA = "ab" * 32


def optional(lt: LiteralType) -> LiteralType:
    return union_type([lt, NONE])


ITEM = struct_type(
    "Item",
    "shop:Item",
    [field_spec("name", STR), field_spec("qty", INT, required=False, default=1)],
)
ORDER = struct_type("Order", "shop:Order", [field_spec("items", list_type(ITEM))])
COLOR = enum_type("Color", "paint:Color", ["red", "green"])
COLOR_MORE = enum_type("Colour", "paint:Colour", ["red", "green", "blue"])
LEVEL = enum_type("Level", None, [1, 2])
DF = dataframe_type(None, "pandas:DataFrame")
DF_AB = dataframe_type([field_spec("a", INT), field_spec("b", FLOAT)], "pandas:DataFrame")
DF_A_FLOAT = dataframe_type([field_spec("a", FLOAT)], "pandas:DataFrame")
DF_C = dataframe_type([field_spec("c", STR)], "pandas:DataFrame")
PICKLED = pickled_type("m:Model")


# ------------------------------------------------------------------- validate


@pytest.mark.parametrize(
    ("value", "lt", "expected"),
    [
        (3, INT, 3),
        (3, FLOAT, 3.0),
        ("x", STR, "x"),
        (False, BOOL, False),
        ("AP9hYg==", BYTES, "AP9hYg=="),
        ("2024-05-01T10:00:00Z", DATETIME, "2024-05-01T10:00:00Z"),
        ("2024-05-01", DATE, "2024-05-01"),
        (90, DURATION, 90),
        (1.5, DURATION, 1.5),
        (None, NONE, None),
        ({"any": [1, None]}, JSON_T, {"any": [1, None]}),
        ((1, 2), list_type(INT), [1, 2]),
        ({"a": 1}, map_type(FLOAT), {"a": 1.0}),
        ({"name": "x"}, ITEM, {"name": "x"}),
        ("red", COLOR, "red"),
        (None, optional(INT), None),
        (2, union_type([FLOAT, INT]), 2.0),
        ({"uri": "s3://b/k", "sha256": SHA}, FILE, {"uri": "s3://b/k", "sha256": SHA}),
        (
            {"uri": "s3://b/k", "sha256": SHA},
            DF,
            {"uri": "s3://b/k", "sha256": SHA, "format": "parquet"},
        ),
        (
            {"uri": "s3://b/k", "sha256": SHA, "format": "pickle"},
            PICKLED,
            {"uri": "s3://b/k", "sha256": SHA, "format": "pickle"},
        ),
    ],
)
def test_validate_literal_accepts_and_normalizes(
    value: Any, lt: LiteralType, expected: Any
) -> None:
    got = validate_literal(value, lt)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "lt", "message"),
    [
        (1.5, INT, "value: expected int, got float 1.5. Floats are not truncated to ints."),
        (True, INT, "value: expected int, got bool True."),
        (1, BOOL, "value: expected bool, got int 1. Use true or false."),
        ("2024-13-01", DATE, "value: expected date, got str '2024-13-01'."),
        ("20240501", DATE, "Write dates as ISO 8601, e.g. '2024-05-01'."),
        ("noon", DATETIME, "value: expected datetime, got str 'noon'."),
        ("!!", BYTES, "Bytes are written as a base64 string."),
        ({"a": 1}, list_type(INT), "value: expected list[int], got dict"),
        ({1: 1}, map_type(INT), "value: map keys must be strings, got int 1."),
        ("blue", COLOR, 'value: str \'blue\' is not a value of enum Color; use one of: "red"'),
        (True, LEVEL, "is not a value of enum Level"),
        ({}, ITEM, "value: Item is missing required field(s) name."),
        ({"name": "x", "colour": 1}, ITEM, "value: Item has no field 'colour'; its fields are"),
        ("x", optional(INT), "value: expected Optional[int], got str 'x'."),
        ({"qty": 1}, optional(ITEM), "(as Item: value: Item is missing required field(s) name.)"),
        ({"uri": "u"}, FILE, "value: a File pointer needs 'sha256'"),
        ({"uri": "", "sha256": SHA}, FILE, "needs a non-empty string 'uri'"),
        ({"uri": "u", "sha256": SHA, "size": 3}, FILE, "got also size"),
        ({"uri": "u", "sha256": SHA, "format": "csv"}, DF, "must have format 'parquet'"),
        ({1, 2}, JSON_T, "value: expected a JSON value"),
    ],
)
def test_validate_literal_rejects_with_a_message(value: Any, lt: LiteralType, message: str) -> None:
    with pytest.raises(LiteralValueError) as err:
        validate_literal(value, lt)
    assert message in str(err.value)


def test_validate_literal_error_path_points_inside_nested_values() -> None:
    value = {"items": [{"name": "a"}, {"name": "b"}, {"name": 3}]}
    with pytest.raises(LiteralValueError, match=r"^value\.items\[2\]\.name: expected str"):
        validate_literal(value, ORDER)
    with pytest.raises(LiteralValueError, match=r'^cfg\["k"\]\[0\]: expected int'):
        validate_literal({"k": ["x"]}, map_type(list_type(INT)), path="cfg")


def test_validate_literal_can_drop_unknown_struct_fields() -> None:
    got = validate_literal({"name": "x", "extra": 1}, ITEM, unknown_fields="drop")
    assert got == {"name": "x"}


# ------------------------------------------------------------------------ CLI


@pytest.mark.parametrize(
    ("text", "lt", "expected"),
    [
        ("hello world", STR, "hello world"),
        ("42", STR, "42"),
        ("null", STR, "null"),
        ("42", INT, 42),
        (" -7 ", INT, -7),
        ("0.25", FLOAT, 0.25),
        ("3", FLOAT, 3.0),
        ("true", BOOL, True),
        ("False", BOOL, False),
        ("1", BOOL, True),
        ("0", BOOL, False),
        ("2024-05-01T10:00:00+02:00", DATETIME, "2024-05-01T10:00:00+02:00"),
        ("2024-05-01", DATE, "2024-05-01"),
        ("90", DURATION, 90),
        ("1.5", DURATION, 1.5),
        ("90s", DURATION, 90),
        ("5m", DURATION, 300),
        ("1h30m", DURATION, 5400),
        ("2d", DURATION, 172800),
        ("1.5h", DURATION, 5400),
        ("-10s", DURATION, -10),
        ("AP9hYg==", BYTES, "AP9hYg=="),
        ("hello", optional(STR), "hello"),
        ("null", optional(STR), None),
        ("7", optional(INT), 7),
        ("null", optional(INT), None),
        ("42", union_type([INT, STR]), 42),
        ("abc", union_type([INT, STR]), "abc"),
        ("42", union_type([STR, INT]), "42"),
        ("[1, 2]", list_type(INT), [1, 2]),
        ('{"a": 0.5}', map_type(FLOAT), {"a": 0.5}),
        ('{"name": "pen", "qty": 2}', ITEM, {"name": "pen", "qty": 2}),
        ("red", COLOR, "red"),
        ('"red"', COLOR, "red"),
        ("2", LEVEL, 2),
        ('{"a": [1, "x"]}', JSON_T, {"a": [1, "x"]}),
        ("null", NONE, None),
        (f'{{"uri": "s3://b/k", "sha256": "{SHA}"}}', FILE, {"uri": "s3://b/k", "sha256": SHA}),
    ],
)
def test_parse_cli_value(text: str, lt: LiteralType, expected: Any) -> None:
    got = parse_cli_value(text, lt)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("text", "lt", "message"),
    [
        ("4.5", INT, "value: expected int, got '4.5'; write an integer like 42."),
        ("yes", BOOL, "write true, false, 1 or 0"),
        ("soon", DURATION, "a duration like 90s, 5m, 1h30m, 2d"),
        ("5x", DURATION, "a duration like"),
        ("", DURATION, "a duration like"),
        ("nan", DURATION, "at most 100 years"),
        ("1e300", DURATION, "at most 100 years"),
        ("yesterday", DATETIME, "expected datetime"),
        ("[1,", list_type(INT), "is not JSON"),
        ('["a"]', list_type(INT), "value[0]: expected int"),
        ("blue", COLOR, "is not a value of enum Color"),
        ("x", optional(INT), "is not a valid Optional[int]"),
        ("hello", JSON_T, "Quote the value for your shell"),
    ],
)
def test_parse_cli_value_rejects_with_a_message(text: str, lt: LiteralType, message: str) -> None:
    with pytest.raises(LiteralValueError) as err:
        parse_cli_value(text, lt)
    assert message in str(err.value)


# --------------------------------------------------------------- castability

ITEM_V2 = struct_type(
    "ItemV2",
    "shop:ItemV2",
    [field_spec("name", STR), field_spec("qty", INT), field_spec("note", STR)],
)
ITEM_QTY_STR = struct_type("Other", "x:Other", [field_spec("name", STR), field_spec("qty", STR)])
NAME_ONLY = struct_type("NameOnly", "x:NameOnly", [field_spec("name", STR)])
ITEM_RENAMED_CLASS = struct_type("Item", "shop:Item", [field_spec("sku", INT)])

CASTABLE = [
    (INT, INT),
    (INT, FLOAT),
    (NONE, optional(INT)),
    (INT, optional(INT)),
    (INT, optional(FLOAT)),
    (optional(INT), optional(FLOAT)),
    (union_type([INT, STR]), union_type([STR, INT, BOOL])),
    (list_type(INT), list_type(FLOAT)),
    (map_type(list_type(INT)), map_type(list_type(FLOAT))),
    (INT, JSON_T),
    (ITEM, JSON_T),
    (list_type(optional(STR)), JSON_T),
    (NONE, JSON_T),
    (ITEM_V2, ITEM),
    (ITEM_V2, NAME_ONLY),
    (ITEM, NAME_ONLY),
    (NAME_ONLY, ITEM),
    (ITEM_RENAMED_CLASS, ITEM),
    (COLOR, COLOR_MORE),
    (LEVEL, LEVEL),
    (DF_AB, DF),
    (DF, DF_AB),
    (DF_AB, DF_A_FLOAT),
    (FILE, FILE),
    (blob_type("file", "csv"), FILE),
    (DIRECTORY, DIRECTORY),
    (PICKLED, PICKLED),
]

NOT_CASTABLE = [
    (FLOAT, INT, "float cannot be used as int"),
    (STR, INT, "str cannot be used as int"),
    (BOOL, INT, "bool cannot be used as int"),
    (optional(INT), INT, "variant None of Optional[int]: None cannot be used as int"),
    (NONE, INT, "make the input Optional"),
    (STR, optional(INT), "str fits none of the variants of Optional[int]"),
    (list_type(FLOAT), list_type(INT), "list item: float cannot be used as int"),
    (map_type(STR), map_type(INT), "dict value: str cannot be used as int"),
    (list_type(INT), map_type(INT), "list[int] cannot be used as dict[str, int]"),
    (JSON_T, INT, "JSON cannot be used as int"),
    (FILE, JSON_T, "File cannot be used as JSON"),
    (list_type(DF), JSON_T, "DataFrame cannot be used as JSON"),
    (PICKLED, JSON_T, "cannot be used as JSON"),
    (NAME_ONLY, ITEM_V2, "field 'qty' of ItemV2 is missing from NameOnly"),
    (ITEM_QTY_STR, ITEM, "field 'qty': str cannot be used as int"),
    (ITEM, ITEM_V2, "field 'note' of ItemV2 is missing from Item"),
    (COLOR_MORE, COLOR, 'value(s) "blue" of Colour are not values of Color'),
    (LEVEL, COLOR, "are not values of Color"),
    (DF_C, DF_AB, "column 'a' of DataFrame[a: int, b: float] is missing"),
    (DF_A_FLOAT, dataframe_type([field_spec("a", INT)], None), "column 'a': float cannot"),
    (PICKLED, pickled_type("m:Other"), "different classes"),
    (PICKLED, DF, "Pickled[m:Model] cannot be used as DataFrame"),
    (FILE, DIRECTORY, "File cannot be used as Directory"),
    (DIRECTORY, FILE, "Directory cannot be used as File"),
    (ITEM, STR, "Item cannot be used as str"),
]


@pytest.mark.parametrize(("src", "dst"), CASTABLE)
def test_castable_pairs(src: LiteralType, dst: LiteralType) -> None:
    assert castability_error(src, dst) is None


@pytest.mark.parametrize(("src", "dst", "reason"), NOT_CASTABLE)
def test_not_castable_pairs_say_why(src: LiteralType, dst: LiteralType, reason: str) -> None:
    err = castability_error(src, dst)
    assert err is not None
    assert reason in err


def test_optional_target_field_present_in_source_must_still_be_castable() -> None:
    dst = struct_type("D", None, [field_spec("x", INT, required=False)])
    src = struct_type("S", None, [field_spec("x", STR)])
    assert castability_error(src, dst) == "field 'x': str cannot be used as int"
    assert castability_error(struct_type("E", None, []), dst) is None


# ------------------------------------------------------------------------ render


@pytest.mark.parametrize(
    ("lt", "text"),
    [
        (INT, "int"),
        (DURATION, "timedelta"),
        (NONE, "None"),
        (JSON_T, "JSON"),
        (list_type(STR), "list[str]"),
        (optional(INT), "Optional[int]"),
        (union_type([NONE, INT]), "Optional[int]"),
        (union_type([INT, STR]), "Union[int, str]"),
        (union_type([INT, STR, NONE]), "Optional[Union[int, str]]"),
        (map_type(FLOAT), "dict[str, float]"),
        (struct_type("Metrics", "m:Metrics", []), "Metrics"),
        (COLOR, "Color"),
        (DF, "DataFrame"),
        (DF_AB, "DataFrame[a: int, b: float]"),
        (FILE, "File"),
        (blob_type("file", "csv"), "File[csv]"),
        (DIRECTORY, "Directory"),
        (PICKLED, "Pickled[m:Model]"),
        (map_type(list_type(optional(ITEM))), "dict[str, list[Optional[Item]]]"),
    ],
)
def test_render_type_reads_like_python(lt: LiteralType, text: str) -> None:
    assert render_type(lt) == text


# ------------------------------------------------------------------- JSON Schema

SCHEMA_CASES: list[tuple[LiteralType, list[Any], list[Any]]] = [
    (INT, [0, -5], [1.5, "1", True, None]),
    (FLOAT, [1, 2.5], ["1", False]),
    (STR, ["", "x"], [1, None]),
    (BOOL, [True], [1, "true"]),
    (DATETIME, ["2024-05-01T10:00:00Z"], [5]),
    (DATE, ["2024-05-01"], [5, "20240501"]),
    (DURATION, [90, 1.5], ["90s"]),
    (BYTES, ["AP9hYg=="], [3]),
    (NONE, [None], [0]),
    (JSON_T, [None, 1, "x", [1], {"a": {}}], []),
    (list_type(INT), [[], [1, 2]], [[1.5], {"a": 1}]),
    (map_type(BOOL), [{}, {"a": True}], [{"a": 1}, []]),
    (ITEM, [{"name": "x"}, {"name": "x", "qty": 2}], [{}, {"name": 1}, {"name": "x", "z": 1}]),
    (COLOR, ["red"], ["blue", 1]),
    (optional(INT), [None, 3], ["3", 1.5]),
    (optional(DATETIME), [None, "2024-05-01T10:00:00Z"], [3]),
    (optional(JSON_T), [None, {"a": 1}], []),
    (union_type([INT, STR]), [1, "a"], [None, 1.5]),
    (optional(ITEM), [None, {"name": "x"}], [{"qty": 1}]),
    (FILE, [{"uri": "s3://b/k", "sha256": SHA}], [{"uri": "u"}, {"uri": "u", "sha256": "x"}]),
    (
        DF,
        [{"uri": "u", "sha256": SHA, "format": "parquet"}, {"uri": "u", "sha256": SHA}],
        [{"uri": "u", "sha256": SHA, "format": "csv"}],
    ),
    (PICKLED, [{"uri": "u", "sha256": SHA, "format": "pickle"}], [{"sha256": SHA}]),
]


@pytest.mark.parametrize(("lt", "good", "bad"), SCHEMA_CASES)
def test_json_schema_accepts_valid_literals_and_rejects_invalid_ones(
    lt: LiteralType, good: list[Any], bad: list[Any]
) -> None:
    schema = literal_type_to_json_schema(lt)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    jsonschema.Draft202012Validator.check_schema(schema)
    for value in good:
        validator.validate(value)
        validate_literal(value, lt)  # the schema and the validator agree
    for value in bad:
        assert not validator.is_valid(value), value


def test_json_schema_of_simple_optional_is_a_type_list_for_forms() -> None:
    assert literal_type_to_json_schema(optional(INT)) == {"type": ["integer", "null"]}
    assert literal_type_to_json_schema(optional(DATE)) == {
        "type": ["string", "null"],
        "format": "date",
    }


def test_json_schema_shapes() -> None:
    assert literal_type_to_json_schema(INT) == {"type": "integer"}
    assert literal_type_to_json_schema(JSON_T) == {}
    assert literal_type_to_json_schema(list_type(STR)) == {
        "type": "array",
        "items": {"type": "string"},
    }
    assert literal_type_to_json_schema(COLOR) == {"title": "Color", "enum": ["red", "green"]}
    item = literal_type_to_json_schema(ITEM)
    assert item["required"] == ["name"]
    assert item["properties"]["qty"] == {"type": "integer", "default": 1}
    assert literal_type_to_json_schema(union_type([INT, STR])) == {
        "anyOf": [{"type": "integer"}, {"type": "string"}]
    }
    blob = literal_type_to_json_schema(FILE)
    assert blob["required"] == ["uri", "sha256"] and blob["type"] == "object"
