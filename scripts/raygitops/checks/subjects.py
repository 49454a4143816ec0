"""Subjects: the parts of a document a check runs on, each with its JSON pointer.

Every pod template of every kind is found here, in one place: the built-in
workloads (Pod, Deployment and friends, Job, CronJob), a RayCluster's head and
worker groups, a RayJob's cluster and submitter, a RayService's cluster and a
RayCronJob's job. A check declared on `Subject.POD_TEMPLATE` therefore sees a
Ray pod exactly as it sees a Deployment's, with paths into the Ray resource.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..inputs.documents import Document
from .ray._access import dig
from .ray._ray import ClusterSpec, cluster_spec, job_spec
from .registry import Subject

Path = tuple[str | int, ...]

# Where the pod spec of each built-in workload lives, by (API group, kind).
WORKLOAD_POD_SPEC_PATHS: dict[tuple[str, str], Path] = {
    ("", "Pod"): ("spec",),
    ("", "PodTemplate"): ("template", "spec"),
    ("", "ReplicationController"): ("spec", "template", "spec"),
    ("apps", "Deployment"): ("spec", "template", "spec"),
    ("apps", "StatefulSet"): ("spec", "template", "spec"),
    ("apps", "DaemonSet"): ("spec", "template", "spec"),
    ("apps", "ReplicaSet"): ("spec", "template", "spec"),
    ("batch", "Job"): ("spec", "template", "spec"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
}


@dataclass(frozen=True)
class PodTemplate:
    """A pod spec somewhere in a document, with a phrase that names it for messages."""

    spec: dict[str, Any]
    path: Path  # to the pod spec
    label: str
    document: Document
    # Where the template's metadata is; None for a bare Pod, whose metadata is the document's.
    metadata_path: Path | None = None
    # Volumes the operator adds to the pod it builds from this template, which a volumeMount may name.
    operator_volumes: frozenset[str] = frozenset()

    @property
    def metadata(self) -> Any:
        if self.metadata_path is None:
            return None
        return dig(self.document.body, *self.metadata_path)


@dataclass(frozen=True)
class JobSpec:
    """A RayJobSpec: a RayJob's spec or a RayCronJob's job template."""

    document: Document
    spec: dict[str, Any]
    path: Path


def workload_pod_spec_path(document: Document) -> Path | None:
    return WORKLOAD_POD_SPEC_PATHS.get((document.group, document.kind))


def pod_templates(document: Document) -> Iterator[PodTemplate]:
    """Every pod spec a document will create: Ray groups, the RayJob submitter, workload templates."""
    cluster = cluster_spec(document)
    if cluster is not None:
        for group in cluster.groups:
            if isinstance(dig(group.spec, "template", "spec"), dict):
                yield PodTemplate(
                    group.pod_spec,
                    group.pod_path,
                    group.label,
                    document,
                    (*group.path, "template", "metadata"),
                    kuberay_volumes(cluster.spec, group.is_head),
                )
    job = job_spec(document)
    if job is not None:
        submitter = dig(job[0], "submitterPodTemplate", "spec")
        if isinstance(submitter, dict):
            template_path = (*job[1], "submitterPodTemplate")
            yield PodTemplate(
                submitter, (*template_path, "spec"), "the submitter pod", document, (*template_path, "metadata")
            )
    workload_path = workload_pod_spec_path(document)
    if workload_path is not None:
        spec = dig(document.body, *workload_path)
        if isinstance(spec, dict):
            metadata_path = None if document.kind == "Pod" else (*workload_path[:-1], "metadata")
            yield PodTemplate(spec, workload_path, "the pod template", document, metadata_path)


def kuberay_volumes(cluster: dict[str, Any], is_head: bool) -> frozenset[str]:
    """The volumes KubeRay 1.7.0 adds to a Ray pod (common/pod.go): the projected service account token of
    Kubernetes token auth, the mTLS certificates, the head's embedded GCS store."""
    names = set()
    auth = dig(cluster, "authOptions")
    if isinstance(auth, dict) and auth.get("mode") == "token" and auth.get("enableK8sTokenAuth") is True:
        names.add("ray-token")
    if dig(cluster, "tlsOptions", "enabled") is True:
        names.add("ray-tls")
    if is_head and dig(cluster, "gcsFaultToleranceOptions", "backend") == "rocksdb":
        names.add("gcs-storage")
    return frozenset(names)


def ray_clusters(document: Document) -> Iterator[ClusterSpec]:
    cluster = cluster_spec(document)
    if cluster is not None:
        yield cluster


def jobs(document: Document) -> Iterator[JobSpec]:
    job = job_spec(document)
    if job is not None:
        yield JobSpec(document, job[0], job[1])


def subjects_of(document: Document, subject: Subject) -> Iterator[object]:
    """The subjects of one type in a document, as the rule runner hands them to a check."""
    if subject is Subject.DOCUMENT:
        yield document
    elif subject is Subject.POD_TEMPLATE:
        yield from pod_templates(document)
    elif subject is Subject.RAY_CLUSTER:
        yield from ray_clusters(document)
    elif subject is Subject.JOB:
        yield from jobs(document)
    else:
        raise ValueError(f"{subject.value} is not a subject found in one document")
