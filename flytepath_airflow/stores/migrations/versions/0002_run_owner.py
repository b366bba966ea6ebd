"""Executions record who runs them: the local runner's owner id (`host:pid:start`).

A run whose owner is provably gone (same host, pid gone or reused) is closed as failed
the next time runs are listed or started (`runtime.liveness`). Runs started through
Airflow have no owner: Airflow's own state closes them.

Revision ID: 0002_run_owner
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_run_owner"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the nullable owner column (existing runs have none)."""
    with op.batch_alter_table("flytepath_executions") as batch:
        batch.add_column(sa.Column("owner", sa.String(255), nullable=True))


def downgrade() -> None:
    """Drop the owner column."""
    with op.batch_alter_table("flytepath_executions") as batch:
        batch.drop_column("owner")
