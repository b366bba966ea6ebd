"""`flytepath recover` resumes a failed node from its last checkpoint (issue 15, item 3).

Flyte's recover mode reuses the nodes that succeeded; FlytePath also hands the failed
node the newest checkpoint of the failed run, so a long task that stopped at step 30 of 60
goes on from step 30. Counted through the work log each step appends to, not timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FLOW = textwrap.dedent('''
    from pathlib import Path

    from flytepath_airflow import current_context, task, workflow

    HERE = Path(PROJECT)
    FIXED = HERE / "fixed.txt"
    LOG = HERE / "work.log"


    def _log(line: str) -> None:
        with open(LOG, "a", encoding="utf-8") as fh:
            fh.write(line + "\\n")


    @task
    def prepare(steps: int) -> int:
        _log("prepare")
        return steps


    @task
    def train(steps: int) -> int:
        cp = current_context().checkpoint
        state = cp.load_state({"step": 0, "total": 0})
        for step in range(state["step"], steps):
            if step == 30 and not FIXED.exists():
                raise ValueError("the data for step 30 is not there yet")
            state = {"step": step + 1, "total": state["total"] + step}
            _log(f"step {step}")
            cp.save_state(state)
        return state["total"]


    @workflow
    def pipeline(steps: int = 60) -> int:
        return train(steps=prepare(steps=steps))
''')


def flytepath(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, env=dict(os.environ),
                          timeout=600)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flow.py").write_text(f"PROJECT = {str(tmp_path)!r}\n" + FLOW)
    return tmp_path


def test_recover_reuses_what_succeeded_and_resumes_the_failed_node(project: Path) -> None:
    failed = flytepath("run", "flow.py:pipeline", "--local", "--json", cwd=project)
    assert failed.returncode == 1, failed.stderr
    source = json.loads(failed.stdout)["run_id"]
    log = (project / "work.log").read_text().splitlines()
    assert log == ["prepare", *(f"step {i}" for i in range(30))]

    (project / "fixed.txt").write_text("ok")  # the user fixes the data
    recovered = flytepath("recover", source, "--json", cwd=project)

    assert recovered.returncode == 0, recovered.stderr
    document = json.loads(recovered.stdout)
    assert document["status"] == "succeeded"
    assert document["outputs"] == {"o0": sum(range(60))}
    log = (project / "work.log").read_text().splitlines()
    # prepare did not run again, and train went on from step 30: every step ran once.
    assert log.count("prepare") == 1
    assert log[31:] == [f"step {i}" for i in range(30, 60)]
    history = json.loads(flytepath("history", document["run_id"], "--json",
                                   cwd=project).stdout)
    restored = [e for e in history["events"] if e["kind"] == "checkpoint_restored"]
    assert restored and restored[0]["payload"]["from_run"] == source
