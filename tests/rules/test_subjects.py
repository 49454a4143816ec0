"""The rule runner hands each rule the subjects it declares, with their JSON pointers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from raygitops.checks.ray import REGISTRY, Bundle, Problem, rule, run_rules
from raygitops.checks.ray._ray import ClusterSpec
from raygitops.checks.registry import Subject
from raygitops.checks.subjects import JobSpec, PodTemplate
from raygitops.inputs.documents import load_stream

from .cases import HEAD, cluster, job, spec, stream, worker, workers_list

SUBMITTER = "submitterPodTemplate: {spec: {restartPolicy: Never, containers: [{name: submit, image: 'rayproject/ray:2.60.0'}]}}"
DEPLOYMENT = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
              "spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, "
              "spec: {containers: [{name: web, image: 'nginx:1.27'}]}}}\n")


@pytest.fixture
def probe_rules() -> Iterator[None]:
    """Rules that report every subject they are handed, at its pointer."""

    @rule("test-every-pod", subject=Subject.POD_TEMPLATE)
    def every_pod(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
        """Reports each pod template."""
        yield Problem(template.path, template.label)

    @rule("test-every-cluster", kinds=("RayCluster", "RayJob", "RayService", "RayCronJob"), subject=Subject.RAY_CLUSTER)
    def every_cluster(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
        """Reports each Ray cluster spec."""
        yield Problem(cluster.path, cluster.document.kind)

    @rule("test-every-job", subject=Subject.JOB)
    def every_job(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
        """Reports each job spec."""
        yield Problem(job_spec.path, job_spec.document.kind)

    @rule("test-bundle", subject=Subject.BUNDLE)
    def whole_bundle(bundle: Bundle) -> Iterator[Problem]:
        """Reports the bundle once, on its last document."""
        yield Problem("", f"{len(bundle.documents)} documents", bundle.documents[-1])

    yield
    for rule_id in ("test-every-pod", "test-every-cluster", "test-every-job", "test-bundle"):
        del REGISTRY[rule_id]


def reported(text: str, rule_id: str) -> list[tuple[str, str, str]]:
    documents, _ = load_stream(text, "subjects.yaml")
    return [(f.kind, f.path, f.message) for f in run_rules(Bundle(documents), only=[rule_id])]


def test_every_pod_template_of_every_kind_with_its_pointer(probe_rules) -> None:
    text = stream(
        cluster(spec(workers=workers_list(worker("cpu"), worker("gpu")))),
        job("entrypoint: python train.py, " + SUBMITTER, cluster_spec=spec(head_group=HEAD)),
        job("entrypoint: python nightly.py", kind="RayCronJob"),
        DEPLOYMENT,
    )
    assert reported(text, "test-every-pod") == [
        ("RayCluster", "/spec/headGroupSpec/template/spec", "the head group"),
        ("RayCluster", "/spec/workerGroupSpecs/0/template/spec", "worker group 'cpu'"),
        ("RayCluster", "/spec/workerGroupSpecs/1/template/spec", "worker group 'gpu'"),
        ("RayJob", "/spec/rayClusterSpec/headGroupSpec/template/spec", "the head group"),
        ("RayJob", "/spec/submitterPodTemplate/spec", "the submitter pod"),
        ("RayCronJob", "/spec/jobTemplate/rayClusterSpec/headGroupSpec/template/spec", "the head group"),
        ("Deployment", "/spec/template/spec", "the pod template"),
    ]


def test_ray_cluster_specs_and_jobs_wherever_embedded(probe_rules) -> None:
    text = stream(cluster(spec()), cluster(spec(), kind="RayService"), job("entrypoint: x"), job("entrypoint: y", kind="RayCronJob"))
    assert [(kind, path) for kind, path, _ in reported(text, "test-every-cluster")] == [
        ("RayCluster", "/spec"),
        ("RayService", "/spec/rayClusterConfig"),
        ("RayJob", "/spec/rayClusterSpec"),
        ("RayCronJob", "/spec/jobTemplate/rayClusterSpec"),
    ]
    assert [(kind, path) for kind, path, _ in reported(text, "test-every-job")] == [
        ("RayJob", "/spec"), ("RayCronJob", "/spec/jobTemplate"),
    ]
    assert reported(text, "test-bundle") == [("RayCronJob", "", "4 documents")]
