"""Data validation with pandera and Great Expectations: the example of docs/integrations.md.

Raw orders are loaded, cleaned into a frame that must pass the pandera model `Orders`,
summarised per customer (a `CustomerTotals` frame, pandera again), and checked by a
Great Expectations suite twice: on the boundary of `summarise` (`GXValidate`, which fails
the task) and as a task of its own (`gx_task`, whose typed result the workflow returns).

    flytepath run examples/data_validation.py:validated_orders --local --json
    flytepath run examples/data_validation.py:validated_orders --local -i corrupt=true
    flytepath run examples/data_validation.py:validated_orders --local -i scale=100
    flytepath run examples/data_validation.py:validated_orders

With corrupt=true a negative amount slips into the raw data, and `clean` fails: pandera
names the column, the check and the failing rows. With scale=100 every total is too large
for the suite, and `summarise` fails: GX names the suite and the failing expectation.

Needs: pip install 'airflow-provider-flytepath[pandera,great-expectations]'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import pandas as pd
import pandera.pandas as pa
from pandera.typing import DataFrame, Series

from flytepath_airflow import task, workflow
from flytepath_airflow.integrations.great_expectations import GXResult, GXValidate, gx_task

if TYPE_CHECKING:
    import great_expectations as gx


class Orders(pa.DataFrameModel):
    """Clean orders: one row per order, non-negative amounts, a known currency."""

    order_id: Series[int] = pa.Field(unique=True, gt=0)
    customer: Series[str] = pa.Field(str_length={"min_value": 1})
    amount: Series[float] = pa.Field(ge=0)
    currency: Series[str] = pa.Field(isin=["EUR", "USD"])


class CustomerTotals(pa.DataFrameModel):
    """What a customer spent, over their orders."""

    customer: Series[str] = pa.Field(unique=True)
    total: Series[float] = pa.Field(ge=0)
    orders: Series[int] = pa.Field(ge=1)


def totals_suite() -> gx.ExpectationSuite:
    """Expectations on the per-customer totals (built when first needed, so tasks that do
    not validate with GX never import it: it takes seconds)."""
    import great_expectations as gx

    return gx.ExpectationSuite(
        name="customer_totals",
        expectations=[
            gx.expectations.ExpectColumnValuesToNotBeNull(column="customer"),
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="total", min_value=0, max_value=10_000),
            gx.expectations.ExpectTableRowCountToBeBetween(min_value=1, max_value=1_000),
        ],
    )


def big_spender_suite() -> gx.ExpectationSuite:
    """A stricter suite whose failure is reported, not fatal: nobody above 500."""
    import great_expectations as gx

    return gx.ExpectationSuite(
        name="no_big_spenders",
        expectations=[
            gx.expectations.ExpectColumnValuesToBeBetween(column="total", max_value=500),
        ],
    )


@task
def load_raw(corrupt: bool, scale: float) -> pd.DataFrame:
    """Raw orders as they arrive (the corrupt batch carries a refund booked as an order;
    `scale` multiplies every amount, as a currency mix-up would)."""
    amounts = [120.0 * scale, 35.5 * scale, 610.0 * scale, 12.0 * scale, 99.9 * scale]
    if corrupt:
        amounts[3] = -12.0
    return pd.DataFrame({
        "order_id": [1, 2, 3, 4, 5],
        "customer": ["ada", "bob", "ada", "cy", "bob"],
        "amount": amounts,
        "currency": ["EUR", "EUR", "USD", "EUR", "EUR"],
    })


@task
def clean(raw: pd.DataFrame) -> DataFrame[Orders]:
    """Normalise currencies to upper case; pandera checks the result before it is stored."""
    out = raw.copy()
    out["currency"] = out["currency"].str.upper()
    return out


@task
def summarise(
    orders: DataFrame[Orders],
) -> Annotated[DataFrame[CustomerTotals], GXValidate(totals_suite)]:
    """Totals per customer: validated by pandera (CustomerTotals) and by GX (the suite)."""
    grouped = orders.groupby("customer", as_index=False).agg(
        total=("amount", "sum"), orders=("order_id", "count"))
    return grouped


check_big_spenders = gx_task(name="check_big_spenders", suite=big_spender_suite)


@workflow
def validated_orders(corrupt: bool = False, scale: float = 1.0) -> GXResult:
    """Load, clean, summarise and check the orders; returns the GX result of the last check."""
    totals = summarise(orders=clean(raw=load_raw(corrupt=corrupt, scale=scale)))
    return check_big_spenders(dataset=totals)
