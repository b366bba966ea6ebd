"""Both front-ends apply the naming rules (ADR 0033) before a spec exists: a bad project,
domain, workflow, task or node name is a user error that names it, the rule and an
example."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.names import InvalidNameError
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.translators.yaml import compile_yaml_text

YAML = """\
name: scoring
project: ml
tasks:
  prep:
    outputs:
      n: int
    script: echo 1 > "$FLYTEPATH_OUTPUT_DIR/n"
nodes:
  - id: prep
"""


def _flow(tmp_path: Path) -> str:
    path = tmp_path / f"names_{re.sub(r'[^A-Za-z0-9_]', '_', tmp_path.name)}.py"
    path.write_text(textwrap.dedent("""
        from flytepath_airflow import task, workflow

        @task
        def double(n: int) -> int:
            return n * 2

        @workflow
        def wf(n: int = 2) -> int:
            return double(n=n)
    """))
    return f"{path}:wf"


@pytest.mark.parametrize(("project", "domain", "problem"), [
    ("a/b", "development", "project 'a/b' contains a path separator '/'"),
    ("", "development", "project '' is empty"),
    ("ml", "../prod", "domain '../prod' contains a path separator '/'"),
    ("ml", "Prod", "domain 'Prod' contains upper-case letters"),
])
def test_python_compile_refuses_a_bad_tenant(tmp_path: Path, project: str, domain: str,
                                             problem: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        load_target(_flow(tmp_path), project=project, domain=domain)
    assert problem in str(caught.value) and "Use a name like" in str(caught.value)


def test_a_compiled_json_spec_cannot_be_moved_to_a_bad_tenant(tmp_path: Path) -> None:
    from flytepath_airflow.ir.spec_io import dump_spec

    spec = load_target(_flow(tmp_path))
    (tmp_path / "wf.json").write_text(dump_spec(spec))
    with pytest.raises(InvalidNameError, match="project '' is empty"):
        load_target(str(tmp_path / "wf.json"), project="")


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("project: ml", "project: ML team", "project 'ML team' contains upper-case letters"),
    ("project: ml", "project: a.b", "project 'a.b' contains '.'"),
    ("name: scoring", "name: ../scoring", "not valid"),
    ("name: scoring", "name: " + "w" * 121, "at most 120 characters"),
    ("  - id: prep", "  - id: prep\n    task: prep\n  - id: " + "n" * 121 + "\n    task: prep",
     "at most 120 characters"),
])
def test_yaml_compile_refuses_bad_names_with_their_line(old: str, new: str,
                                                       expected: str) -> None:
    with pytest.raises(FlytePathUserError) as caught:
        compile_yaml_text(YAML.replace(old, new, 1), "pipeline.yaml")
    assert expected in str(caught.value)
    assert "pipeline.yaml" in str(caught.value)


def test_yaml_tenant_override_is_checked() -> None:
    with pytest.raises(InvalidNameError, match="project 'a/b' contains a path separator"):
        compile_yaml_text(YAML, "pipeline.yaml", project="a/b")
    doc = compile_yaml_text(YAML, "pipeline.yaml", project="ml-team", domain="staging")
    assert (doc.tenant.project, doc.tenant.domain) == ("ml-team", "staging")


def test_a_launch_plan_name_follows_the_rules(tmp_path: Path) -> None:
    target = _flow(tmp_path)
    module = target.rsplit(":", 1)[0]
    with open(module, "a") as fh:
        fh.write("\nfrom flytepath_airflow import LaunchPlan\n"
                 "nightly = LaunchPlan.get_or_create(wf, 'nightly run/1')\n")
    with pytest.raises(InvalidNameError, match="launch plan name 'nightly run/1'"):
        load_target(target.replace(":wf", ":nightly"), allow_launch_plan=True)
