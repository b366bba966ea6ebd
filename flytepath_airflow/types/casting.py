"""Which literal type can flow into which: `castability_error`, the compile-time check.

Every binding (a node output into a node input, a workflow input into a task, a constant
into a parameter) is checked with it before anything runs, as Flyte does at registration.
The rules are listed on `castability_error`; one checker per kind of type follows it.

Must not import: airflow, kubernetes, pandas, pyarrow, stores, the sdk, or user code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
from flytepath_airflow.types.render import is_none_type, render_type
from flytepath_airflow.types.validate import same_json

__all__ = ["castability_error"]


def castability_error(src: LiteralType, dst: LiteralType) -> str | None:
    """Whether a value of type `src` can flow into an input of type `dst`.

    Returns None when it can, else a short reason naming the part that does not fit.
    Rules: identical types; int -> float; None -> Optional; anything but files,
    directories, data frames and pickles -> JSON; a union source needs every variant to
    fit; a union target needs one variant to fit; lists and maps element-wise; structs of
    the same class, or when every target field is present in the source with a castable
    type (required target fields must be present); an enum into one holding all its
    values; data frames when either side's columns are untyped or every target column is
    in the source with a castable type (and, when both sides name a pandera schema,
    the target's schema or a subclass of it on the source side); pickles of the same
    class; blobs of the same dimensionality.

    :param src: the type of the value (a node output, a workflow input, a constant).
    :param dst: the type of the input it is bound to.
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
        if is_none_type(src):
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
    if is_none_type(src):
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
    missing = [v for v in src.values if not any(same_json(v, d) for d in dst.values)]
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
    err = _schema_error(src, dst)
    if err is not None:
        return err
    if src.columns is None or dst.columns is None:
        return None
    return _fields_error(src.columns, dst.columns, render_type(src), render_type(dst), "column")


def _schema_error(src: Any, dst: Any) -> str | None:
    # Only schemas on both sides can be compared: a frame without one is validated when
    # the input is loaded, which is how raw data enters a schema-typed pipeline.
    have = [v for v in src.validation if v.library == "pandera"]
    if not have:
        return None
    for want in (v for v in dst.validation if v.library == "pandera"):
        if not any(want.name == v.name or want.name in v.bases for v in have):
            shown = " and ".join(v.name for v in have)
            return (
                f"pandera schema {shown} is neither {want.name} nor a subclass of it, so "
                f"frames that pass it may fail {want.name}"
            )
    return None


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
