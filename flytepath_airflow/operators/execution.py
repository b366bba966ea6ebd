"""The worker side of the FlytePath operators: what a node's task does once it runs.

`NodeExecution` turns an Airflow task context into a `NodeInvocation` (the FlytePath run
id, the spec the run pinned, another registered version when the run asks for one), skips
a node whose conditional case was not taken, maps `flytepath-execute`'s exit code to
Airflow's retry semantics with the node's own error message, records the run's first
failure for the workflow's failure node, reads the outputs.json pointer that goes to XCom,
runs the control-flow steps and publishes a run's spec for a pod.

It reads and writes the run in the blob store, so it imports the runtime and the stores at
module level. The operator modules, which the DAG processor imports when it parses DAG
files, import this module only when a task runs (`FlytePathNodeMixin.execution()`).

Must not import: Airflow at module level (each method imports the exceptions it raises, as
the operator modules do), user code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.models import WorkflowSpec
from flytepath_airflow.ir.spec_io import is_launch_plan_document, load_document, load_spec
from flytepath_airflow.operators.node import (
    EXIT_SKIPPED,
    EXIT_USAGE,
    EXIT_USER_ERROR,
    OPTIONS_CONF_KEY,
    RUN_ID_CONF_KEY,
    VERSION_PARAM,
    NodeArgs,
    NodeInvocation,
    resolve_store_root,
)
from flytepath_airflow.platform.naming import flytepath_run_id
from flytepath_airflow.runtime import control
from flytepath_airflow.runtime.registry import registered_code_bundle, spec_key
from flytepath_airflow.runtime.run import (
    load_run_spec,
    prepare_run,
    read_node_error,
    read_pointer,
    run_key,
    sanitize_run_id,
)
from flytepath_airflow.stores.blob import BlobStore

logger = logging.getLogger("flytepath_airflow.operators.node")
"""The operators' own logger: these lines belong to the node's operator."""


@dataclass(frozen=True)
class NodeExecution:
    """One operator's node, on the worker.

    :param args: the node's arguments, as the operator holds them.
    :param retries: the operator's retries (a system failure after the last is final).
    """

    args: NodeArgs
    retries: int = 0

    def node_invocation(self, context: Any) -> NodeInvocation:
        """The invocation for this task instance: run id, attempt, inputs from the params."""
        from airflow.sdk.exceptions import AirflowFailException

        args = self.args
        ti = context["ti"]
        dag_run = context["dag_run"]
        root = resolve_store_root(args.store_root)
        conf = getattr(dag_run, "conf", None) or {}
        if conf.get(RUN_ID_CONF_KEY):
            run_id = sanitize_run_id(str(conf[RUN_ID_CONF_KEY]))
        else:
            run_id = flytepath_run_id(ti.dag_id, dag_run.run_id)
        params = context.get("params") or {}
        inputs = {name: params[name] for name in args.input_names if name in params}
        if any(value is None for value in inputs.values()) and args.spec_uri:
            self._fill_kickoff_time(inputs, context)
        spec_uri = self._pinned_spec_uri(run_id, root)
        if spec_uri is None:
            raise AirflowFailException(
                f"node {args.flytepath_node!r} has no spec to run: the DAG was built without a "
                "spec_uri. Build it with build_dag(spec, spec_uri=...) or load it with "
                "the FlytePath DAG loader."
            )
        options = dict(conf.get(OPTIONS_CONF_KEY) or {})
        requested = params.get(VERSION_PARAM)
        if requested and requested != args.spec_version and spec_uri == args.spec_uri:
            spec_uri, bundle = self._registered_version(str(requested), root)
            if bundle:
                options["code_bundle"] = bundle
        elif spec_uri == args.spec_uri and "code_bundle" not in options:
            # A run not yet prepared runs the code registered with the DAG's version, so
            # workers need nothing on their PYTHONPATH (ADR 0011); an unregistered spec
            # keeps importing its modules from the worker's environment.
            bundle = self._registered_bundle(spec_uri, root)
            if bundle:
                options["code_bundle"] = bundle
        node_id, item = args.flytepath_node, args.flytepath_item
        if args.dynamic_parent is not None:
            run_id = control.child_run_id(run_id, args.dynamic_parent)
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
        if args.guarded:
            self.skip_if_guarded_out(invocation)
        return invocation

    @staticmethod
    def _registered_bundle(spec_uri: str, root: str) -> dict[str, str] | None:
        """The code bundle registered with the spec's version, if the spec can be read.

        A spec that cannot be read here is not this step's to report: `flytepath-execute`
        reads it next and fails the task with the spec's own message.
        """
        try:
            return registered_code_bundle(load_spec(spec_uri), root=root)
        except FlytePathUserError:
            return None

    def _fill_kickoff_time(self, inputs: dict[str, Any], context: Any) -> None:
        """A launch plan's kickoff time input gets the run's scheduled time when not given."""
        assert self.args.spec_uri is not None
        doc = load_document(self.args.spec_uri)
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

        spec = load_run_spec(invocation.run_id, invocation.root)
        if control.guarded_out(spec, spec.node(invocation.node_id), invocation.run_id,
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

        assert self.args.spec_uri is not None
        current = load_spec(self.args.spec_uri)
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
                f"this DAG was built from ({self.args.spec_version}); run it with `flytepath run "
                f"{current.name} --version {version} --project {current.tenant.project} "
                f"--domain {current.tenant.domain}`."
            )
        return store.uri(key), registered_code_bundle(other, root=root)

    def _pinned_spec_uri(self, run_id: str, root: str) -> str | None:
        """The run's own spec.json once the run is prepared, else the DAG's spec file.

        A run keeps the spec it started with even when the specs folder gets a new version
        of the workflow while the run is going on.
        """
        store = BlobStore(root)
        key = f"{run_key(run_id)}/spec.json"
        if store.exists(key):
            return store.uri(key)
        return self.args.spec_uri

    def finish(self, invocation: NodeInvocation, pointer: dict[str, Any]) -> dict[str, Any]:
        """After a successful run: a failure node still fails the run, with the cause."""
        if not self.args.failure_node:
            return pointer
        from airflow.sdk.exceptions import AirflowFailException

        cause = control.failure_literal(BlobStore(invocation.root), invocation.run_id)
        raise AirflowFailException(
            f"the workflow failed at node {cause['failed_node']!r} ({cause['message']}); "
            f"its on_failure node {invocation.node_id!r} ran"
        )

    def record_run_failure(self, invocation: NodeInvocation, message: str, kind: str,
                           final: bool) -> None:
        """Record the first node failure of the run, for the workflow's failure node."""
        if not final or self.args.failure_node:
            return
        store = BlobStore(invocation.root)
        try:
            if not store.exists(f"{run_key(invocation.run_id)}/{control.FAILURE_KEY}"):
                control.record_failure(store, invocation.run_id, invocation.node_id, message,
                                       kind)
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
        self.record_run_failure(invocation, cause, "system",
                                final=invocation.attempt > self.retries)
        raise AirflowException(message)

    def _task_error_text(self, invocation: NodeInvocation) -> str | None:
        try:
            error = read_node_error(invocation.run_id, invocation.record_id,
                                    invocation.attempt, invocation.root)
        except Exception:
            return None
        return str(error.get("message")) if error else None

    def error_message(self, invocation: NodeInvocation, exit_code: int) -> str:
        """The node's own error message (from error.json) or a description of the exit."""
        try:
            error = read_node_error(
                invocation.run_id, invocation.record_id, invocation.attempt, invocation.root
            )
        except Exception:  # the store itself may be what failed
            logger.warning("could not read the error record of %s", invocation.node_id,
                           exc_info=True)
            error = None
        if error:
            # The message already names the user's exception type ("ValueError: ..."); the
            # type recorded beside it is ours for FlytePath's own errors, so it is not shown.
            kind = error.get("kind", "user")
            return f"{error.get('message', '')} (node {invocation.record_id!r}, attempt " \
                   f"{invocation.attempt}, {kind} error)"
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
        return read_pointer(BlobStore(invocation.root), invocation.run_id,
                            invocation.record_id)

    # -- the control-flow steps (FlytePathControlOperator) -----------------------------
    def run_control_step(self, invocation: NodeInvocation, step: str, level: int,
                         max_map_length: Callable[[], int], log: Any) -> Any:
        """Prepare the run if needed, then run one control-flow step of the node.

        :param max_map_length: returns Airflow's `[core] max_map_length` (read only for
            "map_fanout").
        :param log: the operator's task logger.
        """
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        if not BlobStore(invocation.root).exists(f"runs/{invocation.run_id}/inputs.json"):
            prepare_run(load_spec(invocation.spec_uri), invocation.inputs, invocation.root,
                        invocation.run_id, options=invocation.options, backend="airflow")
        spec = load_run_spec(invocation.run_id, invocation.root)
        try:
            return _step(step, level, spec, invocation, max_map_length, log)
        except control.GraphNotBuilt as exc:  # the dynamic node was skipped or failed upstream
            raise AirflowSkipException(str(exc)) from None
        except FlytePathUserError as exc:
            self.record_run_failure(invocation, str(exc), "user", final=True)
            raise AirflowFailException(str(exc)) from None

    # -- the pod's run (FlytePathKubernetesOperator) -----------------------------------
    def publish_spec(self, invocation: NodeInvocation) -> tuple[WorkflowSpec, NodeInvocation]:
        """Publish the run's spec and inputs to the store, where the pod can read them.

        The worker reads the DAG's spec file; the pod cannot, so the run is prepared here
        (idempotent: later nodes of the run find it prepared and keep its pinned spec).
        """
        from airflow.sdk.exceptions import AirflowFailException

        try:
            spec = load_spec(invocation.spec_uri)
            # The run's options (its code bundle, overwrite_cache) travel with the run, as
            # when the worker prepares it for a local process.
            prepare_run(spec, invocation.inputs, invocation.root, invocation.run_id,
                        options=invocation.options or None, backend="airflow")
        except FlytePathUserError as exc:
            raise AirflowFailException(f"node {invocation.node_id!r}: {exc}") from exc
        pinned = BlobStore(invocation.root).uri(f"{run_key(invocation.run_id)}/spec.json")
        return spec, replace(invocation, spec_uri=pinned)


