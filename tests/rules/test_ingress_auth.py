"""ray-port-exposed counts an Ingress as authenticated only when its controller checks credentials."""

from __future__ import annotations

import pytest

from .cases import INGRESS_AUTHENTICATES, INGRESS_DOES_NOT_AUTHENTICATE, OPEN_DASHBOARD, stream
from .test_rule_catalogue import findings_of


@pytest.mark.parametrize("name", sorted(INGRESS_DOES_NOT_AUTHENTICATE))
def test_ingress_without_real_authentication_is_reported(name: str) -> None:
    found = findings_of("ray-port-exposed", stream(OPEN_DASHBOARD, INGRESS_DOES_NOT_AUTHENTICATE[name]))
    assert [f.message for f in found if f.kind == "Ingress"], f"{name}: the open dashboard behind this Ingress was not reported"


@pytest.mark.parametrize("name", sorted(INGRESS_AUTHENTICATES))
def test_ingress_that_authenticates_is_clean(name: str) -> None:
    found = findings_of("ray-port-exposed", stream(OPEN_DASHBOARD, INGRESS_AUTHENTICATES[name]))
    assert [f for f in found if f.kind == "Ingress"] == []
