"""Helpers for compile tests: write a small workflow module and load a target from it."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

HEADER = (
    "from __future__ import annotations\n"
    "import datetime, functools, typing\n"
    "from typing import NamedTuple, Optional\n"
    "from flytepath_airflow import *\n"
)


@pytest.fixture
def write_flow(tmp_path: Path) -> Callable[[str, str], str]:
    """Write `body` (dedented, after a header importing the SDK) to a module; return its path.

    Each module gets a unique name, because Python caches imported modules by name.
    """

    def write(name: str, body: str) -> str:
        path = tmp_path / f"{name}_{re.sub(r'[^A-Za-z0-9_]', '_', tmp_path.name)}.py"
        path.write_text(HEADER + textwrap.dedent(body))
        return str(path)

    return write
