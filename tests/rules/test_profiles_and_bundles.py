"""Whole bundles: the project's shape passes, profiles change severities, rules never crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raygitops.inputs.documents import Document, load_stream
from raygitops.findings import Severity
from raygitops.operator import OperatorConfig
from raygitops.checks.ray import RULE_CRASHED, SAFETY, Bundle, all_rules, run_rules
from raygitops.report.suppress import apply_suppressions

from .cases import cluster, ingress_to, job, ray_service_k8s, spec, stream, worker, workers_list

GOOD_BUNDLE = Path(__file__).parent / "fixtures" / "good_bundle.yaml"


def run(text: str, profile: str = "default", only: list[str] | None = None):
    documents, decode_findings = load_stream(text, "bundle.yaml")
    assert decode_findings == []
    return run_rules(Bundle(documents), profile, only=only)


@pytest.mark.parametrize("profile", ["default", "prod"])
def test_project_shaped_bundle_has_no_finding(profile: str) -> None:
    documents, _ = load_stream(GOOD_BUNDLE.read_text(), "bundle.yaml")
    # The bundle's RayCronJob runs only where the operator has the RayCronJob gate on (off by default).
    findings = run_rules(Bundle(documents, operator_config=OperatorConfig({"RayCronJob": True})), profile)
    assert [(f.rule, f.kind, f.path, f.message) for f in findings] == []


def test_safety_rules_warn_by_default_and_fail_under_prod() -> None:
    unsafe = cluster(spec("authOptions: {mode: disabled}"))
    default = [f for f in run(unsafe) if f.rule == "token-auth-disabled"]
    prod = [f for f in run(unsafe, "prod") if f.rule == "token-auth-disabled"]
    assert [f.severity for f in default] == [Severity.WARNING]
    assert [f.severity for f in prod] == [Severity.ERROR]


def test_profile_leaves_operator_rules_and_their_severity_alone() -> None:
    broken = cluster(spec(workers=workers_list(worker("a"), worker("a"))))
    for profile in ("default", "prod"):
        found = [f for f in run(broken, profile) if f.rule == "worker-group-name-unique"]
        assert [f.severity for f in found] == [Severity.ERROR]


def test_every_safety_rule_is_a_warning_by_default() -> None:
    for rule in all_rules():
        if rule.category == SAFETY:
            assert rule.severity is Severity.WARNING
            assert rule.severity_for("prod") is Severity.ERROR


def test_only_runs_the_selected_rules() -> None:
    unsafe = cluster(spec("authOptions: {mode: disabled}"))
    assert {f.rule for f in run(unsafe, only=["token-auth-disabled"])} == {"token-auth-disabled"}


def test_finding_carries_the_resource_identity() -> None:
    [finding] = run(job("entrypoint: x, suspend: true", name="nightly"), only=["rayjob-suspend"])
    assert (finding.kind, finding.name, finding.source, finding.index) == ("RayJob", "nightly", "bundle.yaml", 0)
    assert finding.api_version == "ray.io/v1"


# --- behaviour a user relies on, beyond the per-rule fixtures ------------------------------------


def test_job_on_a_selected_cluster_is_sized_against_that_cluster() -> None:
    small = cluster(spec(head_group="{rayStartParams: {num-cpus: '0'}, template: {spec: {containers: [{name: h, image: 'rayproject/ray:2.60.0-py311'}]}}}",
                         workers=workers_list(worker(group="replicas: 1, minReplicas: 1, maxReplicas: 1",
                                                     container="resources: {limits: {cpu: '2', nvidia.com/gpu: 1}}"))))
    needs_gpus = job("entrypoint: 'python t.py --num-workers 2 --use-gpu', clusterSelector: {ray.io/cluster: rc}", cluster_spec="")
    fits = job("entrypoint: 'python t.py --num-workers 1 --use-gpu', clusterSelector: {ray.io/cluster: rc}", cluster_spec="")
    [finding] = run(stream(small, needs_gpus), only=["rayjob-resources-exceed-cluster"])
    assert "needs 2 × (1 CPU + 1 GPU)" in finding.message and "at most 1" in finding.message
    assert run(stream(small, fits), only=["rayjob-resources-exceed-cluster"]) == []


HEAD_ONE_CPU = "{template: {spec: {containers: [{name: h, image: 'rayproject/ray:2.60.0-py311', resources: {limits: {cpu: 1}}}]}}}"


def test_without_autoscaling_the_cluster_stays_at_its_replicas() -> None:
    fixed = spec(head_group=HEAD_ONE_CPU, workers=workers_list(
        worker(group="replicas: 1, minReplicas: 1, maxReplicas: 8", container="resources: {limits: {cpu: '1'}}")))
    [finding] = run(job("entrypoint: python t.py --num-workers 3", cluster_spec=fixed), only=["rayjob-resources-exceed-cluster"])
    assert "at most 2" in finding.message  # one worker and the head's CPU


def test_driver_resources_must_fit_on_one_node() -> None:
    two_cpu_nodes = spec(head_group=HEAD_ONE_CPU, workers=workers_list(
        worker(group="maxReplicas: 3", container="resources: {limits: {cpu: '2'}}")), *["enableInTreeAutoscaling: true"])
    [finding] = run(job("entrypoint: python d.py, entrypointNumCpus: 4", cluster_spec=two_cpu_nodes), only=["rayjob-resources-exceed-cluster"])
    assert finding.path == "/spec/entrypointNumCpus" and "at most 2" in finding.message
    assert run(job("entrypoint: python d.py, entrypointNumCpus: 2", cluster_spec=two_cpu_nodes), only=["rayjob-resources-exceed-cluster"]) == []


def test_job_is_not_sized_when_a_node_detects_its_cpus_at_run_time() -> None:
    unknown = spec(workers=workers_list(worker(group="replicas: 1, minReplicas: 1, maxReplicas: 1")))
    assert run(job("entrypoint: python t.py --num-workers 3", cluster_spec=unknown), only=["rayjob-resources-exceed-cluster"]) == []


def test_ingress_to_an_unauthenticated_dashboard_is_flagged_unless_an_auth_proxy_is_declared() -> None:
    open_cluster = cluster(spec())
    ingress = ingress_to("rc-head-svc", "{number: 8265}")
    [finding] = run(stream(open_cluster, ingress), only=["ray-port-exposed"])
    assert finding.kind == "Ingress" and "routes to the Ray dashboard port 8265" in finding.message
    proxied = ingress.replace("metadata: {name: x}", "metadata: {name: x, annotations: {nginx.ingress.kubernetes.io/auth-url: 'https://auth/'}}")
    assert run(stream(open_cluster, proxied), only=["ray-port-exposed"]) == []


def test_serve_service_of_a_rayservice_may_be_published() -> None:
    text = (GOOD_BUNDLE.read_text())
    documents, _ = load_stream(text, "good.yaml")
    serve_ingress = [d for d in documents if d.kind == "Ingress" and d.name == "serve"]
    assert serve_ingress, "fixture lost its serve Ingress"
    assert [f for f in run(text, "prod") if f.rule in ("ray-port-exposed", "ingress-backend")] == []


def test_a_rule_that_crashes_becomes_a_finding_not_a_traceback() -> None:
    from raygitops.checks.ray import REGISTRY, rule

    @rule("test-broken-rule", kinds=("RayCluster",))
    def broken(document, bundle):
        """Broken on purpose."""
        raise KeyError("spec")
        yield  # pragma: no cover - makes this a generator like every rule

    try:
        findings = run(cluster(spec()), only=["test-broken-rule"])
    finally:
        del REGISTRY["test-broken-rule"]
    assert [(f.rule, f.name) for f in findings] == [(RULE_CRASHED, "rc")]
    assert "test-broken-rule failed" in findings[0].message and "KeyError" in findings[0].message


# --- robustness: wrong types never crash a rule -----------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70000) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)


def _replace_somewhere(body: object, path: list[int], value: object) -> object:
    """Replace the node reached by following `path` (indices into keys/items) with `value`."""
    if not path or not isinstance(body, (dict, list)) or not body:
        return value
    if isinstance(body, dict):
        keys = list(body)
        key = keys[path[0] % len(keys)]
        return {**body, key: _replace_somewhere(body[key], path[1:], value)}
    index = path[0] % len(body)
    return [*body[:index], _replace_somewhere(body[index], path[1:], value), *body[index + 1:]]


GOOD_DOCUMENTS, _ = load_stream(GOOD_BUNDLE.read_text(), "good.yaml")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(GOOD_DOCUMENTS) - 1), path=st.lists(st.integers(0, 20), max_size=9), value=json_values)
def test_rules_survive_any_value_in_any_field(which: int, path: list[int], value: object) -> None:
    documents = list(GOOD_DOCUMENTS)
    original = documents[which]
    mutated = _replace_somewhere(original.body, [0, *path] if not path else path, value)
    body = mutated if isinstance(mutated, dict) else {"apiVersion": original.api_version, "kind": original.kind, "spec": mutated}
    documents[which] = Document(original.source, original.index, body, original.line)
    findings = run_rules(Bundle(documents), "prod")
    assert [f.message for f in findings if f.rule == RULE_CRASHED] == []


RENDERED = sorted((Path(__file__).resolve().parents[2] / "rendered").glob("*.yaml"))


@pytest.mark.parametrize("rendered", RENDERED, ids=[p.stem for p in RENDERED])
def test_the_projects_rendered_overlays_pass_every_rule_under_prod(rendered: Path) -> None:
    """As `raygitops validate --profile prod` sees them: suppressions with a reason apply (dev and gpu
    serve without Redis on purpose and say so on the RayService)."""
    documents, decode_findings = load_stream(rendered.read_text(encoding="utf-8"), "bundle.yaml")
    assert decode_findings == []
    outcome = apply_suppressions(run_rules(Bundle(documents), "prod"), documents, known_rules=[r.id for r in all_rules()])
    assert [(f.rule, f.kind, f.name, f.path, f.message) for f in outcome.kept] == []


@pytest.mark.parametrize("flags", ["--num-workers inf", "--num-workers nan --cpus-per-worker 2", "--num-workers=-3", "--num-workers 'unterminated"])
def test_odd_entrypoint_flags_are_ignored_not_crashing(flags: str) -> None:
    text = job(f'entrypoint: "python t.py {flags}"', cluster_spec=spec(head_group=HEAD_ONE_CPU))
    assert run(text, only=["rayjob-resources-exceed-cluster", "rayjob-entrypoint-script"]) == []


def test_script_of_a_job_on_a_selected_cluster_is_looked_up_on_that_clusters_head() -> None:
    from .cases import CONFIGMAP, SCRIPT_ON_HEAD

    shared = cluster(spec(head_group=SCRIPT_ON_HEAD))
    missing = job("entrypoint: python /home/ray/code/eval.py, clusterSelector: {ray.io/cluster: rc}", cluster_spec="")
    present = job("entrypoint: python /home/ray/code/train.py, clusterSelector: {ray.io/cluster: rc}", cluster_spec="")
    [finding] = run(stream(CONFIGMAP, shared, missing), only=["rayjob-entrypoint-script"])
    assert finding.kind == "RayJob" and "no key 'eval.py'" in finding.message
    assert run(stream(CONFIGMAP, shared, present), only=["rayjob-entrypoint-script"]) == []


def test_an_unmounted_script_on_a_stock_ray_image_is_a_warning_not_an_error() -> None:
    """KubeRay accepts such a RayJob; the job fails later unless something the rule cannot see provides the file."""
    text = job("entrypoint: python /home/ray/app/run.py", cluster_spec=spec())
    [finding] = run(text, only=["rayjob-entrypoint-script"])
    assert finding.severity is Severity.WARNING and "is not mounted on the head" in finding.message


def test_a_service_cannot_select_a_rayjobs_pods_by_cluster_name() -> None:
    # KubeRay names a RayJob's cluster <rayjob>-raycluster-<random>: a selector in git never matches it,
    # while the same selector on a RayCluster's own name does.
    selector = "{ray.io/cluster: train, ray.io/node-type: head}"
    on_job = run(stream(job("entrypoint: python x.py", name="train"), ray_service_k8s(selector, "[{port: 8265}]")),
                 only=["service-selects-nothing"])
    assert [(f.rule, f.path) for f in on_job] == [("service-selects-nothing", "/spec/selector")]
    on_cluster = run(stream(cluster(spec(), name="train"), ray_service_k8s(selector, "[{port: 8265}]")),
                     only=["service-selects-nothing"])
    assert on_cluster == []
