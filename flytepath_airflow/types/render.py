"""How literal types and values read in messages: `render_type` and `describe_value`.

`render_type` writes a `LiteralType` the way a Python annotation would read it, so every
error about types (compile-time castability, CLI parsing, literal validation) names types
the same way. `describe_value` is the matching short form of a value.

Must not import: airflow, kubernetes, pandas, pyarrow, stores, the sdk, user code, or the
other literal modules of this package (they all import this one).
"""

from __future__ import annotations

import reprlib
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

__all__ = ["describe_value", "is_none_type", "render_type"]

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
    """A short description of a value for error messages: its type and a clipped repr.

    :param value: any value; long strings and containers are clipped.
    """
    if value is None:
        return "None"
    return f"{type(value).__name__} {_short.repr(value)}"


def render_type(lt: LiteralType) -> str:
    """Render a literal type the way a Python annotation would read.

    `int`, `list[str]`, `Optional[int]`, `dict[str, float]`, `Metrics` (a struct),
    `DataFrame[a: int, b: float]`, `File`, `Directory`, `Pickled[mod:Cls]`.

    :param lt: the literal type to render.
    :raises TypeError: `lt` is not a literal type.
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
        others = [v for v in lt.variants if not is_none_type(v)]
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
        schemas = [v.name for v in lt.validation if v.library == "pandera"]
        if schemas:
            return f"DataFrame[{', '.join(schemas)}]"
        if lt.columns is None:
            return "DataFrame"
        cols = ", ".join(f"{c.name}: {render_type(c.type)}" for c in lt.columns)
        return f"DataFrame[{cols}]"
    if isinstance(lt, PickledType):
        return f"Pickled[{lt.python_type}]"
    raise TypeError(f"not a literal type: {lt!r}")


def is_none_type(lt: LiteralType) -> bool:
    """Whether `lt` is the type of None (a variant that makes a union Optional).

    :param lt: the literal type to look at.
    """
    return isinstance(lt, SimpleType) and lt.name == "none"
