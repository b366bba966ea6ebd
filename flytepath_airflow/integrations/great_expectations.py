"""Great Expectations 1.x: expectation suites checked at task boundaries, or as a task.

Three ways in, one validation underneath (`gx_validate`):

- `Annotated[pd.DataFrame, GXValidate(suite)]` (or `Annotated[File, GXValidate(...)]`) on
  a task input or output: the value is validated after it is loaded or before it is
  published. A failure fails the task as a user error naming the input or output, the
  suite and the failing expectations; `on_failure="report"` logs it and lets the value
  through.
- `gx_validate(frame_or_file, suite)` inside a task body returns a `GXResult`.
- `gx_task(name=..., suite=...)` is a task of its own: it takes `dataset` and returns the
  `GXResult` as a typed output, so a workflow can branch on `result.success`.

A suite is an `ExpectationSuite` built in code, a function returning one, or the name of
a suite in a GX project folder (`project_dir`, relative to the file that declares it).
Validation runs in an ephemeral GX context, so nothing is written to a project folder. The
suite's identity (its name and a digest of its expectations) is part of the spec's type,
so a changed suite is a new version.

Great Expectations comes with the `[great-expectations]` extra and is imported only when a
suite is loaded or a value validated (it takes seconds to import).

Must not import at module level: pandas, great_expectations (nor airflow, kubernetes).
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import logging
import math
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from flytepath_airflow.errors import CompileError, FlytePathUserError, LiteralValueError, require
from flytepath_airflow.integrations._decks import STYLE, attach_deck, table
from flytepath_airflow.ir.models import BlobType, DataFrameType, LiteralType, ValidationRef
from flytepath_airflow.sdk.task import PythonTask
from flytepath_airflow.types import File, TypeEngine, TypeTransformer, UnsupportedTypeError
from flytepath_airflow.types.context import BlobContext
from flytepath_airflow.types.markers import annotated_parts
from flytepath_airflow.types.render import describe_value

__all__ = [
    "LIBRARY",
    "GXExpectationResult",
    "GXResult",
    "GXStatistics",
    "GXValidate",
    "GXValidateTransformer",
    "gx_task",
    "gx_validate",
    "register",
    "render_gx_result_html",
]

logger = logging.getLogger(__name__)

LIBRARY = "great_expectations"
"""The `ValidationRef.library` of expectation suites."""

EXTRA = "great-expectations"
_PURPOSE = "Validating data with Great Expectations"
_FILE_READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".json": "read_json"}
_SHOWN_EXAMPLES = 5
_LOADED = "the value as loaded"  # the input side: the executor adds which input of which task
_gx_lock = threading.Lock()  # GX contexts are not safe to use from several threads at once
_ephemeral: Any = None
_suites: dict[tuple[Any, ...], tuple[Any, Any]] = {}  # marker key -> (source, loaded suite)
_asset_numbers = itertools.count()

SuiteSource = Any
"""An `ExpectationSuite`, a function returning one, or a suite name in `project_dir`."""


# --------------------------------------------------------------------------- result types


@dataclass
class GXStatistics:
    """How many expectations were evaluated, and how many passed.

    :param evaluated: expectations evaluated.
    :param successful: expectations met.
    :param unsuccessful: expectations not met.
    :param success_percent: successful / evaluated, in percent (100 when none were).
    """

    evaluated: int
    successful: int
    unsuccessful: int
    success_percent: float


@dataclass
class GXExpectationResult:
    """One expectation's outcome.

    :param expectation: the expectation type (`expect_column_values_to_be_between`).
    :param column: the column it checks ("" for table-level expectations).
    :param success: whether it was met.
    :param unexpected_count: rows that did not meet it (0 when not row-based).
    :param examples: a few unexpected values, as text.
    :param arguments: its other arguments (min_value, ...), as JSON text.
    """

    expectation: str
    column: str
    success: bool
    unexpected_count: int = 0
    examples: list[str] = field(default_factory=list)
    arguments: str = "{}"


@dataclass
class GXResult:
    """A validation result, as a typed output.

    :param suite: the suite's name.
    :param success: whether every expectation was met.
    :param statistics: counts of evaluated and met expectations.
    :param results: one entry per expectation, failures first.
    """

    suite: str
    success: bool
    statistics: GXStatistics
    results: list[GXExpectationResult] = field(default_factory=list)

    def failures(self) -> list[GXExpectationResult]:
        """The expectations that were not met."""
        return [r for r in self.results if not r.success]

    def summary(self) -> str:
        """One line per failing expectation (empty when all passed)."""
        lines = []
        for r in self.failures():
            target = f"column {r.column!r}" if r.column else "the table"
            seen = f", e.g. {', '.join(r.examples)}" if r.examples else ""
            count = f": {r.unexpected_count} unexpected value(s){seen}"
            if not r.unexpected_count:
                count = ""
            lines.append(f"  {r.expectation} on {target} {r.arguments}{count}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- the marker


class GXValidate:
    """Marker: validate this DataFrame or File against an expectation suite.

    `Annotated[pd.DataFrame, GXValidate(orders_suite)]`,
    `Annotated[File, GXValidate("orders", project_dir="gx_project")]`.

    :param suite: an `ExpectationSuite`, a function returning one (called once, when first
        needed), or the name of a suite in `project_dir`.
    :param project_dir: a GX project folder (the folder holding `gx/`, or `gx/` itself),
        relative to the file that declares the marker; needed when `suite` is a name.
    :param on_failure: "fail" (the default) fails the task as a user error; "report" logs
        the failing expectations and lets the value through.
    :param file_format: how to read a File ("csv", "parquet", "json"); by default from the
        file's extension.
    """

    def __init__(
        self,
        suite: SuiteSource,
        *,
        project_dir: str | os.PathLike[str] | None = None,
        on_failure: Literal["fail", "report"] = "fail",
        file_format: Literal["csv", "parquet", "json"] | None = None,
    ) -> None:
        if on_failure not in ("fail", "report"):
            raise CompileError(
                f"GXValidate(on_failure={on_failure!r}): use \"fail\" or \"report\"."
            )
        if file_format is not None and f".{file_format}" not in _FILE_READERS:
            raise CompileError(
                f"GXValidate(file_format={file_format!r}): use one of "
                f"{', '.join(k[1:] for k in _FILE_READERS)}."
            )
        caller = sys._getframe(1)
        while caller.f_back is not None and caller.f_globals.get("__name__") == __name__:
            caller = caller.f_back  # gx_task builds markers for its caller
        # String annotations (`from __future__ import annotations`) are evaluated by
        # typing in a "<string>" frame that still has the declaring module's globals.
        declaring_file = caller.f_globals.get("__file__") or caller.f_code.co_filename
        if caller.f_code.co_filename == declaring_file:
            self.declared_at = f"{declaring_file}:{caller.f_lineno}"
        else:
            self.declared_at = str(declaring_file)
        if isinstance(suite, str) and project_dir is None:
            raise CompileError(
                f"GXValidate({suite!r}) at {self.declared_at} names a suite but no "
                f"project_dir; pass project_dir='path/to/gx_project', or build the "
                f"ExpectationSuite in code."
            )
        if project_dir is not None and not os.path.isabs(project_dir):
            base = os.path.dirname(os.path.abspath(declaring_file))
            project_dir = os.path.join(base, project_dir)
        self.suite_source = suite
        self.project_dir = None if project_dir is None else os.fspath(project_dir)
        self.on_failure = on_failure
        self.file_format = file_format
        self.at_boundary = True
        self._suite: Any = None

    def _key(self) -> tuple[Any, ...]:
        source = self.suite_source
        return (source if isinstance(source, str) else id(source), self.project_dir,
                self.on_failure, self.file_format, self.at_boundary)

    def __eq__(self, other: object) -> bool:
        # String annotations build a new marker each time they are evaluated; equal
        # markers let the engine reuse the type it worked out for the first one.
        return isinstance(other, GXValidate) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def suite(self) -> Any:
        """The `ExpectationSuite` (loaded once per process for equal markers).

        :raises FlytePathUserError: it cannot be loaded; the message says where it was declared.
        """
        if self._suite is None:
            key = self._key()[:2]
            with _gx_lock:
                cached = _suites.get(key)
            if cached is None or cached[0] is not self.suite_source:
                cached = (self.suite_source, _load_suite(self))
                with _gx_lock:
                    _suites[key] = cached
            self._suite = cached[1]
        return self._suite

    def ref(self) -> ValidationRef:
        """The suite's identity in the spec: its name and a digest of its expectations."""
        suite = self.suite()
        return ValidationRef(library=LIBRARY, name=str(suite.name), digest=suite_digest(suite))

    def __repr__(self) -> str:
        name = self.suite_source if isinstance(self.suite_source, str) else getattr(
            self.suite_source, "name", getattr(self.suite_source, "__name__", "suite"))
        return f"GXValidate({name!r}, on_failure={self.on_failure!r})"


