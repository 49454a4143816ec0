# raygitops: entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Where `raygitops schemas fetch` reads the pinned CRDs from instead of downloading them
# (CI sets it to ../shared/crds). Empty: download from upstream and check each sha256.
RAYGITOPS_CRD_MIRROR ?=
export RAYGITOPS_CRD_MIRROR
# Where `make tools` keeps its builds (outside the work tree, shared by every clone), one folder per tool and version.
TOOLS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/raygitops/tools

.PHONY: help
help: ## List every target
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: setup
setup: ## Create .venv, install everything pinned (jobs and tests too), fill the schema store
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[jobs,test]'
	$(MAKE) tools
	$(BIN)/raygitops schemas fetch

.PHONY: tools
tools: ## Build the pinned Go tools (tools/*/go.mod) once into $(TOOLS_CACHE), link them into .venv/bin
	tools/build.sh $(TOOLS_CACHE) $(BIN)

# tests/manifests runs it: Argo CD's own JSON patch libraries (its go.mod's versions) check the sync replay.
.PHONY: argocd-sync
argocd-sync: ## Build tools/argocd-sync (Argo CD's JSON patch libraries, for the sync replay's test) into .venv/bin
	cd tools/argocd-sync && go build -mod=readonly -buildvcs=false -o $(abspath $(BIN))/argocd-sync .

