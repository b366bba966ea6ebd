"""Platform tests: Airflow (imported by the pod mutation hook step) gets a private AIRFLOW_HOME.

Airflow reads AIRFLOW_HOME when it is first imported; pointing it at a temporary folder
keeps these tests from writing ~/airflow on a developer's machine.
"""

from __future__ import annotations

import os
import sys
import tempfile

if "airflow" not in sys.modules:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="flytepath-airflow-home-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
