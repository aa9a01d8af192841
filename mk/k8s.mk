# The kind integration suite (k8s-tests/kind) and its local twin (k8s-tests/stack); see
# k8s-tests/README.md. Included by the Makefile; uses its ROOT, VENV, PY, APT_GET, PYTEST_ARGS
# and .ONESHELL bash recipes, and mk/image.mk's container-engine / image / service-images.

# kind release the CI workflow installs (.github/workflows/k8s.yml); `make k8s-test` uses the
# kind on PATH.
KIND_VERSION := v0.27.0

TEST_PREREQS += stack-services

.PHONY: stack-services stack-test k8s-test

stack-services: ## Install what the twin needs besides the test servers (prometheus-redis-exporter)
	@command -v prometheus-redis-exporter >/dev/null && exit 0
	command -v apt-get >/dev/null || { echo "install prometheus-redis-exporter (redis_exporter)"; exit 1; }
	apt-get update -qq && $(APT_GET) prometheus-redis-exporter

stack-test: venv test-services tools stack-services release-tools ## The kind scenarios on this machine: app image (or gunicorn) + Redis + PostgreSQL + Prometheus
	@set -euo pipefail
	if $(MAKE) --no-print-directory container-engine >/dev/null 2>&1; then
	  $(MAKE) --no-print-directory image service-images
	  mode=podman
	else
	  echo "no working container engine: the twin runs the app as gunicorn processes"
	  mode=process
	fi
	WAZEN_STACK_MODE=$$mode $(PY) -m pytest k8s-tests/stack $(PYTEST_ARGS)

# K8S_CLUSTER=kind (default) creates a kind cluster; K8S_CLUSTER=existing runs the same scenarios
# on the cluster of KUBECONFIG, in namespaces of its own, delivering the image with
# K8S_IMAGE_LOAD=kind|registry|command|none (IMAGE_REGISTRY=…, K8S_IMAGE_LOAD_COMMAND='… {tar}').
# Images: IMAGE, REDIS_IMAGE, REDIS_EXPORTER_IMAGE, POSTGRES_IMAGE, PROMETHEUS_IMAGE. Upgrade
# scenario: K8S_UPGRADE_FROM_REGISTRY (+ K8S_UPGRADE_FROM_VERSION): the previous release from that
# registry; else K8S_UPGRADE_FROM_REF (default: the previous version of charts/wazen-ai/).
# Offline CRDs: K8S_OPERATOR_CRD_DIR. See k8s-tests/README.md.
K8S_CLUSTER ?= kind
export K8S_CLUSTER

k8s-test: venv tools ## Kubernetes suite on kind (default) or K8S_CLUSTER=existing (KUBECONFIG): install, scenarios, upgrade from the previous chart, helm test, uninstall
	$(PY) -m pytest k8s-tests/kind -m k8s $(PYTEST_ARGS)
