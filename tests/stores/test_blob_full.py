"""A full disk under the store (ENOSPC, EDQUOT) is one clear error, and nothing is left
half-written.

The full disk is a fault injection: the files the store and `utils.atomic` open for
writing accept a few bytes, then raise OSError(ENOSPC or EDQUOT) as a full disk does. A
real small filesystem needs privileges tests do not have; docs/reliability.md reports a
probe against one.
"""

from __future__ import annotations

import builtins
import errno
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flytepath_airflow.errors import DiskFullError
from flytepath_airflow.runtime.run import prepare_run
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobStore
from flytepath_airflow.utils.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "tests" / "fixtures" / "typed_flows.py"


class _FullFile:
    """A writable file on a full disk: takes a few bytes, then fails as the disk is full."""

    def __init__(self, real: Any, code: int) -> None:
        self._real, self._code = real, code

    def write(self, data: Any) -> int:
        self._real.write(bytes(data)[:3])
        raise OSError(self._code, os.strerror(self._code))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._real.close()


@pytest.fixture(params=[errno.ENOSPC, errno.EDQUOT], ids=["ENOSPC", "EDQUOT"])
def full_disk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Fault injection: every file opened for writing by name or fd behaves as on a full
    disk."""
    real_open, real_fdopen = builtins.open, os.fdopen
    code = int(request.param)

    def full_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        return _FullFile(handle, code) if "w" in mode else handle

    def full_fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, mode, *args, **kwargs)
        return _FullFile(handle, code) if "w" in mode else handle

    def full_sendfile(out_fd: int, in_fd: int, offset: Any, count: int) -> int:
        raise OSError(code, os.strerror(code))  # the kernel copy shutil.copyfile uses

    monkeypatch.setattr(builtins, "open", full_open)
    monkeypatch.setattr(os, "fdopen", full_fdopen)
    monkeypatch.setattr(os, "sendfile", full_sendfile)
    return code


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("write", ["bytes", "stream", "file", "json"])
def test_a_full_store_is_a_clear_error_and_leaves_no_temporary_key(
    tmp_path: Path, full_disk: int, write: str
) -> None:
    root = tmp_path / "store"
    store = BlobStore(str(root))
    source = tmp_path / "source.bin"
    with pytest.raises(DiskFullError) as caught:
        if write == "bytes":
            store.write_bytes("a/b.bin", b"x" * 4096)
        elif write == "stream":
            with store.open_for_write("a/b.bin") as writer:
                writer.write(b"x" * 4096)
        elif write == "file":
            fd = os.open(source, os.O_CREAT | os.O_WRONLY)
            os.write(fd, b"x" * 4096)
            os.close(fd)
            store.write_file("a/b.bin", str(source))
        else:
            store.write_json("a/b.json", {"x": 1})
    message = str(caught.value)
    assert f"the store at {root} is full" in message
    assert "free space or point FLYTEPATH_STORE_ROOT elsewhere" in message
    assert _files(root) == []  # the source file is outside the store


def test_a_run_whose_spec_does_not_fit_leaves_nothing_behind(
    tmp_path: Path, full_disk: int
) -> None:
    spec = load_target(f"{FLOWS}:add")
    root = tmp_path / "store"
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    with pytest.raises(DiskFullError, match="free space or point FLYTEPATH_STORE_ROOT"):
        prepare_run(spec, {"a": 1}, str(root), metadata_url=url)
    assert _files(root) == []


def test_a_full_disk_under_a_local_file_is_a_clear_error(tmp_path: Path,
                                                         full_disk: int) -> None:
    target = tmp_path / "specs" / "flow.json"
    folder = tmp_path / "specs"
    with pytest.raises(DiskFullError, match=re.escape(f"the disk holding {folder} is full")):
        atomic_write_text(target, "{}" * 1000)
    assert _files(tmp_path / "specs") == []


# `flytepath run` with the same fault injection, in a child process: the store's temporary
# keys are on a full disk.
_RUN_ON_A_FULL_DISK = textwrap.dedent("""
    import builtins, errno, os, sys
    real_open = builtins.open
    class Full:
        def __init__(self, real): self.real = real
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        def __getattr__(self, name): return getattr(self.real, name)
        def __enter__(self): return self
        def __exit__(self, *exc): self.real.close()
    def full_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        return Full(handle) if "w" in mode and "/.tmp-" in str(file) else handle
    builtins.open = full_open
    from flytepath_airflow.cli.main import main
    main(sys.argv[1:])
""")


def test_run_on_a_full_store_exits_1_with_one_line(tmp_path: Path) -> None:
    root = tmp_path / "store"
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_ON_A_FULL_DISK, "run", f"{FLOWS}:add", "-i", "a=2",
         "--local"],
        capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "FLYTEPATH_STORE_ROOT": str(root)})
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and f"the store at {root} is full" in errors[0], proc.stderr
    assert [p for p in _files(root) if ".tmp-" in p] == []
