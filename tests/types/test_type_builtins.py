"""Builtin transformers: scalars, JSON, enums, lists, dicts, unions, dataclasses, pydantic."""

# The tests exercise typing.Optional / typing.Union / typing.List spellings on purpose.
# ruff: noqa: UP006, UP007, UP045

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import typing
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, Union

import pydantic
import pytest

from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.ir.models import (
    EnumType,
    FieldSpec,
    ListType,
    MapType,
    SimpleType,
    StructType,
    UnionType,
)
from flytepath_airflow.types import (
    JSON,
    TypeEngine,
    UnsupportedTypeError,
    validate_literal,
)


def roundtrip(engine: TypeEngine, value: Any, py_type: Any) -> tuple[Any, Any]:
    """Encode, pass through real JSON text, decode; return (literal, value back)."""
    literal = engine.to_literal(value, py_type)
    literal = json.loads(json.dumps(literal))
    return literal, engine.to_python(literal, py_type)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mixed(enum.Enum):
    A = "a"
    B = 2


class BadEnum(enum.Enum):
    A = 1.5


@dataclasses.dataclass
class Point:
    x: float
    y: float


@dataclasses.dataclass
class Run:
    name: str
    color: Color
    points: list[Point]
    best: Optional[Point] = None
    tags: dict[str, int] = dataclasses.field(default_factory=dict)
    started: Optional[dt.datetime] = None
    derived: int = dataclasses.field(default=0, init=False)


@dataclasses.dataclass(frozen=True)
class Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n must be >= 0")


@dataclasses.dataclass
class WithAny:
    meta: dict[str, Any]


@dataclasses.dataclass
class Node:
    children: list[Node]


class Metrics(pydantic.BaseModel):
    accuracy: float
    labels: list[str] = []
    color: Color = Color.RED
    point: Optional[Point] = None


class Config(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)

    id: uuid.UUID
    price: Decimal
    mode: Literal["fast", "slow"] = "fast"
    extra: dict[str, Any] = {}
    metrics: Metrics
    renamed: int = pydantic.Field(default=1, alias="Renamed")


class Opaque:
    pass


class HoldsOpaque(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)

    thing: Opaque


# ---------------------------------------------------------------------- scalars

SCALAR_CASES = [
    (int, 7, 7),
    (int, -(2**70), -(2**70)),
    (float, 1.5, 1.5),
    (str, "héllo", "héllo"),
    (bool, True, True),
    (bytes, b"\x00\xffab", "AP9hYg=="),
    (dt.datetime, dt.datetime(2024, 5, 1, 12, 30), "2024-05-01T12:30:00"),
    (
        dt.datetime,
        dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "2024-05-01T12:30:00+02:00",
    ),
    (dt.date, dt.date(2024, 5, 1), "2024-05-01"),
    (dt.timedelta, dt.timedelta(minutes=90), 5400),
    (dt.timedelta, dt.timedelta(seconds=1.5), 1.5),
    (dt.timedelta, dt.timedelta(seconds=-0.5), -0.5),
    (type(None), None, None),
    (None, None, None),
]


@pytest.mark.parametrize(("py_type", "value", "literal"), SCALAR_CASES)
def test_scalar_roundtrip_uses_the_documented_literal(
    engine: TypeEngine, py_type: Any, value: Any, literal: Any
) -> None:
    got, back = roundtrip(engine, value, py_type)
    assert got == literal
    assert type(got) is type(literal)
    assert back == value
    assert type(back) is type(value)


def test_datetime_keeps_its_utc_offset(engine: TypeEngine) -> None:
    value = dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    _, back = roundtrip(engine, value, dt.datetime)
    assert back.utcoffset() == dt.timedelta(hours=-5)


def test_datetime_decodes_a_trailing_z_as_utc(engine: TypeEngine) -> None:
    back = engine.to_python("2024-01-01T00:00:00Z", dt.datetime)
    assert back == dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def test_float_accepts_an_int_value_and_an_int_literal(engine: TypeEngine) -> None:
    assert engine.to_literal(3, float) == 3.0
    back = engine.to_python(3, float)
    assert back == 3.0 and type(back) is float


