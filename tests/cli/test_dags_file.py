"""`flytepath dags-file` writes the DAG files the provider ships, and never clobbers others.

That the written files load in a real DagBag is in tests/test_dags_folder.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flytepath_airflow.backends.airflow.dag_files import DAG_FILE_NAMES, dag_file_sources


def flytepath(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, env=dict(os.environ))


def test_dags_file_writes_the_shipped_files_into_the_folder(tmp_path: Path) -> None:
    dags = tmp_path / "airflow" / "dags"
    result = flytepath("dags-file", "--output", str(dags))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in dags.iterdir()) == sorted(DAG_FILE_NAMES)
    assert {name: (dags / name).read_text() for name in DAG_FILE_NAMES} == dag_file_sources()
    assert result.stdout.splitlines() == [f"wrote {dags / name}" for name in DAG_FILE_NAMES]


def test_dags_file_run_again_leaves_identical_files_untouched(tmp_path: Path) -> None:
    assert flytepath("dags-file", "-o", str(tmp_path)).returncode == 0
    before = {name: (tmp_path / name).stat().st_mtime_ns for name in DAG_FILE_NAMES}
    result = flytepath("dags-file", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"unchanged {tmp_path / n}" for n in DAG_FILE_NAMES]
    # An untouched file keeps its mtime, so Airflow's DAG processor does not reparse it.
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in DAG_FILE_NAMES} == before


def test_dags_file_refuses_to_replace_a_different_file_and_writes_nothing(
    tmp_path: Path,
) -> None:
    edited = tmp_path / "flytepath_dags.py"
    edited.write_text("# my own DAG file\n")
    result = flytepath("dags-file", "--output", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.count("\n") == 0
    assert "flytepath_dags.py" in message and "--force" in message
    assert edited.read_text() == "# my own DAG file\n"
    assert not (tmp_path / "flytepath_spec_errors.py").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["flytepath_dags.py"]  # no temp files


def test_dags_file_force_replaces_a_different_file(tmp_path: Path) -> None:
    (tmp_path / "flytepath_spec_errors.py").write_text("# from an older FlytePath\n")
    result = flytepath("dags-file", "--output", str(tmp_path), "--force")
    assert result.returncode == 0, result.stderr
    assert {name: (tmp_path / name).read_text() for name in DAG_FILE_NAMES} == dag_file_sources()


def test_dags_file_refuses_an_output_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "dags"
    target.write_text("not a folder")
    result = flytepath("dags-file", "--output", str(target))
    assert result.returncode == 2
    assert "is a file, not a folder" in result.stderr and "Traceback" not in result.stderr
    assert target.read_text() == "not a folder"
