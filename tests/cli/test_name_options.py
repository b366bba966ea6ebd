"""Options that become names (`--project`, `--domain`, `--run-id`, `--version`) are checked
before anything is compiled, stored or recorded: exit 2, one message, nothing written
outside the FlytePath home (ADR 0033)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flytepath_airflow.stores.metadata import MetadataStore


def flytepath(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, env=dict(os.environ))


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A folder with a workflow file, nested so `../../..` from the store lands in tmp_path."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "flow.py").write_text(textwrap.dedent("""
        from flytepath_airflow import task, workflow

        @task
        def double(n: int) -> int:
            return n * 2

        @workflow
        def wf(n: int = 2) -> int:
            return double(n=n)
    """))
    return work


def _outside_home(tmp_path: Path, home: Path, work: Path) -> list[Path]:
    """Files written anywhere under tmp_path but the FlytePath home and the workflow folder."""
    return [p for p in tmp_path.rglob("*") if p.is_file()
            and home not in p.parents and work not in p.parents]


def _versions(name: str) -> list[str]:
    meta = MetadataStore(None)
    try:
        return [r.version for r in meta.list_versions(name)]
    finally:
        meta.close()


def test_run_refuses_a_run_id_that_leaves_the_store(project_dir: Path, tmp_path: Path,
                                                    flytepath_home: Path) -> None:
    result = flytepath("run", "flow.py:wf", "--local", "--run-id", "../../../x",
                       cwd=project_dir)
    assert result.returncode == 2, result.stderr
    assert "--run-id: run id '../../../x' contains a path separator '/'" in result.stderr
    assert "Use a name like" in result.stderr and "Traceback" not in result.stderr
    assert _outside_home(tmp_path, flytepath_home, project_dir) == []
    assert not (flytepath_home / "store" / "runs").exists()


@pytest.mark.parametrize(("project", "problem"), [
    ("../../../p", "contains a path separator '/'"),
    ("a/b", "contains a path separator '/'"),
    ("", "is empty"),
    ("ML_Team", "contains upper-case letters"),
    ("a.b", "contains '.'"),
])
def test_register_refuses_a_bad_project_before_recording_anything(
        project_dir: Path, tmp_path: Path, flytepath_home: Path, project: str,
        problem: str) -> None:
    result = flytepath("register", "flow.py", "--project", project, cwd=project_dir)
    assert result.returncode == 2, result.stderr
    assert f"--project: project {project!r} {problem}" in result.stderr
    assert "lower-case letters, digits and '-'" in result.stderr
    assert "Traceback" not in result.stderr
    assert _outside_home(tmp_path, flytepath_home, project_dir) == []
    assert not (flytepath_home / "specs").exists()
    assert not (flytepath_home / "store").exists()
    assert _versions("flow.wf") == []


def test_register_with_a_valid_project_still_works(project_dir: Path,
                                                   flytepath_home: Path) -> None:
    result = flytepath("register", "flow.py", "--project", "ml-team", "--domain", "staging",
                       cwd=project_dir)
    assert result.returncode == 0, result.stderr
    assert (flytepath_home / "specs" / "ml-team.staging.flow.wf.json").is_file()


def test_compile_and_unregister_check_their_options(project_dir: Path) -> None:
    compiled = flytepath("compile", "flow.py:wf", "--domain", "Prod", cwd=project_dir)
    assert compiled.returncode == 2
    assert "--domain: domain 'Prod' contains upper-case letters" in compiled.stderr
    assert "Use a name like 'prod'" in compiled.stderr
    removed = flytepath("unregister", "wf", "--project", "../x", cwd=project_dir)
    assert removed.returncode == 2
    assert "--project: project '../x'" in removed.stderr


def test_rerun_refuses_a_run_id_outside_the_store(project_dir: Path) -> None:
    result = flytepath("rerun", "../../../etc", "--local", cwd=project_dir)
    assert result.returncode == 2
    assert "run id '../../../etc' contains a path separator" in result.stderr