def _step(step: str, level: int, spec: Any, inv: NodeInvocation,
          max_map_length: Callable[[], int], log: Any) -> Any:
    node_id, run_id, root = inv.node_id, inv.run_id, inv.root
    if step == "decide":
        case = control.decide_branch(spec, node_id, run_id, root)
        log.info("conditional %s took case %d", node_id, case)
        return {"case": case}
    if step == "merge":
        return control.merge_outputs(spec, node_id, run_id, root)
    if step == "map_fanout":
        size = control.fan_out_map(spec, node_id, run_id, root)
        limit = max_map_length()
        if size > limit:
            raise control.ControlFlowError(
                f"map node '{node_id}' has {size} elements but Airflow's [core] "
                f"max_map_length is {limit}; raise it (AIRFLOW__CORE__MAX_MAP_LENGTH) "
                "to at least the largest map you run, or split the input upstream."
            )
        log.info("map node %s: %d elements", node_id, size)
        return list(range(size))
    if step == "map_collect":
        pointer = control.collect_map(spec, node_id, run_id, root)
        log.info("map node %s: %s", node_id, control.describe(pointer))
        return pointer
    if step == "dynamic_plan":
        plan = control.read_dynamic_plan(run_id, node_id, root)
        levels = plan["levels"]
        return list(levels[level]) if level < len(levels) else []
    if step == "dynamic_collect":
        return control.collect_dynamic(spec, node_id, run_id, root)
    raise AssertionError(step)
