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
