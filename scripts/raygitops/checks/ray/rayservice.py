"""What KubeRay rejects in a RayService, and what Ray Serve rejects in its serveConfigV2.

KubeRay hands serveConfigV2 to the Serve REST API of the new cluster only after
the cluster is up, so a malformed config costs a full cluster start before it
fails, and then only shows as a status message on the RayService.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...findings import Severity
from ...inputs.documents import Document, EmbeddedYAMLError, load_embedded
from ...schema.formats import parse_duration
from . import Bundle, Problem, Subject, rule
from ._access import dig, integer, mapping, sequence, text
from ._ray import ClusterSpec
from ._serve_schema import check_config

UPGRADE_TYPES = ("NewCluster", "NewClusterWithIncrementalUpgrade", "None")


@dataclass(frozen=True)
class ServeApp:
    index: int
    body: dict[str, Any]

    @property
    def name(self) -> str:
        return text(self.body.get("name")) or "default"

    @property
    def import_path(self) -> str:
        return text(self.body.get("import_path"))

    @property
    def module(self) -> str:
        """The module Serve imports: before ':' (or before the last '.' in the dotted form)."""
        path = self.import_path
        return path.partition(":")[0] if ":" in path else path.rpartition(".")[0]


@functools.lru_cache(maxsize=512)
def _parse(source: str) -> tuple[Any, str | None]:
    """The YAML value of a config block, or why it does not parse. Several rules read the same block."""
    try:
        return load_embedded(source), None
    except EmbeddedYAMLError as exc:
        where = f" at line {exc.line} of the block" if exc.line is not None else ""
        return None, f"{where} ({exc.problem})"


def serve_config(document: Document) -> dict[str, Any] | None:
    """serveConfigV2 as Serve reads it; None when absent or unreadable (the parse rule reports that)."""
    source = document.spec.get("serveConfigV2")
    if not isinstance(source, str):
        return None
    parsed, error = _parse(source)
    return parsed if error is None and isinstance(parsed, dict) else None


def serve_apps(document: Document) -> list[ServeApp]:
    config = serve_config(document)
    if config is None:
        return []
    return [ServeApp(i, a) for i, a in enumerate(sequence(config.get("applications"))) if isinstance(a, dict)]


CONFIG_PATH = ("spec", "serveConfigV2")


@rule("rayservice-initializing-timeout", kinds=("RayService",))
def initializing_timeout(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """The ray.io/initializing-timeout annotation is a positive duration (5m) or a positive number of seconds.

    Why: KubeRay v1.7.0's RayService validation (validation.go) accepts ray.io/initializing-timeout only as a
    positive Go duration or a positive number of seconds; otherwise the RayService's Ready condition turns False
    with ValidationFailed and nothing is deployed.

    Fails:
        kind: RayService
        metadata:
          annotations: {ray.io/initializing-timeout: ten-minutes}

    Instead:
        kind: RayService
        metadata:
          annotations: {ray.io/initializing-timeout: '600'}
    """
    value = document.annotations.get("ray.io/initializing-timeout")
    if value is None or value == "":
        return
    path = ("metadata", "annotations", "ray.io/initializing-timeout")
    raw = str(value)
    seconds = parse_duration(raw)
    if seconds is None and re.fullmatch(r"[+-]?\d+", raw):
        seconds = float(raw)
    if seconds is None:
        yield Problem(
            path,
            f"ray.io/initializing-timeout {raw!r} is neither a duration nor a number of seconds; use e.g. '10m' or '600'",
        )
    elif seconds <= 0:
        yield Problem(path, f"ray.io/initializing-timeout {raw!r} is not positive; use e.g. '10m'")


@rule("serve-config-parse", kinds=("RayService",))
def config_parse(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """serveConfigV2 is a YAML mapping with an `applications` list.

    Why: KubeRay passes serveConfigV2 to Serve's REST API only after the new cluster is up; a block that is not YAML,
    not a mapping or without applications costs a whole cluster start and then shows only as a status message on the
    RayService, which never becomes ready.

    Fails:
        serveConfigV2: |
          applications:
            - name: app
             import_path: app:d

    Instead:
        serveConfigV2: |
          applications:
            - name: app
              import_path: app:d
    """
    source = document.spec.get("serveConfigV2")
    if not isinstance(source, str):
        return
    parsed, error = _parse(source)
    if error is not None:
        yield Problem(CONFIG_PATH, f"serveConfigV2 is not valid YAML{error}; fix the block")
        return
    if not isinstance(parsed, dict):
        yield Problem(CONFIG_PATH, "serveConfigV2 is not a mapping; write it as 'applications: [...]'")
    elif not isinstance(parsed.get("applications"), list) or not parsed["applications"]:
        yield Problem(
            CONFIG_PATH, "serveConfigV2 has no applications list; add 'applications:' with at least one application"
        )


@rule("serve-config-schema", kinds=("RayService",))
def config_schema(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """serveConfigV2 holds only values Ray Serve 2.60's config schema accepts, and every required field.

    Why: KubeRay sends the config to Serve's REST API once the cluster is up; a value Serve rejects
    (`num_replicas: "two"`) leaves the RayService never ready, with the reason only in its status.

    Fails:
        serveConfigV2: |
          applications: [{import_path: app:deployment, deployments: [{name: D, num_replicas: two}]}]

    Instead:
        serveConfigV2: |
          applications: [{import_path: app:deployment, deployments: [{name: D, num_replicas: 2}]}]
    """
    config = serve_config(document)
    if config is None:
        return
    for index, app in enumerate(sequence(config.get("applications"))):
        where = f"applications[{index}]"
        if isinstance(app, dict) and not text(app.get("import_path")):
            yield Problem(CONFIG_PATH, f"serveConfigV2 {where} has no import_path; set it to 'module:attribute'")
        for position, deployment in enumerate(sequence(app.get("deployments")) if isinstance(app, dict) else []):
            if isinstance(deployment, dict) and not text(deployment.get("name")):
                yield Problem(
                    CONFIG_PATH,
                    f"serveConfigV2 {where}.deployments[{position}] needs a name matching a deployment in the code",
                )
    for problem in check_config(config):
        if not problem.unknown_field:
            yield Problem(CONFIG_PATH, f"serveConfigV2 {problem.message}; fix the value")


@rule("serve-config-unknown-field", kinds=("RayService",), severity=Severity.WARNING)
def config_unknown_field(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """serveConfigV2 has no field Ray Serve ignores (a misspelt `route_prefx`); the warning names the closest known field.

    Why: Serve's schema ignores unknown fields, so a typo silently leaves the setting at its default
    (an application served at '/', one replica, the default concurrency).

    Fails:
        serveConfigV2: |
          applications:
          - {name: app, import_path: app:deployment, route_prefx: /app}

    Instead:
        serveConfigV2: |
          applications:
          - {name: app, import_path: app:deployment, route_prefix: /app}
    """
    config = serve_config(document)
    if config is None:
        return
    for problem in check_config(config):
        if problem.unknown_field:
            yield Problem(CONFIG_PATH, f"serveConfigV2 {problem.message}")


@rule("serve-app-names-unique", kinds=("RayService",))
def app_names_unique(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Serve application names are unique (an unnamed application is called 'default').

    Why: Ray Serve rejects a config in which two applications share a name (an unnamed one is 'default'), so the
    whole deploy fails and the RayService stays not ready.

    Fails:
        applications:
          - {name: app, route_prefix: /app, import_path: app:deployment}
          - {name: app, route_prefix: /other, import_path: other:d}

    Instead:
        applications:
          - {name: app, route_prefix: /app, import_path: app:deployment}
          - {name: other, route_prefix: /other, import_path: other:d}
    """
    seen: set[str] = set()
    for app in serve_apps(document):
        if app.name in seen:
            yield Problem(
                CONFIG_PATH,
                f"serveConfigV2 has two applications named {app.name!r}; give each application its own name",
            )
        seen.add(app.name)


