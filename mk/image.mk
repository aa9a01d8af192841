# Container image: engine setup (podman here, Docker when a daemon answers), a local Debian base
# image, the app image, and a local run with Redis + PostgreSQL containers. See docker/README.md.
# Included by the Makefile; uses its ROOT, PYTHON, APT_GET and .ONESHELL bash recipes.

# -- names -------------------------------------------------------------------------------------
IMAGE ?= localhost/wazen-ai:dev
LOCAL_BASE_IMAGE := localhost/wazen-base:bookworm
LOCAL_REDIS_IMAGE := localhost/wazen-redis:bookworm
LOCAL_POSTGRES_IMAGE := localhost/wazen-postgres:bookworm
# Official images, used when a registry can be reached (Docker by default, or pass them to podman).
# Fully qualified: podman resolves no short names without a search registry.
OFFICIAL_BASE_IMAGE := docker.io/library/python:3.11-slim-bookworm
OFFICIAL_REDIS_IMAGE := docker.io/library/redis:7
OFFICIAL_POSTGRES_IMAGE := docker.io/library/postgres:16

# Docker when its daemon answers, else podman. Evaluated once, and only by targets that use it.
CONTAINER_ENGINE ?= $(eval CONTAINER_ENGINE := $(shell \
  docker info >/dev/null 2>&1 && echo docker || echo podman))$(CONTAINER_ENGINE)
ifeq ($(origin BASE_IMAGE),undefined)
BASE_IMAGE = $(if $(filter docker,$(CONTAINER_ENGINE)),$(OFFICIAL_BASE_IMAGE),$(LOCAL_BASE_IMAGE))
endif
ifeq ($(origin REDIS_IMAGE),undefined)
REDIS_IMAGE = $(if $(filter docker,$(CONTAINER_ENGINE)),$(OFFICIAL_REDIS_IMAGE),$(LOCAL_REDIS_IMAGE))
endif
ifeq ($(origin POSTGRES_IMAGE),undefined)
POSTGRES_IMAGE = $(if $(filter docker,$(CONTAINER_ENGINE)),$(OFFICIAL_POSTGRES_IMAGE),$(LOCAL_POSTGRES_IMAGE))
endif

# -- podman configuration (project-local; read by every podman that make or the tests start) ---
export CONTAINERS_CONF ?= $(ROOT)/.tools/containers/containers.conf

