"""A small, realistic ML pipeline: the job `make demo` runs.

Synthetic customer data -> pandas feature engineering -> a scikit-learn model trained on a
train split -> evaluation on the held-out split -> a typed metrics report.

    flytepath run examples/ml_pipeline.py:training_pipeline -i n_rows=2000
    flytepath run examples/ml_pipeline.py:training_pipeline --local --json
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

import numpy as np
import pandas as pd

from flytepath_airflow import Resources, current_context, task, workflow


class ModelKind(Enum):
    """Which classifier to train."""

    LOGISTIC = "logistic"
    FOREST = "forest"


@dataclass
class TrainingConfig:
    """Hyperparameters of the training step."""

    model: ModelKind = ModelKind.LOGISTIC
    regularization: float = 1.0
    n_trees: int = 50


@dataclass
class Metrics:
    """Held-out evaluation of a trained model."""

    accuracy: float
    precision: float
    recall: float
    auc: float
    n_test: int


class Split(NamedTuple):
    train: pd.DataFrame
    test: pd.DataFrame


@task(requests=Resources(cpu="1", mem="1Gi"))
def generate_data(n_rows: int, seed: int) -> pd.DataFrame:
    """Make synthetic customer records with a churn label that depends on them.

    Args:
        n_rows: number of customers.
        seed: random seed, so the data is reproducible.
    """
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n_rows)
    monthly = rng.normal(70, 25, n_rows).clip(10, 200)
    tickets = rng.poisson(1.5, n_rows)
    contract = rng.choice(["monthly", "yearly", "two_year"], n_rows, p=[0.55, 0.3, 0.15])
    logit = (-1.2 - 0.045 * tenure + 0.02 * monthly + 0.45 * tickets
             + np.where(contract == "monthly", 1.1, -0.6))
    churned = rng.random(n_rows) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({
        "tenure_months": tenure,
        "monthly_charges": monthly.round(2),
        "support_tickets": tickets,
        "contract": contract,
        "churned": churned.astype(int),
    })


@task
def engineer_features(raw: pd.DataFrame, test_fraction: float, seed: int) -> Split:
    """Derive model features and split into train and test sets."""
    df = raw.copy()
    df["total_spend"] = df["tenure_months"] * df["monthly_charges"]
    df["tickets_per_year"] = df["support_tickets"] / (df["tenure_months"] / 12).clip(lower=1)
    df = pd.get_dummies(df, columns=["contract"], dtype=float)
    shuffled = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    n_test = max(1, int(len(shuffled) * test_fraction))
    current_context().logging.info("split %d rows: %d test", len(shuffled), n_test)
    return Split(train=shuffled.iloc[n_test:].reset_index(drop=True),
                 test=shuffled.iloc[:n_test].reset_index(drop=True))


def _features(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["churned"]).astype(float)


@task(retries=2, cache=True, cache_version="1")
def train_model(train: pd.DataFrame, config: TrainingConfig) -> bytes:
    """Fit the classifier and return it serialized (joblib-free: pickle of sklearn)."""
    import pickle

    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if config.model is ModelKind.FOREST:
        model = RandomForestClassifier(n_estimators=config.n_trees, random_state=0)
    else:
        model = make_pipeline(StandardScaler(),
                              LogisticRegression(C=config.regularization, max_iter=500))
    model.fit(_features(train), train["churned"])
    return pickle.dumps(model)


@task
def evaluate(model: bytes, test: pd.DataFrame) -> Metrics:
    """Score the model on the held-out split."""
    import pickle

    from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

    clf = pickle.loads(model)
    x, y = _features(test), test["churned"]
    predicted = clf.predict(x)
    return Metrics(
        accuracy=round(float(accuracy_score(y, predicted)), 4),
        precision=round(float(precision_score(y, predicted, zero_division=0)), 4),
        recall=round(float(recall_score(y, predicted, zero_division=0)), 4),
        auc=round(float(roc_auc_score(y, clf.predict_proba(x)[:, 1])), 4),
        n_test=len(test),
    )


@task
def report(metrics: Metrics, config: TrainingConfig) -> str:
    """A one-paragraph summary for people."""
    verdict = "ready for review" if metrics.auc >= 0.7 else "below the 0.70 AUC bar"
    return (f"{config.model.value} model: AUC {metrics.auc:.3f}, accuracy "
            f"{metrics.accuracy:.3f}, precision {metrics.precision:.3f}, recall "
            f"{metrics.recall:.3f} on {metrics.n_test} held-out customers; {verdict}.")


class PipelineResult(NamedTuple):
    metrics: Metrics
    summary: str


@workflow
def training_pipeline(
    n_rows: int = 2000,
    seed: int = 7,
    test_fraction: float = 0.25,
    config: TrainingConfig = TrainingConfig(),
) -> PipelineResult:
    """Train and evaluate a churn model on synthetic customer data.

    Args:
        n_rows: number of synthetic customers.
        seed: random seed for data and split.
        test_fraction: share of rows held out for evaluation.
        config: model hyperparameters.
    """
    raw = generate_data(n_rows=n_rows, seed=seed)
    split = engineer_features(raw=raw, test_fraction=test_fraction, seed=seed)
    model = train_model(train=split.train, config=config)
    metrics = evaluate(model=model, test=split.test)
    return PipelineResult(metrics=metrics, summary=report(metrics=metrics, config=config))
