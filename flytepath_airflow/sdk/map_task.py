"""`map_task`: run a task once per element of its list inputs (Flyte's map task).

    squares = map_task(square)(x=numbers)                      # list[int] -> list[int]
    scaled = map_task(functools.partial(scale, factor=2.0))(x=numbers)
    maybe = map_task(risky, min_success_ratio=0.5)(x=numbers)  # list[Optional[int]]

Every keyword argument of the call is mapped and must be a list whose items fit the
task's input; several lists are mapped element-wise (they must have the same length).
Inputs fixed with `functools.partial` are passed unchanged to every element. The node id
is `map_<function name>` (then `map_<name>_2`, ... when repeated).

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import functools
from typing import Any

from flytepath_airflow.errors import CompileError, TypeMismatchError
from flytepath_airflow.ir.graph import map_outputs
from flytepath_airflow.ir.models import (
    BindingSpec,
    ListBinding,
    ListType,
    LiteralBinding,
    MapSpec,
    NodeSpec,
)
from flytepath_airflow.sdk.promise import Promise, TraceContext, active_trace, caller_location
from flytepath_airflow.sdk.task import PythonTask
from flytepath_airflow.types.casting import castability_error
from flytepath_airflow.types.render import render_type


class MapTask:
    """A task (or a `functools.partial` of one) mapped over list inputs.

    Build it with `map_task(...)`; call it inside a @workflow with keyword arguments.
    """

    def __init__(self, task: PythonTask, fixed: dict[str, Any], concurrency: int | None,
                 min_success_ratio: float, location: str) -> None:
        self.task = task
        self.fixed = fixed
        self.concurrency = concurrency
        self.min_success_ratio = min_success_ratio
        self.location = location

    @property
    def name(self) -> str:
        """The mapped task's name."""
        return self.task.name

    def __repr__(self) -> str:
        return f"<map_task {self.task.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        trace = active_trace()
        short = self.task.fn.__name__
        if trace is None:
            raise CompileError(
                f"map_task({short}) was called outside a @workflow ({caller_location()}). "
                "Call it inside a @workflow or a @dynamic body, or call the task itself in "
                "a loop."
            )
        location = caller_location()
        if args:
            raise CompileError(
                f"map_task({short}) was called with positional arguments at {location}; "
                "pass each mapped list as a keyword argument, e.g. "
                f"map_task({short})({', '.join(f'{n}=[...]' for n in self._free())})."
            )
        return _trace_map(trace, self, kwargs, location)

    def _free(self) -> list[str]:
        return [n for n in self.task.python_interface.inputs if n not in self.fixed]


def map_task(task_or_partial: Any, concurrency: int | None = None,
             min_success_ratio: float = 1.0) -> MapTask:
    """Map a task over list inputs: the task runs once per element.

    Args:
        task_or_partial: a @task, or `functools.partial(task, name=value, ...)` to fix
            inputs that are the same for every element.
        concurrency: at most this many elements run at once (None: no limit).
        min_success_ratio: the fraction of elements that must succeed, in (0, 1]. Below 1
            the outputs are `list[Optional[O]]`, with None where an element failed.

    Returns:
        A MapTask; call it inside a workflow with the lists to map over.
    """
    location = caller_location()
    fixed: dict[str, Any] = {}
    target = task_or_partial
    if isinstance(target, functools.partial):
        if target.args:
            raise CompileError(
                f"map_task at {location}: functools.partial fixes inputs by keyword only; "
                "write functools.partial(task, name=value)."
            )
        fixed = dict(target.keywords)
        target = target.func
    if not isinstance(target, PythonTask) or getattr(target, "KIND", "") != "task":
        raise CompileError(
            f"map_task at {location} needs a @task (or functools.partial of one), got "
            f"{target!r}. Decorate the function with @task; workflows and dynamic tasks "
            "cannot be mapped."
        )
    short = target.fn.__name__
    node = f"map_{short}"
    if isinstance(min_success_ratio, bool) or not isinstance(min_success_ratio, (int, float)) \
            or not 0 < min_success_ratio <= 1:
        raise CompileError(
            f"map_task node '{node}' ({location}): min_success_ratio must be in (0, 1], got "
            f"{min_success_ratio!r}. Use 1.0 to require every element, or e.g. 0.8 to "
            "accept up to 20% failed elements."
        )
    if concurrency is not None and (isinstance(concurrency, bool)
                                    or not isinstance(concurrency, int) or concurrency < 1):
        raise CompileError(
            f"map_task node '{node}' ({location}): concurrency must be a positive int or "
            f"None (no limit), got {concurrency!r}."
        )
    inputs = target.python_interface.inputs
    unknown = [k for k in fixed if k not in inputs]
    if unknown:
        raise CompileError(
            f"map_task node '{node}' ({location}): functools.partial fixes "
            f"{', '.join(map(repr, unknown))}, which task '{short}' does not have. Its "
            f"inputs are: {', '.join(inputs) or '(none)'}."
        )
    return MapTask(target, fixed, concurrency, float(min_success_ratio), location)


