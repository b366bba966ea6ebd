"""The engine: registry, plugins, unsupported-type messages, hashing, the public API."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest

import flytepath_airflow.types as types_pkg
from flytepath_airflow import errors
from flytepath_airflow.errors import FlytePathUserError, LiteralValueError
from flytepath_airflow.ir.models import ListType, LiteralType, SimpleType, StructType
from flytepath_airflow.types import (
    PLUGIN_GROUP,
    BlobContext,
    DuplicateTransformerError,
    File,
    HashMethod,
    MissingBlobContextError,
    TypeEngine,
    TypeTransformer,
    UnsupportedTypeError,
    builtin_engine,
    default_engine,
)
from flytepath_airflow.types import engine as engine_mod
from flytepath_airflow.types._make import field_spec, simple_type, struct_type


class Celsius:
    """A class no builtin transformer knows."""

    def __init__(self, degrees: float) -> None:
        self.degrees = degrees

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Celsius) and other.degrees == self.degrees


class CelsiusTransformer(TypeTransformer[Celsius]):
    name = "celsius"

    def matches(self, py_type: Any) -> bool:
        return py_type is Celsius

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return simple_type("float")

    def to_literal(
        self, value: Celsius, py_type: Any, engine: TypeEngine, ctx: Any, name: str
    ) -> Any:
        if not isinstance(value, Celsius):
            raise LiteralValueError(f"{name}: expected Celsius")
        return value.degrees

    def to_python(self, literal: Any, py_type: Any, engine: TypeEngine, ctx: Any) -> Celsius:
        return Celsius(float(literal))


@dataclasses.dataclass
class Reading:
    where: str
    temperature: Celsius


class BrokenTransformer(CelsiusTransformer):
    """Declares float but produces text: the engine must catch it."""

    name = "broken"

    def to_literal(
        self, value: Celsius, py_type: Any, engine: TypeEngine, ctx: Any, name: str
    ) -> Any:
        return "hot"


class ReadingAsText(TypeTransformer[Reading]):
    """A plugin that takes over one dataclass from the builtin struct transformer."""

    name = "reading-as-text"

    def matches(self, py_type: Any) -> bool:
        return py_type is Reading

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return simple_type("str")

    def to_literal(
        self, value: Reading, py_type: Any, engine: TypeEngine, ctx: Any, name: str
    ) -> Any:
        return f"{value.where}={value.temperature.degrees}"

    def to_python(self, literal: Any, py_type: Any, engine: TypeEngine, ctx: Any) -> Reading:
        where, degrees = literal.split("=")
        return Reading(where, Celsius(float(degrees)))


# ---------------------------------------------------------------------- registry


def test_engine_rejects_duplicate_transformer(engine: TypeEngine) -> None:
    engine.register(CelsiusTransformer())
    with pytest.raises(DuplicateTransformerError, match="'celsius' is already registered"):
        engine.register(CelsiusTransformer())
    assert issubclass(DuplicateTransformerError, FlytePathUserError)


def test_engine_rejects_a_builtin_name_from_a_plugin(engine: TypeEngine) -> None:
    class Impostor(CelsiusTransformer):
        name = "int"

    with pytest.raises(DuplicateTransformerError):
        engine.register(Impostor())


def test_engine_rejects_objects_that_are_not_transformers(engine: TypeEngine) -> None:
    with pytest.raises(TypeError, match="expects a TypeTransformer"):
        engine.register(object())  # type: ignore[arg-type]


def test_registered_transformer_handles_its_type_everywhere(engine: TypeEngine) -> None:
    engine.register(CelsiusTransformer())
    assert engine.to_literal_type(Celsius) == SimpleType(name="float")
    assert engine.to_literal_type(list[Celsius]) == ListType(item=SimpleType(name="float"))
    reading = Reading("lab", Celsius(21.5))
    literal = engine.to_literal(reading, Reading)
    assert literal == {"where": "lab", "temperature": 21.5}
    assert engine.to_python(literal, Reading) == reading


def test_later_registration_wins_over_a_builtin_that_also_matches(
    engine: TypeEngine,
) -> None:
    engine.register(CelsiusTransformer())
    assert isinstance(engine.to_literal_type(Reading), StructType)
    engine.register(ReadingAsText())
    assert engine.to_literal_type(Reading) == SimpleType(name="str")
    assert engine.to_literal(Reading("lab", Celsius(1.0)), Reading) == "lab=1.0"


def test_engine_catches_a_transformer_that_breaks_its_own_literal_type(
    engine: TypeEngine,
) -> None:
    engine.register(BrokenTransformer())
    with pytest.raises(LiteralValueError, match="o0: expected float, got str 'hot'"):
        engine.to_literal(Celsius(1.0), Celsius, name="o0")


def test_engines_do_not_share_registrations() -> None:
    one, two = builtin_engine(), builtin_engine()
    one.register(CelsiusTransformer())
    assert one.to_literal_type(Celsius) == SimpleType(name="float")
    with pytest.raises(UnsupportedTypeError):
        two.to_literal_type(Celsius)


def test_default_engine_is_a_singleton_with_builtins() -> None:
    assert default_engine() is default_engine()
    names = {t.name for t in default_engine().transformers}
    assert {"int", "json", "dataclass", "pydantic", "file", "directory"} <= names
    assert {"pandas.DataFrame", "pickled"} <= names


# ----------------------------------------------------------------------- plugins


@dataclasses.dataclass
class FakeEntryPoint:
    """Stands in for importlib.metadata.EntryPoint: the engine only calls load()."""

    name: str
    value: str
    target: Any

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def register_celsius(engine: TypeEngine) -> None:
    engine.register(CelsiusTransformer())


def test_plugins_load_on_first_use_from_the_entry_point_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def entry_points() -> list[FakeEntryPoint]:
        asked.append(PLUGIN_GROUP)
        return [FakeEntryPoint("celsius", "tests:register_celsius", register_celsius)]

    monkeypatch.setattr(engine_mod, "plugin_entry_points", entry_points)
    engine = builtin_engine(load_plugins=True)
    assert asked == []
    assert engine.to_literal_type(Celsius) == SimpleType(name="float")
    engine.to_literal_type(int)
    assert asked == [PLUGIN_GROUP]
    assert PLUGIN_GROUP == "flytepath.plugins"


def test_plugin_that_registers_a_taken_name_is_a_duplicate_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        engine_mod,
        "plugin_entry_points",
        lambda: [FakeEntryPoint("a", "a:register", register_celsius)] * 2,
    )
    with pytest.raises(DuplicateTransformerError):
        builtin_engine(load_plugins=True).to_literal_type(int)


def test_broken_plugin_error_names_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        engine_mod,
        "plugin_entry_points",
        lambda: [FakeEntryPoint("bad", "badpkg.types:register", ImportError("no badpkg"))],
    )
    engine = builtin_engine(load_plugins=True)
    with pytest.raises(FlytePathUserError, match=r"'bad' \(badpkg.types:register\).*no badpkg"):
        engine.to_literal_type(int)
    with pytest.raises(FlytePathUserError, match="'bad'"):  # and it keeps saying so
        engine.to_literal_type(int)


PLUGIN_MODULE = "flytepath_test_kelvin_plugin"

KELVIN_PLUGIN = """
from typing import Any

