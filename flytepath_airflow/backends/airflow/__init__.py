"""The Airflow backend: compiled specs become Airflow DAGs whose tasks run `flytepath-execute`.

- `dag_builder.build_dag(spec, settings, spec_uri=...)`: the pure spec -> DAG function.
- `AirflowBackendSettings` (from `platform.settings`): runner, store root, tenant pools, limits.
- `loader`: what the DAG files in `dags/` call (one DAG per spec file in the specs folder).
- `dag_files`: those two DAG files, shipped in the wheel (`flytepath dags-file` writes them).
- `render`: a text view of the DAG a spec would become, without Airflow.

Importing this package does not import Airflow: `build_dag` imports it when it builds a DAG.
"""

from __future__ import annotations

from flytepath_airflow.backends.airflow.dag_builder import build_dag
from flytepath_airflow.platform.settings import AirflowBackendSettings

__all__ = ["AirflowBackendSettings", "build_dag"]
