//go:build tools

// Package tools pins etcd, the store of the kube-apiserver that the cluster tests start.
package tools

import _ "go.etcd.io/etcd/server/v3"
