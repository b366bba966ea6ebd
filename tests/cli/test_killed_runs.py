"""A local runner killed by SIGKILL: its task processes die with it, and the next
`flytepath executions` closes its run as failed and removes its scratch folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from flytepath_airflow.runtime.liveness import RUNNER_DIED
from flytepath_airflow.stores.metadata import MetadataStore

ROOT = Path(__file__).resolve().parents[2]
SLEEPER = ROOT / "tests" / "fixtures" / "sleeper.yaml"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it runs nothing.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_until(check: Callable[[], bool], seconds: float = 60) -> bool:
    """Poll `check`: a hang guard for process start and signal delivery, not a timing."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "flytepath_airflow.cli.main", *args]


def test_sigkilled_local_run_leaves_no_process_no_open_run_no_scratch(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    pidfile = tmp_path / "pids"
    runner = subprocess.Popen(_cli("run", str(SLEEPER), "-i", f"pidfile={pidfile}", "--local"),
                              env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    pids: list[int] = []
    try:
        assert _wait_until(pidfile.exists), "the task never started"
        pids = [int(line) for line in pidfile.read_text().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        assert any(p.name.startswith("flytepath-") for p in scratch.iterdir())

        runner.send_signal(signal.SIGKILL)
        runner.wait()

        # The task's shell and its background sleep die with the runner.
        assert _wait_until(lambda: not any(_alive(p) for p in pids)), \
            f"orphans still running: {[p for p in pids if _alive(p)]}"
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    listed = subprocess.run(_cli("executions", "--json"), env=env,
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert [(r["workflow"], r["status"]) for r in runs] == [("sleeper", "failed")]
    assert RUNNER_DIED in runs[0]["error"]
    with MetadataStore() as meta:
        ends = [e for e in meta.events(runs[0]["run_id"]) if e.kind == "failed"
                and e.node_id is None]
    assert [e.payload["reason"] for e in ends] == [RUNNER_DIED]
    assert [p.name for p in scratch.iterdir() if p.name.startswith("flytepath-")] == []


def test_a_live_local_run_is_not_closed_by_a_listing(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    pidfile = tmp_path / "pids"
    runner = subprocess.Popen(_cli("run", str(SLEEPER), "-i", f"pidfile={pidfile}", "--local"),
                              env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        assert _wait_until(pidfile.exists), "the task never started"
        listed = subprocess.run(_cli("executions", "--json"), env=env,
                                capture_output=True, text=True)
        assert listed.returncode == 0, listed.stderr
        assert [r["status"] for r in json.loads(listed.stdout)] == ["running"]
        assert any(p.name.startswith("flytepath-") for p in tmp_path.iterdir())
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        if pidfile.exists():
            for pid in (int(line) for line in pidfile.read_text().split()):
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
