"""examples/data_validation.py through `flytepath run --local`, as a user runs it: it passes,
a corrupt batch fails on pandera, oversized totals fail on the GX suite, and each
validation leaves a report page (deck) that opens in a browser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from flytepath_airflow.runtime.decks import read_deck_html, read_decks
from flytepath_airflow.stores.blob import BlobStore

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = "examples/data_validation.py:validated_orders"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    home: Path

    @property
    def report(self) -> dict[str, object]:
        return dict(json.loads(self.proc.stdout.strip().splitlines()[-1]))

    def error_message(self) -> str:
        assert self.proc.returncode != 0
        error = self.report["error"]
        assert isinstance(error, dict) and error["kind"] == "user", error
        return str(error["message"])

    def decks(self, node: str) -> dict[str, str]:
        store = BlobStore(str(self.home / "store"))
        run_id = str(self.report["run_id"])
        return {d.name: read_deck_html(store, d) for d in read_decks(store, run_id, node)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """The three runs the example's docstring shows, each in its own FLYTEPATH_HOME."""
    done = {}
    for label, inputs in (("ok", ()), ("corrupt", ("-i", "corrupt=true")),
                          ("oversized", ("-i", "scale=100"))):
        home = tmp_path_factory.mktemp(label)
        env = {**os.environ, "FLYTEPATH_HOME": str(home)}
        env.pop("FLYTEPATH_STORE_ROOT", None)
        proc = subprocess.run(
            [sys.executable, "-m", "flytepath_airflow.cli.main", "run", WORKFLOW, "--local",
             "--json", *inputs],
            capture_output=True, text=True, cwd=ROOT, env=env)
        done[label] = Run(proc, home)
    return done


def test_example_passes_and_returns_the_gx_result(runs: dict[str, Run]) -> None:
    run = runs["ok"]
    assert run.proc.returncode == 0, run.proc.stderr
    result = run.report["outputs"]["o0"]  # type: ignore[index]
    assert result["suite"] == "no_big_spenders"
    assert result["success"] is False  # reported, not fatal: the run succeeded
    assert result["statistics"]["unsuccessful"] == 1
    assert result["results"][0]["column"] == "total"


def test_example_with_a_corrupt_batch_fails_on_the_pandera_schema(runs: dict[str, Run]) -> None:
    run = runs["corrupt"]
    error = run.error_message()
    assert "task 'data_validation.clean'" in error
    assert "does not pass pandera schema data_validation:Orders" in error
    assert "column 'amount', check greater_than_or_equal_to(0)" in error
    assert "row 3: -12.0" in error
    assert "Traceback" not in run.proc.stderr


def test_example_with_oversized_totals_fails_on_the_gx_suite(runs: dict[str, Run]) -> None:
    error = runs["oversized"].error_message()
    assert "task 'data_validation.summarise'" in error
    assert "does not pass Great Expectations suite 'customer_totals'" in error
    assert "expect_column_values_to_be_between on column 'total'" in error


def test_each_validation_leaves_a_report_page(runs: dict[str, Run]) -> None:
    ok = runs["ok"]
    assert set(ok.decks("summarise")) == {
        "pandera Orders (input)",
        "pandera CustomerTotals (output 'o0')",
        "Great Expectations customer_totals (output 'o0')",
    }
    assert "passed: 5 rows x 4 columns" in ok.decks("clean")["pandera Orders (output 'o0')"]
    gx_page = ok.decks("check_big_spenders")["Great Expectations no_big_spenders"]
    assert "no_big_spenders: failed" in gx_page and "0 of 1 expectations met" in gx_page
    failed = runs["corrupt"].decks("clean")["pandera Orders (output 'o0')"]
    assert "failed: 1 failure(s)" in failed and "greater_than_or_equal_to(0)" in failed
    oversized = runs["oversized"].decks("summarise")
    assert "customer_totals: failed" in oversized[
        "Great Expectations customer_totals (output 'o0')"]


@pytest.mark.browser
def test_report_pages_render_in_chromium(runs: dict[str, Run], tmp_path: Path) -> None:
    """The pages open offline in a real browser and show their tables (screenshot kept)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing; run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    pages = {
        "pandera-failed": runs["corrupt"].decks("clean")["pandera Orders (output 'o0')"],
        "gx-result": runs["ok"].decks("check_big_spenders")[
            "Great Expectations no_big_spenders"],
    }
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            for name, html in pages.items():
                path = tmp_path / f"{name}.html"
                path.write_text(f"<!doctype html><meta charset='utf-8'>{html}")
                page.goto(path.as_uri())
                text = page.inner_text("body")
                page.screenshot(path=str(ARTIFACTS / f"data-validation-{name}.png"),
                                full_page=True)
                assert page.locator("table tr").count() >= 2
                if name == "pandera-failed":
                    assert "failed: 1 failure(s)" in text and "-12.0" in text
                else:
                    assert "expect_column_values_to_be_between" in text
        finally:
            browser.close()