@pytest.mark.parametrize(
    ("py_type", "literal"),
    [
        (int, 1.5),
        (int, True),
        (int, "1"),
        (float, True),
        (float, "1.0"),
        (bool, 1),
        (bool, "true"),
        (str, 1),
        (bytes, "not base64!"),
        (dt.datetime, "yesterday"),
        (dt.date, "2024-05-01T00:00:00"),
        (dt.timedelta, "90s"),
        (dt.timedelta, True),
        (type(None), 0),
    ],
)
def test_decode_is_strict(engine: TypeEngine, py_type: Any, literal: Any) -> None:
    with pytest.raises(LiteralValueError):
        engine.to_python(literal, py_type)


@pytest.mark.parametrize(
    ("py_type", "value"),
    [
        (int, True),
        (int, 1.0),
        (float, False),
        (float, "1"),
        (bool, 0),
        (str, b"x"),
        (bytes, "x"),
        (dt.datetime, dt.date(2024, 1, 1)),
        (dt.date, dt.datetime(2024, 1, 1)),
        (dt.timedelta, 5),
        (type(None), 0),
    ],
)
def test_encode_is_strict(engine: TypeEngine, py_type: Any, value: Any) -> None:
    with pytest.raises(LiteralValueError):
        engine.to_literal(value, py_type)


def test_value_error_names_the_place_the_expected_type_and_the_value(
    engine: TypeEngine,
) -> None:
    with pytest.raises(LiteralValueError) as err:
        engine.to_literal("abc", int, name="o0")
    assert str(err.value) == "o0: expected int, got str 'abc'."


def test_literal_types_of_scalars(engine: TypeEngine) -> None:
    names = {
        int: "int",
        float: "float",
        str: "str",
        bool: "bool",
        bytes: "bytes",
        dt.datetime: "datetime",
        dt.date: "date",
        dt.timedelta: "duration",
        type(None): "none",
        None: "none",
        JSON: "json",
    }
    for py_type, name in names.items():
        assert engine.to_literal_type(py_type) == SimpleType(name=name)


# ------------------------------------------------------------------------- JSON


def test_json_passes_any_json_value_through(engine: TypeEngine) -> None:
    value = {"a": [1, 2.5, None, True, "x"], "b": {"c": []}}
    assert roundtrip(engine, value, JSON) == (value, value)


def test_json_turns_tuples_into_lists(engine: TypeEngine) -> None:
    assert engine.to_literal({"a": (1, 2)}, JSON) == {"a": [1, 2]}


def test_json_rejects_values_that_are_not_json_and_says_where(engine: TypeEngine) -> None:
    with pytest.raises(LiteralValueError, match=r'cfg\["a"\]\[1\]: expected a JSON value'):
        engine.to_literal({"a": [1, {2}]}, JSON, name="cfg")
    with pytest.raises(LiteralValueError, match="keys must be strings"):
        engine.to_literal({1: 2}, JSON)


# ------------------------------------------------------------------------ enums


def test_enum_literal_type_lists_member_values(engine: TypeEngine) -> None:
    lt = engine.to_literal_type(Color)
    assert lt == EnumType(
        name="Color", python_type=f"{__name__}:Color", values=("red", "green")
    )


@pytest.mark.parametrize(("py_type", "member"), [(Color, Color.GREEN), (Level, Level.HIGH),
                                                 (Mixed, Mixed.B)])
def test_enum_roundtrip_uses_the_member_value(
    engine: TypeEngine, py_type: Any, member: enum.Enum
) -> None:
    literal, back = roundtrip(engine, member, py_type)
    assert literal == member.value
    assert back is member


def test_enum_decode_does_not_confuse_1_with_true_or_text(engine: TypeEngine) -> None:
    with pytest.raises(LiteralValueError):
        engine.to_python(True, Level)
    with pytest.raises(LiteralValueError):
        engine.to_python("1", Level)


def test_enum_encode_takes_members_only(engine: TypeEngine) -> None:
    with pytest.raises(LiteralValueError, match=r"Pass a member \(RED, GREEN\)"):
        engine.to_literal("red", Color)


