"""Puts this folder's workflow module on the path of the test and of its task processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture
def flows_on_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """`import validation_flows` works here and in the processes runs start."""
    monkeypatch.syspath_prepend(str(HERE))
    current = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), current])))
    return HERE
