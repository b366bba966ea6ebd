"""examples/data_validation.py through `flytepath run --json` on a real Airflow (dag.test()):
the same GX result and the same pandera failure as the local runs, and the same decks.

Each run takes 30-120 s; one embedded Airflow (its SQLite DB migrated once) serves both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flytepath_airflow.runtime.decks import read_decks
from flytepath_airflow.stores.blob import BlobStore

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = "examples/data_validation.py:validated_orders"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("flytepath-home-airflow")


def on_airflow(home: Path, *inputs: str) -> dict[str, object]:
    env = {**os.environ, "FLYTEPATH_HOME": str(home)}
    env.pop("FLYTEPATH_STORE_ROOT", None)
    proc = subprocess.run(
        [sys.executable, "-m", "flytepath_airflow.cli.main", "run", WORKFLOW, "--json",
         *inputs], capture_output=True, text=True, cwd=ROOT, env=env)
    report = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert report["backend"] == "airflow", proc.stderr
    return report


def test_example_on_airflow_returns_the_gx_result(home: Path) -> None:
    report = on_airflow(home)
    assert report["status"] == "succeeded", report
    result = report["outputs"]["o0"]  # type: ignore[index]
    assert (result["suite"], result["success"]) == ("no_big_spenders", False)
    store = BlobStore(str(home / "store"))
    names = {d.name for d in read_decks(store, str(report["run_id"]), "summarise")}
    assert "Great Expectations customer_totals (output 'o0')" in names


def test_example_on_airflow_fails_on_the_pandera_schema(home: Path) -> None:
    report = on_airflow(home, "-i", "corrupt=true")
    error = report["error"]
    assert isinstance(error, dict) and error["kind"] == "user" and error["node"] == "clean"
    assert "does not pass pandera schema data_validation:Orders" in str(error["message"])
    assert "row 3: -12.0" in str(error["message"])
