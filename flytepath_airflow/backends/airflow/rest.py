"""A small client of Airflow's public REST API v2, for tools that run beside Airflow.

`flytepath fairshare` and `flytepath tenants` read and resize pools on any Airflow 3
deployment through the API every user already has, never through Airflow's database:
the controller may run in another pod, with another Airflow version's libraries, or
none. So this module uses the standard library's HTTP client and imports no Airflow.

Authentication is Airflow 3's: a username and password exchanged for a JWT at
`POST /auth/token` (from `FLYTEPATH_AIRFLOW_USERNAME` and `FLYTEPATH_AIRFLOW_PASSWORD`), or
a token in a file (`FLYTEPATH_AIRFLOW_TOKEN_FILE`, read again before each request so a
rotated token is picked up). Neither the password nor a token is ever put in a message.

Every request has a timeout, and every answer a size bound: the API is a remote service
and its answers are input like any other.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flytepath_airflow.errors import FlytePathSystemError, FlytePathUserError

REQUEST_TIMEOUT = 10.0
"""Seconds one request may take, connecting included."""

MAX_ANSWER_BYTES = 16 * 1024 * 1024
"""Largest answer read from the API; a pools page is a few kilobytes."""

MAX_POOLS = 10_000
"""Most pools read in one period (100 pages); more is not a deployment but a mistake."""

PAGE_SIZE = 100
"""Pools per page: Airflow's default `[api] maximum_page_limit`."""

USERNAME_ENV = "FLYTEPATH_AIRFLOW_USERNAME"
PASSWORD_ENV = "FLYTEPATH_AIRFLOW_PASSWORD"
TOKEN_FILE_ENV = "FLYTEPATH_AIRFLOW_TOKEN_FILE"


class AirflowApiError(FlytePathSystemError):
    """The API could not be reached or answered with an error; worth trying again later."""


class AirflowAuthError(FlytePathUserError):
    """No credentials, or the API refused them: trying again will not help."""


@dataclass(frozen=True)
class AirflowCredentials:
    """How to authenticate: a username and password, or a token file.

    :param username: an Airflow user, exchanged with `password` for a token.
    :param password: that user's password (never shown: it is left out of `repr`).
    :param token_file: a file holding a JWT, read before each request.
    """

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 token_file: Path | None = None) -> AirflowCredentials:
        """Credentials from the environment; an explicit `token_file` wins over it.

        :raises AirflowAuthError: neither a token file nor both username and password.
        """
        env = os.environ if environ is None else environ
        token_file = token_file or (Path(env[TOKEN_FILE_ENV]) if env.get(TOKEN_FILE_ENV)
                                    else None)
        username, password = env.get(USERNAME_ENV) or None, env.get(PASSWORD_ENV) or None
        if token_file is None and not (username and password):
            raise AirflowAuthError(
                "no credentials for Airflow's REST API: set FLYTEPATH_AIRFLOW_USERNAME and "
                "FLYTEPATH_AIRFLOW_PASSWORD (an Airflow user allowed to read and edit "
                "pools), or FLYTEPATH_AIRFLOW_TOKEN_FILE / --token-file (a file holding a "
                "token from POST /auth/token)."
            )
        return cls(username=username, password=password, token_file=token_file)


def normalise_api_url(url: str) -> str:
    """The API server's base URL, without a trailing `/` or `/api/v2`.

    :raises FlytePathUserError: not an http(s) URL with a host.
    """
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise FlytePathUserError(
            f"--api-url {url!r} is not an http(s) URL of Airflow's API server; give its base "
            "URL, e.g. http://airflow-api-server:8080 (`[api] base_url` in airflow.cfg)."
        )
    path = parsed.path.rstrip("/")
    if path.endswith("/api/v2"):
        path = path[: -len("/api/v2")]
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path, "", ""))


