"""A run's history rebuilt from its event log alone: what it ran, how it ended, and
where each node's outputs came from (computed here, or restored from a cache entry that
another run computed).

Reads only `EventRecord`s, so history survives the pods, the blob-store run folder and
the execution row; `flytepath history` prints it.

Must not import: airflow, kubernetes (the runtime runs in the task image).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flytepath_airflow.stores.metadata import EventRecord


@dataclass
class NodeLineage:
    """How one node's outputs came to be, as the event log tells it.

    :param node_id: the node.
    :param attempt: the attempt that succeeded.
    :param task: the task it ran.
    :param version: the workflow (or task) version recorded with the outputs.
    :param inputs_hash: the hash of the input values.
    :param outputs: the pointer outputs {name: entry}.
    :param cache_key: set when the outputs were restored from the cache.
    :param source_run_id: the run that originally computed them.
    :param source_node_id: the node that originally computed them.
    :param succeeded_at: when the node succeeded.
    :param recovered: True when the outputs were reused from the run this run recovers
        (`source_run_id`), not restored from a cache entry.
    """

    node_id: str
    attempt: int | None
    task: str | None
    version: str | None
    inputs_hash: str | None
    outputs: dict[str, Any]
    cache_key: str | None = None
    source_run_id: str | None = None
    source_node_id: str | None = None
    succeeded_at: datetime | None = None
    recovered: bool = False


@dataclass
class RunHistory:
    """A run reconstructed from its events alone.

    `nodes` holds the lineage of every node that succeeded; `node_states` the kind of each
    node's latest event (so a failed or still-running node shows too). `recovered_from`
    names the failed run this run recovers; `recovered_by` the runs that recovered this one.
    """

    run_id: str
    workflow: str | None = None
    version: str | None = None
    project: str | None = None
    domain: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    image: str | None = None
    status: str = "unknown"
    outputs: dict[str, Any] | None = None
    error: str | None = None
    queued_at: datetime | None = None
    finished_at: datetime | None = None
    events: list[EventRecord] = field(default_factory=list)
    nodes: dict[str, NodeLineage] = field(default_factory=dict)
    node_states: dict[str, str] = field(default_factory=dict)
    decks: dict[str, list[str]] = field(default_factory=dict)
    """Node -> the names of the report pages its newest attempt with pages published."""
    recovered_from: str | None = None
    recovered_by: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view (timestamps as ISO 8601)."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "run_id": self.run_id, "workflow": self.workflow, "version": self.version,
            "project": self.project, "domain": self.domain, "inputs": self.inputs,
            "image": self.image, "status": self.status, "outputs": self.outputs,
            "error": self.error, "queued_at": iso(self.queued_at),
            "finished_at": iso(self.finished_at), "node_states": self.node_states,
            "recovered_from": self.recovered_from, "recovered_by": self.recovered_by,
            "events": [
                {"seq": e.seq, "time": iso(e.created_at), "kind": e.kind, "node_id": e.node_id,
                 "attempt": e.attempt, "payload": e.payload}
                for e in self.events
            ],
            "lineage": {
                n.node_id: {
                    "attempt": n.attempt, "task": n.task, "version": n.version,
                    "inputs_hash": n.inputs_hash, "outputs": n.outputs,
                    "cache_key": n.cache_key, "source_run_id": n.source_run_id,
                    "source_node_id": n.source_node_id, "succeeded_at": iso(n.succeeded_at),
                    "recovered": n.recovered,
                }
                for n in self.nodes.values()
            },
            "decks": self.decks,
        }


_TERMINAL_RUN_KINDS = {"succeeded": "succeeded", "failed": "failed"}


def reconstruct_history(run_id: str, events: list[EventRecord]) -> RunHistory:
    """Rebuild a run (what it ran, how it ended, where each output came from) from events.

    Reads the payloads the runtime writes: `queued` (run level) carries workflow, version,
    inputs, project, domain (and image when known); a node's `succeeded` carries outputs,
    inputs_hash, task and version; `cache_hit` carries key, source_run_id and
    source_node_id, `recovered` (outputs reused from the recovered run) the last two;
    `recovered_from` and `recovered_by` (run level) name the other run. Unknown kinds and
    missing fields are tolerated.

    :param run_id: the run.
    :param events: its events in log order (`MetadataStore.events(run_id)`).
    """
    history = RunHistory(run_id=run_id, events=list(events))
    hits: dict[tuple[str, int | None], dict[str, Any]] = {}
    for ev in events:
        p = ev.payload
        if ev.node_id is None:
            if ev.kind == "queued":
                history.workflow = p.get("workflow", history.workflow)
                history.version = p.get("version", history.version)
                history.project = p.get("project", history.project)
                history.domain = p.get("domain", history.domain)
                history.inputs = dict(p.get("inputs") or {})
                history.image = p.get("image", history.image)
                history.queued_at = ev.created_at
                history.status = "queued"
            elif ev.kind == "running":
                history.status = "running"
                history.image = p.get("image", history.image)
            elif ev.kind == "recovered_from":
                history.recovered_from = p.get("run_id", history.recovered_from)
            elif ev.kind == "recovered_by" and p.get("run_id"):
                history.recovered_by.append(str(p["run_id"]))
            elif ev.kind in _TERMINAL_RUN_KINDS:
                history.status = _TERMINAL_RUN_KINDS[ev.kind]
                history.finished_at = ev.created_at
                if "outputs" in p:
                    history.outputs = p["outputs"]
                history.error = p.get("error") or p.get("message") or history.error
            continue
        if ev.kind == "decks_published":
            # Reports are published as an attempt ends, after a failure is recorded: they
            # say what the node left to read, not how it ended.
            history.decks[ev.node_id] = [str(name) for name in p.get("decks") or ()]
            continue
        history.node_states[ev.node_id] = ev.kind
        if ev.kind in ("cache_hit", "recovered"):
            hits[(ev.node_id, ev.attempt)] = {**p, "recovered": ev.kind == "recovered"}
        elif ev.kind == "succeeded":
            hit = hits.get((ev.node_id, ev.attempt), {})
            history.nodes[ev.node_id] = NodeLineage(
                node_id=ev.node_id, attempt=ev.attempt, task=p.get("task"),
                version=p.get("version"), inputs_hash=p.get("inputs_hash"),
                outputs=dict(p.get("outputs") or {}), cache_key=hit.get("key"),
                source_run_id=hit.get("source_run_id"),
                source_node_id=hit.get("source_node_id"), succeeded_at=ev.created_at,
                recovered=bool(hit.get("recovered")),
            )
    return history


__all__ = ["NodeLineage", "RunHistory", "reconstruct_history"]