def _gx() -> Any:
    return require("great_expectations", EXTRA, _PURPOSE)


def _load_suite(marker: GXValidate) -> Any:
    gx = _gx()
    source = marker.suite_source
    where = f"GXValidate at {marker.declared_at}"
    if isinstance(source, str):
        root = marker.project_dir or ""
        if os.path.basename(os.path.normpath(root)) == "gx":
            root = os.path.dirname(os.path.normpath(root))
        if not os.path.isdir(os.path.join(root, "gx")):
            raise FlytePathUserError(
                f"{where}: the GX project folder {root!r} has no gx/ folder, so suite "
                f"{source!r} cannot be loaded. Point project_dir at the folder that holds "
                f"gx/ (the one `gx.get_context(mode='file', project_root_dir=...)` uses)."
            )
        try:
            with _gx_lock:
                context = gx.get_context(mode="file", project_root_dir=root)
                return context.suites.get(source)
        except Exception as exc:
            raise FlytePathUserError(
                f"{where}: suite {source!r} cannot be loaded from the GX project {root!r}: "
                f"{type(exc).__name__}: {exc}. Check the suite's name (a JSON file under "
                f"gx/expectations/) and that the project opens with this GX version."
            ) from None
    suite = source
    if callable(source) and not isinstance(source, gx.ExpectationSuite):
        try:
            suite = source()
        except Exception as exc:
            raise FlytePathUserError(
                f"{where}: the function {getattr(source, '__qualname__', source)!r} that "
                f"builds the suite raised {type(exc).__name__}: {exc}."
            ) from exc
    if not isinstance(suite, gx.ExpectationSuite):
        raise FlytePathUserError(
            f"{where}: expected an ExpectationSuite, a function returning one, or a suite "
            f"name with project_dir; got {describe_value(suite)}."
        )
    return suite


