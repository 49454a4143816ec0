"""Ray Serve 2.60's config schema (ServeDeploySchema and the models under it), as the rules need it.

KubeRay hands serveConfigV2 to Serve's REST API unchanged; Serve validates it with
pydantic models in lax mode: numeric strings pass for numbers (`max_ongoing_requests:
"5"`), other mismatches fail, and unknown fields are silently ignored (except in
`logging_config`, which forbids them). A rejected config leaves the RayService
never ready; an ignored field (`route_prefx`) silently does nothing.

The tables below hold each model's field names and the values Serve accepts, so that
validating needs no Ray; tests/rules/test_serve_schema_agreement.py compares them with
Ray's own models, field by field and verdict by verdict.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# A value check returns None when Serve accepts the value, else what Serve expects.
ValueCheck = Callable[[Any], str | None]


@dataclass(frozen=True)
class Model:
    """One pydantic model of Serve's schema: its fields and whether it forbids unknown ones."""

    name: str  # Ray's class name, for the agreement test
    fields: dict[str, ValueCheck | str | tuple[str]]  # a check, a nested model name, or (model,) for a list of it
    forbids_extra: bool = False


def _number(value: Any) -> float | None:
    """The number pydantic's lax mode reads from a value (bools are ints to it), or None."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def number(
    *, gt: float | None = None, ge: float | None = None, le: float | None = None, optional: bool = False
) -> ValueCheck:
    bounds = " ".join(
        b
        for b in (
            f"above {gt:g}" if gt is not None else "",
            f"at least {ge:g}" if ge is not None else "",
            f"at most {le:g}" if le is not None else "",
        )
        if b
    )
    expected = f"a number {bounds}".strip()

    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        found = _number(value)
        if found is None or math.isnan(found):
            return expected
        if (gt is not None and found <= gt) or (ge is not None and found < ge) or (le is not None and found > le):
            return expected
        return None

    return check


def integer(
    *, gt: int | None = None, ge: int | None = None, optional: bool = False, strict: bool = False
) -> ValueCheck:
    bounds = " ".join(
        b for b in (f"above {gt}" if gt is not None else "", f"at least {ge}" if ge is not None else "") if b
    )
    expected = f"an integer {bounds}".strip()

    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        if strict and (not isinstance(value, int) or isinstance(value, bool)):
            return expected + " (written as a number, not a string)"
        found = _number(value)
        if found is None or not found.is_integer():
            return expected
        if (gt is not None and found <= gt) or (ge is not None and found < ge):
            return expected
        return None

    return check


def of_type(kind: type | tuple[type, ...], expected: str, *, optional: bool = False) -> ValueCheck:
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        return None if isinstance(value, kind) and not (kind is int and isinstance(value, bool)) else expected

    return check


_TRUE_FALSE = {"true", "false", "yes", "no", "on", "off", "1", "0", "t", "f", "y", "n"}


def boolean(value: Any) -> str | None:
    if isinstance(value, bool) or value in (0, 1) or (isinstance(value, str) and value.strip().lower() in _TRUE_FALSE):
        return None
    return "true or false"


def one_of(*values: str, optional: bool = False) -> ValueCheck:
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        return None if value in values else "one of " + ", ".join(values)

    return check


def num_replicas(value: Any) -> str | None:
    """An integer above 0 (a YAML number: Serve's own validator rejects the string "2") or "auto"."""
    if value is None or value == "auto" or isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return None
    if isinstance(value, float) and value.is_integer() and value > 0:
        return None
    return 'an integer above 0 or "auto"'


def max_queued_requests(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and (value == -1 or value > 0):
        return None
    return "-1 (no limit) or an integer above 0, written as a number"


LOG_LEVELS = ("CRITICAL", "FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "NOTSET")


def log_level(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    return None if isinstance(value, str) and value in LOG_LEVELS else "one of " + ", ".join(LOG_LEVELS)


STRING = of_type(str, "a string")
OPTIONAL_STRING = of_type(str, "a string", optional=True)
MAPPING = of_type(dict, "a mapping")
OPTIONAL_MAPPING = of_type(dict, "a mapping", optional=True)
LIST = of_type(list, "a list")
OPTIONAL_LIST = of_type(list, "a list", optional=True)
ANY: ValueCheck = lambda value: None  # noqa: E731 - Serve checks it later, or not at all

MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model(
            "ServeDeploySchema",
            {
                "proxy_location": one_of("Disabled", "HeadOnly", "EveryNode"),
                "http_options": "HTTPOptionsSchema",
                "grpc_options": "gRPCOptionsSchema",
                "controller_options": OPTIONAL_MAPPING,
                "logging_config": "LoggingConfig",
                "tracing_config": OPTIONAL_MAPPING,
                "applications": ("ServeApplicationSchema",),
                "target_capacity": number(ge=0, le=100, optional=True),
            },
        ),
        Model(
            "ServeApplicationSchema",
            {
                "name": STRING,
                "route_prefix": OPTIONAL_STRING,
                "import_path": STRING,
                "runtime_env": MAPPING,
                "host": STRING,
                "port": integer(),
                "deployments": ("DeploymentSchema",),
                "autoscaling_policy": OPTIONAL_MAPPING,
                "args": MAPPING,
                "logging_config": "LoggingConfig",
                "external_scaler_enabled": boolean,
            },
        ),
        Model(
            "DeploymentSchema",
            {
                "name": STRING,
                "num_replicas": num_replicas,
                "max_ongoing_requests": integer(gt=0),
                "max_queued_requests": max_queued_requests,
                "backpressure_config": OPTIONAL_MAPPING,
                "user_config": OPTIONAL_MAPPING,
                "autoscaling_config": "AutoscalingConfig",
                "graceful_shutdown_wait_loop_s": number(ge=0),
                "graceful_shutdown_timeout_s": number(ge=0),
                "health_check_period_s": number(gt=0),
                "health_check_timeout_s": number(gt=0),
                "ray_actor_options": "RayActorOptionsSchema",
                "placement_group_bundles": OPTIONAL_LIST,
                "placement_group_strategy": STRING,
                "placement_group_bundle_label_selector": OPTIONAL_LIST,
                "max_replicas_per_node": integer(optional=True),
                "logging_config": "LoggingConfig",
                "request_router_config": OPTIONAL_MAPPING,
                "gang_scheduling_config": OPTIONAL_MAPPING,
                "deployment_actors": OPTIONAL_LIST,
                "rolling_update_percentage": number(gt=0, le=1),
                "max_surge_percent": integer(ge=0),
            },
        ),
        Model(
            "RayActorOptionsSchema",
            {
                "runtime_env": MAPPING,
                "num_cpus": number(ge=0, optional=True),
                "num_gpus": number(ge=0, optional=True),
                "memory": number(ge=0, optional=True),
                "resources": MAPPING,
                "accelerator_type": OPTIONAL_STRING,
                "label_selector": OPTIONAL_MAPPING,
                "fallback_strategy": OPTIONAL_LIST,
            },
        ),
        # Serve keeps autoscaling_config a plain dict in the schema and builds this model when it
        # deploys the application: a bad value fails the deployment instead of the REST call.
        Model(
            "AutoscalingConfig",
            {
                "min_replicas": integer(ge=0),
                "initial_replicas": integer(ge=0, optional=True),
                "max_replicas": integer(gt=0),
                "target_ongoing_requests": number(gt=0, optional=True),
                "metrics_interval_s": number(gt=0),
                "look_back_period_s": number(gt=0),
                "smoothing_factor": number(gt=0),
                "upscale_smoothing_factor": number(gt=0, optional=True),
                "downscale_smoothing_factor": number(gt=0, optional=True),
                "upscaling_factor": number(gt=0, optional=True),
                "downscaling_factor": number(gt=0, optional=True),
                "downscale_delay_s": number(ge=0),
                "downscale_to_zero_delay_s": number(ge=0, optional=True),
                "upscale_delay_s": number(ge=0),
                "aggregation_function": ANY,
                "policy": ANY,
            },
        ),
        Model(
            "HTTPOptionsSchema",
            {
                "host": STRING,
                "port": integer(),
                "root_path": STRING,
                "request_timeout_s": number(optional=True),
                "keep_alive_timeout_s": integer(),
                "ssl_keyfile": OPTIONAL_STRING,
                "ssl_certfile": OPTIONAL_STRING,
                "ssl_keyfile_password": OPTIONAL_STRING,
                "ssl_ca_certs": OPTIONAL_STRING,
            },
        ),
        Model(
            "gRPCOptionsSchema",
            {
                "port": integer(),
                "grpc_servicer_functions": LIST,
                "request_timeout_s": number(optional=True),
                "enable_reflection": boolean,
            },
        ),
        Model(
            "LoggingConfig",
            {
                "encoding": one_of("TEXT", "JSON"),
                "log_level": log_level,
                "logs_dir": OPTIONAL_STRING,
                "enable_access_log": boolean,
                "additional_log_standard_attrs": LIST,
            },
            forbids_extra=True,
        ),
    )
}

ROOT = "ServeDeploySchema"


@dataclass(frozen=True)
class SchemaProblem:
    where: str  # the field inside serveConfigV2: applications[0].deployments[1].num_replicas
    message: str
    unknown_field: bool  # an unknown field Serve ignores (a warning), not a value it rejects


def check_config(config: dict[str, Any]) -> Iterator[SchemaProblem]:
    """Every value Serve would reject, and every field it would ignore, in document order."""
    yield from _check_model(MODELS[ROOT], config, "")


def _check_model(model: Model, body: dict[str, Any], prefix: str) -> Iterator[SchemaProblem]:
    for key, value in body.items():
        where = f"{prefix}.{key}" if prefix else str(key)
        spec = model.fields.get(str(key))
        if spec is None:
            close = difflib.get_close_matches(str(key), list(model.fields), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(model.fields)}"
            if model.forbids_extra:
                yield SchemaProblem(
                    where, f"{where} is not a field Ray Serve accepts here (it rejects the config){hint}", False
                )
            else:
                yield SchemaProblem(
                    where, f"{where} is not a field of Ray Serve's config, so Serve ignores it{hint}", True
                )
            continue
        if isinstance(spec, tuple):  # a list of a nested model
            if not isinstance(value, list):
                yield SchemaProblem(where, f"{where} must be a list; Ray Serve rejects {_shown(value)}", False)
                continue
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    yield from _check_model(MODELS[spec[0]], item, f"{where}[{index}]")
                else:
                    yield SchemaProblem(
                        f"{where}[{index}]",
                        f"{where}[{index}] must be a mapping; Ray Serve rejects {_shown(item)}",
                        False,
                    )
        elif isinstance(spec, str):  # a nested model
            if value is None:
                continue
            if not isinstance(value, dict):
                yield SchemaProblem(where, f"{where} must be a mapping; Ray Serve rejects {_shown(value)}", False)
            else:
                yield from _check_model(MODELS[spec], value, where)
        else:
            expected = spec(value)
            if expected is not None:
                yield SchemaProblem(where, f"{where} is {_shown(value)}; Ray Serve expects {expected}", False)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
