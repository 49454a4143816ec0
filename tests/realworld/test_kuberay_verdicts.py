"""KubeRay v1.7.0's validation unit tests on gated features, re-expressed as manifests of our own.

Each case is a cluster the Go tests build (validation_test.go: TestValidateNetworkPolicy,
TestValidateTLSOptions, TestValidateCollectorOptions, the *RequiresFeatureGate tests,
TestValidateGcsFaultToleranceEmbeddedReservedVolume, TestValidateRayClusterUpgradeOptions,
TestValidateRayClusterSpecSuspendingWorkerGroup), with the verdict KubeRay gives under its
default gates and with the test's gate turned on through --feature-gates.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from raygitops.cli import main

from .conftest import errors


@dataclass(frozen=True)
class Case:
    name: str
    spec: str  # extra RayClusterSpec fields, flow style
    gate: str | None  # the gate the Go test turns on
    rejected_by_default: bool
    rejected_with_gate: bool
    head: str = ""  # extra fields of the head's Ray container
    head_pod: str = ""  # extra fields of the head pod spec
    worker: str = ""  # extra fields of the worker's Ray container
    labels: str = "{}"
    group: str = "workers"


S3 = "[{name: STORAGE_BACKEND, value: S3}, {name: S3_REGION, value: us-east-1}]"


def collector(env: str, image: str = "image: 'collector:1.0', ") -> str:
    return "historyServerOptions: {collectorOptions: {" + image + "env: " + env + "}}"


CASES = [
    # GCS fault tolerance on embedded RocksDB
    Case("rocksdb backend needs its gate", "gcsFaultToleranceOptions: {backend: rocksdb}", "GCSFaultToleranceEmbeddedStorage", True, False),
    Case("rocksdb: reserved mount path", "gcsFaultToleranceOptions: {backend: rocksdb}", "GCSFaultToleranceEmbeddedStorage", True, True,
         head="volumeMounts: [{name: user-vol, mountPath: /data/gcs}]", head_pod="volumes: [{name: user-vol, emptyDir: {}}]"),
    Case("rocksdb: reserved mount name", "gcsFaultToleranceOptions: {backend: rocksdb}", "GCSFaultToleranceEmbeddedStorage", True, True,
         head="volumeMounts: [{name: gcs-storage, mountPath: /somewhere/else}]", head_pod="volumes: [{name: gcs-storage, emptyDir: {}}]"),
    Case("rocksdb: reserved volume name", "gcsFaultToleranceOptions: {backend: rocksdb}", "GCSFaultToleranceEmbeddedStorage", True, True,
         head_pod="volumes: [{name: gcs-storage, emptyDir: {}}]"),
    # network policy
    Case("networkPolicy needs its gate", "networkPolicy: {mode: DenyAll}", "RayClusterNetworkPolicy", True, False),
    Case("DenyAll with head and worker rules", "networkPolicy: {mode: DenyAll, head: {ingressRules: [{}], egressRules: [{}]}, worker: {ingressRules: [{}]}}",
         "RayClusterNetworkPolicy", True, False),
    Case("DenyAllEgress with head ingress rules", "networkPolicy: {mode: DenyAllEgress, head: {ingressRules: [{}]}}", "RayClusterNetworkPolicy", True, True),
    Case("DenyAllIngress with worker egress rules", "networkPolicy: {mode: DenyAllIngress, worker: {egressRules: [{}]}}", "RayClusterNetworkPolicy", True, True),
    Case("DenyAllEgress with group ingress rules", "networkPolicy: {mode: DenyAllEgress, workerGroups: [{groupName: workers, ingressRules: [{}]}]}",
         "RayClusterNetworkPolicy", True, True),
    Case("workerGroups entry for a missing group", "networkPolicy: {workerGroups: [{groupName: gpu}]}", "RayClusterNetworkPolicy", True, True),
    Case("group name not DNS-1123 under a network policy", "networkPolicy: {mode: DenyAll}", "RayClusterNetworkPolicy", True, True, group="GPU_Group"),
    Case("uppercase group name without a network policy", "", None, False, False, group="GPU-Group"),
    # mTLS
    Case("tlsOptions needs its gate", "tlsOptions: {enabled: true}", "RayClusterMTLS", True, False),
    Case("TLS env set on the head", "tlsOptions: {enabled: true}", "RayClusterMTLS", True, True, head="env: [{name: RAY_USE_TLS, value: '1'}]"),
    Case("TLS env set on a worker", "tlsOptions: {enabled: true}", "RayClusterMTLS", True, True, worker="env: [{name: RAY_TLS_CA_CERT, value: /x}]"),
    Case("TLS volume name on a worker", "tlsOptions: {enabled: true}", "RayClusterMTLS", True, True,
         worker="volumeMounts: [{name: ray-tls, mountPath: /certs}]"),
    Case("TLS mount path on the head", "tlsOptions: {enabled: true}", "RayClusterMTLS", True, True,
         head="volumeMounts: [{name: certs, mountPath: /etc/ray/tls}]", head_pod="volumes: [{name: certs, emptyDir: {}}]"),
    Case("TLS env in autoscalerOptions", "tlsOptions: {enabled: true}, enableInTreeAutoscaling: true, autoscalerOptions: {env: [{name: RAY_TLS_SERVER_KEY, value: /k}]}",
         "RayClusterMTLS", True, True),
    Case("TLS disabled leaves the env alone", "tlsOptions: {enabled: false}", "RayClusterMTLS", True, False, head="env: [{name: RAY_USE_TLS, value: '0'}]"),
    # history server collector
    Case("historyServerOptions needs its gate", collector(S3), "RayClusterHistoryServer", True, False),
    Case("collectorOptions missing", "historyServerOptions: {}", "RayClusterHistoryServer", True, True),
    Case("collector image missing", collector(S3, image=""), "RayClusterHistoryServer", True, True),
    Case("collector env managed by KubeRay", collector("[{name: STORAGE_BACKEND, value: S3}, {name: S3_REGION, value: r}, {name: POD_IP, value: x}]"),
         "RayClusterHistoryServer", True, True),
    Case("collector without STORAGE_BACKEND", collector("[{name: S3_REGION, value: r}]"), "RayClusterHistoryServer", True, True),
    Case("GCS backend without bucket", collector("[{name: STORAGE_BACKEND, value: gcs}]"), "RayClusterHistoryServer", True, True),
    Case("GCS backend with bucket from a secret", collector("[{name: STORAGE_BACKEND, value: GCS}, {name: GCS_BUCKET, valueFrom: {secretKeyRef: {name: b, key: k}}}]"),
         "RayClusterHistoryServer", True, False),
    Case("Azure connection_string mode without the string",
         collector("[{name: STORAGE_BACKEND, value: AZUREBLOB}, {name: AZURE_STORAGE_AUTH_MODE, value: connection_string}]"),
         "RayClusterHistoryServer", True, True),
    Case("Azure with an account URL", collector("[{name: STORAGE_BACKEND, value: AZUREBLOB}, {name: AZURE_STORAGE_ACCOUNT_URL, value: 'https://a'}]"),
         "RayClusterHistoryServer", True, False),
    Case("Aliyun OSS without region", collector("[{name: STORAGE_BACKEND, value: ALIYUNOSS}, {name: OSS_BUCKET, value: b}, {name: OSS_ENDPOINT, value: e}]"),
         "RayClusterHistoryServer", True, True),
    Case("a container already named ray-history-collector", collector(S3), "RayClusterHistoryServer", True, True,
         head_pod="containers: [{name: ray-head, image: 'rayproject/ray:2.60.0'}, {name: ray-history-collector, image: 'c:1'}]"),
    # upgrade strategy and the cluster's creator
    Case("Recreate on a RayCluster created by a RayJob", "upgradeStrategy: {type: Recreate}", None, True, True, labels="{ray.io/originated-from-crd: RayJob}"),
    Case("Recreate on a RayCluster created by a RayService", "upgradeStrategy: {type: Recreate}", None, True, True, labels="{ray.io/originated-from-crd: RayService}"),
    Case("Recreate on a standalone RayCluster", "upgradeStrategy: {type: Recreate}", None, False, False, labels="{ray.io/originated-from-crd: RayCluster}"),
    Case("None on a standalone RayCluster", "upgradeStrategy: {type: None}", None, False, False),
    # worker group suspension
    Case("suspended worker group (RayJobDeletionPolicy on by default)", "", None, False, False, group="workers, suspend: true"),
]


def manifest(case: Case) -> str:
    head_container = "{name: ray-head, image: 'rayproject/ray:2.60.0'" + (", " + case.head if case.head else "") + "}"
    head_pod = case.head_pod if case.head_pod.startswith("containers") else "containers: [" + head_container + "]" + (", " + case.head_pod if case.head_pod else "")
    if case.head_pod.startswith("containers"):
        head_pod = case.head_pod.replace("{name: ray-head, image: 'rayproject/ray:2.60.0'}", head_container)
    worker = "{name: ray-worker, image: 'rayproject/ray:2.60.0'" + (", " + case.worker if case.worker else "") + "}"
    extra = (", " + case.spec) if case.spec else ""
    return (
        "apiVersion: ray.io/v1\nkind: RayCluster\n"
        f"metadata: {{name: demo, labels: {case.labels}}}\n"
        "spec: {rayVersion: '2.60.0', headGroupSpec: {template: {spec: {" + head_pod + "}}}, "
        "workerGroupSpecs: [{groupName: " + case.group + ", replicas: 1, minReplicas: 1, maxReplicas: 1, "
        "template: {spec: {containers: [" + worker + "]}}}]" + extra + "}\n"
    )


def rejected(validator, case: Case, gates: str = "") -> list[str]:
    gates_map = dict(entry.split("=") for entry in gates.split(",") if entry)
    report = validator.file(manifest(case), feature_gates={k: v == "true" for k, v in gates_map.items()})
    return [f"{f.rule}: {f.message}" for f in errors(report)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_verdict_with_kuberays_default_gates(validator, case: Case) -> None:
    found = rejected(validator, case)
    assert bool(found) == case.rejected_by_default, found
    if case.rejected_by_default and case.gate:
        assert any(case.gate in message for message in found), "the finding must name the gate"


@pytest.mark.parametrize("case", [c for c in CASES if c.gate], ids=[c.name for c in CASES if c.gate])
def test_verdict_with_the_gate_on(validator, case: Case) -> None:
    found = rejected(validator, case, f"{case.gate}=true")
    assert bool(found) == case.rejected_with_gate, found


def test_the_cli_takes_the_operators_flag_format(tmp_path, capsys, schema_cache_dir) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(manifest(CASES[4]))
    store = ["--cache-dir", str(schema_cache_dir)]
    assert main(["validate", *store, str(path)]) == 1
    assert "RayClusterNetworkPolicy" in capsys.readouterr().out
    assert main(["validate", *store, "--feature-gates", "RayClusterNetworkPolicy=true", str(path)]) == 0


def test_an_unknown_gate_is_a_usage_error(tmp_path, capsys, schema_cache_dir) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(manifest(CASES[4]))
    assert main(["validate", "--cache-dir", str(schema_cache_dir), "--feature-gates", "RayClusterNetworkPolicyy=true", str(path)]) == 2
    assert "unknown feature gate 'RayClusterNetworkPolicyy'" in capsys.readouterr().err


def test_gates_come_from_the_operators_helm_values_in_an_argo_cd_application(validator) -> None:
    application = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: kuberay-operator}\n"
        "spec:\n  project: default\n  destination: {server: 'https://kubernetes.default.svc', namespace: kuberay-system}\n"
        "  source:\n    repoURL: https://ray-project.github.io/kuberay-helm/\n    chart: kuberay-operator\n    targetRevision: 1.7.0\n"
        "    helm:\n      values: |\n        featureGates:\n        - {name: RayClusterNetworkPolicy, enabled: true}\n"
    )
    report = validator.file(manifest(CASES[4]) + "---\n" + application)
    assert errors(report) == []


# KubeRay v1.7.0's webhook tests (pkg/webhooks/v1/*_webhook_test.go): each kind rejects a name that is too
# long, a name that is not a DNS-1035 label, and worker groups sharing a name. Gates play no part.
WEBHOOK_NAMES = {"long": "this-name-is-" + "o" * 50 + "-long", "dotted": "invalid.name", "ok": "valid-name"}


def webhook_manifest(kind: str, name: str, groups: tuple[str, ...]) -> str:
    cluster = ("{rayVersion: '2.60.0', headGroupSpec: {template: {spec: {containers: [{name: h, image: 'rayproject/ray:2.60.0'}]}}}, "
               "workerGroupSpecs: [" + ", ".join(
                   "{groupName: " + g + ", replicas: 1, minReplicas: 1, maxReplicas: 1, template: {spec: {containers: [{name: w, image: 'rayproject/ray:2.60.0'}]}}}"
                   for g in groups) + "]}")
    body = {"RayCluster": cluster, "RayJob": "{entrypoint: python x.py, rayClusterSpec: " + cluster + "}",
            "RayService": "{serveConfigV2: 'applications: [{import_path: app:d}]', rayClusterConfig: " + cluster + "}"}[kind]
    return f"apiVersion: ray.io/v1\nkind: {kind}\nmetadata: {{name: '{name}'}}\nspec: {body}\n"


@pytest.mark.parametrize("kind", ["RayCluster", "RayJob", "RayService"])
@pytest.mark.parametrize(("name", "groups", "rejected"), [
    ("long", ("group1",), True), ("dotted", ("group1",), True),
    ("ok", ("group1", "group1"), True), ("ok", ("group1", "group2"), False),
])
def test_webhook_verdicts(validator, kind: str, name: str, groups: tuple[str, ...], rejected: bool) -> None:
    report = validator.file(webhook_manifest(kind, WEBHOOK_NAMES[name], groups))
    found = [f"{f.rule}: {f.message}" for f in errors(report)]
    assert bool(found) == rejected, found
