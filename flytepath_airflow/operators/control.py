"""`FlytePathControlOperator`: the control-flow steps of a run, inside the Airflow task.

These steps run no user code, only `runtime.control` functions over what upstream nodes
published, so they run in the task's own process on the worker, whatever the runner:

- "decide": a conditional's branch node picks its case (`.fail` fails the run with the
  message); nodes of the other cases skip themselves.
- "merge": a conditional's outputs, from whichever case ran.
- "map_fanout": checks a map node's lists and returns the element indices that the mapped
  task expands over (refusing more than Airflow's `[core] max_map_length`, ADR 0013).
- "map_collect": a map node's outputs from its elements (min_success_ratio applies).
- "dynamic_plan": the ids of level `level` of the graph a dynamic node built.
- "dynamic_collect": a dynamic node's outputs from that graph's run.

A step that finds its node's case not taken (or its dynamic node never built a graph)
skips; a user error fails without retry.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from flytepath_airflow.operators.node import FlytePathNodeMixin, NodeArgs

STEPS = ("decide", "merge", "map_fanout", "map_collect", "dynamic_plan", "dynamic_collect")


class FlytePathControlOperator(FlytePathNodeMixin, BaseOperator):
    """Run one control-flow step of a FlytePath node in the task's process.

    :param step: one of STEPS.
    :param level: for "dynamic_plan", the level of the generated graph.
    :param kwargs: BaseOperator arguments; `flytepath_node`, `spec_uri`, `spec_version`,
        `input_names`, `store_root` and `guarded` are the node's `NodeArgs`.
    """

    ui_color = "#f3ecfb"

    def __init__(
        self,
        *,
        step: str,
        flytepath_node: str,
        spec_uri: str | None,
        spec_version: str,
        input_names: tuple[str, ...] = (),
        store_root: str | None = None,
        guarded: bool = False,
        level: int = 0,
        **kwargs: Any,
    ) -> None:
        if step not in STEPS:
            raise ValueError(f"unknown control step {step!r}; known: {', '.join(STEPS)}")
        super().__init__(**kwargs)
        self._init_node(NodeArgs(flytepath_node=flytepath_node, spec_uri=spec_uri,
                                 spec_version=spec_version, input_names=input_names,
                                 store_root=store_root, guarded=guarded))
        self.step = step
        self.level = level

    def execute(self, context: Any) -> Any:
        invocation = self.node_invocation(context)
        return self.execution().run_control_step(invocation, self.step, self.level,
                                                 _max_map_length, self.log)


def _max_map_length() -> int:
    from airflow.sdk import conf

    return int(conf.getint("core", "max_map_length", fallback=1024))


class FlytePathGuardedEmptyOperator(FlytePathNodeMixin, BaseOperator):
    """A converted DAG's EmptyOperator inside a conditional case: does nothing, but runs.

    Airflow marks a real EmptyOperator successful without running it, so it could not skip
    itself when its case is not taken; this one checks the conditional's decision and
    skips (AirflowSkipException) unless its case was taken.

    :param kwargs: BaseOperator arguments; `flytepath_node`, `spec_uri`, `spec_version`,
        `input_names` and `store_root` are the node's `NodeArgs` (always guarded).
    """

    ui_color = "#e8f7e4"

    def __init__(self, *, flytepath_node: str, spec_uri: str | None, spec_version: str,
                 input_names: tuple[str, ...] = (), store_root: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._init_node(NodeArgs(flytepath_node=flytepath_node, spec_uri=spec_uri,
                                 spec_version=spec_version, input_names=input_names,
                                 store_root=store_root, guarded=True))

    def execute(self, context: Any) -> None:
        self.node_invocation(context)
