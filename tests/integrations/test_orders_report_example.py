"""examples/orders_report.py: pandera, Great Expectations, a papermill notebook and decks in
one workflow, run as a user runs it: `flytepath run --local`, `flytepath run` through
Airflow, and `flytepath deck` opened in a real browser (Debian's Chromium through
Playwright; the screenshot is kept in test-artifacts/orders-report-deck.png)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = "examples/orders_report.py:orders_report"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
HEADLINE = "2 customers above the limit; the top one is ada."
DECKS = {
    "load_orders": ["Inputs", "Outputs", "pandera Orders (output 'o0')"],
    "customer_totals": ["pandera Orders (input)", "Inputs", "Outputs",
                        "Great Expectations customer_totals (output 'o0')"],
    "customer_report": ["Notebook"],
}

pytestmark = pytest.mark.slow  # a Jupyter kernel starts; the Airflow test runs Airflow


def flytepath(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLYTEPATH_HOME": str(home)}
    env.pop("FLYTEPATH_STORE_ROOT", None)
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)


def run_json(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def decks_of(home: Path, run_id: str) -> dict[str, list[str]]:
    history = json.loads(flytepath(home, "history", run_id, "--json").stdout)
    return {node: history["decks"].get(node) for node in DECKS}


def test_locally_every_step_validates_reports_and_the_decks_open_in_a_browser(
        tmp_path: Path) -> None:
    proc = flytepath(tmp_path, "run", WORKFLOW, "--local", "--json")
    assert proc.returncode == 0, proc.stderr
    document = run_json(proc)
    assert document["outputs"] == {"o0": HEADLINE}
    run_id = str(document["run_id"])
    assert decks_of(tmp_path, run_id) == DECKS

    page = tmp_path / "report.html"
    written = flytepath(tmp_path, "deck", run_id, "customer_report", "-o", str(page))
    assert written.returncode == 0, written.stderr
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing; run `make browser`")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page()
            tab.goto(page.as_uri())
            frame = tab.frame_locator("iframe").first
            frame.get_by_text("Customer report").first.wait_for(timeout=30_000)
            assert frame.get_by_text("ada").first.is_visible()
            tab.screenshot(path=str(ARTIFACTS / "orders-report-deck.png"), full_page=True)
        finally:
            browser.close()


def test_totals_out_of_range_fail_on_the_suite_and_keep_its_report(tmp_path: Path) -> None:
    proc = flytepath(tmp_path, "run", WORKFLOW, "--local", "--json", "-i", "scale=100")
    assert proc.returncode == 1
    document = run_json(proc)
    error = document["error"]
    assert isinstance(error, dict) and error["node"] == "customer_totals"
    assert "customer_totals" in error["message"] and "total" in error["message"]
    decks = decks_of(tmp_path, str(document["run_id"]))
    assert "Great Expectations customer_totals (output 'o0')" in decks["customer_totals"]


@pytest.mark.airflow
def test_through_airflow_the_same_answer_and_the_same_reports(tmp_path: Path) -> None:
    proc = flytepath(tmp_path, "run", WORKFLOW, "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    document = run_json(proc)
    assert document["backend"] == "airflow"
    assert document["outputs"] == {"o0": HEADLINE}
    assert decks_of(tmp_path, str(document["run_id"])) == DECKS
