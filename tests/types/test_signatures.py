"""Docstrings become descriptions of a task and of each of its inputs."""

from __future__ import annotations

from flytepath_airflow.types.signatures import parse_docstring


def test_google_style_args_become_input_descriptions() -> None:
    doc = """Train a model.

    Fits a linear model on the data.

    Args:
        data: the training rows,
            one per example.
        c: regularization strength.

    Returns:
        the fitted model.

    Raises:
        ValueError: the data is empty.
    """
    description, params = parse_docstring(doc)
    assert description == "Train a model.\n\nFits a linear model on the data."
    assert params == {"data": "the training rows,\none per example.",
                      "c": "regularization strength."}


def test_sphinx_style_params_become_input_descriptions() -> None:
    description, params = parse_docstring("Score rows.\n\n:param df: rows to score.\n")
    assert description == "Score rows."
    assert params == {"df": "rows to score."}


def test_no_docstring_has_no_description() -> None:
    assert parse_docstring(None) == (None, {})
    assert parse_docstring("") == (None, {})
