"""The example DAGs Airflow and its standard provider ship: every one converts and round-trips.

The corpus is read from the installed packages (never copied into this repository).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def _folder(module: str) -> Path:
    import importlib

    return Path(importlib.import_module(module).__file__ or "").parent


@pytest.mark.parametrize("module", ["airflow.example_dags",
                                    "airflow.providers.standard.example_dags"])
def test_every_example_dag_converts_and_90_percent_round_trip(tmp_path: Path,
                                                              module: str) -> None:
    from airflow.dag_processing.dagbag import DagBag

    # Two examples use a timetable and a weight strategy from Airflow's example plugins,
    # which Airflow registers only when it loads the examples (as a deployment would need).
    # A fresh process, as a user runs it: this test process may have loaded Airflow's
    # plugins already, without the examples'.
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "True"}
    folder = _folder(module)
    out = tmp_path / "specs"
    result = subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", "convert",
                             str(folder), "-o", str(out), "--check"],
                            capture_output=True, text=True, env=env, check=False)
    report = json.loads((out / "conversion.json").read_text())
    with warnings.catch_warnings():  # some examples import deprecated names
        warnings.simplefilter("ignore")
        expected = set(DagBag(dag_folder=str(folder), safe_mode=True).dag_ids)
    assert {d["dag_id"] for d in report["dags"]} == expected
    failed = [(d["dag_id"], d.get("error")) for d in report["dags"] if d["status"] == "failed"]
    assert failed == []
    assert report["summary"]["files_failed"] == 0
    assert all((out / d["spec_file"]).exists() for d in report["dags"])
    assert report["summary"]["round_trip_percent"] >= 90.0, result.stderr
    assert "round trip:" in result.stderr
