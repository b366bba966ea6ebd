"""Great Expectations 1.x: suites on task boundaries, `gx_validate`, `gx_task`, suites from a
project folder, and the errors for what cannot be loaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Annotated

import great_expectations as gx
import pandas as pd
import pytest

from flytepath_airflow.errors import (
    CompileError,
    FlytePathUserError,
    LiteralValueError,
    TaskExecutionError,
)
from flytepath_airflow.integrations.great_expectations import (
    GXResult,
    GXValidate,
    gx_task,
    gx_validate,
    render_gx_result_html,
    suite_digest,
)
from flytepath_airflow.ir.models import BlobType, DataFrameType
from flytepath_airflow.stores.blob import BlobStore, NodeBlobContext
from flytepath_airflow.types import File, default_engine


def ages_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="ages",
        expectations=[
            gx.expectations.ExpectColumnValuesToNotBeNull(column="age"),
            gx.expectations.ExpectColumnValuesToBeBetween(column="age", min_value=0,
                                                          max_value=130),
        ],
    )


Ages = Annotated[pd.DataFrame, GXValidate(ages_suite)]


@pytest.fixture
def ctx(tmp_path: Path) -> NodeBlobContext:
    return NodeBlobContext(BlobStore(str(tmp_path / "store")), "runs/r/nodes/n/attempt-1",
                           scratch=str(tmp_path / "scratch"))


def test_gx_validate_returns_success_and_statistics() -> None:
    good = gx_validate(pd.DataFrame({"age": [1, 40, 99]}), ages_suite)
    assert good.success and good.suite == "ages"
    assert (good.statistics.evaluated, good.statistics.successful) == (2, 2)
    bad = gx_validate(pd.DataFrame({"age": [1, 200, None]}), ages_suite())
    assert not bad.success
    assert (bad.statistics.unsuccessful, bad.statistics.success_percent) == (2, 0.0)
    between = next(r for r in bad.results if r.expectation.endswith("to_be_between"))
    assert (between.column, between.unexpected_count, between.examples) == ("age", 1, ["200.0"])


def test_the_suite_identity_is_in_the_spec_type() -> None:
    lt = default_engine().to_literal_type(Ages)
    assert isinstance(lt, DataFrameType)
    (ref,) = lt.validation
    assert (ref.library, ref.name, ref.digest) == ("great_expectations", "ages",
                                                   suite_digest(ages_suite()))


def test_a_failing_output_is_a_user_error_naming_the_suite_and_expectation(
        ctx: NodeBlobContext) -> None:
    with pytest.raises(LiteralValueError) as err:
        default_engine().to_literal(pd.DataFrame({"age": [5, 300]}), Ages, ctx, "o0")
    message = str(err.value)
    assert "output 'o0' does not pass Great Expectations suite 'ages'" in message
    assert "expect_column_values_to_be_between on column 'age'" in message
    assert "e.g. 300" in message
    assert "on_failure='report'" in message  # the way out


def test_report_only_lets_a_failing_frame_through(ctx: NodeBlobContext,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    reported = Annotated[pd.DataFrame, GXValidate(ages_suite, on_failure="report")]
    literal = default_engine().to_literal(pd.DataFrame({"age": [300]}), reported, ctx, "o0")
    assert literal["format"] == "parquet"
    assert "does not pass Great Expectations suite 'ages'" in caplog.text


def test_a_file_is_read_and_validated_on_both_sides(ctx: NodeBlobContext,
                                                    tmp_path: Path) -> None:
    checked = Annotated[File, GXValidate(ages_suite)]
    lt = default_engine().to_literal_type(checked)
    assert isinstance(lt, BlobType) and lt.validation[0].name == "ages"
    good = tmp_path / "good.csv"
    good.write_text("age\n3\n44\n")
    literal = default_engine().to_literal(File(str(good)), checked, ctx, "o0")
    assert Path(default_engine().to_python(literal, checked, ctx).path).read_text() \
        == "age\n3\n44\n"
    bad = tmp_path / "bad.csv"
    bad.write_text("age\n3\n-1\n")
    with pytest.raises(LiteralValueError, match="output 'o0' does not pass"):
        default_engine().to_literal(File(str(bad)), checked, ctx, "o0")
    unfiltered = default_engine().to_literal(File(str(bad)), File, ctx, "o1")
    with pytest.raises(LiteralValueError, match="the value as loaded does not pass"):
        default_engine().to_python(unfiltered, checked, ctx)


def _project_with_suite(root: Path) -> None:
    context = gx.get_context(mode="file", project_root_dir=str(root))
    context.suites.add(ages_suite())


def test_a_suite_loads_by_name_from_a_project_folder(tmp_path: Path) -> None:
    _project_with_suite(tmp_path)
    marker = GXValidate("ages", project_dir=str(tmp_path))
    assert marker.ref().digest == suite_digest(ages_suite())  # same expectations, same digest
    assert not gx_validate(pd.DataFrame({"age": [-3]}), marker).success


def test_a_suite_that_cannot_be_loaded_says_where_it_was_declared(tmp_path: Path) -> None:
    with pytest.raises(FlytePathUserError, match=r"test_great_expectations.py:\d+: the GX "
                                                 r"project folder .* has no gx/ folder"):
        GXValidate("ages", project_dir=str(tmp_path)).suite()
    _project_with_suite(tmp_path)
    with pytest.raises(FlytePathUserError, match="suite 'heights' cannot be loaded"):
        GXValidate("heights", project_dir=str(tmp_path)).suite()
    with pytest.raises(CompileError, match="names a suite but no project_dir"):
        GXValidate("ages")
    with pytest.raises(FlytePathUserError, match="expected an ExpectationSuite"):
        GXValidate(lambda: "not a suite").suite()


def test_a_gx_task_must_be_assigned_to_its_own_name() -> None:
    misnamed = gx_task(name="not_in_this_module", suite=ages_suite)
    with pytest.raises(CompileError, match=r"must be assigned to a module-level variable"):
        misnamed.to_spec()


def test_the_result_renders_as_self_contained_html() -> None:
    result = gx_validate(pd.DataFrame({"age": [1, 500]}), ages_suite)
    page = render_gx_result_html(result)
    assert "Great Expectations suite ages: failed" in page
    assert "expect_column_values_to_be_between" in page and "500" in page
    assert "http" not in page and "<script" not in page


def test_a_missing_library_names_the_extra(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import sys
        sys.modules["great_expectations"] = None  # as if not installed
        import pandas as pd
        from flytepath_airflow.errors import MissingDependencyError
        from flytepath_airflow.integrations.great_expectations import gx_validate
        try:
            gx_validate(pd.DataFrame({{"a": [1]}}), "s", project_dir={str(tmp_path)!r})
        except MissingDependencyError as exc:
            print(exc)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert "pip install 'airflow-provider-flytepath[great-expectations]'" in proc.stdout


@pytest.mark.usefixtures("flows_on_path")
def test_workflow_runs_pass_fail_report_and_return_the_result() -> None:
    import gx_flows as flows

    assert flows.gx_boundary(amounts=[1.0, 99.0]) == 2
    with pytest.raises(TaskExecutionError) as err:
        flows.gx_boundary(amounts=[1.0, 500.0])
    assert "node 'checked_orders' failed" in str(err.value)
    assert "does not pass Great Expectations suite 'amounts'" in str(err.value)
    assert flows.gx_report_only(amounts=[500.0]) == 1
    result = flows.gx_as_task(amounts=[1.0, 500.0])
    assert isinstance(result, GXResult) and not result.success
    assert result.statistics.unsuccessful == 1


@pytest.mark.usefixtures("flows_on_path")
def test_a_gx_task_on_a_file_returns_the_result_or_fails_by_option(tmp_path: Path) -> None:
    import gx_flows as flows

    spec = flows.check_csv.to_spec()
    (dataset,) = spec.interface.inputs
    assert isinstance(dataset.type, BlobType) and dataset.type.validation[0].name == "amounts"
    good = tmp_path / "orders.csv"
    good.write_text("order_id,amount\n1,5\n2,50\n")
    result = flows.check_csv(dataset=File(str(good)))
    assert result.success and result.statistics.evaluated == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,amount\n1,500\n")
    with pytest.raises(TaskExecutionError, match="dataset does not pass Great Expectations "
                                                 "suite 'amounts'"):
        flows.check_csv(dataset=File(str(bad)))
