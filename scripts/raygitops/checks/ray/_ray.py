"""Where KubeRay keeps things: the RayClusterSpec of each kind, its groups and Ray
container, the pod templates a document creates, Ray versions and image tags,
and the objects a resource declares as living outside the bundle.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from ...inputs.documents import Document
from ._access import dig, env_is_true, flag, mapping, scalar_text, sequence, text

if TYPE_CHECKING:
    from . import Bundle

Path = tuple[str | int, ...]
T = TypeVar("T")

RAY_KINDS = ("RayCluster", "RayJob", "RayService", "RayCronJob")

# Where each kind keeps its RayClusterSpec.
CLUSTER_SPEC_PATHS: dict[str, Path] = {
    "RayCluster": ("spec",),
    "RayJob": ("spec", "rayClusterSpec"),
    "RayService": ("spec", "rayClusterConfig"),
    "RayCronJob": ("spec", "jobTemplate", "rayClusterSpec"),
}

# Where each kind keeps a RayJobSpec (a RayCronJob embeds one as its template).
JOB_SPEC_PATHS: dict[str, Path] = {"RayJob": ("spec",), "RayCronJob": ("spec", "jobTemplate")}

# The built-in workload kinds the rules on every pod look at (where their pod templates are: ../subjects.py).
WORKLOAD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")

EXTERNAL_ANNOTATION = "raygitops.io/external"


# --- Ray cluster specs and groups ------------------------------------------------------


@dataclass(frozen=True)
class RayGroup:
    """The head group or one worker group of a RayClusterSpec."""

    name: str  # "head" for the head group, else its groupName
    is_head: bool
    spec: dict[str, Any]
    path: Path  # to the group spec

    @property
    def label(self) -> str:
        return "the head group" if self.is_head else f"worker group {self.name!r}"

    @cached_property
    def pod_spec(self) -> dict[str, Any]:
        return mapping(dig(self.spec, "template", "spec"))

    @property
    def pod_path(self) -> Path:
        return (*self.path, "template", "spec")

    @property
    def pod_labels(self) -> dict[str, Any]:
        return mapping(dig(self.spec, "template", "metadata", "labels"))

    @cached_property
    def ray_container(self) -> dict[str, Any] | None:
        """The Ray container: KubeRay always takes the first one."""
        first = dig(self.spec, "template", "spec", "containers", 0)
        return first if isinstance(first, dict) else None

    @property
    def ray_container_path(self) -> Path:
        return (*self.pod_path, "containers", 0)

    @property
    def ray_start_params(self) -> dict[str, Any]:
        return mapping(self.spec.get("rayStartParams"))

    def start_param(self, name: str) -> str:
        return scalar_text(self.ray_start_params.get(name))


@dataclass(frozen=True)
class ClusterSpec:
    """A RayClusterSpec, wherever a kind keeps it, with the document that owns it."""

    document: Document
    spec: dict[str, Any]
    path: Path

    @cached_property
    def head(self) -> RayGroup:
        return RayGroup("head", True, mapping(self.spec.get("headGroupSpec")), (*self.path, "headGroupSpec"))

    @cached_property
    def workers(self) -> list[RayGroup]:
        groups = []
        for index, group in enumerate(sequence(self.spec.get("workerGroupSpecs"))):
            if isinstance(group, dict):
                name = text(group.get("groupName")) or f"#{index}"
                groups.append(RayGroup(name, False, group, (*self.path, "workerGroupSpecs", index)))
        return groups

    @cached_property
    def groups(self) -> list[RayGroup]:
        return [self.head, *self.workers]

    @property
    def ray_version(self) -> str:
        return text(self.spec.get("rayVersion"))

    @property
    def autoscaling(self) -> bool:
        return flag(self.spec.get("enableInTreeAutoscaling"))

    @property
    def autoscaler_options(self) -> dict[str, Any]:
        return mapping(self.spec.get("autoscalerOptions"))

    @property
    def autoscaler_v2(self) -> bool:
        """v2 chosen the current way (autoscalerOptions.version) or the pre-1.4 way (head env)."""
        if self.autoscaler_options.get("version") == "v2":
            return True
        head = self.head.ray_container
        return head is not None and env_is_true(head, "RAY_enable_autoscaler_v2")

    @property
    def ft_options(self) -> dict[str, Any] | None:
        value = self.spec.get("gcsFaultToleranceOptions")
        return value if isinstance(value, dict) else None

    @property
    def ft_enabled(self) -> bool:
        return self.ft_options is not None or self.document.annotations.get("ray.io/ft-enabled") == "true"

    @property
    def auth_mode(self) -> str:
        return text(dig(self.spec, "authOptions", "mode"))

    @property
    def token_auth(self) -> bool:
        return self.auth_mode == "token"


# Rules ask for a document's cluster spec and pod templates many times each; the
# views are built once per document (after defaulting: every check that asks runs after the
# schema stage) and kept on it.
_VIEWS = "_ray_views"


def document_view(document: Document, name: str, build: Callable[[Document], T]) -> T:
    """`build(document)`, computed the first time any check asks for view `name` of this document."""
    views = document.__dict__.setdefault(_VIEWS, {})
    if name not in views:
        views[name] = build(document)
    return views[name]  # type: ignore[no-any-return]


def release_views(document: Document) -> None:
    """Forget the views of `document` once its checks are done: held for every document of a
    20,000-resource bundle they are about 30 MiB; a later check that asks builds them again."""
    document.__dict__.pop(_VIEWS, None)


def cluster_spec(document: Document) -> ClusterSpec | None:
    return document_view(document, "cluster_spec", build_cluster_spec)


def build_cluster_spec(document: Document) -> ClusterSpec | None:
    """The document's cluster spec, built anew: for a pass over the whole bundle, which would otherwise
    keep a view on every document at once (see `release_views`)."""
    path = CLUSTER_SPEC_PATHS.get(document.kind)
    if path is None:
        return None
    spec = dig(document.body, *path)
    return ClusterSpec(document, spec, path) if isinstance(spec, dict) else None


def job_spec(document: Document) -> tuple[dict[str, Any], Path] | None:
    path = JOB_SPEC_PATHS.get(document.kind)
    if path is None:
        return None
    spec = dig(document.body, *path)
    return (spec, path) if isinstance(spec, dict) else None


def job_cluster(document: Document, job: dict[str, Any], bundle: Bundle) -> ClusterSpec | None:
    """The cluster a RayJob runs on: its own rayClusterSpec, or the RayCluster its clusterSelector names."""
    selector = mapping(job.get("clusterSelector"))
    if not selector:
        return cluster_spec(document)
    name = text(selector.get("ray.io/cluster"))
    target = bundle.find("RayCluster", name, document.namespace) if name else None
    return cluster_spec(target) if target is not None else None


# --- versions and images ---------------------------------------------------------------

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(value: str) -> tuple[int, int, int] | None:
    """ "2.60.0" -> (2, 60, 0); "2.52" -> (2, 52, 0); anything else (nightly, "") -> None."""
    return _parse_version(value) if isinstance(value, str) else None


# A bundle repeats a handful of versions and images thousands of times; the caches are bounded, so a
# bundle of distinct ones costs a miss each, not memory.
@lru_cache(maxsize=1024)
def _parse_version(value: str) -> tuple[int, int, int] | None:
    match = _VERSION.match(value.strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def format_version(version: tuple[int, int, int]) -> str:
    return ".".join(str(p) for p in version)


@dataclass(frozen=True)
class ImageRef:
    repository: str  # registry/path/name, without tag or digest
    tag: str
    digest: str

    @property
    def name(self) -> str:
        return self.repository.rsplit("/", 1)[-1]

    @property
    def is_ray_image(self) -> bool:
        """Images built by the Ray project (ray, ray-ml, ray-llm): their tag carries the Ray version."""
        return self.name in ("ray", "ray-ml", "ray-llm")

    @cached_property
    def ray_version(self) -> tuple[int, int, int] | None:
        match = re.match(r"(\d+\.\d+\.\d+)(?:$|[-.])", self.tag)
        return parse_version(match.group(1)) if match else None


@lru_cache(maxsize=1024)
def parse_image(image: str) -> ImageRef:
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return ImageRef(rest[:colon], rest[colon + 1 :], digest)
    return ImageRef(rest, "", digest)


# --- external references ---------------------------------------------------------------


def declared_external(document: Document) -> set[tuple[str, str]]:
    """(Kind, name) pairs the resource declares as living outside the bundle."""
    value = document.annotations.get(EXTERNAL_ANNOTATION)
    declared: set[tuple[str, str]] = set()
    for entry in re.split(r"[,;\n]", text(value)):
        kind, slash, name = entry.strip().partition("/")
        if slash and kind.strip() and name.strip():
            declared.add((kind.strip(), name.strip()))
    return declared


def is_external(document: Document, kind: str, name: str) -> bool:
    return (kind, name) in declared_external(document)
