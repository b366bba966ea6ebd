"""The README's UI path as a new user takes it: `make demo`, `.venv/bin/flytepath up`, then
trigger the example from its typed form in a real browser and see it succeed, in Airflow and
in FlytePath's own history.

Nothing is set by hand: the commands run from the checkout with a bare environment (PATH, a
fresh HOME standing for a new user account, no PYTHONPATH, no FLYTEPATH_* or AIRFLOW_*
variables), so the run's tasks find the example's code only through what FlytePath itself
stores with the version. Debian's Chromium is driven by Playwright; screenshots are kept
under test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
FLYTEPATH = REPO / ".venv" / "bin" / "flytepath"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DAG_ID = "default.development.ml_pipeline.training_pipeline"
WORKFLOW = "ml_pipeline.training_pipeline"
STARTUP_TIMEOUT = 300.0
RUN_TIMEOUT = 420.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _user_env(home: Path) -> dict[str, str]:
    """What a new user's shell has: a PATH and a home, nothing FlytePath- or Airflow-specific."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "LANG": os.environ.get("LANG", "C.UTF-8")}
    assert not any(k.startswith(("FLYTEPATH", "AIRFLOW")) or k == "PYTHONPATH" for k in env)
    return env


@pytest.fixture
def readme_ui(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`make demo`, then `.venv/bin/flytepath up` (until the test ends), as the README says."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing; run `make browser` (apt-get install chromium)")
    env = _user_env(tmp_path / "user-home")
    (tmp_path / "user-home").mkdir()
    demo = subprocess.run(["make", "demo"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "succeeded" in demo.stderr

    port = _free_port()
    log = tmp_path / "flytepath-up.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(FLYTEPATH), "up", "--port", str(port)], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        password = None
        while password is None:
            if proc.poll() is not None:
                pytest.fail(f"flytepath up exited early:\n{log.read_text()[-3000:]}")
            assert time.monotonic() < deadline, f"no UI address printed; see {log}"
            found = re.search(r"Airflow UI: (\S+)\s+login: admin / (\S+)", log.read_text())
            if found:
                assert found.group(1) == f"http://127.0.0.1:{port}"
                password = found.group(2)
            else:
                time.sleep(2)
        yield f"http://127.0.0.1:{port}", password, env
    finally:
        # Ctrl+C, as a user stops it: flytepath up stops everything it started.
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.timeout(1800)
def test_the_readme_ui_path_triggers_the_example_and_it_succeeds(readme_ui):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect, sync_playwright

    base, password, env = readme_ui
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.set_default_timeout(60_000)
            page.goto(f"{base}/")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)

            # The DAG `make demo` ran is in the list, filtered by FlytePath's tag.
            deadline = time.monotonic() + 180
            while True:
                page.goto(f"{base}/dags?tags=flytepath")
                link = page.get_by_role("link", name=WORKFLOW, exact=True)
                try:
                    expect(link).to_be_visible(timeout=5_000)
                    break
                except AssertionError:
                    assert time.monotonic() < deadline, "the example DAG never appeared"
            link.click()
            page.wait_for_url(f"**/dags/{DAG_ID}**")

            page.wait_for_load_state("networkidle")
            page.locator("button", has_text="Trigger").first.click()
            dialog = page.get_by_role("dialog")
            expect(dialog.get_by_text("Run Parameters")).to_be_visible(timeout=30_000)
            dialog.get_by_role("spinbutton").first.fill("600")
            page.screenshot(path=str(ARTIFACTS / "ui-trigger-form.png"))
            dialog.get_by_role("button", name="Trigger").click()
            expect(dialog).to_be_hidden(timeout=30_000)

            deadline = time.monotonic() + RUN_TIMEOUT
            state = ""
            while time.monotonic() < deadline and not state:
                try:
                    page.goto(f"{base}/dags/{DAG_ID}/runs")
                    page.wait_for_timeout(3_000)
                    # The demo's run succeeded already: wait for two successes, or a failure.
                    if page.get_by_text("Failed", exact=True).count():
                        state = "failed"
                    elif page.get_by_text("Success", exact=True).count() >= 2:
                        state = "success"
                except PlaywrightTimeoutError:  # a busy API server; look again
                    pass
                if not state:
                    time.sleep(5)
            page.screenshot(path=str(ARTIFACTS / "ui-run-finished.png"), full_page=True)
            assert state == "success", f"the UI run ended as {state or 'not finished in time'}"

            # The FlytePath view (the navigation entry the plugin adds) shows both runs, the
            # demo's and the UI's, closed as succeeded once the run listener has seen them end.
            deadline = time.monotonic() + 120
            while True:
                page.goto(f"{base}/plugin/flytepath")
                rows = page.frame_locator("iframe").locator("tr", has_text=WORKFLOW)
                try:
                    expect(rows.filter(has_text="succeeded")).to_have_count(2, timeout=10_000)
                    break
                except AssertionError:
                    assert time.monotonic() < deadline, "the view never showed both runs closed"
            page.screenshot(path=str(ARTIFACTS / "ui-flytepath-view.png"), full_page=True)
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "ui-failure.png"), full_page=True)
            raise
        finally:
            browser.close()

    # FlytePath's own history shows the UI run closed, exactly as the demo's CLI run.
    deadline = time.monotonic() + 120
    while True:
        listed = subprocess.run([str(FLYTEPATH), "executions", "--json"], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        runs = [r for r in json.loads(listed.stdout) if r["workflow"] == WORKFLOW]
        if len(runs) >= 2 and all(r["status"] == "succeeded" for r in runs):
            break
        assert time.monotonic() < deadline, f"runs did not close as succeeded: {runs}"
        time.sleep(5)
    assert {r["backend"] for r in runs} == {"airflow"}
