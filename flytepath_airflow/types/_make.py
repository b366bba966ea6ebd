"""Typed constructors for literal types.

The spec models fill in `kind` in a before-validator, which type checkers cannot see, so
`SimpleType(name="int")` reads to mypy as a call missing `kind`. These helpers build the
same objects through `model_validate` and keep the rest of the package checkable.

Must not import: airflow, kubernetes, pandas, pyarrow, stores.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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


def simple_type(name: str) -> SimpleType:
    """`SimpleType(name=name)`."""
    return SimpleType.model_validate({"name": name})


def list_type(item: LiteralType) -> ListType:
    """`ListType(item=item)`."""
    return ListType.model_validate({"item": item})


def map_type(value: LiteralType) -> MapType:
    """`MapType(value=value)`."""
    return MapType.model_validate({"value": value})


def field_spec(
    name: str, lt: LiteralType, *, required: bool = True, default: Any = None
) -> FieldSpec:
    """`FieldSpec(name=name, type=lt, required=required, default=default)`."""
    return FieldSpec(name=name, type=lt, required=required, default=default)


def struct_type(name: str, python_type: str | None, fields: Iterable[FieldSpec]) -> StructType:
    """`StructType(name=..., python_type=..., fields=...)`."""
    return StructType.model_validate(
        {"name": name, "python_type": python_type, "fields": tuple(fields)}
    )


def enum_type(name: str, python_type: str | None, values: Iterable[Any]) -> EnumType:
    """`EnumType(name=..., python_type=..., values=...)`."""
    return EnumType.model_validate(
        {"name": name, "python_type": python_type, "values": tuple(values)}
    )


def union_type(variants: Iterable[LiteralType]) -> UnionType:
    """`UnionType(variants=...)`."""
    return UnionType.model_validate({"variants": tuple(variants)})


def blob_type(dimensionality: str, fmt: str = "") -> BlobType:
    """`BlobType(dimensionality=..., format=...)`."""
    return BlobType.model_validate({"dimensionality": dimensionality, "format": fmt})


def dataframe_type(columns: Iterable[FieldSpec] | None, python_type: str | None) -> DataFrameType:
    """`DataFrameType(format="parquet", columns=..., python_type=...)`."""
    return DataFrameType.model_validate(
        {
            "format": "parquet",
            "columns": None if columns is None else tuple(columns),
            "python_type": python_type,
        }
    )


def pickled_type(python_type: str) -> PickledType:
    """`PickledType(python_type=...)`."""
    return PickledType.model_validate({"python_type": python_type})
