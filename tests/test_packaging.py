"""The wheel carries what an installed provider needs beyond its modules.

The wheel is built by `uv build` (the uv the Makefile installs next to Python), in an
isolated environment with pyproject.toml's build requirements, from a copy of
pyproject.toml, README.md and the package, so nothing else of the checkout (dags/, docs/)
can leak into it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from flytepath_airflow.backends.airflow.dag_files import DAG_FILE_NAMES

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    source = tmp_path_factory.mktemp("source")
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    shutil.copytree(ROOT / "flytepath_airflow", source / "flytepath_airflow",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    uv = Path(sys.executable).with_name("uv")
    proc = subprocess.run([str(uv), "build", "--wheel", "--out-dir", str(out), str(source)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (built,) = out.glob("*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def test_the_wheel_ships_the_dag_files_a_deployment_needs(wheel: zipfile.ZipFile) -> None:
    folder = "flytepath_airflow/backends/airflow/dag_files"
    for name in DAG_FILE_NAMES:
        assert wheel.read(f"{folder}/{name}") == (ROOT / "dags" / name).read_bytes()
