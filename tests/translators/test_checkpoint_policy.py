"""The `checkpoint=` policy from both front-ends lands in the TaskSpec and the version."""

from __future__ import annotations

import pytest

from flytepath_airflow import CheckpointPolicy, task, workflow
from flytepath_airflow.errors import CompileError, SpecError
from flytepath_airflow.ir.models import CheckpointSpec
from flytepath_airflow.sdk.compiler import compile_workflow
from flytepath_airflow.translators.yaml import compile_yaml_text

YAML = """\
name: looped
inputs:
  n: int
tasks:
  loop:
    inputs:
      n: int
    outputs:
      total: int
    fn: mypkg.loops:loop
{policy}
nodes:
  - id: loop
    inputs:
      n: ${{{{ inputs.n }}}}
outputs:
  total: ${{{{ nodes.loop.outputs.total }}}}
"""


def _yaml(policy: str) -> CheckpointSpec | None:
    spec = compile_yaml_text(YAML.format(policy=policy), "looped.yaml")
    return spec.tasks["loop"].checkpoint


def test_yaml_policies():
    assert _yaml("") is None
    assert _yaml("    checkpoint: true") is None
    assert _yaml("    checkpoint: false") == CheckpointSpec(enabled=False)
    assert _yaml("    checkpoint: {keep: 2, load: fresh}") == CheckpointSpec(keep=2,
                                                                          load="fresh")


@pytest.mark.parametrize(("policy", "says"), [
    ("    checkpoint: {keep: 0}", "keep is how many attempts"),
    ("    checkpoint: {load: eager}", "load is resume"),
    ("    checkpoint: {kept: 2}", "Did you mean 'keep'"),
])
def test_yaml_refuses_a_bad_policy_where_it_is_written(policy, says):
    with pytest.raises(SpecError, match=says) as info:
        _yaml(policy)
    assert "looped.yaml" in str(info.value)


def _loop(n: int) -> int:
    return n


def _flow(**options):  # type: ignore[no-untyped-def]
    loop = task(**options)(_loop)

    def looped(n: int) -> int:
        return loop(n=n)

    looped.__qualname__ = "looped"
    return compile_workflow(workflow(looped))


def test_the_sdk_option_and_the_version():
    default, off = _flow(), _flow(checkpoint=False)
    fresh = _flow(checkpoint=CheckpointPolicy(keep=1, load="fresh"))
    assert next(iter(default.tasks.values())).checkpoint is None
    assert next(iter(off.tasks.values())).checkpoint == CheckpointSpec(enabled=False)
    assert next(iter(fresh.tasks.values())).checkpoint == CheckpointSpec(keep=1, load="fresh")
    # The policy is part of what a version hashes; the default leaves old versions alone.
    assert len({default.version, off.version, fresh.version}) == 3
    assert _flow(checkpoint=True).version == default.version


def test_the_sdk_refuses_a_bad_policy():
    with pytest.raises(CompileError, match="checkpoint must be True, False or"):
        task(checkpoint="yes")(_loop).to_spec()  # type: ignore[arg-type]
    with pytest.raises(CompileError, match="keep"):
        task(checkpoint=CheckpointPolicy(keep=0))(_loop).to_spec()
