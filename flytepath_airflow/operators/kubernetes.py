"""`FlytePathKubernetesOperator`: runs one FlytePath node as a Kubernetes pod.

The "kubernetes" runner. It is the cncf-kubernetes provider's `KubernetesPodOperator`, with
its pod lifecycle (create, wait, stream logs, reattach, delete) left as it is, and three
points replaced:

- `build_pod_request_obj()` returns the pod from `platform.pods.compose_pod()`, the one
  composition path (platform template -> generated -> overrides -> pod mutation hook);
- outputs: there is no XCom sidecar. The pod's `flytepath-execute` publishes the node's
  outputs.json pointer to the blob store; after the pod succeeds this operator reads it back
  and pushes it to XCom (ADR 0022);
- failures: the base container's exit code (10 user error, 2 bad spec: no retry; 11 or
  anything else: retry) and the attempt's error.json decide, exactly as the local runner.

Nothing from a spec is rendered by Jinja (`template_fields` is empty): a task's env value
such as "{{ conn.x.password }}" reaches the pod as those characters, never as a secret.

`__init__` stores arguments only; settings are read when the DAG is built (to refuse a bad
task early) and again on the worker; all I/O happens in `execute()`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

from flytepath_airflow.errors import FlytePathError, FlytePathUserError
from flytepath_airflow.operators.node import FlytePathNodeMixin, NodeArgs
from flytepath_airflow.platform.pods import (
    BASE_CONTAINER,
    KubernetesSettings,
    PodRequest,
    check_task,
    compose_pod,
    is_remote_uri,
    load_kubernetes_settings,
)

if TYPE_CHECKING:
    from flytepath_airflow.ir.models import NodeSpec, TaskSpec, WorkflowSpec
    from flytepath_airflow.platform.settings import AirflowBackendSettings

logger = logging.getLogger(__name__)

XCOM_RETURN_KEY = "return_value"


class KubernetesRunnerError(FlytePathUserError):
    """A spec cannot run on this platform's Kubernetes settings; nothing was built."""


