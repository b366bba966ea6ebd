"""Validation of every id the FlytePath view takes from a URL or a form.

Ids become store keys (`runs/<run_id>/nodes/<node_id>/...`) and database filters, so each
is checked against the alphabet FlytePath itself produces before anything is looked up:
nothing a request sends can name a path outside the store.

Must not import: the stores, the runtime, Airflow (it is pure string checking).
"""

from __future__ import annotations

import re

from fastapi import HTTPException, status

# Run ids are `sanitize_run_id` output; node ids add `[i]` for map items; names are the
# project, domain and workflow names the compiler accepts; versions and cache keys are hex
# digests (other alphabets kept for keys written by older stores).
_PATTERNS = {
    "run id": re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,299}"),
    "node id": re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._\[\]-]{0,249}"),
    "name": re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,249}"),
    "version": re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}"),
    "cache key": re.compile(r"[0-9A-Za-z_-]{1,128}"),
}


def checked(value: str, what: str) -> str:
    """`value` when it is a well-formed `what`; otherwise a 400 saying what is allowed.

    :param value: the id from the request.
    :param what: one of "run id", "node id", "name", "version", "cache key".
    """
    if _PATTERNS[what].fullmatch(value) and ".." not in value:
        return value
    shown = value if len(value) <= 80 else value[:77] + "..."
    raise HTTPException(
        status.HTTP_400_BAD_REQUEST,
        f"{shown!r} is not a valid {what}: FlytePath {what}s use letters, digits, '.', '_' "
        "and '-' (node ids also '[' and ']'), never '..'. Copy the id from a FlytePath page "
        "or `flytepath executions`.",
    )


__all__ = ["checked"]
