"""The FlytePath view through FastAPI's TestClient, on data written by real local runs.

Airflow's real SimpleAuthManager signs the tokens and decides every request, against a real
Airflow metadata DB (`airflow db migrate` in the session's private AIRFLOW_HOME).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("airflow")

from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette points at its httpx2 fork, which is not installed; the httpx that Airflow
    # brings drives the TestClient the same way. Only this import warns.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from flytepath_airflow.ir import with_version
from flytepath_airflow.platform.naming import dag_id_for, flytepath_run_id
from flytepath_airflow.plugins import FlytePathPlugin
from flytepath_airflow.plugins.view import VIEW_PREFIX
from flytepath_airflow.plugins.view.app import create_app
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.registry import register_spec
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import default_root
from flytepath_airflow.stores.metadata import MetadataStore, default_metadata_url

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
JWT_SECRET = "flytepath-view-tests-" + "s" * 64  # >= 64 bytes: PyJWT warns below that


def spec(name: str, module: str = "view_flows") -> Any:
    return load_target(f"{FIXTURES}/{module}.py:{name}")


@pytest.fixture(scope="module")
def airflow_db() -> None:
    """Airflow's own metadata DB (tokens are checked against its revoked-token table)."""
    env = {**os.environ, "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET}
    done = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture
def auth(airflow_db: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", JWT_SECRET)
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    manager = create_auth_manager()
    manager.init()

    def token(role: str) -> dict[str, str]:
        jwt = manager.generate_jwt(SimpleAuthManagerUser(username=role, role=role))
        return {"Authorization": f"Bearer {jwt}"}

    return token


@pytest.fixture
def client(flytepath_home: Path) -> Iterator[TestClient]:
    """The view mounted under /flytepath, as Airflow's API server mounts it."""
    parent = FastAPI()
    parent.mount(VIEW_PREFIX, create_app(root=default_root(),
                                         metadata_url=default_metadata_url()))
    with TestClient(parent) as test_client:
        yield test_client


def test_plugin_mounts_the_view_and_adds_run_and_task_instance_tabs() -> None:
    apps = FlytePathPlugin.fastapi_apps
    assert [a["url_prefix"] for a in apps] == ["/flytepath"]
    destinations = {v["destination"]: v["href"] for v in FlytePathPlugin.external_views}
    assert destinations["nav"] == "/flytepath/"
    assert "{TASK_ID}" in destinations["task_instance"]
    assert "{RUN_ID}" in destinations["dag_run"]


def test_requests_without_a_token_are_refused(client: TestClient, auth: Any) -> None:
    assert client.get("/flytepath/").status_code == 401
    assert client.get("/flytepath/cache").status_code == 401
    bad = client.get("/flytepath/", headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 403


def test_run_page_marks_a_cache_hit_and_links_the_run_that_computed_it(
        client: TestClient, auth: Any) -> None:
    first = run_local(spec("reported"), {"n": 3})
    second = run_local(spec("reported"), {"n": 3})
    assert first.succeeded and second.succeeded

    listing = client.get("/flytepath/", headers=auth("viewer"))
    assert listing.status_code == 200
    assert second.run_id in listing.text and "1 cache hit" in listing.text
    assert "default/development" in listing.text

    page = client.get(f"/flytepath/runs/{second.run_id}", headers=auth("viewer"))
    assert page.status_code == 200
    row = _row(page.text, "square")
    assert "cache hit" in row and first.run_id in row
    assert "cache hit" not in _row(page.text, "write_report")
    first_row = _row(client.get(f"/flytepath/runs/{first.run_id}",
                                headers=auth("viewer")).text, "square")
    assert "cache miss" in first_row


RECOVERED_FLOW = """
from pathlib import Path

from flytepath_airflow import task, workflow

FIXED = Path(__file__).resolve().parent / "fixed.txt"


@task
def first(n: int) -> int:
    return n + 1


@task
def second(x: int) -> int:
    if not FIXED.exists():
        raise ValueError("not fixed yet")
    return x * 2


@workflow
def two_steps(n: int) -> int:
    return second(x=first(n=n))
"""


def test_run_page_of_a_recovery_links_the_failed_run_and_marks_reused_nodes(
        client: TestClient, auth: Any, tmp_path: Path) -> None:
    (tmp_path / "fixable_flow.py").write_text(RECOVERED_FLOW)
    flow = load_target(f"{tmp_path}/fixable_flow.py:two_steps")
    failed = run_local(flow, {"n": 1})
    (tmp_path / "fixed.txt").write_text("")
    recovered = run_local(flow, {"n": 1}, options={"recovered_from": failed.run_id})
    assert not failed.succeeded and recovered.outputs == {"o0": 4}

    page = client.get(f"/flytepath/runs/{recovered.run_id}", headers=auth("viewer"))
    assert page.status_code == 200
    assert f"Recovers failed run <a href=\"/flytepath/runs/{failed.run_id}\"" in page.text
    row = _row(page.text, "first")
    assert "recovered" in row and failed.run_id in row
    assert "recovered" not in _row(page.text, "second")
    old = client.get(f"/flytepath/runs/{failed.run_id}", headers=auth("viewer"))
    assert f"Recovered by <a href=\"/flytepath/runs/{recovered.run_id}\"" in old.text
    node = client.get(f"/flytepath/runs/{recovered.run_id}/nodes/first",
                      headers=auth("viewer"))
    assert "outputs reused from" in node.text and failed.run_id in node.text


def _row(html: str, node: str) -> str:
    match = re.search(rf'<tr class="node" data-node="[^"]*{node}[^"]*">(.*?)</tr>', html, re.S)
    assert match, f"no timeline row for {node}"
    return match.group(1)


def test_node_page_shows_the_users_error_and_traceback_without_internals(
        client: TestClient, auth: Any) -> None:
    failed = run_local(spec("checked"), {"n": 7})
    assert not failed.succeeded
    node = next(n for n in spec("checked").nodes if n.task and "check_value" in n.task)

    page = client.get(f"/flytepath/runs/{failed.run_id}/nodes/{node.id}",
                      headers=auth("viewer"))
    assert page.status_code == 200
    assert "ValueError: bad value 49" in page.text
    assert "ValueError: ValueError" not in page.text
    user_tb = re.search(r'<pre class="traceback">(.*?)</pre>', page.text, re.S)
    assert user_tb, "no user traceback on the node page"
    assert "view_flows.py" in user_tb.group(1) and "raise ValueError" in user_tb.group(1)
    assert "flytepath_airflow/runtime" not in user_tb.group(1)
    # The input came from the upstream node: lineage links to it.
    upstream = node.inputs["value"].node  # type: ignore[union-attr]
    assert f"/flytepath/runs/{failed.run_id}/nodes/{upstream}" in page.text


def test_blob_outputs_download_verified_and_a_tampered_blob_is_refused(
        client: TestClient, auth: Any, flytepath_home: Path) -> None:
    result = run_local(spec("reported"), {"n": 4})
    node = next(n.id for n in spec("reported").nodes if n.task and "write_report" in n.task)
    url = f"/flytepath/runs/{result.run_id}/nodes/{node}/outputs/o0"
    page = client.get(f"/flytepath/runs/{result.run_id}/nodes/{node}", headers=auth("viewer"))
    assert url in page.text
    ok = client.get(url, headers=auth("viewer"))
    assert ok.status_code == 200 and ok.content == b"total=16\n"
    run_output = client.get(f"/flytepath/runs/{result.run_id}/outputs/o0",
                            headers=auth("viewer"))
    assert run_output.status_code == 200 and run_output.content == b"total=16\n"

    blob = next(p for p in (flytepath_home / "store").rglob("*")
                if p.is_file() and p.read_bytes() == b"total=16\n")
    blob.write_text("total=1000\n")
    tampered = client.get(url, headers=auth("viewer"))
    assert tampered.status_code == 409
    assert "sha256" in tampered.json()["detail"]


def test_a_large_output_passed_through_is_a_blob_the_run_page_serves(
        client: TestClient, auth: Any, tmp_path: Path) -> None:
    flow = tmp_path / "passing.py"
    flow.write_text("from flytepath_airflow import workflow\n\n"
                    "@workflow\ndef passed(s: str) -> str:\n    return s\n")
    text = "z" * 4096  # over the 1 KiB inline limit: the execution row holds a pointer
    result = run_local(load_target(f"{flow}:passed"), {"s": text})
    url = f"/flytepath/runs/{result.run_id}/outputs/o0"
    page = client.get(f"/flytepath/runs/{result.run_id}", headers=auth("viewer"))
    assert url in page.text
    download = client.get(url, headers=auth("viewer"))
    assert download.status_code == 200 and download.content == f'"{text}"'.encode()


def test_hostile_ids_are_rejected_and_values_are_escaped(
        client: TestClient, auth: Any) -> None:
    for path in ("/flytepath/runs/..%2F..%2Fetc", "/flytepath/runs/a..b/nodes/x",
                 "/flytepath/runs/%3Cscript%3E", "/flytepath/cache/..%2F..%2Fetc"):
        response = client.get(path, headers={**auth("admin"), "Accept": "text/html"})
        assert response.status_code in (400, 404), path
        assert "<script>" not in response.text
    result = run_local(spec("chain", "light_flows"), {"n": 1, "label": "<script>x()</script>"})
    page = client.get(f"/flytepath/runs/{result.run_id}", headers=auth("viewer"))
    assert "<script>x()" not in page.text
    assert "&lt;script&gt;x()" in page.text


def test_a_viewer_cannot_evict_a_cache_entry_and_an_admin_can(
        client: TestClient, auth: Any) -> None:
    run_local(spec("reported"), {"n": 5})
    meta = MetadataStore(default_metadata_url())
    (entry,) = meta.list_cache_entries()

    shown = client.get(f"/flytepath/cache/{entry.key}", headers=auth("viewer"))
    assert shown.status_code == 200 and "Evict</button>" not in shown.text
    denied = client.post(f"/flytepath/cache/{entry.key}/evict", headers=auth("viewer"))
    assert denied.status_code == 403
    assert "may not evict cache entries of DAG 'default.development.view_flows.reported'" in (
        denied.json()["detail"])
    assert meta.get_cache_entry(entry.key) is not None

    foreign = client.post(f"/flytepath/cache/{entry.key}/evict",
                          headers={**auth("admin"), "Origin": "https://evil.example"})
    assert foreign.status_code == 403 and meta.get_cache_entry(entry.key) is not None

    assert "Evict</button>" in client.get(f"/flytepath/cache/{entry.key}",
                                          headers=auth("admin")).text
    evicted = client.post(f"/flytepath/cache/{entry.key}/evict", headers=auth("admin"),
                          follow_redirects=False)
    assert evicted.status_code == 303
    assert meta.get_cache_entry(entry.key) is None
    assert entry.key not in client.get("/flytepath/cache", headers=auth("admin")).text.split(
        "Evicted cache entry")[-1].split("</p>", 1)[-1]
    meta.close()


def test_versions_show_their_spec_and_a_diff_between_two(
        client: TestClient, auth: Any, flytepath_home: Path) -> None:
    v1 = spec("reported")
    tasks = {name: (t.model_copy(update={"cache": t.cache.model_copy(update={"version": "2"})})
                    if t.cache else t) for name, t in v1.tasks.items()}
    v2 = with_version(v1.model_copy(update={"tasks": tasks}))
    for s in (v1, v2):
        register_spec(s, root=default_root(), specs_dir=str(flytepath_home / "specs"))

    base = f"/flytepath/versions/default/development/{v1.name}"
    listing = client.get(base,
                         headers=auth("viewer"))
    assert v1.version in listing.text and v2.version in listing.text
    one = client.get(f"{base}/{v1.version}",
                     headers=auth("viewer"))
    assert one.status_code == 200 and "write_report" in one.text
    diff = client.get(f"{base}/diff",
                      params={"a": v1.version, "b": v2.version}, headers=auth("viewer"))
    assert diff.status_code == 200
    assert re.search(r'class="diff-del">-\s+&#34;version&#34;: &#34;1&#34;', diff.text)
    assert re.search(r'class="diff-add">\+\s+&#34;version&#34;: &#34;2&#34;', diff.text)


def test_tenants_page_shows_each_tenants_pool_and_whether_airflow_has_it(
        client: TestClient, auth: Any) -> None:
    run_local(spec("reported"), {"n": 6})
    page = client.get("/flytepath/tenants", headers=auth("viewer"))
    assert page.status_code == 200
    assert "flytepath_default_development" in page.text
    assert "missing in Airflow" in page.text  # nobody created the pool in this Airflow


def test_task_instance_tab_opens_the_page_of_its_node(client: TestClient, auth: Any) -> None:
    reported = spec("reported")
    dag_id = dag_id_for(reported)
    airflow_run_id = "manual__2026-01-01T00:00:00+00:00"
    run_id = flytepath_run_id(dag_id, airflow_run_id)
    run_local(reported, {"n": 2}, run_id=run_id)

    tab = next(v["href"] for v in FlytePathPlugin.external_views
               if v["destination"] == "task_instance")
    url = (tab.replace("{DAG_ID}", quote(dag_id, safe=""))
           .replace("{RUN_ID}", quote(airflow_run_id, safe=""))
           .replace("{TASK_ID}", "write_report"))
    response = client.get(url, headers=auth("viewer"), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/flytepath/runs/{run_id}/nodes/write_report"
    assert client.get(url, headers=auth("viewer")).status_code == 200


def test_node_page_shows_its_decks_in_sandboxed_frames_served_with_a_sandboxing_csp(
        client: TestClient, auth: Any) -> None:
    result = run_local(spec("deck_flow", "deck_flows"), {"n": 12})
    assert result.succeeded
    node_url = f"/flytepath/runs/{result.run_id}/nodes/make_frame"
    page = client.get(node_url, headers=auth("viewer"))
    assert page.status_code == 200
    frames = re.findall(r'<iframe class="deck"[^>]*>', page.text)
    assert [re.search(r'title="([^"]*)"', f).group(1) for f in frames] == [  # type: ignore[union-attr]
        "Inputs", "Chart", "Outputs"]
    # Deck HTML is user content: framed without allow-same-origin, it cannot reach the view.
    assert all('sandbox="allow-scripts"' in f for f in frames)
    assert "allow-same-origin" not in page.text

    deck = client.get(f"{node_url}/decks/1", headers=auth("viewer"))
    assert deck.status_code == 200 and "<h1 id='chart'>Squares</h1>" in deck.text
    # Opened on its own, the deck is still sandboxed (an opaque origin) and offline.
    csp = deck.headers["content-security-policy"]
    assert csp.startswith("sandbox allow-scripts;") and "default-src 'none'" in csp
    assert "frame-ancestors 'self'" in csp
    assert deck.headers["x-content-type-options"] == "nosniff"

    assert client.get(f"{node_url}/decks/3", headers=auth("viewer")).status_code == 404
    assert client.get(f"{node_url}/decks/0").status_code == 401
    plain = client.get(f"/flytepath/runs/{result.run_id}/nodes/plain", headers=auth("viewer"))
    assert plain.status_code == 200 and '<iframe class="deck"' not in plain.text


def test_a_damaged_deck_is_refused_by_the_view(client: TestClient, auth: Any,
                                               flytepath_home: Path) -> None:
    result = run_local(spec("deck_flow", "deck_flows"), {"n": 3})
    page = next((flytepath_home / "store").rglob("make_frame/attempt-1/decks/0.html"))
    page.write_text("<script>alert('not what the task wrote')</script>")
    deck = client.get(f"/flytepath/runs/{result.run_id}/nodes/make_frame/decks/0",
                      headers=auth("viewer"))
    assert deck.status_code == 409 and "sha256" in deck.json()["detail"]
