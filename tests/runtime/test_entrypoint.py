"""flytepath-execute: one node per process, exit codes, atomic pointers, no Airflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flytepath_airflow.ir import dump_spec
from flytepath_airflow.runtime.entrypoint import EXIT_OK, EXIT_USER_ERROR
from flytepath_airflow.runtime.run import pointer_key, prepare_run, read_node_error
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Hides every airflow module from the import system, as in a task image without Airflow.
_NO_AIRFLOW = textwrap.dedent("""
    import importlib.abc, sys
    class _Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "airflow" or name.startswith(("airflow.", "kubernetes")):
                raise ImportError(f"{name} is hidden for this test")
            return None
    sys.meta_path.insert(0, _Block())
""")


def test_runtime_imports_without_airflow() -> None:
    code = _NO_AIRFLOW + textwrap.dedent("""
        import flytepath_airflow.runtime.entrypoint
        import flytepath_airflow.runtime.executor
        import flytepath_airflow.runtime.local
        import flytepath_airflow.sdk, flytepath_airflow.types, flytepath_airflow.ir
        assert not [m for m in sys.modules if m == "airflow" or m.startswith("airflow.")]
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def _prepared(tmp_path: Path, workflow: str, inputs: dict[str, object]) -> tuple[str, str, str]:
    spec = load_target(f"{FIXTURES}/typed_flows.py:{workflow}")
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(dump_spec(spec))
    root = str(tmp_path / "store")
    run_id = prepare_run(spec, inputs, root)
    return str(spec_path), root, run_id


def _execute(spec: str, node: str, run_id: str, root: str, attempt: int = 1,
             hide_airflow: bool = True) -> subprocess.CompletedProcess[str]:
    args = ["--spec", spec, "--node", node, "--run-id", run_id, "--attempt", str(attempt),
            "--root", root]
    code = (_NO_AIRFLOW if hide_airflow else "") + (
        "import sys\nfrom flytepath_airflow.runtime.entrypoint import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(FIXTURES)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_execute_runs_node_and_publishes_pointer_without_airflow(tmp_path: Path) -> None:
    spec, root, run_id = _prepared(tmp_path, "arithmetic", {"x": 4})
    proc = _execute(spec, "add", run_id, root)
    assert proc.returncode == EXIT_OK, proc.stderr
    pointer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(pointer["outputs"]) == {"o0"} and pointer["outputs"]["o0"]["value"] == 14
    assert BlobStore(root).read_json(pointer_key(run_id, "add")) == pointer
    proc = _execute(spec, "scale", run_id, root)
    assert json.loads(proc.stdout.splitlines()[-1])["outputs"]["o0"]["value"] == 7.0


def test_user_error_exits_10_with_the_task_message_and_no_pointer(tmp_path: Path) -> None:
    spec, root, run_id = _prepared(tmp_path, "failing", {"n": 2})
    assert _execute(spec, "add", run_id, root).returncode == EXIT_OK
    proc = _execute(spec, "fails", run_id, root)
    assert proc.returncode == EXIT_USER_ERROR
    assert "ValueError: n must be even, got 3" in proc.stderr
    # The user's traceback, once, with their file and line and none of FlytePath's frames.
    assert proc.stderr.count("Traceback (most recent call last)") == 1
    assert 'typed_flows.py", line' in proc.stderr and "in fails" in proc.stderr
    assert "flytepath_airflow" not in proc.stderr.split("Traceback")[1].split("ValueError")[0]
    assert "error.json" in proc.stderr
    assert not BlobStore(root).exists(pointer_key(run_id, "fails"))
    record = read_node_error(run_id, "fails", 1, root)
    assert record is not None and record["kind"] == "user"


def test_missing_module_on_worker_is_a_clear_user_error(tmp_path: Path) -> None:
    spec, root, run_id = _prepared(tmp_path, "arithmetic", {"x": 1})
    args = ["--spec", spec, "--node", "add", "--run-id", run_id, "--root", root]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-m", "flytepath_airflow.runtime.entrypoint", *args],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == EXIT_USER_ERROR
    assert "cannot import module 'typed_flows'" in proc.stderr


@pytest.mark.parametrize("bad", ["--node nope", "--spec /does/not/exist.json"])
def test_bad_arguments_exit_2(tmp_path: Path, bad: str) -> None:
    spec, root, run_id = _prepared(tmp_path, "arithmetic", {"x": 1})
    args = {"--spec": spec, "--node": "add", "--run-id": run_id, "--root": root}
    key, value = bad.split(" ")
    args[key] = value
    argv = [item for pair in args.items() for item in pair]
    proc = subprocess.run([sys.executable, "-m", "flytepath_airflow.runtime.entrypoint", *argv],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(FIXTURES)})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
