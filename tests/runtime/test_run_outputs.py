"""A run's outputs are stored once, in the blob store; metadata rows hold pointers.

docs/data-plane.md: metadata rows never hold data. A 2 MB output used to be copied in
full into the execution row and again into the run's end event.
"""

from __future__ import annotations

import os
import sqlite3
import textwrap
from pathlib import Path

import pytest

from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.run import read_entry
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobIntegrityError, BlobStore
from flytepath_airflow.stores.metadata import MetadataStore

BIG = 2 * 1024 * 1024


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    path = tmp_path / "big_flow.py"
    path.write_text(textwrap.dedent(f"""
        from flytepath_airflow import task, workflow

        @task
        def big(n: int) -> str:
            return "x" * n

        @workflow
        def made(n: int = {BIG}) -> str:
            return big(n=n)

        @workflow
        def passed(s: str) -> str:
            return s
    """))
    return path


def metadata_sizes(run_id: str) -> tuple[int, int]:
    """Bytes of the execution row's outputs and of the run's end event payload."""
    with sqlite3.connect(Path(os.environ["FLYTEPATH_HOME"]) / "metadata.db") as db:
        [(row,)] = db.execute("SELECT length(outputs) FROM flytepath_executions "
                              "WHERE run_id = ?", (run_id,)).fetchall()
        [(event,)] = db.execute("SELECT length(payload) FROM flytepath_events WHERE run_id = ?"
                                " AND kind = 'succeeded' AND node_id IS NULL",
                                (run_id,)).fetchall()
    return int(row), int(event)


def test_a_large_output_is_stored_once_and_the_rows_hold_a_pointer(
    flow: Path, tmp_path: Path
) -> None:
    root = str(tmp_path / "store")
    result = run_local(load_target(f"{flow}:made"), {}, root=root)
    assert result.succeeded and result.outputs == {"o0": "x" * BIG}
    row, event = metadata_sizes(result.run_id)
    assert row < 1024 and event < 1024, (row, event)
    execution = MetadataStore().get_execution(result.run_id)
    assert execution is not None and execution.outputs is not None
    entry = execution.outputs["o0"]
    assert set(entry) == {"uri", "sha256"}
    assert read_entry(BlobStore(root), entry) == "x" * BIG


def test_an_input_passed_through_as_output_gets_its_own_blob(
    flow: Path, tmp_path: Path
) -> None:
    root = str(tmp_path / "store")
    result = run_local(load_target(f"{flow}:passed"), {"s": "y" * BIG}, root=root)
    assert result.succeeded and result.outputs == {"o0": "y" * BIG}
    assert metadata_sizes(result.run_id)[0] < 1024
    execution = MetadataStore().get_execution(result.run_id)
    assert execution is not None and execution.outputs is not None
    entry = execution.outputs["o0"]
    assert entry["uri"].endswith(f"runs/{result.run_id}/outputs/o0.json")
    assert read_entry(BlobStore(root), entry) == "y" * BIG


def test_a_small_output_is_inline_with_a_hash_checked_on_read(
    flow: Path, tmp_path: Path
) -> None:
    result = run_local(load_target(f"{flow}:made"), {"n": 3}, root=str(tmp_path / "store"))
    execution = MetadataStore().get_execution(result.run_id)
    assert execution is not None and execution.outputs is not None
    entry = execution.outputs["o0"]
    assert entry["value"] == "xxx" and "sha256" in entry
    with pytest.raises(BlobIntegrityError, match="sha256"):
        read_entry(BlobStore(str(tmp_path / "store")), {**entry, "value": "xxy"})
