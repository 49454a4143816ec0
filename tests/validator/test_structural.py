"""The API server's structural semantics, one pair per semantic: the manifest a naive
JSON-schema validator gets wrong, and the one we must reject (rule, path, message)."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raygitops.inputs.documents import Document, load_stream
from raygitops.findings import Finding, Severity
from raygitops.schema.store import ResourceSchema, SchemaStore
from raygitops.checks.registry import SCHEMA, all_checks
from raygitops.schema.structural import validate_object

SCHEMA_RULES = {c.id: c.doc.summary for c in all_checks() if c.category == SCHEMA}

RAYCLUSTER = """
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: demo
spec:
  rayVersion: "2.60.0"
  headGroupSpec:
    rayStartParams: {}
    template:
      metadata: {HEAD_METADATA}
      spec:
        containers:
        - name: ray-head
          image: rayproject/ray:2.60.0-py311
          ports:
          - {containerPort: 6379, name: gcs}
          resources:
            limits: {cpu: "1", memory: 2Gi}
  workerGroupSpecs:
  - groupName: workers
    replicas: {REPLICAS}
    rayStartParams: {}
    template:
      spec:
        containers:
        - name: ray-worker
          image: rayproject/ray:2.60.0-py311
          resources:
            limits: {cpu: {WORKER_CPU}, memory: 2Gi}
