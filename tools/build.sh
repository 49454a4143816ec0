#!/usr/bin/env bash
# Build the project's pinned Go tools once, into a cache outside the work tree, and link them into a bin folder.
#
# Usage: tools/build.sh CACHE_DIR LINK_DIR [TOOL...]
#   CACHE_DIR  each tool lands in CACHE_DIR/<tool>-<version>/<tool>; an existing build is reused
#   LINK_DIR   where <tool> is linked (the .venv/bin that `raygitops` looks in first)
#   TOOL       only these tools (default: every tool below)
#
# Each tool is pinned by the go.mod and go.sum of its own module under tools/ (one module per tool, so no tool's
# dependencies are bumped by another's); the version in the cache path is the one that module requires.
set -euo pipefail

# tool  module folder under tools/  package to build
TOOLS=(
  "kustomize    kustomize    sigs.k8s.io/kustomize/kustomize/v5"
  "kubeconform  kubeconform  github.com/yannh/kubeconform/cmd/kubeconform"
  "etcd          etcd         go.etcd.io/etcd/server/v3"
  "kube-apiserver kube        k8s.io/kubernetes/cmd/kube-apiserver"
  "kubectl       kube         k8s.io/kubernetes/cmd/kubectl"
)

# Kubernetes' own build stamps its version with -X (hack/lib/version.sh); without it the API server reports
# v0.0.0-master and kubectl warns about version skew.
version_ldflags() {
  local version=$1 minor
  minor=$(cut -d. -f2 <<<"$version")
  local flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "$flags"
}

if [[ $# -lt 2 ]]; then
  echo "usage: $0 CACHE_DIR LINK_DIR [TOOL...]" >&2
  exit 2
fi
cache_dir=$1
link_dir=$2
shift 2
wanted=("$@")
tools_dir=$(cd "$(dirname "$0")" && pwd)

if ! command -v go >/dev/null; then
  echo "make tools: 'go' is not on PATH; install Go (see tools/README.md for the version) and run 'make tools' again" >&2
  exit 2
fi

mkdir -p "$cache_dir" "$link_dir"
for entry in "${TOOLS[@]}"; do
  read -r tool module package <<<"$entry"
  if [[ ${#wanted[@]} -gt 0 && " ${wanted[*]} " != *" $tool "* ]]; then
    continue
  fi
  # The version the tool's own module requires (-mod=readonly: go.sum must already pin everything).
  version=$(cd "$tools_dir/$module" && go list -mod=readonly -f '{{.Module.Version}}' "$package")
  target="$cache_dir/$tool-$version/$tool"
  if [[ -x $target ]]; then
    echo "tools: $tool $version (cached: $target)"
  else
    echo "tools: building $tool $version ..."
    started=$SECONDS
    partial=$(mktemp -d "$cache_dir/.$tool-$version.XXXXXX")
    # Removed on failure, so an interrupted build is never mistaken for a finished one.
    trap 'rm -rf "$partial"' EXIT
    ldflags=""
    if [[ $package == k8s.io/kubernetes/* ]]; then
      ldflags=$(version_ldflags "$version")
    fi
    (cd "$tools_dir/$module" && CGO_ENABLED=0 go build -mod=readonly -trimpath -buildvcs=false \
      -ldflags "$ldflags" -o "$partial/$tool" "$package")
    mkdir -p "$(dirname "$target")"
    mv "$partial/$tool" "$target"
    rm -rf "$partial"
    trap - EXIT
    echo "tools: built $tool $version in $((SECONDS - started)) s: $target"
  fi
  ln -sfn "$target" "$link_dir/$tool"
done
