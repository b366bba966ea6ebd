"""Fair-share settings of the tenant policy: weights, borrowing and lending limits.

The Helm chart renders the same settings into the ClusterQueues and into the runner
settings (tests/helm/test_chart.py checks that the two agree); here the policy itself
is checked, as a platform team's settings file reaches it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.platform.pods import KubernetesSettings, KubernetesSettingsError
from flytepath_airflow.platform.tenancy import CohortLimits


def tenancy(*tenants: dict[str, object], **extra: object) -> KubernetesSettings:
    return KubernetesSettings.from_mapping({"tenancy": {"tenants": list(tenants), **extra}},
                                           "settings.yaml")


def test_weights_and_limits_resolve_with_domain_defaults_for_unset_weights():
    settings = tenancy(
        {"project": "ml", "domain": "production", "weight": 3,
         "quota": {"cpu": "64"}, "borrowing_limit": {"cpu": "32", "gpu": "2"},
         "lending_limit": {"cpu": "16"}},
        {"project": "ml", "domain": "production2", "weight": "500m"},
        {"project": "web", "domain": "production"},
        {"project": "web", "domain": "development"},
        {"project": "web", "domain": "research"},
    )
    ml = settings.tenancy.resolve("ml", "production")
    assert ml.weight == Decimal(3)
    assert ml.borrowing_limit == CohortLimits(cpu="32", gpu="2")
    assert ml.lending_limit == CohortLimits(cpu="16")
    assert settings.tenancy.resolve("ml", "production2").weight == Decimal("0.5")
    # Production before the other domains when they compete for idle capacity; a domain
    # the defaults do not name is an equal share.
    assert settings.tenancy.resolve("web", "production").weight == Decimal(2)
    assert settings.tenancy.resolve("web", "development").weight == Decimal(1)
    assert settings.tenancy.resolve("web", "research").weight == Decimal(1)
    assert settings.tenancy.resolve("web", "research").borrowing_limit is None


def test_the_platform_can_change_the_domain_defaults():
    settings = tenancy({"project": "ml", "domain": "development"},
                       domain_weights={"development": 0, "production": 4})
    assert settings.tenancy.resolve("ml", "development").weight == Decimal(0)


@pytest.mark.parametrize(("weight", "why"), [
    (-1, "weight '-1' is negative"),
    ("-0.5", "weight '-0.5' is negative"),
    ("three", "'three' is not a number"),
    ("3 ", "contains spaces"),
    (True, "weight True is not a number"),
    ("1e-12", "too small for Kueue"),
    (10**7, "is more than 1000000"),
])
def test_a_bad_weight_is_refused_naming_the_tenant(weight, why):
    with pytest.raises(KubernetesSettingsError, match=why) as caught:
        tenancy({"project": "ml", "domain": "production", "weight": weight})
    assert isinstance(caught.value, FlytePathUserError)  # exit 2, no traceback
    message = str(caught.value)
    assert "settings.yaml" in message and "tenancy.tenants.0.weight" in message
    assert "tenant 'ml/production'" in message


def test_a_bad_domain_default_weight_is_refused():
    with pytest.raises(KubernetesSettingsError, match=r"domain_weights\.production: weight "
                                                      r"'-2' is negative"):
        tenancy({"project": "ml", "domain": "production"}, domain_weights={"production": -2})


@pytest.mark.parametrize(("limits", "why"), [
    ({"borrowing_limit": {"cpu": "-4"}}, "'-4' is negative"),
    ({"borrowing_limit": {"memory": "500m"}}, "fraction of a byte"),
    ({"lending_limit": {"gpu": "0.5"}}, "not a whole number"),
    ({"lending_limit": {"pods": 3}}, "lending_limit.pods: Extra inputs are not permitted"),
])
def test_bad_limits_are_refused(limits, why):
    with pytest.raises(KubernetesSettingsError, match=why):
        tenancy({"project": "ml", "domain": "production", **limits})


def test_a_tenant_cannot_lend_more_than_its_quota():
    with pytest.raises(KubernetesSettingsError,
                       match=r"lending_limit.memory \(300Gi\) is more than its "
                             r"quota.memory \(256Gi\)"):
        tenancy({"project": "ml", "domain": "production", "quota": {"memory": "256Gi"},
                 "lending_limit": {"memory": "300Gi"}})
    ok = tenancy({"project": "ml", "domain": "production", "quota": {"memory": "256Gi"},
                  "lending_limit": {"memory": "256Gi"}})
    assert ok.tenancy.resolve("ml", "production").lending_limit == CohortLimits(
        memory="256Gi")
