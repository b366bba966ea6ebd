"""Property tests: generated nested types and values through the engine and the helpers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import itertools
import json
from collections.abc import Callable
from typing import Any, Optional

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flytepath_airflow.ir.models import (
    EnumType,
    ListType,
    LiteralType,
    MapType,
    SimpleType,
    StructType,
    UnionType,
)
from flytepath_airflow.types import (
    JSON,
    builtin_engine,
    castability_error,
    literal_type_to_json_schema,
    validate_literal,
)
from flytepath_airflow.types.engine import type_repr

ENGINE = builtin_engine()
PROPERTY_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


class Size(enum.IntEnum):
    S = 1
    M = 2


@dataclasses.dataclass(frozen=True)
class Case:
    """A Python type and a strategy for its values."""

    py_type: Any
    values: st.SearchStrategy[Any]

    def __repr__(self) -> str:
        return f"Case({type_repr(self.py_type)})"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)

LEAVES = [
    Case(int, st.integers()),
    Case(float, st.floats(allow_nan=False, allow_infinity=False)),
    Case(str, st.text(max_size=8)),
    Case(bool, st.booleans()),
    Case(bytes, st.binary(max_size=8)),
    Case(dt.datetime, st.datetimes(timezones=st.none() | offsets)),
    Case(dt.date, st.dates()),
    Case(
        dt.timedelta,
        st.timedeltas(min_value=dt.timedelta(days=-10_000), max_value=dt.timedelta(days=10_000)),
    ),
    Case(type(None), st.none()),
    Case(Shade, st.sampled_from(Shade)),
    Case(Size, st.sampled_from(Size)),
    Case(JSON, json_values),
]

_names = itertools.count()


def make_struct(fields: list[Case]) -> Case:
    """A new dataclass with one field per case, and a strategy building instances."""
    cls = dataclasses.make_dataclass(
        f"Generated{next(_names)}", [(f"f{i}", c.py_type) for i, c in enumerate(fields)]
    )
    cls.__module__ = __name__
    return Case(cls, st.builds(cls, **{f"f{i}": c.values for i, c in enumerate(fields)}))


def extend(children: st.SearchStrategy[Case]) -> st.SearchStrategy[Case]:
    return st.one_of(
        children.map(lambda c: Case(list[c.py_type], st.lists(c.values, max_size=3))),
        children.map(
            lambda c: Case(
                dict[str, c.py_type],
                st.dictionaries(st.text(max_size=4), c.values, max_size=3),
            )
        ),
        children.map(lambda c: Case(Optional[c.py_type], st.none() | c.values)),  # noqa: UP045
        st.lists(children, min_size=1, max_size=3).map(make_struct),
    )


cases = st.recursive(st.sampled_from(LEAVES), extend, max_leaves=6)


def draw_value(data: st.DataObject) -> tuple[Case, Any, Any]:
    case = data.draw(cases, label="type")
    value = data.draw(case.values, label="value")
    return case, value, ENGINE.to_literal(value, case.py_type)


@PROPERTY_SETTINGS
@given(st.data())
def test_generated_values_roundtrip_through_json_text(data: st.DataObject) -> None:
    case, value, literal = draw_value(data)
    text = json.dumps(literal, allow_nan=False)
    assert ENGINE.to_python(json.loads(text), case.py_type) == value


@PROPERTY_SETTINGS
@given(st.data())
def test_validate_literal_accepts_every_literal_to_literal_produced(data: st.DataObject) -> None:
    case, _, literal = draw_value(data)
    lt = ENGINE.to_literal_type(case.py_type)
    assert validate_literal(literal, lt) == literal
    assert validate_literal(json.loads(json.dumps(literal)), lt) == literal


@PROPERTY_SETTINGS
@given(st.data())
def test_json_schema_accepts_every_literal_to_literal_produced(data: st.DataObject) -> None:
    case, _, literal = draw_value(data)
    schema = literal_type_to_json_schema(ENGINE.to_literal_type(case.py_type))
    jsonschema.Draft202012Validator(schema).validate(literal)


@PROPERTY_SETTINGS
@given(st.data())
def test_hash_of_a_literal_survives_json_text(data: st.DataObject) -> None:
    case, value, literal = draw_value(data)
    lt = ENGINE.to_literal_type(case.py_type)
    digest = ENGINE.hash_literal(literal, lt)
    assert ENGINE.hash_literal(json.loads(json.dumps(literal)), lt) == digest
    assert ENGINE.hash_value(value, case.py_type) == digest


# ------------------------------------------------------------------- castability


def rename_classes(lt: LiteralType) -> LiteralType:
    """The same shape with every struct/enum attributed to another class."""
    return _map_type(lt, lambda t: t)


def widen(lt: LiteralType) -> LiteralType:
    """A type every value of `lt` fits: ints become floats, and everything is Optional."""

    def leaf(t: LiteralType) -> LiteralType:
        if isinstance(t, SimpleType) and t.name == "int":
            return SimpleType(name="float")
        return t

    mapped = _map_type(lt, leaf)
    return UnionType(variants=(mapped, SimpleType(name="none")))


def _map_type(lt: LiteralType, leaf: Callable[[LiteralType], LiteralType]) -> LiteralType:
    if isinstance(lt, ListType):
        return ListType(item=_map_type(lt.item, leaf))
    if isinstance(lt, MapType):
        return MapType(value=_map_type(lt.value, leaf))
    if isinstance(lt, UnionType):
        return UnionType(variants=tuple(_map_type(v, leaf) for v in lt.variants))
    if isinstance(lt, StructType):
        fields = tuple(f.model_copy(update={"type": _map_type(f.type, leaf)}) for f in lt.fields)
        return lt.model_copy(update={"python_type": f"other:{lt.name}", "fields": fields})
    if isinstance(lt, EnumType):
        return lt.model_copy(update={"python_type": f"other:{lt.name}"})
    return leaf(lt)


@PROPERTY_SETTINGS
@given(cases)
def test_castability_is_reflexive(case: Case) -> None:
    lt = ENGINE.to_literal_type(case.py_type)
    assert castability_error(lt, lt) is None
    assert castability_error(lt, rename_classes(lt)) is None


@PROPERTY_SETTINGS
@given(cases)
def test_every_type_without_blobs_casts_to_json(case: Case) -> None:
    lt = ENGINE.to_literal_type(case.py_type)
    assert castability_error(lt, SimpleType(name="json")) is None


@PROPERTY_SETTINGS
@given(st.data())
def test_a_castable_target_accepts_the_source_literals(data: st.DataObject) -> None:
    case, _, literal = draw_value(data)
    src = ENGINE.to_literal_type(case.py_type)
    dst = widen(src)
    assert castability_error(src, dst) is None
    validate_literal(literal, dst)
