"""Suggest the closest known name for a misspelled one.

Must not import: any other FlytePath module, airflow, kubernetes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice closest to `name`, or None when nothing is close enough.

    :param name: what the user wrote.
    :param choices: the valid names; order does not matter (ties go to the smallest name).
    :param cutoff: how similar a choice must be, from 0 (anything) to 1 (identical).
    """
    close = difflib.get_close_matches(name, sorted(set(choices)), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`" Did you mean 'x'?"` for the closest of `choices`, or `""` when none is close.

    :param name: what the user wrote.
    :param choices: the valid names.
    """
    match = closest(name, choices)
    return f" Did you mean '{match}'?" if match else ""


__all__ = ["closest", "did_you_mean"]