def _without_ids(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _without_ids(v) for k, v in doc.items() if k not in ("id", "meta")}
    if isinstance(doc, list):
        return [_without_ids(v) for v in doc]
    return doc


def suite_digest(suite: Any) -> str:
    """sha256 of a suite's name and expectations (ids and GX's own metadata left out, so a
    suite loaded from a project and the same one built in code agree)."""
    doc = _without_ids(suite.to_json_dict())
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


# ----------------------------------------------------------------------------- validation


def _frame_of(data: Any, file_format: str | None, what: str) -> Any:
    pd = require("pandas", EXTRA, _PURPOSE)
    if isinstance(data, pd.DataFrame):  # type: ignore[attr-defined]
        return data
    if isinstance(data, File):
        path = data.path
        ext = f".{file_format}" if file_format else os.path.splitext(path)[1].lower()
        reader = _FILE_READERS.get(ext)
        if reader is None:
            raise LiteralValueError(
                f"{what}: cannot tell how to read {os.path.basename(path)!r} for Great "
                f"Expectations; give GXValidate(file_format=...) one of "
                f"{', '.join(k[1:] for k in _FILE_READERS)}."
            )
        try:
            return getattr(pd, reader)(path)
        except Exception as exc:
            raise LiteralValueError(
                f"{what}: {os.path.basename(path)!r} cannot be read as {ext[1:]} "
                f"({type(exc).__name__}: {exc})."
            ) from None
    raise LiteralValueError(
        f"{what}: Great Expectations validates a pandas DataFrame or a File, got "
        f"{describe_value(data)}."
    )


