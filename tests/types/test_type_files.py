"""File and Directory handles stored through a real local-disk BlobContext."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from pathlib import Path
from typing import Any

import fsspec
import pydantic
import pytest

from flytepath_airflow.errors import FlytePathUserError, LiteralValueError
from flytepath_airflow.ir.models import BlobType
from flytepath_airflow.types import (
    BlobContext,
    Directory,
    File,
    MissingBlobContextError,
    TypeEngine,
    validate_literal,
)


@dataclasses.dataclass
class Model:
    name: str
    weights: File
    assets: list[Directory]


class Report(pydantic.BaseModel):
    title: str
    attachment: File


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_file_and_directory_literal_types(engine: TypeEngine) -> None:
    assert engine.to_literal_type(File) == BlobType(dimensionality="file")
    assert engine.to_literal_type(Directory) == BlobType(dimensionality="directory")


def test_returned_local_file_is_uploaded_and_becomes_a_pointer(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    src = write(tmp_path / "out" / "metrics.csv", "a,b\n1,2\n")
    literal = engine.to_literal(File(str(src)), File, ctx, "o0")
    assert set(literal) == {"uri", "sha256"}
    assert literal["uri"].endswith("/o0.csv")
    assert ctx.writes == ["o0.csv"]
    assert validate_literal(literal, engine.to_literal_type(File)) == literal


def test_decoded_file_downloads_lazily_on_first_path_access(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    src = write(tmp_path / "in.txt", "hello")
    literal = json.loads(json.dumps(engine.to_literal(File(str(src)), File, ctx, "o0")))
    handle = engine.to_python(literal, File, ctx)
    assert isinstance(handle, File)
    assert handle.uri == literal["uri"] and handle.sha256 == literal["sha256"]
    assert not any(ctx.scratch.iterdir())  # nothing downloaded yet
    assert Path(handle.path).read_text() == "hello"
    assert Path(handle.path).is_relative_to(ctx.scratch)
    with handle.open() as fh:
        assert fh.read() == "hello"
    assert os.fspath(handle) == handle.path


def test_received_file_passed_on_reuses_the_stored_blob(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    src = write(tmp_path / "in.txt", "hello")
    literal = engine.to_literal(File(str(src)), File, ctx, "o0")
    handle = engine.to_python(literal, File, ctx)
    assert engine.to_literal(handle, File, None, "again") == literal
    assert ctx.writes == ["o0.txt"]


def test_stored_file_cannot_be_opened_for_writing(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    literal = engine.to_literal(File(str(write(tmp_path / "a", "x"))), File, ctx, "o0")
    handle = engine.to_python(literal, File, ctx)
    with pytest.raises(FlytePathUserError, match="immutable"):
        handle.open("w")


def test_new_file_can_be_written_through_its_handle(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    handle = File(tmp_path / "new" / "out.txt")
    with handle.open("w") as fh:
        fh.write("made here")
    back = engine.to_python(engine.to_literal(handle, File, ctx, "o0"), File, ctx)
    assert Path(back.path).read_text() == "made here"


def test_file_uri_is_none_until_published_then_the_store_uri(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    handle = File(str(write(tmp_path / "a.txt", "x")))
    assert handle.uri is None and handle.sha256 is None
    literal = engine.to_literal(handle, File, ctx, "o0")
    assert handle.uri == literal["uri"] and handle.ref == literal


def test_file_accepts_a_file_uri(engine: TypeEngine, ctx: Any, tmp_path: Path) -> None:
    src = write(tmp_path / "a.txt", "via uri")
    handle = File(src.as_uri())
    assert handle.path == str(src)
    assert engine.to_literal(handle, File, ctx, "o0")["uri"].endswith("/o0.txt")


def test_remote_fsspec_file_is_copied_into_the_store(engine: TypeEngine, ctx: Any) -> None:
    uri = f"memory://flytepath-test-{uuid.uuid4().hex}/data.bin"
    with fsspec.open(uri, "wb") as fh:
        fh.write(b"remote bytes")
    handle = File(uri)
    assert handle.uri == uri
    literal = engine.to_literal(handle, File, ctx, "o0")
    assert literal["uri"].endswith("/o0.bin")
    back = engine.to_python(literal, File, ctx)
    assert Path(back.path).read_bytes() == b"remote bytes"
    assert Path(File(uri).path).read_bytes() == b"remote bytes"


def test_missing_local_file_is_a_clear_error(engine: TypeEngine, ctx: Any, tmp_path: Path) -> None:
    with pytest.raises(LiteralValueError, match=r"^o0: the File .* does not exist"):
        engine.to_literal(File(str(tmp_path / "nope.txt")), File, ctx, "o0")


def test_file_that_is_a_directory_suggests_directory(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    with pytest.raises(LiteralValueError, match="use Directory"):
        engine.to_literal(File(str(tmp_path)), File, ctx, "o0")


def test_bare_path_for_a_file_output_suggests_wrapping_it(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    with pytest.raises(LiteralValueError, match=r"Return File\(path\) rather than a bare path"):
        engine.to_literal(str(tmp_path), File, ctx, "o0")


def test_decoding_a_file_without_a_context_is_a_clear_error(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    literal = engine.to_literal(File(str(write(tmp_path / "a", "x"))), File, ctx, "o0")
    with pytest.raises(MissingBlobContextError, match="reading a File needs blob storage"):
        engine.to_python(literal, File)


def test_directory_roundtrip_lists_files_recursively_in_order(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    root = tmp_path / "model"
    write(root / "b.txt", "b")
    write(root / "a" / "z.txt", "z")
    write(root / "a.txt", "a")
    literal = engine.to_literal(Directory(str(root)), Directory, ctx, "o0")
    assert set(literal) == {"uri", "sha256"}
    back = engine.to_python(json.loads(json.dumps(literal)), Directory, ctx)
    rel = [Path(f.path).relative_to(back.path).as_posix() for f in back]
    assert rel == ["a.txt", "a/z.txt", "b.txt"]
    assert [Path(f.path).read_text() for f in back] == ["a", "z", "b"]


def test_same_directory_content_gives_the_same_digest(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    for name in ("one", "two"):
        write(tmp_path / name / "x.txt", "same")
    one = engine.to_literal(Directory(str(tmp_path / "one")), Directory, ctx, "one")
    two = engine.to_literal(Directory(str(tmp_path / "two")), Directory, ctx, "two")
    assert one["sha256"] == two["sha256"] and one["uri"] != two["uri"]


def test_missing_directory_is_a_clear_error(engine: TypeEngine, ctx: Any, tmp_path: Path) -> None:
    with pytest.raises(LiteralValueError, match="does not exist or is not a directory"):
        engine.to_literal(Directory(str(tmp_path / "nope")), Directory, ctx, "o0")


def test_files_nested_in_a_dataclass_get_distinct_blob_names(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    value = Model(
        name="m",
        weights=File(str(write(tmp_path / "w.bin", "weights"))),
        assets=[Directory(str(tmp_path / "a1")), Directory(str(tmp_path / "a2"))],
    )
    write(tmp_path / "a1" / "f", "1")
    write(tmp_path / "a2" / "f", "2")
    literal = engine.to_literal(value, Model, ctx, "o0")
    assert len(set(ctx.writes)) == 3
    back = engine.to_python(json.loads(json.dumps(literal)), Model, ctx)
    assert Path(back.weights.path).read_text() == "weights"
    assert [Path(next(iter(d)).path).read_text() for d in back.assets] == ["1", "2"]
    assert back == value


def test_files_nested_in_a_pydantic_model_roundtrip(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    value = Report(title="r", attachment=File(str(write(tmp_path / "r.pdf", "%PDF"))))
    literal = engine.to_literal(value, Report, ctx, "o0")
    back = engine.to_python(literal, Report, ctx)
    assert isinstance(back, Report)
    assert Path(back.attachment.path).read_text() == "%PDF"


def test_blob_names_are_safe_and_distinct(
    engine: TypeEngine, ctx: Any, tmp_path: Path
) -> None:
    csv = write(tmp_path / "data.csv", "a,b\n")
    plain = write(tmp_path / "plain", "x")
    write(tmp_path / "tree" / "f", "1")

    def stored_as(name: str, value: File | Directory) -> str:
        engine.to_literal(value, type(value), ctx, name)
        return ctx.writes[-1]

    assert stored_as("o0", File(str(csv))) == "o0.csv"
    assert stored_as("o0.model", Directory(str(tmp_path / "tree"))) == "o0.model"
    first, second = stored_as("o0[1]", File(str(plain))), stored_as("o0_1_", File(str(plain)))
    assert first != second
    assert "/" not in stored_as("../../etc/passwd", File(str(plain)))
    assert not stored_as("../x", File(str(plain))).startswith(".")
    assert len(stored_as("x" * 500, File(str(plain)))) < 100


def test_handles_compare_by_content_once_published(
    engine: TypeEngine, ctx: BlobContext, tmp_path: Path
) -> None:
    a = File(str(write(tmp_path / "a", "same")))
    b = File(str(write(tmp_path / "b", "same")))
    assert a != b
    engine.to_literal(a, File, ctx, "a")
    engine.to_literal(b, File, ctx, "b")
    assert a == b
    assert File(str(tmp_path / "a")) == File(str(tmp_path / "a"))
