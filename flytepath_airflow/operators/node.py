"""What every FlytePath operator shares, whatever runs the node (a local process, a pod).

`NodeArgs` declares the FlytePath arguments every operator takes (spec URI, node id, spec
version, store root, ...). `FlytePathNodeMixin` holds them, and its worker-side methods
(turn an Airflow task context into a `NodeInvocation`, map the program's exit code to
Airflow's retry semantics, read the small outputs.json pointer that goes to XCom) hand over
to `operators.execution`, which is imported only when a task runs.

A runner is an operator class that mixes this in and implements `execute()` by running
`invocation.argv()` somewhere. `build_dag` creates every runner through `for_node()`, so a
new runner (the Kubernetes pod operator) slots in without touching the DAG builder.

Nothing here does I/O at construction time: `__init__` only stores arguments.

The DAG processor imports this module when it parses DAG files: it must not import the
runtime or the stores at module level (`operators.execution` does), nor Airflow.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from flytepath_airflow.config import load_settings

if TYPE_CHECKING:
    from flytepath_airflow.ir.models import NodeSpec, TaskSpec, WorkflowSpec
    from flytepath_airflow.operators.execution import NodeExecution
    from flytepath_airflow.platform.settings import AirflowBackendSettings

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_USER_ERROR = 10
EXIT_SYSTEM_ERROR = 11
EXIT_SKIPPED = 12

ENTRYPOINT_MODULE = "flytepath_airflow.runtime.entrypoint"

RUN_ID_CONF_KEY = "flytepath_run_id"
OPTIONS_CONF_KEY = "flytepath_options"
VERSION_PARAM = "flytepath_version"
"""The DAG param naming the registered version to run (default: the DAG's own).
backends/airflow/dag_builder.py declares the same name for the param it builds."""
"""DAG-run conf key of FlytePath run options (overwrite_cache, code_bundle)."""
"""DAG run conf key that names the FlytePath run id explicitly (`flytepath run --run-id`)."""


@dataclass(frozen=True)
class NodeArgs:
    """The FlytePath arguments of a node's operator, the same for every operator class.

    The operator classes take them as keyword arguments of the same names (Airflow's
    `partial()` checks a mapped operator's arguments against its own `__init__`, `expand()`
    maps over `flytepath_item`, and the DAG serializer would flatten a dataclass to its
    repr) and keep them as this one value.

    :param flytepath_node: id of the node in the spec.
    :param spec_uri: where the compiled spec JSON lives (read on the worker, not at parse);
        None builds a DAG that can be rendered and serialized but not run.
    :param spec_version: the spec version the DAG was built from.
    :param input_names: names of the workflow inputs, taken from the run's params.
    :param store_root: store root URI; None resolves it on the worker
        (`[flytepath] store_root`, else `$FLYTEPATH_HOME/store`).
    :param flytepath_item: for a map node, the element this (mapped) task instance runs;
        for a level of a dynamic node, the id of the generated node it runs.
    :param dynamic_parent: the dynamic node whose generated graph this task runs nodes of.
    :param guarded: the node belongs to a conditional case (skipped when not taken).
    :param failure_node: this is the workflow's on_failure node: it runs when a node has
        failed, and the run still fails after it.
    """

    flytepath_node: str
    spec_uri: str | None
    spec_version: str
    input_names: tuple[str, ...] = ()
    store_root: str | None = None
    flytepath_item: Any = None
    dynamic_parent: str | None = None
    guarded: bool = False
    failure_node: bool = False

    @classmethod
    def of(cls, spec: WorkflowSpec, node_id: str, settings: AirflowBackendSettings,
           spec_uri: str | None) -> NodeArgs:
        """The arguments `build_dag` gives every operator of a node of `spec`."""
        return cls(flytepath_node=node_id, spec_uri=spec_uri, spec_version=spec.version,
                   input_names=tuple(v.name for v in spec.interface.inputs),
                   store_root=settings.store_root)

    def identity(self) -> dict[str, Any]:
        """The five arguments every operator class takes, as keyword arguments.

        The other four (item, dynamic parent, guarded, failure node) depend on where the
        DAG builder puts the operator, and only the runners take all of them.
        """
        return {
            "flytepath_node": self.flytepath_node,
            "spec_uri": self.spec_uri,
            "spec_version": self.spec_version,
            "input_names": self.input_names,
            "store_root": self.store_root,
        }


@dataclass(frozen=True)
class NodeInvocation:
    """One attempt of one node in one run, as `flytepath-execute` needs it.

    :param spec_uri: the spec to execute (the run's pinned spec.json once it exists).
    :param node_id: the node to run.
    :param run_id: the FlytePath run id (derived from the DAG id and Airflow's run id).
    :param attempt: Airflow's try number, from 1.
    :param root: the store root URI.
    :param inputs: workflow inputs from the DAG run's params, to prepare the run.
    :param options: run options from the DAG run's conf (e.g. overwrite_cache).
    """

    spec_uri: str
    node_id: str
    run_id: str
    attempt: int
    root: str
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    item: int | None = None

    @property
    def record_id(self) -> str:
        """The id the node's records use: `node[item]` for a map element."""
        return self.node_id if self.item is None else f"{self.node_id}[{self.item}]"

    def argv(self) -> list[str]:
        """Arguments of `flytepath-execute` (after the program name)."""
        return [
            "--spec", self.spec_uri,
            "--node", self.node_id,
            "--run-id", self.run_id,
            "--attempt", str(self.attempt),
            "--root", self.root,
            *(["--item", str(self.item)] if self.item is not None else []),
            "--prepare-inputs", json.dumps(self.inputs, sort_keys=True, default=str),
            *(["--prepare-options", json.dumps(self.options, sort_keys=True)]
              if self.options else []),
        ]


def resolve_store_root(configured: str | None) -> str:
    """The store root on this worker: the task's own, else the configured one (`config`)."""
    return configured or load_settings().store_root


class FlytePathNodeMixin:
    """Node identity and exit-code semantics shared by every FlytePath operator.

    The node's arguments are a `NodeArgs` (`node_args`); each of them also reads as an
    attribute of the same name (`task.flytepath_item` in a map index template).
    """

    ui_color = "#e8f1fb"
    node_args: NodeArgs

    def _init_node(self, args: NodeArgs) -> None:
        self.node_args = args

    @property
    def flytepath_node(self) -> str:
        """:attr:`NodeArgs.flytepath_node`."""
        return self.node_args.flytepath_node

    @property
    def spec_uri(self) -> str | None:
        """:attr:`NodeArgs.spec_uri`."""
        return self.node_args.spec_uri

    @property
    def spec_version(self) -> str:
        """:attr:`NodeArgs.spec_version`."""
        return self.node_args.spec_version

    @property
    def input_names(self) -> tuple[str, ...]:
        """:attr:`NodeArgs.input_names`."""
        return self.node_args.input_names

    @property
    def store_root(self) -> str | None:
        """:attr:`NodeArgs.store_root`."""
        return self.node_args.store_root

    @property
    def flytepath_item(self) -> Any:
        """:attr:`NodeArgs.flytepath_item`."""
        return self.node_args.flytepath_item

    @property
    def dynamic_parent(self) -> str | None:
        """:attr:`NodeArgs.dynamic_parent`."""
        return self.node_args.dynamic_parent

    @property
    def guarded(self) -> bool:
        """:attr:`NodeArgs.guarded`."""
        return self.node_args.guarded

    @property
    def failure_node(self) -> bool:
        """:attr:`NodeArgs.failure_node`."""
        return self.node_args.failure_node

    @classmethod
    def create(cls, expand: dict[str, Any] | None, **kwargs: Any) -> Any:
        """`cls(**kwargs)`, or a mapped task `cls.partial(**kwargs).expand(**expand)`."""
        operator_cls: Any = cls
        if expand is None:
            return operator_cls(**kwargs)
        return operator_cls.partial(**kwargs).expand(**expand)

    # -- building (parse time; pure) -------------------------------------------------
    @classmethod
    def for_node(
        cls,
        *,
        spec: WorkflowSpec,
        node: NodeSpec,
        task: TaskSpec,
        settings: AirflowBackendSettings,
        spec_uri: str | None,
        **airflow_kwargs: Any,
    ) -> Any:
        """Create the operator of one node; runners override to read more of the TaskSpec.

        `airflow_kwargs` are the BaseOperator arguments build_dag decided (task_id, dag,
        retries, retry_delay, execution_timeout, pool, pool_slots, owner, doc_md).
        """
        return cls.create(
            airflow_kwargs.pop("expand", None),
            **NodeArgs.of(spec, node.id, settings, spec_uri).identity(),
            **airflow_kwargs,
        )

    # -- running (worker) --------------------------------------------------------------
    def execution(self) -> NodeExecution:
        """The worker side of this operator's node: reads and writes the run in the store."""
        # Lazy: execute-time only; the DAG processor imports this module when it parses DAG
        # files, and operators.execution loads the runtime and the stores.
        from flytepath_airflow.operators.execution import NodeExecution

        return NodeExecution(self.node_args, retries=int(getattr(self, "retries", 0) or 0))

    def node_invocation(self, context: Any) -> NodeInvocation:
        """The invocation for this task instance: run id, attempt, inputs from the params."""
        return self.execution().node_invocation(context)

    def skip_if_guarded_out(self, invocation: NodeInvocation) -> None:
        """Skip this task when its node's conditional case was not taken."""
        self.execution().skip_if_guarded_out(invocation)

    def finish(self, invocation: NodeInvocation, pointer: dict[str, Any]) -> dict[str, Any]:
        """After a successful run: a failure node still fails the run, with the cause."""
        return self.execution().finish(invocation, pointer)

    def record_run_failure(self, invocation: NodeInvocation, message: str, kind: str,
                           final: bool) -> None:
        """Record the first node failure of the run, for the workflow's failure node."""
        self.execution().record_run_failure(invocation, message, kind, final)

    def raise_for_exit(self, invocation: NodeInvocation, exit_code: int) -> NoReturn:
        """Turn a failed `flytepath-execute` into Airflow's retry semantics (DESIGN 4).

        10 (the task raised, a bad input value) and 2 (bad spec or arguments) fail without
        retry; 11 (storage, infrastructure) and any other code (killed, crashed) retry.
        """
        self.execution().raise_for_exit(invocation, exit_code)

    def error_message(self, invocation: NodeInvocation, exit_code: int) -> str:
        """The node's own error message (from error.json) or a description of the exit."""
        return self.execution().error_message(invocation, exit_code)

    def read_pointer(self, invocation: NodeInvocation) -> dict[str, Any]:
        """The node's published outputs.json pointer: what goes to XCom."""
        return self.execution().read_pointer(invocation)


class SkipUnlessCaseTaken(FlytePathNodeMixin):
    """`pre_execute` hook of a kept Airflow operator inside a conditional case.

    Converted DAGs keep some operators as they are; when such a task belongs to a case,
    this hook skips it (AirflowSkipException) unless its conditional took that case, as
    FlytePath's own tasks do.
    """

    def __init__(self, *, flytepath_node: str, spec_uri: str | None, spec_version: str,
                 input_names: tuple[str, ...] = (), store_root: str | None = None) -> None:
        self._init_node(NodeArgs(flytepath_node=flytepath_node, spec_uri=spec_uri,
                                 spec_version=spec_version, input_names=input_names,
                                 store_root=store_root, guarded=True))

    def __call__(self, context: Any) -> None:
        self.node_invocation(context)


def seconds(value: float | None) -> timedelta | None:
    """A number of seconds as a timedelta (None stays None)."""
    return None if value is None else timedelta(seconds=value)
