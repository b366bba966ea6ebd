"""Did-you-mean suggestions for misspelled names."""

from __future__ import annotations

from flytepath_airflow.utils.suggest import closest, did_you_mean


def test_closest_finds_a_near_name_and_nothing_for_a_far_one() -> None:
    assert closest("retires", ["retries", "timeout", "cache"]) == "retries"
    assert closest("zzzz", ["retries", "timeout"]) is None


def test_did_you_mean_is_a_sentence_or_empty() -> None:
    assert did_you_mean("trian", ["train", "evaluate"]) == " Did you mean 'train'?"
    assert did_you_mean("zzzz", ["train"]) == ""
