"""Metadata-store fixtures: every store test runs on a fresh SQLite file and on a fresh
database of a real PostgreSQL server.

The PostgreSQL database comes from the `postgres_url` fixture of `tests/conftest.py`: a
new database per test on FLYTEPATH_TEST_POSTGRES_URL (default: the server on
127.0.0.1:5432), dropped afterwards, so tests never see each other's rows. When the
server cannot be reached the PostgreSQL half is skipped with the reason, unless
FLYTEPATH_REQUIRE_SERVICES=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flytepath_airflow.stores.metadata import MetadataStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty metadata database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'metadata.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(metadata_url: str) -> Iterator[MetadataStore]:
    """A MetadataStore on the empty database, closed after the test."""
    meta = MetadataStore(metadata_url)
    yield meta
    meta.close()
