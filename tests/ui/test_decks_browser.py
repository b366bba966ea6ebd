"""Decks in a real browser (Debian's Chromium through Playwright).

A real local run of tests/fixtures/deck_flows.py writes decks; the test opens the page
`flytepath deck` wrote, switches tabs, and checks that the deck's own script ran inside
its frame but could not reach the page around it. Then it serves the FlytePath view with
uvicorn on loopback (Airflow's real auth manager signs the token) and opens the node page,
whose decks are framed from the view's deck URLs. Screenshots: test-artifacts/decks-*.png.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("airflow")
pytest.importorskip("playwright")

from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.sdk.targets import load_target

pytestmark = [pytest.mark.airflow, pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
FLOWS = REPO / "tests" / "fixtures" / "deck_flows.py"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
JWT_SECRET = "flytepath-deck-browser-tests-" + "s" * 64


@pytest.fixture
def deck_run(flytepath_home: Path) -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing; run `make browser` (apt-get install chromium)")
    result = run_local(load_target(f"{FLOWS}:deck_flow"), {"n": 12})
    assert result.succeeded
    return result.run_id


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def view_url(deck_run: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """The view on loopback, and a bearer token for a viewer."""
    import uvicorn

    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", JWT_SECRET)
    migrated = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
                              env=dict(os.environ), capture_output=True, text=True, timeout=600)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    from starlette.exceptions import StarletteDeprecationWarning

    with warnings.catch_warnings():
        # Airflow's API imports Starlette's TestClient, which points at its httpx2 fork
        # (not installed); only this import warns (as in tests/plugins/test_view.py).
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        from airflow.api_fastapi.app import create_auth_manager
        from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi import FastAPI

    from flytepath_airflow.plugins.view import VIEW_PREFIX
    from flytepath_airflow.plugins.view.app import create_app
    from flytepath_airflow.stores.blob import default_root
    from flytepath_airflow.stores.metadata import default_metadata_url

    manager = create_auth_manager()
    manager.init()
    token = manager.generate_jwt(SimpleAuthManagerUser(username="viewer", role="viewer"))
    parent = FastAPI()
    parent.mount(VIEW_PREFIX, create_app(root=default_root(),
                                         metadata_url=default_metadata_url()))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(parent, host="127.0.0.1", port=port,
                                           log_level="warning"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # uvicorn's websockets shims
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.1)
        assert server.started, "uvicorn did not start"
        try:
            yield f"http://127.0.0.1:{port}{VIEW_PREFIX}", token
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def _browser(pw: Any) -> Any:
    return pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def test_the_page_flytepath_deck_writes_opens_with_tabs_and_sandboxed_decks(
        deck_run: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    report = tmp_path / "report.html"
    proc = subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", "deck",
                           deck_run, "make_frame", "-o", str(report)], capture_output=True,
                          text=True, env=dict(os.environ), timeout=300)
    assert proc.returncode == 0, proc.stderr
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = _browser(pw)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        try:
            page.goto(report.as_uri())
            inputs = page.frame_locator("#page-0 iframe")
            expect(inputs.locator("table.fp")).to_contain_text("<b>squares</b>")
            expect(page.locator("#page-1")).to_be_hidden()
            page.screenshot(path=str(ARTIFACTS / "decks-file-inputs.png"))

            page.click("label[for=tab-1]")
            expect(page.locator("#page-1")).to_be_visible()
            chart = page.frame_locator("#page-1 iframe").locator("#chart")
            expect(chart).to_have_text("Squares")
            # The deck's script ran in its frame, and could not retitle the page around it.
            expect(chart).to_have_attribute("data-ran", "yes")
            assert "owned" not in page.title()
            page.click("label[for=tab-2]")
            expect(page.frame_locator("#page-2 iframe").locator("body")).to_contain_text(
                "12 rows")
            page.screenshot(path=str(ARTIFACTS / "decks-file-outputs.png"))
        finally:
            browser.close()


def test_the_views_node_page_shows_the_decks(deck_run: str,
                                             view_url: tuple[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, token = view_url
    with sync_playwright() as pw:
        browser = _browser(pw)
        context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      extra_http_headers={"Authorization": f"Bearer {token}"})
        page = context.new_page()
        try:
            page.goto(f"{base}/runs/{deck_run}/nodes/make_frame")
            expect(page.locator("h3", has_text="Decks")).to_be_visible()
            frame = page.frame_locator("iframe.deck[title=Inputs]")
            expect(frame.locator("table.fp")).to_contain_text("squares")
            page.locator("details.deck summary", has_text="Chart").click()
            chart = page.frame_locator("iframe.deck[title=Chart]").locator("#chart")
            expect(chart).to_have_text("Squares")
            expect(chart).to_have_attribute("data-ran", "yes")
            assert "owned" not in page.title()
            page.screenshot(path=str(ARTIFACTS / "decks-view-node.png"), full_page=True)
        finally:
            context.close()
            browser.close()
