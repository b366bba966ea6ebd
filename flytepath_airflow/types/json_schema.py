"""Literal type -> JSON Schema: `literal_type_to_json_schema`, for Airflow trigger forms.

The schema admits exactly the literals `validate_literal` accepts (a test checks both on
the same values), shaped so Airflow's trigger form renders plain fields where it can.

Must not import: airflow, kubernetes, pandas, pyarrow, stores, the sdk, or user code.
"""

from __future__ import annotations

from typing import Any

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
from flytepath_airflow.types.render import is_none_type, render_type
from flytepath_airflow.types.validate import SHA256_RE

__all__ = ["literal_type_to_json_schema"]

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

    :param lt: the literal type to describe.
    :raises TypeError: `lt` is not a literal type.
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
        others = [v for v in lt.variants if not is_none_type(v)]
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
                "sha256": {"type": "string", "pattern": SHA256_RE.pattern},
            },
            "required": ["uri", "sha256"],
            "additionalProperties": False,
        }
        fmt = "pickle" if isinstance(lt, PickledType) else getattr(lt, "format", None)
        if not isinstance(lt, BlobType):
            schema["properties"]["format"] = {"const": fmt}
        return schema
    raise TypeError(f"not a literal type: {lt!r}")