def gx_validate(
    data: Any,
    suite: SuiteSource | GXValidate,
    *,
    project_dir: str | None = None,
    file_format: Literal["csv", "parquet", "json"] | None = None,
) -> GXResult:
    """Validate a DataFrame or File against a suite in an ephemeral GX context.

    :param data: a pandas DataFrame, or a File of CSV, Parquet or JSON.
    :param suite: an `ExpectationSuite`, a function returning one, a suite name (with
        `project_dir`), or a `GXValidate` marker.
    :param project_dir: the GX project folder holding a named suite.
    :param file_format: how to read a File (default: from its extension).
    :returns: the result; never raises for failing expectations.
    """
    marker = suite if isinstance(suite, GXValidate) else GXValidate(
        suite, project_dir=project_dir, file_format=file_format)
    return _validate(data, marker, "data")


def _validate(data: Any, marker: GXValidate, what: str) -> GXResult:
    frame = _frame_of(data, marker.file_format, what)
    suite = marker.suite()
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    global _ephemeral
    with _gx_lock:
        if _ephemeral is None:
            # One context per process: each one makes a temporary docs folder.
            _ephemeral = gx.get_context(mode="ephemeral")
            _ephemeral.variables.progress_bars = ProgressBarsConfig(
                globally=False, metric_calculations=False)
            _ephemeral.data_sources.add_pandas("flytepath")
        source = _ephemeral.data_sources.get("flytepath")
        asset = source.add_dataframe_asset(f"data-{next(_asset_numbers)}")
        try:
            batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
                batch_parameters={"dataframe": frame})
            outcome = batch.validate(suite, result_format="SUMMARY")
        finally:
            source.delete_asset(asset.name)
    return _result_of(outcome, str(suite.name))


