"""`@task(enable_deck=True)`: recorded in the spec, refused when it is not a bool, and in
effect when the task runs in this process (a plain call)."""

from __future__ import annotations

from typing import Any

import pytest

from flytepath_airflow import current_context, task
from flytepath_airflow.errors import CompileError

SEEN: list[Any] = []


@task(enable_deck=True)
def shout(word: str) -> str:
    SEEN.append([deck.name for deck in current_context().decks])
    return word.upper()


@task
def quiet(word: str) -> str:
    SEEN.append([deck.name for deck in current_context().decks])
    return word


def test_enable_deck_is_part_of_the_task_spec() -> None:
    assert shout.to_spec().enable_deck is True
    assert quiet.to_spec().enable_deck is False


def test_the_inputs_summary_exists_when_the_body_runs_and_only_with_the_option() -> None:
    SEEN.clear()
    assert shout(word="hi") == "HI"
    assert quiet(word="hi") == "hi"
    assert SEEN == [["Inputs"], []]


def _body(word: str) -> str:
    return word


def test_enable_deck_must_be_a_bool() -> None:
    with pytest.raises(CompileError, match="enable_deck must be True or False, got 'yes'"):
        task(enable_deck="yes")(_body).to_spec()  # type: ignore[call-overload]  # the wrong type is the point
