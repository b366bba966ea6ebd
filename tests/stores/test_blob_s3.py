"""The blob store on S3, against moto's S3 server started on loopback by the test.

moto implements the S3 API in-process; it stands in for AWS S3, which these machines
cannot reach. It proves the fsspec path (s3fs) end to end: atomic publish by copy,
sha256 verification on read, and a whole cached workflow with its blobs on S3.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.run import read_pointer
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobIntegrityError, BlobStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty bucket on a moto S3 server on 127.0.0.1; yields an s3:// store root."""
    import fsspec
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # fsspec's own configuration: what FSSPEC_S3_ENDPOINT_URL sets in production.
    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": endpoint})
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    bucket = f"flytepath-test-{uuid.uuid4().hex[:8]}"  # moto's state is per process
    fs.mkdir(bucket)
    try:
        yield f"s3://{bucket}/store"
    finally:
        server.stop()


def test_publish_read_and_verify_on_s3(s3_root: str) -> None:
    store = BlobStore(s3_root)
    ref = store.write_bytes("a/b.bin", b"hello")
    assert ref["uri"] == f"{s3_root}/a/b.bin"
    assert store.read_uri(ref["uri"], ref["sha256"]) == b"hello"
    assert [p for p in store.fs.ls(store.path("a")) if ".tmp-" in p] == []
    store.fs.pipe(store.path("a/b.bin"), b"hellX")
    with pytest.raises(BlobIntegrityError, match="does not match its recorded sha256"):
        store.read_uri(ref["uri"], ref["sha256"])


def test_cached_workflow_with_dataframes_on_s3(s3_root: str) -> None:
    spec = load_target(f"{FIXTURES}/cached_flows.py:frames")
    first = run_local(spec, {"n": 4}, root=s3_root)
    second = run_local(spec, {"n": 4}, root=s3_root)
    assert first.outputs == second.outputs == {"o0": 6}
    assert second.node_states == {"frame": "cached", "total": "cached"}
    ref = read_pointer(BlobStore(s3_root), first.run_id, "frame")["outputs"]["o0"]["value"]
    assert ref["uri"].startswith("s3://") and ref["format"] == "parquet"
