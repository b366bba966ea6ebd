"""What the type engine needs from storage: the `BlobContext` protocol.

Transformers for files, directories, data frames and pickled objects write their bytes
through a BlobContext and get back a `BlobRef` (URI + sha256) that becomes the literal.
The runtime provides the implementation (`flytepath_airflow.stores.blob.NodeBlobContext`);
tests may use any object with these methods.

Must not import: airflow, kubernetes, stores (the dependency points the other way).
"""

from __future__ import annotations

from typing import Protocol, TypedDict


class BlobRef(TypedDict):
    """A pointer to published bytes: where they are and their sha256 hex digest."""

    uri: str
    sha256: str


class BlobContext(Protocol):
    """Storage as seen by a transformer while encoding or decoding one node's values.

    An implementation may also offer `read_and_decode(ref, decode)`, which verifies the
    sha256 beside the decode; transformers use it when present.
    """

    def write_bytes(self, name: str, data: bytes | memoryview) -> BlobRef:
        """Publish `data` under this node attempt's prefix as `name` (atomic)."""
        ...

    def write_file(self, name: str, local_path: str) -> BlobRef:
        """Publish a local file under this node attempt's prefix as `name` (atomic)."""
        ...

    def write_directory(self, name: str, local_dir: str) -> BlobRef:
        """Publish a local directory tree; the sha256 covers a sorted manifest of its files."""
        ...

    def read_bytes(self, ref: BlobRef) -> bytes:
        """Read published bytes, verifying the sha256 (BlobIntegrityError on mismatch)."""
        ...

    def download_file(self, ref: BlobRef) -> str:
        """Copy a published file to local scratch (verified) and return the local path."""
        ...

    def download_directory(self, ref: BlobRef) -> str:
        """Copy a published directory to local scratch (verified) and return its path."""
        ...

    def scratch_dir(self) -> str:
        """A local directory, private to this node attempt, for temporary files."""
        ...
