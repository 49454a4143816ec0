"""Identity (apiVersion, kind) and metadata: what the API server rejects before it reads a spec.

Each pair: what a naive validator gets wrong, and what we report (rule, path, message).
"""

from __future__ import annotations

import pytest

from raygitops.inputs.documents import Document
from raygitops.findings import Finding, Severity
from raygitops.checks.native.identity import check_identity, check_metadata
from raygitops.checks.registry import IDENTITY, all_checks

IDENTITY_RULES = {c.id: c.doc.summary for c in all_checks() if c.category == IDENTITY}


def document(api_version: object, kind: object, **metadata: object) -> Document:
    body: dict[str, object] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "ray-head", **metadata}}
    return Document(source="overlays/gpu", index=3, body=body)


def single(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


# ---------------------------------------------------------------- apiVersion and kind


@pytest.mark.parametrize("api_version, kind", [
    ("ray.io/v1", "RayCluster"), ("ray.io/v1", "RayJob"), ("ray.io/v1", "RayService"), ("ray.io/v1", "RayCronJob"),
    ("v1", "Service"), ("apps/v1", "Deployment"), ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("argoproj.io/v1alpha1", "Application"),
])
def test_known_kinds_pass(schema_store, api_version, kind):
    assert check_identity(document(api_version, kind), schema_store) == []


def test_unknown_kind_in_ray_io_is_an_error_that_suggests_the_closest(schema_store):
    finding = single(check_identity(document("ray.io/v1", "RayClusters"), schema_store))
    assert (finding.rule, finding.severity, finding.path) == ("unknown-kind", Severity.ERROR, "/kind")
    assert finding.message == (
        "kind 'RayClusters' does not exist in group ray.io; did you mean RayCluster? "
        "(kinds in ray.io: RayCluster, RayCronJob, RayJob, RayService)")
    assert (finding.source, finding.index, finding.name) == ("overlays/gpu", 3, "ray-head")


def test_unknown_version_of_a_known_group_names_the_served_versions(schema_store):
    finding = single(check_identity(document("ray.io/v2", "RayCluster"), schema_store))
    assert (finding.rule, finding.path) == ("unknown-api-version", "/apiVersion")
    assert finding.message == "apiVersion 'ray.io/v2' does not serve kind RayCluster; RayCluster is served as: ray.io/v1, ray.io/v1alpha1"


def test_misspelt_core_kind_suggests_the_kind_and_its_group(schema_store):
    finding = single(check_identity(document("v1", "Deploymnet"), schema_store))
    assert finding.rule == "unknown-kind"
    assert finding.message == "kind 'Deploymnet' does not exist in the core group (apiVersion v1); did you mean Deployment (apiVersion apps/v1)?"


def test_kind_in_the_wrong_group_names_its_api_version(schema_store):
    finding = single(check_identity(document("v1", "Deployment"), schema_store))
    assert finding.message.endswith("Deployment is served as apiVersion apps/v1")


def test_removed_api_version_of_a_builtin_is_an_error(schema_store):
    finding = single(check_identity(document("extensions/v1beta1", "Ingress"), schema_store))
    # extensions is no longer served in Kubernetes 1.33: no schema for the group at all
    assert finding.rule == "unknown-group" and finding.severity is Severity.WARNING
    finding = single(check_identity(document("apps/v1beta2", "Deployment"), schema_store))
    assert finding.rule == "unknown-api-version"
    assert finding.message.endswith("Deployment is served as: apps/v1")


def test_unknown_group_is_a_warning_not_validated(schema_store):
    finding = single(check_identity(document("cert-manager.io/v1", "Certificate"), schema_store))
    assert (finding.rule, finding.severity, finding.path) == ("unknown-group", Severity.WARNING, "/apiVersion")
    assert finding.message == "not validated: no schema for cert-manager.io (apiVersion cert-manager.io/v1, kind Certificate)"


def test_unknown_group_is_an_error_when_asked(schema_store):
    finding = single(check_identity(document("cert-manager.io/v1", "Certificate"), schema_store, unknown_group_is_error=True))
    assert (finding.rule, finding.severity) == ("unknown-group", Severity.ERROR)


def test_misspelt_group_is_pointed_at_the_held_one(schema_store):
    finding = single(check_identity(document("ray.i0/v1", "RayCluster"), schema_store))
    assert finding.message.endswith("; did you mean group ray.io?")


@pytest.mark.parametrize("api_version, kind, rule, path", [
    (None, "Service", "missing-api-version", "/apiVersion"),
    ("", "Service", "missing-api-version", "/apiVersion"),
    (1, "Service", "missing-api-version", "/apiVersion"),
    ("v1", None, "missing-kind", "/kind"),
    ("v1", ["Service"], "missing-kind", "/kind"),
    ("apps/v1/beta", "Deployment", "unknown-api-version", "/apiVersion"),
    ("/v1", "Deployment", "unknown-api-version", "/apiVersion"),
])
def test_missing_or_malformed_identity(schema_store, api_version, kind, rule, path):
    finding = single(check_identity(document(api_version, kind), schema_store))
    assert (finding.rule, finding.path, finding.severity) == (rule, path, Severity.ERROR)


# ---------------------------------------------------------------- metadata.name


def test_name_with_uppercase_rejected(schema_store):
    finding = single(check_metadata(document("apps/v1", "Deployment", name="Ray-Head"), schema_store))
    assert (finding.rule, finding.path) == ("metadata-name", "/metadata/name")
    assert finding.message.startswith(
        "metadata.name 'Ray-Head' is not valid for Deployment, which requires a DNS-1123 subdomain: it must be a lowercase RFC 1123 subdomain")


def test_service_name_starting_with_a_digit_rejected_but_allowed_for_a_deployment(schema_store):
    finding = single(check_metadata(document("v1", "Service", name="1-ray-head"), schema_store))
    assert "which requires a DNS-1035 label: it must be a DNS-1035 label" in finding.message
    assert check_metadata(document("apps/v1", "Deployment", name="1-ray-head"), schema_store) == []


def test_configmap_name_with_dots_accepted_but_not_on_a_service_or_namespace(schema_store):
    assert check_metadata(document("v1", "ConfigMap", name="ray.config.v2"), schema_store) == []
    assert check_metadata(document("ray.io/v1", "RayCluster", name="ray.cluster"), schema_store) == []
    assert single(check_metadata(document("v1", "Service", name="ray.head"), schema_store)).rule == "metadata-name"
    assert single(check_metadata(document("v1", "Namespace", name="ray.system"), schema_store)).rule == "metadata-name"


def test_rbac_names_are_path_segments(schema_store):
    role = document("rbac.authorization.k8s.io/v1", "ClusterRole", name="system:kuberay:operator")
    assert check_metadata(role, schema_store) == []
    bad = document("rbac.authorization.k8s.io/v1", "ClusterRole", name="a/b")
    assert single(check_metadata(bad, schema_store)).message.endswith("may not contain '/'")


def test_cronjob_name_longer_than_52_characters_rejected(schema_store):
    name = "nightly-ray-training-job-for-the-recommendation-model"  # 53 characters
    finding = single(check_metadata(document("batch/v1", "CronJob", name=name), schema_store))
    assert finding.message.endswith("must be no more than 52 characters")


def test_missing_name_rejected_but_generate_name_with_trailing_dash_accepted(schema_store):
    body = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"labels": {"app": "ray"}}}
    finding = single(check_metadata(Document("f.yaml", 0, body), schema_store))
    assert (finding.rule, finding.path) == ("metadata-name", "/metadata/name")
    body["metadata"] = {"generateName": "train-"}
    assert check_metadata(Document("f.yaml", 0, body), schema_store) == []


