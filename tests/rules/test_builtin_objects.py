"""References to objects Kubernetes itself keeps in every namespace need no declaration."""

from __future__ import annotations

from .cases import cluster, head, spec
from .test_rule_catalogue import findings_of


def projected_ca(config_map: str) -> str:
    return cluster(spec(head_group=head(pod="volumes: [{name: token, projected: {sources: [{configMap: {name: "
                                        + config_map + ", items: [{key: ca.crt, path: ca.crt}]}}]}}]")))


def test_kube_root_ca_is_in_every_namespace() -> None:
    assert findings_of("configmap-reference", projected_ca("kube-root-ca.crt")) == []


def test_another_missing_config_map_is_still_reported() -> None:
    assert findings_of("configmap-reference", projected_ca("kube-root-ca")), "a missing ConfigMap went unreported"
