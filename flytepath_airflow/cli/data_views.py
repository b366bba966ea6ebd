"""What `flytepath cache|versions|executions|history` show: the metadata store, as people read it.

Presentation only: every fact comes from `stores.metadata.MetadataStore`; `history` rebuilds a
run from its event log alone (`runtime.history.reconstruct_history`). `cli/data_commands.py`
declares the commands (typer only) and imports this module when one of them runs, so the
store and SQLAlchemy are imported here at module level and `flytepath --help` stays
fast. rich is imported where a table is drawn (`--json` and empty results never draw one).

Each public function is one command; its keyword arguments are the command's options,
documented where `cli/data_commands.py` declares them. Mistakes in arguments raise
FlytePathUserError (exit code 2 from `flytepath`), so they read the same as every other
user error.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import typer

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.runtime.history import NodeLineage, RunHistory, reconstruct_history
from flytepath_airflow.runtime.liveness import close_dead_runs
from flytepath_airflow.runtime.registry import resolve_workflow_name
from flytepath_airflow.stores.metadata import (
    CacheEntryRecord,
    EventRecord,
    MetadataStore,
    redact_url,
)

if TYPE_CHECKING:
    from rich.console import Console

SHORT = 16
"""How many characters of a key or hash the tables show (inspect and evict take prefixes)."""



# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


@contextmanager
def _store(url: str | None) -> Iterator[MetadataStore]:
    store = MetadataStore(url)
    try:
        yield store
    finally:
        store.close()


def _console() -> Console:
    from rich.console import Console

    # Created per command so it writes to the stdout of the moment (tests redirect it).
    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


def _echo_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, indent=1, sort_keys=True, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _record_json(record: Any) -> dict[str, Any]:
    return dataclasses.asdict(record)


def _short(value: str | None, n: int = SHORT) -> str:
    if not value:
        return "-"
    return value if len(value) <= n else value[:n] + "…"


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _age(value: datetime, now: datetime | None = None) -> str:
    seconds = max(0.0, ((now or datetime.now(timezone.utc)) - value).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def _tenant(project: str | None, domain: str | None) -> str:
    if project is None and domain is None:
        return "-"
    if project == "*" and domain == "*":
        return "global"
    return f"{project}/{domain}"


def _scope(project: str | None, domain: str | None) -> str:
    """The tenants a `--project`/`--domain` filter selects, for messages."""
    if project is None and domain is None:
        return "any project or domain"
    return f"{project or '*'}/{domain or '*'}"


def _compact(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entry_text(entry: Any) -> str:
    """One pointer entry: the inline value, or where the blob is and its hash."""
    if isinstance(entry, dict) and "value" in entry and set(entry) <= {"value", "sha256"}:
        return _compact(entry["value"])
    if isinstance(entry, dict) and "uri" in entry:
        return f"{entry['uri']} (sha256 {_short(entry.get('sha256'), 12)})"
    return _compact(entry)


def _cache_filters_text(filters: dict[str, Any]) -> str:
    shown = [f"{k}={v}" for k, v in filters.items() if v is not None]
    return ", ".join(shown) if shown else "no filter"


# --------------------------------------------------------------------------------------
# cache
# --------------------------------------------------------------------------------------


def cache_ls(*, task: str | None, version: str | None, project: str | None,
             domain: str | None, older_than: timedelta | None, limit: int, as_json: bool,
             metadata_url: str | None) -> None:
    """`flytepath cache ls`: cache entries, newest first."""
    with _store(metadata_url) as store:
        entries = store.list_cache_entries(task=task, cache_version=version, project=project,
                                           domain=domain, older_than=older_than, limit=limit + 1)
    more = len(entries) > limit
    entries = entries[:limit]
    if as_json:
        _echo_json([_record_json(e) for e in entries])
        return
    if not entries:
        typer.echo("no cache entries match", err=True)
        return
    from rich.table import Table

    table = Table(title=f"{len(entries)} cache entries" + (" (more not shown)" if more else ""))
    table.add_column("key", no_wrap=True)
    for column in ("task", "cache version", "tenant", "age", "computed by (run / node)"):
        table.add_column(column, overflow="fold")
    now = datetime.now(timezone.utc)
    for e in entries:
        table.add_row(_short(e.key), e.task, e.cache_version, _tenant(e.project, e.domain),
                      _age(e.created_at, now), f"{e.run_id} / {e.node_id}")
    _console().print(table)
    if more:
        typer.echo(f"showing the newest {limit}; pass --limit to see more", err=True)


def _resolve_key(store: MetadataStore, key: str) -> CacheEntryRecord:
    entry = store.get_cache_entry(key)
    if entry is not None:
        return entry
    matches = store.list_cache_entries(key_prefix=key, limit=3)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise FlytePathUserError(
            f"cache key prefix '{key}' matches several entries "
            f"({', '.join(_short(m.key) for m in matches)}...); give more characters."
        )
    raise FlytePathUserError(
        f"there is no cache entry with key '{key}'. List entries with `flytepath cache ls`."
    )


def cache_inspect(*, key: str, as_json: bool, metadata_url: str | None) -> None:
    """`flytepath cache inspect`: one cache entry, its outputs and who computed it."""
    with _store(metadata_url) as store:
        entry = _resolve_key(store, key)
        reservation = store.get_reservation(entry.key)
    if as_json:
        doc = _record_json(entry)
        doc["reservation"] = _record_json(reservation) if reservation else None
        _echo_json(doc)
        return
    from rich.table import Table

    table = Table(show_header=False, title=f"cache entry {_short(entry.key)}")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows = [
        ("key", entry.key), ("task", entry.task), ("cache version", entry.cache_version),
        ("tenant", _tenant(entry.project, entry.domain)),
        ("interface hash", entry.interface_hash), ("inputs hash", entry.inputs_hash),
        ("computed by", f"run {entry.run_id}, node {entry.node_id}"),
        ("created", f"{_when(entry.created_at)} ({_age(entry.created_at)})"),
    ]
    if reservation is not None:
        state = "expired" if reservation.expired() else "held"
        rows.append(("reservation", f"{state} by {reservation.owner} until "
                                    f"{_when(reservation.expires_at)}"))
    if entry.problem is not None:
        rows.append(("unreadable", f"{entry.problem}; the next run computes it again"))
    for name, value in rows:
        table.add_row(name, value)
    for name, out in sorted(entry.outputs.items()):
        table.add_row(f"output {name}", _entry_text(out))
    _console().print(table)


def cache_evict(*, task: str | None, version: str | None, project: str | None,
                domain: str | None, older_than: timedelta | None, key: str | None,
                evict_all: bool, yes: bool, metadata_url: str | None) -> None:
    """`flytepath cache evict`: delete the matching cache entries, after confirming."""
    filters: dict[str, Any] = {"task": task, "cache_version": version, "project": project,
               "domain": domain,
               "older_than": older_than}
    has_filter = any(v is not None for v in filters.values())
    if key is not None and (has_filter or evict_all):
        raise FlytePathUserError(
            "--key names one entry; do not combine it with filters or --all."
        )
    if key is None and not has_filter and not evict_all:
        raise FlytePathUserError(
            "refusing to evict every cache entry without --all. Pass a filter "
            "(--task, --version, --project, --domain, --older-than), --key, or --all."
        )
    with _store(metadata_url) as store:
        if key is not None:
            entry = _resolve_key(store, key)
            if not yes:
                typer.confirm(f"evict cache entry {entry.key} ({entry.task}, version "
                              f"{entry.cache_version})?", abort=True)
            removed = int(store.delete_cache_entry(entry.key))
        else:
            count = len(store.list_cache_entries(**filters))
            if count == 0:
                typer.echo(f"no cache entries match ({_cache_filters_text(filters)})", err=True)
                return
            if not yes:
                typer.confirm(f"evict {count} cache entries ({_cache_filters_text(filters)})?",
                              abort=True)
            removed = store.evict_cache_entries(**filters)
    typer.echo(f"evicted {removed} cache entr{'y' if removed == 1 else 'ies'}")


# --------------------------------------------------------------------------------------
# versions and executions
# --------------------------------------------------------------------------------------


def versions(*, name: str, project: str | None, domain: str | None, as_json: bool,
             metadata_url: str | None) -> None:
    """`flytepath versions`: the registered versions of a workflow, newest first.

    `name` may be the last part(s) of the full name when they are unique in the tenant.
    """
    with _store(metadata_url) as store:
        known = [n for _p, _d, n in store.list_workflows(project=project, domain=domain)]
        name = resolve_workflow_name(name, known, where=_scope(project, domain))
        found = store.list_versions(name, project=project, domain=domain)
    if as_json:
        _echo_json([{k: v for k, v in _record_json(r).items() if k != "spec_json"}
                    for r in found])
        return
    if not found:
        where = f" in {project or '*'}/{domain or '*'}" if project or domain else ""
        raise FlytePathUserError(
            f"no versions of workflow '{name}' are registered{where}. Register one with "
            "`flytepath register FILE.py --project P --domain D`."
        )
    from rich.table import Table

    table = Table(title=f"versions of {name} (newest first; spec URIs with --json)")
    table.add_column("version", no_wrap=True)
    for column in ("tenant", "registered", ""):
        table.add_column(column, overflow="fold")
    seen: set[tuple[str, str]] = set()
    for r in found:
        tenant = (r.project, r.domain)
        mark = "" if tenant in seen else "latest"
        seen.add(tenant)
        table.add_row(r.version, _tenant(r.project, r.domain), _when(r.created_at), mark)
    _console().print(table)


def executions(*, workflow: str | None, project: str | None, domain: str | None, limit: int,
               as_json: bool, metadata_url: str | None) -> None:
    """`flytepath executions`: runs, newest first (runs of dead local runners closed first).

    `workflow` may be the last part(s) of the full name when they are unique among the
    workflows with runs in the tenant.
    """
    with _store(metadata_url) as store:
        close_dead_runs(store)
        if workflow is not None:
            workflow = resolve_workflow_name(
                workflow, store.executed_workflows(project=project, domain=domain),
                where=_scope(project, domain), kind="workflow with runs",
                fix="Run it with `flytepath run`, or list every run with `flytepath executions`.")
        runs = store.list_executions(workflow=workflow, project=project, domain=domain,
                                     limit=limit)
    if as_json:
        _echo_json([_record_json(r) for r in runs])
        return
    if not runs:
        typer.echo("no executions match", err=True)
        return
    from rich.table import Table

    table = Table(title=f"{len(runs)} executions")
    table.add_column("run id", no_wrap=True)
    for column in ("workflow", "version", "tenant", "backend"):
        table.add_column(column, overflow="fold")
    for column in ("status", "started", "took"):
        table.add_column(column, no_wrap=True)
    for r in runs:
        took = (f"{(r.finished_at - r.created_at).total_seconds():.1f}s"
                if r.finished_at else "-")
        table.add_row(r.run_id, r.workflow, _short(r.version, 12), _tenant(r.project, r.domain),
                      r.backend, r.status, _when(r.created_at), took)
    _console().print(table)


# --------------------------------------------------------------------------------------
# history
# --------------------------------------------------------------------------------------

_MAX_ORIGIN_HOPS = 8


def trace_origin(store: MetadataStore, lineage: NodeLineage) -> dict[str, Any] | None:
    """Where cached or recovered outputs were first computed: follow cache hits and
    recoveries through the source runs' events until a run that computed them (None when
    the node computed them itself).
    """
    if lineage.source_run_id is None:
        return None
    run_id, node_id = lineage.source_run_id, lineage.source_node_id
    hops: list[dict[str, Any]] = []
    for _ in range(_MAX_ORIGIN_HOPS):
        hops.append({"run_id": run_id, "node_id": node_id})
        source = reconstruct_history(run_id, store.events(run_id))
        node = source.nodes.get(node_id or "")
        if node is None:
            return {"run_id": run_id, "node_id": node_id, "found": False, "hops": hops}
        if node.source_run_id is None:
            return {"run_id": run_id, "node_id": node_id, "found": True, "hops": hops,
                    "task": node.task, "version": node.version,
                    "inputs_hash": node.inputs_hash, "computed_at": node.succeeded_at,
                    "workflow": source.workflow, "workflow_version": source.version}
        run_id, node_id = node.source_run_id, node.source_node_id
    return {"run_id": run_id, "node_id": node_id, "found": False, "hops": hops}


def _event_detail(ev: EventRecord) -> str:
    p = ev.payload
    if ev.kind == "queued" and ev.node_id is None:
        return (f"{p.get('workflow', '?')} @ {_short(p.get('version'), 12)} in "
                f"{_tenant(p.get('project'), p.get('domain'))}, inputs {_compact(p.get('inputs'))}")
    if ev.kind == "cache_hit":
        return (f"key {_short(p.get('key'))} from run {p.get('source_run_id', '?')} "
                f"node {p.get('source_node_id', '?')}")
    if ev.kind == "recovered":
        return f"recovered from {p.get('source_run_id', '?')}: outputs reused, task not run"
    if ev.kind == "recovered_from":
        return f"recovers failed run {p.get('run_id', '?')}"
    if ev.kind == "recovered_by":
        return f"recovered by run {p.get('run_id', '?')}"
    if ev.kind == "recovery_refused":
        return f"not reused from run {p.get('source_run_id', '?')}: {p.get('reason', '?')}"
    if ev.kind in ("cache_miss", "cache_write") and "key" in p:
        rest = {k: v for k, v in p.items() if k != "key"}
        return f"key {_short(p['key'])}" + (f" {_compact(rest, 40)}" if rest else "")
    if ev.kind == "succeeded" and "outputs" in p:
        names = ", ".join(sorted(p["outputs"])) or "(no outputs)"
        return f"outputs {names}" + (f" ({p['task']})" if p.get("task") else "")
    if ev.kind == "checkpoint_written":
        return f"{p.get('kind', '?')} {_size(p.get('size'))} ({p.get('generation', '?')})"
    if ev.kind == "checkpoint_restored":
        skipped = f", {p['skipped']} corrupt skipped" if p.get("skipped") else ""
        return (f"{p.get('kind', '?')} {_size(p.get('size'))} from run "
                f"{p.get('from_run', '?')} attempt {p.get('from_attempt', '?')}{skipped}")
    if ev.kind in ("failed", "retried") and ("error" in p or "message" in p):
        return str(p.get("error") or p.get("message"))[:120]
    return _compact(p) if p else ""


def _size(value: Any) -> str:
    if not isinstance(value, int):
        return "?"
    if value < 1024:
        return f"{value} B"
    amount = float(value)
    for unit in ("KiB", "MiB", "GiB"):
        amount /= 1024
        if amount < 1024 or unit == "GiB":
            break
    return f"{amount:.1f} {unit}"


def _fold_checkpoint_saves(events: list[EventRecord]) -> list[tuple[EventRecord, int]]:
    """A task that saves every step would flood the timeline: consecutive saves of one
    attempt show as one row (the last save, with their count)."""
    rows: list[tuple[EventRecord, int]] = []
    for ev in events:
        if rows and ev.kind == "checkpoint_written":
            last, count = rows[-1]
            if last.kind == ev.kind and (last.node_id, last.attempt) == (ev.node_id,
                                                                           ev.attempt):
                rows[-1] = (ev, count + 1)
                continue
        rows.append((ev, 1))
    return rows


def _render_history(history: RunHistory, origins: dict[str, dict[str, Any] | None]) -> None:
    from rich.table import Table

    console = _console()
    console.print(f"[bold]run {history.run_id}[/bold]  status: {history.status}")
    console.print(f"  workflow: {history.workflow or '?'}  version: {history.version or '?'}  "
                  f"tenant: {_tenant(history.project, history.domain)}")
    console.print(f"  inputs:   {_compact(history.inputs, 200)}")
    if history.image:
        console.print(f"  image:    {history.image}")
    if history.error:
        console.print(f"  error:    {history.error}")
    if history.recovered_from:
        console.print(f"  recovered from: {history.recovered_from}")
    if history.recovered_by:
        console.print(f"  recovered by:   {', '.join(history.recovered_by)}")
    if history.node_states:
        counts: dict[str, int] = {}
        for state in history.node_states.values():
            counts[state] = counts.get(state, 0) + 1
        hits = sum(1 for n in history.nodes.values()
                   if n.source_run_id is not None and not n.recovered)
        reused = sum(1 for n in history.nodes.values() if n.recovered)
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        notes = ([f"{hits} from the cache"] if hits else []) + \
            ([f"{reused} recovered from {history.recovered_from}"] if reused else [])
        console.print(f"  nodes:    {summary}" + (f" ({'; '.join(notes)})" if notes else ""))

    start = history.events[0].created_at
    timeline = Table(title="timeline")
    for column, justify in (("seq", "right"), ("+time", "right"), ("node", "left"),
                            ("try", "right"), ("event", "left"), ("detail", "left")):
        timeline.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for ev, saves in _fold_checkpoint_saves(history.events):
        offset = (ev.created_at - start).total_seconds()
        detail = _event_detail(ev) if saves == 1 else \
            f"{saves} saves, the last {_event_detail(ev)}"
        timeline.add_row(str(ev.seq), f"{offset:.2f}s", ev.node_id or "(run)",
                         "" if ev.attempt is None else str(ev.attempt), ev.kind, detail)
    console.print(timeline)

    lineage = Table(title="outputs and their lineage")
    for column in ("node", "output", "value", "produced by", "origin"):
        lineage.add_column(column, overflow="fold")
    for node in history.nodes.values():
        produced = (f"task {node.task} @ {_short(node.version, 12)}" if node.task
                    else f"control step @ {_short(node.version, 12)}")
        if node.inputs_hash:  # control steps have none, nor did events before it was kept
            produced += f", inputs {_short(node.inputs_hash, 12)}"
        origin = _origin_text(node, origins.get(node.node_id))
        for name, entry in sorted(node.outputs.items()) or [("-", None)]:
            lineage.add_row(node.node_id, name, "-" if entry is None else _entry_text(entry),
                            produced, origin)
    if history.nodes:
        console.print(lineage)
    else:
        console.print("no node has succeeded in this run yet")
    if history.outputs is not None:
        shown = "; ".join(f"{name} = {_entry_text(entry)}"
                          for name, entry in sorted(history.outputs.items()))
        console.print(f"workflow outputs: {shown or '(none)'}")
    if history.decks:
        console.print("decks (write one node's with `flytepath deck RUN_ID NODE -o FILE`):")
        for node_id, names in sorted(history.decks.items()):
            console.print(f"  {node_id}: {', '.join(names)}", markup=False)


def _origin_text(node: NodeLineage, origin: dict[str, Any] | None) -> str:
    if node.source_run_id is None:
        return f"computed here (attempt {node.attempt})" if node.attempt else "computed here"
    if node.recovered:
        text = f"recovered from {node.source_run_id}"
        if origin is not None and origin.get("found") and origin["run_id"] != node.source_run_id:
            text += f"; computed by run {origin['run_id']} node {origin['node_id']}"
        return text
    text = f"cache hit (key {_short(node.cache_key)})"
    if origin is None:
        return text
    if not origin.get("found"):
        return f"{text}; source run {origin['run_id']} has no record of node {origin['node_id']}"
    return f"{text}; computed by run {origin['run_id']} node {origin['node_id']}"


def history(*, run_id: str, as_json: bool, metadata_url: str | None) -> None:
    """`flytepath history`: a run's timeline and its outputs' lineage, from its events."""
    with _store(metadata_url) as store:
        events = store.events(run_id)
        if not events:
            raise FlytePathUserError(
                f"the event log has no run '{run_id}' (metadata store {redact_url(store.url)}). "
                "List runs with `flytepath executions`."
            )
        run = reconstruct_history(run_id, events)
        origins = {node_id: trace_origin(store, node) for node_id, node in run.nodes.items()}
    if as_json:
        doc = run.to_json()
        for node_id, origin in origins.items():
            doc["lineage"][node_id]["origin"] = origin
        _echo_json(doc)
        return
    _render_history(run, origins)
