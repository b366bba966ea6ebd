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

from flytepath_airflow.operators.node import FlytePathNodeMixin, NodeInvocation

STEPS = ("decide", "merge", "map_fanout", "map_collect", "dynamic_plan", "dynamic_collect")


class FlytePathControlOperator(FlytePathNodeMixin, BaseOperator):
    """Run one control-flow step of a FlytePath node in the task's process.

    :param step: one of STEPS.
    :param level: for "dynamic_plan", the level of the generated graph.
    :param kwargs: as FlytePathNodeMixin, plus BaseOperator arguments.
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
        self._init_node(flytepath_node=flytepath_node, spec_uri=spec_uri,
                        spec_version=spec_version, input_names=input_names,
                        store_root=store_root, guarded=guarded)
        self.step = step
        self.level = level

    def execute(self, context: Any) -> Any:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from flytepath_airflow.errors import FlytePathUserError
        from flytepath_airflow.runtime.run import load_run_spec, prepare_run
        from flytepath_airflow.stores.blob import BlobStore

        invocation = self.node_invocation(context)
        if not BlobStore(invocation.root).exists(f"runs/{invocation.run_id}/inputs.json"):
            from flytepath_airflow.ir.spec_io import load_spec

            prepare_run(load_spec(invocation.spec_uri), invocation.inputs, invocation.root,
                        invocation.run_id, options=invocation.options, backend="airflow")
        spec = load_run_spec(invocation.run_id, invocation.root)
        from flytepath_airflow.runtime.control import GraphNotBuilt

        try:
            return self._step(spec, invocation)
        except GraphNotBuilt as exc:  # the dynamic node was skipped or failed upstream
            raise AirflowSkipException(str(exc)) from None
        except FlytePathUserError as exc:
            self.record_run_failure(invocation, str(exc), "user", final=True)
            raise AirflowFailException(str(exc)) from None

    def _step(self, spec: Any, inv: NodeInvocation) -> Any:

        from flytepath_airflow.runtime import control

        node_id, run_id, root = inv.node_id, inv.run_id, inv.root
        if self.step == "decide":
            case = control.decide_branch(spec, node_id, run_id, root)
            self.log.info("conditional %s took case %d", node_id, case)
            return {"case": case}
        if self.step == "merge":
            return control.merge_outputs(spec, node_id, run_id, root)
        if self.step == "map_fanout":
            size = control.fan_out_map(spec, node_id, run_id, root)
            limit = _max_map_length()
            if size > limit:
                raise control.ControlFlowError(
                    f"map node '{node_id}' has {size} elements but Airflow's [core] "
                    f"max_map_length is {limit}; raise it (AIRFLOW__CORE__MAX_MAP_LENGTH) "
                    "to at least the largest map you run, or split the input upstream."
                )
            self.log.info("map node %s: %d elements", node_id, size)
            return list(range(size))
        if self.step == "map_collect":
            pointer = control.collect_map(spec, node_id, run_id, root)
            self.log.info("map node %s: %s", node_id, control.describe(pointer))
            return pointer
        if self.step == "dynamic_plan":
            plan = control.read_dynamic_plan(run_id, node_id, root)
            levels = plan["levels"]
            return list(levels[self.level]) if self.level < len(levels) else []
        if self.step == "dynamic_collect":
            return control.collect_dynamic(spec, node_id, run_id, root)
        raise AssertionError(self.step)


def _max_map_length() -> int:
    from airflow.sdk import conf

    return int(conf.getint("core", "max_map_length", fallback=1024))


class FlytePathGuardedEmptyOperator(FlytePathNodeMixin, BaseOperator):
    """A converted DAG's EmptyOperator inside a conditional case: does nothing, but runs.

    Airflow marks a real EmptyOperator successful without running it, so it could not skip
    itself when its case is not taken; this one checks the conditional's decision and
    skips (AirflowSkipException) unless its case was taken.
    """

    ui_color = "#e8f7e4"

    def __init__(self, *, flytepath_node: str, spec_uri: str | None, spec_version: str,
                 input_names: tuple[str, ...] = (), store_root: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._init_node(flytepath_node=flytepath_node, spec_uri=spec_uri,
                        spec_version=spec_version, input_names=input_names,
                        store_root=store_root, guarded=True)

    def execute(self, context: Any) -> None:
        self.node_invocation(context)