from flytepath_airflow.types import TypeTransformer


class Kelvin:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


class KelvinTransformer(TypeTransformer[Kelvin]):
    name = "kelvin"

    def matches(self, py_type: Any) -> bool:
        return py_type is Kelvin

    def get_literal_type(self, py_type: Any, engine: Any) -> Any:
        return engine.to_literal_type(float)

    def to_literal(self, value: Kelvin, py_type: Any, engine: Any, ctx: Any, name: str) -> Any:
        return value.degrees

    def to_python(self, literal: Any, py_type: Any, engine: Any, ctx: Any) -> Kelvin:
        return Kelvin(literal)


def register(engine: Any) -> None:
    engine.register(KelvinTransformer())
"""


def install_kelvin_plugin(root: Path) -> None:
    """Lay out an installed distribution on `root`: a module plus its dist-info, with
    one entry point in the plugin group and one in another group."""
    (root / f"{PLUGIN_MODULE}.py").write_text(KELVIN_PLUGIN)
    dist_info = root / "flytepath_test_kelvin_plugin-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: flytepath-test-kelvin-plugin\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[{PLUGIN_GROUP}]\nkelvin = {PLUGIN_MODULE}:register\n\n"
        f"[console_scripts]\nnot-a-type-plugin = {PLUGIN_MODULE}:register\n"
    )


@pytest.fixture
def kelvin_plugin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The Kelvin plugin installed on sys.path for one test, then forgotten."""
    install_kelvin_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # also invalidates importlib's caches
    yield
    sys.modules.pop(PLUGIN_MODULE, None)


