"""Alembic environment of the metadata store.

`MetadataStore.migrate()` runs it with an open connection in `config.attributes`, inside a
transaction that already holds the migration lock; the migrations then join that
transaction. Run by the `alembic` command instead (`alembic_config(url)` from
`flytepath_airflow.stores.metadata` builds a config), it connects to `sqlalchemy.url`, or to
`default_metadata_url()`.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from flytepath_airflow.stores.metadata import VERSION_TABLE, MetadataBase, default_metadata_url

config = context.config


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=MetadataBase.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite can only ALTER tables by copying them
        **kwargs,
    )


def run_offline() -> None:
    """Print the SQL instead of running it (`alembic upgrade head --sql`)."""
    _configure(url=config.get_main_option("sqlalchemy.url") or default_metadata_url(),
               literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate through the caller's connection, or a new one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or default_metadata_url())
    try:
        with engine.begin() as conn:
            _configure(connection=conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
