// Command argocd-sync answers the JSON patch questions that Argo CD v3.5.1 asks while it diffs and
// syncs a custom resource, with the very libraries Argo CD links (the versions of its go.mod):
// evanphx/json-patch v5.9.11 for CreateMergePatch and MergePatch (controller/sync.go getMergePatch and
// applyMergePatch; gitops-engine/pkg/diff ThreeWayDiff imports the same release under its /v5 module
// path), apimachinery's
// CreateThreeWayJSONMergePatch (gitops-engine/pkg/diff threeWayMergePatch, and kubectl apply for a
// kind without strategic-merge support) and gojq for ignoreDifferences' jqPathExpressions, run the way
// util/argo/normalizers/diff_normalizer.go does (`del(<expression>)`, first and only result).
//
// tests/manifests/argocd_sync.py replays the sync computation in Python; its test sends every
// patch it computed on this repository's objects here and checks that Argo CD's libraries agree.
//
// Input on stdin: {"calls": [{"fn": "CreateMergePatch", "args": [original, modified]},
// {"fn": "MergePatch", "args": [document, patch]},
// {"fn": "CreateThreeWayJSONMergePatch", "args": [original, modified, current]},
// {"fn": "JQDelete", "args": [document, "<jq path expression>"]}]}.
// Output on stdout: {"results": [<JSON value>, ...]}, one per call. Exit 2 on bad input.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	jsonpatch "github.com/evanphx/json-patch"
	"github.com/itchyny/gojq"
	"k8s.io/apimachinery/pkg/util/jsonmergepatch"
)

type call struct {
	Fn   string            `json:"fn"`
	Args []json.RawMessage `json:"args"`
}

func answer(c call) (json.RawMessage, error) {
	arity := map[string]int{"CreateMergePatch": 2, "MergePatch": 2, "CreateThreeWayJSONMergePatch": 3, "JQDelete": 2}
	want, known := arity[c.Fn]
	if !known {
		return nil, fmt.Errorf("unknown fn %q (CreateMergePatch, MergePatch, CreateThreeWayJSONMergePatch, JQDelete)", c.Fn)
	}
	if len(c.Args) != want {
		return nil, fmt.Errorf("%s takes %d arguments, got %d", c.Fn, want, len(c.Args))
	}
	switch c.Fn {
	case "CreateMergePatch":
		return jsonpatch.CreateMergePatch(c.Args[0], c.Args[1])
	case "MergePatch":
		return jsonpatch.MergePatch(c.Args[0], c.Args[1])
	case "JQDelete":
		return jqDelete(c.Args[0], c.Args[1])
	default:
		return jsonmergepatch.CreateThreeWayJSONMergePatch(c.Args[0], c.Args[1], c.Args[2])
	}
}

// jqDelete is jqNormalizerPatch.Apply with the query NewIgnoreNormalizer builds.
func jqDelete(document, expression json.RawMessage) (json.RawMessage, error) {
	var path string
	if err := json.Unmarshal(expression, &path); err != nil {
		return nil, fmt.Errorf("the jq expression must be a string: %w", err)
	}
	query, err := gojq.Parse(fmt.Sprintf("del(%s)", path))
	if err != nil {
		return nil, err
	}
	code, err := gojq.Compile(query)
	if err != nil {
		return nil, err
	}
	data := map[string]any{}
	if err := json.Unmarshal(document, &data); err != nil {
		return nil, err
	}
	results := code.Run(data)
	first, ok := results.Next()
	if !ok {
		return nil, errors.New("jq returned no value")
	}
	if err, isErr := first.(error); isErr {
		return nil, fmt.Errorf("jq: %w", err)
	}
	if _, more := results.Next(); more {
		return nil, errors.New("jq returned more than one value")
	}
	return json.Marshal(first)
}

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "argocd-sync: reading stdin: %v\n", err)
		os.Exit(2)
	}
	var request struct {
		Calls []call `json:"calls"`
	}
	if err := json.Unmarshal(input, &request); err != nil {
		fmt.Fprintf(os.Stderr, "argocd-sync: stdin is not {\"calls\": [...]}: %v\n", err)
		os.Exit(2)
	}
	results := make([]json.RawMessage, 0, len(request.Calls))
	for index, c := range request.Calls {
		result, err := answer(c)
		if err != nil {
			fmt.Fprintf(os.Stderr, "argocd-sync: call %d (%s): %v\n", index, c.Fn, err)
			os.Exit(2)
		}
		results = append(results, result)
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string]any{"results": results}); err != nil {
		fmt.Fprintf(os.Stderr, "argocd-sync: writing stdout: %v\n", err)
		os.Exit(2)
	}
}