@rule("serve-route-prefix", kinds=("RayService",))
def route_prefix(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Serve route prefixes start with '/', do not end with '/' (except '/') and are unique.

    Why: Ray Serve rejects a route_prefix that does not start with '/', ends with '/' (other than '/') or holds '{'
    or '}', and two applications on the same prefix; the deploy fails and the RayService stays not ready.

    Fails:
        applications:
          - {name: app, route_prefix: /app, import_path: app:deployment}
          - {name: other, route_prefix: /app, import_path: other:d}

    Instead:
        applications:
          - {name: app, route_prefix: /app, import_path: app:deployment}
          - {name: other, route_prefix: /other, import_path: other:d}
    """
    seen: dict[str, str] = {}
    for app in serve_apps(document):
        prefix = app.body.get("route_prefix", "/")
        if not isinstance(prefix, str):
            continue
        if not prefix.startswith("/") or (prefix != "/" and prefix.endswith("/")) or "{" in prefix or "}" in prefix:
            yield Problem(
                CONFIG_PATH,
                f"application {app.name!r} has route_prefix {prefix!r}; it must start with '/' and not end with '/', e.g. '/{app.name}'",
            )
        elif prefix in seen:
            yield Problem(
                CONFIG_PATH,
                f"applications {seen[prefix]!r} and {app.name!r} share route_prefix {prefix!r}; give each its own prefix",
            )
        else:
            seen[prefix] = app.name


def import_path_problem(path: str) -> str | None:
    """Why Ray Serve rejects an import_path, or None. Serve checks only where ':' and '.' stand
    (ServeApplicationSchema.import_path_format_valid), not Python identifiers: a module path through
    folders with hyphens (`ai-ml.serve.llm:model`) is accepted and importlib imports it."""
    if ":" in path:
        if path.count(":") > 1:
            return "has more than one ':'"
        if path.startswith(":") or path.endswith(":"):
            return "starts or ends with ':'"
        return None
    if "." not in path:
        return "has neither ':' nor '.' between the module and the attribute"
    if path.startswith(".") or path.endswith("."):
        return "starts or ends with '.'"
    return None


@rule("serve-import-path", kinds=("RayService",))
def import_path(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A Serve import_path has the form module:attribute (or module.attribute), as Ray Serve checks it.

    Why: Ray Serve's config schema checks that import_path separates module and attribute with ':' (or a last '.');
    otherwise it rejects the application and the RayService never becomes ready.

    Fails:
        applications:
          - {name: app, route_prefix: /app, import_path: app}

    Instead:
        applications:
          - {name: app, route_prefix: /app, import_path: app:deployment}
    """
    for app in serve_apps(document):
        path = app.import_path
        problem = import_path_problem(path) if path else None
        if problem:
            yield Problem(
                CONFIG_PATH,
                f"application {app.name!r} has import_path {path!r}, which {problem}; "
                "write it as 'package.module:attribute'",
            )


@rule("serve-port-name", kinds=("RayService",), subject=Subject.RAY_CLUSTER)
def serve_port_name(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """If the head container declares ports, one is named 'serve' (or 'serve-*') so KubeRay can build the serve Service.

    Why: KubeRay builds the RayService's serve Service from the head container's port named 'serve'; when the
    container declares ports and none is named so, the serve Service does not lead to Serve's HTTP proxy and
    requests to <rayservice>-serve-svc fail.

    Fails:
        containers:
          - name: ray-head
            ports: [{name: http, containerPort: 8000}]

    Instead:
        containers:
          - name: ray-head
            ports: [{name: serve, containerPort: 8000}]
    """
    head = cluster.head.ray_container
    if head is None or not sequence(head.get("ports")):
        return
    names = [text(mapping(p).get("name")) for p in sequence(head.get("ports"))]
    if not any(n == "serve" or n.startswith("serve-") for n in names):
        yield Problem(
            (*cluster.head.ray_container_path, "ports"),
            "the head container declares ports but none is named 'serve'; add {name: serve, containerPort: 8000}",
        )


@rule("rayservice-head-service-name", kinds=("RayService",), subject=Subject.RAY_CLUSTER)
def head_service_name(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """A RayService's headService has no metadata.name (KubeRay names it per cluster).

    Why: KubeRay v1.7.0's RayService validation (validation.go) rejects a headService with metadata.name: each
    upgrade creates a new cluster, which needs its own head Service. The operator does not reconcile the RayService.

    Fails:
        rayClusterConfig:
          headGroupSpec:
            headService:
              metadata: {name: fixed}

    Instead:
        rayClusterConfig:
          headGroupSpec:
            headService:
              metadata: {labels: {a: b}}
    """
    if text(dig(cluster.head.spec, "headService", "metadata", "name")):
        yield Problem(
            (*cluster.head.path, "headService", "metadata", "name"),
            "a RayService's headService must not set metadata.name (each new cluster needs its own); remove the name",
        )


@rule("rayservice-upgrade-strategy", kinds=("RayService",))
def upgrade_strategy(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """upgradeStrategy.type is NewCluster, NewClusterWithIncrementalUpgrade or None; incremental upgrades are fully configured.

    Why: KubeRay v1.7.0's RayService validation (validation.go) accepts only NewCluster,
    NewClusterWithIncrementalUpgrade and None, and an incremental upgrade only with the autoscaler and complete
    clusterUpgradeOptions (stepSizePercent, intervalSeconds, gatewayClassName), checked while the
    RayServiceIncrementalUpgrade gate is on (the default); anything else leaves the RayService unreconciled.

    Fails:
        kind: RayService
        spec:
          upgradeStrategy: {type: Recreate}

    Instead:
        kind: RayService
        spec:
          upgradeStrategy: {type: NewCluster}
    """
    strategy = mapping(document.spec.get("upgradeStrategy"))
    kind = strategy.get("type")
    base = ("spec", "upgradeStrategy")
    if kind is None:
        return
    if kind not in UPGRADE_TYPES:
        yield Problem(
            (*base, "type"), f"upgradeStrategy.type {kind!r} is invalid; use one of {', '.join(UPGRADE_TYPES)}"
        )
        return
    if kind != "NewClusterWithIncrementalUpgrade" or not bundle.operator.enabled("RayServiceIncrementalUpgrade"):
        return  # with its gate off, KubeRay accepts the type and checks none of its options
    if dig(document.spec, "rayClusterConfig", "enableInTreeAutoscaling") is not True:
        yield Problem(
            (*base, "type"),
            "NewClusterWithIncrementalUpgrade needs the Ray autoscaler; set rayClusterConfig.enableInTreeAutoscaling: true",
        )
    options = strategy.get("clusterUpgradeOptions")
    if not isinstance(options, dict):
        yield Problem(
            base,
            "NewClusterWithIncrementalUpgrade needs clusterUpgradeOptions (stepSizePercent, intervalSeconds, gatewayClassName)",
        )
        return
    where = (*base, "clusterUpgradeOptions")
    surge = integer(options.get("maxSurgePercent"))
    surge = 100 if surge is None else surge
    step = integer(options.get("stepSizePercent"))
    interval = integer(options.get("intervalSeconds"))
    if not 0 <= surge <= 100:
        yield Problem((*where, "maxSurgePercent"), f"maxSurgePercent is {surge}; use 0 to 100")
    if step is None or not 0 <= step <= 100:
        yield Problem((*where, "stepSizePercent"), "stepSizePercent must be set between 0 and 100")
    elif step > surge:
        yield Problem((*where, "stepSizePercent"), f"stepSizePercent {step} is above maxSurgePercent {surge}; lower it")
    if interval is None or interval <= 0:
        yield Problem((*where, "intervalSeconds"), "intervalSeconds must be set above 0")
    if not text(options.get("gatewayClassName")):
        yield Problem(
            (*where, "gatewayClassName"),
            "gatewayClassName is required for incremental upgrades; name your Gateway API class",
        )


@rule("rayservice-deletion-delay", kinds=("RayService",))
def deletion_delay(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """rayClusterDeletionDelaySeconds is not negative.

    Why: KubeRay v1.7.0's RayService validation (validation.go) rejects a negative rayClusterDeletionDelaySeconds
    (how long the old cluster lives after an upgrade), so the operator does not reconcile the RayService.

    Fails:
        kind: RayService
        spec:
          rayClusterDeletionDelaySeconds: -1

    Instead:
        kind: RayService
        spec:
          rayClusterDeletionDelaySeconds: 0
    """
    value = integer(document.spec.get("rayClusterDeletionDelaySeconds"))
    if value is not None and value < 0:
        yield Problem(
            ("spec", "rayClusterDeletionDelaySeconds"),
            f"rayClusterDeletionDelaySeconds is {value}; set it to 0 or more",
        )
