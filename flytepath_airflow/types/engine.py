"""The type engine: a registry of `TypeTransformer`s between Python values and literals.

A transformer claims Python types (`matches`), describes them as a spec `LiteralType`,
and converts values to literals (JSON-compatible values) and back. The engine picks the
transformer for a type, validates literals at the boundary, and hashes values for cache
keys. Unknown types are an error with a way out; nothing is pickled unless the type says
`Annotated[T, Pickled()]`.

Lookup order: for `Annotated[T, ...]` the whole annotation is offered to the
transformers first (so markers like `Pickled()` or `Columns(...)` can be claimed), then
the bare `T`. Transformers registered later are asked first, so a plugin can take over a
type that a builtin would also accept (one particular dataclass, say).

Must not import: airflow, kubernetes, pandas, pyarrow, stores, the sdk.
"""

from __future__ import annotations

import abc
import hashlib
import json
import logging
import threading
import typing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, Protocol, TypeVar

from flytepath_airflow import errors
from flytepath_airflow.errors import FlytePathUserError, LiteralValueError
from flytepath_airflow.ir.models import (
    BlobType,
    DataFrameType,
    ListType,
    LiteralType,
    MapType,
    PickledType,
    StructType,
    UnionType,
)
from flytepath_airflow.types.context import BlobContext
from flytepath_airflow.types.markers import HashMethod, annotated_parts
from flytepath_airflow.types.render import describe_value
from flytepath_airflow.types.validate import validate_literal

logger = logging.getLogger(__name__)

T = TypeVar("T")

PLUGIN_GROUP = "flytepath.plugins"

_FIX = (
    "Fix: use a supported type (int, float, str, bool, bytes, datetime, date, timedelta, "
    "an Enum, list[T], dict[str, T], Optional/Union, a dataclass, a pydantic model, File, "
    "Directory, a pandas DataFrame, or flytepath_airflow.types.JSON); or register a "
    "TypeTransformer for it with TypeEngine.register (or from a register(engine) function "
    f"in the '{PLUGIN_GROUP}' entry point group); or opt in to pickle with "
    "Annotated[T, Pickled()]."
)


def type_repr(py_type: Any) -> str:
    """A readable name for a Python type: `int`, `mymod.Metrics`, `dict[str, Any]`."""
    if py_type is type(None):
        return "None"
    if py_type is Any:
        return "typing.Any"
    if isinstance(py_type, type) and not typing.get_args(py_type):
        if py_type.__module__ == "builtins":
            return py_type.__qualname__
        return f"{py_type.__module__}.{py_type.__qualname__}"
    return repr(py_type).replace("typing.", "")


def type_path(py_type: Any) -> str:
    """The "module:qualname" import path of a class (or the repr of a non-class type)."""
    if isinstance(py_type, type):
        return f"{py_type.__module__}:{py_type.__qualname__}"
    return repr(py_type)


class UnsupportedTypeError(errors.UnsupportedTypeError):
    """A Python type that no registered transformer can describe.

    :ivar py_type: the innermost type that is not supported.
    :ivar reason: why, when something more specific than "no transformer" is known.
    :ivar found_at: where it was found, outermost first (`mod.Metrics`, `field 'meta'`).
    """

    def __init__(
        self, py_type: Any, reason: str = "", *, found_at: tuple[str, ...] = ()
    ) -> None:
        self.py_type = py_type
        self.reason = reason or "no registered TypeTransformer accepts it"
        self.found_at = found_at
        where = f" (found at: {', '.join(found_at)})" if found_at else ""
        super().__init__(
            f"Type {type_repr(py_type)} is not supported{where}: {self.reason}. {_FIX}"
        )

    def within(self, place: str) -> UnsupportedTypeError:
        """The same error, found one level further out (at `place`)."""
        err = UnsupportedTypeError(self.py_type, self.reason, found_at=(place, *self.found_at))
        err.__cause__ = self.__cause__
        return err


