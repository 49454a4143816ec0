"""docs/deploy.md tells a user how to create every Secret the overlays expect but do not ship."""

from __future__ import annotations

import re

from .bundle import Bundle


def external_secrets(bundle: Bundle) -> set[str]:
    names = set()
    for doc in bundle.documents:
        declared = doc["metadata"].get("annotations", {}).get("raygitops.io/external", "")
        for entry in re.split(r"[,\n]", declared):
            kind, _, name = entry.strip().partition("/")
            if kind == "Secret":
                names.add(name)
    return names


def test_every_external_secret_has_a_create_command(overlay: Bundle, repo_root):
    guide = (repo_root / "docs" / "deploy.md").read_text()
    namespace = f"ray-{overlay.name}"
    secrets = external_secrets(overlay)
    assert "ray-auth-token" in secrets
    for name in secrets:
        assert re.search(rf"kubectl -n \S+ create secret generic {re.escape(name)} ", guide), (
            f"docs/deploy.md does not show how to create Secret {name} (needed in {namespace})"
        )


def test_token_secret_key_is_the_one_kuberay_reads(repo_root):
    # KubeRay reads the token from key `auth_token` of authOptions.secretName.
    guide = (repo_root / "docs" / "deploy.md").read_text()
    assert "create secret generic ray-auth-token \\\n  --from-literal=auth_token=" in guide


def test_readme_and_deploy_guide_give_the_same_bootstrap_command(repo_root):
    """One bootstrap command everywhere: server-side, so argocd-cm's other keys survive the merge."""
    pattern = re.compile(r"kubectl apply[^`\n]*-k argocd\b")
    found = {
        path: set(pattern.findall((repo_root / path).read_text()))
        for path in ("README.md", "docs/deploy.md", "argocd/kustomization.yaml")
    }
    assert all(found.values()), f"a file does not say how to bootstrap: {found}"
    assert set.union(*found.values()) == {"kubectl apply --server-side -k argocd"}, found


def test_deploy_guide_shows_how_to_choose_the_cluster_of_each_overlay(repo_root, argocd: Bundle):
    guide = (repo_root / "docs" / "deploy.md").read_text()
    (application_set,) = argocd.of_kind("ApplicationSet")
    (_, clusters) = application_set["spec"]["generators"][0]["matrix"]["generators"]
    (label,) = clusters["clusters"]["selector"]["matchLabels"]
    assert label.replace("{{ .path.basename }}", "<name>") in guide
    assert "--label " + label.replace("{{ .path.basename }}", "prod") + "=true" in guide