"""


def raycluster(head_metadata: str = "", replicas: str = "1", worker_cpu: str = '"1"') -> str:
    return (
        RAYCLUSTER.replace("{HEAD_METADATA}", head_metadata)
        .replace("{REPLICAS}", replicas)
        .replace("{WORKER_CPU}", worker_cpu)
    )


def load(text: str) -> Document:
    documents, findings = load_stream(textwrap.dedent(text), "test.yaml")
    assert not findings and len(documents) == 1, findings
    return documents[0]


def validate(store: SchemaStore, text: str) -> tuple[Document, list[Finding]]:
    document = load(text)
    resource_schema = store.schema_for(document.api_version, document.kind)
    assert resource_schema is not None
    return document, validate_object(document, resource_schema)


def only(findings: list[Finding], rule: str) -> Finding:
    matching = [f for f in findings if f.rule == rule]
    assert len(matching) == 1, [(f.rule, f.path, f.message) for f in findings]
    assert len(findings) == 1, [(f.rule, f.path, f.message) for f in findings]
    return matching[0]


# ---------------------------------------------------------------- defaults before required


def test_raycluster_without_min_and_max_replicas_is_valid_and_gets_the_crd_defaults(schema_store):
    document, findings = validate(schema_store, raycluster())
    assert findings == []
    group = document.body["spec"]["workerGroupSpecs"][0]
    # `required` in the CRD, but defaulted by the API server before validation.
    assert group["minReplicas"] == 0
    assert group["maxReplicas"] == 2147483647
    # nested defaults inside the pod template are applied too (containerPort protocol)
    head = document.body["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert head["ports"][0]["protocol"] == "TCP"


def test_required_field_without_default_is_reported_at_the_missing_field(schema_store):
    text = raycluster().replace("    rayStartParams: {}\n    template:\n      metadata", "    rayStartParams: {}\n    templat:\n      metadata", 1)
    document, findings = validate(schema_store, text)
    required = [f for f in findings if f.rule == "schema-required"]
    assert [f.path for f in required] == ["/spec/headGroupSpec/template"]
    assert required[0].message == 'required field "template" is missing'
    unknown = [f for f in findings if f.rule == "schema-unknown-field"]
    assert [f.path for f in unknown] == ["/spec/headGroupSpec/templat"]
    assert 'did you mean "template"?' in unknown[0].message


# ---------------------------------------------------------------- nulls are pruned, not rejected


def test_empty_pod_template_metadata_is_pruned_not_rejected(schema_store):
    document, findings = validate(schema_store, raycluster(head_metadata=""))
    assert findings == []
    assert "metadata" not in document.body["spec"]["headGroupSpec"]["template"]


def test_pod_template_metadata_of_the_wrong_type_is_rejected(schema_store):
    _, findings = validate(schema_store, raycluster(head_metadata="[app]"))
    finding = only(findings, "schema-type")
    assert finding.path == "/spec/headGroupSpec/template/metadata"
    assert finding.message == "found a list (array), expected a mapping (object)"


def test_null_list_item_is_not_pruned(schema_store):
    text = raycluster().replace("        - name: ray-worker", "        - null\n        - name: ray-worker")
    _, findings = validate(schema_store, text)
    finding = only(findings, "schema-type")
    assert finding.path == "/spec/workerGroupSpecs/0/template/spec/containers/0"
    assert "found null, expected a mapping (object)" in finding.message


# ---------------------------------------------------------------- pod template metadata (KubeRay's declared subset)


def test_pod_template_labels_and_annotations_are_accepted(schema_store):
    _, findings = validate(schema_store, raycluster(head_metadata="{labels: {app: ray}, annotations: {a: b}}"))
    assert findings == []


def test_pod_template_metadata_field_kuberay_does_not_declare_is_unknown(schema_store):
    # KubeRay's CRD declares only labels/annotations/name/namespace/finalizers there;
    # the API server prunes the rest, and strict field validation rejects it.
    _, findings = validate(schema_store, raycluster(head_metadata="{creationTimestamp: null}"))
    finding = only(findings, "schema-unknown-field")
    assert finding.path == "/spec/headGroupSpec/template/metadata/creationTimestamp"
    assert finding.message.startswith('unknown field "creationTimestamp"')


# ---------------------------------------------------------------- types, enums, formats


def test_integer_replicas_pass_and_a_string_is_a_type_error(schema_store):
    assert validate(schema_store, raycluster(replicas="2"))[1] == []
    _, findings = validate(schema_store, raycluster(replicas="two"))
    finding = only(findings, "schema-type")
    assert finding.severity is Severity.ERROR
    assert finding.path == "/spec/workerGroupSpecs/0/replicas"
    assert finding.message == 'found "two" (string), expected integer'
    assert (finding.kind, finding.name, finding.api_version) == ("RayCluster", "demo", "ray.io/v1")


def test_bad_enum_value_names_the_allowed_values(schema_store):
    text = raycluster().replace('  rayVersion: "2.60.0"', '  rayVersion: "2.60.0"\n  upgradeStrategy: {type: Recreate}')
    assert validate(schema_store, text)[1] == []
    _, findings = validate(schema_store, text.replace("type: Recreate", "type: Rolling"))
    finding = only(findings, "schema-enum")
    assert finding.path == "/spec/upgradeStrategy/type"
    assert finding.message == 'found "Rolling", expected one of "Recreate", "None"'


def test_integer_cpu_quantity_passes_and_free_text_quantity_is_rejected(schema_store):
    assert validate(schema_store, raycluster(worker_cpu="2"))[1] == []
    assert validate(schema_store, raycluster(worker_cpu='"500m"'))[1] == []
    _, findings = validate(schema_store, raycluster(worker_cpu='"2 cores"'))
    finding = only(findings, "schema-format")
    assert finding.path == "/spec/workerGroupSpecs/0/template/spec/containers/0/resources/limits/cpu"
    assert 'found "2 cores" (string), expected a quantity' in finding.message


def test_fractional_number_where_crd_wants_int_or_string_is_a_type_error(schema_store):
    # `cpu: 0.5` is fine in a Deployment but a CRD's int-or-string quantity rejects a float.
    _, findings = validate(schema_store, raycluster(worker_cpu="0.5"))
    finding = only(findings, "schema-type")
    assert finding.message.endswith("found 0.5 (number), expected integer or string")


def test_int32_overflow_in_a_custom_resource_is_accepted_as_the_api_server_does(schema_store):
    # A custom resource is stored as JSON; kube-openapi checks the format of strings only, so the API server
    # takes 3000000000 for an int32 field (a built-in kind decodes into an int32 and fails: the Deployment test).
    assert validate(schema_store, raycluster(replicas="2147483647"))[1] == []
    assert validate(schema_store, raycluster(replicas="3000000000"))[1] == []


RAYJOB = """
apiVersion: ray.io/v1
kind: RayJob
metadata: {name: train}
spec:
  entrypoint: python train.py
  preRunningDeadlineSeconds: 600
  rayClusterSpec:
    headGroupSpec:
      rayStartParams: {}
      template:
        spec:
          containers: [{name: ray-head, image: rayproject/ray:2.60.0-py311}]
