"""Limits as kubectl and the API server have them: each exceeded limit is a finding on its
document, the documents around it are still checked, and no work grows faster than the input."""

from __future__ import annotations

import base64

from raygitops.checks.ray._access import shell_words
from raygitops.inputs.documents import MAX_DEPTH, load_stream

from .helpers import BAD_SERVICE, alias_bomb, check, configmap, rules

MIB = 1024 * 1024


def test_an_alias_bomb_is_refused_and_the_next_document_still_checked(schema_store):
    report = check(alias_bomb() + "---\n" + BAD_SERVICE, schema_store)
    [refused] = [f for f in report.findings if f.rule == "yaml-excessive-aliasing"]
    assert refused.index == 0 and "excessive aliasing" in refused.message
    assert "service-port" in rules(report)  # document 1 was validated


def test_modest_anchors_and_merge_keys_still_decode():
    text = configmap("merged", "  labels: &labels {app: ray}\n  annotations:\n    <<: *labels\n    note: x\n")
    documents, findings = load_stream(text, "-")
    assert findings == [] and documents[0].annotations == {"app": "ray", "note": "x"}


def test_a_recursive_alias_is_refused():
    _, findings = load_stream(configmap("loop", "data: &d {a: *d}\n"), "-")
    assert [f.rule for f in findings] == ["yaml-excessive-aliasing"]


def test_nesting_past_the_bound_is_a_finding_and_the_next_document_still_checked(schema_store):
    deep = "[" * (MAX_DEPTH + 50) + "]" * (MAX_DEPTH + 50)
    report = check(configmap("deep", f"data: {{a: {deep}}}\n") + "---\n" + BAD_SERVICE, schema_store)
    [refused] = [f for f in report.findings if f.rule == "document-too-deep"]
    assert refused.index == 0 and f"more than {MAX_DEPTH} levels" in refused.message
    assert "service-port" in rules(report)


def test_nesting_1100_levels_is_a_finding_not_an_internal_error(schema_store):
    deep = "[" * 1100 + "]" * 1100
    report = check(BAD_SERVICE + "---\n" + configmap("deep", f"data: {{a: {deep}}}\n"), schema_store)
    assert "service-port" in rules(report) and "yaml-syntax" in rules(report)


def test_configmap_and_secret_data_over_1_mib_are_refused_as_the_api_server_does(schema_store):
    at_limit = configmap("fits", f"data:\n  a: {'x' * (MIB - 1)}\n")
    over = configmap("big", f"data:\n  a: {'x' * (MIB // 2)}\n  b: {'y' * (MIB // 2 + 1)}\n")
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: big}\n"
        f"data:\n  blob: {base64.b64encode(b'z' * (MIB + 10)).decode()}\n"
    )
    report = check("---\n".join([at_limit, over, secret]), schema_store)
    too_large = sorted((f.index, f.path) for f in report.findings if f.rule == "data-too-large")
    assert too_large == [(1, ""), (2, "/data")]
    assert all(len(f.message) < 300 for f in report.findings)


def test_a_document_over_the_3_mib_request_limit_is_refused_and_the_others_checked(schema_store):
    huge = configmap("huge", "data:\n" + "".join(f"  k{i}: {'v' * 1000}\n" for i in range(3200)))
    report = check(huge + "---\n" + BAD_SERVICE, schema_store)
    [refused] = [f for f in report.findings if f.rule == "request-too-large"]
    assert refused.index == 0 and "3 MiB" in refused.message
    assert "service-port" in rules(report)


def test_messages_quote_only_a_short_prefix_of_a_value(schema_store):
    long = "x" * 200_000
    text = configmap("long", f"  labels:\n    app: '{long}!'\n    {long}: v\ndata:\n  a: [{long}]\n")
    report = check(text, schema_store)
    assert report.findings and all(len(f.message) < 400 for f in report.findings)


def test_a_huge_integer_is_a_finding_that_never_formats_the_integer(schema_store):
    for digits, expected in ((400, "an integer of 400 digits"), (5000, "expected integer")):  # str() refuses 4,300+ digits
        text = f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d}}\nspec:\n  replicas: {'9' * digits}\n"
        report = check(text, schema_store)
        [finding] = [f for f in report.findings if f.path == "/spec/replicas"]
        assert expected in finding.message and len(finding.message) < 300


def test_an_entrypoint_of_1_mb_is_read_once_and_linearly(schema_store):
    word = "a" * (1024 * 1024)
    job = (
        "apiVersion: ray.io/v1\nkind: RayJob\nmetadata: {name: j}\nspec:\n"
        f"  entrypoint: python /home/ray/train.py --num-workers 2 --tag {word}\n"
        "  rayClusterSpec: {rayVersion: '2.60.0', headGroupSpec: {template: {spec: {containers: "
        "[{name: head, image: 'rayproject/ray:2.60.0-py311'}]}}}}\n"
    )
    report = check(job, schema_store)
    assert "rule-crashed" not in rules(report)


def test_shell_words_splits_like_a_posix_shell():
    assert shell_words("""python a.py --x 'one two' "three \\"four\\"" five\\ six""") == (
        "python", "a.py", "--x", "one two", 'three "four"', "five six")
    assert shell_words("python 'unclosed") is None
    assert shell_words("  ") == ()


def test_an_alias_bomb_in_runtime_env_yaml_is_a_finding_of_its_rule(schema_store):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\\n" + "".join(
        f"l{i}: &l{i} [{', '.join(['*' + ('a' if i == 0 else f'l{i - 1}')] * 10)}]\\n" for i in range(7))
    deep = "[" * 300 + "]" * 300
    for block in (bomb, deep):
        job = (
            "apiVersion: ray.io/v1\nkind: RayJob\nmetadata: {name: j}\nspec:\n"
            f"  entrypoint: python x.py\n  runtimeEnvYAML: \"{block}\"\n"
            "  rayClusterSpec: {rayVersion: '2.60.0', headGroupSpec: {template: {spec: {containers: "
            "[{name: head, image: 'rayproject/ray:2.60.0-py311'}]}}}}\n"
        )
        report = check(job, schema_store)
        assert "rule-crashed" not in rules(report)
        assert "rayjob-runtime-env-yaml" in rules(report), [f.message for f in report.findings]
