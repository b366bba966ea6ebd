"""Control-flow tests: Airflow, when this process imports it, must not write ~/airflow.

Airflow reads AIRFLOW_HOME when it is first imported (the DAG-structure tests build DAGs
in this process); the runs themselves use the embedded Airflow under FLYTEPATH_HOME.
"""

from __future__ import annotations

import os
import sys
import tempfile

if "airflow" not in sys.modules:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="flytepath-airflow-home-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