class DuplicateTransformerError(FlytePathUserError):
    """A transformer was registered under a name that is already taken."""


class MissingBlobContextError(LiteralValueError):
    """A file, directory, data frame or pickle needs blob storage but no context was given."""


class TypeTransformer(abc.ABC, Generic[T]):
    """Converts one family of Python types to and from literals.

    Subclasses set `name` (unique in an engine) and implement the four methods. Nested
    values go back through `engine` so that every type composes with every other.
    """

    name: str = ""

    @abc.abstractmethod
    def matches(self, py_type: Any) -> bool:
        """Whether this transformer handles `py_type`. Must be cheap and must not import
        optional libraries unless `py_type` comes from them."""

    @abc.abstractmethod
    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """The spec type of `py_type`.

        :raises UnsupportedTypeError: when `py_type` is in this family but cannot be described.
        """

    @abc.abstractmethod
    def to_literal(
        self,
        value: T,
        py_type: Any,
        engine: TypeEngine,
        ctx: BlobContext | None,
        name: str,
    ) -> Any:
        """Encode `value` as a literal.

        :param value: the Python value.
        :param py_type: the type it was declared as.
        :param engine: for nested values.
        :param ctx: blob storage, needed by files, data frames and pickles.
        :param name: where the value sits (`o0`, `o0[2].model`); used in error messages and as
            the base of blob names.

        :raises LiteralValueError: when `value` does not fit `py_type`.
        """

    @abc.abstractmethod
    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> T:
        """Decode a literal into a value of `py_type`; strict (an int does not take 1.5).

        :raises LiteralValueError: when `literal` does not fit `py_type`.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class PluginEntryPoint(Protocol):
    """The part of `importlib.metadata.EntryPoint` the engine uses."""

    @property
    def name(self) -> str:
        """The entry point's name."""
        ...

    @property
    def value(self) -> str:
        """What it points at ("pkg.mod:register")."""
        ...

    def load(self) -> Any:
        """Import and return the object the entry point names."""
        ...


BUNDLED_PLUGINS: dict[str, str] = {
    "pandera": "flytepath_airflow.integrations.pandera:register",
    "great_expectations": "flytepath_airflow.integrations.great_expectations:register",
}
"""Plugins that ship inside this package, by entry point name -> "module:register".

pyproject declares them in the entry point group as well; listing them here too means they
load from a source checkout or an install whose metadata predates them. They are named,
not imported, so the type layer stays below the integrations (ADR "integrations are type
plugins"), and their modules import their libraries only when a value needs them.
"""


class _BundledEntryPoint:
    """A bundled plugin presented like an installed entry point."""

    def __init__(self, name: str, value: str) -> None:
        self._name = name
        self._value = value

    @property
    def name(self) -> str:
        return self._name

    @property
    def value(self) -> str:
        return self._value

    def load(self) -> Any:
        import importlib

        module, _, attr = self._value.partition(":")
        return getattr(importlib.import_module(module), attr)


def plugin_entry_points() -> Iterable[PluginEntryPoint]:
    """The plugins of the `flytepath.plugins` group, each once: the bundled ones first, in
    `BUNDLED_PLUGINS` order (the installed entry point where there is one), then any other
    installed plugin.

    The order is part of the behaviour, because later transformers are asked first:
    Great Expectations must be asked before pandera about `Annotated[DataFrame[Model],
    GXValidate(...)]`. Installed metadata lists entry points in no promised order, so the
    bundled order decides, whether or not the install's metadata lists them.
    """
    from importlib.metadata import entry_points

    by_value: dict[str, PluginEntryPoint | None] = {}
    for ep in entry_points(group=PLUGIN_GROUP):
        by_value.setdefault(ep.value, ep)  # two dist-infos of one package load it once
    ours: list[PluginEntryPoint] = [
        by_value.pop(value, None) or _BundledEntryPoint(name, value)
        for name, value in BUNDLED_PLUGINS.items()
    ]
    return [*ours, *(ep for ep in by_value.values() if ep is not None)]


