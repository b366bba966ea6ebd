"""Checkpoints through a real Airflow: a retried task instance (a new try number) resumes
from the checkpoint its earlier try saved (docs/checkpoints.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flytepath_airflow.cli.airflow_commands import run_with_airflow
from flytepath_airflow.ir.spec_io import with_version
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.metadata import MetadataStore, default_metadata_url

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

FLOWS = Path(__file__).resolve().parents[2] / "fixtures" / "checkpoint_flows.py"


def test_a_recoverable_error_mid_loop_resumes_on_the_airflow_retry(tmp_path, fixtures_on_path):
    spec = load_target(f"{FLOWS}:resumable")
    tasks = {k: t.model_copy(update={"retry_delay": 0.0}) for k, t in spec.tasks.items()}
    spec = with_version(spec.model_copy(update={"tasks": tasks}))
    log = tmp_path / "work.log"
    events: list[tuple[str, str, str]] = []
    result = run_with_airflow(spec, {"work_log": str(log)}, root=str(tmp_path / "store"),
                              home=str(tmp_path / "airflow"),
                              progress=lambda e: events.append((e.node, e.state, e.message)))
    assert result.succeeded, result.error
    assert result.outputs == {"o0": {"total": sum(range(60)), "resumed_from": 30,
                                     "attempt": 2}}
    steps = [int(line.split()[0]) for line in log.read_text().splitlines()]
    assert steps == list(range(60))  # no step done twice
    assert [s for _, s, _ in events].count("retrying") == 1
    with MetadataStore(default_metadata_url(str(tmp_path / "airflow"))) as meta:
        restored = [e for e in meta.events(result.run_id) if e.kind == "checkpoint_restored"]
    assert [(e.attempt, e.payload["from_attempt"]) for e in restored] == [(2, 1)]