"""


def test_minimum_is_enforced(schema_store):
    assert validate(schema_store, RAYJOB)[1] == []
    _, findings = validate(schema_store, RAYJOB.replace("preRunningDeadlineSeconds: 600", "preRunningDeadlineSeconds: 0"))
    finding = only(findings, "schema-range")
    assert finding.path == "/spec/preRunningDeadlineSeconds"
    assert finding.message == "found 0, expected at least 1"


def test_min_items_is_enforced(schema_store):
    rules = "\n  deletionStrategy:\n    deletionRules: [{policy: DeleteCluster, condition: {jobStatus: SUCCEEDED}}]"
    assert validate(schema_store, RAYJOB.rstrip("\n") + rules + "\n")[1] == []
    text = RAYJOB.rstrip("\n") + "\n  deletionStrategy:\n    deletionRules: []\n"
    _, findings = validate(schema_store, text)
    finding = only(findings, "schema-items")
    assert finding.path == "/spec/deletionStrategy/deletionRules"
    assert finding.message == "found 0 item(s), expected at least 1"


def test_max_length_is_enforced(schema_store):
    project = "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: ray}\nspec:\n  description: DESCRIPTION\n"
    assert validate(schema_store, project.replace("DESCRIPTION", "x" * 255))[1] == []
    _, findings = validate(schema_store, project.replace("DESCRIPTION", "x" * 256))
    finding = only(findings, "schema-length")
    assert finding.path == "/spec/description"
    assert finding.message.endswith("(256 characters), expected at most 255")


def test_list_map_keys_must_be_unique_after_defaulting(schema_store):
    # Two ports 8080, one with protocol UDP: distinct keys. Both TCP (one by default): duplicates.
    text = raycluster().replace("- {containerPort: 6379, name: gcs}", "- {containerPort: 8080, name: a}\n          - {containerPort: 8080, name: b, protocol: UDP}")
    assert validate(schema_store, text)[1] == []
    _, findings = validate(schema_store, text.replace("protocol: UDP", "protocol: TCP"))
    finding = only(findings, "schema-list-unique")
    assert finding.path == "/spec/headGroupSpec/template/spec/containers/0/ports/1"
    assert "containerPort=8080" in finding.message and "protocol=\"TCP\"" in finding.message


# ---------------------------------------------------------------- unknown fields


def test_unknown_field_is_an_error_under_strict_validation(schema_store):
    text = raycluster().replace('  rayVersion: "2.60.0"', '  rayVersion: "2.60.0"\n  enableInTreeAutoscaler: true')
    _, findings = validate(schema_store, text)
    finding = only(findings, "schema-unknown-field")
    assert finding.path == "/spec/enableInTreeAutoscaler"
    assert finding.message == 'unknown field "enableInTreeAutoscaler"; did you mean "enableInTreeAutoscaling"?'


def test_preserve_unknown_fields_accepts_any_content(schema_store):
    application = """
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata: {name: ray, namespace: argocd}
    spec:
      project: default
      destination: {server: https://kubernetes.default.svc, namespace: ray}
      source:
        repoURL: https://example.com/repo.git
        path: chart
        helm:
          valuesObject: {anything: {goes: [1, 2]}, here: true}
    """
    assert validate(schema_store, application)[1] == []
    _, findings = validate(schema_store, application.replace("      project: default", "      project: default\n      projet: x"))
    assert only(findings, "schema-unknown-field").path == "/spec/projet"


def test_root_identity_and_status_are_not_schema_checked(schema_store):
    # metadata belongs to the identity stage; status is dropped by the server on create.
    text = raycluster().replace("  name: demo", "  name: demo\n  labels: {app: ray}") + "status:\n  state: whatever\n  bogus: 1\n"
    assert validate(schema_store, text)[1] == []


# ---------------------------------------------------------------- built-in kinds


def test_builtin_service_strict_schema(schema_store):
    service = """
    apiVersion: v1
    kind: Service
    metadata: {name: ray-head}
    spec:
      selector: {app: ray}
      ports:
      - {name: client, port: 10001, targetPort: client, nodePort: null}
    """
    document, findings = validate(schema_store, service)
    assert findings == []
    assert "nodePort" not in document.body["spec"]["ports"][0]  # a null is an absent field to Go decoding
    _, findings = validate(schema_store, service.replace("targetPort: client", "targetPort: client, protocl: TCP"))
    finding = only(findings, "schema-unknown-field")
    assert finding.path == "/spec/ports/0/protocl"
    assert 'did you mean "protocol"?' in finding.message


def test_service_port_range_is_not_in_the_builtin_schema(schema_store):
    # The OpenAPI schema of ServicePort.port says int32 with no maximum: 70000 passes the schema.
    # The native checks (checks/native, `service-port`) reject it; the schema stage must not guess.
    ports = schema_store.schema_for("v1", "Service").schema["properties"]["spec"]["properties"]["ports"]
    assert "maximum" not in ports["items"]["properties"]["port"]
    _, findings = validate(schema_store, "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 70000}]\n")
    assert findings == []


def test_builtin_quantity_accepts_numbers_and_rejects_free_text(schema_store):
    deployment = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: d}
    spec:
      selector: {matchLabels: {app: d}}
      template:
        metadata: {labels: {app: d}}
        spec:
          containers:
          - name: c
            image: busybox
            resources: {limits: {cpu: 0.5, memory: 1Gi}}
    """
    assert validate(schema_store, deployment)[1] == []
    _, findings = validate(schema_store, deployment.replace("cpu: 0.5", "cpu: half"))
    finding = only(findings, "schema-format")
    assert finding.path == "/spec/template/spec/containers/0/resources/limits/cpu"
    _, findings = validate(schema_store, deployment.replace("image: busybox", "image: busybox\n            ports: [{containerPort: 4294967296}]"))
    assert "expected an int32" in only(findings, "schema-format").message


def test_builtin_replicas_as_string_is_a_type_error(schema_store):
    text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: '3'\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}\n"
    finding = only(validate(schema_store, text)[1], "schema-type")
    assert finding.message == 'found "3" (string), expected integer'