class TypeEngine:
    """A registry of transformers, and the conversions that go through it.

    :param transformers: registered in order (later ones are asked first when matching).
    :param load_plugins: load the `flytepath.plugins` entry points on first use.
    """

    def __init__(
        self, transformers: Iterable[TypeTransformer[Any]] = (), *, load_plugins: bool = False
    ) -> None:
        self._transformers: dict[str, TypeTransformer[Any]] = {}
        self._lock = threading.RLock()
        self._plugins_pending = load_plugins
        self._plugin_error: FlytePathUserError | None = None
        self._literal_types: dict[Any, LiteralType] = {}
        self._matches: dict[Any, tuple[TypeTransformer[Any], Any]] = {}
        self._local = threading.local()
        for transformer in transformers:
            self.register(transformer)

    # ------------------------------------------------------------------ registry

    def register(self, transformer: TypeTransformer[Any]) -> None:
        """Add a transformer.

        :raises DuplicateTransformerError: another transformer already has its `name`.
        :raises TypeError: `transformer` is not a TypeTransformer or has no name.
        """
        if not isinstance(transformer, TypeTransformer):
            raise TypeError(
                f"TypeEngine.register expects a TypeTransformer instance, got "
                f"{describe_value(transformer)}"
            )
        if not transformer.name:
            raise TypeError(f"{type(transformer).__qualname__} must set a non-empty `name`")
        with self._lock:
            existing = self._transformers.get(transformer.name)
            if existing is not None:
                raise DuplicateTransformerError(
                    f"A type transformer named {transformer.name!r} is already registered "
                    f"({type(existing).__module__}.{type(existing).__qualname__}); cannot "
                    f"also register {type(transformer).__module__}."
                    f"{type(transformer).__qualname__}. Give the new transformer another "
                    f"name, or remove one of the plugins that both register it."
                )
            self._transformers[transformer.name] = transformer
            self._literal_types.clear()
            self._matches.clear()

    @property
    def transformers(self) -> tuple[TypeTransformer[Any], ...]:
        """The registered transformers, in registration order."""
        self._ensure_plugins()
        return tuple(self._transformers.values())

    def _ensure_plugins(self) -> None:
        if self._plugin_error is not None:
            # A broken plugin keeps failing loudly rather than leaving a partial registry.
            raise self._plugin_error
        if not self._plugins_pending:
            return
        with self._lock:
            if not self._plugins_pending:
                return
            self._plugins_pending = False
            for ep in plugin_entry_points():
                try:
                    register = ep.load()
                    register(self)
                except DuplicateTransformerError as exc:
                    self._plugin_error = exc
                    raise
                except Exception as exc:
                    self._plugin_error = FlytePathUserError(
                        f"The type plugin {ep.name!r} ({ep.value}) in entry point group "
                        f"'{PLUGIN_GROUP}' failed to load: {type(exc).__name__}: {exc}. "
                        f"Fix or uninstall the package that provides it."
                    )
                    raise self._plugin_error from exc
                logger.debug("loaded type plugin %s (%s)", ep.name, ep.value)

    def get_transformer(self, py_type: Any) -> tuple[TypeTransformer[Any], Any]:
        """The transformer for `py_type`, and the form of the type it matched.

        For `Annotated[T, ...]` the matched form is the whole annotation when a transformer
        claims it, else bare `T`.

        :raises UnsupportedTypeError: nothing matches.
        """
        self._ensure_plugins()
        py_type = _normalize(py_type)
        key = _cache_key(py_type)
        try:
            found = self._matches.get(key)
        except TypeError:  # an unhashable annotation: fine, just not cached
            found = None
        if found is not None:
            return found
        found = self._find_transformer(py_type)
        try:
            self._matches[key] = found
        except TypeError:
            pass
        return found

    def _find_transformer(self, py_type: Any) -> tuple[TypeTransformer[Any], Any]:
        candidates = [py_type]
        base, metadata = annotated_parts(py_type)
        if metadata:
            candidates.append(base)
        ordered = list(reversed(self._transformers.values()))
        for candidate in candidates:
            for transformer in ordered:
                if transformer.matches(candidate):
                    return transformer, candidate
        raise UnsupportedTypeError(base, _known_reason(base))

    # ---------------------------------------------------------------- conversions

    def to_literal_type(self, py_type: Any) -> LiteralType:
        """The spec `LiteralType` of a Python type.

        :raises UnsupportedTypeError: the type (or a part of it) is not supported; `py_type`
            on the error is the part, and the message says how to fix it.
        """
        py_type = _normalize(py_type)
        cached = self._cached_literal_type(py_type)
        if cached is not None:
            return cached
        transformer, matched = self.get_transformer(py_type)
        resolving: list[Any] = self._state("resolving", list)
        if any(_same_type(matched, t) for t in resolving):
            raise UnsupportedTypeError(
                matched,
                "it refers to itself, and a spec type cannot be recursive; "
                "limit the nesting (for example with a list of a separate class) or use JSON",
            )
        resolving.append(matched)
        try:
            lt = transformer.get_literal_type(matched, self)
        except UnsupportedTypeError as exc:
            if _same_type(exc.py_type, matched) or _same_type(exc.py_type, py_type):
                raise
            raise exc.within(type_repr(py_type)) from exc.__cause__
        finally:
            resolving.pop()
        try:
            self._literal_types[_cache_key(py_type)] = lt
        except TypeError:  # an unhashable annotation: fine, just not cached
            pass
        return lt

    def to_literal(
        self,
        value: Any,
        py_type: Any,
        ctx: BlobContext | None = None,
        name: str = "value",
    ) -> Any:
        """Encode a Python value of type `py_type` as a literal (a JSON-compatible value).

        :param value: the value.
        :param py_type: its declared type.
        :param ctx: blob storage for files, directories, data frames and pickles.
        :param name: where the value sits (an output name, say): used in error messages and
            as the base of blob names.

        :raises UnsupportedTypeError: `py_type` is not supported.
        :raises LiteralValueError: the value does not fit the type (or needs a ctx).
        """
        lt = self.to_literal_type(py_type)
        transformer, matched = self.get_transformer(py_type)
        with self._nested() as outermost:
            literal = transformer.to_literal(value, matched, self, ctx, name)
        if outermost:
            # Holds transformers (plugins included) to the literal type they declared.
            literal = validate_literal(literal, lt, name)
        return literal

    def to_python(self, literal: Any, py_type: Any, ctx: BlobContext | None = None) -> Any:
        """Decode a literal into a Python value of type `py_type`.

        The literal is validated first (errors name the path inside it); struct keys that
        are not fields are ignored, since a struct with more fields may be cast to one with
        fewer.

        :raises UnsupportedTypeError: `py_type` is not supported.
        :raises LiteralValueError: the literal does not fit the type (or needs a ctx).
        """
        lt = self.to_literal_type(py_type)
        transformer, matched = self.get_transformer(py_type)
        with self._nested() as outermost:
            if outermost:
                literal = validate_literal(literal, lt, "value", unknown_fields="drop")
            return transformer.to_python(literal, matched, self, ctx)

    # -------------------------------------------------------------------- hashing

    def hash_value(self, value: Any, py_type: Any, ctx: BlobContext | None = None) -> str:
        """The sha256 hex digest that identifies `value` in a cache key.

        `Annotated[T, HashMethod(fn)]` hashes `fn(value)`; otherwise the value is encoded
        and hashed like `hash_literal` (blobs count by content, not by location).

        :raises LiteralValueError: the value does not fit, or `fn` returned neither str nor bytes.
        """
        method = next(
            (m for m in annotated_parts(_normalize(py_type))[1] if isinstance(m, HashMethod)),
            None,
        )
        if method is not None:
            digest = method.fn(value)
            if isinstance(digest, str):
                digest = digest.encode()
            if not isinstance(digest, bytes):
                raise LiteralValueError(
                    f"The HashMethod function {getattr(method.fn, '__qualname__', method.fn)} "
                    f"returned {describe_value(digest)}; it must return str or bytes."
                )
            return hashlib.sha256(digest).hexdigest()
        literal = self.to_literal(value, py_type, ctx, "value")
        return self.hash_literal(literal, self.to_literal_type(py_type))

    def hash_literal(self, literal: Any, literal_type: LiteralType) -> str:
        """The sha256 hex digest of a literal's canonical JSON.

        Blob pointers count by their sha256 only, so identical content stored at two URIs
        hashes the same. Floats are widened first, so `1` and `1.0` as a float agree.
        """
        return hash_literal(literal, literal_type)

    # -------------------------------------------------------------------- helpers

    def _cached_literal_type(self, py_type: Any) -> LiteralType | None:
        self._ensure_plugins()
        try:
            return self._literal_types.get(_cache_key(py_type))
        except TypeError:
            return None

    def _state(self, key: str, factory: Callable[[], Any]) -> Any:
        value = getattr(self._local, key, None)
        if value is None:
            value = factory()
            setattr(self._local, key, value)
        return value

    @contextmanager
    def _nested(self) -> Iterator[bool]:
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            yield depth == 0
        finally:
            self._local.depth = depth