def _text(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return repr(value)[:80]


def _result_of(outcome: Any, suite_name: str) -> GXResult:
    stats = outcome.statistics or {}
    results = []
    for item in outcome.results:
        config = item.expectation_config
        kwargs = {k: v for k, v in dict(config.kwargs).items() if k not in ("batch_id", "column")}
        details = item.result or {}
        results.append(GXExpectationResult(
            expectation=str(config.type),
            column=str(config.kwargs.get("column") or ""),
            success=bool(item.success),
            unexpected_count=int(details.get("unexpected_count") or 0),
            examples=[_text(v) for v in (details.get("partial_unexpected_list") or [])
                      [:_SHOWN_EXAMPLES]],
            arguments=json.dumps(kwargs, sort_keys=True, default=repr),
        ))
    results.sort(key=lambda r: r.success)
    percent = stats.get("success_percent")
    return GXResult(
        suite=suite_name,
        success=bool(outcome.success),
        statistics=GXStatistics(
            evaluated=int(stats.get("evaluated_expectations") or 0),
            successful=int(stats.get("successful_expectations") or 0),
            unsuccessful=int(stats.get("unsuccessful_expectations") or 0),
            success_percent=100.0 if percent is None or percent != percent else float(percent),
        ),
        results=results,
    )


def _check_at_boundary(value: Any, marker: GXValidate, what: str) -> None:
    if not marker.at_boundary:
        return
    result = _validate(value, marker, what)
    side = "input" if what == _LOADED else what
    attach_deck(f"Great Expectations {result.suite} ({side})",
                lambda: render_gx_result_html(result))
    if result.success:
        logger.info("%s passes Great Expectations suite %s", what, result.suite)
        return
    message = (
        f"{what} does not pass Great Expectations suite {result.suite!r} "
        f"({result.statistics.unsuccessful} of {result.statistics.evaluated} expectations "
        f"failed):\n{result.summary()}"
    )
    if marker.on_failure == "report":
        logger.warning("%s\n(on_failure='report': the value is passed on)", message)
        return
    raise LiteralValueError(
        message + "\nFix the data or the suite, or use GXValidate(..., on_failure='report') "
        "to only report."
    )


# ------------------------------------------------------------------------ the transformer


def _marker_of(py_type: Any) -> GXValidate | None:
    _, metadata = annotated_parts(py_type)
    return next((m for m in metadata if isinstance(m, GXValidate)), None)


def _inner_type(py_type: Any) -> Any:
    base, metadata = annotated_parts(py_type)
    rest = tuple(m for m in metadata if not isinstance(m, GXValidate))
    if not rest:
        return base
    return Annotated.__class_getitem__((base, *rest))  # type: ignore[attr-defined]


class GXValidateTransformer(TypeTransformer[Any]):
    """`Annotated[T, GXValidate(...)]` for a DataFrame or File `T`: T's storage, plus the
    suite's identity in the type and validation at both ends."""

    name = "great_expectations.GXValidate"

    def matches(self, py_type: Any) -> bool:
        """An Annotated type with a GXValidate marker."""
        return _marker_of(py_type) is not None

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """The inner type's literal type with the suite's `ValidationRef` added."""
        marker = _marker_of(py_type)
        assert marker is not None
        inner = engine.to_literal_type(_inner_type(py_type))
        if not isinstance(inner, (DataFrameType, BlobType)) or (
            isinstance(inner, BlobType) and inner.dimensionality != "file"
        ):
            raise UnsupportedTypeError(
                py_type, "GXValidate applies to a pandas DataFrame or a File only")
        doc = inner.model_dump()
        doc["validation"] = (*inner.validation, marker.ref())
        return type(inner).model_validate(doc)

    def to_literal(
        self, value: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
    ) -> Any:
        """Validate the value, then store it as the inner type would."""
        marker = _marker_of(py_type)
        assert marker is not None
        inner = _inner_type(py_type)
        transformer, matched = engine.get_transformer(inner)
        _check_at_boundary(value, marker, f"output {name!r}")
        return transformer.to_literal(value, matched, engine, ctx, name)

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> Any:
        """Load the value as the inner type would, then validate it."""
        marker = _marker_of(py_type)
        assert marker is not None
        transformer, matched = engine.get_transformer(_inner_type(py_type))
        value = transformer.to_python(literal, matched, engine, ctx)
        _check_at_boundary(value, marker, _LOADED)
        return value


def register(engine: TypeEngine) -> None:
    """Entry point of the `flytepath.plugins` group: add the GXValidate transformer."""
    engine.register(GXValidateTransformer())


# ------------------------------------------------------------------------------- the task


class GXTask(PythonTask):
    """A task made by `gx_task`: validates its `dataset` input and returns a GXResult."""

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any], declared_at: str) -> None:
        super().__init__(fn, options)
        self._declared_at = declared_at

    @property
    def location(self) -> str:
        """Where `gx_task(...)` was called."""
        return self._declared_at

    def to_spec(self) -> Any:
        """The task's spec, once it is known workers can import it by its name."""
        module = sys.modules.get(self.fn.__module__)
        if getattr(module, self.fn.__name__, None) is not self:
            raise CompileError(
                f"gx_task(name={self.fn.__name__!r}) ({self.location}) must be assigned to a "
                f"module-level variable of the same name, so workers can import it: "
                f"{self.fn.__name__} = gx_task(name={self.fn.__name__!r}, ...)."
            )
        return super().to_spec()


