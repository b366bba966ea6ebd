"""Caching as in Flyte: hits skip work, keys respect versions, tenants and ignored inputs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from flytepath_airflow.ir import WorkflowSpec, with_version
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.run import read_pointer
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobStore
from flytepath_airflow.stores.metadata import MetadataStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.txt"
    monkeypatch.setenv("FLYTEPATH_TEST_CALLS", str(path))
    return path


def ran(calls: Path, task: str) -> int:
    if not calls.exists():
        return 0
    return sum(1 for line in calls.read_text().splitlines() if line.split()[0] == task)


def spec(name: str, project: str = "default", domain: str = "development") -> WorkflowSpec:
    return load_target(f"{FIXTURES}/cached_flows.py:{name}", project=project, domain=domain)


def with_cache(s: WorkflowSpec, task_suffix: str, **changes: object) -> WorkflowSpec:
    tasks = {}
    for name, t in s.tasks.items():
        if name.endswith(task_suffix):
            assert t.cache is not None
            t = t.model_copy(update={"cache": t.cache.model_copy(update=changes)})
        tasks[name] = t
    return with_version(s.model_copy(update={"tasks": tasks}))


def test_second_run_is_a_hit_that_skips_the_task(calls: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    first = run_local(spec("squares"), {"n": 7}, root=root)
    second = run_local(spec("squares"), {"n": 7}, root=root)
    assert first.outputs == second.outputs == {"o0": 49}
    assert ran(calls, "square") == 1
    assert first.node_states == {"square": "succeeded"}
    assert second.node_states == {"square": "cached"}
    pointer = read_pointer(BlobStore(root), second.run_id, "square")
    assert pointer["cache"]["status"] == "hit"
    assert pointer["cache"]["source_run_id"] == first.run_id
    kinds = [e.kind for e in MetadataStore().events(second.run_id)]
    assert "cache_hit" in kinds and "cache_write" not in kinds
    assert "cache_write" in [e.kind for e in MetadataStore().events(first.run_id)]


def test_other_inputs_and_new_cache_version_miss(calls: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    run_local(spec("squares"), {"n": 2}, root=root)
    run_local(spec("squares"), {"n": 3}, root=root)
    assert ran(calls, "square") == 2
    bumped = with_cache(spec("squares"), ".square", version="2")
    assert run_local(bumped, {"n": 2}, root=root).node_states == {"square": "succeeded"}
    assert ran(calls, "square") == 3


def test_tenants_never_read_each_others_entries(calls: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    for project in ("team-a", "team-b"):
        run_local(spec("squares", project=project), {"n": 4}, root=root)
    assert ran(calls, "square") == 2
    entries = MetadataStore().list_cache_entries(task="cached_flows.square")
    assert sorted(e.project for e in entries) == ["team-a", "team-b"]


def test_global_scope_is_shared_across_tenants(calls: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    for project in ("team-a", "team-b"):
        shared = with_cache(spec("squares", project=project), ".square", scope="global")
        run_local(shared, {"n": 4}, root=root)
    assert ran(calls, "square") == 1


def test_ignored_inputs_and_content_hashes(calls: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    a = run_local(spec("frames"), {"n": 5, "note": "first"}, root=root)
    b = run_local(spec("frames"), {"n": 5, "note": "second"}, root=root)
    assert a.outputs == b.outputs == {"o0": 10}
    assert ran(calls, "frame") == 1 and ran(calls, "total") == 1


def test_hash_method_decides_the_key(calls: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    run_local(spec("shapes"), {"n": 3}, root=root)
    run_local(spec("shapes"), {"n": 3}, root=root)
    run_local(spec("shapes"), {"n": 4}, root=root)
    assert ran(calls, "by_shape") == 2


def test_truncated_blob_is_a_miss_and_a_warning_never_a_wrong_value(
    calls: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = str(tmp_path / "store")
    first = run_local(spec("frames"), {"n": 6}, root=root)
    frame_ref = read_pointer(BlobStore(root), first.run_id, "frame")["outputs"]["o0"]["value"]
    blob = Path(frame_ref["uri"].removeprefix("file://"))
    blob.write_bytes(blob.read_bytes()[:20])
    with caplog.at_level(logging.WARNING):
        second = run_local(spec("frames"), {"n": 6}, root=root)
    assert second.outputs == {"o0": 15}
    assert ran(calls, "frame") == 2
    assert any("unusable" in r.getMessage() and "sha256" in r.getMessage()
               for r in caplog.records)
    # the recomputed value replaced the broken entry: a third run is a verified hit
    third = run_local(spec("frames"), {"n": 6}, root=root)
    assert third.node_states["frame"] == "cached" and ran(calls, "frame") == 2


def test_overwrite_cache_recomputes_and_replaces(calls: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    run_local(spec("squares"), {"n": 9}, root=root)
    again = run_local(spec("squares"), {"n": 9}, root=root, options={"overwrite_cache": True})
    assert again.node_states == {"square": "succeeded"} and ran(calls, "square") == 2
    entry = MetadataStore().list_cache_entries(task="cached_flows.square")[0]
    assert entry.run_id == again.run_id


SQUARE_YAML = """
name: squares
project: {project}
domain: development
inputs:
  n: int
