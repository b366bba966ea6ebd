"""The notebook workflow through a real Airflow (`flytepath run` without --local, dag.test()).

The notebook task runs as an Airflow task instance through `flytepath-execute`, the path
a pod takes too; its typed outputs, its downstream task and its rendered deck must be the
ones a local run gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("airflow")
pytest.importorskip("papermill")

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "tests" / "fixtures" / "notebook_flows.py"


def flytepath(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ),
                          timeout=900)


def test_the_notebook_workflow_runs_on_airflow_with_typed_outputs_and_a_deck(
        tmp_path: Path) -> None:
    proc = flytepath("run", f"{FLOWS}:notebook_flow", "-i", "n=6", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "on Airflow" in proc.stderr
    run = json.loads(proc.stdout)
    assert run["backend"] != "local"
    assert run["outputs"] == {"doubled": 30, "summary": "numbers: 15"}

    report = tmp_path / "stats.html"
    deck = flytepath("deck", run["run_id"], "stats", "-o", str(report))
    assert deck.returncode == 0, deck.stderr
    assert '<label for="tab-0">Notebook</label>' in report.read_text()
