"""Workflows for the integration tests: pandera schemas and GX suites across task edges.

Imported by module name, here and in the task processes (conftest puts this folder on
PYTHONPATH), like a user's workflow module.
"""

from __future__ import annotations

from typing import Annotated

import great_expectations as gx
import pandas as pd
import pandera.pandas as pa
from pandera.typing import DataFrame, Series

from flytepath_airflow import task, workflow
from flytepath_airflow.integrations.great_expectations import GXResult, GXValidate, gx_task


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


def amounts_suite() -> gx.ExpectationSuite:
    """Amounts between 0 and 100, and an order_id column."""
    return gx.ExpectationSuite(
        name="amounts",
        expectations=[
            gx.expectations.ExpectColumnToExist(column="order_id"),
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="amount", min_value=0, max_value=100),
        ],
    )


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


@task
def checked_orders(amounts: list[float]) -> Annotated[pd.DataFrame, GXValidate(amounts_suite)]:
    return frame(amounts)


@task
def reported_orders(
    amounts: list[float],
) -> Annotated[pd.DataFrame, GXValidate(amounts_suite, on_failure="report")]:
    return frame(amounts)


@task
def count(df: pd.DataFrame) -> int:
    return len(df)


check_amounts = gx_task(name="check_amounts", suite=amounts_suite)


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


@workflow
def gx_boundary(amounts: list[float]) -> int:
    return count(df=checked_orders(amounts=amounts))


@workflow
def gx_report_only(amounts: list[float]) -> int:
    return count(df=reported_orders(amounts=amounts))


@workflow
def gx_as_task(amounts: list[float]) -> GXResult:
    return check_amounts(dataset=raw_orders(amounts=amounts))