# The host's CA bundle reaches pip inside the build as a build secret (never stored in a layer):
# outgoing TLS may be re-signed by a local CA that a fresh root filesystem does not trust.
PIP_CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
DEBIAN_SUITE := bookworm
# The mirror apt uses on this host (deb822 `URIs:` line), for debootstrap.
DEBIAN_MIRROR ?= $(or $(shell awk '/^URIs:/ {print $$2; exit}' \
  /etc/apt/sources.list.d/debian.sources 2>/dev/null),http://deb.debian.org/debian)

# Read-only root filesystem, writable /tmp and /run/metrics only. podman's --read-only would also
# mount its own tmpfs on /run (which turns a tmpfs below it into root-owned 0755): switched off.
READ_ONLY_FLAGS = --read-only $(if $(filter podman,$(CONTAINER_ENGINE)),--read-only-tmpfs=false) \
  --tmpfs /tmp --tmpfs /run/metrics

# -- image-run ---------------------------------------------------------------------------------
RUN_NAME ?= wazen-img-run
RUN_PORT ?= 8080
RUN_METRICS_PORT ?= 9180
RUN_STATE := $(ROOT)/.tools/image-run.env

TEST_PREREQS += container-engine

.PHONY: container-engine base-image image service-images image-run image-stop

container-engine: ## Install podman, buildah, runc, CNI plugins (+dnsname), debootstrap; containers.conf
	@set -euo pipefail
	if [ "$(CONTAINER_ENGINE)" = docker ]; then echo "using the Docker daemon"; exit 0; fi
	missing=""
	for tool in podman:podman buildah:buildah runc:runc debootstrap:debootstrap \
	    newuidmap:uidmap /usr/lib/cni/bridge:containernetworking-plugins \
	    /usr/lib/cni/dnsname:golang-github-containernetworking-plugin-dnsname; do
	  bin=$${tool%%:*}; pkg=$${tool#*:}
	  if [ "$${bin#/}" != "$$bin" ]; then [ -e "$$bin" ] || missing="$$missing $$pkg"
	  else command -v "$$bin" >/dev/null || [ -x "/usr/sbin/$$bin" ] || missing="$$missing $$pkg"; fi
	done
	if [ -n "$$missing" ]; then
	  command -v apt-get >/dev/null || { echo "install:$$missing (no apt-get here)"; exit 1; }
	  echo "installing:$$missing"
	  apt-get update -qq && $(APT_GET) $$missing
	fi
	if [ ! -s "$(CONTAINERS_CONF)" ]; then
	  # runc (crun fails on hybrid cgroups), cgroupfs (no systemd), rlimits within the hard limits.
	  nofile=$$(ulimit -Hn); nproc=$$(ulimit -Hu)
	  [ "$$nofile" = unlimited ] || [ "$$nofile" -gt 20000 ] && nofile=20000
	  [ "$$nproc" = unlimited ] || [ "$$nproc" -gt 4096 ] && nproc=4096
	  mkdir -p "$$(dirname "$(CONTAINERS_CONF)")"
	  printf '%s\n' '# Written by `make container-engine` (mk/image.mk).' \
	    '[containers]' \
	    "default_ulimits = [\"nofile=$$nofile:$$nofile\", \"nproc=$$nproc:$$nproc\"]" \
	    'log_driver = "k8s-file"' '' '[engine]' 'runtime = "runc"' \
	    'cgroup_manager = "cgroupfs"' 'events_logger = "file"' > "$(CONTAINERS_CONF)"
	  echo "wrote $(CONTAINERS_CONF)"
	fi
	podman info --format 'podman {{.Version.Version}}, runtime {{.Host.OCIRuntime.Name}}' \
	  || { echo "podman does not work with $(CONTAINERS_CONF)"; exit 1; }

base-image: container-engine ## Build localhost/wazen-base:bookworm with debootstrap (skipped if present)
	@set -euo pipefail
	engine=$(CONTAINER_ENGINE)
	if $$engine image inspect $(LOCAL_BASE_IMAGE) >/dev/null 2>&1; then
	  echo "$(LOCAL_BASE_IMAGE) exists"; exit 0
	fi
	command -v debootstrap >/dev/null || { echo "debootstrap is needed: apt-get install debootstrap"; exit 1; }
	rootfs=$$(mktemp -d /var/tmp/wazen-base.XXXXXX)
	trap 'rm -rf "$$rootfs"' EXIT
	echo "debootstrap $(DEBIAN_SUITE) from $(DEBIAN_MIRROR) (about a minute)"
	debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
	  $(DEBIAN_SUITE) "$$rootfs" $(DEBIAN_MIRROR) > "$$rootfs.log" 2>&1 \
	  || { tail -20 "$$rootfs.log"; rm -f "$$rootfs.log"; exit 1; }
	rm -f "$$rootfs.log"
	# Slim like the official -slim images: no apt cache/lists, manuals, translations or docs
	# (copyright files stay), and dpkg keeps them out of later apt-get installs too.
	rm -rf "$$rootfs"/var/cache/apt/archives/*.deb "$$rootfs"/var/lib/apt/lists/* \
	  "$$rootfs"/var/log/*.log "$$rootfs"/var/cache/debconf/*-old "$$rootfs"/usr/share/man/* \
	  "$$rootfs"/usr/share/info/* "$$rootfs"/usr/share/locale/* "$$rootfs"/usr/share/lintian
	find "$$rootfs"/usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
	printf '%s\n' 'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
	  'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/doc/*' \
	  'path-include /usr/share/doc/*/copyright' > "$$rootfs"/etc/dpkg/dpkg.cfg.d/wazen-slim
	tar -C "$$rootfs" --numeric-owner -c . | $$engine import \
	  --change 'ENV LANG=C.UTF-8' \
	  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	  --change 'CMD ["/bin/bash"]' - $(LOCAL_BASE_IMAGE) >/dev/null
	echo "built $(LOCAL_BASE_IMAGE): $$($$engine run --rm $(LOCAL_BASE_IMAGE) python3 --version)"

image: container-engine ## Build the app image (IMAGE=localhost/wazen-ai:dev) with podman or Docker
	@set -euo pipefail
	if [ "$(BASE_IMAGE)" = "$(LOCAL_BASE_IMAGE)" ]; then $(MAKE) --no-print-directory base-image; fi
	secret=(); [ -s "$(PIP_CA_BUNDLE)" ] && secret=(--secret "id=pip_ca,src=$(PIP_CA_BUNDLE)")
	revision=$$(git rev-parse HEAD 2>/dev/null || echo unknown)
	created=$$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
	version=$${APP_VERSION:-$$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)}
	previous=$$($(CONTAINER_ENGINE) image inspect $(IMAGE) --format '{{.Id}}' 2>/dev/null || true)
	$(CONTAINER_ENGINE) build -f docker/Dockerfile -t $(IMAGE) "$${secret[@]}" \
	  --build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg VERSION="$$version" \
	  --build-arg REVISION="$$revision" --build-arg CREATED="$$created" .
	current=$$($(CONTAINER_ENGINE) image inspect $(IMAGE) --format '{{.Id}}')
	# The image this tag replaced, unless a container still uses it (build cache layers stay).
	if [ -n "$$previous" ] && [ "$$previous" != "$$current" ]; then
	  $(CONTAINER_ENGINE) rmi "$$previous" >/dev/null 2>&1 || true
	fi
	$(CONTAINER_ENGINE) image inspect $(IMAGE) --format '$(IMAGE): {{.Size}} bytes'

service-images: container-engine ## Build local Redis/PostgreSQL images when no registry is used
	@set -euo pipefail
	build() {  # image, dockerfile: only the local names are built, official ones are pulled
	  case "$$1" in localhost/wazen-*) ;; *) echo "$$1 comes from a registry"; return 0;; esac
	  $(MAKE) --no-print-directory base-image
	  $(CONTAINER_ENGINE) build -q -f "$$2" --build-arg BASE_IMAGE=$(LOCAL_BASE_IMAGE) \
	    -t "$$1" docker/services >/dev/null
	  echo "$$1 ready"
	}
	build $(REDIS_IMAGE) docker/services/redis.Dockerfile
	build $(POSTGRES_IMAGE) docker/services/postgres.Dockerfile

