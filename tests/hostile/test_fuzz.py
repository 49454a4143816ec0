"""A structural fuzzer over the whole validator, kept small so the suite stays fast.

`make fuzz` runs the same mutations thousands of times and reports the figures.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .mutations import mutated_stream, run_once, seeds

SEEDS = seeds()


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rng=st.randoms(use_true_random=False))
def test_mutated_manifests_never_crash_and_every_output_is_well_formed(schema_store, rng: random.Random):
    text = mutated_stream(SEEDS, rng)
    outcome = run_once(text, schema_store)
    assert outcome.rule_crashed == [], outcome.rule_crashed
    assert outcome.malformed == [], outcome.malformed


def test_the_seeds_are_the_rendered_overlays_and_the_rule_fixtures():
    assert any("kind: RayService" in s for s in SEEDS) and len(SEEDS) > 100
