"""A rendered kustomization as plain dicts, and the walks over it that the tests share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

OVERLAYS = ("dev", "gpu", "prod")
MONITORED_OVERLAYS = ("gpu", "prod")  # the overlays that compose components/monitoring
RAY_KINDS = ("RayCluster", "RayJob", "RayService")

Doc = dict[str, Any]


@dataclass(frozen=True)
class PodTemplate:
    """One pod template inside a rendered resource, named the way an error message needs it."""

    where: str  # e.g. "RayCluster/raycluster-kuberay workerGroupSpecs[gpu-group]"
    spec: Doc
    is_ray_node: bool
    node_type: str  # "head", "worker" or "other"
    cluster_spec: Doc | None  # the RayCluster spec the template belongs to, if any


@dataclass(frozen=True)
class Bundle:
    path: str
    text: str
    documents: list[Doc]

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    def of_kind(self, *kinds: str) -> list[Doc]:
        return [doc for doc in self.documents if doc.get("kind") in kinds]

    def one(self, kind: str, name: str) -> Doc:
        found = [doc for doc in self.of_kind(kind) if doc["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.path}: expected one {kind}/{name}, found {len(found)}"
        return found[0]

    def ray_cluster_specs(self) -> Iterator[tuple[str, Doc]]:
        """Every RayCluster spec: RayClusters themselves, a RayJob's rayClusterSpec, a RayService's rayClusterConfig."""
        embedded = {"RayCluster": None, "RayJob": "rayClusterSpec", "RayService": "rayClusterConfig"}
        for doc in self.of_kind(*RAY_KINDS):
            label = f"{doc['kind']}/{doc['metadata']['name']}"
            field = embedded[doc["kind"]]
            spec = doc["spec"] if field is None else doc["spec"].get(field)
            if spec:
                yield label, spec

    def pod_templates(self) -> Iterator[PodTemplate]:
        for label, spec in self.ray_cluster_specs():
            head = spec["headGroupSpec"]["template"]["spec"]
            yield PodTemplate(f"{label} headGroupSpec", head, True, "head", spec)
            for group in spec.get("workerGroupSpecs", []):
                yield PodTemplate(
                    f"{label} workerGroupSpecs[{group['groupName']}]", group["template"]["spec"], True, "worker", spec
                )
        for doc in self.of_kind("RayJob"):
            submitter = doc["spec"].get("submitterPodTemplate")
            if submitter:
                yield PodTemplate(
                    f"RayJob/{doc['metadata']['name']} submitterPodTemplate", submitter["spec"], False, "other", None
                )
        for doc in self.of_kind("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield PodTemplate(
                f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"], False, "other", None
            )


def containers(pod_spec: Doc) -> list[Doc]:
    return [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())
