"""Airflow provider metadata, found through the `apache_airflow_provider` entry point.

Airflow calls `get_provider_info()` whenever it discovers providers (every `airflow`
command, the DAG processor, the API server), so this module imports nothing but the
standard library and lists modules as dotted strings for Airflow to import lazily.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

PACKAGE_NAME = "airflow-provider-flytepath"
INTEGRATION = "FlytePath"


def _version() -> str:
    try:
        return metadata.version(PACKAGE_NAME)
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0.0.0"


def _option(description: str, default: str | None, example: str | None = None,
            kind: str = "string") -> dict[str, Any]:
    return {
        "description": description,
        "version_added": "0.1.0",
        "type": kind,
        "example": example,
        "default": default,
    }


def get_provider_info() -> dict[str, Any]:
    """The provider's metadata: name, versions, operator modules and the [flytepath] config."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "FlytePath",
        "description": (
            "Flyte-style typed ML workflows (typed tasks, caching, versions, map tasks, dynamic "
            "workflows) compiled into Apache Airflow DAGs."
        ),
        "versions": [_version()],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["flytepath_airflow.operators.task"],
            }
        ],
        "config": {
            "flytepath": {
                "description": "FlytePath: where compiled specs and run data live, and how "
                               "specs become DAGs.",
                "options": {
                    "specs_dir": _option(
                        "Folder of compiled spec JSON files; the FlytePath DAG file builds "
                        "one DAG per file. FLYTEPATH_SPECS_DIR overrides it. Empty means "
                        "$FLYTEPATH_HOME/specs.",
                        "", "/opt/airflow/flytepath/specs",
                    ),
                    "store_root": _option(
                        "Root URI (local folder or fsspec URL) of run data and blobs, as "
                        "seen by workers. Empty means $FLYTEPATH_HOME/store.",
                        "", "s3://ml-platform/flytepath",
                    ),
                    "global_cache": _option(
                        "Whether tasks with cache scope 'global' share entries across "
                        "tenants (only where the key pins the task's code or image digest). "
                        "False keeps every entry in its tenant. FLYTEPATH_GLOBAL_CACHE "
                        "overrides it.",
                        "True", "False", kind="boolean",
                    ),
                    "metadata_url": _option(
                        "SQLAlchemy URL of the FlytePath metadata database (cache, versions, "
                        "events). Empty means SQLite under $FLYTEPATH_HOME.",
                        "", "postgresql+psycopg2://flytepath@db/flytepath",
                    ),
                    "home": _option(
                        "FlytePath home: where specs_dir, store_root and metadata_url point "
                        "when they are empty, and where each machine unpacks code bundles. "
                        "FLYTEPATH_HOME overrides it. Empty means ~/.flytepath.",
                        "", "/opt/airflow/flytepath",
                    ),
                    "runner": _option(
                        "How a node runs: 'local' (a child process on the worker) or "
                        "'kubernetes' (one pod per node in its tenant's namespace; see the "
                        "kubernetes_* options and docs/kubernetes.md).",
                        "local", "kubernetes",
                    ),
                    "owner": _option(
                        "Airflow owner of every FlytePath task.", "flytepath", "ml-platform",
                    ),
                    "pool_template": _option(
                        "Airflow pool of a tenant not listed in tenant_pools, formatted with "
                        "{project} and {domain}. Empty puts such tenants in default_pool.",
                        "flytepath_{project}_{domain}", "team_{project}",
                    ),
                    "tenant_pools": _option(
                        "Allow-list of tenant pools: 'project/domain=pool[:slots]' entries "
                        "separated by commas; 'project/*' matches every domain.",
                        "", "ml/production=ml_prod:32, ml/*=ml_dev:8",
                    ),
                    "default_pool_slots": _option(
                        "Slots of a tenant pool when FlytePath creates it.",
                        "16", "16", kind="integer",
                    ),
                    "max_active_runs": _option(
                        "Concurrent runs per FlytePath DAG.", "16", "4", kind="integer",
                    ),
                    "default_retry_delay": _option(
                        "Seconds between retries of a task that sets no retry_delay.",
                        "30", "60", kind="float",
                    ),
                    "pool_slots_from_cpu": _option(
                        "A task takes ceil(its CPU request) slots of its tenant pool (at least "
                        "one), so a pool's size reads as cores. False gives every task one "
                        "slot.",
                        "True", "False", kind="boolean",
                    ),
                    "max_pool_slots": _option(
                        "Most pool slots one task takes, whatever its CPU request; a spec "
                        "asking for more is refused.",
                        "64", "8", kind="integer",
                    ),
                    "max_priority_weight": _option(
                        "Largest priority weight (in absolute value) a spec's node may ask "
                        "for; a larger one is refused, so no tenant jumps every queue.",
                        "100", "10", kind="integer",
                    ),
                    "tenant_queues": _option(
                        "Airflow queues each tenant's nodes may name (Airflow's default "
                        "queue is always allowed): comma-separated "
                        "project/domain=queue|queue entries; project/* matches every domain.",
                        "", "ml/production=gpu|cpu, ml/*=cpu",
                    ),
                    "checkpoint_retention": _option(
                        "How long the checkpoints of a succeeded run stay in the store before "
                        "`flytepath checkpoints clear --expired` deletes them (a duration: "
                        "7d, 12h, 0s). FLYTEPATH_CHECKPOINT_RETENTION overrides it. Failed "
                        "runs keep theirs until cleared, for `flytepath recover`.",
                        "7d", "1d",
                    ),
                    "tenant_weights": _option(
                        "Fair share of the tenant pools (flytepath fairshare): comma-separated "
                        "project/domain=weight[:minimum] entries; '*' matches any project or "
                        "domain; an unlisted tenant weighs 1 with no minimum slots.",
                        "", "ml/production=3:4, */production=2, ml/*=1",
                    ),
                    "fair_share_capacity": _option(
                        "Slots the tenant pools share (C) when flytepath fairshare resizes "
                        "them; empty means Airflow's [core] parallelism, read from the REST "
                        "API when [api] expose_config allows it.",
                        "", "32", kind="integer",
                    ),
                    "kubernetes_settings_file": _option(
                        "YAML file of the Kubernetes runner's settings (images, tenants, "
                        "accelerators, spot, pod overrides; docs/kubernetes.md). "
                        "FLYTEPATH_KUBERNETES_SETTINGS overrides it. Empty means the built-in "
                        "defaults, which list no tenant: the Kubernetes runner then refuses "
                        "every spec.",
                        "", "/opt/airflow/flytepath/kubernetes.yaml",
                    ),
                    "default_image": _option(
                        "Image of a pod when neither its task nor its tenant names one; "
                        "replaces default_image of the Kubernetes settings file. Empty keeps the "
                        "file's value (flytepath/task:0.1.0 when the file sets none).",
                        "", "registry.example.com/flytepath/task:0.1.0",
                    ),
                    "kubernetes_conn_id": _option(
                        "Airflow connection of the cluster the task pods run in; replaces "
                        "kubernetes_conn_id of the Kubernetes settings file. Empty keeps the "
                        "file's value (none: the in-cluster configuration, else the "
                        "kubeconfig).",
                        "", "kubernetes_default",
                    ),
                },
            }
        },
    }
