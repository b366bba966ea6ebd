"""Notebooks as typed tasks: papermill runs them in a real Jupyter kernel.

The runs go through `flytepath run --local` as a user types it; compile-time refusals are
checked on NotebookTask objects built from small workflow files in the test's folder.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from flytepath_airflow.errors import CompileError
from flytepath_airflow.integrations.papermill import NotebookError, record_outputs
from flytepath_airflow.runtime.code import build_code_bundle
from flytepath_airflow.sdk.targets import load_target

pytest.importorskip("papermill")

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
FLOWS = FIXTURES / "notebook_flows.py"
NOTEBOOK = FIXTURES / "notebooks" / "stats.ipynb"


KERNEL = pytest.mark.slow  # starts a Jupyter kernel: 10-40 s on a busy machine


def flytepath(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, env=dict(os.environ),
                          timeout=600)


def visible_text(page: str) -> str:
    """The words of a deck page (its decks are escaped inside srcdoc attributes)."""
    inner = html.unescape(html.unescape(page))
    return " ".join(re.sub(r"<[^>]+>", " ", inner).split())


@KERNEL
def test_a_notebook_runs_with_typed_inputs_and_outputs_and_leaves_its_rendering(
        tmp_path: Path) -> None:
    proc = flytepath("run", f"{FLOWS}:notebook_flow", "-i", "n=5", "--local", "--json")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    # sum(range(5)) recorded by the notebook as an int, doubled by the next task.
    assert run["outputs"] == {"doubled": 20, "summary": "numbers: 10"}

    report = tmp_path / "stats.html"
    deck = flytepath("deck", run["run_id"], "stats", "-o", str(report))
    assert deck.returncode == 0, deck.stderr
    page = report.read_text()
    assert '<label for="tab-0">Notebook</label>' in page
    # The rendering shows the injected parameters and the cell's printed output.
    text = visible_text(page)
    assert "n = 5" in text and "numbers: 10" in text


@KERNEL
def test_the_executed_notebook_is_a_file_output_with_the_injected_parameters(
        tmp_path: Path) -> None:
    proc = flytepath("run", f"{FLOWS}:stats", "-i", "n=3", "-i", "label=xs", "--local",
                     "--json")
    assert proc.returncode == 0, proc.stderr
    outputs = json.loads(proc.stdout)["outputs"]
    assert outputs["total"] == 3 and outputs["summary"] == "xs: 3"
    executed = json.loads(Path(outputs["out_nb"]["uri"].removeprefix("file://")).read_text())
    injected = [c for c in executed["cells"]
                if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "n = 3" in "".join(injected[0]["source"])


@KERNEL
def test_a_notebook_that_raises_fails_the_task_naming_the_cell_and_the_error() -> None:
    proc = flytepath("run", f"{FLOWS}:notebook_flow", "-i", "n=-1", "--local")
    assert proc.returncode == 1
    # Cell 4 of the notebook as the user sees it (papermill's injected cell not counted).
    assert "notebook stats.ipynb of task 'stats' failed in cell 4" in proc.stderr
    assert 'raise ValueError(f"n must be at least 0, got {n}")' in proc.stderr
    assert "ValueError: n must be at least 0, got -1" in proc.stderr
    assert "Traceback (most recent call last)" not in proc.stderr  # none of FlytePath's
    assert "double" in proc.stderr and "upstream failed" in proc.stderr


@KERNEL
def test_a_failed_notebook_still_leaves_its_rendering_as_a_deck(tmp_path: Path) -> None:
    proc = flytepath("run", f"{FLOWS}:notebook_flow", "-i", "n=-2", "--local", "--json")
    assert proc.returncode == 1
    run_id = json.loads(proc.stdout)["run_id"]
    report = tmp_path / "failed.html"
    assert flytepath("deck", run_id, "stats", "-o", str(report)).returncode == 0
    assert "n must be at least 0, got -2" in visible_text(report.read_text())


@KERNEL
def test_a_recorded_output_of_the_wrong_type_names_the_output_and_both_types() -> None:
    proc = flytepath("run", f"{FLOWS}:wrong_type_flow", "--local")
    assert proc.returncode == 1
    assert ("notebook stats.ipynb of task 'stats_as_text' recorded output 'total' as int 6, "
            "but the task declares it str") in proc.stderr
    assert "change outputs=kwtypes(total=...)" in proc.stderr


def _flow(tmp_path: Path, notebook: str, body: str = "") -> Path:
    (tmp_path / "nb").mkdir(exist_ok=True)
    module = f"nbflow_{abs(hash((str(tmp_path), notebook, body)))}"
    path = tmp_path / f"{module}.py"
    path.write_text(textwrap.dedent(f"""
        from flytepath_airflow import kwtypes
        from flytepath_airflow.integrations.papermill import NotebookTask

        report = NotebookTask(name="report", notebook_path={notebook!r},
                              inputs=kwtypes(n=int), outputs=kwtypes(total=int))
        {body}
    """))
    return path


def _compile(path: Path) -> None:
    load_target(f"{path}:report")


def test_a_missing_notebook_is_a_compile_error_naming_the_path(tmp_path: Path) -> None:
    path = _flow(tmp_path, "nb/missing.ipynb")
    with pytest.raises(NotebookError, match=r"nb/missing\.ipynb .* does not exist.*"
                                            r"relative to the file that creates the task"):
        _compile(path)


def test_a_notebook_that_is_not_json_is_a_compile_error(tmp_path: Path) -> None:
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "broken.ipynb").write_text('{"cells": [')
    with pytest.raises(NotebookError, match="is not valid JSON"):
        _compile(_flow(tmp_path, "nb/broken.ipynb"))


def test_inputs_without_a_parameters_cell_are_a_compile_error(tmp_path: Path) -> None:
    (tmp_path / "nb").mkdir()
    doc = json.loads(NOTEBOOK.read_text())
    for cell in doc["cells"]:
        cell["metadata"].pop("tags", None)
    (tmp_path / "nb" / "untagged.ipynb").write_text(json.dumps(doc))
    with pytest.raises(NotebookError, match="no cell tagged 'parameters'"):
        _compile(_flow(tmp_path, "nb/untagged.ipynb"))


def test_an_input_papermill_cannot_write_is_refused_where_the_task_is_created() -> None:
    from flytepath_airflow import kwtypes
    from flytepath_airflow.integrations.papermill import NotebookTask

    with pytest.raises(CompileError, match=r"input 'when' is .*datetime.*File"):
        import datetime as dt

        NotebookTask(name="t", notebook_path="x.ipynb", inputs=kwtypes(when=dt.datetime))


def test_editing_the_notebook_changes_the_version(tmp_path: Path) -> None:
    (tmp_path / "nb").mkdir()
    shutil.copy(NOTEBOOK, tmp_path / "nb" / "stats.ipynb")
    path = _flow(tmp_path, "nb/stats.ipynb")
    first = load_target(f"{path}:report")
    doc = json.loads(NOTEBOOK.read_text())
    doc["cells"][3]["source"] = ["total = sum(range(n + 1))\n"]
    (tmp_path / "nb" / "stats.ipynb").write_text(json.dumps(doc))
    again = load_target(f"{_flow(tmp_path, 'nb/stats.ipynb', body='# reloaded')}:report")
    # The task's digest is the notebook's alone (the two modules' names differ, so the
    # versions would differ anyway): the edit is what changed it, and so the version.
    [before], [after] = first.tasks.values(), again.tasks.values()
    assert before.code_digest != after.code_digest and first.version != again.version


def test_registered_code_bundles_carry_the_notebooks(tmp_path: Path) -> None:
    (tmp_path / "nb").mkdir()
    shutil.copy(NOTEBOOK, tmp_path / "nb" / "stats.ipynb")
    _flow(tmp_path, "nb/stats.ipynb")
    names = zipfile.ZipFile(io.BytesIO(build_code_bundle(tmp_path))).namelist()
    assert "nb/stats.ipynb" in names


def test_record_outputs_outside_a_task_returns_the_values(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLYTEPATH_NOTEBOOK_OUTPUTS", raising=False)
    assert record_outputs(total=3) == {"total": 3}
    assert "not running as a FlytePath task" in capsys.readouterr().out


def test_a_notebook_task_needs_a_module_level_name(tmp_path: Path) -> None:
    path = tmp_path / "unnamed_flow.py"
    shutil.copytree(NOTEBOOK.parent, tmp_path / "notebooks")
    path.write_text(textwrap.dedent("""
        from flytepath_airflow import kwtypes, workflow
        from flytepath_airflow.integrations.papermill import NotebookTask

        TASKS = [NotebookTask(name="stats", notebook_path="notebooks/stats.ipynb",
                              inputs=kwtypes(n=int, label=str), outputs=kwtypes(total=int))]

        @workflow
        def wf(n: int = 1) -> int:
            return TASKS[0](n=n, label="x").total
    """))
    with pytest.raises(CompileError, match="not assigned to a module-level name"):
        load_target(f"{path}:wf")


@KERNEL
def test_the_example_notebook_workflow_runs_locally(tmp_path: Path) -> None:
    proc = flytepath("run", "examples/notebook_report.py:sales_pipeline", "-i", "days=10",
                     "-i", "target=120", "--local", "--json")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    assert run["outputs"] == {"o0": "1,239.40 sold in 10 days; 6 days beat the target."}
    report = tmp_path / "report.html"
    assert flytepath("deck", run["run_id"], "sales_report", "-o", str(report)).returncode == 0
    assert "6 of 10 days over 120.0" in visible_text(report.read_text())
