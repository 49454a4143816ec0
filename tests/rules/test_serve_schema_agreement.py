"""The Serve config rules agree with Ray Serve itself (Ray 2.60, from the jobs extra).

Ray is imported only here, because it takes seconds: the rules re-implement the
checks so that validation needs no Ray, and this test keeps the two honest.
"""

from __future__ import annotations

import pytest
import yaml

from raygitops.inputs.documents import load_stream

from .cases import CASES

serve_schema = pytest.importorskip("ray.serve.schema", reason="Ray (the jobs extra) is not installed")
serve_utils = pytest.importorskip("ray.serve._private.utils")

SERVE_RULES = ["serve-config-schema", "serve-app-names-unique", "serve-route-prefix", "serve-import-path"]


def ray_accepts(fixture: str) -> bool:
    documents, _ = load_stream(fixture, "fixture.yaml")
    [service] = [d for d in documents if d.kind == "RayService"]
    config = yaml.safe_load(service.spec["serveConfigV2"])
    try:
        parsed = serve_schema.ServeDeploySchema.model_validate(config)
        for app in parsed.applications:
            serve_utils.validate_route_prefix(app.route_prefix)
    except ValueError:  # pydantic's ValidationError is a ValueError
        return False
    return True


@pytest.mark.parametrize("rule_id", SERVE_RULES)
def test_ray_serve_rejects_what_the_rule_rejects(rule_id: str) -> None:
    case = CASES[rule_id]
    assert ray_accepts(case.passing), f"Ray Serve rejects the passing fixture of {rule_id}"
    assert not ray_accepts(case.failing), f"Ray Serve accepts the failing fixture of {rule_id}"


# --- the schema tables against Ray Serve's own models ---------------------------------------

from raygitops.checks.ray._serve_schema import MODELS, check_config  # noqa: E402

serve_config = pytest.importorskip("ray.serve.config")


def ray_model(name: str):
    return getattr(serve_schema, name, None) or getattr(serve_config, name)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_model_has_ray_serves_fields_and_extra_policy(name: str) -> None:
    ours, theirs = MODELS[name], ray_model(name)
    assert set(ours.fields) == set(theirs.model_fields), f"{name}: fields differ from Ray Serve 2.60"
    assert ours.forbids_extra == (theirs.model_config.get("extra") == "forbid")


def ray_verdict(config: dict) -> bool:
    """True when Serve accepts the config: the REST call's schema, then each deployment's autoscaling config."""
    try:
        parsed = serve_schema.ServeDeploySchema.model_validate(config)
        for app in parsed.applications:
            for deployment in app.deployments:
                if isinstance(deployment.autoscaling_config, dict):
                    serve_config.AutoscalingConfig.model_validate(deployment.autoscaling_config)
    except ValueError:
        return False
    return True


def our_verdict(config: dict) -> bool:
    return not [p for p in check_config(config) if not p.unknown_field]


def app(**fields) -> dict:
    return {"applications": [{"name": "app", "import_path": "app:deployment", **fields}]}


def deployment(**fields) -> dict:
    return app(deployments=[{"name": "Model", **fields}])


# Values users write in RayServices, each side of the line Serve draws.
CONFIGS = [
    deployment(num_replicas=2), deployment(num_replicas="two"), deployment(num_replicas="auto"),
    deployment(num_replicas="2"), deployment(num_replicas=0), deployment(num_replicas=1.5),
    deployment(max_ongoing_requests="5"), deployment(max_ongoing_requests=0), deployment(max_ongoing_requests="many"),
    deployment(max_queued_requests=-1), deployment(max_queued_requests=0), deployment(max_queued_requests="5"),
    deployment(user_config={"threshold": 0.5}), deployment(user_config=[1]),
    deployment(health_check_period_s=0), deployment(graceful_shutdown_timeout_s="abc"),
    deployment(ray_actor_options={"num_cpus": 0.5, "num_gpus": "1"}), deployment(ray_actor_options={"num_cpus": -1}),
    deployment(ray_actor_options="cpu"),
    deployment(autoscaling_config={"min_replicas": 1, "max_replicas": 4, "target_ongoing_requests": 8}),
    deployment(autoscaling_config={"min_replicas": "x"}), deployment(autoscaling_config={"max_replicas": 0}),
    deployment(autoscaling_config={"target_ongoing_requests": -2}),
    deployment(max_ongoing_requestz=3),  # ignored by Serve: not a rejection
    app(route_prefix="/app", runtime_env={"pip": ["torch"]}), app(name=5), app(args=[]), app(runtime_env="x"),
    app(port="x"), app(logging_config={"log_level": "DEBUG"}), app(logging_config={"log_levl": "INFO"}),
    app(logging_config={"log_level": "LOUD"}), app(route_prefx="/x"),
    {**app(), "proxy_location": "HeadOnly"}, {**app(), "proxy_location": "Everywhere"},
    {**app(), "target_capacity": 50}, {**app(), "target_capacity": 150},
    {**app(), "http_options": {"host": "0.0.0.0", "port": 8000}}, {**app(), "http_options": {"port": "abc"}},
    {**app(), "grpc_options": {"port": 9000, "grpc_servicer_functions": []}},
]


@pytest.mark.parametrize("config", CONFIGS, ids=[str(c)[:80] for c in CONFIGS])
def test_serve_config_verdict_agrees_with_ray_serve(config: dict) -> None:
    assert our_verdict(config) == ray_verdict(config)


def test_an_ignored_field_is_named_with_its_closest_known_field() -> None:
    [problem] = check_config(deployment(max_ongoing_requestz=3))
    assert problem.unknown_field
    assert "max_ongoing_requests" in problem.message
