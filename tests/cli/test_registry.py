"""Registering immutable versions, running any of them, rerunning and reading history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def flytepath(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, env=dict(os.environ))


def _flow(tmp_path: Path, factor: int) -> None:
    (tmp_path / "flow.py").write_text(textwrap.dedent(f"""
        from flytepath_airflow import task, workflow

        @task(cache=True, cache_version="1")
        def scale(n: int) -> int:
            return n * {factor}

        @workflow
        def wf(n: int = 2) -> int:
            return scale(n=n)
    """))


def test_register_versions_run_old_version_and_rerun(tmp_path: Path) -> None:
    _flow(tmp_path, 10)
    first = flytepath("register", "flow.py", "--project", "p", "--domain", "development",
                      cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "registered in p/development" in first.stdout
    again = flytepath("register", "flow.py", "--project", "p", cwd=tmp_path)
    assert "already registered (no change)" in again.stdout
    v1 = first.stdout.split(" version ")[1].split()[0]

    _flow(tmp_path, 100)
    second = flytepath("register", "flow.py", "--project", "p", cwd=tmp_path)
    v2 = second.stdout.split(" version ")[1].split()[0]
    assert v1 != v2
    specs = Path(os.environ["FLYTEPATH_HOME"]) / "specs"
    assert json.loads((specs / "p.development.flow.wf.json").read_text())["version"] == v2

    listed = flytepath("versions", "flow.wf", "--project", "p", cwd=tmp_path)
    assert listed.returncode == 0 and v1 in listed.stdout and v2 in listed.stdout

    old = flytepath("run", "flow.wf", "--project", "p", "--version", v1, "-i", "n=3",
                    "--local", "--json", cwd=tmp_path)
    assert old.returncode == 0, old.stderr
    assert json.loads(old.stdout.splitlines()[-1])["outputs"] == {"o0": 30}
    # n=4: with an unchanged cache_version, n=3 would (rightly) hit v1's cached value
    new = flytepath("run", "flow.wf", "--project", "p", "-i", "n=4", "--local", "--json",
                    cwd=tmp_path)
    assert json.loads(new.stdout.splitlines()[-1])["outputs"] == {"o0": 400}

    run_id = old.stderr.split("run ")[-1].split()[0]
    rerun = flytepath("rerun", run_id, "--local", "--json", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout.splitlines()[-1])["outputs"] == {"o0": 30}
    assert "cache hit" in rerun.stderr

    history = flytepath("history", run_id, cwd=tmp_path)
    assert history.returncode == 0, history.stderr
    assert v1 in history.stdout and "scale" in history.stdout


def test_unknown_version_is_a_user_error(tmp_path: Path) -> None:
    _flow(tmp_path, 1)
    flytepath("register", "flow.py", cwd=tmp_path)
    proc = flytepath("run", "flow.wf", "--version", "0000", "--local", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no version 0000 of workflow 'flow.wf'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_spec_compiled_from_other_code_refuses_to_run(tmp_path: Path) -> None:
    _flow(tmp_path, 10)
    assert flytepath("compile", "flow.py:wf", "-o", "wf.json", cwd=tmp_path).returncode == 0
    _flow(tmp_path, 11)
    proc = flytepath("run", "wf.json", "--local", cwd=tmp_path)
    assert proc.returncode == 1
    assert "differs from the code version" in proc.stderr


def test_register_writes_each_launch_plan_where_the_dag_loader_reads(tmp_path: Path) -> None:
    (tmp_path / "plans.py").write_text(textwrap.dedent("""
        import datetime as dt
        from flytepath_airflow import CronSchedule, LaunchPlan, task, workflow

        @task
        def stamp(x: int, at: dt.datetime) -> str:
            return f"{x}@{at.isoformat()}"

        @workflow
        def stamped(x: int, at: dt.datetime) -> str:
            return stamp(x=x, at=at)

        nightly = LaunchPlan.get_or_create(
            stamped, "nightly", fixed_inputs={"x": 7},
            schedule=CronSchedule(schedule="0 3 * * *", kickoff_time_input_arg="at",
                                  timezone="Europe/Paris"))
    """))
    result = flytepath("register", "plans.py", "--project", "p", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "launch plan nightly" in result.stdout
    specs = Path(os.environ["FLYTEPATH_HOME"]) / "specs"
    plan = json.loads((specs / "p.development.nightly.json").read_text())
    assert plan["kind"] == "launch_plan" and plan["fixed_inputs"] == {"x": 7}
    assert plan["schedule"]["cron"] == "0 3 * * *"
    assert (specs / "p.development.plans.stamped.json").exists()

    from flytepath_airflow.backends.airflow.loader import scan_specs

    found = {item.dag_id: item for item in scan_specs(specs)}
    assert found["p.development.nightly"].launch_plan is not None
    assert found["p.development.nightly"].error is None


def test_unregister_removes_the_dag_file_and_keeps_the_versions(tmp_path: Path) -> None:
    _flow(tmp_path, 10)
    registered = flytepath("register", "flow.py", "--project", "p", cwd=tmp_path)
    assert registered.returncode == 0, registered.stderr
    version = registered.stdout.split(" version ")[1].split()[0]
    spec_file = Path(os.environ["FLYTEPATH_HOME"]) / "specs" / "p.development.flow.wf.json"
    assert spec_file.exists()

    wrong = flytepath("unregister", "wf", "--project", "p", "--version", "0" * 16,
                      cwd=tmp_path)
    assert wrong.returncode == 2
    assert f"holds version {version}" in wrong.stderr and "nothing was removed" in wrong.stderr
    assert spec_file.exists()

    unknown = flytepath("unregister", "nope", "--project", "p", cwd=tmp_path)
    assert unknown.returncode == 2 and "'nope' is not in the specs folder" in unknown.stderr
    assert "flow.wf" in unknown.stderr and "Traceback" not in unknown.stderr

    removed = flytepath("unregister", "wf", "--project", "p", "--version", version,
                        cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert not spec_file.exists()
    # The version stays registered and runnable.
    listed = flytepath("versions", "flow.wf", "--project", "p", cwd=tmp_path)
    assert version in listed.stdout
    run = flytepath("run", "flow.wf", "--project", "p", "--version", version, "-i", "n=5",
                    "--local", "--json", cwd=tmp_path)
    assert run.returncode == 0 and json.loads(run.stdout.splitlines()[-1])["outputs"] == {"o0": 50}


def test_up_refuses_a_port_in_use_before_starting_anything(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = flytepath("up", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.stderr
    assert not (Path(os.environ["FLYTEPATH_HOME"]) / "airflow" / "airflow.db").exists()


def test_an_edited_compiled_spec_cannot_take_the_genuine_version(tmp_path: Path) -> None:
    _flow(tmp_path, 10)
    compiled = flytepath("compile", "flow.py:wf", "-o", "spec.json", cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    genuine = json.loads((tmp_path / "spec.json").read_text())
    forged = json.loads(json.dumps(genuine))
    forged["interface"]["inputs"][0]["default"] = 1000  # version left as it was
    (tmp_path / "forged.json").write_text(json.dumps(forged))

    for command in (["register", "forged.json", "--project", "p"],
                    ["run", "forged.json", "--local"]):
        refused = flytepath(*command, cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert f"claims version {genuine['version']}" in refused.stderr
        assert "flytepath compile" in refused.stderr and "Traceback" not in refused.stderr

    registered = flytepath("register", "spec.json", "--project", "p", cwd=tmp_path)
    assert registered.returncode == 0, registered.stderr
    assert genuine["version"] in registered.stdout

    from flytepath_airflow.backends.airflow.loader import scan_specs

    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "p.development.flow.wf.json").write_text(json.dumps(forged))
    [item] = scan_specs(specs)
    assert item.spec is None and item.error is not None
    assert f"claims version {genuine['version']}" in item.error


def test_run_takes_the_short_name_of_a_registered_workflow(tmp_path: Path) -> None:
    _flow(tmp_path, 10)
    registered = flytepath("register", "flow.py", "--project", "p", cwd=tmp_path)
    assert registered.returncode == 0, registered.stderr
    # Registered as flow.wf; `wf` is unique in p/development.
    proc = flytepath("run", "wf", "--project", "p", "-i", "n=5", "--local", "--json",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["outputs"] == {"o0": 50} and result["workflow"] == "flow.wf"
    unknown = flytepath("run", "wff", "--project", "p", "--local", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "Did you mean 'flow.wf'?" in unknown.stderr and "Traceback" not in unknown.stderr