image-run: image service-images ## Run app + Redis + PostgreSQL containers, migrate, seed, print URL and key
	@set -euo pipefail
	engine=$(CONTAINER_ENGINE); net=$(RUN_NAME)-net
	$(MAKE) --no-print-directory image-stop >/dev/null
	umask 077; mkdir -p "$$(dirname $(RUN_STATE))"
	db_password=$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(16))')
	secret_key=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')
	printf '%s\n' "DATABASE_URL=postgres://wazen:$$db_password@$(RUN_NAME)-postgres:5432/wazen" \
	  "REDIS_URL=redis://$(RUN_NAME)-redis:6379/0" "DJANGO_SECRET_KEY=$$secret_key" \
	  "ALLOWED_HOSTS=localhost,127.0.0.1" > $(RUN_STATE)
	$$engine network create $$net >/dev/null
	$$engine run -d --name $(RUN_NAME)-postgres --network $$net -e POSTGRES_USER=wazen \
	  -e POSTGRES_PASSWORD="$$db_password" -e POSTGRES_DB=wazen $(POSTGRES_IMAGE) >/dev/null
	$$engine run -d --name $(RUN_NAME)-redis --network $$net $(REDIS_IMAGE) \
	  redis-server --protected-mode no --save '' --appendonly no >/dev/null
	app=($$engine run --rm --network $$net --env-file $(RUN_STATE) $(READ_ONLY_FLAGS))
	"$${app[@]}" $(IMAGE) migrate
	key=$$("$${app[@]}" $(IMAGE) seed-demo | sed -n 's/^WAZEN_DEMO_API_KEY=//p')
	$$engine run -d --name $(RUN_NAME)-app --network $$net --env-file $(RUN_STATE) \
	  $(READ_ONLY_FLAGS) \
	  -p 127.0.0.1:$(RUN_PORT):8000 -p 127.0.0.1:$(RUN_METRICS_PORT):9100 $(IMAGE) >/dev/null
	url=http://127.0.0.1:$(RUN_PORT)/health/ready
	for _ in $$(seq 120); do
	  $(PYTHON) -c 'import sys, urllib.request as r; r.urlopen(sys.argv[1], timeout=2)' $$url \
	    2>/dev/null && break
	  sleep 0.5
	done
	$(PYTHON) -c 'import sys, urllib.request as r; r.urlopen(sys.argv[1], timeout=2)' $$url \
	  || { $$engine logs --tail 30 $(RUN_NAME)-app; echo "not ready after 60 s"; exit 1; }
	echo "Chat page: http://127.0.0.1:$(RUN_PORT)/#key=$$key"
	echo "Metrics:   http://127.0.0.1:$(RUN_METRICS_PORT)/metrics"
	echo "WAZEN_DEMO_API_KEY=$$key"
	echo "curl -H 'Authorization: Bearer $$key' -H 'Content-Type: application/json' \\"
	echo "  -d '{\"message\": \"What services do you offer?\"}' http://127.0.0.1:$(RUN_PORT)/api/v1/chat"
	echo "stop with: make image-stop"

image-stop: ## Stop and remove the image-run containers and network
	@engine=$(CONTAINER_ENGINE)
	for c in app redis postgres; do $$engine rm -f -t 5 $(RUN_NAME)-$$c >/dev/null 2>&1 || true; done
	$$engine network rm $(RUN_NAME)-net >/dev/null 2>&1 || true
	rm -f $(RUN_STATE)
	echo "stopped $(RUN_NAME)-*"