def test_metadata_not_a_mapping(schema_store):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name", "x"]}
    finding = single(check_metadata(Document("f.yaml", 0, body), schema_store))
    assert (finding.rule, finding.path) == ("metadata-missing", "/metadata")


# ---------------------------------------------------------------- namespace, labels, annotations


def test_namespace_must_be_a_dns_label(schema_store):
    finding = single(check_metadata(document("v1", "ConfigMap", namespace="Ray_System"), schema_store))
    assert (finding.rule, finding.path) == ("metadata-namespace", "/metadata/namespace")


def test_namespace_on_a_cluster_scoped_kind_is_flagged(schema_store):
    role = document("rbac.authorization.k8s.io/v1", "ClusterRole", namespace="ray-system")
    finding = single(check_metadata(role, schema_store))
    assert (finding.rule, finding.severity) == ("metadata-namespace", Severity.WARNING)
    assert "ClusterRole, which is cluster-scoped" in finding.message


def test_label_value_too_long_rejected(schema_store):
    value = "x" * 64
    finding = single(check_metadata(document("v1", "ConfigMap", labels={"app.kubernetes.io/name": value}), schema_store))
    assert (finding.rule, finding.path) == ("metadata-label", "/metadata/labels/app.kubernetes.io~1name")
    assert finding.message.endswith("is not a valid label value: must be no more than 63 characters")


