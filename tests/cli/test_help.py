"""`flytepath --help`, `flytepath CMD --help` and `flytepath --version` as a user reads them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

import flytepath_airflow
from flytepath_airflow.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PYTHON_TYPE = re.compile(r"<(bool|str|int|float|path|list\[\w+\])>|list\[str\]|\{\w+\}")
"""What typer shows by default: `--local <bool>`, `--input <list[str]>`, usage `{target}`."""


def flytepath(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "160", "NO_COLOR": "1"})


def test_run_help_uses_conventional_metavars_and_a_plain_local_flag() -> None:
    proc = flytepath("run", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage: flytepath run [OPTIONS] TARGET" in proc.stdout
    assert "NAME=VALUE" in proc.stdout
    assert PYTHON_TYPE.search(proc.stdout) is None, proc.stdout
    local = next(line for line in proc.stdout.splitlines() if "│ --local" in line)
    assert "run on this machine" in local and "<" not in local, local


def _command_paths() -> list[list[str]]:
    def walk(command: click.Command, path: list[str]) -> list[list[str]]:
        subs = getattr(command, "commands", {})
        return [path, *(p for name, sub in sorted(subs.items())
                        for p in walk(sub, [*path, name]))]

    return walk(typer.main.get_command(app), [])


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(["flytepath", *p]))
def test_no_help_shows_python_types(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert PYTHON_TYPE.search(result.stdout) is None, result.stdout


def test_version_prints_the_package_version() -> None:
    proc = flytepath("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"flytepath {flytepath_airflow.__version__}\n"
