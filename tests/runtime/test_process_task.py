"""Shell and container tasks run as processes: inputs reach them as data, never as code,
and the process sees a built environment, not the worker's whole one."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from flytepath_airflow.errors import TaskExecutionError
from flytepath_airflow.ir.models import (
    ContainerSpec,
    SecretRef,
    SimpleType,
    TaskSpec,
    TypedInterface,
    Variable,
)
from flytepath_airflow.runtime.context import ExecutionContext
from flytepath_airflow.runtime.process_task import run_process_task

STR = SimpleType(name="str")


def _fail(kind: str, exc: BaseException, message: str) -> TaskExecutionError:
    return TaskExecutionError("n", message, kind=kind)


def _run(task: TaskSpec, tmp_path: Path, **inputs: Any) -> dict[str, Any]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    ctx = ExecutionContext(project="p", domain="d", workflow="w", version="v", run_id="r",
                           node_id="n", task_name=task.name, attempt=1,
                           working_dir=str(work))
    return run_process_task(task, "n", inputs, ctx, _fail)


def _shell(script: str, **options: Any) -> TaskSpec:
    return TaskSpec(name="t", kind="shell", script=script, interface=TypedInterface(
        inputs=(Variable(name="x", type=STR),), outputs=(Variable(name="out", type=STR),)),
        **options)


def _payloads(marker: Path) -> list[str]:
    return [f"$(touch {marker})", f"`touch {marker}`", f"'; touch {marker}; '",
            f'"; touch {marker}; "', f"a\ntouch {marker}", "$HOME"]


@pytest.mark.parametrize("script", [
    'printf %s {{inputs.x}} > "$FLYTEPATH_OUTPUT_DIR/out"',
    'printf %s "{{ inputs.x }}" > "$FLYTEPATH_OUTPUT_DIR/out"',
    'printf %s "[{{inputs.x}}]" > "$FLYTEPATH_OUTPUT_DIR/out"',
    'printf %s "$(printf %s {{inputs.x}})" > "$FLYTEPATH_OUTPUT_DIR/out"',
], ids=["word", "double-quoted", "inside-double-quoted-text", "command-substitution"])
def test_shell_placeholder_passes_hostile_input_as_exact_text_and_runs_nothing(
        tmp_path: Path, script: str) -> None:
    marker = tmp_path / "INJECTED"
    for payload in _payloads(marker):
        out = _run(_shell(script), tmp_path, x=payload)["out"]
        expected = f"[{payload}]" if "[" in script else payload
        assert out == expected
        assert not marker.exists(), f"payload {payload!r} executed"


def test_container_args_take_hostile_input_as_one_argument_without_a_shell(
        tmp_path: Path) -> None:
    marker = tmp_path / "INJECTED"
    task = TaskSpec(name="t", kind="container", interface=TypedInterface(
        inputs=(Variable(name="x", type=STR),), outputs=(Variable(name="out", type=STR),)),
        container=ContainerSpec(command=("python3", "-c",
                                         "import os, sys; open(os.environ['FLYTEPATH_OUTPUT_DIR']"
                                         " + '/out', 'w').write('|'.join(sys.argv[1:]))"),
                                args=("--x={{inputs.x}}", "{{inputs.x}}")))
    for payload in _payloads(marker):
        assert _run(task, tmp_path, x=payload)["out"] == f"--x={payload}|{payload}"
        assert not marker.exists()


@pytest.mark.parametrize("script", [
    "echo '{{inputs.x}}'",
    "echo $(echo '{{inputs.x}}')",
    "echo `echo {{inputs.x}}`",
    "echo $(( {{inputs.x}} + 1 ))",
    "[[ {{inputs.x}} == a ]]",
    "cat <<EOF\n{{inputs.x}}\nEOF",
    "echo hi # {{inputs.x}}",
])
def test_shell_placeholder_in_an_unsafe_position_is_refused_before_running(
        tmp_path: Path, script: str) -> None:
    with pytest.raises(TaskExecutionError, match=r'"\$FLYTEPATH_INPUT_X"'):
        _run(_shell(script), tmp_path, x="a")


def test_shell_task_sees_the_allow_list_its_env_and_secrets_not_the_worker_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_ONLY_SECRET", "leaked")
    monkeypatch.setenv("FLYTEPATH_METADATA_URL", "postgresql://u:pw@db/x")
    monkeypatch.setenv("WAREHOUSE_PASSWORD", "s3cret")
    monkeypatch.setenv("LC_ALL", "C")
    task = _shell('env > "$FLYTEPATH_OUTPUT_DIR/out"', env={"MODE": "fast"},
                  secrets=(SecretRef(group="warehouse", key="password"),))
    seen = dict(line.split("=", 1) for line in
                _run(task, tmp_path, x="a")["out"].splitlines() if "=" in line)
    assert "WORKER_ONLY_SECRET" not in seen
    assert "FLYTEPATH_METADATA_URL" not in seen
    assert seen["MODE"] == "fast"
    assert seen["WAREHOUSE_PASSWORD"] == "s3cret"
    assert seen["LC_ALL"] == "C"
    assert seen["FLYTEPATH_INPUT_X"] == "a"
    assert "PATH" in seen


def test_a_spec_whose_env_shadows_a_platform_variable_is_refused_at_run_time(
        tmp_path: Path) -> None:
    task = _shell('printf x > "$FLYTEPATH_OUTPUT_DIR/out"',
                  env={"FLYTEPATH_OUTPUT_DIR": "/etc"})
    with pytest.raises(TaskExecutionError, match="FLYTEPATH_OUTPUT_DIR"):
        _run(task, tmp_path, x="a")



def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_timed_out_task_is_killed_with_everything_it_started(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    script = (f"sleep 300 >/dev/null 2>&1 &\necho $! > {pidfile}\nwait\n"
              'echo late > "$FLYTEPATH_OUTPUT_DIR/out"')
    with pytest.raises(TaskExecutionError, match=r"timed out after 1\.0 s"):
        _run(_shell(script, timeout=1.0), tmp_path, x="a")
    background = int(pidfile.read_text())
    deadline = time.monotonic() + 30  # SIGKILL is delivered, not instant, on a busy machine
    while _alive(background) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert not _alive(background), "the task's background process outlived its timeout"
    finally:
        if _alive(background):
            os.kill(background, signal.SIGKILL)


def test_a_missing_command_is_named(tmp_path: Path) -> None:
    task = TaskSpec(name="t", kind="container", interface=TypedInterface(
        inputs=(Variable(name="x", type=STR),), outputs=(Variable(name="out", type=STR),)),
        container=ContainerSpec(command=("no-such-command-anywhere", "{{inputs.x}}")))
    with pytest.raises(TaskExecutionError, match="command not found: no-such-command-anywhere"):
        _run(task, tmp_path, x="a")


def test_a_shell_task_reads_its_secret_from_the_secrets_folder_or_fails_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAREHOUSE_PASSWORD", raising=False)
    monkeypatch.setenv("FLYTEPATH_SECRETS_DIR", str(tmp_path / "secrets"))
    task = _shell('printf %s "$WAREHOUSE_PASSWORD" > "$FLYTEPATH_OUTPUT_DIR/out"',
                  secrets=(SecretRef(group="warehouse", key="password"),))
    with pytest.raises(TaskExecutionError, match=r"needs secret warehouse/password as "
                       r"\$WAREHOUSE_PASSWORD, which is not set on this worker: neither the "
                       r"variable WAREHOUSE_PASSWORD nor the file .*secrets/warehouse/password"):
        _run(task, tmp_path, x="a")
    (tmp_path / "secrets" / "warehouse").mkdir(parents=True)
    (tmp_path / "secrets" / "warehouse" / "password").write_text("from-a-file\n")
    assert _run(task, tmp_path, x="a")["out"] == "from-a-file"