def gx_task(
    name: str,
    suite: SuiteSource,
    *,
    project_dir: str | None = None,
    data: Literal["dataframe", "file"] = "dataframe",
    file_format: Literal["csv", "parquet", "json"] | None = None,
    on_failure: Literal["report", "fail"] = "report",
    retries: int = 0,
) -> PythonTask:
    """A task that validates its `dataset` input against a suite and returns a `GXResult`.

    Assign it at module level to a variable of the same name (workers import it by name):
    `check_orders = gx_task(name="check_orders", suite=orders_suite)`; call it in a
    workflow as `check_orders(dataset=frame)`.

    :param name: the task's name, and the module-level variable that holds it.
    :param suite: an `ExpectationSuite`, a function returning one, or a suite name in
        `project_dir`.
    :param project_dir: the GX project folder of a named suite (relative to this file).
    :param data: "dataframe" for a pandas DataFrame input, "file" for a File.
    :param file_format: how to read a File (default: from its extension).
    :param on_failure: "report" (the default) returns the failing result; "fail" fails the
        task as a user error after building the result.
    :param retries: retries for system errors.
    """
    if not name.isidentifier():
        raise CompileError(f"gx_task(name={name!r}): the name must be a Python identifier.")
    if data not in ("dataframe", "file"):
        raise CompileError(f"gx_task(data={data!r}): use \"dataframe\" or \"file\".")
    if on_failure not in ("report", "fail"):
        raise CompileError(f"gx_task(on_failure={on_failure!r}): use \"report\" or \"fail\".")
    caller = sys._getframe(1)
    marker = GXValidate(suite, project_dir=project_dir, file_format=file_format)
    marker.at_boundary = False  # the task body validates, and returns the result
    if data == "dataframe":
        pd = require("pandas", EXTRA, _PURPOSE)
        data_type: Any = pd.DataFrame  # type: ignore[attr-defined]
    else:
        data_type = File

    def validate(dataset: Any) -> GXResult:
        result = _validate(dataset, marker, "input 'dataset'")
        attach_deck(f"Great Expectations {result.suite}", lambda: render_gx_result_html(result))
        if on_failure == "fail" and not result.success:
            raise FlytePathUserError(
                f"dataset does not pass Great Expectations suite {result.suite!r} "
                f"({result.statistics.unsuccessful} of {result.statistics.evaluated} "
                f"expectations failed):\n{result.summary()}"
            )
        return result

    validate.__name__ = validate.__qualname__ = name
    validate.__module__ = caller.f_globals.get("__name__", "__main__")
    validate.__doc__ = "Validate dataset against a Great Expectations suite; return the result."
    validate.__annotations__ = {
        "dataset": Annotated[data_type, marker],  # carries the suite into the spec's version
        "return": GXResult,
    }
    return GXTask(validate, {"retries": retries},
                  f"{caller.f_code.co_filename}:{caller.f_lineno}")


def render_gx_result_html(result: GXResult) -> str:
    """An HTML table of a validation result (self-contained: no scripts, no remote assets).

    GX's own Data Docs pages load Bootstrap, jQuery and Vega from CDNs, so they show blank
    offline and in a locked-down UI; this renders the same facts without them.
    """
    status = "passed" if result.success else "failed"
    rows = table(
        ["", "expectation", "column", "arguments", "unexpected", "examples"],
        (
            ("ok" if r.success else "bad",
             ["✓" if r.success else "✗", r.expectation, r.column, r.arguments,
              str(r.unexpected_count), ", ".join(r.examples)])
            for r in result.results
        ),
    )
    s = result.statistics
    return (
        f"<section class='flytepath-report'>{STYLE}"
        f"<h3>Great Expectations suite {html.escape(result.suite)}: {status}</h3>"
        f"<p>{s.successful} of {s.evaluated} expectations met ({s.success_percent:.1f}%)</p>"
        f"{rows}</section>"
    )
