"""The run-lifecycle listener: FlytePath runs open and close with their Airflow DAG runs.

Airflow 3.3 calls the DAG-run hooks in the processes that change a DAG run's state
(ADR 0027):

- `on_dag_run_running`: the scheduler, when it starts a queued run (UI, REST API,
  schedule, backfill);
- `on_dag_run_success` / `on_dag_run_failed`: the scheduler (`DagRun.update_state`: all
  tasks done, a task failed, deadlock; a run timed out), the API server (a run marked
  success or failed by hand), the `dag.test()` process (`flytepath run`).

Task runners (workers) never call them, and a worker that dies is failed by the
scheduler's own heartbeat handling, which then fails the run through `update_state`: so
every way a run ends reaches `on_dag_run_success`/`on_dag_run_failed` in a process that may
write Airflow's database. There the listener:

- closes the FlytePath run (`runtime.closing.close_run`: status, outputs, error,
  duration and the run-level end event, once);
- marks each task instance whose node was a cache hit with a note naming the run and node
  that computed the outputs, so the hit shows in the grid.

When the scheduler starts a run, the listener creates the run's tenant pool if it is
missing (ADR 0028), so no task waits in `scheduled` on a pool nobody created.

A listener must never break the process that calls it: every hook logs and swallows its
own errors (Airflow does too, one level up).

Must not import at module level: the runtime, the stores, Airflow's ORM models (the
plugin module imports this one in every Airflow process, including the DAG processor).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from airflow.listeners import hookimpl

logger = logging.getLogger(__name__)

FLYTEPATH_TAG = "flytepath"
_ELEMENT = re.compile(r"^(?P<node>.*)\[(?P<index>\d+)\]$")


def is_flytepath_dag(dag: Any) -> bool:
    """True for a DAG built by FlytePath (tagged `flytepath` by the DAG builder)."""
    return dag is not None and FLYTEPATH_TAG in set(getattr(dag, "tags", None) or ())


def _tag(dag: Any, prefix: str) -> str | None:
    for tag in getattr(dag, "tags", None) or ():
        if str(tag).startswith(prefix):
            return str(tag)[len(prefix):]
    return None


def run_id_of(dag_run: Any) -> str:
    """The FlytePath run id of a DAG run (ADR 0004): the conf's, or derived from Airflow's."""
    # Lazy: the operators' names module pulls in the runtime when a hook runs, not when
    # Airflow imports the plugin in every process.
    from flytepath_airflow.operators.node import RUN_ID_CONF_KEY
    from flytepath_airflow.platform.naming import flytepath_run_id
    from flytepath_airflow.runtime.run import sanitize_run_id

    conf = getattr(dag_run, "conf", None) or {}
    if conf.get(RUN_ID_CONF_KEY):
        return sanitize_run_id(str(conf[RUN_ID_CONF_KEY]))
    return flytepath_run_id(dag_run.dag_id, dag_run.run_id)


def store_root_of(dag: Any) -> str:
    """The store root the DAG's tasks write to: the one built into them, else configured."""
    # Lazy: see run_id_of.
    from flytepath_airflow.operators.node import resolve_store_root

    for task in getattr(dag, "tasks", None) or ():
        root = getattr(task, "store_root", None)
        if isinstance(root, str) and root:
            return root
    return resolve_store_root(None)


def _session_of(obj: Any) -> Any:
    from sqlalchemy.orm import object_session

    return object_session(obj)


class FlytePathRunListener:
    """Airflow listener closing FlytePath runs, noting cache hits and creating pools."""

    @hookimpl
    def on_dag_run_running(self, dag_run: Any, msg: str) -> None:
        """The scheduler started the run: make sure its tenant pool exists."""
        dag = getattr(dag_run, "dag", None)
        if not is_flytepath_dag(dag):
            return
        try:
            ensure_tenant_pools(dag, _session_of(dag_run))
        except Exception:
            logger.exception("FlytePath could not create the tenant pool of %s",
                             dag_run.dag_id)

    @hookimpl
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        """The run succeeded: close the FlytePath run, note cache hits."""
        self._ended(dag_run, succeeded=True)

    @hookimpl
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        """The run failed (a task, a dead worker, a timeout, or by hand): close it."""
        self._ended(dag_run, succeeded=False, reason=msg)

    def _ended(self, dag_run: Any, *, succeeded: bool, reason: str | None = None) -> None:
        dag = getattr(dag_run, "dag", None)
        if not is_flytepath_dag(dag):
            return
        # Lazy: the runtime and the stores load only when a FlytePath run ends.
        from flytepath_airflow.runtime.closing import close_run

        try:
            run_id = run_id_of(dag_run)
            root = store_root_of(dag)
            error = None
            if not succeeded and reason and "manually" in reason:
                error = f"the Airflow DAG run was marked failed: {reason}"
            closed = close_run(run_id, root, succeeded=succeeded, error=error)
            logger.info("FlytePath run %s %s", run_id,
                        "closed" if closed else "was already closed or never started")
        except Exception:
            logger.exception("FlytePath could not close the run of %s %s", dag_run.dag_id,
                             dag_run.run_id)
            return
        try:
            note_cache_hits(dag_run, run_id)
        except Exception:
            logger.exception("FlytePath could not note the cache hits of run %s", run_id)


