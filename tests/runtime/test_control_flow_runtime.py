"""Map elements and generated nodes are cached and retried one by one, as in Flyte."""

from __future__ import annotations

from pathlib import Path

import pytest

from flytepath_airflow.runtime.control import child_run_id
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.run import read_pointer
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.txt"
    monkeypatch.setenv("FLYTEPATH_TEST_CALLS", str(path))
    return path


def lines(calls: Path) -> list[str]:
    return calls.read_text().splitlines() if calls.exists() else []


def test_map_elements_are_cached_one_by_one(calls: Path, tmp_path: Path) -> None:
    spec = load_target(f"{FIXTURES}/cached_map_flows.py:cubes")
    root = str(tmp_path / "store")
    first = run_local(spec, {"xs": [1, 2]}, root=root)
    second = run_local(spec, {"xs": [1, 2, 3]}, root=root)
    assert first.outputs == {"o0": [1, 8]}
    assert second.outputs == {"o0": [1, 8, 27]}
    # Elements 1 and 2 came from the cache; only 3 ran in the second run.
    assert lines(calls) == ["cube 1", "cube 2", "cube 3"]
    store = BlobStore(root)
    assert read_pointer(store, second.run_id, "map_cube[0]")["cache"]["status"] == "hit"
    assert read_pointer(store, second.run_id, "map_cube[2]")["cache"]["status"] == "miss"


def test_a_recoverable_element_failure_is_retried_alone(calls: Path, tmp_path: Path) -> None:
    spec = load_target(f"{FIXTURES}/cached_map_flows.py:doubles")
    result = run_local(spec, {"xs": [5, 6]}, root=str(tmp_path / "store"))
    assert result.succeeded, result.error
    assert result.outputs == {"o0": [10, 12]}
    assert sorted(lines(calls)) == ["flaky_double 5", "flaky_double 5", "flaky_double 6",
                                    "flaky_double 6"]


def test_generated_nodes_are_cached_and_recorded_in_a_child_run(
        calls: Path, tmp_path: Path) -> None:
    spec = load_target(f"{FIXTURES}/cached_map_flows.py:dynamic_cubes")
    root = str(tmp_path / "store")
    first = run_local(spec, {"n": 3}, root=root)
    second = run_local(spec, {"n": 3}, root=root)
    assert first.outputs == second.outputs == {"o0": 0 + 1 + 8}
    assert lines(calls) == ["cube 0", "cube 1", "cube 2"]
    child = child_run_id(second.run_id, "cube_each")
    pointer = read_pointer(BlobStore(root), child, "cube_2")
    assert pointer["cache"]["status"] == "hit"
    assert pointer["cache"]["source_run_id"] == child_run_id(first.run_id, "cube_each")


def test_control_steps_append_events_to_the_run_log(tmp_path: Path) -> None:
    from flytepath_airflow.stores.metadata import MetadataStore

    classify = load_target(f"{FIXTURES}/control_flows.py:classify")
    ok = run_local(classify, {"n": 42}, root=str(tmp_path / "store"))
    events = [(e.node_id, e.kind, e.payload) for e in MetadataStore().events(ok.run_id)]
    decided = [p for node, kind, p in events if node == "size" and kind == "succeeded"]
    assert decided and decided[0]["branch"] == {"case": 1}
    assert any(node == "size_out" and kind == "succeeded" and p["merge"] == {"case": 1}
               for node, kind, p in events)

    failed = run_local(classify, {"n": 1000}, root=str(tmp_path / "store"))
    assert not failed.succeeded
    kinds = [(e.node_id, e.kind) for e in MetadataStore().events(failed.run_id)]
    assert ("size", "failed") in kinds and ("size", "succeeded") not in kinds

    squares = load_target(f"{FIXTURES}/control_flows.py:map_partial_success")
    too_few = run_local(squares, {"xs": [-1, -2, 3]}, root=str(tmp_path / "store"))
    assert not too_few.succeeded
    record = [e.payload for e in MetadataStore().events(too_few.run_id)
              if e.node_id == "map_fragile_square" and e.kind == "failed"]
    assert record and record[0]["map"] == {"size": 3, "failed": [0, 1]}
