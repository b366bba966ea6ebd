"""Python signatures -> typed interfaces, following Flyte's naming conventions.

Both the SDK (at compile time) and the runtime (when a task runs) read signatures through
this module, so the two always agree on a function's inputs and outputs.

Inputs are the function's parameters (keyword-only at call sites). Outputs come from the
return annotation: a `typing.NamedTuple` names them, a `tuple[...]` gives `o0, o1, ...`,
any other single type gives `o0`, and `None` gives no outputs.

Must not import: stores, runtime, sdk, airflow, kubernetes.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from typing import Any, get_args, get_origin

import docstring_parser

from flytepath_airflow.errors import CompileError, UnsupportedTypeError
from flytepath_airflow.ir.models import TypedInterface, Variable


@dataclass(frozen=True)
class PythonInterface:
    """The Python view of an interface: ordered names -> Python types, and defaults."""

    inputs: dict[str, Any]
    defaults: dict[str, Any]
    outputs: dict[str, Any]
    output_tuple: type | None
    """The NamedTuple class of the outputs, when the return annotation is one."""
    multiple_outputs: bool


def _is_namedtuple(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields")


def describe_callable(fn: Any) -> str:
    """`file:line` where a function is defined (best effort)."""
    try:
        return f"{inspect.getsourcefile(fn)}:{inspect.getsourcelines(fn)[1]}"
    except (OSError, TypeError):
        return getattr(fn, "__qualname__", repr(fn))


def python_interface(fn: Any, kind: str = "task") -> PythonInterface:
    """Read the annotated signature of `fn`; every parameter and the return need a type."""
    where = describe_callable(fn)
    name = getattr(fn, "__qualname__", "?")
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise CompileError(
            f"{kind} '{name}' ({where}): its type annotations cannot be evaluated ({exc}). "
            "Import every type the annotations name at module level."
        ) from None
    sig = inspect.signature(fn)
    inputs: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for param in sig.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise CompileError(
                f"{kind} '{name}' ({where}): *args and **kwargs are not supported; "
                "declare each input as a named, annotated parameter."
            )
        if param.name not in hints:
            raise CompileError(
                f"{kind} '{name}' ({where}): input '{param.name}' has no type annotation. "
                f"Annotate it, e.g. `{param.name}: int`."
            )
        inputs[param.name] = hints[param.name]
        if param.default is not param.empty:
            defaults[param.name] = param.default
    if "return" not in hints:
        raise CompileError(
            f"{kind} '{name}' ({where}): the return type is not annotated. "
            "Annotate it (use `-> None` when there are no outputs)."
        )
    ret = hints["return"]
    outputs: dict[str, Any] = {}
    output_tuple = None
    multiple = False
    if ret is None or ret is type(None):
        pass
    elif _is_namedtuple(ret):
        ann = typing.get_type_hints(ret, include_extras=True)
        outputs = {f: ann[f] for f in ret._fields}
        output_tuple = ret
        multiple = True
    elif get_origin(ret) in (tuple, typing.Tuple):  # noqa: UP006 - match both spellings
        args = get_args(ret)
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            raise CompileError(
                f"{kind} '{name}' ({where}): a variable-length tuple return cannot be typed; "
                "return a list[...] or a fixed tuple[...] instead."
            )
        outputs = {f"o{i}": a for i, a in enumerate(args)}
        multiple = True
    else:
        outputs = {"o0": ret}
    return PythonInterface(inputs, defaults, outputs, output_tuple, multiple)


def parse_docstring(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """Split a docstring into its description and per-parameter descriptions.

    Reads the Sphinx (`:param x: text`), Google (`Args:`), NumPy and Epydoc styles through
    docstring_parser. The description is the summary and the body, without the parameter,
    return and raise sections.

    :param doc: the docstring, or None.
    """
    if not doc:
        return None, {}
    parsed = docstring_parser.parse(doc)
    sep = "\n\n" if parsed.blank_after_short_description else "\n"
    parts = [p for p in (parsed.short_description, parsed.long_description) if p]
    params = {p.arg_name: p.description for p in parsed.params if p.description}
    return sep.join(parts) or None, params


def typed_interface(
    fn: Any, py: PythonInterface, engine: Any, kind: str = "task"
) -> TypedInterface:
    """Turn a PythonInterface into the spec's TypedInterface through the type engine."""
    name = getattr(fn, "__qualname__", "?")
    where = describe_callable(fn)
    _, param_docs = parse_docstring(getattr(fn, "__doc__", None))

    def literal_type(tp: Any, what: str) -> Any:
        try:
            return engine.to_literal_type(tp)
        except UnsupportedTypeError as exc:
            raise UnsupportedTypeError(f"{kind} '{name}' {what} ({where}): {exc}") from None

    inputs = []
    for arg, tp in py.inputs.items():
        lt = literal_type(tp, f"input '{arg}'")
        required = arg not in py.defaults
        default = None
        if not required:
            try:
                default = engine.to_literal(py.defaults[arg], tp, None, arg)
            except Exception as exc:
                raise CompileError(
                    f"{kind} '{name}' input '{arg}' ({where}): its default "
                    f"{py.defaults[arg]!r} does not fit its type ({exc})."
                ) from None
        inputs.append(
            Variable(
                name=arg, type=lt, description=param_docs.get(arg), required=required,
                default=default,
            )
        )
    outputs = [
        Variable(name=out, type=literal_type(tp, f"output '{out}'"))
        for out, tp in py.outputs.items()
    ]
    return TypedInterface(inputs=tuple(inputs), outputs=tuple(outputs))


def split_outputs(py: PythonInterface, result: Any, name: str) -> dict[str, Any]:
    """Map a function's return value onto its output names."""
    if not py.outputs:
        return {}
    if not py.multiple_outputs:
        return {"o0": result}
    if not isinstance(result, tuple) or len(result) != len(py.outputs):
        raise TypeError(
            f"'{name}' declares {len(py.outputs)} outputs ({', '.join(py.outputs)}) "
            f"but returned {type(result).__name__}"
        )
    return dict(zip(py.outputs, result, strict=True))


def join_outputs(py: PythonInterface, values: dict[str, Any]) -> Any:
    """The inverse of split_outputs: build what a Python caller expects back."""
    if not py.outputs:
        return None
    if not py.multiple_outputs:
        return values["o0"]
    ordered = [values[n] for n in py.outputs]
    if py.output_tuple is not None:
        return py.output_tuple(*ordered)
    return tuple(ordered)


__all__ = [
    "PythonInterface",
    "describe_callable",
    "join_outputs",
    "parse_docstring",
    "python_interface",
    "split_outputs",
    "typed_interface",
]
