"""The initial metadata schema: versions, executions, node executions, events, cache
entries and reservations.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    """A timezone-aware timestamp column (naive UTC text on SQLite)."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create every table and index."""
    op.create_table(
        "flytepath_workflow_versions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(255), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("spec_uri", sa.Text(), nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        ts("created_at"),
        sa.UniqueConstraint("project", "domain", "name", "version",
                            name="uq_flytepath_workflow_versions"),
    )
    op.create_index("ix_flytepath_workflow_versions_name", "flytepath_workflow_versions",
                    ["name", "created_at"])

    op.create_table(
        "flytepath_executions",
        sa.Column("run_id", sa.String(255), primary_key=True),
        sa.Column("project", sa.String(255), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("workflow", sa.String(255), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("backend", sa.String(64), nullable=False),
        sa.Column("image", sa.Text(), nullable=True),
        sa.Column("parent_run_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        ts("created_at"),
        ts("finished_at", nullable=True),
    )
    op.create_index("ix_flytepath_executions_workflow", "flytepath_executions",
                    ["workflow", "created_at"])
    op.create_index("ix_flytepath_executions_tenant", "flytepath_executions",
                    ["project", "domain", "created_at"])

    op.create_table(
        "flytepath_node_executions",
        sa.Column("run_id", sa.String(255), primary_key=True),
        sa.Column("node_id", sa.String(255), primary_key=True),
        sa.Column("attempt", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("cache_status", sa.String(32), nullable=True),
        sa.Column("outputs", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        ts("created_at"),
        ts("updated_at"),
    )

    op.create_table(
        "flytepath_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("node_id", sa.String(255), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        ts("created_at"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_flytepath_events_run", "flytepath_events", ["run_id", "id"])

    op.create_table(
        "flytepath_cache_entries",
        sa.Column("cache_key", sa.String(128), primary_key=True),
        sa.Column("project", sa.String(255), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("task", sa.String(255), nullable=False),
        sa.Column("cache_version", sa.String(255), nullable=False),
        sa.Column("interface_hash", sa.String(128), nullable=False),
        sa.Column("inputs_hash", sa.String(128), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("node_id", sa.String(255), nullable=False),
        ts("created_at"),
    )
    op.create_index("ix_flytepath_cache_entries_task", "flytepath_cache_entries",
                    ["task", "cache_version"])
    op.create_index("ix_flytepath_cache_entries_tenant", "flytepath_cache_entries",
                    ["project", "domain"])
    op.create_index("ix_flytepath_cache_entries_created", "flytepath_cache_entries",
                    ["created_at"])

    op.create_table(
        "flytepath_reservations",
        sa.Column("cache_key", sa.String(128), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        ts("acquired_at"),
        ts("expires_at"),
    )


def downgrade() -> None:
    """Drop everything (development only: it deletes the history)."""
    for table in ("flytepath_reservations", "flytepath_cache_entries", "flytepath_events",
                  "flytepath_node_executions", "flytepath_executions",
                  "flytepath_workflow_versions"):
        op.drop_table(table)
