"""Airflow DAG file: one DAG per compiled FlytePath spec in the specs folder.

The folder is FLYTEPATH_SPECS_DIR, else `[flytepath] specs_dir` in airflow.cfg. No user
code is imported here; broken specs are reported by flytepath_spec_errors.py (ADR 0006).
`flytepath dags-file --output DAGS_FOLDER` writes this file and its companion.
"""

from flytepath_airflow.backends.airflow.loader import load_dags

globals().update(load_dags())
