"""What the platform team decides, and the names and pods derived from it.

- `settings`: the `[flytepath]` backend settings (runner, store root, tenant pools, limits).
- `tenancy`: the tenant allow-list (namespace, service account, pool, queue, quota, and
  fair-share weight and borrowing and lending limits).
- `naming`: DAG ids, task ids, run ids and pool slots, computed the same everywhere.
- `pods`: the Kubernetes runner's settings, the checks of what a task may ask of its pod,
  the one function that composes a pod (ADR 0020) and the Pod Security check.

This package sits below `operators/` and `backends/airflow/`, which both use it: it must
not import either of them (nor `cli/`). Airflow and the kubernetes client are imported
only inside the functions that need them, so importing this package never loads them.
"""
