"""Kubernetes quantities: the grammar, the task rules, and messages naming task and field."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.models import PodOverridesSpec, ResourceList, ResourcesSpec
from flytepath_airflow.ir.quantities import (
    QuantityError,
    check_quantity,
    check_resources,
    parse_quantity,
)


@pytest.mark.parametrize(("text", "value"), [
    ("2", Decimal(2)),
    ("500m", Decimal("0.5")),
    ("1.5", Decimal("1.5")),
    (".5", Decimal("0.5")),
    ("1.", Decimal(1)),
    ("8Gi", Decimal(8 * 1024**3)),
    ("1Ki", Decimal(1024)),
    ("2k", Decimal(2000)),
    ("1M", Decimal(10**6)),
    ("1E", Decimal(10**18)),
    ("1Ei", Decimal(1024**6)),
    ("1e3", Decimal(1000)),
    ("5E-2", Decimal("0.05")),
    ("+3", Decimal(3)),
    (4, Decimal(4)),
    (0.25, Decimal("0.25")),
])
def test_parse_quantity_follows_the_kubernetes_grammar(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize(("text", "why"), [
    ("2 cores", "contains spaces"),
    (" 2", "contains spaces"),
    ("1GB", "unknown suffix 'GB'"),
    ("1gi", "unknown suffix 'gi'"),
    ("1e", "unknown suffix 'e'"),
    ("Gi", "not a number"),
    ("1.2.3", "not a number"),
    ("", "empty"),
    ("--1", "not a number"),
])
def test_parse_quantity_rejects_what_kubernetes_rejects(text, why):
    with pytest.raises(QuantityError, match=why):
        parse_quantity(text)


def test_parse_quantity_rejects_booleans():
    with pytest.raises(QuantityError, match="boolean"):
        parse_quantity(True)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "field", "why"), [
    ("-1Gi", "mem", "negative"),
    ("-1", "cpu", "negative"),
    ("0.5", "gpu", "whole number"),
    ("500m", "mem", "fraction of a byte"),
    ("1500m", "ephemeral_storage", "fraction of a byte"),
])
def test_check_quantity_applies_the_task_rules(value, field, why):
    with pytest.raises(QuantityError, match=why):
        check_quantity(value, field)


def test_check_quantity_accepts_usual_values():
    assert check_quantity("250m", "cpu") == Decimal("0.25")
    assert check_quantity("1", "gpu") == 1
    assert check_quantity("0", "gpu") == 0


def test_check_resources_names_the_task_and_field_and_how_to_fix():
    bad = ResourcesSpec(requests=ResourceList(cpu="2 cores"))
    with pytest.raises(CompileError) as err:
        check_resources(bad, "pkg.train", "pipeline.py:12")
    text = str(err.value)
    assert "task 'pkg.train' (pipeline.py:12)" in text
    assert "requests.cpu '2 cores'" in text
    assert '"500m"' in text


def test_check_resources_rejects_negative_memory_limit():
    with pytest.raises(CompileError, match=r"limits\.mem '-1Gi' is negative"):
        check_resources(ResourcesSpec(limits=ResourceList(mem="-1Gi")), "t")


def test_check_resources_rejects_a_request_above_its_limit():
    spec = ResourcesSpec(requests=ResourceList(cpu="4"), limits=ResourceList(cpu="2000m"))
    with pytest.raises(CompileError, match=r"requests\.cpu \(4\) is more than limits\.cpu"):
        check_resources(spec, "t")


def test_check_resources_needs_equal_gpu_request_and_limit():
    spec = ResourcesSpec(requests=ResourceList(gpu="1"), limits=ResourceList(gpu="2"))
    with pytest.raises(CompileError, match="needs them equal for GPUs"):
        check_resources(spec, "t")


def test_check_resources_accepts_a_sound_task():
    check_resources(ResourcesSpec(requests=ResourceList(cpu="2", mem="8Gi", gpu="1"),
                                  limits=ResourceList(cpu="4", mem="8Gi", gpu="1")), "t")


def test_pod_overrides_reject_a_field_outside_the_allow_list():
    with pytest.raises(CompileError) as err:
        PodOverridesSpec.from_options({"hostNetwork": True, "labels": {}}, "train", "p.py:3")
    text = str(err.value)
    assert "task 'train' (p.py:3)" in text and "'hostNetwork' is not allowed" in text
    assert "node_selector" in text  # says what is allowed


@pytest.mark.parametrize("field", ["namespace", "service_account", "pool", "security_context"])
def test_pod_overrides_can_never_choose_tenant_resources(field):
    with pytest.raises(CompileError, match=f"'{field}' is not allowed"):
        PodOverridesSpec.from_options({field: "other-tenant"}, "train")


def test_pod_overrides_check_sizes_and_types():
    with pytest.raises(CompileError, match=r"pod_overrides\.shared_memory '-1Gi' is negative"):
        PodOverridesSpec.from_options({"shared_memory": "-1Gi"}, "t")
    with pytest.raises(CompileError, match=r"pod_overrides\.termination_grace_period"):
        PodOverridesSpec.from_options({"termination_grace_period": -5}, "t")
    with pytest.raises(CompileError, match="must be a dict"):
        PodOverridesSpec.from_options(["labels"], "t")  # type: ignore[arg-type]
    ok = PodOverridesSpec.from_options({"shared_memory": "2Gi", "accelerator": "a100"}, "t")
    assert ok.shared_memory == "2Gi" and ok.accelerator == "a100"


SUFFIXES = ("n", "u", "m", "", "k", "M", "G", "T", "P", "E",
            "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def generated_quantities(count: int, seed: int = 20260101) -> list[str]:
    """Quantities of every shape and suffix, and some malformed ones, from a fixed seed.

    Numbers stay within 7 integer and 4 fraction digits, so neither parser has to round.
    The malformed ones are malformed for both parsers (the client accepts some text the
    API server does not, such as "1_000" or " 2", so those are not generated).
    """
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        whole = str(rng.randrange(10 ** rng.randint(1, 7)))
        fraction = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 4)))
        number = rng.choice([whole, whole, f"{whole}.{fraction}", f"{whole}.", f".{fraction}"])
        sign = rng.choice(["", "", "", "+", "-"])
        if rng.random() < 0.1:
            number = rng.choice([f"{whole}.{fraction}.1", "", f"{whole}e", "--1", "Gi"])
        out.append(f"{sign}{number}{rng.choice(SUFFIXES)}")
    return out


@pytest.mark.parametrize("text", generated_quantities(400))
def test_parse_quantity_agrees_with_the_kubernetes_client(text):
    k8s_quantity = pytest.importorskip("kubernetes.utils.quantity",
                                       reason="the kubernetes client comes with [airflow]")
    try:
        expected: Decimal | None = k8s_quantity.parse_quantity(text)
    except ValueError:
        expected = None
    try:
        actual: Decimal | None = parse_quantity(text)
    except QuantityError:
        actual = None
    assert actual == expected, f"{text!r}: FlytePath {actual}, kubernetes client {expected}"


@pytest.mark.parametrize(("text", "value"), [
    ("250n", Decimal("0.00000025")),
    ("500u", Decimal("0.0005")),
    ("1.5u", Decimal("0.0000015")),
])
def test_parse_quantity_reads_nano_and_micro(text, value):
    assert parse_quantity(text) == value


def test_a_nano_or_micro_fraction_of_a_byte_names_its_suffix():
    with pytest.raises(QuantityError, match="the 'u' suffix means millionths"):
        check_quantity("500u", "mem")
    with pytest.raises(QuantityError, match="the 'n' suffix means billionths"):
        check_quantity("3n", "ephemeral_storage")
    assert check_quantity("1000000u", "mem") == 1
