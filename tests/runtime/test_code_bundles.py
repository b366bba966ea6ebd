"""A version's code bundle is verified where it is used: a corrupt or missing bundle fails
the task with a message naming it, and never runs other code."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.registry import register_spec, registered_code_bundle
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobStore

pytestmark = pytest.mark.slow


def _registered(tmp_path: Path) -> tuple[object, dict[str, str], str]:
    code = tmp_path / "code"
    code.mkdir()
    (code / "bundled_flow.py").write_text(textwrap.dedent("""
        from flytepath_airflow import task, workflow

        @task
        def triple(n: int) -> int:
            return n * 3

        @workflow
        def wf(n: int = 2) -> int:
            return triple(n=n)
    """))
    spec = load_target(f"{code / 'bundled_flow.py'}:wf")
    root = str(tmp_path / "store")
    register_spec(spec, root=root, specs_dir="", code_root=code)
    bundle = registered_code_bundle(spec, root=root)
    assert bundle is not None
    return spec, bundle, root


def test_a_registered_bundle_runs_its_code(tmp_path: Path) -> None:
    spec, bundle, root = _registered(tmp_path)
    result = run_local(spec, {"n": 5}, root=root, isolate=True,
                       options={"code_bundle": bundle})
    assert result.succeeded, result.error
    assert result.outputs == {"o0": 15}


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_damaged_bundle_fails_the_task_naming_it(tmp_path: Path, damage: str) -> None:
    spec, bundle, root = _registered(tmp_path)
    store = BlobStore(root)
    key = f"code/{bundle['sha256']}.zip"
    if damage == "corrupt":
        Path(store.path(key)).write_bytes(b"not the registered code")
    else:
        Path(store.path(key)).unlink()
    result = run_local(spec, {"n": 5}, root=root, isolate=True,
                       options={"code_bundle": bundle})
    assert not result.succeeded
    error = result.error or ""
    assert result.error_kind == "user"  # retrying reads the same bytes
    assert f"code registered with version {spec.version}" in error  # type: ignore[attr-defined]
    assert f"code/{bundle['sha256']}.zip" in error
    assert ("does not match its recorded sha256" if damage == "corrupt"
            else "is missing from the store") in error
    assert "flytepath register" in error
