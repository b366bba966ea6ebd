"""Literal-type-only helpers: validate, parse, cast-check, render and describe literals.

Everything here works from a `LiteralType` alone, with no Python type and no user code,
so the CLI, the YAML front-end, the compiler and Airflow trigger forms can use it where
the user's classes are not importable.

A literal is the JSON form of a value (see `flytepath_airflow.types` for the rules):
ints, floats, strings, bools and null as themselves; bytes as base64; datetimes and dates
as ISO 8601 strings; durations as seconds; enums as the member's value; lists, maps and
structs as JSON arrays and objects; files, directories, data frames and pickled objects
as `{"uri": ..., "sha256": ...}` pointers (data frames and pickles also carry `format`).

Must not import: airflow, kubernetes, pandas, pyarrow, stores, the sdk, or user code.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
import reprlib
from collections.abc import Callable
from typing import Any, Literal

from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.ir.models import (
    BlobType,
    DataFrameType,
    EnumType,
    FieldSpec,
    ListType,
    LiteralType,
    MapType,
    PickledType,
    SimpleType,
    StructType,
    UnionType,
)

__all__ = [
    "castability_error",
    "describe_value",
    "literal_type_to_json_schema",
    "parse_cli_value",
    "parse_datetime",
    "render_type",
    "validate_literal",
    "variant_reasons",
]

UnknownFields = Literal["reject", "drop"]

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # the JSON Schema "date" form only
_DURATION_RE = re.compile(
    r"^(?P<sign>[+-])?"
    r"(?:(?P<d>\d+(?:\.\d+)?)d)?"
    r"(?:(?P<h>\d+(?:\.\d+)?)h)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)m)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)s)?$"
)
_SIMPLE_NAMES = {
    "int": "int",
    "float": "float",
    "str": "str",
    "bool": "bool",
    "bytes": "bytes",
    "datetime": "datetime",
    "date": "date",
    "duration": "timedelta",
    "none": "None",
    "json": "JSON",
}

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlist = 5
_short.maxdict = 5


def describe_value(value: Any) -> str:
    """A short description of a value for error messages: its type and a clipped repr."""
    if value is None:
        return "None"
    return f"{type(value).__name__} {_short.repr(value)}"


def parse_datetime(text: str) -> dt.datetime:
    """Parse an ISO 8601 datetime (a trailing `Z` means UTC); ValueError if it is not one."""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


# --------------------------------------------------------------------------- render


def render_type(lt: LiteralType) -> str:
    """Render a literal type the way a Python annotation would read.

    `int`, `list[str]`, `Optional[int]`, `dict[str, float]`, `Metrics` (a struct),
    `DataFrame[a: int, b: float]`, `File`, `Directory`, `Pickled[mod:Cls]`.
    """
    if isinstance(lt, SimpleType):
        return _SIMPLE_NAMES[lt.name]
    if isinstance(lt, ListType):
        return f"list[{render_type(lt.item)}]"
    if isinstance(lt, MapType):
        return f"dict[str, {render_type(lt.value)}]"
    if isinstance(lt, (StructType, EnumType)):
        return lt.name
    if isinstance(lt, UnionType):
        others = [v for v in lt.variants if not _is_none(v)]
        if len(others) == len(lt.variants):
            return f"Union[{', '.join(render_type(v) for v in others)}]"
        if not others:
            return "None"
        if len(others) == 1:
            return f"Optional[{render_type(others[0])}]"
        return f"Optional[Union[{', '.join(render_type(v) for v in others)}]]"
    if isinstance(lt, BlobType):
        base = "File" if lt.dimensionality == "file" else "Directory"
        return f"{base}[{lt.format}]" if lt.format else base
    if isinstance(lt, DataFrameType):
        if lt.columns is None:
            return "DataFrame"
        cols = ", ".join(f"{c.name}: {render_type(c.type)}" for c in lt.columns)
        return f"DataFrame[{cols}]"
    if isinstance(lt, PickledType):
        return f"Pickled[{lt.python_type}]"
    raise TypeError(f"not a literal type: {lt!r}")


def _is_none(lt: LiteralType) -> bool:
    return isinstance(lt, SimpleType) and lt.name == "none"


# ------------------------------------------------------------------------- validate


def validate_literal(
    value: Any,
    lt: LiteralType,
    path: str = "value",
    *,
    unknown_fields: UnknownFields = "reject",
) -> Any:
    """Check a JSON value against a literal type and return it normalized.

    Normalizing widens ints to floats where a float is expected, turns tuples into lists
    and fills a missing `format` of data-frame and pickle pointers.

    Args:
        value: the candidate literal (a JSON-compatible value).
        lt: the literal type it must match.
        path: where the value sits, for error messages (`value.items[2].name`).
        unknown_fields: what to do with struct keys that are not fields. "reject" (the
            default, for values people typed, where an unknown key is a typo) or "drop"
            (for literals produced by a struct with more fields, which casting allows).

    Raises:
        LiteralValueError: naming the path, the expected type and what was found.
    """
    if isinstance(lt, SimpleType):
        return _validate_simple(value, lt, path)
    if isinstance(lt, ListType):
        if not isinstance(value, (list, tuple)):
            raise _mismatch(path, lt, value)
        return [
            validate_literal(v, lt.item, f"{path}[{i}]", unknown_fields=unknown_fields)
            for i, v in enumerate(value)
        ]
    if isinstance(lt, MapType):
        if not isinstance(value, dict):
            raise _mismatch(path, lt, value)
        out: dict[str, Any] = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise LiteralValueError(
                    f"{path}: map keys must be strings, got {describe_value(key)}."
                )
            out[key] = validate_literal(
                v, lt.value, _key_path(path, key), unknown_fields=unknown_fields
            )
        return out
    if isinstance(lt, StructType):
        return _validate_struct(value, lt, path, unknown_fields)
    if isinstance(lt, EnumType):
        if any(_same_json(value, allowed) for allowed in lt.values):
            return value
        allowed_text = ", ".join(json.dumps(v) for v in lt.values)
        raise LiteralValueError(
            f"{path}: {describe_value(value)} is not a value of enum {lt.name}; "
            f"use one of: {allowed_text}."
        )
    if isinstance(lt, UnionType):
        reasons: list[tuple[str, str]] = []
        for variant in lt.variants:
            try:
                return validate_literal(value, variant, path, unknown_fields=unknown_fields)
            except LiteralValueError as exc:
                reasons.append((render_type(variant), str(exc)))
        raise LiteralValueError(
            f"{path}: expected {render_type(lt)}, got {describe_value(value)}."
            f"{variant_reasons(path, reasons)}"
        )
    if isinstance(lt, BlobType):
        return _validate_pointer(value, lt, path, fmt=None)
    if isinstance(lt, DataFrameType):
        return _validate_pointer(value, lt, path, fmt=lt.format)
    if isinstance(lt, PickledType):
        return _validate_pointer(value, lt, path, fmt="pickle")
    raise TypeError(f"not a literal type: {lt!r}")


def variant_reasons(path: str, reasons: list[tuple[str, str]]) -> str:
    """Why the variants of a union refused a value, keeping only the informative reasons.

    A plain "expected X, got Y" at the union's own path repeats what the caller says; a
    reason deeper inside the value (a struct field, a list item) or of another kind is kept.
    """
    useful = [
        f"as {variant}: {message}"
        for variant, message in reasons
        if not message.startswith(f"{path}: expected ")
    ]
    return f" ({'; '.join(useful)})" if useful else ""


def _key_path(path: str, key: str) -> str:
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _mismatch(path: str, lt: LiteralType, value: Any, hint: str = "") -> LiteralValueError:
    tail = f" {hint}" if hint else ""
    return LiteralValueError(
        f"{path}: expected {render_type(lt)}, got {describe_value(value)}.{tail}"
    )


def _same_json(a: Any, b: Any) -> bool:
    """Equal and of the same JSON kind (so 1, 1.0 and True are three different values)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return type(a) is type(b) and a == b
    return bool(type(a) is type(b) and a == b)


