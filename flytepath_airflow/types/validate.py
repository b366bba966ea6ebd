"""Validating literal values against a literal type: `validate_literal` and its helpers.

A literal is the JSON form of a value (see `flytepath_airflow.types` for the rules):
ints, floats, strings, bools and null as themselves; bytes as base64; datetimes and dates
as ISO 8601 strings; durations as seconds; enums as the member's value; lists, maps and
structs as JSON arrays and objects; files, directories, data frames and pickled objects
as `{"uri": ..., "sha256": ...}` pointers (data frames and pickles also carry `format`).

Everything here works from a `LiteralType` alone, with no Python type and no user code,
so the CLI, the YAML front-end, the compiler and the runtime can check values where the
user's classes are not importable.

Must not import: airflow, kubernetes, pandas, pyarrow, stores, the sdk, user code, or the
casting, CLI-value and JSON Schema modules of this package (they import this one).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from typing import Any, Literal

from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.ir.models import (
    BlobType,
    DataFrameType,
    EnumType,
    ListType,
    LiteralType,
    MapType,
    PickledType,
    SimpleType,
    StructType,
    UnionType,
)
from flytepath_airflow.types.render import describe_value, render_type

__all__ = [
    "SHA256_RE",
    "UnknownFields",
    "check_json",
    "parse_datetime",
    "same_json",
    "validate_literal",
    "variant_reasons",
]

UnknownFields = Literal["reject", "drop"]

# The content digest of a blob pointer: 64 lowercase hex characters.
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # the JSON Schema "date" form only


def parse_datetime(text: str) -> dt.datetime:
    """Parse an ISO 8601 datetime (a trailing `Z` means UTC).

    :param text: the datetime as text, e.g. `2024-05-01T12:00:00Z`.
    :raises ValueError: `text` is not an ISO 8601 datetime.
    """
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


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

    :param value: the candidate literal (a JSON-compatible value).
    :param lt: the literal type it must match.
    :param path: where the value sits, for error messages (`value.items[2].name`).
    :param unknown_fields: what to do with struct keys that are not fields. "reject" (the
        default, for values people typed, where an unknown key is a typo) or "drop"
        (for literals produced by a struct with more fields, which casting allows).
    :raises LiteralValueError: naming the path, the expected type and what was found.
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
        if any(same_json(value, allowed) for allowed in lt.values):
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

    :param path: the path of the value the union refused.
    :param reasons: (rendered variant, error message) for each variant that refused it.
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


def same_json(a: Any, b: Any) -> bool:
    """Equal and of the same JSON kind (so 1, 1.0 and True are three different values).

    :param a: a JSON value.
    :param b: another JSON value.
    """
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

    :param value: the candidate JSON value.
    :param path: where the value sits, for error messages.
    :raises LiteralValueError: naming the path of the first part that is not JSON.
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
    if not isinstance(sha, str) or not SHA256_RE.match(sha):
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

