//go:build tools

// Package tools pins kubeconform: `make tools` builds the version go.mod requires.
package tools

import _ "github.com/yannh/kubeconform/cmd/kubeconform"