def test_enum_with_float_values_is_unsupported_and_says_why(engine: TypeEngine) -> None:
    with pytest.raises(UnsupportedTypeError, match="enum values must be str or int") as err:
        engine.to_literal_type(BadEnum)
    assert err.value.py_type is BadEnum


# --------------------------------------------------------------- lists and dicts


def test_list_and_dict_literal_types(engine: TypeEngine) -> None:
    assert engine.to_literal_type(list[int]) == ListType(item=SimpleType(name="int"))
    assert engine.to_literal_type(typing.List[str]) == ListType(
        item=SimpleType(name="str")
    )
    assert engine.to_literal_type(dict[str, float]) == MapType(value=SimpleType(name="float"))
    assert engine.to_literal_type(typing.Dict[str, int]) == MapType(
        value=SimpleType(name="int")
    )


def test_nested_containers_roundtrip(engine: TypeEngine) -> None:
    py_type = dict[str, list[Optional[dict[str, dt.date]]]]
    value = {"a": [None, {"d": dt.date(2020, 2, 29)}], "b": []}
    literal, back = roundtrip(engine, value, py_type)
    assert literal == {"a": [None, {"d": "2020-02-29"}], "b": []}
    assert back == value


def test_list_accepts_a_tuple_value(engine: TypeEngine) -> None:
    assert engine.to_literal((1, 2), list[int]) == [1, 2]


def test_list_error_names_the_item_index(engine: TypeEngine) -> None:
    with pytest.raises(LiteralValueError, match=r"^xs\[2\]: expected int, got str 'x'"):
        engine.to_literal([1, 2, "x"], list[int], name="xs")


def test_dict_with_int_keys_is_unsupported_and_says_keys_must_be_str(
    engine: TypeEngine,
) -> None:
    with pytest.raises(UnsupportedTypeError, match="map keys must be str") as err:
        engine.to_literal_type(dict[int, str])
    assert err.value.py_type == dict[int, str]


def test_dict_value_with_non_str_key_is_rejected(engine: TypeEngine) -> None:
    with pytest.raises(LiteralValueError, match="keys must be str"):
        engine.to_literal({1: 1}, dict[str, int])


@pytest.mark.parametrize("py_type", [list, dict, typing.List, typing.Dict])
def test_bare_containers_are_unsupported_with_a_suggestion(
    engine: TypeEngine, py_type: Any
) -> None:
    with pytest.raises(UnsupportedTypeError, match=r"has no (item|value) type.*JSON"):
        engine.to_literal_type(py_type)


# ------------------------------------------------------------------------- unions


def test_optional_and_pipe_union_have_the_same_literal_type(engine: TypeEngine) -> None:
    expected = UnionType(variants=(SimpleType(name="int"), SimpleType(name="none")))
    assert engine.to_literal_type(Optional[int]) == expected
    assert engine.to_literal_type(int | None) == expected
    assert engine.to_literal_type(Union[int, None]) == expected


def test_union_uses_the_first_variant_that_accepts_the_value(engine: TypeEngine) -> None:
    assert roundtrip(engine, 1, Union[int, float]) == (1, 1)
    assert roundtrip(engine, 1.5, Union[int, float]) == (1.5, 1.5)
    literal, back = roundtrip(engine, 1, Union[float, int])
    assert literal == 1.0 and type(back) is float
    assert roundtrip(engine, True, Union[int, bool]) == (True, True)
    assert roundtrip(engine, "1", Union[int, str]) == ("1", "1")
    assert roundtrip(engine, None, Optional[Point]) == (None, None)


@pytest.mark.parametrize(
    ("py_type", "value", "earlier"),
    [
        (Union[str, dt.date], dt.date(2024, 1, 1), "str"),
        (Union[Color, str], "red", f"{__name__}.Color"),
        (Union[dt.timedelta, float], 1.5, "datetime.timedelta"),
        (Union[dict[str, float], Point], Point(1.0, 2.0), "dict[str, float]"),
    ],
)
def test_union_refuses_a_value_that_would_come_back_as_an_earlier_variant(
    engine: TypeEngine, py_type: Any, value: Any, earlier: str
) -> None:
    with pytest.raises(LiteralValueError, match="would be read back as") as err:
        engine.to_literal(value, py_type, name="o")
    assert f"the earlier variant {earlier} also accepts" in str(err.value)


