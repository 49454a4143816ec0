"""The tools `make tools` builds from tools/*/go.mod: pinned, and used by `raygitops` without kubectl on PATH."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = Path(sys.executable).parent  # where `make tools` links its builds


def pinned_version(module_dir: str, module: str) -> str:
    """The version of `module` that tools/<module_dir>/go.mod requires."""
    go_mod = (REPO_ROOT / "tools" / module_dir / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", go_mod, re.MULTILINE)
    assert match, f"tools/{module_dir}/go.mod does not require {module}"
    return match.group(1)


def built_tool(name: str) -> Path:
    tool = TOOLS_BIN / name
    if not os.access(tool, os.X_OK):
        pytest.fail(f"{tool} is missing: run `make tools` (make setup does) to build the pinned {name}")
    return tool


@pytest.mark.parametrize(("tool", "module_dir", "module", "version_args", "reported"), [
    ("kustomize", "kustomize", "sigs.k8s.io/kustomize/kustomize/v5", ["version"], "{v}"),
    # Built from source, kubeconform reports "development": only the cache folder names its version.
    ("kubeconform", "kubeconform", "github.com/yannh/kubeconform", ["-v"], None),
    ("etcd", "etcd", "go.etcd.io/etcd/server/v3", ["--version"], "etcd Version: {bare}"),
    ("kube-apiserver", "kube", "k8s.io/kubernetes", ["--version"], "Kubernetes {v}"),
    ("kubectl", "kube", "k8s.io/kubernetes", ["version", "--client"], "Client Version: {v}"),
])
def test_make_tools_links_the_version_go_mod_pins(tool, module_dir, module, version_args, reported):
    linked = built_tool(tool)
    version = pinned_version(module_dir, module)
    assert linked.resolve().parent.name == f"{tool}-{version}"
    assert not linked.resolve().is_relative_to(REPO_ROOT), "the build cache must be outside the work tree"
    output = subprocess.run([linked, *version_args], check=True, capture_output=True, text=True, timeout=60).stdout
    if reported:
        assert output.splitlines()[0].strip() == reported.format(v=version, bare=version.removeprefix("v"))


def test_render_without_kubectl_or_kustomize_on_path_uses_the_pinned_kustomize(tmp_path):
    built_tool("kustomize")
    app = tmp_path / "app"
    app.mkdir()
    (app / "kustomization.yaml").write_text("namePrefix: dev-\nresources: [cm.yaml]\n")
    (app / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "RAYGITOPS_TOOLS_DIR"} | {"PATH": str(empty)}
    result = subprocess.run([TOOLS_BIN / "raygitops", "render", str(app)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "name: dev-settings" in result.stdout
