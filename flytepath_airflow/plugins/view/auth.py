"""Who may see and change what in the FlytePath view: Airflow's own auth manager decides.

The Airflow UI keeps its JWT in the `_token` cookie on the API server's origin; this app is
mounted on that server, so the browser sends the cookie here too (and API clients send
`Authorization: Bearer`). `airflow.api_fastapi.core_api.security.get_user` turns either into
the auth manager's user (401 without one, 403 for a bad token), exactly as Airflow's own
routes do. A FlytePath run, version or cache entry belongs to the DAG of its workflow
(`project.domain.workflow`); reading it needs read access (GET) on that DAG, and evicting a
cache entry needs edit access (PUT), the right Airflow asks for to change a DAG.

Must not import: the stores or the runtime (callers pass DAG ids).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
from airflow.api_fastapi.core_api.security import get_user
from airflow.configuration import conf
from fastapi import Depends, HTTPException, Request, status

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import ResourceMethod
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

CurrentUser = Annotated["BaseUser", Depends(get_user)]
"""The signed-in Airflow user (the same dependency Airflow's REST API uses)."""

_WHAT = {"GET": "read", "PUT": "edit"}


def _team_of(dag_id: str) -> str | None:
    if not conf.getboolean("core", "multi_team", fallback=False):
        return None
    # Lazy: the DAG model loads Airflow's ORM; only multi-team deployments need it.
    from airflow.models.dag import DagModel

    return DagModel.get_team_name(dag_id)


def may_access_dag(user: BaseUser, dag_id: str | None, method: ResourceMethod) -> bool:
    """Whether Airflow's auth manager lets `user` do `method` on DAG `dag_id`.

    :param user: the signed-in user.
    :param dag_id: the DAG; None asks about every DAG.
    :param method: "GET" to read, "PUT" to edit.
    """
    details = DagDetails(id=dag_id, team_name=_team_of(dag_id) if dag_id else None)
    return bool(get_auth_manager().is_authorized_dag(method=method, details=details,
                                                     user=user))


def require_dag_access(user: BaseUser, dag_id: str | None, method: ResourceMethod,
                       action: str) -> None:
    """Raise 403 with a message naming the user, the DAG and the right that is missing.

    :param user: the signed-in user.
    :param dag_id: the DAG the object belongs to (None: every DAG).
    :param method: "GET" or "PUT".
    :param action: what the user tried, e.g. "evict cache entries".
    """
    if may_access_dag(user, dag_id, method):
        return
    where = f"DAG '{dag_id}'" if dag_id else "every DAG (the owner run is unknown)"
    raise HTTPException(
        status.HTTP_403_FORBIDDEN,
        f"user '{user.get_name()}' may not {action} of {where}: that needs "
        f"{_WHAT.get(method, method)} rights on the DAG in Airflow's auth manager. Ask an "
        "Airflow admin for them, or ask someone who has them.",
    )


def require_same_origin(request: Request) -> None:
    """Refuse a state-changing request sent from another site (the cookie would ride along).

    Browsers send `Origin` on every POST; a form posted from another site carries that
    site's origin. Requests without the header (API clients with a bearer token) pass.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "")
    if urlsplit(origin).netloc != host:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"refusing a request from origin {origin!r}: FlytePath changes state only for "
            f"pages served by this Airflow ({host}).",
        )


__all__ = ["CurrentUser", "may_access_dag", "require_dag_access", "require_same_origin"]
