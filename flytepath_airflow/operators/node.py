"""What every FlytePath operator shares, whatever runs the node (a local process, a pod).

`FlytePathNodeMixin` holds the node's identity (spec URI, node id, spec version, store
root), turns an Airflow task context into a `NodeInvocation` (the FlytePath run id, attempt
and the `flytepath-execute` arguments), maps the program's exit code to Airflow's retry
semantics, and reads the small outputs.json pointer that goes to XCom.

A runner is an operator class that mixes this in and implements `execute()` by running
`invocation.argv()` somewhere. `build_dag` creates every runner through `for_node()`, so a
new runner (the Kubernetes pod operator) slots in without touching the DAG builder.

Nothing here does I/O at construction time: `__init__` only stores arguments.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from flytepath_airflow.platform.naming import flytepath_run_id
from flytepath_airflow.platform.settings import default_store_root

if TYPE_CHECKING:
    from flytepath_airflow.ir.models import NodeSpec, TaskSpec, WorkflowSpec
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
    """The store root on this worker: the task's own, `[flytepath] store_root`, or the default."""
    if configured:
        return configured
    from airflow.sdk import conf

    value = conf.get("flytepath", "store_root", fallback=None)
    if value:
        return str(value)
    return default_store_root()


class FlytePathNodeMixin:
    """Node identity and exit-code semantics shared by every FlytePath operator.

    :param flytepath_node: id of the node in the spec.
    :param spec_uri: where the compiled spec JSON lives (read on the worker, not at parse).
    :param spec_version: the spec version the DAG was built from.
    :param input_names: names of the workflow inputs, taken from the run's params.
    :param store_root: store root URI; None resolves it on the worker.
    :param flytepath_item: for a map node, the element this (mapped) task instance runs;
        for a level of a dynamic node, the id of the generated node it runs.
    :param dynamic_parent: the dynamic node whose generated graph this task runs nodes of.
    :param guarded: the node belongs to a conditional case (skipped when not taken).
    :param failure_node: this is the workflow's on_failure node: it runs when a node has
        failed, and the run still fails after it.
    """

    ui_color = "#e8f1fb"
    flytepath_node: str
    spec_uri: str | None
    spec_version: str
    input_names: tuple[str, ...]
    store_root: str | None
    flytepath_item: Any
    dynamic_parent: str | None
    guarded: bool
    failure_node: bool

    def _init_node(
        self,
        *,
        flytepath_node: str,
        spec_uri: str | None,
        spec_version: str,
        input_names: tuple[str, ...] = (),
        store_root: str | None = None,
        flytepath_item: Any = None,
        dynamic_parent: str | None = None,
        guarded: bool = False,
        failure_node: bool = False,
    ) -> None:
        self.flytepath_node = flytepath_node
        self.spec_uri = spec_uri
        self.spec_version = spec_version
        self.input_names = tuple(input_names)
        self.store_root = store_root
        self.flytepath_item = flytepath_item
        self.dynamic_parent = dynamic_parent
        self.guarded = guarded
        self.failure_node = failure_node

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
            flytepath_node=node.id,
            spec_uri=spec_uri,
            spec_version=spec.version,
            input_names=tuple(v.name for v in spec.interface.inputs),
            store_root=settings.store_root,
            **airflow_kwargs,
        )

    # -- running (worker) --------------------------------------------------------------
    def node_invocation(self, context: Any) -> NodeInvocation:
        """The invocation for this task instance: run id, attempt, inputs from the params."""
        from airflow.sdk.exceptions import AirflowFailException

        ti = context["ti"]
        dag_run = context["dag_run"]
        root = resolve_store_root(self.store_root)
        conf = getattr(dag_run, "conf", None) or {}
        if conf.get(RUN_ID_CONF_KEY):
            from flytepath_airflow.runtime.run import sanitize_run_id

            run_id = sanitize_run_id(str(conf[RUN_ID_CONF_KEY]))
        else:
            run_id = flytepath_run_id(ti.dag_id, dag_run.run_id)
        params = context.get("params") or {}
        inputs = {name: params[name] for name in self.input_names if name in params}
        if any(value is None for value in inputs.values()) and self.spec_uri:
            self._fill_kickoff_time(inputs, context)
        spec_uri = self._pinned_spec_uri(run_id, root)
        if spec_uri is None:
            raise AirflowFailException(
                f"node {self.flytepath_node!r} has no spec to run: the DAG was built without a "
                "spec_uri. Build it with build_dag(spec, spec_uri=...) or load it with "
                "the FlytePath DAG loader."
            )
        options = dict(conf.get(OPTIONS_CONF_KEY) or {})
        requested = params.get(VERSION_PARAM)
        if requested and requested != self.spec_version and spec_uri == self.spec_uri:
            spec_uri, bundle = self._registered_version(str(requested), root)
            if bundle:
                options["code_bundle"] = bundle
        node_id, item = self.flytepath_node, self.flytepath_item
        if self.dynamic_parent is not None:
            from flytepath_airflow.runtime.control import child_run_id
            from flytepath_airflow.runtime.run import run_key
            from flytepath_airflow.stores.blob import BlobStore

            run_id = child_run_id(run_id, self.dynamic_parent)
            spec_uri = BlobStore(root).uri(f"{run_key(run_id)}/spec.json")
            node_id, item, inputs = str(item), None, {}
        invocation = NodeInvocation(
            spec_uri=spec_uri,
            node_id=node_id,
            run_id=run_id,
            attempt=int(ti.try_number or 1),
            root=root,
            inputs=inputs,
            options=options,
            item=None if item is None else int(item),
        )
        if self.guarded:
            self.skip_if_guarded_out(invocation)
        return invocation

    def _fill_kickoff_time(self, inputs: dict[str, Any], context: Any) -> None:
        """A launch plan's kickoff time input gets the run's scheduled time when not given."""
        from flytepath_airflow.ir.spec_io import is_launch_plan_document, load_document

        assert self.spec_uri is not None
        doc = load_document(self.spec_uri)
        if not is_launch_plan_document(doc):
            return
        name = (doc.get("schedule") or {}).get("kickoff_time_input")
        if name and inputs.get(name) is None:
            when = context.get("logical_date") or getattr(context["dag_run"], "run_after", None)
            if when is not None:
                inputs[name] = when.isoformat()

    def skip_if_guarded_out(self, invocation: NodeInvocation) -> None:
        """Skip this task when its node's conditional case was not taken."""
        from airflow.sdk.exceptions import AirflowSkipException

        from flytepath_airflow.runtime.control import guarded_out
        from flytepath_airflow.runtime.run import load_run_spec

        spec = load_run_spec(invocation.run_id, invocation.root)
        if guarded_out(spec, spec.node(invocation.node_id), invocation.run_id,
                       invocation.root):
            raise AirflowSkipException(
                f"node {invocation.node_id!r}: its conditional case was not taken"
            )

    def _registered_version(self, version: str, root: str) -> tuple[str, dict[str, str] | None]:
        """The spec URI and code bundle of another registered version of this DAG's workflow.

        Airflow runs the DAG's own tasks, so the other version must have the same nodes and
        edges; otherwise the task fails without retry and says how to run that version.
        """
        from airflow.sdk.exceptions import AirflowFailException

        from flytepath_airflow.ir.spec_io import load_spec
        from flytepath_airflow.runtime.registry import registered_code_bundle, spec_key
        from flytepath_airflow.stores.blob import BlobStore

        assert self.spec_uri is not None
        current = load_spec(self.spec_uri)
        store = BlobStore(root)
        key = spec_key(current.tenant.project, current.tenant.domain, current.name, version)
        if not store.exists(key):
            raise AirflowFailException(
                f"version {version!r} of workflow {current.name!r} is not registered in "
                f"{current.tenant.project}/{current.tenant.domain}; list versions with "
                f"`flytepath versions {current.name}`."
            )
        other = load_spec(store.uri(key))

        def shape(spec: Any) -> dict[str, list[str]]:
            return {n.id: sorted(n.dependencies()) for n in spec.nodes}

        if shape(other) != shape(current):
            raise AirflowFailException(
                f"version {version!r} of {current.name!r} has a different graph from the one "
                f"this DAG was built from ({self.spec_version}); run it with `flytepath run "
                f"{current.name} --version {version} --project {current.tenant.project} "
                f"--domain {current.tenant.domain}`."
            )
        return store.uri(key), registered_code_bundle(other, root=root)

    def _pinned_spec_uri(self, run_id: str, root: str) -> str | None:
        """The run's own spec.json once the run is prepared, else the DAG's spec file.

        A run keeps the spec it started with even when the specs folder gets a new version
        of the workflow while the run is going on.
        """
        from flytepath_airflow.runtime.run import run_key
        from flytepath_airflow.stores.blob import BlobStore

        store = BlobStore(root)
        key = f"{run_key(run_id)}/spec.json"
        if store.exists(key):
            return store.uri(key)
        return self.spec_uri

    def finish(self, invocation: NodeInvocation, pointer: dict[str, Any]) -> dict[str, Any]:
        """After a successful run: a failure node still fails the run, with the cause."""
        if not self.failure_node:
            return pointer
        from airflow.sdk.exceptions import AirflowFailException

        from flytepath_airflow.runtime.control import failure_literal
        from flytepath_airflow.stores.blob import BlobStore

        cause = failure_literal(BlobStore(invocation.root), invocation.run_id)
        raise AirflowFailException(
            f"the workflow failed at node {cause['failed_node']!r} ({cause['message']}); "
            f"its on_failure node {invocation.node_id!r} ran"
        )

    def record_run_failure(self, invocation: NodeInvocation, message: str, kind: str,
                           final: bool) -> None:
        """Record the first node failure of the run, for the workflow's failure node."""
        if not final or self.failure_node:
            return
        from flytepath_airflow.runtime.control import FAILURE_KEY, record_failure
        from flytepath_airflow.runtime.run import run_key
        from flytepath_airflow.stores.blob import BlobStore

        store = BlobStore(invocation.root)
        try:
            if not store.exists(f"{run_key(invocation.run_id)}/{FAILURE_KEY}"):
                record_failure(store, invocation.run_id, invocation.node_id, message, kind)
        except OSError:
            logger.warning("could not record the failure of %s", invocation.node_id,
                           exc_info=True)

    def raise_for_exit(self, invocation: NodeInvocation, exit_code: int) -> NoReturn:
        """Turn a failed `flytepath-execute` into Airflow's retry semantics (DESIGN 4).

        10 (the task raised, a bad input value) and 2 (bad spec or arguments) fail without
        retry; 11 (storage, infrastructure) and any other code (killed, crashed) retry.
        """
        from airflow.sdk.exceptions import (
            AirflowException,
            AirflowFailException,
            AirflowSkipException,
        )

        if exit_code == EXIT_SKIPPED:
            raise AirflowSkipException(
                f"node {invocation.node_id!r}: its conditional case was not taken"
            )
        message = self.error_message(invocation, exit_code)
        cause = self._task_error_text(invocation) or message
        if exit_code in (EXIT_USER_ERROR, EXIT_USAGE):
            self.record_run_failure(invocation, cause, "user", final=True)
            raise AirflowFailException(message)
        retries = int(getattr(self, "retries", 0) or 0)
        self.record_run_failure(invocation, cause, "system",
                                final=invocation.attempt > retries)
        raise AirflowException(message)

    def _task_error_text(self, invocation: NodeInvocation) -> str | None:
        from flytepath_airflow.runtime.run import read_node_error

        try:
            error = read_node_error(invocation.run_id, invocation.record_id,
                                    invocation.attempt, invocation.root)
        except Exception:
            return None
        return str(error.get("message")) if error else None

    def error_message(self, invocation: NodeInvocation, exit_code: int) -> str:
        """The node's own error message (from error.json) or a description of the exit."""
        from flytepath_airflow.runtime.run import read_node_error

        try:
            error = read_node_error(
                invocation.run_id, invocation.record_id, invocation.attempt, invocation.root
            )
        except Exception:  # the store itself may be what failed
            logger.warning("could not read the error record of %s", invocation.node_id,
                           exc_info=True)
            error = None
        if error:
            kind = error.get("kind", "user")
            etype = error.get("type") or "Error"
            return f"node {invocation.record_id!r} failed ({kind} error): {etype}: " \
                   f"{error.get('message', '')}"
        if exit_code == EXIT_USAGE:
            return (f"node {invocation.node_id!r}: flytepath-execute rejected the spec, the "
                    "arguments or an input value (exit 2); see the log above.")
        if exit_code < 0:
            return f"node {invocation.node_id!r}: flytepath-execute was killed by signal " \
                   f"{-exit_code}; retrying."
        return f"node {invocation.node_id!r}: flytepath-execute exited with code {exit_code}; " \
               "see the log above."

    def read_pointer(self, invocation: NodeInvocation) -> dict[str, Any]:
        """The node's published outputs.json pointer: what goes to XCom."""
        from flytepath_airflow.runtime.run import read_pointer
        from flytepath_airflow.stores.blob import BlobStore

        return read_pointer(BlobStore(invocation.root), invocation.run_id,
                            invocation.record_id)


class SkipUnlessCaseTaken(FlytePathNodeMixin):
    """`pre_execute` hook of a kept Airflow operator inside a conditional case.

    Converted DAGs keep some operators as they are; when such a task belongs to a case,
    this hook skips it (AirflowSkipException) unless its conditional took that case, as
    FlytePath's own tasks do.
    """

    def __init__(self, *, flytepath_node: str, spec_uri: str | None, spec_version: str,
                 input_names: tuple[str, ...] = (), store_root: str | None = None) -> None:
        self._init_node(flytepath_node=flytepath_node, spec_uri=spec_uri,
                        spec_version=spec_version, input_names=input_names,
                        store_root=store_root, guarded=True)

    def __call__(self, context: Any) -> None:
        self.node_invocation(context)


def seconds(value: float | None) -> timedelta | None:
    """A number of seconds as a timedelta (None stays None)."""
    return None if value is None else timedelta(seconds=value)
