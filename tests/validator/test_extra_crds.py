"""CRDs the repository config adds (`crds:` in .raygitops.yaml): converted into the store like the pinned ones."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from raygitops.cli import main

# A made-up CRD: a required field, defaults, and a CEL rule that reads the defaults.
WIDGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.test}
spec:
  group: example.test
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            x-kubernetes-validations:
            - rule: "self.minReplicas <= self.maxReplicas"
              message: minReplicas must not exceed maxReplicas
            properties:
              size: {type: string, enum: [small, large]}
              minReplicas: {type: integer, minimum: 0, default: 1}
              maxReplicas: {type: integer, default: 3}
"""
GOOD = "apiVersion: example.test/v1\nkind: Widget\nmetadata: {name: w, namespace: apps}\nspec: {size: small}\n"
# no size; minReplicas 5 against the defaulted maxReplicas 3
BAD = "apiVersion: example.test/v1\nkind: Widget\nmetadata: {name: w, namespace: apps}\nspec: {minReplicas: 5}\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "widgets.yaml").write_text(WIDGET_CRD)
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "good.yaml").write_text(GOOD)
    (tmp_path / "apps" / "bad.yaml").write_text(BAD)
    return tmp_path


def validate(path: Path, cache: Path, capsys) -> tuple[int, list[dict], str]:
    code = main(["validate", "-o", "json", "--cache-dir", str(cache), str(path)])
    captured = capsys.readouterr()
    findings = json.loads(captured.out)["findings"] if captured.out else []
    return code, findings, captured.err


def rules(findings: list[dict]) -> set[str]:
    return {f["rule"] for f in findings if f["severity"] == "error"}


def test_a_local_crd_in_the_config_validates_its_kind(repo, schema_cache_dir, capsys) -> None:
    code, findings, _ = validate(repo / "apps" / "bad.yaml", schema_cache_dir, capsys)
    assert code == 0 and [f["rule"] for f in findings] == ["unknown-group"], "without the config: unknown as before"

    (repo / ".raygitops.yaml").write_text("crds:\n- path: crds/widgets.yaml\n")
    code, findings, _ = validate(repo / "apps" / "good.yaml", schema_cache_dir, capsys)
    assert (code, findings) == (0, [])
    code, findings, _ = validate(repo / "apps" / "bad.yaml", schema_cache_dir, capsys)
    assert code == 1 and rules(findings) == {"schema-required", "cel-rule"}
    [cel] = [f for f in findings if f["rule"] == "cel-rule"]
    assert "minReplicas must not exceed maxReplicas" in cel["message"], "the rule saw the defaulted maxReplicas"


def test_a_local_crd_is_read_on_every_run(repo, schema_cache_dir, capsys) -> None:
    (repo / ".raygitops.yaml").write_text("crds:\n- path: crds/widgets.yaml\n")
    assert validate(repo / "apps" / "good.yaml", schema_cache_dir, capsys)[0] == 0
    (repo / "crds" / "widgets.yaml").write_text(WIDGET_CRD.replace("[small, large]", "[large]"))
    code, findings, _ = validate(repo / "apps" / "good.yaml", schema_cache_dir, capsys)
    assert code == 1 and rules(findings) == {"schema-enum"}


def test_the_config_in_pyproject_takes_crds_too(repo, schema_cache_dir, capsys) -> None:
    (repo / "pyproject.toml").write_text('[tool.raygitops]\ncrds = [{path = "crds/widgets.yaml"}]\n')
    code, findings, _ = validate(repo / "apps" / "bad.yaml", schema_cache_dir, capsys)
    assert code == 1 and "cel-rule" in rules(findings)


