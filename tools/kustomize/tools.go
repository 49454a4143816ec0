//go:build tools

// Package tools pins kustomize: `make tools` builds the version go.mod requires.
package tools

import _ "sigs.k8s.io/kustomize/kustomize/v5"
