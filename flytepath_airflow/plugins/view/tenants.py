"""Tenants as the view shows them: their Airflow pool (configured and actual) and its use.

A tenant is a (project, domain) with registered versions or runs. Its pool comes from the
`[flytepath]` settings (ADR 0009); the pool's size and its running, queued and open slots
come from Airflow's own `Pool.slots_stats()`, the numbers the Airflow Pools page shows.

Must not import: the runtime.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from flytepath_airflow.platform.settings import AirflowBackendSettings
from flytepath_airflow.stores.metadata import MetadataStore

logger = logging.getLogger(__name__)


@dataclass
class TenantView:
    """One tenant's line on the tenants page."""

    project: str
    domain: str
    pool: str
    configured_slots: int
    pool_exists: bool
    total: float | None  # Airflow reports an unlimited pool as infinity
    running: int | None
    queued: int | None
    open: float | None
    workflows: int
    runs_running: int


def tenant_views(meta: MetadataStore) -> tuple[list[TenantView], str | None]:
    """Every known tenant, and a note when Airflow's pool table could not be read."""
    settings = AirflowBackendSettings.from_airflow_config()
    workflows: dict[tuple[str, str], int] = {}
    for project, domain, _name in meta.list_workflows():
        workflows[(project, domain)] = workflows.get((project, domain), 0) + 1
    running: dict[tuple[str, str], int] = {}
    for record in meta.list_executions(limit=None):
        workflows.setdefault((record.project, record.domain), 0)
        if record.status == "running":
            key = (record.project, record.domain)
            running[key] = running.get(key, 0) + 1
    note = None
    try:
        # Lazy: the Pool model loads Airflow's ORM; only this page needs it.
        from airflow.models.pool import Pool

        stats = Pool.slots_stats()
    except SQLAlchemyError as exc:
        logger.warning("could not read Airflow's pools: %s", exc)
        stats, note = {}, f"Airflow's pool table could not be read: {exc.__class__.__name__}"
    views = []
    for (project, domain), count in sorted(workflows.items()):
        pool = settings.pool_for(project, domain)
        stat = stats.get(pool.pool)
        views.append(TenantView(
            project=project, domain=domain, pool=pool.pool, configured_slots=pool.slots,
            pool_exists=stat is not None,
            total=stat["total"] if stat else None, running=stat["running"] if stat else None,
            queued=stat["queued"] if stat else None, open=stat["open"] if stat else None,
            workflows=count, runs_running=running.get((project, domain), 0),
        ))
    return views, note


__all__ = ["TenantView", "tenant_views"]