def test_union_in_the_right_order_roundtrips_each_variant(engine: TypeEngine) -> None:
    py_type = Union[dt.date, Color, str]
    for value in (dt.date(2024, 1, 1), Color.RED, "plain"):
        assert roundtrip(engine, value, py_type)[1] == value


def test_union_error_names_the_union_and_the_value(engine: TypeEngine) -> None:
    with pytest.raises(LiteralValueError) as err:
        engine.to_literal(b"x", Union[int, str], name="o")
    assert str(err.value) == "o: expected Union[int, str], got bytes b'x'."


def test_union_error_keeps_reasons_from_inside_a_variant(engine: TypeEngine) -> None:
    with pytest.raises(LiteralValueError) as err:
        engine.to_literal(Point("a", 1.0), Union[Point, int], name="o")  # type: ignore[arg-type]
    assert f"(as {__name__}.Point: o.x: expected float, got str 'a'.)" in str(err.value)
    with pytest.raises(LiteralValueError, match=r"\(as Point: value: Point is missing"):
        engine.to_python({"y": 1}, Optional[Point])


# ------------------------------------------------------------------- dataclasses


def test_dataclass_literal_type_describes_fields_defaults_and_class(
    engine: TypeEngine,
) -> None:
    lt = engine.to_literal_type(Run)
    assert isinstance(lt, StructType)
    assert lt.name == "Run"
    assert lt.python_type == f"{__name__}:Run"
    by_name = {f.name: f for f in lt.fields}
    assert list(by_name) == ["name", "color", "points", "best", "tags", "started"]
    assert by_name["name"] == FieldSpec(name="name", type=SimpleType(name="str"))
    assert by_name["best"].required is False and by_name["best"].default is None
    assert by_name["tags"].required is False and by_name["tags"].default == {}
    assert by_name["points"].type == ListType(item=engine.to_literal_type(Point))


def test_dataclass_with_nested_dataclasses_enums_and_optionals_roundtrips(
    engine: TypeEngine,
) -> None:
    run = Run(
        name="r1",
        color=Color.GREEN,
        points=[Point(0.0, 1.5), Point(-2.0, 3.0)],
        best=Point(1.0, 1.0),
        tags={"epoch": 3},
        started=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
    )
    literal, back = roundtrip(engine, run, Run)
    assert literal == {
        "name": "r1",
        "color": "green",
        "points": [{"x": 0.0, "y": 1.5}, {"x": -2.0, "y": 3.0}],
        "best": {"x": 1.0, "y": 1.0},
        "tags": {"epoch": 3},
        "started": "2024-01-02T03:04:05+00:00",
    }
    assert back == run


def test_dataclass_decode_fills_missing_optional_fields_with_defaults(
    engine: TypeEngine,
) -> None:
    back = engine.to_python({"name": "r", "color": "red", "points": []}, Run)
    assert back == Run(name="r", color=Color.RED, points=[])


def test_dataclass_decode_ignores_keys_that_are_not_fields(engine: TypeEngine) -> None:
    assert engine.to_python({"x": 1, "y": 2, "z": 3}, Point) == Point(1.0, 2.0)


def test_dataclass_decode_names_missing_required_fields(engine: TypeEngine) -> None:
    with pytest.raises(LiteralValueError, match="missing required field"):
        engine.to_python({"x": 1}, Point)


def test_dataclass_error_path_names_the_nested_field(engine: TypeEngine) -> None:
    run = Run(name="r", color=Color.RED, points=[Point(1, 2), Point("a", 2)])  # type: ignore[arg-type]
    with pytest.raises(LiteralValueError, match=r"^o0\.points\[1\]\.x: expected float"):
        engine.to_literal(run, Run, name="o0")


def test_dataclass_encode_rejects_a_dict_and_says_to_build_the_class(
    engine: TypeEngine,
) -> None:
    with pytest.raises(LiteralValueError, match=r"Build a Point\(\.\.\.\) from the dict"):
        engine.to_literal({"x": 1.0, "y": 2.0}, Point)


