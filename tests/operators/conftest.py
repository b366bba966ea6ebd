"""Operator tests run without a metadata DB; Airflow gets a private AIRFLOW_HOME."""

from __future__ import annotations

import os
import sys
import tempfile

if "airflow" not in sys.modules:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="flytepath-airflow-home-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
