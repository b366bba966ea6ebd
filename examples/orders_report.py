"""Every integration in one workflow: pandera, Great Expectations, a notebook and decks.

Orders are loaded into a frame that must pass the pandera model `Orders`; their totals per
customer are checked by a Great Expectations suite on the task boundary; a Jupyter
notebook (examples/notebooks/customer_report.ipynb, run by papermill) reads the totals and
records two typed outputs; every step leaves report pages (decks): the pandera and GX
validation reports, input and output summaries (`enable_deck=True`) and the rendered
notebook.

    flytepath run examples/orders_report.py:orders_report --local --json
    flytepath run examples/orders_report.py:orders_report -i scale=100   # GX fails
    flytepath run examples/orders_report.py:orders_report                # through Airflow
    flytepath deck RUN_ID customer_report -o report.html

docs/integrations.md explains each part. Needs the extras:
pip install 'airflow-provider-flytepath[pandera,great-expectations,papermill]'
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import pandera.pandas as pa
from pandera.typing import DataFrame, Series

from flytepath_airflow import File, kwtypes, task, workflow
from flytepath_airflow.integrations.great_expectations import GXValidate
from flytepath_airflow.integrations.papermill import NotebookTask

if TYPE_CHECKING:
    import great_expectations as gx


class Orders(pa.DataFrameModel):
    """One row per order, with a non-negative amount."""

    order_id: Series[int] = pa.Field(unique=True, gt=0)
    customer: Series[str] = pa.Field(str_length={"min_value": 1})
    amount: Series[float] = pa.Field(ge=0)


def totals_suite() -> gx.ExpectationSuite:
    """What per-customer totals must look like (built only when a task validates)."""
    import great_expectations as gx

    return gx.ExpectationSuite(name="customer_totals", expectations=[
        gx.expectations.ExpectColumnValuesToNotBeNull(column="customer"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="total", min_value=0,
                                                      max_value=10_000),
    ])


customer_report = NotebookTask(
    name="customer_report",
    notebook_path="notebooks/customer_report.ipynb",
    inputs=kwtypes(totals_path=File, limit=float),
    outputs=kwtypes(customers_above=int, top_customer=str),
    render_deck=True,
)


@task(enable_deck=True)
def load_orders(scale: float) -> DataFrame[Orders]:
    """The day's orders; pandera checks them before they are stored."""
    return pd.DataFrame({"order_id": [1, 2, 3, 4, 5],
                         "customer": ["ada", "bob", "ada", "cy", "bob"],
                         "amount": [a * scale for a in (120.0, 35.5, 610.0, 12.0, 99.9)]})


@task(enable_deck=True)
def customer_totals(
    orders: DataFrame[Orders],
) -> Annotated[pd.DataFrame, GXValidate(totals_suite)]:
    """Totals per customer, checked by the GX suite before they are stored."""
    return orders.groupby("customer", as_index=False).agg(total=("amount", "sum"))


@task
def as_csv(frame: pd.DataFrame) -> File:
    """The totals as a CSV file, the form the notebook reads."""
    path = Path(tempfile.mkdtemp()) / "totals.csv"
    frame.to_csv(path, index=False)
    return File(str(path))


@task(enable_deck=True)
def headline(customers_above: int, top_customer: str) -> str:
    """One sentence for the team channel."""
    return f"{customers_above} customers above the limit; the top one is {top_customer}."


@workflow
def orders_report(scale: float = 1.0, limit: float = 100.0) -> str:
    """Load (pandera) -> totals (GX) -> notebook report (papermill) -> headline."""
    totals = customer_totals(orders=load_orders(scale=scale))
    report = customer_report(totals_path=as_csv(frame=totals), limit=limit)
    return headline(customers_above=report.customers_above,
                    top_customer=report.top_customer)
