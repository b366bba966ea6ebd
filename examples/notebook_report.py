"""A Jupyter notebook as a typed step of a workflow, with reports (decks) on every step.

A task writes a day-by-day sales file; the notebook examples/notebooks/sales_report.ipynb
reads it (papermill injects the file's path and the target), shows the days over target
and records two typed outputs; a last task turns them into a sentence. The notebook's
rendering is its task's "Notebook" deck, and the two Python tasks attach summaries of
their inputs and outputs (`enable_deck=True`).

    flytepath run examples/notebook_report.py:sales_pipeline --local --json
    flytepath run examples/notebook_report.py:sales_pipeline -i target=120
    flytepath deck RUN_ID sales_report -o report.html

Needs the papermill extra: pip install 'airflow-provider-flytepath[papermill]'.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pandas as pd

from flytepath_airflow import File, kwtypes, task, workflow
from flytepath_airflow.integrations.papermill import NotebookTask

sales_report = NotebookTask(
    name="sales_report",
    notebook_path="notebooks/sales_report.ipynb",
    inputs=kwtypes(sales_path=File, target=float),
    outputs=kwtypes(total=float, days_over_target=int),
    render_deck=True,
)


@task(enable_deck=True)
def write_sales(days: int) -> File:
    """A deterministic month of daily sales, written as CSV."""
    amounts = [round(100 + 40 * math.sin(day / 3), 2) for day in range(days)]
    frame = pd.DataFrame({"day": range(1, days + 1), "amount": amounts})
    path = Path(tempfile.mkdtemp()) / "sales.csv"
    frame.to_csv(path, index=False)
    return File(str(path))


@task(enable_deck=True)
def headline(total: float, days_over_target: int, days: int) -> str:
    """One sentence for the team channel."""
    return f"{total:,.2f} sold in {days} days; {days_over_target} days beat the target."


@workflow
def sales_pipeline(days: int = 30, target: float = 110.0) -> str:
    """Sales file -> notebook report -> headline."""
    sales = write_sales(days=days)
    report = sales_report(sales_path=sales, target=target)
    return headline(total=report.total, days_over_target=report.days_over_target, days=days)
