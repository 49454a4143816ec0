"""The PrometheusRule alerts on metrics that Ray 2.60 really exports.

Alerts on a metric name that does not exist never fire, and nothing tells you (KubeRay's own
sample rules use `ray_gcs_update_resource_usage_time_bucket`, gone from current Ray). Each name
is looked up in the installed, pinned Ray: Python metric definitions, and the GCS server binary
for the C++ ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .bundle import Bundle
from .conftest import rendered

# The overlays that include components/monitoring (dev leaves it out: no Prometheus Operator on kind).
MONITORED = ("gpu", "prod")


@pytest.fixture(scope="module", params=MONITORED)
def overlay(request: pytest.FixtureRequest) -> Bundle:
    return rendered(f"overlays/{request.param}")

METRIC = re.compile(r"\b(ray_[a-z0-9_]+)")
HISTOGRAM_SERIES = re.compile(r"_(bucket|count|sum)$")
# Ray's Serve proxy builds its HTTP metric names from the protocol: serve_num_{protocol_name}_requests.
PROTOCOL_TEMPLATE = ("_http_", "_{protocol_name}_")
SEARCHED_PACKAGES = ("dashboard", "serve", "autoscaler", "_private", "util")


@pytest.fixture(scope="module")
def ray_metric_sources() -> tuple[str, bytes]:
    import ray

    assert ray.__version__ == "2.60.0"
    root = Path(ray.__file__).parent
    python = "\n".join(p.read_text(errors="ignore") for package in SEARCHED_PACKAGES for p in (root / package).rglob("*.py"))
    return python, (root / "core" / "src" / "ray" / "gcs" / "gcs_server").read_bytes()


def exported_by_ray(name: str, sources: tuple[str, bytes]) -> bool:
    python, gcs_binary = sources
    base = HISTOGRAM_SERIES.sub("", name.removeprefix("ray_"))
    candidates = {base, base.replace("serve_http_", "serve_{protocol_name}_").replace(*PROTOCOL_TEMPLATE)}
    return any(f'"{c}"' in python or f"f\"{c}\"" in python or f'"{c}",' in python for c in candidates) or base.encode() in gcs_binary


def alerts(bundle: Bundle) -> list[dict]:
    return [rule for doc in bundle.of_kind("PrometheusRule") for group in doc["spec"]["groups"] for rule in group["rules"]]


def relabelled_labels(bundle: Bundle) -> set[str]:
    """Labels the monitors add to every series (ray_io_cluster, ...): label names, not metrics."""
    endpoints = [e for m in bundle.of_kind("ServiceMonitor") for e in m["spec"]["endpoints"]]
    endpoints += [e for m in bundle.of_kind("PodMonitor") for e in m["spec"]["podMetricsEndpoints"]]
    return {r["targetLabel"] for e in endpoints for r in e.get("relabelings", [])}


def test_every_alert_uses_metrics_ray_exports(overlay: Bundle, ray_metric_sources):
    labels = relabelled_labels(overlay)
    unknown = {
        (rule["alert"], name)
        for rule in alerts(overlay)
        for name in METRIC.findall(rule["expr"])
        if name not in labels and not exported_by_ray(name, ray_metric_sources)
    }
    assert not unknown, f"alerts on metrics Ray 2.60 does not export: {sorted(unknown)}"


def test_the_lookup_rejects_a_metric_ray_dropped(ray_metric_sources):
    assert not exported_by_ray("ray_gcs_update_resource_usage_time_bucket", ray_metric_sources)
    assert exported_by_ray("ray_serve_http_request_latency_ms_bucket", ray_metric_sources)


def test_alerts_cover_memory_nodes_gcs_and_serve(overlay: Bundle):
    expressions = " ".join(rule["expr"] for rule in alerts(overlay))
    for needed in ("ray_node_mem_used", "ray_cluster_failed_nodes", 'ray_io_node_type="head"', "ray_serve_num_http_error_requests", "ray_serve_http_request_latency_ms_bucket"):
        assert needed in expressions, f"no alert on {needed}"
    for rule in alerts(overlay):
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