.PHONY: lock
lock: ## Re-pin requirements.lock from the current .venv (after editing pyproject.toml)
	{ sed -n '1,2p' requirements.lock; $(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

.PHONY: test
test: ## Run the whole test suite (validator, rules, manifests, jobs on a local Ray)
	$(BIN)/python -m pytest

.PHONY: lint
lint: ## ruff (lint and format check) and mypy --strict on the validator (settings in pyproject.toml)
	$(BIN)/ruff check scripts/raygitops
	$(BIN)/ruff format --check scripts/raygitops
	$(BIN)/mypy

# What `make validate` gates on: each overlay with the profile it deploys under, and the Argo CD bootstrap.
# One list, in the package (raygitops/targets.py), shared with `raygitops diff`.
VALIDATE_TARGETS = $(shell $(BIN)/raygitops targets)
PROD_TARGETS = $(shell $(BIN)/raygitops targets --profile prod)

.PHONY: validate
validate: ## Render and validate every overlay and argocd/ (overlays/prod under --profile prod, from .raygitops.yaml)
	$(BIN)/raygitops validate $(VALIDATE_TARGETS) $(PROD_TARGETS)

.PHONY: schemas
schemas: ## Re-fill the schema store (pinned CRDs, checked by sha256)
	$(BIN)/raygitops schemas fetch

.PHONY: bench-validate
bench-validate: ## Benchmark the validator: overlays, and 500-20,000-resource bundles vs the C loader and kubeconform
	$(BIN)/python benchmarks/bench_validate.py

.PHONY: fuzz
fuzz: ## Fuzz campaign: 5,000 mutated manifests, every stage and output (crashes, rule-crashed, runs > 5 s, memory)
	$(BIN)/python benchmarks/fuzz_validate.py --documents $(or $(FUZZ_DOCUMENTS),5000)

# rendered/ holds the output of each of these, committed so a reviewer sees the exact change per environment.
RENDER_TARGETS = $(VALIDATE_TARGETS) $(PROD_TARGETS)

.PHONY: render
render: ## Write rendered/<overlay>.yaml and rendered/argocd.yaml (kustomize build, else kubectl kustomize)
	@mkdir -p rendered
	@set -e; for target in $(RENDER_TARGETS); do \
	  $(BIN)/raygitops render $$target > rendered/$$(basename $$target).yaml.tmp; \
	  mv rendered/$$(basename $$target).yaml.tmp rendered/$$(basename $$target).yaml; \
	  echo "rendered/$$(basename $$target).yaml"; \
	done

.PHONY: cluster-test
cluster-test: ## Apply every overlay and argocd/ to a local etcd + kube-apiserver (pinned, make tools); also in make test
	$(BIN)/python -m pytest tests/cluster -q

.PHONY: fidelity
fidelity: ## The validator vs the real API server (dry run, strict) on every fixture and 2,000 mutants
	$(BIN)/python -m tests.cluster.fidelity

.PHONY: test-manifests
test-manifests: ## Render every overlay and argocd/ and check what they deploy (incl. the Lua health checks)
	$(BIN)/python -m pytest tests/manifests -q

# --- jobs (train, tune, serve on a local Ray; same entrypoints as the RayJobs/RayService in jobs/) ---
# Results go to .ray-results/ (git-ignored). PYTHONPATH mirrors the cluster, where each workload's files
# sit flat in its own ConfigMap mounted at /home/ray/jobs.
JOBS_PYTHONPATH := $(CURDIR)/jobs/train:$(CURDIR)/jobs/tune:$(CURDIR)/jobs/serve
JOBS_STORAGE := $(CURDIR)/.ray-results
SERVE_PORT ?= 8000

.PHONY: demo
demo: ## Train, tune and serve on a local Ray, send one request; last line is a JSON summary
	$(BIN)/python -m jobs.demo

.PHONY: run-train
run-train: ## Ray Train (2 workers, 15 epochs) on a local Ray; model -> .ray-results/diabetes-train/model
	PYTHONPATH=$(JOBS_PYTHONPATH) $(BIN)/python jobs/train/train.py --num-workers 2 --cpus-per-worker 1 \
		--epochs 15 --storage-path $(JOBS_STORAGE) --name diabetes-train

.PHONY: run-tune
run-tune: ## Ray Tune + ASHA (6 trials, up to 8 epochs); best config -> .ray-results/diabetes-tune/best_config.json
	PYTHONPATH=$(JOBS_PYTHONPATH) $(BIN)/python jobs/tune/tune.py --num-samples 6 --max-epochs 8 \
		--grace-period 1 --storage-path $(JOBS_STORAGE) --name diabetes-tune

.PHONY: run-serve
run-serve: ## Ray Serve on http://127.0.0.1:$(SERVE_PORT) for the model of run-train (Ctrl-C stops)
	PYTHONPATH=$(JOBS_PYTHONPATH) $(BIN)/python jobs/serve/serve_app.py \
		--model-uri $(JOBS_STORAGE)/diabetes-train/model --port $(SERVE_PORT)

# jobs/image: the image of the jobs' Ray pods. requirements.txt is requirements.in resolved for linux x86_64 and
# Python 3.11 (the Ray image's), at requirements.lock's versions (the ones tests/jobs run), every package pinned
# with its sha256 hashes. The tag names the Ray version and the image's inputs, so that a new lock is a new tag.
UV_VERSION := 0.13.9
JOBS_IMAGE ?= ghcr.io/raygitops/ray-jobs
JOBS_IMAGE_TAG = $(shell sed -n 's|^FROM rayproject/ray:||p' jobs/image/Dockerfile)-$(shell cat jobs/image/Dockerfile jobs/image/requirements.txt | sha256sum | cut -c1-12)

.PHONY: jobs-image-lock
jobs-image-lock: ## Re-pin jobs/image/requirements.txt with sha256 hashes (uv at UV_VERSION, from PyPI into .cache/)
	test -x .cache/uv-$(UV_VERSION)/bin/uv || \
		{ $(PYTHON) -m venv .cache/uv-$(UV_VERSION) && .cache/uv-$(UV_VERSION)/bin/pip install --quiet uv==$(UV_VERSION); }
	.cache/uv-$(UV_VERSION)/bin/uv pip compile --quiet --generate-hashes --python-platform x86_64-manylinux_2_28 --python-version 3.11 \
		--custom-compile-command 'make jobs-image-lock' -c requirements.lock jobs/image/requirements.in -o jobs/image/requirements.txt
	@echo "jobs image tag is now $$($(MAKE) -s jobs-image-tag): set it in components/ray-version"

.PHONY: jobs-image-tag
jobs-image-tag: ## Print the tag `make jobs-image` pushes (components/ray-version names it)
	@echo $(JOBS_IMAGE_TAG)

.PHONY: jobs-image
jobs-image: ## Build and push JOBS_IMAGE:<Ray version>-py311-<hash of jobs/image> (docker; docs/deploy.md)
	docker build -t $(JOBS_IMAGE):$(JOBS_IMAGE_TAG) jobs/image
	docker push $(JOBS_IMAGE):$(JOBS_IMAGE_TAG)

.PHONY: test-jobs
test-jobs: ## Only the jobs tests (real local Ray, CPU)
	$(BIN)/python -m pytest tests/jobs -q

.PHONY: bench-jobs
bench-jobs: ## Serve configurations vs plain FastAPI/uvicorn (c=1,4,16,64, interleaved rounds); Train vs plain PyTorch
	PYTHONPATH=$(JOBS_PYTHONPATH) $(BIN)/python benchmarks/bench_jobs.py $(BENCH_JOBS_ARGS)

.PHONY: rules-doc
rules-doc: ## Regenerate docs/rules.md from the registry of every check
	$(BIN)/python -m raygitops.report.ruledocs docs/rules.md
