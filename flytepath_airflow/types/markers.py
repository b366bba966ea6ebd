"""Annotation markers that change how the type engine treats a type.

They are used inside `typing.Annotated`:

- `Annotated[T, Pickled()]`: store values of T as pickled blobs (explicit opt-in; the
  engine never falls back to pickle on its own).
- `Annotated[T, HashMethod(fn)]`: same literal type as T, but cache keys hash `fn(value)`.
- `Annotated[pd.DataFrame, Columns(a=int, b=float)]`: a data frame with typed columns.
- `JSON` (`Annotated[Any, JsonMarker()]`): any JSON-compatible value, passed through.

Must not import: airflow, kubernetes, pandas, pyarrow, stores.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any


class Pickled:
    """Marker: store the annotated type as an opaque pickled blob.

    Pickled values cannot be type-checked field by field, cannot be read outside Python
    and break when the class changes; use it only when no transformer fits.
    """

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pickled)

    def __hash__(self) -> int:
        return hash(Pickled)

    def __repr__(self) -> str:
        return "Pickled()"


class HashMethod:
    """Marker: compute the cache-key hash of a value as sha256 of `fn(value)`.

    :param fn: called with the Python value; must return `str` or `bytes`. Use it for values
        whose stored form is not a stable identity (a data frame written by different
        library versions, for example).
    """

    def __init__(self, fn: Callable[[Any], str | bytes]) -> None:
        if not callable(fn):
            raise TypeError(f"HashMethod needs a callable, got {type(fn).__name__}")
        self.fn = fn

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HashMethod) and other.fn is self.fn

    def __hash__(self) -> int:
        return hash((HashMethod, id(self.fn)))

    def __repr__(self) -> str:
        return f"HashMethod({getattr(self.fn, '__qualname__', repr(self.fn))})"


class Columns(Mapping[str, Any]):
    """Marker: the typed columns of a data frame, in order.

    `Columns(a=int, b=float)`, or `Columns({"column name": str})` for names that are not
    Python identifiers. The frame may have more columns than declared; declared ones
    must be present (and, for simple types, have a compatible dtype).

    :param mapping: column name -> Python type, for names that are not identifiers.
    :param columns: column name -> Python type.
    """

    def __init__(self, mapping: Mapping[str, Any] | None = None, /, **columns: Any) -> None:
        items: dict[str, Any] = dict(mapping or {})
        items.update(columns)
        for key in items:
            if not isinstance(key, str):
                raise TypeError(f"Columns names must be str, got {key!r}")
        self._items: tuple[tuple[str, Any], ...] = tuple(items.items())

    def __getitem__(self, key: str) -> Any:
        for name, tp in self._items:
            if name == key:
                return tp
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Columns) and other._items == self._items

    def __hash__(self) -> int:
        return hash((Columns, self._items))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(tp, '__name__', tp)!s}" for name, tp in self._items)
        return f"Columns({inner})"


class JsonMarker:
    """Marker: any JSON-compatible value (null, bool, number, string, list, object)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonMarker)

    def __hash__(self) -> int:
        return hash(JsonMarker)

    def __repr__(self) -> str:
        return "JsonMarker()"


JSON = Annotated[Any, JsonMarker()]
"""Any JSON-compatible value; its literal type is `SimpleType(name="json")`."""


def annotated_parts(py_type: Any) -> tuple[Any, tuple[Any, ...]]:
    """Split `Annotated[T, m1, m2]` into `(T, (m1, m2))`; other types give `(py_type, ())`."""
    if typing.get_origin(py_type) is Annotated:
        return py_type.__origin__, tuple(py_type.__metadata__)
    return py_type, ()


def find_marker(py_type: Any, marker_cls: type[Any]) -> Any | None:
    """The first metadata item of `py_type` that is a `marker_cls`, or None."""
    _, metadata = annotated_parts(py_type)
    return next((m for m in metadata if isinstance(m, marker_cls)), None)