def test_label_key_with_bad_prefix_and_non_string_value_rejected(schema_store):
    labels = {"Ray.IO/node-type": "head", "version": 2, "ray.io/cluster": "raycluster-kuberay"}
    findings = check_metadata(document("v1", "ConfigMap", labels=labels), schema_store)
    assert [(f.rule, f.path) for f in findings] == [
        ("metadata-label", "/metadata/labels/Ray.IO~1node-type"),
        ("metadata-label", "/metadata/labels/version"),
    ]
    assert "prefix part must be a lowercase RFC 1123 subdomain" in findings[0].message
    assert "label values must be strings" in findings[1].message


def test_annotations_over_256_kib_rejected_and_uppercase_keys_accepted(schema_store):
    small = {"Ray.io/FT-Enabled": "true", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    assert check_metadata(document("v1", "ConfigMap", annotations=small), schema_store) == []
    big = {"a": "x" * (256 * 1024)}
    finding = single(check_metadata(document("v1", "ConfigMap", annotations=big), schema_store))
    assert (finding.rule, finding.path) == ("metadata-annotation", "/metadata/annotations")
    assert "must be no more than 262144 bytes" in finding.message


def test_every_rule_is_documented_in_one_line():
    assert {"missing-api-version", "missing-kind", "unknown-api-version", "unknown-kind", "unknown-group",
            "metadata-name", "metadata-namespace", "metadata-label", "metadata-annotation"} <= set(IDENTITY_RULES)
    assert all(line and "\n" not in line for line in IDENTITY_RULES.values())


# ---------------------------------------------------------------- robustness

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ANY = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=70)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=20), inner, max_size=3)),
    max_leaves=15,
)
_METADATA = st.dictionaries(
    st.sampled_from(["name", "generateName", "namespace", "labels", "annotations"]),
    st.one_of(_ANY, st.dictionaries(st.one_of(st.text(max_size=80), st.integers()), _ANY, max_size=4)),
)


@settings(max_examples=150, deadline=None)
@given(api_version=st.one_of(_ANY, st.sampled_from(["v1", "apps/v1", "ray.io/v1", "x.io/v1"])),
       kind=st.one_of(_ANY, st.sampled_from(["Service", "Namespace", "RayCluster", "ClusterRole", "CronJob"])),
       metadata=st.one_of(_ANY, _METADATA))
def test_identity_and_metadata_never_raise(schema_store, api_version, kind, metadata):
    document = Document("f.yaml", 0, {"apiVersion": api_version, "kind": kind, "metadata": metadata})
    for finding in check_identity(document, schema_store) + check_metadata(document, schema_store):
        assert finding.rule in IDENTITY_RULES and finding.message


def test_unknown_field_under_metadata_rejected_as_strict_field_validation_does(schema_store):
    finding = single(check_metadata(document("ray.io/v1", "RayCluster", lables={"app": "ray"}), schema_store))
    assert (finding.rule, finding.path) == ("metadata-unknown-field", "/metadata/lables")
    assert finding.message.startswith('unknown field "metadata.lables"')
    known = document("apps/v1", "Deployment", generateName="web-", finalizers=["x.io/keep"], ownerReferences=[])
    assert check_metadata(known, schema_store) == []


def test_disruption_budget_name_is_a_path_segment_so_an_underscore_is_accepted(schema_store):
    assert check_metadata(document("policy/v1", "PodDisruptionBudget", name="under_score"), schema_store) == []
    finding = single(check_metadata(document("policy/v1", "PodDisruptionBudget", name="a/b"), schema_store))
    assert (finding.rule, finding.path) == ("metadata-name", "/metadata/name")
