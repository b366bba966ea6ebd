"""`flytepath deck RUN_ID NODE -o report.html`: a node's report pages as one HTML file.

The page is self-contained (no network, no script of ours) and opens from disk: one tab
per deck, each deck inside an `<iframe srcdoc>` sandboxed without `allow-same-origin`, so
a deck's HTML (user content: a notebook, a validation report) can neither read the other
tabs nor the page around it. Tabs switch with CSS alone.

Which nodes have decks comes from the event log (`decks_published`), the pages themselves
from the blob store, verified against their manifest (runtime/decks.py).

Declares the command with typer only; the store and the runtime are imported when it runs.
Must not import at module level: airflow, kubernetes, sqlalchemy, pydantic.
"""

from __future__ import annotations

import html
from pathlib import Path

import typer

from flytepath_airflow.errors import FlytePathUserError


def deck(
    run_id: str = typer.Argument(..., help="the run id"),
    node: str = typer.Argument(..., help="the node id (a map element: NODE[INDEX])"),
    output: Path = typer.Option(..., "-o", "--output", metavar="FILE",
                                help="the HTML file to write"),
    metadata_url: str | None = typer.Option(None, "--metadata-url",
                                            help="the metadata store (default: settings)"),
) -> None:
    """Write a node's report pages (decks) to one HTML file with a tab per page."""
    # Lazy: the stores load SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.runtime.decks import read_deck_html, read_decks
    from flytepath_airflow.runtime.history import reconstruct_history
    from flytepath_airflow.stores.blob import BlobIntegrityError, BlobStore, default_root
    from flytepath_airflow.stores.metadata import MetadataStore, redact_url

    meta = MetadataStore(metadata_url)
    try:
        events = meta.events(run_id)
        where = redact_url(meta.url)
    finally:
        meta.close()
    if not events:
        raise FlytePathUserError(
            f"the event log has no run '{run_id}' (metadata store {where}). List runs with "
            "`flytepath executions`.")
    with_decks = reconstruct_history(run_id, events).decks
    known = ", ".join(sorted(with_decks)) or "none"
    if node not in {ev.node_id for ev in events}:
        raise FlytePathUserError(
            f"run {run_id} has no node '{node}'. Nodes of this run with decks: {known}.")
    store = BlobStore(default_root())
    pages = read_decks(store, run_id, node)
    if not pages:
        raise FlytePathUserError(
            f"node '{node}' of run {run_id} has no decks. Nodes of this run with decks: "
            f"{known}. A task adds pages with Deck(name, html), or @task(enable_deck=True) "
            "for input and output summaries.")
    try:
        rendered = [(page.name, read_deck_html(store, page)) for page in pages]
    except (BlobIntegrityError, OSError) as exc:
        raise FlytePathUserError(
            f"a deck of node '{node}' of run {run_id} cannot be read: {exc}. It is not what "
            "the task wrote; rerun the node to write it again.") from None
    document = deck_page(f"{node} · run {run_id}", rendered)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise FlytePathUserError(f"cannot write {output}: {exc.strerror or exc}. Choose a "
                                 "writable path with -o.") from None
    typer.echo(f"wrote {len(rendered)} deck(s) of node '{node}' to {output}: "
               f"{', '.join(name for name, _ in rendered)}", err=True)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; }
header { padding: 0.6rem 1rem; background: #1f2937; color: #f9fafb; }
.tabs > input { position: absolute; opacity: 0; }
.tabs > label { display: inline-block; padding: 0.5rem 1rem; cursor: pointer;
  border-bottom: 3px solid transparent; }
.tabs > .page { display: none; }
.tabs iframe { width: 100%; height: calc(100vh - 7rem); border: 0; }
"""


def deck_page(title: str, decks: list[tuple[str, str]]) -> str:
    """One HTML document with a tab per (name, html) deck, each in a sandboxed iframe.

    :param title: the page title.
    :param decks: the pages, in order; the first tab is shown first.
    """
    rules = []
    parts = []
    for index, (name, _) in enumerate(decks):
        rules.append(f"#tab-{index}:checked ~ #page-{index} {{ display: block; }}\n"
                     f"#tab-{index}:checked + label {{ border-color: #2563eb; "
                     "font-weight: 600; }")
        checked = " checked" if index == 0 else ""
        parts.append(
            f'<input type="radio" name="tabs" id="tab-{index}"{checked}>'
            f'<label for="tab-{index}">{html.escape(name)}</label>')
    for index, (name, body) in enumerate(decks):
        # srcdoc is an attribute: escaping it is what keeps the deck inside its frame.
        parts.append(
            f'<div class="page" id="page-{index}"><iframe title="{html.escape(name)}" '
            f'sandbox="allow-scripts" referrerpolicy="no-referrer" '
            f'srcdoc="{html.escape(body, quote=True)}"></iframe></div>')
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_STYLE}{''.join(rules)}</style>"
        f"</head><body><header>{html.escape(title)}</header>"
        f"<div class=\"tabs\">{''.join(parts)}</div></body></html>\n")


def register(app: typer.Typer) -> None:
    """Add `flytepath deck` to the CLI."""
    app.command("deck")(deck)


__all__ = ["deck_page", "register"]
