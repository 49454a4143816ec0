module github.com/raygitops/raygitops/tools/argocd-sync

go 1.26.0

require (
	github.com/evanphx/json-patch v5.9.11+incompatible
	github.com/itchyny/gojq v0.12.19
	k8s.io/apimachinery v0.36.1
)

require (
	github.com/davecgh/go-spew v1.1.2-0.20180830191138-d8f796af33cc // indirect
	github.com/itchyny/timefmt-go v0.1.8 // indirect
	go.yaml.in/yaml/v2 v2.4.3 // indirect
	gopkg.in/evanphx/json-patch.v4 v4.13.0 // indirect
	k8s.io/utils v0.0.0-20260210185600-b8788abfbbc2 // indirect
	sigs.k8s.io/json v0.0.0-20250730193827-2d320260d730 // indirect
	sigs.k8s.io/yaml v1.6.0 // indirect
)
