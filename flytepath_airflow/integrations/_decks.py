"""Attaching a validation report to the running task's decks, and nothing outside one.

The transformers also run where no task does (a local call's inputs, a test); there a
report would be built for nobody, so it is not built at all.

Must not import: airflow, kubernetes, pandas, pandera, great_expectations.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.runtime.context import current_context
from flytepath_airflow.runtime.decks import Deck

STYLE = (
    "<style>.flytepath-report table{border-collapse:collapse;margin:0.5em 0}"
    ".flytepath-report td,.flytepath-report th{border:1px solid #ccc;padding:4px 8px;"
    "text-align:left;vertical-align:top}.flytepath-report .bad{background:#fde8e8}"
    ".flytepath-report .ok{background:#eaf7ea}</style>"
)
"""Inline styles only: reports open offline and under a strict content policy."""


def attach_deck(name: str, build_html: Callable[[], str]) -> None:
    """Add a deck to the running task's report; do nothing (build nothing) outside a task.

    :param name: the deck's name (its tab).
    :param build_html: makes the page; called only inside a task.
    """
    try:
        current_context()
    except FlytePathUserError:
        return
    Deck(name, build_html())


def table(headers: Sequence[str], rows: Iterable[tuple[str, Sequence[str]]]) -> str:
    """An HTML table; each row is (css class, cells); every cell is escaped here."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr class='{html.escape(cls)}'>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>"
        for cls, cells in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
