"""The FlytePath view inside the Airflow UI: what the plugin registers, built lazily.

Airflow imports the plugin in every component (scheduler, DAG processor, workers), so this
module only names things: `ViewApp` is an ASGI app that builds the real FastAPI app
(`app.py`, which loads the stores and the runtime) on its first request, which only ever
happens in the API server. `EXTERNAL_VIEWS` puts the view in the UI's navigation and as
tabs of a DAG run and of a task instance (ADR 0029).

Must not import at module level: FastAPI, the stores, the runtime, Airflow models.
"""

from __future__ import annotations

import threading
from typing import Any

VIEW_PREFIX = "/flytepath"
"""Where Airflow's API server mounts the view."""


class ViewApp:
    """An ASGI app that creates the view's FastAPI app on first use."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    # Lazy: building the app imports FastAPI, Jinja, the stores and the
                    # runtime; components that never serve HTTP must not pay for that.
                    from flytepath_airflow.plugins.view.app import create_app

                    self._app = create_app()
        await self._app(scope, receive, send)


FASTAPI_APPS: list[dict[str, Any]] = [
    {"app": ViewApp(), "url_prefix": VIEW_PREFIX, "name": "FlytePath view"},
]

EXTERNAL_VIEWS: list[dict[str, Any]] = [
    {"name": "FlytePath", "href": f"{VIEW_PREFIX}/", "destination": "nav",
     "url_route": "flytepath"},
    {"name": "FlytePath run", "href": f"{VIEW_PREFIX}/dagrun/{{DAG_ID}}/{{RUN_ID}}",
     "destination": "dag_run", "url_route": "flytepath_run"},
    {"name": "FlytePath node",
     "href": f"{VIEW_PREFIX}/ti/{{DAG_ID}}/{{RUN_ID}}/{{TASK_ID}}",
     "destination": "task_instance", "url_route": "flytepath_node"},
]

__all__ = ["EXTERNAL_VIEWS", "FASTAPI_APPS", "VIEW_PREFIX", "ViewApp"]