def _validate_simple(value: Any, lt: SimpleType, path: str) -> Any:
    name = lt.name
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        hint = "Floats are not truncated to ints." if isinstance(value, float) else ""
        raise _mismatch(path, lt, value, hint)
    if name == "float":
        if is_number:
            return float(value)
        raise _mismatch(path, lt, value)
    if name == "str":
        if isinstance(value, str):
            return str.__str__(value)
        raise _mismatch(path, lt, value)
    if name == "bool":
        if isinstance(value, bool):
            return value
        raise _mismatch(path, lt, value, "Use true or false.")
    if name == "bytes":
        if isinstance(value, str):
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                pass
            else:
                return value
        raise _mismatch(path, lt, value, "Bytes are written as a base64 string.")
    if name == "datetime":
        if isinstance(value, str):
            try:
                parse_datetime(value)
            except ValueError:
                pass
            else:
                return value
        raise _mismatch(
            path, lt, value, "Write datetimes as ISO 8601, e.g. '2024-05-01T12:00:00+00:00'."
        )
    if name == "date":
        if isinstance(value, str) and _DATE_RE.match(value):
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                pass
            else:
                return value
        raise _mismatch(path, lt, value, "Write dates as ISO 8601, e.g. '2024-05-01'.")
    if name == "duration":
        if is_number:
            return value if isinstance(value, float) else int(value)
        raise _mismatch(path, lt, value, "Durations are a number of seconds.")
    if name == "none":
        if value is None:
            return None
        raise _mismatch(path, lt, value)
    if name == "json":
        return check_json(value, path)
    raise TypeError(f"unknown simple type {name!r}")


