"""Builtin transformers: scalars, JSON, enums, lists, dicts, unions, dataclasses, pydantic.

Literal forms: int, float, str, bool and None as themselves; bytes as base64; datetime
and date as ISO 8601 (timezone kept); timedelta as seconds (an int when whole); an Enum
as its member's value; list as a list; dict[str, T] as an object; dataclasses and pydantic
models as objects keyed by field name, each field encoded through the engine (so a File
or a DataFrame inside a dataclass works). Decoding is strict: an int does not take 1.5 or
true, a bool does not take 1.

Must not import: airflow, kubernetes, pandas, pyarrow, stores, the sdk.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import enum
import json
import types
import typing
from collections.abc import Callable
from typing import Any, Union

import pydantic
from pydantic.fields import FieldInfo
from pydantic_core import PydanticSerializationError

from flytepath_airflow.errors import FlytePathError, LiteralValueError
from flytepath_airflow.ir.models import FieldSpec, LiteralType
from flytepath_airflow.types._make import (
    enum_type,
    field_spec,
    list_type,
    map_type,
    simple_type,
    struct_type,
    union_type,
)
from flytepath_airflow.types.context import BlobContext
from flytepath_airflow.types.engine import (
    MissingBlobContextError,
    TypeEngine,
    TypeTransformer,
    UnsupportedTypeError,
    type_path,
    type_repr,
)
from flytepath_airflow.types.markers import JsonMarker, find_marker
from flytepath_airflow.types.render import describe_value
from flytepath_airflow.types.validate import (
    check_json,
    parse_datetime,
    validate_literal,
    variant_reasons,
)

__all__ = [
    "DataclassTransformer",
    "DictTransformer",
    "EnumTransformer",
    "JsonTransformer",
    "ListTransformer",
    "PydanticTransformer",
    "ScalarTransformer",
    "UnionTransformer",
    "builtin_transformers",
]


def value_error(name: str, py_type: Any, value: Any, hint: str = "") -> LiteralValueError:
    """The error for a Python value that does not fit its declared type."""
    tail = f" {hint}" if hint else ""
    return LiteralValueError(
        f"{name}: expected {type_repr(py_type)}, got {describe_value(value)}.{tail}"
    )


def literal_error(py_type: Any, literal: Any, hint: str = "") -> LiteralValueError:
    """The error for a literal that cannot be decoded as `py_type`."""
    tail = f" {hint}" if hint else ""
    return LiteralValueError(
        f"cannot decode {describe_value(literal)} as {type_repr(py_type)}.{tail}"
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ------------------------------------------------------------------------- scalars


class ScalarTransformer(TypeTransformer[Any]):
    """One scalar Python class <-> one simple literal type.

    :param literal_name: the `SimpleType` name (and the transformer's name).
    :param py_class: the Python class, matched exactly (bool is not taken for int).
    :param encode: value -> literal, or None when the value does not fit.
    :param decode: literal -> value, or None when the literal does not fit.
    :param hint: appended to errors (the expected form).
    """

    def __init__(
        self,
        literal_name: str,
        py_class: type,
        encode: Callable[[Any], Any],
        decode: Callable[[Any], Any],
        hint: str = "",
    ) -> None:
        self.name = literal_name
        self.py_class = py_class
        self._encode = encode
        self._decode = decode
        self._hint = hint

    def matches(self, py_type: Any) -> bool:
        """Exactly `py_class`."""
        return py_type is self.py_class

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """`SimpleType(name=literal_name)`."""
        return simple_type(self.name)

    def to_literal(
        self, value: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
    ) -> Any:
        """Encode strictly (see the module docstring for the forms)."""
        try:
            literal = self._encode(value)
        except (TypeError, ValueError, OverflowError):
            literal = _NO
        if literal is _NO:
            raise value_error(name, py_type, value)
        return literal

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> Any:
        """Decode strictly (an int does not take 1.5 or true)."""
        try:
            value = self._decode(literal)
        except (TypeError, ValueError, OverflowError, binascii.Error):
            value = _NO
        if value is _NO:
            raise literal_error(py_type, literal, self._hint)
        return value


_NO: Any = object()


def _enc_int(v: Any) -> Any:
    return int(v) if isinstance(v, int) and not isinstance(v, bool) else _NO


def _dec_int(v: Any) -> Any:
    return v if isinstance(v, int) and not isinstance(v, bool) else _NO


def _enc_float(v: Any) -> Any:
    return float(v) if _is_number(v) else _NO


def _enc_str(v: Any) -> Any:
    return str.__str__(v) if isinstance(v, str) else _NO


def _dec_str(v: Any) -> Any:
    return v if isinstance(v, str) else _NO


def _enc_bool(v: Any) -> Any:
    return v if isinstance(v, bool) else _NO


def _enc_bytes(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode("ascii")
    return _NO


def _dec_bytes(v: Any) -> Any:
    return base64.b64decode(v, validate=True) if isinstance(v, str) else _NO


def _enc_datetime(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.datetime) else _NO


def _dec_datetime(v: Any) -> Any:
    return parse_datetime(v) if isinstance(v, str) else _NO


def _enc_date(v: Any) -> Any:
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v.isoformat()
    return _NO


def _dec_date(v: Any) -> Any:
    return dt.date.fromisoformat(v) if isinstance(v, str) else _NO


def _enc_duration(v: Any) -> Any:
    if not isinstance(v, dt.timedelta):
        return _NO
    # Whole microseconds, so whole seconds stay ints and the float is correctly rounded.
    micros = (v.days * 86400 + v.seconds) * 1_000_000 + v.microseconds
    if micros % 1_000_000 == 0:
        return micros // 1_000_000
    return micros / 1_000_000


def _dec_duration(v: Any) -> Any:
    return dt.timedelta(seconds=v) if _is_number(v) else _NO


def _none(v: Any) -> Any:
    return None if v is None else _NO


def _scalars() -> list[ScalarTransformer]:
    return [
        ScalarTransformer("int", int, _enc_int, _dec_int),
        ScalarTransformer("float", float, _enc_float, _enc_float),
        ScalarTransformer("str", str, _enc_str, _dec_str),
        ScalarTransformer("bool", bool, _enc_bool, _enc_bool, "Use true or false."),
        ScalarTransformer("bytes", bytes, _enc_bytes, _dec_bytes, "Bytes are base64 text."),
        ScalarTransformer(
            "datetime", dt.datetime, _enc_datetime, _dec_datetime, "Expected ISO 8601 text."
        ),
        ScalarTransformer("date", dt.date, _enc_date, _dec_date, "Expected an ISO 8601 date."),
        ScalarTransformer(
            "duration", dt.timedelta, _enc_duration, _dec_duration, "Expected seconds."
        ),
        ScalarTransformer("none", type(None), _none, _none),
    ]


# ---------------------------------------------------------------------------- JSON


class JsonTransformer(TypeTransformer[Any]):
    """`flytepath_airflow.types.JSON`: any JSON-compatible value, checked and passed on."""

    name = "json"

    def matches(self, py_type: Any) -> bool:
        """`Annotated[..., JsonMarker()]`."""
        return find_marker(py_type, JsonMarker) is not None

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """`SimpleType(name="json")`."""
        return simple_type("json")

    def to_literal(
        self, value: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
    ) -> Any:
        """The value itself, once checked to be JSON (tuples become lists)."""
        return check_json(value, name)

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> Any:
        """The literal itself, once checked to be JSON."""
        return check_json(literal)


# --------------------------------------------------------------------------- enums


class EnumTransformer(TypeTransformer[enum.Enum]):
    """Enum subclasses whose values are all str or int; the literal is the member's value."""

    name = "enum"

    def matches(self, py_type: Any) -> bool:
        """Any Enum subclass."""
        return isinstance(py_type, type) and issubclass(py_type, enum.Enum)

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """`EnumType` with the member values in definition order."""
        members = list(py_type)
        if not members:
            raise UnsupportedTypeError(py_type, "the enum has no members")
        for member in members:
            value = member.value
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise UnsupportedTypeError(
                    py_type,
                    f"member {member.name} has the value {value!r} ({type(value).__name__}); "
                    f"enum values must be str or int so that they can be written as JSON and "
                    f"compared exactly; give the members str or int values",
                )
        return enum_type(py_type.__name__, type_path(py_type), [m.value for m in members])

    def to_literal(
        self,
        value: enum.Enum,
        py_type: Any,
        engine: TypeEngine,
        ctx: BlobContext | None,
        name: str,
    ) -> Any:
        """The member's value; only members of the declared enum are accepted."""
        if not isinstance(value, py_type):
            names = ", ".join(m.name for m in py_type)
            raise value_error(
                name, py_type, value, f"Pass a member ({names}), e.g. {py_type.__name__}[...]."
            )
        return value.value

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> enum.Enum:
        """The member with exactly this value (1 does not match "1" or true)."""
        for member in py_type:
            if type(member.value) is type(literal) and member.value == literal:
                return member
        values = ", ".join(json.dumps(m.value) for m in py_type)
        raise literal_error(py_type, literal, f"Its values are: {values}.")


# ------------------------------------------------------------------ lists and dicts


class ListTransformer(TypeTransformer[list[Any]]):
    """`list[T]` (and `typing.List[T]`); tuples are accepted as values."""

    name = "list"

    def matches(self, py_type: Any) -> bool:
        """`list`, with or without an item type (a bare list is reported as unsupported)."""
        return py_type is list or typing.get_origin(py_type) is list

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """`ListType(item=...)`."""
        args = typing.get_args(py_type)
        if not args:
            raise UnsupportedTypeError(
                py_type,
                "a bare list has no item type; write list[int], list[MyClass], ... "
                "(or use flytepath_airflow.types.JSON for free-form JSON)",
            )
        return list_type(engine.to_literal_type(args[0]))

    def to_literal(
        self, value: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
    ) -> Any:
        """Each item through the engine, named `name[i]`."""
        if not isinstance(value, (list, tuple)):
            raise value_error(name, py_type, value)
        (item,) = typing.get_args(py_type)
        return [engine.to_literal(v, item, ctx, f"{name}[{i}]") for i, v in enumerate(value)]

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> list[Any]:
        """A list, each item through the engine."""
        if not isinstance(literal, list):
            raise literal_error(py_type, literal)
        (item,) = typing.get_args(py_type)
        return [engine.to_python(v, item, ctx) for v in literal]


class DictTransformer(TypeTransformer[dict[str, Any]]):
    """`dict[str, T]` (and `typing.Dict[str, T]`); keys must be str."""

    name = "dict"

    def matches(self, py_type: Any) -> bool:
        """`dict`, with or without types (bare dicts and non-str keys are reported)."""
        return py_type is dict or typing.get_origin(py_type) is dict

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """`MapType(value=...)`."""
        args = typing.get_args(py_type)
        if not args:
            raise UnsupportedTypeError(
                py_type,
                "a bare dict has no value type; write dict[str, float], ... "
                "(or use flytepath_airflow.types.JSON for free-form JSON)",
            )
        key, value = args
        if key is not str:
            raise UnsupportedTypeError(
                py_type,
                f"map keys must be str because they become JSON object keys, but the key type "
                f"is {type_repr(key)}; use dict[str, ...] (convert the keys), or a list of "
                f"dataclass entries",
            )
        return map_type(engine.to_literal_type(value))

    def to_literal(
        self, value: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
    ) -> Any:
        """Each value through the engine, named `name["key"]`."""
        if not isinstance(value, dict):
            raise value_error(name, py_type, value)
        _, item = typing.get_args(py_type)
        out: dict[str, Any] = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise value_error(
                    name, py_type, value, f"Its key {key!r} is not a str; keys must be str."
                )
            out[str.__str__(key)] = engine.to_literal(v, item, ctx, f"{name}[{json.dumps(key)}]")
        return out

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> dict[str, Any]:
        """A dict, each value through the engine."""
        if not isinstance(literal, dict):
            raise literal_error(py_type, literal)
        _, item = typing.get_args(py_type)
        return {key: engine.to_python(v, item, ctx) for key, v in literal.items()}


# -------------------------------------------------------------------------- unions


class UnionTransformer(TypeTransformer[Any]):
    """`Union[...]`, `Optional[T]` and `X | Y`: the first variant (declared order) that fits.

    The literal carries no variant tag, so decoding picks the first variant whose form
    matches. When a value's literal would be read back as an earlier variant (a `date`
    in `Union[str, date]` is written as text that `str` also takes), encoding refuses it
    rather than let the value change type on the way through.
    """

    name = "union"

    def matches(self, py_type: Any) -> bool:
        """`typing.Union` and `X | Y`."""
        return typing.get_origin(py_type) in (Union, types.UnionType)

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """`UnionType(variants=...)`, in declared order."""
        return union_type(engine.to_literal_type(a) for a in typing.get_args(py_type))

    def to_literal(
        self, value: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
    ) -> Any:
        """The literal of the first variant that accepts the value."""
        reasons: list[tuple[str, str]] = []
        variants = typing.get_args(py_type)
        for index, variant in enumerate(variants):
            try:
                literal = engine.to_literal(value, variant, ctx, name)
            except MissingBlobContextError:
                raise
            except LiteralValueError as exc:
                reasons.append((type_repr(variant), str(exc)))
                continue
            _check_unambiguous(literal, value, variants[:index], variant, engine, name)
            return literal
        raise value_error(name, py_type, value, variant_reasons(name, reasons).strip())

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> Any:
        """The value from the first variant that accepts the literal."""
        reasons: list[tuple[str, str]] = []
        for variant in typing.get_args(py_type):
            try:
                return engine.to_python(literal, variant, ctx)
            except MissingBlobContextError:
                raise
            except LiteralValueError as exc:
                reasons.append((type_repr(variant), str(exc)))
        raise literal_error(py_type, literal, variant_reasons("cannot decode", reasons).strip())


def _check_unambiguous(
    literal: Any,
    value: Any,
    earlier: tuple[Any, ...],
    chosen: Any,
    engine: TypeEngine,
    name: str,
) -> None:
    """Refuse a literal that decoding would hand to an earlier variant."""
    for other in earlier:
        try:
            validate_literal(literal, engine.to_literal_type(other), name, unknown_fields="drop")
        except LiteralValueError:
            continue
        raise LiteralValueError(
            f"{name}: the {type_repr(chosen)} value {describe_value(value)} is written as "
            f"{describe_value(literal)}, which the earlier variant {type_repr(other)} also "
            f"accepts, so it would be read back as {type_repr(other)}. Put "
            f"{type_repr(chosen)} before {type_repr(other)} in the Union, or use types whose "
            f"values look different."
        )


# ------------------------------------------------------------------------- structs


@dataclasses.dataclass(frozen=True)
class _Field:
    """How one struct field is described and converted."""

    name: str
    annotation: Any
    required: bool
    default: Any  # a thunk: () -> Python default, or None when there is none
    input_key: str  # the keyword the class's constructor / validator expects
    adapter: pydantic.TypeAdapter[Any] | None = None  # pydantic-only JSON fields


def _struct_literal_type(
    py_type: type, fields: list[_Field], engine: TypeEngine
) -> LiteralType:
    specs: list[FieldSpec] = []
    for field in fields:
        if field.adapter is not None:
            lt: LiteralType = simple_type("json")
        else:
            try:
                lt = engine.to_literal_type(field.annotation)
            except UnsupportedTypeError as exc:
                raise exc.within(f"field {field.name!r}") from exc.__cause__
        required, default = field.required, None
        if not required and field.default is not None:
            try:
                default = _encode_field(field, field.default(), engine, None, field.name)
            except (FlytePathError, TypeError, ValueError):
                default = None  # e.g. a File default: not representable without storage
        specs.append(field_spec(field.name, lt, required=required, default=default))
    return struct_type(py_type.__name__, type_path(py_type), specs)


def _encode_field(
    field: _Field, value: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
) -> Any:
    if field.adapter is None:
        return engine.to_literal(value, field.annotation, ctx, name)
    try:
        return check_json(field.adapter.dump_python(value, mode="json"), name)
    except (pydantic.ValidationError, PydanticSerializationError, ValueError) as exc:
        raise LiteralValueError(f"{name}: pydantic could not write it as JSON: {exc}") from None


def _decode_field(field: _Field, literal: Any, engine: TypeEngine, ctx: BlobContext | None) -> Any:
    if field.adapter is None:
        return engine.to_python(literal, field.annotation, ctx)
    try:
        return field.adapter.validate_python(literal)
    except pydantic.ValidationError as exc:
        raise LiteralValueError(
            f"field {field.name!r}: {describe_value(literal)} is not valid: {exc}"
        ) from None


def _struct_to_literal(
    fields: list[_Field],
    value: Any,
    py_type: Any,
    engine: TypeEngine,
    ctx: BlobContext | None,
    name: str,
) -> dict[str, Any]:
    if not isinstance(value, py_type):
        hint = ""
        if isinstance(value, dict):
            hint = f"Build a {py_type.__name__}(...) from the dict first."
        raise value_error(name, py_type, value, hint)
    return {
        f.name: _encode_field(f, getattr(value, f.name), engine, ctx, f"{name}.{f.name}")
        for f in fields
    }


def _struct_kwargs(
    fields: list[_Field], literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
) -> dict[str, Any]:
    if not isinstance(literal, dict):
        raise literal_error(py_type, literal, "A struct is a JSON object.")
    missing = [f.name for f in fields if f.required and f.name not in literal]
    if missing:
        raise literal_error(py_type, literal, f"Missing required field(s): {', '.join(missing)}.")
    # Keys that are not fields are ignored: a struct with more fields may be cast to this one.
    return {
        f.input_key: _decode_field(f, literal[f.name], engine, ctx)
        for f in fields
        if f.name in literal
    }


class DataclassTransformer(TypeTransformer[Any]):
    """Dataclasses: a struct with one field per `init` field, each through the engine."""

    name = "dataclass"

    def __init__(self) -> None:
        self._fields: dict[type, list[_Field]] = {}

    def matches(self, py_type: Any) -> bool:
        """Any dataclass class."""
        return isinstance(py_type, type) and dataclasses.is_dataclass(py_type)

    def fields(self, py_type: type) -> list[_Field]:
        """The convertible fields of a dataclass (those its `__init__` takes)."""
        cached = self._fields.get(py_type)
        if cached is not None:
            return cached
        try:
            hints = typing.get_type_hints(py_type, include_extras=True)
        except Exception as exc:
            raise UnsupportedTypeError(
                py_type,
                f"its annotations cannot be resolved ({type(exc).__name__}: {exc}); define "
                f"the types it refers to at module level",
            ) from None
        out: list[_Field] = []
        for f in dataclasses.fields(py_type):
            if not f.init:
                continue
            default: Callable[[], Any] | None = None
            if f.default is not dataclasses.MISSING:
                default = _constant(f.default)
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory
            out.append(
                _Field(f.name, hints[f.name], default is None, default, input_key=f.name)
            )
        self._fields[py_type] = out
        return out

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """`StructType` named after the class, python_type "module:qualname"."""
        return _struct_literal_type(py_type, self.fields(py_type), engine)

    def to_literal(
        self, value: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
    ) -> Any:
        """An object keyed by field name; only instances of the class are accepted."""
        return _struct_to_literal(self.fields(py_type), value, py_type, engine, ctx, name)

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> Any:
        """An instance built from the decoded fields (missing optional fields get defaults)."""
        kwargs = _struct_kwargs(self.fields(py_type), literal, py_type, engine, ctx)
        try:
            return py_type(**kwargs)
        except Exception as exc:
            raise literal_error(
                py_type, literal, f"Its constructor refused the fields: {type(exc).__name__}: {exc}"
            ) from exc


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


class PydanticTransformer(TypeTransformer[pydantic.BaseModel]):
    """Pydantic models: a struct with one field per model field, each through the engine.

    A field whose type the engine does not know but pydantic can write as JSON (UUID,
    Decimal, Literal[...], constrained types, ...) becomes a `json` field converted by
    pydantic itself, as `model_dump(mode="json")` would.
    """

    name = "pydantic"

    def __init__(self) -> None:
        self._fields: dict[type, list[_Field]] = {}

    def matches(self, py_type: Any) -> bool:
        """Any BaseModel subclass."""
        return isinstance(py_type, type) and issubclass(py_type, pydantic.BaseModel)

    def fields(self, py_type: type[pydantic.BaseModel], engine: TypeEngine) -> list[_Field]:
        """The fields of a model, with how each is converted."""
        cached = self._fields.get(py_type)
        if cached is not None:
            return cached
        out: list[_Field] = []
        for fname, info in py_type.model_fields.items():
            annotation = info.rebuild_annotation()
            adapter = None
            try:
                engine.to_literal_type(annotation)
            except UnsupportedTypeError as exc:
                adapter = _json_adapter(annotation)
                if adapter is None:
                    raise exc.within(f"field {fname!r}") from exc.__cause__
            out.append(
                _Field(
                    fname,
                    annotation,
                    info.is_required(),
                    None if info.is_required() else _pydantic_default(info),
                    input_key=_input_key(fname, info),
                    adapter=adapter,
                )
            )
        self._fields[py_type] = out
        return out

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """`StructType` named after the model, python_type "module:qualname"."""
        return _struct_literal_type(py_type, self.fields(py_type, engine), engine)

    def to_literal(
        self,
        value: pydantic.BaseModel,
        py_type: Any,
        engine: TypeEngine,
        ctx: BlobContext | None,
        name: str,
    ) -> Any:
        """An object keyed by field name; only instances of the model are accepted."""
        return _struct_to_literal(self.fields(py_type, engine), value, py_type, engine, ctx, name)

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> pydantic.BaseModel:
        """`model_validate` of the decoded fields (the model's validators run)."""
        kwargs = _struct_kwargs(self.fields(py_type, engine), literal, py_type, engine, ctx)
        try:
            return py_type.model_validate(kwargs)
        except pydantic.ValidationError as exc:
            raise literal_error(py_type, literal, f"The model refused the fields: {exc}") from None


def _input_key(fname: str, info: FieldInfo) -> str:
    if isinstance(info.validation_alias, str):
        return info.validation_alias
    return info.alias or fname


def _pydantic_default(info: FieldInfo) -> Callable[[], Any] | None:
    def thunk() -> Any:
        return info.get_default(call_default_factory=True)

    return thunk


def _json_adapter(annotation: Any) -> pydantic.TypeAdapter[Any] | None:
    """A TypeAdapter for a type pydantic can describe as JSON Schema, else None."""
    try:
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(annotation)
        adapter.json_schema()
    except Exception:  # pydantic raises several unrelated classes for "cannot describe"
        return None
    return adapter


def builtin_transformers() -> list[TypeTransformer[Any]]:
    """Fresh instances of the transformers in this module, in registration order."""
    return [
        *_scalars(),
        EnumTransformer(),
        ListTransformer(),
        DictTransformer(),
        UnionTransformer(),
        DataclassTransformer(),
        PydanticTransformer(),
        JsonTransformer(),
    ]
