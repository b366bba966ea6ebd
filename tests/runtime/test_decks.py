"""Decks: the HTML pages a task attaches are stored beside its outputs, verified on read.

A failed attempt keeps its pages (a failed validation's report is the one a user reads);
names and sizes are bounded; a damaged page is refused rather than shown.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flytepath_airflow import Deck
from flytepath_airflow.runtime.decks import (
    MAX_DECK_NAME,
    DeckError,
    decks_key,
    read_deck_html,
    read_decks,
)
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobIntegrityError, BlobStore
from flytepath_airflow.stores.metadata import MetadataStore


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    path = tmp_path / "report_flow.py"
    path.write_text(textwrap.dedent("""
        from flytepath_airflow import Deck, current_context, task, workflow

        @task
        def report(n: int) -> int:
            Deck("Summary", f"<h1>{n} rows</h1>")
            Deck("Details").append("<p>first</p>").append("<p>second</p>")
            assert [d.name for d in current_context().decks] == ["Summary", "Details"]
            if n < 0:
                raise ValueError("negative row count")
            return n * 2

        @workflow
        def reported(n: int) -> int:
            return report(n=n)
    """))
    return path


def test_pages_a_task_attaches_are_stored_and_read_back(flow: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    result = run_local(load_target(f"{flow}:reported"), {"n": 3}, root=root)
    assert result.succeeded and result.outputs == {"o0": 6}
    store = BlobStore(root)
    decks = read_decks(store, result.run_id, "report")
    assert [d.name for d in decks] == ["Summary", "Details"]
    assert read_deck_html(store, decks[0]) == "<h1>3 rows</h1>"
    assert read_deck_html(store, decks[1]) == "<p>first</p><p>second</p>"
    events = [e.kind for e in MetadataStore().events(result.run_id)]
    assert "decks_published" in events


def test_a_failed_attempt_keeps_its_pages(flow: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    result = run_local(load_target(f"{flow}:reported"), {"n": -1}, root=root)
    assert not result.succeeded and "negative row count" in (result.error or "")
    decks = read_decks(BlobStore(root), result.run_id, "report")
    assert [d.name for d in decks] == ["Summary", "Details"]


def test_a_damaged_page_is_refused(flow: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    result = run_local(load_target(f"{flow}:reported"), {"n": 3}, root=root)
    store = BlobStore(root)
    page = read_decks(store, result.run_id, "report")[0]
    Path(store.path(page.uri.split(store.uri("") + "/", 1)[1])).write_text("<h1>forged</h1>")
    with pytest.raises(BlobIntegrityError):
        read_deck_html(store, page)


def test_a_manifest_pointing_outside_the_node_is_ignored(flow: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    result = run_local(load_target(f"{flow}:reported"), {"n": 3}, root=root)
    store = BlobStore(root)
    doc = store.read_json(decks_key(result.run_id, "report"))
    doc["decks"][0]["uri"] = store.uri("secrets.html")
    store.write_json(decks_key(result.run_id, "report"), doc)
    assert [d.name for d in read_decks(store, result.run_id, "report")] == ["Details"]


def test_deck_names_are_checked() -> None:
    with pytest.raises(DeckError, match="non-empty name"):
        Deck("  ")
    with pytest.raises(DeckError, match="limit"):
        Deck("x" * (MAX_DECK_NAME + 1))
    with pytest.raises(DeckError, match="control character"):
        Deck("tab\x07")
    with pytest.raises(DeckError, match="must be text"):
        Deck("Summary", b"<p>bytes</p>")  # type: ignore[arg-type]


def test_a_deck_outside_a_task_is_a_plain_object() -> None:
    deck = Deck("Notes", "<p>a</p>")
    assert deck.html == "<p>a</p>" and "Notes" in repr(deck)