class AirflowRestClient:
    """Pools and configuration through Airflow's REST API v2.

    :param api_url: the API server's base URL (`http://host:8080`).
    :param credentials: how to authenticate.
    :param timeout: seconds for each request.
    """

    def __init__(self, api_url: str, credentials: AirflowCredentials,
                 timeout: float = REQUEST_TIMEOUT) -> None:
        self.api_url = normalise_api_url(api_url)
        self.credentials = credentials
        self.timeout = timeout
        self._token: str | None = None

    # -- what the controller asks ----------------------------------------------------------

    def pools(self) -> list[dict[str, Any]]:
        """Every pool, as `GET /api/v2/pools` describes it (page by page)."""
        pools: list[dict[str, Any]] = []
        while True:
            page = self._api("GET", "/pools", query={"limit": PAGE_SIZE, "offset": len(pools),
                                                     "order_by": "id"})
            items = page.get("pools") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise AirflowApiError(f"GET {self.api_url}/api/v2/pools answered without a "
                                      "'pools' list; is this Airflow 3's API server?")
            pools.extend(item for item in items if isinstance(item, dict))
            total = page.get("total_entries")
            if not items or not isinstance(total, int) or len(pools) >= total:
                return pools
            if len(pools) >= MAX_POOLS:
                raise AirflowApiError(f"Airflow lists {total} pools; FlytePath reads at most "
                                      f"{MAX_POOLS}.")

    def set_pool_slots(self, name: str, slots: int, include_deferred: bool) -> None:
        """`PATCH /api/v2/pools/{name}?update_mask=slots`: change its size and nothing else.

        Airflow validates a patch of a pool as a whole pool (name and include_deferred
        required, 422 without them) and then writes only the masked fields, so the body
        repeats the pool's current name and include_deferred.
        """
        self._api("PATCH", f"/pools/{urllib.parse.quote(name, safe='')}",
                  query={"update_mask": "slots"},
                  body={"pool": name, "slots": slots, "include_deferred": include_deferred})

    def config_value(self, section: str, option: str) -> str | None:
        """One option of Airflow's configuration, or None when the API does not expose it.

        Airflow answers 403 unless `[api] expose_config` allows it (off by default).
        """
        path = f"/config/section/{section}/option/{option}"
        answer = self._api("GET", path, expect_missing=True)
        if not isinstance(answer, dict):
            return None
        for sect in answer.get("sections") or []:
            for item in (sect.get("options") or []) if isinstance(sect, dict) else []:
                if isinstance(item, dict) and item.get("key") == option:
                    value = item.get("value")
                    return value[0] if isinstance(value, list) and value else str(value)
        return None

    # -- HTTP ------------------------------------------------------------------------------

    def _api(self, method: str, path: str, *, query: Mapping[str, object] | None = None,
             body: Any = None, expect_missing: bool = False) -> Any:
        url = f"{self.api_url}/api/v2{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        for attempt in (1, 2):
            status, answer = self._request(method, url, body, self._bearer())
            if status == 401 and attempt == 1 and self._token is not None:
                self._token = None  # expired: log in again, once
                continue
            break
        if 200 <= status < 300:
            return answer
        if expect_missing and status in (403, 404):
            return None
        if status in (401, 403):
            raise AirflowAuthError(
                f"{method} {url} answered {status}: the Airflow user may not do this. Give "
                "FlytePath a user whose role may read and edit pools (Admin or Op).")
        raise AirflowApiError(f"{method} {url} answered {status}: {_detail(answer)}")

    def _bearer(self) -> str:
        creds = self.credentials
        if creds.token_file is not None:
            try:
                token = creds.token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise AirflowAuthError(
                    f"cannot read the token file {creds.token_file}: {exc.strerror}.") from None
            if not token:
                raise AirflowAuthError(f"the token file {creds.token_file} is empty.")
            return token
        if self._token is not None:
            return self._token
        url = f"{self.api_url}/auth/token"
        status, answer = self._request(
            "POST", url, {"username": creds.username, "password": creds.password}, None)
        if status in (400, 401, 403, 422):
            raise AirflowAuthError(
                f"POST {url} refused the credentials of Airflow user {creds.username!r} "
                f"({status}); check FLYTEPATH_AIRFLOW_USERNAME and "
                "FLYTEPATH_AIRFLOW_PASSWORD.")
        issued = answer.get("access_token") if isinstance(answer, dict) else None
        if not 200 <= status < 300 or not isinstance(issued, str):
            raise AirflowApiError(f"POST {url} answered {status} without a token: "
                                  f"{_detail(answer)}")
        self._token = issued
        return issued

    def _request(self, method: str, url: str, body: Any, token: str | None,
                 ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, _read_json(response, url)
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, _read_json(exc, url, strict=False)
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError,
                ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AirflowApiError(f"{method} {url} failed: {reason}") from None


def _read_json(response: Any, url: str, *, strict: bool = True) -> Any:
    raw = response.read(MAX_ANSWER_BYTES + 1)
    if len(raw) > MAX_ANSWER_BYTES:
        raise AirflowApiError(f"{url} answered more than {MAX_ANSWER_BYTES} bytes.")
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        if strict:
            raise AirflowApiError(f"{url} answered something that is not JSON.") from None
        return raw[:300].decode("utf-8", "replace")


def _detail(answer: Any) -> str:
    if isinstance(answer, dict) and "detail" in answer:
        return str(answer["detail"])[:300]
    return str(answer)[:300]


__all__ = [
    "AirflowApiError",
    "AirflowAuthError",
    "AirflowCredentials",
    "AirflowRestClient",
    "normalise_api_url",
]
