"""FlytePathTaskOperator: child process, log streaming, exit codes, XCom pointer, kill."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytestmark = pytest.mark.airflow

from airflow.sdk.exceptions import AirflowException, AirflowFailException  # noqa: E402

from flytepath_airflow.operators.node import NodeInvocation  # noqa: E402
from flytepath_airflow.operators.task import FlytePathTaskOperator  # noqa: E402
from flytepath_airflow.platform.naming import flytepath_run_id  # noqa: E402

RUN = "fp-test-run"


class ScriptedOperator(FlytePathTaskOperator):
    """Runs a given Python script instead of flytepath-execute; records the invocation."""

    script = ""

    def command(self, invocation: NodeInvocation) -> list[str]:
        self.seen = invocation
        return [sys.executable, "-c", self.script, json.dumps(invocation.argv())]


def _operator(tmp_path: Path, script: str, **kwargs: Any) -> ScriptedOperator:
    op = ScriptedOperator(
        task_id="train", flytepath_node="train", spec_uri=str(tmp_path / "wf.json"),
        spec_version="v1", input_names=("x", "y"), store_root=str(tmp_path / "store"), **kwargs,
    )
    op.script = textwrap.dedent(script)
    return op


def _context(conf: dict[str, Any] | None = None, try_number: int = 1) -> dict[str, Any]:
    return {
        "ti": SimpleNamespace(dag_id="ml.development.wf", try_number=try_number),
        "dag_run": SimpleNamespace(run_id="manual__2026-01-01T00:00:00+00:00", conf=conf or {}),
        "params": {"x": 4, "y": [1, 2], "flytepath_version": "v1", "other": "ignored"},
    }


def _write(root: Path, key: str, doc: Any) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def _run_id_of(op: ScriptedOperator) -> str:
    return op.seen.run_id


def test_init_does_no_io(tmp_path):
    op = _operator(tmp_path, "")
    assert op.flytepath_node == "train"
    assert not (tmp_path / "store").exists()


def test_success_returns_the_pointer_and_streams_the_child_log(tmp_path, capsys):
    script = """
        import json, sys, pathlib
        args = json.loads(sys.argv[1])
        a = dict(zip(args[::2], args[1::2]))
        print("hello from the child", flush=True)
        print("a warning on stderr", file=sys.stderr, flush=True)
        p = pathlib.Path(a["--root"]) / "runs" / a["--run-id"] / "nodes" / a["--node"]
        p.mkdir(parents=True)
        (p / "outputs.json").write_text(json.dumps(
            {"node": a["--node"], "attempt": int(a["--attempt"]),
             "outputs": {"o": {"value": 8}}}))
    """
    op = _operator(tmp_path, script)
    pointer = op.execute(_context())
    assert pointer == {"node": "train", "attempt": 1, "outputs": {"o": {"value": 8}}}
    # Airflow's task logger (structlog) writes to stdout outside a task runner.
    logged = capsys.readouterr().out
    assert "hello from the child" in logged
    assert "a warning on stderr" in logged


def test_invocation_carries_run_id_attempt_and_only_workflow_inputs(tmp_path):
    op = _operator(tmp_path, "import sys; sys.exit(11)")
    with pytest.raises(AirflowException):
        op.execute(_context(try_number=3))
    inv = op.seen
    # Readable, path-safe, and a hash of (DAG id, Airflow run id) keeps runs apart (ADR 0033).
    assert inv.run_id.startswith("ml.development.wf__manual__2026-01-01T00_00_00_00_00-h")
    assert inv.run_id == flytepath_run_id("ml.development.wf",
                                          "manual__2026-01-01T00:00:00+00:00")
    assert inv.attempt == 3
    assert inv.inputs == {"x": 4, "y": [1, 2]}
    argv = inv.argv()
    assert argv[argv.index("--prepare-inputs") + 1] == '{"x": 4, "y": [1, 2]}'
    assert argv[argv.index("--spec") + 1] == str(tmp_path / "wf.json")


def test_run_id_from_conf_wins(tmp_path):
    op = _operator(tmp_path, "import sys; sys.exit(11)")
    with pytest.raises(AirflowException):
        op.execute(_context(conf={"flytepath_run_id": "my run/1"}))
    # Made path-safe, with a hash of the original: "my run/1" and "my_run_1" stay apart.
    assert op.seen.run_id.startswith("my_run_1-h")
    assert op.seen.run_id != "my_run_1"


def test_a_prepared_run_keeps_its_own_spec(tmp_path):
    op = _operator(tmp_path, "import sys; sys.exit(11)")
    _write(tmp_path / "store", f"runs/{RUN}/spec.json", {"schema_version": 1})
    with pytest.raises(AirflowException):
        op.execute(_context(conf={"flytepath_run_id": RUN}))
    assert op.seen.spec_uri.endswith(f"runs/{RUN}/spec.json")


def test_user_error_fails_without_retry_with_the_tasks_message(tmp_path):
    op = _operator(tmp_path, "import sys; print('Traceback ...'); sys.exit(10)", retries=3)
    # The executor records the user's exception as "Type: message" (runtime/executor.py).
    _write(tmp_path / "store", f"runs/{RUN}/nodes/train/attempt-1/error.json", {
        "kind": "user", "type": "ValueError", "message": "ValueError: n_rows must be positive",
        "traceback": "..."})
    with pytest.raises(AirflowFailException, match="ValueError: n_rows must be positive") as info:
        op.execute(_context(conf={"flytepath_run_id": RUN}))
    assert str(info.value).count("ValueError") == 1
    assert "node 'train', attempt 1, user error" in str(info.value)


def test_system_error_is_retryable(tmp_path):
    op = _operator(tmp_path, "import sys; sys.exit(11)")
    _write(tmp_path / "store", f"runs/{RUN}/nodes/train/attempt-2/error.json", {
        "kind": "system", "type": "OSError", "message": "bucket unreachable"})
    with pytest.raises(AirflowException) as info:
        op.execute(_context(conf={"flytepath_run_id": RUN}, try_number=2))
    assert not isinstance(info.value, AirflowFailException)
    assert "bucket unreachable" in str(info.value)


def test_spec_or_usage_error_is_not_retried(tmp_path):
    op = _operator(tmp_path, "import sys; sys.exit(2)")
    with pytest.raises(AirflowFailException, match="exit 2"):
        op.execute(_context())


def test_a_killed_child_is_a_retryable_failure(tmp_path):
    op = _operator(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    with pytest.raises(AirflowException, match="killed by signal 9") as info:
        op.execute(_context())
    assert not isinstance(info.value, AirflowFailException)


def test_on_kill_stops_the_child_and_its_children(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    script = f"""
        import subprocess, time
        p = subprocess.Popen(["sleep", "60"])
        open({str(pid_file)!r}, "w").write(str(p.pid))
        print("started", flush=True)
        time.sleep(60)
    """
    op = _operator(tmp_path, script)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            op.execute(_context())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "child did not start"
        time.sleep(0.05)
    op.on_kill()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert errors and isinstance(errors[0], AirflowException)
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while Path(f"/proc/{grandchild}").exists():
        stat = Path(f"/proc/{grandchild}/stat").read_text().split()
        if stat[2] == "Z":  # reaped by init soon; it is dead
            break
        assert time.monotonic() < deadline, "grandchild still running"
        time.sleep(0.05)
