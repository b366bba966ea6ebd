"""Did-you-mean suggestions for misspelled names."""

from __future__ import annotations

from flytepath_airflow.utils.suggest import (
    closest,
    closest_dotted,
    did_you_mean,
    dotted_suffix_matches,
)


def test_closest_finds_a_near_name_and_nothing_for_a_far_one() -> None:
    assert closest("retires", ["retries", "timeout", "cache"]) == "retries"
    assert closest("zzzz", ["retries", "timeout"]) is None


def test_did_you_mean_is_a_sentence_or_empty() -> None:
    assert did_you_mean("trian", ["train", "evaluate"]) == " Did you mean 'train'?"
    assert did_you_mean("zzzz", ["train"]) == ""


def test_dotted_suffix_matches_takes_a_full_name_or_its_last_parts() -> None:
    names = ["ml_pipeline.training_pipeline", "pkg.ml_pipeline.training_pipeline",
             "ml_pipeline.scoring", "other.pipeline"]
    assert dotted_suffix_matches("ml_pipeline.scoring", names) == ["ml_pipeline.scoring"]
    assert dotted_suffix_matches("scoring", names) == ["ml_pipeline.scoring"]
    assert dotted_suffix_matches("training_pipeline", names) == [
        "ml_pipeline.training_pipeline", "pkg.ml_pipeline.training_pipeline"]
    # A full name is itself even when a longer one ends with it.
    assert dotted_suffix_matches("ml_pipeline.training_pipeline", names) == [
        "ml_pipeline.training_pipeline"]
    # Only whole parts: "pipeline" is not the end of "training_pipeline".
    assert dotted_suffix_matches("pipeline", names) == ["other.pipeline"]


def test_closest_dotted_compares_short_names_too() -> None:
    names = ["examples.ml_pipeline.training_pipeline", "examples.ml_pipeline.scoring"]
    assert closest_dotted("trainig_pipeline", names) == "examples.ml_pipeline.training_pipeline"
    assert closest_dotted("zzzz", names) is None
