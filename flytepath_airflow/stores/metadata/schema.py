"""The Alembic glue of the metadata store: where the migrations are, which revision a
database is at, and upgrading one to head.

The migrations themselves live in `stores/migrations/` (hand-written, never importing
the ORM). `MetadataStore.migrate()` decides when to upgrade and holds the lock; this
module only reads the recorded revision and runs Alembic on the connection it is given.

Must not import: airflow, kubernetes, or the store (the store builds on this). Alembic is
imported only inside the functions that need it, so using an up-to-date database never
pays for importing it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.stores.metadata.engine import redact_url

logger = logging.getLogger(__name__)

HEAD_REVISION = "0002_run_owner"
"""The newest migration in `stores/migrations/versions` (a test keeps the two in step)."""

VERSION_TABLE = "flytepath_alembic_version"
"""Alembic's bookkeeping table; not `alembic_version`, so the store can share a database
(and a schema) with Airflow's own metadata, which uses that name."""

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
"""The packaged Alembic environment (`env.py`) and its `versions/`."""


def recorded_revisions(conn: Any) -> list[str]:
    """The schema revisions recorded in the database (none for an empty database).

    More than one means the bookkeeping table is damaged; the store refuses that.

    :param conn: an open SQLAlchemy connection.
    """
    if not inspect(conn).has_table(VERSION_TABLE):
        return []
    return list(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def alembic_config(url: URL | str | None = None) -> Any:
    """An Alembic Config for the packaged migrations (no alembic.ini needed).

    :param url: the database to migrate when run by the `alembic` command; the store
        passes its connection instead.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url is not None:
        rendered = make_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade_to_head(conn: Any, url: URL, current: str | None) -> None:
    """Upgrade to head on `conn`, inside the caller's transaction (and lock).

    :param conn: the connection holding the migration lock.
    :param url: the database's URL, for messages.
    :param current: the revision the database is at now (None when empty).
    :raises FlytePathUserError: when a newer FlytePath migrated the database.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config()
    config.attributes["connection"] = conn
    script = ScriptDirectory.from_config(config)
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise FlytePathUserError(
            f"the metadata database at {redact_url(url)} is at schema revision {current}, "
            "which this FlytePath does not know: a newer FlytePath migrated it. Upgrade "
            "FlytePath (pip install -U airflow-provider-flytepath)."
        )
    logger.info("migrating the metadata store at %s from %s to %s", redact_url(url),
                current or "an empty database", HEAD_REVISION)
    command.upgrade(config, "head")

