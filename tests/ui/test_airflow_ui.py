"""The Airflow UI, driven by a real browser: log in, find the example DAG, trigger it from the
typed form, and see the run succeed.

`airflow standalone` runs on loopback in a temporary AIRFLOW_HOME (via FlytePath's embedded
Airflow folders, as `flytepath up` does); Debian's Chromium is driven by Playwright. A
screenshot of the finished run is kept under test-artifacts/.
"""

from __future__ import annotations

import json
import os
import signal
import socket
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
from flytepath_airflow.platform.naming import dag_id_for
from flytepath_airflow.sdk.targets import load_target

pytestmark = [pytest.mark.airflow, pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "ml_pipeline.py"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STARTUP_TIMEOUT = 300.0
RUN_TIMEOUT = 420.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"airflow standalone exited early; see {log}")
        try:
            with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5) as resp:
                health = json.load(resp)
            if all(health.get(part, {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "dag_processor")):
                return
        except OSError:
            pass
        time.sleep(2)
    pytest.fail(f"airflow standalone was not healthy after {STARTUP_TIMEOUT:.0f}s; see {log}")


@pytest.fixture
def standalone(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`airflow standalone` on a free loopback port with the example spec published."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing; run `make browser` (apt-get install chromium)")
    embedded = EmbeddedAirflow(tmp_path / "home", str(tmp_path / "home" / "store"))
    embedded.prepare()
    spec = load_target(f"{EXAMPLE}:training_pipeline")  # also puts examples/ on PYTHONPATH
    embedded.publish_spec(spec)
    setup_standalone(embedded)
    port = _free_port()
    cmd, env = standalone_command(embedded, port)
    env["AIRFLOW__API__HOST"] = "127.0.0.1"
    # The log servers default to 8793/8794; free ports keep parallel Airflows apart.
    env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(_free_port())
    env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(_free_port())
    env["AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL"] = "5"
    log = tmp_path / "standalone.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log)
        password = read_admin_password(embedded, timeout=60)
        assert password, "airflow standalone wrote no admin password"
        yield base, password, dag_id_for(spec), spec
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.timeout(1200)
def test_trigger_the_example_from_the_typed_form_and_see_it_succeed(standalone):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect, sync_playwright

    base, password, dag_id, spec = standalone
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)

            # Find the DAG in the list, filtered by FlytePath's tag, once the processor parsed it.
            deadline = time.monotonic() + 120
            while True:
                page.goto(f"{base}/dags?tags=flytepath")
                link = page.get_by_role("link", name=spec.name, exact=True)
                try:
                    expect(link).to_be_visible(timeout=5_000)
                    break
                except AssertionError:
                    assert time.monotonic() < deadline, "the example DAG never appeared"
            link.click()
            page.wait_for_url(f"**/dags/{dag_id}**")
            expect(page.get_by_text(f"version:{spec.version}")).to_be_visible()

            page.wait_for_load_state("networkidle")
            page.locator("button", has_text="Trigger").first.click()
            dialog = page.get_by_role("dialog")
            expect(dialog.get_by_text("Run Parameters")).to_be_visible(timeout=30_000)
            n_rows = dialog.get_by_role("spinbutton").first
            n_rows.fill("600")
            page.screenshot(path=str(ARTIFACTS / "ui-trigger-form.png"))
            dialog.get_by_role("button", name="Trigger").click()
            expect(dialog).to_be_hidden(timeout=30_000)

            deadline = time.monotonic() + RUN_TIMEOUT
            state = ""
            while time.monotonic() < deadline:
                try:
                    page.goto(f"{base}/dags/{dag_id}/runs")
                    page.wait_for_timeout(3_000)
                    # The runs table shows the state as a badge: "Success", "Failed", ...
                    if page.get_by_text("Success", exact=True).count():
                        state = "success"
                        break
                    if page.get_by_text("Failed", exact=True).count():
                        state = "failed"
                        break
                except PlaywrightTimeoutError:  # a busy API server; look again
                    continue
                time.sleep(5)
            page.screenshot(path=str(ARTIFACTS / "ui-run-finished.png"), full_page=True)
            assert state == "success", f"the run ended as {state or 'not finished in time'}"
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "ui-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
