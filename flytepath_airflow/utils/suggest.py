"""Suggest the closest known name for a misspelled one, and find the dotted names
(`module.function`) a short name stands for.

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


def dotted_suffix_matches(name: str, choices: Iterable[str]) -> list[str]:
    """The choices `name` may stand for: itself when it is one, else every dotted name that
    ends with it after a dot (`training_pipeline` and `ml_pipeline.training_pipeline` both
    stand for `examples.ml_pipeline.training_pipeline`), sorted.

    :param name: what the user wrote: a full dotted name or its last parts.
    :param choices: the full names.
    """
    known = set(choices)
    if name in known:
        return [name]
    return sorted(choice for choice in known if choice.endswith("." + name))


def closest_dotted(name: str, choices: Iterable[str]) -> str | None:
    """The full dotted name closest to `name`, comparing it with each choice and with each
    choice's last part (a misspelt short name is far from the full one), or None.

    :param name: what the user wrote.
    :param choices: the full names.
    """
    known = sorted(set(choices))
    match = closest(name, known)
    if match is not None:
        return match
    by_last = {choice.rsplit(".", 1)[-1]: choice for choice in reversed(known)}
    last = closest(name, by_last)
    return by_last[last] if last is not None else None


__all__ = ["closest", "closest_dotted", "did_you_mean", "dotted_suffix_matches"]