def test_dataclass_constructor_errors_become_literal_errors(engine: TypeEngine) -> None:
    with pytest.raises(LiteralValueError, match="n must be >= 0"):
        engine.to_python({"n": -1}, Checked)


def test_unsupported_field_type_error_says_where_it_was_found(engine: TypeEngine) -> None:
    with pytest.raises(UnsupportedTypeError) as err:
        engine.to_literal_type(WithAny)
    assert err.value.py_type is Any
    assert err.value.found_at == (
        f"{__name__}.WithAny",
        "field 'meta'",
        "dict[str, Any]",
    )
    assert "found at: " in str(err.value)


def test_recursive_dataclass_is_unsupported(engine: TypeEngine) -> None:
    with pytest.raises(UnsupportedTypeError, match="refers to itself"):
        engine.to_literal_type(Node)


# ------------------------------------------------------------------------ pydantic


def test_pydantic_model_literal_type_and_roundtrip(engine: TypeEngine) -> None:
    lt = engine.to_literal_type(Metrics)
    assert isinstance(lt, StructType)
    assert lt.name == "Metrics" and lt.python_type == f"{__name__}:Metrics"
    assert [(f.name, f.required, f.default) for f in lt.fields] == [
        ("accuracy", True, None),
        ("labels", False, []),
        ("color", False, "red"),
        ("point", False, None),
    ]
    value = Metrics(accuracy=0.9, labels=["a"], color=Color.GREEN, point=Point(1, 2))
    literal, back = roundtrip(engine, value, Metrics)
    assert literal == {
        "accuracy": 0.9,
        "labels": ["a"],
        "color": "green",
        "point": {"x": 1, "y": 2},
    }
    assert back == value


def test_pydantic_fields_the_engine_lacks_go_through_pydantic_json(
    engine: TypeEngine,
) -> None:
    lt = engine.to_literal_type(Config)
    assert isinstance(lt, StructType)
    types = {f.name: f.type for f in lt.fields}
    assert types["id"] == SimpleType(name="json")
    assert types["price"] == SimpleType(name="json")
    assert types["mode"] == SimpleType(name="json")
    assert types["extra"] == SimpleType(name="json")
    assert types["metrics"] == engine.to_literal_type(Metrics)
    value = Config(
        id=uuid.UUID(int=5),
        price=Decimal("1.25"),
        mode="slow",
        extra={"k": [1, None]},
        metrics=Metrics(accuracy=1.0),
        Renamed=4,
    )
    literal, back = roundtrip(engine, value, Config)
    assert literal["id"] == "00000000-0000-0000-0000-000000000005"
    assert literal["price"] == "1.25"
    assert literal["renamed"] == 4
    assert back == value


def test_pydantic_validators_run_on_decode(engine: TypeEngine) -> None:
    literal = engine.to_literal(
        Config(id=uuid.UUID(int=1), price=Decimal(1), metrics=Metrics(accuracy=1)), Config
    )
    literal["mode"] = "medium"
    with pytest.raises(LiteralValueError, match="mode"):
        engine.to_python(literal, Config)


def test_pydantic_field_of_arbitrary_class_is_unsupported(engine: TypeEngine) -> None:
    with pytest.raises(UnsupportedTypeError) as err:
        engine.to_literal_type(HoldsOpaque)
    assert err.value.py_type is Opaque
    assert "field 'thing'" in str(err.value)


def test_struct_literals_validate_against_their_literal_type(engine: TypeEngine) -> None:
    run = Run(name="r", color=Color.RED, points=[Point(1, 2)])
    literal = engine.to_literal(run, Run)
    assert validate_literal(literal, engine.to_literal_type(Run)) == literal


def test_annotated_metadata_that_is_not_a_marker_is_ignored(engine: TypeEngine) -> None:
    assert engine.to_literal_type(Annotated[int, "doc"]) == SimpleType(name="int")
    assert engine.to_literal(3, Annotated[int, "doc"]) == 3
    unhashable = Annotated[int, {"doc": 1}]
    assert engine.to_python(engine.to_literal(3, unhashable), unhashable) == 3
