"""`@dynamic`: a task whose body builds a workflow graph at run time, from real values.

    @dynamic(max_levels=4)
    def fan_out(n: int) -> list[int]:
        return [square(x=i) for i in range(n)]     # n is a real int here

In a workflow a dynamic task is called like a task and compiles to a node of kind
"dynamic". When that node runs, its body runs with the real input values; every task,
map_task, conditional and subworkflow it calls becomes a node of a generated graph that
is compiled and type-checked like a workflow (`sdk.compiler.compile_dynamic`), then
run node by node. Calling a dynamic task inside another dynamic body is not supported.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload

from typing_extensions import Unpack

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.models import DynamicOptions, TaskSpec, WorkflowSpec
from flytepath_airflow.sdk.task import F, PythonTask, TaskOptions, check_options


class DynamicOptionsDict(TaskOptions, total=False):
    """The options of `@dynamic`: those of `@task`, plus `max_levels`."""

    max_levels: int


DYNAMIC_OPTIONS = tuple(DynamicOptionsDict.__annotations__)
"""The option names `@dynamic` accepts."""
DEFAULT_MAX_LEVELS = 8


class DynamicTask(PythonTask):
    """A Python function decorated with `@dynamic`."""

    KIND = "dynamic"

    @property
    def max_levels(self) -> int:
        """How deep (in nodes) the generated graph may be."""
        value = self.options.get("max_levels", DEFAULT_MAX_LEVELS)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
            raise CompileError(
                f"dynamic task '{self.name}' ({self.location}): max_levels must be an int "
                f"from 1 to 64, got {value!r}."
            )
        return value

    def build_graph(self, values: dict[str, Any], *, parent: WorkflowSpec,
                    node_id: str) -> WorkflowSpec:
        """Run the body with real input values and compile the graph it builds.

        This is how the runtime runs a dynamic node (`runtime.executor.DynamicBody`): it
        never imports the compiler itself.

        :param values: the node's inputs as Python values.
        :param parent: the workflow the dynamic node belongs to.
        :param node_id: the dynamic node's id in `parent`.
        """
        # Function-level: the compiler imports this module (a cycle inside the SDK).
        from flytepath_airflow.sdk.compiler import compile_dynamic

        return compile_dynamic(self, values, parent=parent, node_id=node_id)

    def to_spec(self) -> TaskSpec:
        """Compile into a TaskSpec of kind "dynamic" (options are validated like @task's)."""
        options = {k: v for k, v in self.options.items() if k != "max_levels"}
        base = PythonTask(self.fn, options).to_spec()
        return base.model_copy(update={
            "kind": "dynamic", "dynamic": DynamicOptions(max_levels=self.max_levels),
        })


@overload
def dynamic(_fn: F) -> DynamicTask: ...


@overload
def dynamic(_fn: None = None,
            **options: Unpack[DynamicOptionsDict]) -> Callable[[F], DynamicTask]: ...


def dynamic(_fn: Any = None, **options: Unpack[DynamicOptionsDict]) -> Any:
    """Declare a dynamic workflow: a task whose body calls tasks with real input values.

    Args:
        max_levels: the deepest generated graph allowed (longest chain of nodes, 1-64,
            default 8); on Airflow the graph runs level by level in that many steps.
        **options: the options of @task (cache, cache_version, retries, timeout,
            requests, limits, container_image, environment, secret_requests, ...); they
            apply to the body's own execution.
    """
    check_options("@dynamic", options, DYNAMIC_OPTIONS)

    def wrap(fn: Callable[..., Any]) -> DynamicTask:
        if not callable(fn):
            raise CompileError(f"@dynamic decorates a function, got {fn!r}")
        return DynamicTask(fn, dict(options))

    if _fn is not None:
        return wrap(_fn)
    return wrap


__all__ = ["DynamicTask", "dynamic"]