outputs:
  out: ${{{{ nodes.square.outputs.out }}}}
tasks:
  square:
    cache: {{version: "1", scope: global}}
    inputs:
      n: int
    outputs:
      out: int
    script: |
      {body} > "$FLYTEPATH_OUTPUT_DIR/out"
nodes:
  - id: square
    inputs:
      n: ${{{{ inputs.n }}}}
"""


def _square_flow(tmp_path: Path, project: str, body: str) -> WorkflowSpec:
    path = tmp_path / f"{project}.yaml"
    path.write_text(SQUARE_YAML.format(project=project, body=body))
    return load_target(str(path))


def test_global_scope_never_serves_another_tenants_different_code(tmp_path: Path) -> None:
    # An outside review: with scope global, tenant B's different script under the same
    # task name got tenant A's value (666 instead of 49); the key had no code digest.
    root = str(tmp_path / "store")
    evil = _square_flow(tmp_path, "team-a", 'echo 666')
    honest = _square_flow(tmp_path, "team-b", 'echo $(( FLYTEPATH_INPUT_N * FLYTEPATH_INPUT_N ))')
    assert run_local(evil, {"n": 7}, root=root).outputs == {"out": 666}
    result = run_local(honest, {"n": 7}, root=root)
    assert result.outputs == {"out": 49} and result.node_states == {"square": "succeeded"}
    # The same code in a third tenant is still shared: that is what global scope is for.
    again = _square_flow(tmp_path, "team-c", 'echo $(( FLYTEPATH_INPUT_N * FLYTEPATH_INPUT_N ))')
    assert run_local(again, {"n": 7}, root=root).node_states == {"square": "cached"}


def test_the_platform_can_turn_global_caching_off(
    calls: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLYTEPATH_GLOBAL_CACHE", "false")
    root = str(tmp_path / "store")
    for project in ("team-a", "team-b"):
        shared = with_cache(spec("squares", project=project), ".square", scope="global")
        run_local(shared, {"n": 4}, root=root)
    assert ran(calls, "square") == 2
    entries = MetadataStore().list_cache_entries(task="cached_flows.square")
    assert sorted(e.project for e in entries) == ["team-a", "team-b"]


def test_a_container_task_shares_globally_only_with_a_pinned_image() -> None:
    from flytepath_airflow.ir.models import ContainerSpec, TaskSpec
    from flytepath_airflow.runtime.cache import content_digest

    def container(image: str) -> TaskSpec:
        return TaskSpec(name="t", kind="container", container=ContainerSpec(
            image=image, command=("run",)))

    assert content_digest(container("registry.example/train:latest")) is None
    pinned = content_digest(container("registry.example/train@sha256:" + "a" * 64))
    other = content_digest(container("registry.example/train@sha256:" + "b" * 64))
    assert pinned is not None and other is not None and pinned != other
