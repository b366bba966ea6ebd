"""Great Expectations workflows for the integration tests: a suite on a task boundary,
reported only, and as a task of its own.

Imported by module name, here and in the task processes (conftest puts this folder on
PYTHONPATH), like a user's workflow module.
"""

from __future__ import annotations

from typing import Annotated

import great_expectations as gx
import pandas as pd

from flytepath_airflow import task, workflow
from flytepath_airflow.integrations.great_expectations import GXResult, GXValidate, gx_task


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
def gx_boundary(amounts: list[float]) -> int:
    return count(df=checked_orders(amounts=amounts))


@workflow
def gx_report_only(amounts: list[float]) -> int:
    return count(df=reported_orders(amounts=amounts))


@workflow
def gx_as_task(amounts: list[float]) -> GXResult:
    return check_amounts(dataset=raw_orders(amounts=amounts))


check_csv = gx_task(name="check_csv", suite=amounts_suite, data="file", on_failure="fail")
