"""@workflow(on_failure=task): a failure node bound to workflow inputs, plus FailureInfo."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flytepath_airflow.errors import CompileError, TypeMismatchError
from flytepath_airflow.ir import InputRef
from flytepath_airflow.sdk.targets import load_target

WriteFlow = Callable[[str, str], str]

TASKS = """
@task
def work(n: int) -> int:
    return n

@task
def report(n: int, err: FailureInfo) -> None:
    print(n, err)

@task
def cleanup(label: str = "x") -> None:
    pass

@task
def needs_other(other: int) -> None:
    pass

@task
def wrong_err(err: str) -> None:
    pass

@task
def wrong_type(n: str) -> None:
    pass
"""


def test_on_failure_compiles_to_a_failure_node(write_flow: WriteFlow) -> None:
    path = write_flow("fail_ok", TASKS + """
@workflow(on_failure=report)
def wf(n: int, m: int = 2) -> int:
    return work(n=n)

@workflow(on_failure=cleanup)
def plain(n: int) -> int:
    return work(n=n)
""")
    spec = load_target(f"{path}:wf")
    node = spec.on_failure
    assert node is not None and node.id == "on_failure" and node.kind == "task"
    assert node.task is not None and node.task.endswith(".report")
    assert node.inputs == {"n": InputRef(name="n")}  # err is filled in by the runtime
    err = spec.tasks[node.task].interface.input("err")
    assert err is not None and err.type.kind == "struct"
    assert [f.name for f in err.type.fields] == ["failed_node", "message", "kind"]  # type: ignore[union-attr]
    assert spec.node("on_failure") is node
    assert load_target(f"{path}:plain").on_failure.inputs == {}  # type: ignore[union-attr]


@pytest.mark.parametrize(("handler", "error", "message"), [
    ("needs_other", CompileError, "input 'other' is not an input of the workflow"),
    ("wrong_err", CompileError, "must be annotated `err: FailureInfo`"),
    ("wrong_type", TypeMismatchError, "input 'n' expects str but workflow input 'n' is int"),
    ("wf_other", CompileError, "on_failure must be a @task"),
])
def test_bad_failure_handlers_are_refused(write_flow: WriteFlow, handler: str,
                                          error: type[Exception], message: str) -> None:
    path = write_flow("fail_bad", TASKS + f"""
@workflow
def wf_other(n: int) -> int:
    return work(n=n)

@workflow(on_failure={handler})
def wf(n: int) -> int:
    return work(n=n)
""")
    with pytest.raises(error) as err:
        load_target(f"{path}:wf")
    assert message in str(err.value)
    assert "wf" in str(err.value)