def test_defaults_never_alias_the_shared_schema(schema_store):
    first = load(raycluster())
    second = load(raycluster())
    resource_schema = schema_store.schema_for("ray.io/v1", "RayCluster")
    validate_object(first, resource_schema)
    first.body["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = "UDP"
    validate_object(second, resource_schema)
    assert second.body["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] == "TCP"


@pytest.mark.parametrize("rule", sorted(SCHEMA_RULES))
def test_every_rule_id_is_documented(rule):
    assert rule.startswith(("schema-", "cel-")) and len(SCHEMA_RULES[rule]) > 20


# ---------------------------------------------------------------- semantics the pinned CRDs do not exercise
# A small CRD schema written for these tests, in the same dialect the store serves.

WIDGET_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "note": {"type": "string", "nullable": True},
                "mode": {"type": "string", "default": "fast", "enum": ["fast", "safe"]},
                "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1},
                "startAt": {"type": "string", "format": "date-time"},
                "timeout": {"type": "string", "format": "duration"},
                "zones": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 2},
                "code": {"type": "string", "pattern": "^[a-z]+$"},
                "source": {"type": "object", "properties": {"git": {"type": "string"}, "oci": {"type": "string"}},
                           "oneOf": [{"required": ["git"]}, {"required": ["oci"]}]},
                "size": {"type": "integer", "anyOf": [{"maximum": 10}, {"minimum": 100}], "not": {"enum": [5]}},
                "child": {"type": "object", "x-kubernetes-embedded-resource": True,
                          "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
            },
        },
    },
}


@pytest.fixture
def widget():
    return ResourceSchema("example.com", "v1", "Widget", is_crd=True, namespaced=True, schema=WIDGET_SCHEMA)


def widget_findings(widget, spec: str) -> tuple[Document, list[Finding]]:
    document = load(f"apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w}}\nspec:\n{textwrap.indent(spec, '  ')}")
    return document, validate_object(document, widget)


def test_nullable_null_is_kept_and_non_nullable_null_takes_the_default(widget):
    document, findings = widget_findings(widget, "note: null\nmode: null\n")
    assert findings == []
    assert document.body["spec"] == {"note": None, "mode": "fast"}


def test_exclusive_minimum(widget):
    assert widget_findings(widget, "ratio: 0.5\n")[1] == []
    finding = only(widget_findings(widget, "ratio: 0\n")[1], "schema-range")
    assert finding.message == "found 0, expected greater than 0"
    finding = only(widget_findings(widget, "ratio: 1.5\n")[1], "schema-range")
    assert finding.message == "found 1.5, expected at most 1"


def test_date_time_and_duration_formats(widget):
    assert widget_findings(widget, "startAt: '2026-01-31T12:00:00Z'\ntimeout: 1h30m\n")[1] == []
    findings = widget_findings(widget, "startAt: '31/01/2026'\ntimeout: 90 minutes\n")[1]
    assert sorted((f.rule, f.path) for f in findings) == [
        ("schema-format", "/spec/startAt"), ("schema-format", "/spec/timeout"),
    ]
    assert any("expected an RFC 3339 date-time" in f.message for f in findings)
    assert any("expected a duration such as 30s" in f.message for f in findings)


