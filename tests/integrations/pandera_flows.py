"""pandera workflows for the integration tests: schemas across task edges.

Imported by module name, here and in the task processes (conftest puts this folder on
PYTHONPATH), like a user's workflow module.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import DataFrame, Series

from flytepath_airflow import task, workflow


class Orders(pa.DataFrameModel):
    """Orders with a positive id and a non-negative amount."""

    order_id: Series[int] = pa.Field(gt=0)
    amount: Series[float] = pa.Field(ge=0)


class PremiumOrders(Orders):
    """Orders of premium customers: a subclass, so usable wherever Orders is expected."""

    tier: Series[str] = pa.Field(isin=["gold", "platinum"])


class Refunds(pa.DataFrameModel):
    """Not an Orders: same columns, different meaning."""

    order_id: Series[int]
    amount: Series[float] = pa.Field(le=0)


def frame(amounts: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"order_id": list(range(1, len(amounts) + 1)), "amount": amounts})


@task
def raw_orders(amounts: list[float]) -> pd.DataFrame:
    return frame(amounts)


@task
def orders(amounts: list[float]) -> DataFrame[Orders]:
    return frame(amounts)


@task
def premium(amounts: list[float]) -> DataFrame[PremiumOrders]:
    out = frame(amounts)
    out["tier"] = "gold"
    return out


@task
def refunds(amounts: list[float]) -> DataFrame[Refunds]:
    return frame(amounts)


@task
def total(df: DataFrame[Orders]) -> float:
    return float(df["amount"].sum())


@workflow
def pandera_chain(amounts: list[float]) -> float:
    return total(df=orders(amounts=amounts))


@workflow
def subclass_edge(amounts: list[float]) -> float:
    return total(df=premium(amounts=amounts))


@workflow
def raw_edge(amounts: list[float]) -> float:
    return total(df=raw_orders(amounts=amounts))


@workflow
def wrong_edge(amounts: list[float]) -> float:
    return total(df=refunds(amounts=amounts))