class FlytePathKubernetesOperator(FlytePathNodeMixin, KubernetesPodOperator):
    """Run one node of a compiled FlytePath spec as a pod in its tenant's namespace.

    The nine node arguments (`flytepath_node`, `spec_uri`, ..., `failure_node`) are the
    node's `NodeArgs`, documented there. Here the worker reads `spec_uri` and publishes the
    spec to the blob store for the pod, and pods must reach `store_root`, so it is a shared
    URL (s3://, gs://, ...) unless `allow_local_store` is set.

    :param max_attempts: the task's retries + 1 (an interruptible task's last attempt leaves
        spot capacity).
    :param kubernetes_settings_file: settings file to read on the worker; None uses
        $FLYTEPATH_KUBERNETES_SETTINGS or `[flytepath] kubernetes_settings_file`.
    :param kwargs: KubernetesPodOperator and BaseOperator arguments (task_id, retries, pool,
        namespace, kubernetes_conn_id, config_file, in_cluster, ...).
    """

    template_fields: Sequence[str] = ()
    ui_color = "#e8f1fb"

    def __init__(
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
        max_attempts: int = 1,
        kubernetes_settings_file: str | None = None,
        **kwargs: Any,
    ) -> None:
        # The sidecar is what this runner replaces; deferral would bypass execute() below.
        kwargs["do_xcom_push"] = False
        kwargs["deferrable"] = False
        kwargs.setdefault("get_logs", True)
        kwargs.setdefault("log_pod_spec_on_failure", False)
        kwargs.setdefault("termination_message_policy", "FallbackToLogsOnError")
        kwargs.setdefault("base_container_name", BASE_CONTAINER)
        super().__init__(**kwargs)
        self._init_node(NodeArgs(
            flytepath_node=flytepath_node,
            spec_uri=spec_uri,
            spec_version=spec_version,
            input_names=input_names,
            store_root=store_root,
            flytepath_item=flytepath_item,
            dynamic_parent=dynamic_parent,
            guarded=guarded,
            failure_node=failure_node,
        ))
        self.max_attempts = max_attempts
        self.kubernetes_settings_file = kubernetes_settings_file
        self.flytepath_pod: dict[str, Any] | None = None

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
    ) -> FlytePathKubernetesOperator:
        """Check the task against the platform's settings, then create its operator.

        :raises CompileError, UnknownTenantError, KubernetesRunnerError: the task cannot
            run here (a bad quantity or override, an unknown tenant, a GPU without an
            accelerator, a pool that disagrees with the tenant policy).
        """
        k8s = load_kubernetes_settings()
        tenant = check_task(spec, task, k8s)
        pool = airflow_kwargs.get("pool")
        if tenant.pool is not None and pool != tenant.pool:
            raise KubernetesRunnerError(
                f"workflow {spec.name!r}: tenant {tenant.project}/{tenant.domain} has Airflow "
                f"pool {tenant.pool!r} in the Kubernetes tenant policy but {pool!r} from "
                "[flytepath] tenant_pools/pool_template. Make the two settings agree."
            )
        if task.interruptible and task.retries == 0 and (k8s.spot.tolerations or
                                                          k8s.spot.node_labels):
            logger.warning(
                "task %s is interruptible but has retries=0: its only attempt is the last, "
                "which runs on regular capacity. Give it retries to use spot capacity.",
                task.name,
            )
        return cls.create(
            airflow_kwargs.pop("expand", None),
            **NodeArgs.of(spec, node.id, settings, spec_uri).identity(),
            max_attempts=task.retries + 1,
            namespace=tenant.namespace,
            kubernetes_conn_id=k8s.kubernetes_conn_id,
            in_cluster=k8s.in_cluster,
            config_file=k8s.config_file,
            cluster_context=k8s.cluster_context,
            startup_timeout_seconds=k8s.startup_timeout_seconds,
            schedule_timeout_seconds=k8s.schedule_timeout_seconds,
            on_finish_action=k8s.on_finish_action,
            **airflow_kwargs,
        )

    # -- running (worker) --------------------------------------------------------------
    def execute(self, context: Any) -> dict[str, Any]:
        """Run the node in a pod; return its outputs.json pointer (also pushed to XCom)."""
        from airflow.sdk.exceptions import AirflowException, AirflowFailException
        from airflow.settings import pod_mutation_hook

        invocation = self.node_invocation(context)
        settings = self._settings()
        if not is_remote_uri(invocation.root) and not settings.allow_local_store:
            raise AirflowFailException(
                f"node {invocation.node_id!r}: the store root {invocation.root!r} is a path on "
                "this worker, which pods cannot read. Set [flytepath] store_root to a shared "
                "URL (s3://..., gs://...), or allow_local_store: true for a one-node cluster."
            )
        spec, invocation = self.execution().publish_spec(invocation)
        request = PodRequest(
            spec=spec,
            node_id=invocation.node_id,
            run_id=invocation.run_id,
            attempt=invocation.attempt,
            max_attempts=self.max_attempts,
            args=tuple(invocation.argv()),
            store_root=invocation.root,
            airflow_labels=self._get_ti_pod_labels(context),
            record_id=invocation.record_id,
        )
        try:
            self.flytepath_pod = compose_pod(request, settings, mutation_hook=pod_mutation_hook)
        except FlytePathUserError as exc:
            raise AirflowFailException(str(exc)) from exc
        self.log.info(
            "FlytePath node %s (spec version %s), run %s, attempt %d/%d: pod %s/%s",
            invocation.node_id, spec.version, invocation.run_id, invocation.attempt,
            self.max_attempts, self.flytepath_pod["metadata"]["namespace"],
            self.flytepath_pod["metadata"]["name"],
        )
        try:
            super().execute(context)
        except AirflowFailException:
            raise
        except AirflowException:
            exit_code = self._base_exit_code()
            if exit_code is None:
                raise  # the pod never ran the node (not scheduled, image pull...): retry
            self.raise_for_exit(invocation, exit_code)
        pointer = self.read_pointer(invocation)
        self.log.info("node %s published outputs: %s", invocation.node_id,
                      ", ".join(sorted(pointer.get("outputs", {}))) or "(none)")
        context["ti"].xcom_push(key=XCOM_RETURN_KEY, value=pointer)
        return self.finish(invocation, pointer)

    def build_pod_request_obj(self, context: Any = None, *, dry_run: bool = False) -> Any:
        """The pod composed by `execute()` (the provider calls this to create it)."""
        from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
        from airflow.sdk.exceptions import AirflowException

        if self.flytepath_pod is None:
            raise AirflowException(
                f"FlytePath node {self.flytepath_node!r}: the pod is composed in execute(), "
                "from the run's spec; use flytepath_airflow.platform.pods."
                "render_pods() to preview pods without a run."
            )
        return PodGenerator.deserialize_model_dict(self.flytepath_pod)

    # -- parts -------------------------------------------------------------------------
    def _settings(self) -> KubernetesSettings:
        from airflow.sdk.exceptions import AirflowFailException

        try:
            return load_kubernetes_settings(self.kubernetes_settings_file)
        except FlytePathError as exc:
            raise AirflowFailException(str(exc)) from exc

    def _base_exit_code(self) -> int | None:
        """Exit code of the base container of the finished pod, or None if it never ran."""
        pod = getattr(self, "remote_pod", None)
        statuses = (pod.status.container_statuses if pod is not None and pod.status else None)
        for status in statuses or []:
            if status.name != self.base_container_name:
                continue
            terminated = status.state.terminated if status.state else None
            if terminated is not None and terminated.exit_code is not None:
                if terminated.reason == "OOMKilled":
                    self.log.error("node %s ran out of memory (OOMKilled); raise its memory "
                                   "limit. Retrying as a system failure.", self.flytepath_node)
                return int(terminated.exit_code)
        return None
