"""The FlytePath view: server-rendered pages mounted in Airflow's API server at /flytepath.

Pages: executions per tenant, one run (timeline, cache hits, attempts, errors, inputs,
outputs, lineage), one node (with its decks, each in a sandboxed frame), registered
versions with their specs and diffs, cache entries (inspect, evict), tenants with their
pools. Blobs are downloaded through the app,
verified against their sha256. Airflow's auth manager decides every request (`auth.py`);
ids from URLs are validated (`ids.py`) and every value is escaped by Jinja's autoescape.

ADR 0029 says why this is a FastAPI app plus external views; ADR 0030 how it authorizes.

Must not import: the CLI, the backends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from flytepath_airflow.errors import FlytePathError
from flytepath_airflow.ir.models import OutputRef
from flytepath_airflow.ir.names import safe_run_id
from flytepath_airflow.platform.naming import dag_id_of, flytepath_run_id, task_id_for
from flytepath_airflow.plugins.view.auth import (
    CurrentUser,
    may_access_dag,
    require_dag_access,
    require_same_origin,
)
from flytepath_airflow.plugins.view.ids import checked
from flytepath_airflow.plugins.view.queries import (
    blob_of,
    list_executions,
    read_blob,
    run_view,
    spec_diff,
    spec_text,
    value_of,
)
from flytepath_airflow.plugins.view.tenants import tenant_views
from flytepath_airflow.runtime.decks import read_deck_html, read_decks
from flytepath_airflow.runtime.run import load_run_spec, read_run_inputs
from flytepath_airflow.stores.blob import BlobIntegrityError, BlobStore, default_root
from flytepath_airflow.stores.metadata import MetadataStore, default_metadata_url

TEMPLATES = Path(__file__).parent / "templates"

DECK_CSP = ("sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; img-src data:; font-src data:; media-src data:; "
            "form-action 'none'; base-uri 'none'; frame-ancestors 'self'")
"""A deck is user HTML served from Airflow's origin: the CSP sandbox gives it an opaque
origin even when opened on its own (no cookies, no storage, no same-origin API calls),
and it may load nothing from the network; inline scripts and styles still draw plots."""

DECK_HEADERS = {"Content-Security-Policy": DECK_CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "Cache-Control": "private, no-store"}
LIST_LIMIT = 200
"""Rows a list page shows at most (newest first)."""

# Airflow run ids carry ':' and '+' (`manual__2026-01-01T00:00:00+00:00`).
_AIRFLOW_RUN_ID = re.compile(r"[A-Za-z0-9_.:+-]{1,250}")


def create_app(*, root: str | None = None, metadata_url: str | None = None) -> FastAPI:
    """The view's FastAPI app.

    :param root: the store root URI; default: the configured one (`config.load_settings`),
        read at the first request.
    :param metadata_url: the metadata database; default: the configured one.
    """
    app = FastAPI(title="FlytePath", docs_url=None, redoc_url=None, openapi_url=None)
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["q"] = lambda text: quote(str(text), safe="")
    state: dict[str, Any] = {}

    def meta() -> Iterator[MetadataStore]:
        if "meta" not in state:
            state["meta"] = MetadataStore(metadata_url or default_metadata_url())
        yield state["meta"]

    def store_root() -> str:
        if "root" not in state:
            state["root"] = root or default_root()
        return str(state["root"])

    def page(request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        base = request.scope.get("root_path", "").rstrip("/")
        body = env.get_template(template).render(base=base, **context)
        return HTMLResponse(body, status_code=code)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        accept = request.headers.get("accept", "")
        if "text/html" not in accept:
            return Response(f'{{"detail": {_json(exc.detail)}}}', status_code=exc.status_code,
                            media_type="application/json", headers=exc.headers)
        return page(request, "message.html", exc.status_code, title=f"{exc.status_code}",
                    message=str(exc.detail))

    Meta = Depends(meta)

    @app.get("/", response_class=HTMLResponse)
    def executions(request: Request, user: CurrentUser, store: MetadataStore = Meta,
                   project: str | None = None, domain: str | None = None) -> HTMLResponse:
        project = checked(project, "name") if project else None
        domain = checked(domain, "name") if domain else None
        rows = list_executions(store, project=project, domain=domain, limit=LIST_LIMIT)
        readable = _readable(user, {r.dag_id for r in rows})
        rows = [r for r in rows if r.dag_id in readable]
        tenants = sorted({(r.record.project, r.record.domain) for r in rows})
        return page(request, "executions.html", rows=rows, project=project, domain=domain,
                    tenants=tenants, title="Executions")

    def _run(user: Any, store: MetadataStore, run_id: str) -> Any:
        run_id = checked(run_id, "run id")
        try:
            run = run_view(store, store_root(), run_id)
        except LookupError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"{exc}; `flytepath executions` lists the runs it knows.") from None
        require_dag_access(user, run.dag_id, "GET", "see runs")
        return run

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str, user: CurrentUser,
                 store: MetadataStore = Meta) -> HTMLResponse:
        run = _run(user, store, run_id)
        return page(request, "run.html", run=run, title=f"Run {run.run_id}")

    @app.get("/runs/{run_id}/nodes/{node_id}", response_class=HTMLResponse)
    def node_page(request: Request, run_id: str, node_id: str, user: CurrentUser,
                  store: MetadataStore = Meta) -> HTMLResponse:
        node_id = checked(node_id, "node id")
        run = _run(user, store, run_id)
        node = next((n for n in run.nodes if n.node_id == node_id), None)
        if node is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"run '{run.run_id}' has no node '{node_id}'")
        decks = read_decks(BlobStore(store_root()), run.run_id, node.node_id)
        return page(request, "node.html", run=run, node=node, decks=decks,
                    title=f"{node.node_id} in {run.run_id}")

    @app.get("/runs/{run_id}/nodes/{node_id}/decks/{index}", response_class=HTMLResponse)
    def node_deck(run_id: str, node_id: str, index: int, user: CurrentUser,
                  store: MetadataStore = Meta) -> HTMLResponse:
        node_id = checked(node_id, "node id")
        run = _run(user, store, run_id)
        blobs = BlobStore(store_root())
        decks = read_decks(blobs, run.run_id, node_id)
        if not 0 <= index < len(decks):
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"node '{node_id}' of run '{run.run_id}' has no deck {index}")
        try:
            body = read_deck_html(blobs, decks[index])
        except BlobIntegrityError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT,
                                f"deck {decks[index].name!r} cannot be shown: {exc}") from None
        except (OSError, PermissionError) as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"deck {decks[index].name!r} is missing: {exc}") from None
        return HTMLResponse(body, headers=DECK_HEADERS)

    def _download(uri_sha: tuple[str, str] | None, filename: str, what: str) -> Response:
        if uri_sha is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"{what} is shown inline; it has no blob to download")
        try:
            data = read_blob(store_root(), *uri_sha)
        except PermissionError as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
        except BlobIntegrityError as exc:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"{what} cannot be served: {exc}. The run's outputs are not what it wrote; "
                "rerun the node (and evict its cache entry if it came from the cache).",
            ) from None
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{safe}"',
                                 "X-Content-SHA256": uri_sha[1]})

    @app.get("/runs/{run_id}/nodes/{node_id}/outputs/{name}")
    def node_output(run_id: str, node_id: str, name: str, user: CurrentUser,
                    store: MetadataStore = Meta) -> Response:
        node_id, name = checked(node_id, "node id"), checked(name, "name")
        run = _run(user, store, run_id)
        node = next((n for n in run.nodes if n.node_id == node_id), None)
        value = node.outputs.get(name) if node else None
        return _download(blob_of(value), f"{node_id}.{name}",
                         f"output '{name}' of node '{node_id}'")

    @app.get("/runs/{run_id}/inputs/{name}")
    def run_input(run_id: str, name: str, user: CurrentUser,
                  store: MetadataStore = Meta) -> Response:
        name = checked(name, "name")
        run = _run(user, store, run_id)
        try:
            literal = read_run_inputs(run.run_id, store_root()).get(name)
        except (OSError, KeyError, ValueError):
            literal = None
        return _download(blob_of(value_of(literal)), f"input.{name}", f"input '{name}'")

    @app.get("/runs/{run_id}/outputs/{name}")
    def run_output(request: Request, run_id: str, name: str, user: CurrentUser,
                   store: MetadataStore = Meta) -> Response:
        name = checked(name, "name")
        run = _run(user, store, run_id)
        try:
            binding = load_run_spec(run.run_id, store_root()).outputs.get(name)
        except (FlytePathError, OSError, ValueError):
            binding = None
        if not isinstance(binding, OutputRef):
            # A large literal or input passed through: its own blob under the run.
            return _download(blob_of(run.outputs.get(name)), f"output.{name}",
                             f"output '{name}' of run '{run.run_id}'")
        base = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(
            f"{base}/runs/{quote(run.run_id)}/nodes/{quote(binding.node)}/outputs/"
            f"{quote(binding.output)}", status.HTTP_303_SEE_OTHER)

    @app.get("/versions", response_class=HTMLResponse)
    def versions(request: Request, user: CurrentUser,
                 store: MetadataStore = Meta) -> HTMLResponse:
        workflows = store.list_workflows()
        readable = _readable(user, {dag_id_of(*w) for w in workflows})
        workflows = [w for w in workflows if dag_id_of(*w) in readable]
        return page(request, "versions.html", workflows=workflows, title="Versions")

    def _workflow(user: Any, project: str, domain: str, name: str) -> tuple[str, str, str]:
        project, domain = checked(project, "name"), checked(domain, "name")
        name = checked(name, "name")
        require_dag_access(user, dag_id_of(project, domain, name), "GET", "see versions")
        return project, domain, name

    @app.get("/versions/{project}/{domain}/{name}", response_class=HTMLResponse)
    def workflow_versions(request: Request, project: str, domain: str, name: str,
                          user: CurrentUser, store: MetadataStore = Meta) -> HTMLResponse:
        project, domain, name = _workflow(user, project, domain, name)
        found = store.list_versions(name, project=project, domain=domain)
        if not found:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"no version of '{name}' is registered in {project}/{domain}")
        return page(request, "workflow.html", versions=found, project=project, domain=domain,
                    name=name, title=f"{name} versions")

    @app.get("/versions/{project}/{domain}/{name}/diff", response_class=HTMLResponse)
    def version_diff(request: Request, project: str, domain: str, name: str, a: str, b: str,
                     user: CurrentUser, store: MetadataStore = Meta) -> HTMLResponse:
        project, domain, name = _workflow(user, project, domain, name)
        old = store.get_version(project, domain, name, checked(a, "version"))
        new = store.get_version(project, domain, name, checked(b, "version"))
        missing = [v for v, rec in ((a, old), (b, new)) if rec is None]
        if old is None or new is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"version {missing[0]} of '{name}' is not registered in "
                                f"{project}/{domain}")
        lines = spec_diff(old.spec_json, new.spec_json, f"{name}@{a[:12]}", f"{name}@{b[:12]}")
        return page(request, "diff.html", lines=lines, old=old, new=new, project=project,
                    domain=domain, name=name, title=f"{name}: diff")

    @app.get("/versions/{project}/{domain}/{name}/{version}", response_class=HTMLResponse)
    def version_page(request: Request, project: str, domain: str, name: str, version: str,
                     user: CurrentUser, store: MetadataStore = Meta) -> HTMLResponse:
        project, domain, name = _workflow(user, project, domain, name)
        record = store.get_version(project, domain, name, checked(version, "version"))
        if record is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"version {version} of '{name}' is not registered in "
                                f"{project}/{domain}")
        others = [v for v in store.list_versions(name, project=project, domain=domain)
                  if v.version != record.version]
        return page(request, "version.html", record=record, spec=spec_text(record.spec_json),
                    others=others, title=f"{name}@{version[:12]}")

    def _entry_dag(store: MetadataStore, run_id: str) -> str | None:
        record = store.get_execution(run_id)
        return dag_id_of(record.project, record.domain, record.workflow) if record else None

    @app.get("/cache", response_class=HTMLResponse)
    def cache(request: Request, user: CurrentUser, store: MetadataStore = Meta,
              project: str | None = None, domain: str | None = None,
              task: str | None = None, evicted: str | None = None) -> HTMLResponse:
        project = checked(project, "name") if project else None
        domain = checked(domain, "name") if domain else None
        task = checked(task, "name") if task else None
        entries = store.list_cache_entries(project=project, domain=domain, task=task,
                                           limit=LIST_LIMIT)
        dags = {e.key: _entry_dag(store, e.run_id) for e in entries}
        readable = _readable(user, {d for d in dags.values() if d})
        # An entry whose run is unknown is shown to those who may read every DAG.
        everything = may_access_dag(user, None, "GET")
        entries = [e for e in entries
                   if (dags[e.key] in readable) or (dags[e.key] is None and everything)]
        return page(request, "cache.html", entries=entries, dags=dags, project=project,
                    domain=domain, task=task,
                    evicted=checked(evicted, "cache key") if evicted else None,
                    title="Cache")

    @app.get("/cache/{key}", response_class=HTMLResponse)
    def cache_entry(request: Request, key: str, user: CurrentUser,
                    store: MetadataStore = Meta) -> HTMLResponse:
        entry = store.get_cache_entry(checked(key, "cache key"))
        if entry is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"there is no cache entry '{key}' (evicted, or never written)")
        dag_id = _entry_dag(store, entry.run_id)
        require_dag_access(user, dag_id, "GET", "see cache entries")
        outputs = {name: value_of(v) for name, v in entry.outputs.items()}
        return page(request, "cache_entry.html", entry=entry, outputs=outputs, dag_id=dag_id,
                    can_evict=may_access_dag(user, dag_id, "PUT"), title="Cache entry")

    @app.post("/cache/{key}/evict", dependencies=[Depends(require_same_origin)])
    def evict(request: Request, key: str, user: CurrentUser,
              store: MetadataStore = Meta) -> Response:
        key = checked(key, "cache key")
        entry = store.get_cache_entry(key)
        if entry is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"there is no cache entry '{key}' (already evicted?)")
        dag_id = _entry_dag(store, entry.run_id)
        require_dag_access(user, dag_id, "PUT", "evict cache entries")
        store.delete_cache_entry(key)
        base = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(f"{base}/cache?evicted={quote(key)}", status.HTTP_303_SEE_OTHER)

    @app.get("/tenants", response_class=HTMLResponse)
    def tenants(request: Request, user: CurrentUser,
                store: MetadataStore = Meta) -> HTMLResponse:
        views, note = tenant_views(store)
        return page(request, "tenants.html", tenants=views, note=note, title="Tenants")

    def _airflow_run(dag_id: str, airflow_run_id: str) -> str:
        if not _AIRFLOW_RUN_ID.fullmatch(airflow_run_id):
            raise HTTPException(status.HTTP_400_BAD_REQUEST,
                                f"{airflow_run_id[:80]!r} is not an Airflow run id")
        conf: dict[str, Any] = {}
        try:
            # Lazy: Airflow's ORM, only for the task-instance and DAG-run tabs.
            from airflow.models.dagrun import DagRun

            found = DagRun.find(dag_id=dag_id, run_id=airflow_run_id)
            conf = dict(found[0].conf or {}) if found else {}
        except Exception:
            conf = {}
        given = conf.get("flytepath_run_id")
        # The run id the operators used: a given one made safe the same way (ADR 0033).
        return checked(safe_run_id(str(given)), "run id") if given else flytepath_run_id(
            dag_id, airflow_run_id)

    @app.get("/dagrun/{dag_id}/{airflow_run_id}")
    def from_dag_run(request: Request, dag_id: str, airflow_run_id: str,
                     user: CurrentUser) -> Response:
        dag_id = checked(dag_id, "name")
        require_dag_access(user, dag_id, "GET", "see runs")
        run_id = _airflow_run(dag_id, airflow_run_id)
        base = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(f"{base}/runs/{quote(run_id)}", status.HTTP_303_SEE_OTHER)

    @app.get("/ti/{dag_id}/{airflow_run_id}/{task_id}")
    def from_task_instance(request: Request, dag_id: str, airflow_run_id: str, task_id: str,
                           user: CurrentUser, store: MetadataStore = Meta) -> Response:
        dag_id, task_id = checked(dag_id, "name"), checked(task_id, "node id")
        require_dag_access(user, dag_id, "GET", "see runs")
        run_id = _airflow_run(dag_id, airflow_run_id)
        base = request.scope.get("root_path", "").rstrip("/")
        try:
            nodes = [n.id for n in load_run_spec(run_id, store_root()).nodes]
        except (FlytePathError, OSError, ValueError):
            nodes = []
        node = next((n for n in nodes if task_id_for(n) == task_id), None)
        target = f"{base}/runs/{quote(run_id)}"
        if node is not None:
            target += f"/nodes/{quote(node)}"
        return RedirectResponse(target, status.HTTP_303_SEE_OTHER)

    return app


def _readable(user: Any, dag_ids: set[str]) -> set[str]:
    """The DAG ids among `dag_ids` that `user` may read."""
    return {d for d in dag_ids if may_access_dag(user, d, "GET")}


def _json(text: Any) -> str:
    return json.dumps(str(text))


__all__ = ["create_app"]