def _literal_length(binding: BindingSpec) -> int | None:
    if isinstance(binding, ListBinding):
        return len(binding.items)
    if isinstance(binding, LiteralBinding) and isinstance(binding.value, list):
        return len(binding.value)
    return None


def _trace_map(trace: TraceContext, mapped: MapTask, kwargs: dict[str, Any],
               location: str) -> Any:
    task = mapped.task
    short = task.fn.__name__
    spec = task.to_spec()
    if spec.kind != "python":
        raise CompileError(f"map_task({short}) at {location}: only Python tasks can be mapped.")
    trace.add_task(spec, location)
    node_id = trace.new_id(f"map_{short}")
    py_inputs = task.python_interface.inputs
    if not kwargs:
        raise CompileError(
            f"map_task node '{node_id}' ({location}) is given no list to map over. Pass "
            f"at least one input as a list, e.g. {short}s = map_task({short})("
            f"{next(iter(mapped._free()), 'x')}=[...])."
        )
    inputs: dict[str, BindingSpec] = {}
    for name, value in mapped.fixed.items():
        var = spec.interface.input(name)
        assert var is not None, "map_task() checks the partial's names"
        inputs[name] = trace.bind(
            value, var.type, py_inputs[name], what=f"map_task node '{node_id}' fixed input "
            f"'{name}'", location=location, castability_error=castability_error,
            render_type=render_type,
        )
    mapped_names: list[str] = []
    for name, value in kwargs.items():
        var = spec.interface.input(name)
        if name in mapped.fixed:
            raise CompileError(
                f"map_task node '{node_id}' ({location}): input '{name}' is fixed by "
                "functools.partial and passed again. Pass it in one place only."
            )
        if var is None:
            known = [v.name for v in spec.interface.inputs if v.name not in mapped.fixed]
            raise CompileError(
                f"map_task node '{node_id}' ({location}): task '{short}' has no input "
                f"'{name}'. Its inputs are: {', '.join(known) or '(none)'}."
            )
        what = f"map_task node '{node_id}' input '{name}'"
        hint = (f"map_task maps over lists: pass a list of {render_type(var.type)}, or fix "
                f"the value for every element with functools.partial({short}, {name}=...).")
        if isinstance(value, Promise):
            if not isinstance(value.type, ListType):
                raise TypeMismatchError(
                    f"{what} maps over {value.source_name}, which is "
                    f"{render_type(value.type)}, not a list ({location}). {hint}"
                )
            reason = castability_error(value.type.item, var.type)
            if reason is not None:
                raise TypeMismatchError(
                    f"{what}: the items of {value.source_name} are "
                    f"{render_type(value.type.item)} but task '{short}' input '{name}' "
                    f"expects {render_type(var.type)} ({location}): {reason}. Change the "
                    "annotation of one side, or insert a task that converts the list."
                )
            inputs[name] = value.ref
        elif isinstance(value, (list, tuple)):
            inputs[name] = trace.bind(
                list(value), ListType(item=var.type), list.__class_getitem__(py_inputs[name]),
                what=what, location=location, castability_error=castability_error,
                render_type=render_type,
            )
        else:
            raise TypeMismatchError(
                f"{what} is given {value!r}, which is not a list ({location}). {hint}"
            )
        mapped_names.append(name)
    lengths = {n: _literal_length(inputs[n]) for n in mapped_names}
    known_lengths = {n: k for n, k in lengths.items() if k is not None}
    if len(set(known_lengths.values())) > 1:
        shown = ", ".join(f"'{n}' has {k}" for n, k in known_lengths.items())
        raise CompileError(
            f"map_task node '{node_id}' ({location}) maps over lists of different lengths "
            f"({shown}). Lists are mapped element-wise, so they must have the same length."
        )
    missing = [v.name for v in spec.interface.inputs
               if v.required and v.name not in inputs]
    if missing:
        raise CompileError(
            f"map_task node '{node_id}' ({location}): task '{short}' needs input "
            f"{', '.join(map(repr, missing))}. Pass a list to map over, or fix it with "
            f"functools.partial({short}, {missing[0]}=...)."
        )
    outputs = map_outputs(spec, mapped.min_success_ratio)
    trace.add_node(NodeSpec(
        id=node_id, kind="map", task=spec.name, inputs=inputs,
        map=MapSpec(mapped=tuple(mapped_names), concurrency=mapped.concurrency,
                    min_success_ratio=mapped.min_success_ratio),
    ), location)
    return trace.outputs_of(node_id, outputs, location,
                            task.python_interface.multiple_outputs)


__all__ = ["MapTask", "map_task"]
