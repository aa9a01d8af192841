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

stack-test: venv test-services tools stack-services ## The kind scenarios on this machine: app image (or gunicorn) + Redis + PostgreSQL + Prometheus
	@set -euo pipefail
	if $(MAKE) --no-print-directory container-engine >/dev/null 2>&1; then
	  $(MAKE) --no-print-directory image service-images
	  mode=podman
	else
	  echo "no working container engine: the twin runs the app as gunicorn processes"
	  mode=process
	fi
	WAZEN_STACK_MODE=$$mode $(PY) -m pytest k8s-tests/stack $(PYTEST_ARGS)

k8s-test: venv tools ## kind suite: cluster, image, helm install, scenarios, helm test/upgrade/uninstall (needs kind + Docker or podman)
	$(PY) -m pytest k8s-tests/kind -m k8s $(PYTEST_ARGS)
