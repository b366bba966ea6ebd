"""The blob store never resolves a key outside its root, whatever the key is made of
(the second line behind the naming rules, ADR 0033)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.stores.blob import BlobStore, UnsafeKeyError

ESCAPING = [
    "../x",
    "runs/../../x",
    "runs/r/nodes/../../../../x/outputs.json",
    "/etc/passwd",
    "//x",
    "a\\..\\..\\x",
    "a/\x00/b",
    "a/b\nc",
    "",
    "a//b",
    "a/./b",
    "a/",
    "..",
    "runs/" + "y" * 300,
]


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(str(tmp_path / "root" / "store"))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("key", ESCAPING)
def test_every_operation_refuses_a_key_that_could_leave_the_root(
        store: BlobStore, tmp_path: Path, key: str) -> None:
    source = tmp_path / "local.txt"
    source.write_text("x")
    attempts = [
        lambda: store.write_bytes(key, b"x"),
        lambda: store.write_json(key, {"a": 1}),
        lambda: store.write_file(key, str(source)),
        lambda: store.exists(key),
        lambda: store.read_json(key),
        lambda: store.delete_prefix(key),
    ]
    if key:  # the empty key is the root's URI (never a blob: writing it is refused above)
        attempts.append(lambda: store.uri(key))
    for attempt in attempts:
        with pytest.raises(UnsafeKeyError) as caught:
            attempt()
        assert isinstance(caught.value, FlytePathUserError)
        assert "is refused by the store at" in str(caught.value)
    assert _files(tmp_path) == [source]


def test_ordinary_keys_still_work(store: BlobStore) -> None:
    ref = store.write_json("runs/fp-1/nodes/a.b-c_2/outputs.json", {"ok": True})
    assert store.read_json("runs/fp-1/nodes/a.b-c_2/outputs.json") == {"ok": True}
    assert ref["uri"].endswith("/root/store/runs/fp-1/nodes/a.b-c_2/outputs.json")
    assert store.exists("runs/fp-1/nodes/map[3]/outputs.json") is False


def test_a_manifest_entry_cannot_write_outside_the_download_folder(
        store: BlobStore, tmp_path: Path) -> None:
    published = tmp_path / "published"
    (published / "sub").mkdir(parents=True)
    (published / "sub" / "f.txt").write_text("data")
    ref = store.write_directory("dirs/d", str(published))
    store.write_bytes("escaped.txt", b"data")  # what the forged entry resolves to
    # A manifest rewritten to point a file at ../../escaped.txt, with its sha256 recorded
    # again, as someone with write access to the store could do.
    manifest = {"../../escaped.txt": json.loads(
        (Path(store.path("dirs/d")) / ".flytepath-manifest.json").read_text())["sub/f.txt"]}
    forged = store.write_bytes("dirs/d/.flytepath-manifest.json",
                               json.dumps(manifest, sort_keys=True,
                                          separators=(",", ":")).encode())
    dest = tmp_path / "downloads" / "here"
    with pytest.raises(UnsafeKeyError, match=r"'\.\./\.\./escaped\.txt'"):
        store.download_directory(ref["uri"], forged["sha256"], str(dest))
    assert not (tmp_path / "escaped.txt").exists()
