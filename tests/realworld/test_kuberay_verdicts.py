"""Where the operator's feature gates come from.

KubeRay's own test cases, with each gate flipped, are in test_kuberay_cases.py; these tests are about
how a user sets the gates: the operator's `--feature-gates` flag format and the kuberay-operator Helm
values of an Argo CD Application.
"""

from __future__ import annotations

from raygitops.cli import main

from .conftest import errors

NETWORK_POLICY = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: demo}
spec:
  rayVersion: '2.60.0'
  networkPolicy: {mode: DenyAll}
  headGroupSpec:
    template:
      spec:
        containers: [{name: ray-head, image: 'rayproject/ray:2.60.0'}]
"""


def test_the_cli_takes_the_operators_flag_format(tmp_path, capsys, schema_cache_dir) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(NETWORK_POLICY)
    store = ["--cache-dir", str(schema_cache_dir)]
    assert main(["validate", *store, str(path)]) == 1
    assert "RayClusterNetworkPolicy" in capsys.readouterr().out
    assert main(["validate", *store, "--feature-gates", "RayClusterNetworkPolicy=true", str(path)]) == 0


def test_an_unknown_gate_is_a_usage_error(tmp_path, capsys, schema_cache_dir) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(NETWORK_POLICY)
    assert main(["validate", "--cache-dir", str(schema_cache_dir), "--feature-gates", "RayClusterNetworkPolicyy=true", str(path)]) == 2
    assert "unknown feature gate 'RayClusterNetworkPolicyy'" in capsys.readouterr().err


def test_gates_come_from_the_operators_helm_values_in_an_argo_cd_application(validator) -> None:
    application = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: kuberay-operator}\n"
        "spec:\n  project: default\n  destination: {server: 'https://kubernetes.default.svc', namespace: kuberay-system}\n"
        "  source:\n    repoURL: https://ray-project.github.io/kuberay-helm/\n    chart: kuberay-operator\n    targetRevision: 1.7.0\n"
        "    helm:\n      values: |\n        featureGates:\n        - {name: RayClusterNetworkPolicy, enabled: true}\n"
    )
    assert errors(validator.file(NETWORK_POLICY)) != []
    assert errors(validator.file(NETWORK_POLICY + "---\n" + application)) == []

