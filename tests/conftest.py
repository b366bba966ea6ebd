"""Test-wide settings: every test gets its own FLYTEPATH_HOME, never the user's."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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


@pytest.fixture
def fixtures_on_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make tests/fixtures importable, in this process and in child processes."""
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FIXTURES), *sys.path[:0]]))
    return FIXTURES
