"""Metadata-store fixtures: every store test runs on a fresh SQLite file and on a fresh
schema of a real PostgreSQL server.

PostgreSQL comes from FLYTEPATH_TEST_POSTGRES_URL (default: the server on 127.0.0.1:5432).
Each test gets its own schema, selected through libpq's `options=-csearch_path=...`, so
tests never see each other's rows and the schema is dropped afterwards. When the server
cannot be reached the PostgreSQL half is skipped with the reason, unless
FLYTEPATH_REQUIRE_SERVICES=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_base_url() -> str:
    """The server the PostgreSQL tests use."""
    return os.environ.get("FLYTEPATH_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Any]:
    """An engine on the test server (skips, or fails under FLYTEPATH_REQUIRE_SERVICES=1)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from flytepath_airflow.stores.sql import _parse_url, redact_url

    url = _parse_url(postgres_base_url())
    engine = create_engine(url, connect_args={"connect_timeout": 3}, pool_size=1)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        detail = " ".join(str(exc.orig).split())
        reason = (f"PostgreSQL at {redact_url(url)} is unreachable ({detail}); set "
                  "FLYTEPATH_TEST_POSTGRES_URL to a server to run the PostgreSQL store tests")
        if os.environ.get("FLYTEPATH_REQUIRE_SERVICES") == "1":
            pytest.fail(f"FLYTEPATH_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Any) -> Iterator[str]:
    """A URL whose connections live in a new, empty schema of the test server."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    schema = f"fp_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_base_url()).update_query_dict(
        {"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with postgres_admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty metadata database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'metadata.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(metadata_url: str) -> Iterator[Any]:
    """A MetadataStore on the empty database, closed after the test."""
    from flytepath_airflow.stores.sql import MetadataStore

    meta = MetadataStore(metadata_url)
    yield meta
    meta.close()
