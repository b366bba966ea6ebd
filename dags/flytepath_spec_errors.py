"""Airflow DAG file that defines no DAG: it turns broken FlytePath specs into an import error.

Airflow shows the error on this file, naming each broken spec file and its problem, while
flytepath_dags.py keeps every good spec's DAG loaded (ADR 0006).
`flytepath dags-file --output DAGS_FOLDER` writes this file and its companion.
"""

from flytepath_airflow.backends.airflow.loader import raise_spec_errors

raise_spec_errors()
