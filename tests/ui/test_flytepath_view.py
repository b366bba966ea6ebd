"""The FlytePath view inside a real Airflow UI, driven by Debian's Chromium.

`airflow standalone` starts the way `flytepath up` starts it, on loopback, reading the
FlytePath store and metadata that real local runs wrote. The test signs in, opens the
FlytePath entry of the navigation (an external view: the page is an iframe served by the
same API server), sees the second run marked with a cache hit, and opens the failed node
of another run to read the user's traceback. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from flytepath_airflow.cli.airflow_commands import (
    EmbeddedAirflow,
    read_admin_password,
    setup_standalone,
    standalone_command,
)
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.sdk.targets import load_target

pytestmark = [pytest.mark.airflow, pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
FLOWS = REPO / "tests" / "fixtures" / "view_flows.py"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STARTUP_TIMEOUT = 300.0
# Loopback ports reserved for this test (API server, worker and trigger log servers).
API_PORT, WORKER_LOG_PORT, TRIGGER_LOG_PORT = 18231, 18232, 18233


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"airflow standalone exited early; see {log}")
        try:
            with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5) as resp:
                health = json.load(resp)
            if health.get("metadatabase", {}).get("status") == "healthy":
                return
        except OSError:
            pass
        time.sleep(2)
    pytest.fail(f"airflow standalone was not healthy after {STARTUP_TIMEOUT:.0f}s; see {log}")


@pytest.fixture
def airflow_with_runs(tmp_path: Path, flytepath_home: Path):  # type: ignore[no-untyped-def]
    """Real runs in the store, then `airflow standalone` over the same FLYTEPATH_HOME."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing; run `make browser` (apt-get install chromium)")
    embedded = EmbeddedAirflow(flytepath_home, str(flytepath_home / "store"))
    embedded.prepare()
    reported = load_target(f"{FLOWS}:reported")
    first = run_local(reported, {"n": 3}, root=embedded.root)
    second = run_local(reported, {"n": 3}, root=embedded.root)
    failed = run_local(load_target(f"{FLOWS}:checked"), {"n": 7}, root=embedded.root)
    assert first.succeeded and second.succeeded and not failed.succeeded
    setup_standalone(embedded)
    cmd, env = standalone_command(embedded, API_PORT)
    env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(WORKER_LOG_PORT)
    env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(TRIGGER_LOG_PORT)
    log = tmp_path / "standalone.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{API_PORT}"
    try:
        _wait_healthy(base, proc, log)
        password = read_admin_password(embedded, timeout=60)
        assert password, "airflow standalone wrote no admin password"
        yield base, password, first.run_id, second.run_id, failed.run_id
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_view_marks_a_cache_hit_and_shows_the_users_traceback(airflow_with_runs) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, password, first, second, failed = airflow_with_runs
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        try:
            page.goto(f"{base}/")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)

            # The navigation entry the plugin adds: the view in an iframe of Airflow's UI.
            page.goto(f"{base}/plugin/flytepath")
            view = page.frame_locator("iframe")
            expect(view.get_by_role("link", name=second)).to_be_visible()
            view.get_by_role("link", name=second).click()
            hit_row = view.locator("tr.node", has_text="square")
            expect(hit_row.get_by_text("cache hit")).to_be_visible()
            expect(hit_row.get_by_role("link", name=first)).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "flytepath-view-run.png"))

            view.get_by_role("link", name="Executions").click()
            view.get_by_role("link", name=failed).click()
            view.locator("tr.node", has_text="check_value").get_by_role("link").first.click()
            expect(view.get_by_text("ValueError: bad value 49").first).to_be_visible()
            traceback = view.locator("pre.traceback")
            expect(traceback).to_contain_text("view_flows.py")
            expect(traceback).to_contain_text('raise ValueError(f"bad value {value}")')
            page.screenshot(path=str(ARTIFACTS / "flytepath-view-node.png"))
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "flytepath-view-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
