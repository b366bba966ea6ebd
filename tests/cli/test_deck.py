"""`flytepath deck` and the decks in `flytepath history`, as a user runs them."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "tests" / "fixtures" / "deck_flows.py"


def flytepath(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ),
                          timeout=300)


def run_flow(*inputs: str) -> dict[str, object]:
    args = [arg for value in inputs for arg in ("-i", value)]
    proc = flytepath("run", f"{FLOWS}:deck_flow", *args, "--local", "--json")
    doc: dict[str, object] = json.loads(proc.stdout)
    return doc


def frames(page: str) -> dict[str, tuple[str, str]]:
    """Tab title -> (the iframe's sandbox attribute, its decoded HTML)."""
    found = re.findall(r'<iframe title="([^"]*)" sandbox="([^"]*)"[^>]*srcdoc="([^"]*)"', page)
    return {html.unescape(t): (sandbox, html.unescape(doc)) for t, sandbox, doc in found}


def test_deck_writes_one_page_with_a_sandboxed_tab_per_deck(tmp_path: Path) -> None:
    run = run_flow("n=12")
    assert run["status"] == "succeeded"
    out = tmp_path / "report.html"
    proc = flytepath("deck", str(run["run_id"]), "make_frame", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    tabs = frames(page)
    assert list(tabs) == ["Inputs", "Chart", "Outputs"]
    # User HTML runs in frames that are never same-origin with the page around them.
    assert all(sandbox == "allow-scripts" for sandbox, _ in tabs.values())
    assert "allow-same-origin" not in page
    inputs, outputs = tabs["Inputs"][1], tabs["Outputs"][1]
    # A string input is data, shown escaped, never as markup.
    assert "&lt;b&gt;squares&lt;/b&gt;" in inputs and "<b>squares</b>" not in inputs
    # A DataFrame output shows its shape and first rows only.
    assert "12 rows &times; 2 columns; the first 10" in outputs
    assert "<td>81</td>" in outputs and "<td>100</td>" not in outputs
    assert "Squares" in tabs["Chart"][1]


def test_deck_of_a_node_without_decks_lists_the_nodes_that_have_some(tmp_path: Path) -> None:
    run_id = str(run_flow()["run_id"])
    proc = flytepath("deck", run_id, "plain", "-o", str(tmp_path / "x.html"))
    assert proc.returncode == 2
    assert "node 'plain' of run" in proc.stderr and "has no decks" in proc.stderr
    assert "Nodes of this run with decks: make_frame, total" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x.html").exists()

    unknown = flytepath("deck", run_id, "nope", "-o", str(tmp_path / "x.html"))
    assert unknown.returncode == 2 and f"run {run_id} has no node 'nope'" in unknown.stderr


def test_deck_of_an_unknown_run_says_how_to_list_runs(tmp_path: Path) -> None:
    proc = flytepath("deck", "fp-20260101T000000-00000000", "x", "-o", str(tmp_path / "x"))
    assert proc.returncode == 2
    assert "no run 'fp-20260101T000000-00000000'" in proc.stderr
    assert "flytepath executions" in proc.stderr


def test_a_failed_task_keeps_its_input_summary(tmp_path: Path) -> None:
    run = run_flow("n=0")
    assert run["status"] == "failed"
    out = tmp_path / "failed.html"
    proc = flytepath("deck", str(run["run_id"]), "total", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    tabs = frames(out.read_text())
    assert list(tabs) == ["Inputs"]  # it failed before it had outputs
    assert "0 rows &times; 2 columns" in tabs["Inputs"][1]
    # Publishing the report after the failure does not hide how the node ended.
    states = json.loads(flytepath("history", str(run["run_id"]), "--json").stdout)
    assert states["node_states"]["total"] == "failed"


def test_history_lists_the_nodes_with_decks() -> None:
    run_id = str(run_flow()["run_id"])
    proc = flytepath("history", run_id)
    assert proc.returncode == 0, proc.stderr
    assert "make_frame: Inputs, Chart, Outputs" in proc.stdout
    assert "total: Inputs, Outputs" in proc.stdout
    as_json = json.loads(flytepath("history", run_id, "--json").stdout)
    assert as_json["decks"] == {"make_frame": ["Inputs", "Chart", "Outputs"],
                                "total": ["Inputs", "Outputs"]}
    assert as_json["node_states"]["make_frame"] == "succeeded"


def test_a_damaged_deck_is_refused_not_shown(tmp_path: Path, flytepath_home: Path) -> None:
    run_id = str(run_flow()["run_id"])
    page = next((flytepath_home / "store").rglob("make_frame/attempt-1/decks/1.html"))
    page.write_text("<h1>not what the task wrote</h1>")
    proc = flytepath("deck", run_id, "make_frame", "-o", str(tmp_path / "x.html"))
    assert proc.returncode == 2
    assert "cannot be read" in proc.stderr and "rerun the node" in proc.stderr
