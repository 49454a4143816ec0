"""Every overlay and argocd/, applied as a user applies them, to a real kube-apiserver with the pinned CRDs.

`kubectl apply --server-side --validate=strict -k DIR` with the pinned kubectl: the API server decodes,
defaults, prunes, checks each object against its OpenAPI schema and CEL rules, rejects unknown fields,
and stores it in etcd. There is no kubelet and no controller manager: nothing runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml

from raygitops.targets import all_targets

from .controlplane import ControlPlane

# cluster-setup first: it creates the namespaces and the PriorityClass the overlays use.
TARGETS = ("cluster-setup", *(t for t in all_targets() if t != "cluster-setup"))
APPLY = ("apply", "--server-side", "--field-manager=raygitops-test", "--validate=strict")
# Server warnings the manifests cannot avoid, each with the reason it is accepted.
ACCEPTED_WARNINGS = {
    r'metadata\.finalizers: "resources-finalizer\.argocd\.argoproj\.io": prefer a domain-qualified finalizer name':
        "Argo CD's own cascade-delete finalizer has this name; an Application must use it as it is",
}


def rendered_objects(repo_root, target: str) -> list[dict]:
    """What raygitops (with the pinned kustomize) renders for `target`."""
    result = subprocess.run([sys.executable, "-m", "raygitops", "render", str(repo_root / target)],
                            capture_output=True, text=True, timeout=120, check=True)
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def identity(obj: dict) -> tuple[str, str, str]:
    metadata = obj["metadata"]
    return obj["kind"], metadata.get("namespace", ""), metadata["name"]


@pytest.mark.parametrize("target", TARGETS)
def test_api_server_accepts_and_stores_every_object_of(target, cluster: ControlPlane, repo_root):
    applied = cluster.kubectl(*APPLY, "-k", str(repo_root / target), check=False)
    assert applied.returncode == 0, f"the API server rejected {target}:\n{applied.stderr}"
    warnings = [line for line in applied.stderr.splitlines() if line.startswith("Warning:")]
    unexpected = [w for w in warnings if not any(re.search(pattern, w) for pattern in ACCEPTED_WARNINGS)]
    assert unexpected == [], f"the API server warned about {target}:\n{applied.stderr}"

    expected = rendered_objects(repo_root, target)
    stored = json.loads(cluster.kubectl("get", "-k", str(repo_root / target), "-o", "json").stdout)["items"]
    assert sorted(map(identity, stored)) == sorted(map(identity, expected))


def test_api_server_rejects_an_unknown_field_under_strict_validation(cluster: ControlPlane):
    # The control over the test above: the same path must be able to say no.
    manifest = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: strict-check, namespace: default}
data: {a: b}
dataz: {c: d}
"""
    result = cluster.kubectl(*APPLY, "-f", "-", stdin=manifest, check=False)
    assert result.returncode != 0
    # Server-side apply checks the object against the type's schema before it is stored.
    assert ".dataz: field not declared in schema" in result.stderr


def test_api_server_evaluates_the_crds_cel_rules(cluster: ControlPlane):
    # KubeRay's CRD restricts spec.managedBy with a CEL rule (x-kubernetes-validations).
    manifest = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: managed-elsewhere, namespace: default}
spec:
  managedBy: someone-else
  headGroupSpec:
    rayStartParams: {}
    template:
      spec:
        containers: [{name: ray-head, image: "rayproject/ray:2.60.0-py311"}]
"""
    result = cluster.kubectl(*APPLY, "-f", "-", stdin=manifest, check=False)
    assert result.returncode != 0
    assert "the managedBy field value must be either" in result.stderr