def ensure_tenant_pools(dag: Any, session: Any) -> list[str]:
    """Create the pools the DAG's tasks use when missing; existing pools keep their size.

    One `INSERT ... ON CONFLICT DO NOTHING` per pool in the caller's session (the
    scheduler's transaction), so two schedulers starting runs at once cannot collide and
    an existing pool is never shrunk or resized. Returns the pools it created.

    :param dag: the (serialized) FlytePath DAG.
    :param session: the SQLAlchemy session the DAG run belongs to.
    """
    from airflow.models.pool import Pool
    from sqlalchemy import select

    # Lazy: see run_id_of.
    from flytepath_airflow.platform.settings import DEFAULT_POOL, AirflowBackendSettings

    if session is None:
        return []
    settings = AirflowBackendSettings.from_airflow_config()
    project, domain = _tag(dag, "project:"), _tag(dag, "domain:")
    slots = (settings.pool_for(project, domain).slots if project and domain
             else settings.default_pool_slots)
    names = sorted({str(t.pool) for t in dag.tasks
                    if getattr(t, "pool", None) and t.pool != DEFAULT_POOL})
    created = []
    for name in names:
        if session.scalar(select(Pool.id).where(Pool.pool == name)) is not None:
            continue
        values = {"pool": name, "slots": slots, "include_deferred": False,
                  "description": f"FlytePath tenant pool of {project}/{domain} "
                                 "(created when a run started)"}
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(Pool).values(**values).on_conflict_do_nothing(
                index_elements=["pool"])
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(Pool).values(**values).on_conflict_do_nothing(
                index_elements=["pool"])
        else:  # MySQL: the unique name makes IGNORE skip an existing pool
            from sqlalchemy import insert

            stmt = insert(Pool).values(**values).prefix_with("IGNORE")
        session.execute(stmt)
        created.append(name)
        logger.info("FlytePath created pool %s with %d slots", name, slots)
    return created


def note_cache_hits(dag_run: Any, run_id: str) -> int:
    """Note each task instance whose node's outputs came from the cache, or were reused
    from the failed run this run recovers (`flytepath recover`); returns how many.

    The note says which run and node computed the outputs. A note already there (a user's
    own) is kept.

    :param dag_run: the ended DAG run, attached to the caller's session.
    :param run_id: its FlytePath run id.
    """
    # Lazy: see run_id_of.
    from flytepath_airflow.platform.naming import task_id_for
    from flytepath_airflow.runtime.metadata import metadata_store

    hits: dict[tuple[str, int], dict[str, Any]] = {}
    for event in metadata_store().events(run_id):
        if event.kind not in ("cache_hit", "recovered") or not event.node_id:
            continue
        match = _ELEMENT.match(event.node_id)
        key = ((task_id_for(match["node"]) + ".items", int(match["index"])) if match
               else (task_id_for(event.node_id), -1))
        hits[key] = {**event.payload, "kind": event.kind}
    if not hits:
        return 0
    session = _session_of(dag_run)
    if session is not None:  # the scheduler's or API server's transaction: it commits
        noted = _note(session, dag_run.dag_id, dag_run.run_id, hits)
        session.flush()
        return noted
    # dag.test() hands over a DAG run detached from its session; write in our own.
    from airflow.utils.session import create_session

    with create_session() as own:
        return _note(own, dag_run.dag_id, dag_run.run_id, hits)


def _note(session: Any, dag_id: str, airflow_run_id: str,
          hits: dict[tuple[str, int], dict[str, Any]]) -> int:
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select

    noted = 0
    tis = session.scalars(select(TaskInstance).where(TaskInstance.dag_id == dag_id,
                                                     TaskInstance.run_id == airflow_run_id))
    for ti in tis:
        hit = hits.get((ti.task_id, int(ti.map_index if ti.map_index is not None else -1)))
        if hit is None or ti.note:
            continue
        if hit.get("kind") == "recovered":
            ti.note = (f"recovered: outputs of run {hit.get('source_run_id')} node "
                       f"{hit.get('source_node_id')} reused, the task did not run")
        else:
            ti.note = (f"cache hit: outputs of run {hit.get('source_run_id')} node "
                       f"{hit.get('source_node_id')}")
        noted += 1
    return noted


listener = FlytePathRunListener()
"""The instance FlytePathPlugin registers."""

__all__ = ["FlytePathRunListener", "ensure_tenant_pools", "is_flytepath_dag", "listener",
           "note_cache_hits", "run_id_of", "store_root_of"]
