//go:build tools

// Package tools pins the Kubernetes control plane parts the cluster tests run: kube-apiserver and kubectl
// from k8s.io/kubernetes v1.33 (the Kubernetes version the validator's schemas are for).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