def hash_literal(literal: Any, literal_type: LiteralType) -> str:
    """The sha256 hex digest of a literal's canonical JSON (see `TypeEngine.hash_literal`)."""
    normalized = validate_literal(literal, literal_type, "value", unknown_fields="drop")
    doc = _hash_form(normalized, literal_type)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _hash_form(literal: Any, lt: LiteralType) -> Any:
    if isinstance(lt, (BlobType, DataFrameType, PickledType)):
        return {"sha256": literal["sha256"]}
    if isinstance(lt, ListType):
        return [_hash_form(item, lt.item) for item in literal]
    if isinstance(lt, MapType):
        return {key: _hash_form(v, lt.value) for key, v in literal.items()}
    if isinstance(lt, StructType):
        types = {f.name: f.type for f in lt.fields}
        return {key: _hash_form(v, types[key]) for key, v in literal.items()}
    if isinstance(lt, UnionType):
        for variant in lt.variants:
            try:
                validate_literal(literal, variant, unknown_fields="drop")
            except LiteralValueError:
                continue
            return _hash_form(literal, variant)
    return literal


def _cache_key(py_type: Any) -> tuple[Any, str]:
    # typing compares unions as sets (Union[int, float] == Union[float, int]), but the
    # declared order decides which variant encodes a value, so the repr joins the key.
    return (py_type, repr(py_type))


def _normalize(py_type: Any) -> Any:
    return type(None) if py_type is None else py_type


def _same_type(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # exotic annotations may refuse comparison
        return a is b


def _known_reason(py_type: Any) -> str:
    """A specific reason for types people often try."""
    if py_type is Any:
        return (
            "typing.Any says nothing about the values, so they can be neither checked nor "
            "stored safely; use a concrete type, or flytepath_airflow.types.JSON for "
            "free-form JSON"
        )
    if isinstance(py_type, (str, typing.ForwardRef)):
        return (
            "it is a string (forward) annotation; resolve annotations with "
            "typing.get_type_hints(fn, include_extras=True) before asking for their type"
        )
    if isinstance(py_type, TypeVar):
        return "it is a type variable; use the concrete type"
    origin = typing.get_origin(py_type) or py_type
    if origin is tuple:
        return "tuples are not supported; use list[T] for a sequence or a dataclass for a record"
    if origin in (set, frozenset):
        return "sets are not supported; use list[T]"
    return ""
