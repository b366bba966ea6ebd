"""Decks: the HTML reports a task attaches to its run (Flyte's `Deck`).

Inside a running task, `Deck("Summary", html)` adds a page to the task's report, and
`current_context().decks` lists the pages so far. When the attempt ends (it succeeded or
failed: a failed validation's report is the one a user most wants to read) the runtime
writes each page to the blob store beside the attempt's outputs and publishes one manifest,
`runs/<run>/nodes/<record>/decks.json`, last and atomically. Decks never pass through XCom
or the metadata database, so a large report costs a blob write and nothing else.

Stored layout (docs/data-plane.md, "Decks"):

    runs/<run>/nodes/<record>/attempt-<n>/decks/<i>.html   one page, content-hashed
    runs/<run>/nodes/<record>/decks.json                   {"attempt", "decks": [{name, uri,
                                                            sha256, size}]}

The manifest names the newest attempt that produced pages; readers verify each page's
sha256 against the manifest (`read_deck_html`), so a damaged page is refused, not shown.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.runtime.context import _CURRENT
from flytepath_airflow.runtime.run import attempt_key, node_key
from flytepath_airflow.stores.blob import BlobStore
from flytepath_airflow.utils.limits import find_bad_character

logger = logging.getLogger(__name__)

MAX_DECK_NAME = 120
"""Characters in a deck's name (it becomes a tab title, never a path)."""

MAX_DECK_BYTES = 64 * 1024 * 1024
"""Bytes of HTML in one deck (64 MiB): a rendered notebook with plots fits; a page that
embeds a whole dataset should link a File output instead."""

MAX_DECKS = 100
"""Pages one attempt may attach."""


class DeckError(FlytePathUserError):
    """A deck that cannot be stored: a bad name, too large, too many."""


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise DeckError(f"a deck needs a non-empty name, got {name!r}; e.g. "
                        "Deck('Summary', html).")
    if len(name) > MAX_DECK_NAME:
        raise DeckError(f"deck name {name[:40]!r}... has {len(name)} characters; the limit "
                        f"is {MAX_DECK_NAME}.")
    bad = find_bad_character(name)
    if bad is not None:
        raise DeckError(f"deck name {name!r} holds the control character {name[bad]!r}; "
                        "use printable text.")
    return name


class Deck:
    """One page of a task's report: a name (its tab) and HTML.

    Created inside a running task, the page joins that task's report; created elsewhere
    (a test, a notebook) it is a plain object. `append` adds HTML to the page.
    """

    def __init__(self, name: str, html: str = "", *, auto_add: bool = True) -> None:
        self.name = _check_name(name)
        if not isinstance(html, str):
            raise DeckError(f"deck {name!r}: html must be text (str), got "
                            f"{type(html).__name__}.")
        self._parts: list[str] = [html] if html else []
        ctx = _CURRENT.get()
        if auto_add and ctx is not None:
            if len(ctx.decks) >= MAX_DECKS:
                raise DeckError(f"task '{ctx.task_name}' already attached {MAX_DECKS} "
                                "decks, the limit; put related content on one page.")
            ctx.decks.append(self)

    def append(self, html: str) -> Deck:
        """Add HTML to the end of the page; returns the deck, to chain calls."""
        if not isinstance(html, str):
            raise DeckError(f"deck {self.name!r}: html must be text (str), got "
                            f"{type(html).__name__}.")
        self._parts.append(html)
        return self

    @property
    def html(self) -> str:
        return "".join(self._parts)

    def __repr__(self) -> str:
        return f"Deck({self.name!r}, {len(self.html)} characters)"


@dataclass(frozen=True)
class StoredDeck:
    """A published page: its name and where its verified bytes live."""

    name: str
    uri: str
    sha256: str
    size: int


def decks_key(run_id: str, record_id: str) -> str:
    """Key of a node record's deck manifest."""
    return f"{node_key(run_id, record_id)}/decks.json"


def publish_decks(store: BlobStore, run_id: str, record_id: str, attempt: int,
                  decks: list[Deck]) -> list[StoredDeck]:
    """Write an attempt's pages, then the manifest that names them (last, atomically).

    An attempt without pages publishes nothing, so the manifest keeps naming the newest
    attempt that had a report.
    """
    if not decks:
        return []
    stored: list[StoredDeck] = []
    for index, deck in enumerate(decks):
        data = deck.html.encode("utf-8", errors="replace")
        if len(data) > MAX_DECK_BYTES:
            raise DeckError(f"deck {deck.name!r} of node '{record_id}' has {len(data):,} "
                            f"bytes of HTML; the limit is {MAX_DECK_BYTES:,}. Publish the "
                            "data as a File output and link to it.")
        ref = store.write_bytes(f"{attempt_key(run_id, record_id, attempt)}/decks/"
                                f"{index}.html", data)
        stored.append(StoredDeck(deck.name, ref["uri"], ref["sha256"], len(data)))
    store.write_json(decks_key(run_id, record_id), {
        "run_id": run_id, "node": record_id, "attempt": attempt,
        "decks": [{"name": d.name, "uri": d.uri, "sha256": d.sha256, "size": d.size}
                  for d in stored],
    })
    return stored


def read_decks(store: BlobStore, run_id: str, record_id: str) -> list[StoredDeck]:
    """The pages a node record published, newest attempt; [] when it published none."""
    try:
        doc = store.read_json(decks_key(run_id, record_id))
    except FileNotFoundError:
        return []
    entries = doc.get("decks") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        logger.warning("deck manifest of %s in run %s is damaged; ignoring it", record_id,
                       run_id)
        return []
    # Stored data is verified when read: a page must live under this node's own folder.
    home = store.uri(node_key(run_id, record_id)) + "/"
    decks = []
    for entry in entries:
        try:
            deck = StoredDeck(_check_name(entry["name"]), str(entry["uri"]),
                              str(entry["sha256"]), int(entry["size"]))
            if not deck.uri.startswith(home) or "/../" in deck.uri:
                raise ValueError(deck.uri)
            decks.append(deck)
        except (KeyError, TypeError, ValueError, DeckError):
            logger.warning("skipping a damaged entry in the deck manifest of %s in run %s",
                           record_id, run_id)
    return decks


def read_deck_html(store: BlobStore, deck: StoredDeck) -> str:
    """A page's HTML, verified against the sha256 its manifest recorded."""
    return store.read_uri(deck.uri, deck.sha256).decode("utf-8", errors="replace")