def test_list_type_set_rejects_duplicates(widget):
    assert widget_findings(widget, "zones: [a, b]\n")[1] == []
    finding = only(widget_findings(widget, "zones: [a, b, a]\n")[1], "schema-list-unique")
    assert finding.path == "/spec/zones/2"
    assert finding.message == 'found duplicate item "a" (same as item 0), expected unique items'


def test_max_properties_and_pattern(widget):
    assert widget_findings(widget, "tags: {a: x, b: y}\ncode: abc\n")[1] == []
    findings = widget_findings(widget, "tags: {a: x, b: y, c: z}\ncode: ABC\n")[1]
    assert {(f.rule, f.path) for f in findings} == {("schema-properties", "/spec/tags"), ("schema-pattern", "/spec/code")}
    assert any(f.message == 'found "ABC" (string), expected a string matching ^[a-z]+$' for f in findings)


def test_embedded_resource_allows_apiversion_kind_metadata(widget):
    child = "child:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n  spec: {free: form}\n"
    assert widget_findings(widget, child)[1] == []
    finding = only(widget_findings(widget, child + "  data: {a: b}\n")[1], "schema-unknown-field")
    assert finding.path == "/spec/child/data"


# ---------------------------------------------------------------- never a traceback

_keys = st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none(), st.sampled_from(
    ["spec", "template", "metadata", "containers", "ports", "resources", "limits", "cpu", "replicas",
     "workerGroupSpecs", "headGroupSpec", "deletionStrategy", "onSuccess", "deletionRules", "managedBy"]))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20))
_json = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(_keys, inner, max_size=4)), max_leaves=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=st.dictionaries(_keys, _json, max_size=5), kind=st.sampled_from(
    [("ray.io/v1", "RayCluster"), ("ray.io/v1", "RayJob"), ("v1", "Service"), ("apps/v1", "Deployment")]))
def test_any_spec_gives_findings_never_a_traceback(schema_store, spec, kind):
    api_version, kind_name = kind
    document = Document("fuzz.yaml", 0, {"apiVersion": api_version, "kind": kind_name, "metadata": {"name": "x"},
                                          "spec": spec})
    for finding in validate_object(document, schema_store.schema_for(api_version, kind_name)):
        assert finding.rule in SCHEMA_RULES
        assert finding.path.startswith("/spec")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(worker=st.dictionaries(_keys, _json, max_size=6))
def test_any_worker_group_gives_findings_never_a_traceback(schema_store, worker):
    body = load(raycluster()).body
    body["spec"]["workerGroupSpecs"][0].update(worker)
    document = Document("fuzz.yaml", 0, body)
    assert all(f.rule in SCHEMA_RULES for f in validate_object(document, schema_store.schema_for("ray.io/v1", "RayCluster")))


def test_one_of_any_of_and_not(widget):
    assert widget_findings(widget, "source: {git: https://example.com/r.git}\nsize: 3\n")[1] == []
    assert widget_findings(widget, "size: 200\n")[1] == []
    finding = only(widget_findings(widget, "source: {git: a, oci: b}\n")[1], "schema-alternatives")
    assert finding.path == "/spec/source"
    assert finding.message == "found a mapping (object), matching 2 of 2 alternatives, expected exactly one (oneOf)"
    finding = only(widget_findings(widget, "size: 50\n")[1], "schema-alternatives")
    assert finding.message.startswith("found 50 (integer), expected to match at least one of 2 alternatives (anyOf)")
    finding = only(widget_findings(widget, "size: 5\n")[1], "schema-alternatives")
    assert finding.message == "found 5 (integer), which matches a schema it must not (not)"


def test_network_policy_without_pod_selector_is_accepted_as_the_api_server_does(schema_store):
    # The OpenAPI schema lists podSelector as required; Go decodes a missing one as the empty selector.
    policy = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ray}\nspec: {policyTypes: [Ingress]}\n"
    assert validate(schema_store, policy)[1] == []
    ingress = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: ray}\nspec: {rules: [{http: {paths: [{path: /}]}}]}\n"
    assert [f.rule for f in validate(schema_store, ingress)[1]] == ["schema-required", "schema-required"]
