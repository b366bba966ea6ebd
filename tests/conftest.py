"""Test-wide settings: every test gets its own FLYTEPATH_HOME, never the user's.

Airflow reads AIRFLOW_HOME once, when this process first imports it; the whole session
points it at a private folder, so tests that build DAGs here never write ~/airflow. (Runs
through the embedded Airflow get their own home under FLYTEPATH_HOME.)
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

if "airflow" not in sys.modules:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="flytepath-airflow-home-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def flytepath_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private FLYTEPATH_HOME (and store) for each test."""
    home = tmp_path / "flytepath-home"
    monkeypatch.setenv("FLYTEPATH_HOME", str(home))
    monkeypatch.delenv("FLYTEPATH_STORE_ROOT", raising=False)
    return home


REGENERATE_GOLDEN = os.environ.get("FLYTEPATH_REGENERATE_GOLDEN") == "1"
"""Golden files are rewritten instead of compared: `FLYTEPATH_REGENERATE_GOLDEN=1 pytest ...`."""


@pytest.fixture
def golden() -> Callable[[Path, str], None]:
    """Compare generated text with its golden file (or rewrite it, with the switch above)."""

    def check(path: Path, text: str) -> None:
        if REGENERATE_GOLDEN:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        assert path.exists(), f"no golden file {path}; run with FLYTEPATH_REGENERATE_GOLDEN=1"
        assert text == path.read_text(), (
            f"{path.name} differs from what is generated now; if the change is intended, "
            "regenerate with FLYTEPATH_REGENERATE_GOLDEN=1 and review the diff")

    return check


@pytest.fixture
def fixtures_on_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make tests/fixtures importable, in this process and in child processes."""
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FIXTURES), *sys.path[:0]]))
    return FIXTURES


def _require_services() -> bool:
    return os.environ.get("FLYTEPATH_REQUIRE_SERVICES") == "1"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty Postgres database for one test; dropped afterwards.

    The server comes from FLYTEPATH_TEST_POSTGRES_URL (default: the local one on
    127.0.0.1:5432). Unreachable: the test is skipped, or fails when
    FLYTEPATH_REQUIRE_SERVICES=1 (as in CI).
    """
    import sqlalchemy

    base = os.environ.get("FLYTEPATH_TEST_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/test")
    admin_url = sqlalchemy.engine.make_url(base)
    if admin_url.drivername == "postgresql":  # the driver the dev extra installs
        admin_url = admin_url.set(drivername="postgresql+psycopg2")
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        conn = admin.connect()
    except sqlalchemy.exc.OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL at {base} is not reachable: {exc.orig}"
        if _require_services():
            pytest.fail(message)
        pytest.skip(message)
    name = f"fp_test_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = sqlalchemy.engine.make_url(base).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