@pytest.mark.usefixtures("kelvin_plugin")
def test_an_installed_entry_point_plugin_is_listed_and_loaded() -> None:
    listed = list(engine_mod.plugin_entry_points())
    names = [ep.name for ep in listed]
    assert names.count("kelvin") == 1
    assert "not-a-type-plugin" not in names  # only the plugin group is listed
    kelvin = next(ep for ep in listed if ep.name == "kelvin")
    assert kelvin.value == f"{PLUGIN_MODULE}:register"

    engine = builtin_engine(load_plugins=True)
    plugin = importlib.import_module(PLUGIN_MODULE)
    assert engine.to_literal_type(plugin.Kelvin) == SimpleType(name="float")
    assert engine.to_literal(plugin.Kelvin(300.0), plugin.Kelvin) == 300.0
    assert "kelvin" in {t.name for t in engine.transformers}
    with pytest.raises(UnsupportedTypeError):  # without plugins the type stays unknown
        builtin_engine().to_literal_type(plugin.Kelvin)


# ------------------------------------------------------------- unsupported types


@pytest.mark.parametrize(
    ("py_type", "reason"),
    [
        (Any, "typing.Any says nothing about the values"),
        (object, "no registered TypeTransformer accepts it"),
        (Celsius, "no registered TypeTransformer accepts it"),
        (tuple[int, str], "use list[T] for a sequence or a dataclass"),
        (set[int], "sets are not supported"),
        (typing.TypeVar("X"), "type variable"),
        ("int", "string (forward) annotation"),
    ],
)
def test_unsupported_type_error_names_the_type_and_the_ways_out(
    engine: TypeEngine, py_type: Any, reason: str
) -> None:
    with pytest.raises(UnsupportedTypeError) as err:
        engine.to_literal_type(py_type)
    message = str(err.value)
    assert message.startswith(f"Type {engine_mod.type_repr(py_type)} is not supported")
    assert reason in message
    assert "TypeEngine.register" in message
    assert "'flytepath.plugins' entry point group" in message
    assert "Annotated[T, Pickled()]" in message
    assert err.value.py_type == py_type
    assert isinstance(err.value, errors.UnsupportedTypeError)
    assert isinstance(err.value, errors.CompileError)


def test_unsupported_type_is_not_silently_pickled(engine: TypeEngine, ctx: Any) -> None:
    with pytest.raises(UnsupportedTypeError):
        engine.to_literal(Celsius(1.0), Celsius, ctx)


def test_unsupported_type_inside_a_container_reports_the_inner_type(
    engine: TypeEngine,
) -> None:
    with pytest.raises(UnsupportedTypeError) as err:
        engine.to_literal_type(list[Celsius] | None)
    assert err.value.py_type is Celsius
    assert err.value.found_at == (
        f"list[{__name__}.Celsius] | None",
        f"list[{__name__}.Celsius]",
    )


def test_unsupported_type_names_module_and_class(engine: TypeEngine) -> None:
    with pytest.raises(UnsupportedTypeError, match=rf"^Type {__name__}\.Celsius is not"):
        engine.to_literal_type(Celsius)


# ----------------------------------------------------------------- blob context


def test_file_without_a_blob_context_raises_a_clear_error(
    engine: TypeEngine, tmp_path: Path
) -> None:
    path = tmp_path / "a.txt"
    path.write_text("x")
    with pytest.raises(MissingBlobContextError, match=r"^o0: storing a File needs blob storage"):
        engine.to_literal(File(str(path)), File, None, "o0")
    assert issubclass(MissingBlobContextError, LiteralValueError)


