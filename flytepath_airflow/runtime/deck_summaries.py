"""The "Inputs" and "Outputs" decks of a task with `enable_deck=True`: small HTML tables.

Every value is escaped (a string input is user data, and the view shows decks as HTML);
a DataFrame shows its shape and first rows, anything else a bounded repr. DataFrames are
recognised by their methods, so this module imports no DataFrame library.

Must not import: airflow, kubernetes, pandas, polars.
"""

from __future__ import annotations

import html
import reprlib
from typing import Any

from flytepath_airflow.types.engine import type_repr

HEAD_ROWS = 10
"""Rows of a DataFrame a summary shows."""

MAX_COLUMNS = 20
"""Columns of a DataFrame a summary shows."""

_REPR = reprlib.Repr()
_REPR.maxstring = 300
_REPR.maxother = 300
_REPR.maxlist = _REPR.maxdict = _REPR.maxset = _REPR.maxtuple = 20

_STYLE = ("<style>body{font-family:system-ui,sans-serif}table.fp{border-collapse:collapse}"
          "table.fp td,table.fp th{border:1px solid #d1d5db;padding:4px 8px;"
          "text-align:left;vertical-align:top}table.fp th{background:#f3f4f6}</style>")


def _frame_html(value: Any) -> str | None:
    """A DataFrame's shape and head as HTML (pandas escapes the cells), else None."""
    shape = getattr(value, "shape", None)
    head = getattr(value, "head", None)
    to_html = getattr(value, "to_html", None)
    if not (isinstance(shape, tuple) and len(shape) == 2 and callable(head)
            and callable(to_html)):
        return None
    rows, columns = shape
    table = value.head(HEAD_ROWS).to_html(max_cols=MAX_COLUMNS, border=0, escape=True)
    return (f"<div>{rows:,} rows &times; {columns:,} columns"
            f"{f'; the first {HEAD_ROWS}' if rows > HEAD_ROWS else ''}</div>{table}")


def value_html(value: Any) -> str:
    """One value as safe HTML."""
    frame = _frame_html(value)
    if frame is not None:
        return frame
    return f"<code>{html.escape(_REPR.repr(value))}</code>"


def summary_html(title: str, values: dict[str, Any], types: dict[str, Any]) -> str:
    """A table of name, type and value; `types` holds each name's Python type.

    :param title: the heading ("Inputs" or "Outputs").
    :param values: the values by name, in the interface's order.
    :param types: the declared Python types by name.
    """
    if not values:
        return f"{_STYLE}<h3>{html.escape(title)}</h3><p>(none)</p>"
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td><code>"
        f"{html.escape(type_repr(types.get(name, type(value))))}</code></td>"
        f"<td>{value_html(value)}</td></tr>"
        for name, value in values.items())
    return (f"{_STYLE}<h3>{html.escape(title)}</h3><table class=\"fp\"><tr><th>name</th>"
            f"<th>type</th><th>value</th></tr>{rows}</table>")


__all__ = ["summary_html", "value_html"]