def check_json(value: Any, path: str = "value") -> Any:
    """Check that `value` is JSON-compatible and return a plain copy (tuples become lists).

    Raises:
        LiteralValueError: naming the path of the first part that is not JSON.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple)):
        return [check_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise LiteralValueError(
                    f"{path}: JSON object keys must be strings, got {describe_value(key)}."
                )
            out[str.__str__(key)] = check_json(v, _key_path(path, key))
        return out
    raise LiteralValueError(
        f"{path}: expected a JSON value (null, bool, number, string, list, or object with "
        f"string keys), got {describe_value(value)}. Convert it first, or give it a "
        f"precise type instead of JSON."
    )


def _validate_struct(
    value: Any, lt: StructType, path: str, unknown_fields: UnknownFields
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _mismatch(path, lt, value, f"A {lt.name} is written as a JSON object.")
    fields = {f.name: f for f in lt.fields}
    out: dict[str, Any] = {}
    for key, v in value.items():
        spec = fields.get(key) if isinstance(key, str) else None
        if spec is None:
            if unknown_fields == "drop":
                continue
            known = ", ".join(fields) or "(none)"
            raise LiteralValueError(
                f"{path}: {lt.name} has no field {key!r}; its fields are: {known}."
            )
        out[key] = validate_literal(
            v, spec.type, f"{path}.{key}", unknown_fields=unknown_fields
        )
    missing = [f.name for f in lt.fields if f.required and f.name not in value]
    if missing:
        raise LiteralValueError(
            f"{path}: {lt.name} is missing required field(s) {', '.join(missing)}."
        )
    return out


def _validate_pointer(
    value: Any, lt: LiteralType, path: str, fmt: str | None
) -> dict[str, Any]:
    what = render_type(lt)
    if not isinstance(value, dict):
        raise _mismatch(
            path, lt, value, f'A {what} is a pointer {{"uri": ..., "sha256": ...}}.'
        )
    allowed = {"uri", "sha256"} | ({"format"} if fmt is not None else set())
    extra = sorted(str(k) for k in value if k not in allowed)
    if extra:
        raise LiteralValueError(
            f"{path}: a {what} pointer has only the keys {', '.join(sorted(allowed))}; "
            f"got also {', '.join(extra)}."
        )
    uri = value.get("uri")
    sha = value.get("sha256")
    if not isinstance(uri, str) or not uri:
        raise LiteralValueError(f"{path}: a {what} pointer needs a non-empty string 'uri'.")
    if not isinstance(sha, str) or not _SHA256_RE.match(sha):
        raise LiteralValueError(
            f"{path}: a {what} pointer needs 'sha256', the 64-character lowercase hex "
            f"digest of its content; got {describe_value(sha)}."
        )
    out: dict[str, Any] = {"uri": uri, "sha256": sha}
    if fmt is not None:
        got = value.get("format", fmt)
        if got != fmt:
            raise LiteralValueError(
                f"{path}: a {what} pointer must have format {fmt!r}, got {got!r}."
            )
        out["format"] = fmt
    return out


# ------------------------------------------------------------------------ parse CLI


def parse_cli_value(text: str, lt: LiteralType, path: str = "value") -> Any:
    """Turn command-line text into a literal of type `lt`, then validate it.

    `str` (and `Optional[str]`, unless the text is `null`) takes the text as it is;
    int, float and bool parse (`true`/`false`/`1`/`0` for bool); datetimes and dates are
    ISO 8601; durations are seconds or forms like `90s`, `5m`, `1h30m`, `2d`; bytes are
    base64 text; enums take a member value as it is or as JSON; anything else is JSON.
    A union tries its variants in declared order.

    Raises:
        LiteralValueError: naming the path, the expected type and the text.
    """
    return validate_literal(_parse_cli(text, lt, path), lt, path)


def _parse_cli(text: str, lt: LiteralType, path: str) -> Any:
    if isinstance(lt, SimpleType):
        name = lt.name
        if name in ("str", "bytes", "datetime", "date"):
            return text
        stripped = text.strip()
        if name == "int":
            try:
                return int(stripped)
            except ValueError:
                raise _cli_error(path, lt, text, "an integer like 42") from None
        if name == "float":
            try:
                return float(stripped)
            except ValueError:
                raise _cli_error(path, lt, text, "a number like 0.5") from None
        if name == "bool":
            lowered = stripped.lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
            raise _cli_error(path, lt, text, "true, false, 1 or 0")
        if name == "duration":
            return _parse_duration(stripped, path, lt)
        if name == "none":
            if stripped == "null":
                return None
            raise _cli_error(path, lt, text, "null")
        return _parse_json(text, lt, path)
    if isinstance(lt, UnionType):
        if text.strip() == "null" and any(_is_none(v) for v in lt.variants):
            return None
        reasons: list[str] = []
        for variant in lt.variants:
            if _is_none(variant):
                continue
            try:
                return parse_cli_value(text, variant, path)
            except LiteralValueError as exc:
                reasons.append(str(exc))
        raise LiteralValueError(
            f"{path}: {text!r} is not a valid {render_type(lt)} ({' | '.join(reasons)})."
        )
    if isinstance(lt, EnumType):
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        if any(_same_json(parsed, v) for v in lt.values):
            return parsed
        return text
    return _parse_json(text, lt, path)


def _parse_json(text: str, lt: LiteralType, path: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise LiteralValueError(
            f"{path}: expected {render_type(lt)} written as JSON, but {text!r} is not JSON "
            f"({exc}). Quote the value for your shell, e.g. '[1, 2]' or '\"text\"'."
        ) from None


def _cli_error(path: str, lt: LiteralType, text: str, wanted: str) -> LiteralValueError:
    return LiteralValueError(
        f"{path}: expected {render_type(lt)}, got {text!r}; write {wanted}."
    )


def _parse_duration(text: str, path: str, lt: LiteralType) -> int | float:
    try:
        seconds = float(text)
    except ValueError:
        match = _DURATION_RE.match(text)
        if not text or not match or not any(match.group(u) for u in "dhms"):
            raise _cli_error(
                path, lt, text, "seconds (90, 1.5) or a duration like 90s, 5m, 1h30m, 2d"
            ) from None
        units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
        seconds = sum(float(match.group(u) or 0) * factor for u, factor in units.items())
        if match.group("sign") == "-":
            seconds = -seconds
    if not math.isfinite(seconds):
        raise _cli_error(path, lt, text, "a finite number of seconds")
    return int(seconds) if seconds.is_integer() else seconds


# ---------------------------------------------------------------------- castability


def castability_error(src: LiteralType, dst: LiteralType) -> str | None:
    """Whether a value of type `src` can flow into an input of type `dst`.

    Returns None when it can, else a short reason naming the part that does not fit.
    Rules: identical types; int -> float; None -> Optional; anything but files,
    directories, data frames and pickles -> JSON; a union source needs every variant to
    fit; a union target needs one variant to fit; lists and maps element-wise; structs of
    the same class, or when every target field is present in the source with a castable
    type (required target fields must be present); an enum into one holding all its
    values; data frames when either side's columns are untyped or every target column is
    in the source with a castable type; pickles of the same class; blobs of the same
    dimensionality.
    """
    if src == dst:
        return None
    if isinstance(src, UnionType):
        for variant in src.variants:
            err = castability_error(variant, dst)
            if err is not None:
                return f"variant {render_type(variant)} of {render_type(src)}: {err}"
        return None
    if isinstance(dst, SimpleType) and dst.name == "json":
        blob = _first_blob(src)
        if blob is not None:
            return (
                f"{render_type(blob)} cannot be used as JSON: files, directories, data "
                f"frames and pickles are stored blobs and must stay typed"
            )
        return None
    if isinstance(dst, UnionType):
        if any(castability_error(src, v) is None for v in dst.variants):
            return None
        if _is_none(src):
            return f"None is not allowed by {render_type(dst)}; make the input Optional"
        return f"{render_type(src)} fits none of the variants of {render_type(dst)}"
    if type(src) is not type(dst):
        return f"{render_type(src)} cannot be used as {render_type(dst)}"
    # Unions were handled above, so src and dst are the same non-union kind here.
    return _SAME_KIND_CHECKS[type(src)](src, dst)


def _first_blob(lt: LiteralType) -> LiteralType | None:
    if isinstance(lt, (BlobType, DataFrameType, PickledType)):
        return lt
    children: tuple[LiteralType, ...] = ()
    if isinstance(lt, ListType):
        children = (lt.item,)
    elif isinstance(lt, MapType):
        children = (lt.value,)
    elif isinstance(lt, StructType):
        children = tuple(f.type for f in lt.fields)
    elif isinstance(lt, UnionType):
        children = lt.variants
    for child in children:
        found = _first_blob(child)
        if found is not None:
            return found
    return None


def _cast_simple(src: Any, dst: Any) -> str | None:
    if src.name == dst.name or (src.name == "int" and dst.name == "float"):
        return None
    if _is_none(src):
        return f"None cannot be used as {render_type(dst)}; make the input Optional"
    return f"{render_type(src)} cannot be used as {render_type(dst)}"


def _cast_list(src: Any, dst: Any) -> str | None:
    err = castability_error(src.item, dst.item)
    return None if err is None else f"list item: {err}"


def _cast_map(src: Any, dst: Any) -> str | None:
    err = castability_error(src.value, dst.value)
    return None if err is None else f"dict value: {err}"


def _cast_struct(src: Any, dst: Any) -> str | None:
    if src.python_type is not None and src.python_type == dst.python_type:
        return None
    return _fields_error(src.fields, dst.fields, src.name, dst.name, "field")


def _fields_error(
    src_fields: tuple[FieldSpec, ...],
    dst_fields: tuple[FieldSpec, ...],
    src_name: str,
    dst_name: str,
    noun: str,
) -> str | None:
    by_name = {f.name: f for f in src_fields}
    for field in dst_fields:
        have = by_name.get(field.name)
        if have is None:
            if field.required:
                return f"{noun} {field.name!r} of {dst_name} is missing from {src_name}"
            continue
        err = castability_error(have.type, field.type)
        if err is not None:
            return f"{noun} {field.name!r}: {err}"
    return None


def _cast_enum(src: Any, dst: Any) -> str | None:
    missing = [v for v in src.values if not any(_same_json(v, d) for d in dst.values)]
    if not missing:
        return None
    shown = ", ".join(json.dumps(v) for v in missing)
    return f"value(s) {shown} of {src.name} are not values of {dst.name}"


def _cast_blob(src: Any, dst: Any) -> str | None:
    if src.dimensionality == dst.dimensionality:
        return None
    return f"{render_type(src)} cannot be used as {render_type(dst)}"


def _cast_dataframe(src: Any, dst: Any) -> str | None:
    if src.format != dst.format:
        return f"a {src.format} data frame cannot be used as a {dst.format} data frame"
    if src.columns is None or dst.columns is None:
        return None
    return _fields_error(src.columns, dst.columns, render_type(src), render_type(dst), "column")


def _cast_pickled(src: Any, dst: Any) -> str | None:
    if src.python_type == dst.python_type:
        return None
    return f"{render_type(src)} cannot be used as {render_type(dst)} (different classes)"


_SAME_KIND_CHECKS: dict[type, Callable[[Any, Any], str | None]] = {
    SimpleType: _cast_simple,
    ListType: _cast_list,
    MapType: _cast_map,
    StructType: _cast_struct,
    EnumType: _cast_enum,
    BlobType: _cast_blob,
    DataFrameType: _cast_dataframe,
    PickledType: _cast_pickled,
}


# ---------------------------------------------------------------------- JSON Schema

_SIMPLE_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "str": {"type": "string"},
    "bool": {"type": "boolean"},
    "bytes": {"type": "string", "contentEncoding": "base64"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "duration": {"type": "number", "description": "seconds"},
    "none": {"type": "null"},
    "json": {},
}


def literal_type_to_json_schema(lt: LiteralType) -> dict[str, Any]:
    """A JSON Schema describing the literals of `lt` (for an Airflow trigger-form Param).

    `Optional[X]` with a simple X becomes `{"type": [X, "null"]}` so forms render a
    plain field; other unions become `anyOf`.
    """
    if isinstance(lt, SimpleType):
        return dict(_SIMPLE_SCHEMAS[lt.name])
    if isinstance(lt, ListType):
        return {"type": "array", "items": literal_type_to_json_schema(lt.item)}
    if isinstance(lt, MapType):
        return {
            "type": "object",
            "additionalProperties": literal_type_to_json_schema(lt.value),
        }
    if isinstance(lt, StructType):
        properties: dict[str, Any] = {}
        for field in lt.fields:
            prop = literal_type_to_json_schema(field.type)
            if not field.required:
                prop["default"] = field.default
            properties[field.name] = prop
        return {
            "type": "object",
            "title": lt.name,
            "properties": properties,
            "required": [f.name for f in lt.fields if f.required],
            "additionalProperties": False,
        }
    if isinstance(lt, EnumType):
        return {"title": lt.name, "enum": list(lt.values)}
    if isinstance(lt, UnionType):
        others = [v for v in lt.variants if not _is_none(v)]
        if len(others) == 1 and len(lt.variants) == 2 and isinstance(others[0], SimpleType):
            inner = literal_type_to_json_schema(others[0])
            if "type" not in inner:  # JSON already admits null
                return inner
            return {**inner, "type": [inner["type"], "null"]}
        return {"anyOf": [literal_type_to_json_schema(v) for v in lt.variants]}
    if isinstance(lt, (BlobType, DataFrameType, PickledType)):
        schema: dict[str, Any] = {
            "type": "object",
            "title": render_type(lt),
            "properties": {
                "uri": {"type": "string", "minLength": 1},
                "sha256": {"type": "string", "pattern": _SHA256_RE.pattern},
            },
            "required": ["uri", "sha256"],
            "additionalProperties": False,
        }
        fmt = "pickle" if isinstance(lt, PickledType) else getattr(lt, "format", None)
        if not isinstance(lt, BlobType):
            schema["properties"]["format"] = {"const": fmt}
        return schema
    raise TypeError(f"not a literal type: {lt!r}")
