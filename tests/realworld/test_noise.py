"""Less noise: one safety warning per resource and rule, advice that can be followed."""

from __future__ import annotations

from .conftest import of_rule

CLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: demo}
spec:
  rayVersion: 'VERSION'
  headGroupSpec:
    template:
      spec:
        containers: [{name: ray-head, image: 'rayproject/ray:VERSION'}, {name: sidecar, image: 'fluent/fluent-bit:3.2'}]
  workerGroupSpecs:
  - groupName: cpu
    template:
      spec:
        containers: [{name: ray-worker, image: 'rayproject/ray:VERSION'}]
"""


def test_a_safety_warning_is_reported_once_per_resource_naming_every_container(validator) -> None:
    report = validator.file(CLUSTER.replace("VERSION", "2.60.0"))
    [finding] = of_rule(report, "privilege-escalation")
    for name in ("'ray-head'", "'sidecar'", "'ray-worker'"):
        assert name in finding.message


def test_token_auth_advice_on_old_ray_is_to_upgrade_first(validator) -> None:
    [old] = of_rule(validator.file(CLUSTER.replace("VERSION", "2.46.0")), "token-auth-disabled")
    assert "upgrade Ray to 2.52.0 or later" in old.message
    [new] = of_rule(validator.file(CLUSTER.replace("VERSION", "2.60.0")), "token-auth-disabled")
    assert "upgrade" not in new.message
