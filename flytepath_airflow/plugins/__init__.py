"""FlytePath's Airflow plugin: what FlytePath adds to a running Airflow.

Airflow finds it through the `airflow.plugins` entry point of the distribution, so
installing the provider is enough. Airflow imports this module in the scheduler, the API
server and the DAG processor: it must stay cheap to import, and everything it registers is
named by dotted path or imported lazily by the parts that use it.

Must not import at module level: the runtime, the stores, pandas.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from flytepath_airflow.plugins.listener import listener as run_listener
from flytepath_airflow.plugins.view import EXTERNAL_VIEWS, FASTAPI_APPS


class FlytePathPlugin(AirflowPlugin):
    """Registers FlytePath's listeners and UI with Airflow."""

    name = "flytepath"
    listeners: list[Any] = [run_listener]
    fastapi_apps: list[Any] = FASTAPI_APPS
    external_views: list[Any] = EXTERNAL_VIEWS
    react_apps: list[Any] = []


__all__ = ["FlytePathPlugin"]