@pytest.mark.parametrize(
    ("entry", "crd", "expected"),
    [
        ("- path: crds/missing.yaml", None, "crds[0] (path: crds/missing.yaml): cannot read"),
        ("- path: crds/broken.yaml", "kind: CustomResourceDefinition\nspec: {group: x}\n", "malformed"),
        ("- path: crds/broken.yaml", "kind: ConfigMap\n", "holds no served CustomResourceDefinition"),
        (
            "- path: crds/broken.yaml",
            WIDGET_CRD.replace("openAPIV3Schema:\n", "openAPIV3Schema: loose\n      unused:\n"),
            "schema.openAPIV3Schema must be a mapping",
        ),
        ("- path: crds/broken.yaml", "spec: [unclosed\n", "not valid YAML"),
        ("- url: https://example.test/w.yaml", None, "crds[0] is"),
        ("- {url: https://example.test/w.yaml, sha256: abc}", None, "must be 64 hex digits"),
        ("- {url: ftp://example.test/w.yaml, sha256: " + "a" * 64 + "}", None, "url must start with"),
        ("- crds/widgets.yaml", None, "expected {path:"),
    ],
)
def test_a_bad_crd_entry_is_one_usage_error(repo, schema_cache_dir, capsys, entry, crd, expected) -> None:
    if crd is not None:
        (repo / "crds" / "broken.yaml").write_text(crd)
    (repo / ".raygitops.yaml").write_text(f"crds:\n{entry}\n")
    code, findings, err = validate(repo / "apps" / "good.yaml", schema_cache_dir, capsys)
    assert code == 2 and findings == []
    assert err.startswith(f"raygitops: {repo / '.raygitops.yaml'}: crds[0]") and expected in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.fixture
def served(repo: Path) -> Iterator[str]:
    """The CRD served over HTTP on 127.0.0.1 (no network needed)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(repo / "crds"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/widgets.yaml"
    server.shutdown()
    server.server_close()


def fetch(cache: Path, mirror: Path, capsys) -> tuple[int, str, str]:
    code = main(["schemas", "fetch", "--cache-dir", str(cache), "--mirror", str(mirror)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_url_crd_is_fetched_only_by_schemas_fetch_and_then_validates(
    repo, served, tmp_path_factory, mirror_dir, monkeypatch, capsys
) -> None:
    sha256 = hashlib.sha256(WIDGET_CRD.encode()).hexdigest()
    (repo / ".raygitops.yaml").write_text(f"crds:\n- url: {served}\n  sha256: {sha256}\n")
    cache = tmp_path_factory.mktemp("extra-store")
    monkeypatch.chdir(repo)
    # The pinned CRDs may be rebuilt from the mirror (as CI does); only the config's URL is never fetched.
    monkeypatch.setenv("RAYGITOPS_CRD_MIRROR", str(mirror_dir))

    code, _, err = validate(repo / "apps" / "bad.yaml", cache, capsys)
    assert code == 2 and "is not fetched yet" in err and "raygitops schemas fetch" in err, "validate stays offline"

    code, out, _ = fetch(cache, mirror_dir, capsys)
    assert code == 0 and f"{sha256[:12]}... ok (Widget example.test/v1)" in out
    (repo / "crds" / "widgets.yaml").unlink()  # validate never goes back to the server
    code, findings, _ = validate(repo / "apps" / "bad.yaml", cache, capsys)
    assert code == 1 and rules(findings) == {"schema-required", "cel-rule"}
    assert validate(repo / "apps" / "good.yaml", cache, capsys)[:2] == (0, [])


def test_a_url_crd_whose_sha256_differs_is_refused(repo, tmp_path_factory, mirror_dir, monkeypatch, capsys) -> None:
    url = (repo / "crds" / "widgets.yaml").as_uri()
    (repo / ".raygitops.yaml").write_text(
        f"crds:\n- url: {url}\n  sha256: {hashlib.sha256(BAD.encode()).hexdigest()}\n"
    )
    cache = tmp_path_factory.mktemp("extra-store")
    monkeypatch.chdir(repo)
    code, _, err = fetch(cache, mirror_dir, capsys)
    assert code == 2 and f"crds[0] (url: {url}): sha256 mismatch" in err and "refusing it" in err
    assert not list(cache.rglob("*.yaml")), "nothing was kept of the refused file"


def test_an_altered_extra_schema_in_the_cache_is_rebuilt_not_trusted(repo, schema_cache_dir, capsys) -> None:
    (repo / ".raygitops.yaml").write_text("crds:\n- path: crds/widgets.yaml\n")
    assert validate(repo / "apps" / "bad.yaml", schema_cache_dir, capsys)[0] == 1
    sha256 = hashlib.sha256(WIDGET_CRD.encode()).hexdigest()
    [converted] = schema_cache_dir.glob(f"extra-*-{sha256}/example.test_v1_Widget.json")
    converted.write_text('{"shared": [], "root": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}')
    code, findings, _ = validate(repo / "apps" / "bad.yaml", schema_cache_dir, capsys)
    assert code == 1 and rules(findings) == {"schema-required", "cel-rule"}