def test_missing_context_is_not_hidden_by_a_union(engine: TypeEngine, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("x")
    with pytest.raises(MissingBlobContextError):
        engine.to_literal(File(str(path)), File | None)


# ----------------------------------------------------------------------- hashing


def test_hash_value_is_the_sha256_of_the_canonical_literal(engine: TypeEngine) -> None:
    digest = engine.hash_value({"b": 1, "a": 2}, dict[str, int])
    assert digest == hashlib.sha256(b'{"a":2,"b":1}').hexdigest()


def test_hash_literal_widens_ints_where_floats_are_expected(engine: TypeEngine) -> None:
    lt = engine.to_literal_type(list[float])
    assert engine.hash_literal([1, 2.5], lt) == engine.hash_literal([1.0, 2.5], lt)


def test_hash_differs_for_different_values(engine: TypeEngine) -> None:
    assert engine.hash_value(1, int) != engine.hash_value(2, int)


def test_hash_method_annotation_hashes_what_the_function_returns(engine: TypeEngine) -> None:
    seen: list[Any] = []

    def by_length(value: list[int]) -> str:
        seen.append(value)
        return str(len(value))

    py_type = Annotated[list[int], HashMethod(by_length)]
    assert engine.to_literal_type(py_type) == engine.to_literal_type(list[int])
    assert engine.hash_value([1, 2], py_type) == engine.hash_value([3, 4], py_type)
    assert engine.hash_value([1, 2], py_type) == hashlib.sha256(b"2").hexdigest()
    assert seen == [[1, 2], [3, 4], [1, 2]]


def test_hash_method_may_return_bytes(engine: TypeEngine) -> None:
    py_type = Annotated[int, HashMethod(lambda v: b"same")]
    assert engine.hash_value(1, py_type) == hashlib.sha256(b"same").hexdigest()


def test_hash_method_returning_something_else_is_an_error(engine: TypeEngine) -> None:
    py_type = Annotated[int, HashMethod(lambda v: 42)]  # type: ignore[arg-type, return-value]
    with pytest.raises(LiteralValueError, match="must return str or bytes"):
        engine.hash_value(1, py_type)


def test_identical_files_at_different_uris_hash_the_same(
    engine: TypeEngine, ctx: BlobContext, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_bytes(b"same bytes")
    (tmp_path / "b.txt").write_bytes(b"same bytes")
    one = engine.to_literal(File(str(tmp_path / "a.txt")), File, ctx, "one")
    two = engine.to_literal(File(str(tmp_path / "b.txt")), File, ctx, "two")
    assert one["uri"] != two["uri"]
    lt = engine.to_literal_type(File)
    assert engine.hash_literal(one, lt) == engine.hash_literal(two, lt)
    assert engine.hash_value(File(str(tmp_path / "a.txt")), File, ctx) == engine.hash_literal(
        one, lt
    )


def test_struct_field_named_uri_is_not_mistaken_for_a_blob(engine: TypeEngine) -> None:
    link = struct_type(
        "Link",
        None,
        [field_spec("uri", simple_type("str")), field_spec("sha256", simple_type("str"))],
    )
    a = {"uri": "http://a", "sha256": "0" * 64}
    b = {"uri": "http://b", "sha256": "0" * 64}
    assert engine.hash_literal(a, link) != engine.hash_literal(b, link)


def test_hash_of_a_union_uses_the_variant_that_holds_the_value(
    engine: TypeEngine, ctx: BlobContext, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_bytes(b"x")
    lt = engine.to_literal_type(File | None)
    one = engine.to_literal(File(str(tmp_path / "a.txt")), File | None, ctx, "one")
    two = engine.to_literal(File(str(tmp_path / "a.txt")), File | None, ctx, "two")
    assert engine.hash_literal(one, lt) == engine.hash_literal(two, lt)
    assert engine.hash_literal(None, lt) != engine.hash_literal(one, lt)


# -------------------------------------------------------------------- public API

EXPECTED_ALL = {
    "JSON",
    "PLUGIN_GROUP",
    "BlobContext",
    "BlobRef",
    "Columns",
    "Directory",
    "DuplicateTransformerError",
    "File",
    "HashMethod",
    "JsonMarker",
    "MissingBlobContextError",
    "Pickled",
    "TypeEngine",
    "TypeTransformer",
    "UnsupportedTypeError",
    "builtin_engine",
    "castability_error",
    "default_engine",
    "literal_type_to_json_schema",
    "parse_cli_value",
    "render_type",
    "validate_literal",
}


def test_public_api_is_exactly_the_documented_names() -> None:
    assert set(types_pkg.__all__) == EXPECTED_ALL
    for name in types_pkg.__all__:
        assert getattr(types_pkg, name) is not None


def test_public_callables_have_docstrings() -> None:
    for name in types_pkg.__all__:
        obj = getattr(types_pkg, name)
        if callable(obj):
            assert getattr(obj, "__doc__", None), name
