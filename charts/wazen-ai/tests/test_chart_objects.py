"""Assertions over the rendered objects: probes, ports, env, hardening, selectors, secrets."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from testsupport.chart.objects import (
    container,
    containers,
    env_map,
    pod_templates,
    pods_selected,
    selector_matches,
)
from testsupport.chart.render import REPO_ROOT, find_all, find_one, render

pytestmark = pytest.mark.chart

Docs = list[dict[str, Any]]
CONTRACT = (REPO_ROOT / "docs" / "runtime-contract.md").read_text()
APP_IMAGE = "ghcr.io/wazen-ai/wazen-ai"
# Helpers the chart adds to compose URLs ($(VAR) expansion); not app settings.
CHART_ONLY_ENV = {"POSTGRES_PASSWORD", "REDIS_PASSWORD"}


def contract_env_vars() -> set[str]:
    section = CONTRACT.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def app_pod(docs: Docs) -> tuple[dict, dict]:
    deployment = find_one(docs, "Deployment")
    template = deployment["spec"]["template"]
    return template["metadata"], template["spec"]


def config(docs: Docs) -> dict[str, str]:
    return find_one(docs, "ConfigMap", "wazen-ai")["data"]


# --- probes and ports -----------------------------------------------------------------------


@pytest.mark.parametrize("ci_file", ["default-values.yaml", "hard-readiness-values.yaml"])
def test_probes_use_the_contract_paths_on_the_http_port(
    ci_renders: dict[str, Docs], ci_file: str
) -> None:
    _, spec = app_pod(ci_renders[ci_file])
    app = container(spec, "app")
    ports = {p["name"]: p["containerPort"] for p in app["ports"]}
    assert ports == {"http": 8000, "metrics": 9100}
    expected = {
        "startupProbe": "/health/startup",
        "readinessProbe": "/health/ready",
        "livenessProbe": "/health/live",
    }
    for probe_name, path in expected.items():
        probe = app[probe_name]
        assert probe["httpGet"] == {"path": path, "port": "http"}
        assert ports[probe["httpGet"]["port"]] == 8000
        # Room for a probe answered by a worker busy with many replies.
        assert probe["timeoutSeconds"] >= 3
        assert "httpHeaders" not in probe["httpGet"]  # the kubelet's Host (pod IP) is accepted
    startup = app["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
    liveness = app["livenessProbe"]
    gunicorn_timeout = int(config(ci_renders[ci_file])["GUNICORN_TIMEOUT"])
    # Liveness gives up only after gunicorn itself would have restarted a hung worker.
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= gunicorn_timeout


def test_readiness_cache_criticality_follows_the_value(ci_renders: dict[str, Docs]) -> None:
    assert config(ci_renders["default-values.yaml"])["WAZEN_HEALTH_CACHE_CRITICAL"] == "false"
    assert config(ci_renders["hard-readiness-values.yaml"])["WAZEN_HEALTH_CACHE_CRITICAL"] == "true"


def test_pod_ip_comes_from_the_downward_api(default_docs: Docs) -> None:
    for _, _, spec in pod_templates(default_docs):
        for c in containers(spec):
            if c["image"].startswith(APP_IMAGE) and c["name"] != "check":
                assert env_map(c)["POD_IP"]["valueFrom"] == {
                    "fieldRef": {"fieldPath": "status.podIP"}
                }


@pytest.mark.parametrize("ci_file", ["default-values.yaml", "external-database-values.yaml"])
def test_app_settings_are_contract_variables(ci_renders: dict[str, Docs], ci_file: str) -> None:
    docs = ci_renders[ci_file]
    allowed = contract_env_vars()
    assert {"DATABASE_URL", "REDIS_URL", "POD_IP", "WAZEN_HEALTH_CACHE_CRITICAL"} <= allowed
    _, spec = app_pod(docs)
    names = set(config(docs)) | set(env_map(container(spec, "app")))
    assert names - CHART_ONLY_ENV <= allowed, names - CHART_ONLY_ENV - allowed
    assert config(docs)["PROMETHEUS_MULTIPROC_DIR"] == "/run/metrics"
    assert config(docs)["PORT"] == "8000"
    assert config(docs)["METRICS_PORT"] == "9100"


def test_allowed_hosts_and_csrf_origins(ci_renders: dict[str, Docs]) -> None:
    default = config(ci_renders["default-values.yaml"])
    assert set(default["ALLOWED_HOSTS"].split(",")) >= {"wazen-ai", "wazen-ai.wazen.svc"}
    prod = config(ci_renders["external-database-values.yaml"])
    assert "wazen.example.com" in prod["ALLOWED_HOSTS"].split(",")
    assert prod["CSRF_TRUSTED_ORIGINS"] == "https://wazen.example.com"


# --- shutdown, rollout, scaling --------------------------------------------------------------


@pytest.mark.parametrize("ci_file", ["default-values.yaml", "hpa-values.yaml"])
def test_graceful_shutdown_and_rolling_update(ci_renders: dict[str, Docs], ci_file: str) -> None:
    docs = ci_renders[ci_file]
    deployment = find_one(docs, "Deployment")
    _, spec = app_pod(docs)
    pre_stop = container(spec, "app")["lifecycle"]["preStop"]["sleep"]["seconds"]
    graceful = int(config(docs)["GUNICORN_GRACEFUL_TIMEOUT"])
    assert pre_stop > 0
    assert spec["terminationGracePeriodSeconds"] > pre_stop + graceful
    strategy = deployment["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_pdb_only_with_more_than_one_replica(ci_renders: dict[str, Docs]) -> None:
    for ci_file, expected in [
        ("default-values.yaml", 1),
        ("demo-values.yaml", 0),
        ("hpa-values.yaml", 1),
    ]:
        docs = ci_renders[ci_file]
        pdbs = find_all(docs, "PodDisruptionBudget")
        assert len(pdbs) == expected, ci_file
        for pdb in pdbs:
            assert pods_selected(docs, pdb["spec"]["selector"]) == ["wazen-ai"]
    assert not find_all(render(set_values={"replicaCount": 1}), "PodDisruptionBudget")


def test_hpa_owns_the_replica_count(ci_renders: dict[str, Docs]) -> None:
    docs = ci_renders["hpa-values.yaml"]
    hpa = find_one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "wazen-ai",
    }
    assert "replicas" not in find_one(docs, "Deployment")["spec"]
    metrics = hpa["spec"]["metrics"]
    assert {m["resource"]["name"] for m in metrics if m["type"] == "Resource"} == {"cpu", "memory"}
    # Replies in flight per pod (autoscaling.targetRepliesInFlight), a Pods metric.
    assert [m["pods"] for m in metrics if m["type"] == "Pods"] == [
        {
            "metric": {"name": "wazen_replies_in_flight"},
            "target": {"type": "AverageValue", "averageValue": "300"},
        }
    ]
    assert not find_all(ci_renders["default-values.yaml"], "HorizontalPodAutoscaler")


def test_topology_spread_selects_the_app_pods(default_docs: Docs) -> None:
    meta, spec = app_pod(default_docs)
    constraints = spec["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in constraints} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }
    for constraint in constraints:
        assert selector_matches(constraint["labelSelector"], meta["labels"])
        assert pods_selected(default_docs, constraint["labelSelector"]) == ["wazen-ai"]


# --- hardening -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ci_file", ["default-values.yaml", "monitoring-values.yaml", "demo-values.yaml"]
)
def test_every_pod_is_hardened(ci_renders: dict[str, Docs], ci_file: str) -> None:
    for owner, _, spec in pod_templates(ci_renders[ci_file]):
        where = f"{owner['kind']}/{owner['metadata']['name']}"
        pod_sc = spec["securityContext"]
        assert pod_sc["runAsNonRoot"] is True, where
        assert isinstance(pod_sc["runAsUser"], int), where
        assert pod_sc["runAsUser"] >= 10000, where
        assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where
        for c in containers(spec):
            sc = c["securityContext"]
            name = f"{where}/{c['name']}"
            assert sc["runAsNonRoot"] is True, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind]), name


def test_app_runs_as_the_image_uid_with_in_memory_writable_dirs(default_docs: Docs) -> None:
    for owner, _, spec in pod_templates(default_docs):
        app_containers = [c for c in containers(spec) if c["image"].startswith(APP_IMAGE)]
        if not app_containers:
            continue
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["securityContext"]["runAsGroup"] == 10001
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in app_containers:
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            assert "/tmp" in mounts, owner["metadata"]["name"]
            assert volumes[mounts["/tmp"]]["emptyDir"]["medium"] == "Memory"
            if owner["kind"] != "Pod":
                assert volumes[mounts["/run/metrics"]]["emptyDir"]["medium"] == "Memory"


def test_service_account_token_is_not_mounted(default_docs: Docs) -> None:
    account = find_one(default_docs, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    _, spec = app_pod(default_docs)
    assert spec["serviceAccountName"] == account["metadata"]["name"]


# --- labels and selectors --------------------------------------------------------------------


@pytest.mark.parametrize("ci_file", ["default-values.yaml", "monitoring-values.yaml"])
def test_every_resource_carries_the_standard_labels(
    ci_renders: dict[str, Docs], ci_file: str
) -> None:
    for doc in ci_renders[ci_file]:
        labels = doc["metadata"]["labels"]
        for key in (
            "helm.sh/chart",
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/managed-by",
            "app.kubernetes.io/part-of",
            "app.kubernetes.io/component",
        ):
            assert key in labels, f"{doc['kind']}/{doc['metadata']['name']} lacks {key}"
        assert doc["metadata"]["namespace"] == "wazen"


@pytest.mark.parametrize(
    "ci_file", ["default-values.yaml", "monitoring-values.yaml", "external-redis-values.yaml"]
)
def test_workload_selectors_match_their_own_pods_only(
    ci_renders: dict[str, Docs], ci_file: str
) -> None:
    docs = ci_renders[ci_file]
    for doc in docs:
        if doc["kind"] in {"Deployment", "StatefulSet"}:
            selector = doc["spec"]["selector"]
            assert selector_matches(selector, doc["spec"]["template"]["metadata"]["labels"])
            assert pods_selected(docs, selector) == [doc["metadata"]["name"]]


@pytest.mark.parametrize("ci_file", ["default-values.yaml", "monitoring-values.yaml"])
def test_services_select_the_right_pods_and_ports(
    ci_renders: dict[str, Docs], ci_file: str
) -> None:
    docs = ci_renders[ci_file]
    expected = {
        "wazen-ai": ("wazen-ai", "http"),
        "wazen-ai-metrics": ("wazen-ai", "metrics"),
        "wazen-ai-redis": ("wazen-ai-redis", "redis"),
        "wazen-ai-redis-metrics": ("wazen-ai-redis", "redis-metrics"),
        "wazen-ai-postgresql": ("wazen-ai-postgresql", "postgresql"),
    }
    services = find_all(docs, "Service")
    assert services
    for service in services:
        name = service["metadata"]["name"]
        workload, port_name = expected[name]
        assert pods_selected(docs, service["spec"]["selector"]) == [workload], name
        (port,) = service["spec"]["ports"]
        assert port["targetPort"] == port_name
        owner = next(
            d
            for d in docs
            if d["metadata"]["name"] == workload
            and d["kind"] != "Service"
            and "template" in d.get("spec", {})
        )
        named = {
            p["name"]
            for c in containers(owner["spec"]["template"]["spec"])
            for p in c.get("ports", [])
        }
        assert port_name in named, name


def test_service_monitors_select_the_metrics_services(ci_renders: dict[str, Docs]) -> None:
    docs = ci_renders["monitoring-values.yaml"]
    services = {s["metadata"]["name"]: s for s in find_all(docs, "Service")}
    for monitor_name, service_name in [
        ("wazen-ai", "wazen-ai-metrics"),
        ("wazen-ai-redis", "wazen-ai-redis-metrics"),
    ]:
        monitor = find_one(docs, "ServiceMonitor", monitor_name)
        spec = monitor["spec"]
        selected = [
            name
            for name, svc in services.items()
            if selector_matches(spec["selector"], svc["metadata"]["labels"])
        ]
        assert selected == [service_name]
        assert spec["namespaceSelector"] == {"matchNames": ["wazen"]}
        port_names = {p["name"] for p in services[service_name]["spec"]["ports"]}
        for endpoint in spec["endpoints"]:
            assert endpoint["port"] in port_names
            assert endpoint["path"] == "/metrics"
            assert endpoint["interval"] == "15s"
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_network_policies_match_the_pods(ci_renders: dict[str, Docs]) -> None:
    docs = ci_renders["networkpolicy-values.yaml"]
    policies = {p["metadata"]["name"]: p for p in find_all(docs, "NetworkPolicy")}
    assert set(policies) == {"wazen-ai", "wazen-ai-redis", "wazen-ai-postgresql"}
    labels = {owner["metadata"]["name"]: meta["labels"] for owner, meta, _ in pod_templates(docs)}
    (migrate,) = find_all(docs, "Job")
    app_clients = {"wazen-ai", migrate["metadata"]["name"]}

    for name, policy in policies.items():
        assert pods_selected(docs, policy["spec"]["podSelector"]) == [name]
        assert policy["spec"]["policyTypes"] == ["Ingress"]

    for name, port in [("wazen-ai-redis", "redis"), ("wazen-ai-postgresql", "postgresql")]:
        rule = next(r for r in policies[name]["spec"]["ingress"] if r["ports"][0]["port"] == port)
        allowed = {
            pod
            for pod, pod_labels in labels.items()
            for peer in rule["from"]
            if "namespaceSelector" not in peer and selector_matches(peer["podSelector"], pod_labels)
        }
        assert allowed == app_clients, name

    app_rules = {r["ports"][0]["port"]: r for r in policies["wazen-ai"]["spec"]["ingress"]}
    assert "from" not in app_rules["http"]  # HTTP open by default (ingress controller)
    metrics_from = app_rules["metrics"]["from"]
    monitoring_peer = metrics_from[0]
    assert monitoring_peer["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    assert monitoring_peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    # The helm test pod, and no other pod of the release, may scrape /metrics.
    same_namespace = [p for p in metrics_from if "namespaceSelector" not in p]
    allowed_here = {
        pod
        for pod, pod_labels in labels.items()
        for peer in same_namespace
        if selector_matches(peer["podSelector"], pod_labels)
    }
    assert allowed_here == {"wazen-ai-test"}
    exporter_rule = next(
        r
        for r in policies["wazen-ai-redis"]["spec"]["ingress"]
        if r["ports"][0]["port"] == "redis-metrics"
    )
    assert exporter_rule["from"] == [monitoring_peer]


def test_network_policy_http_peers_are_configurable() -> None:
    peers = [{"namespaceSelector": {"matchLabels": {"name": "ingress-nginx"}}}]
    docs = render(["ci/networkpolicy-values.yaml"], {"networkPolicy.httpFrom": peers})
    policy = find_one(docs, "NetworkPolicy", "wazen-ai")
    http = next(r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == "http")
    assert http["from"] == peers


# --- secrets ---------------------------------------------------------------------------------


def secret_values(docs: Docs) -> list[str]:
    values = []
    for secret in find_all(docs, "Secret"):
        for encoded in (secret.get("data") or {}).values():
            values.append(base64.b64decode(encoded).decode())
        values.extend((secret.get("stringData") or {}).values())
    return values


SECRET_SETTINGS = {
    "postgresql.enabled": False,
    "database.url": "postgres://wazen:db-password-4711@db.example.com:5432/wazen",
    "redis.enabled": False,
    "externalRedis.url": "redis://:redis-password-4711@redis.example.com:6379/0",
    "llm.provider": "openai",
    "llm.openai.apiKey": "sk-test-4711",
}


@pytest.mark.parametrize("set_values", [{}, SECRET_SETTINGS], ids=["generated", "given"])
def test_no_secret_value_is_inlined_in_a_config_map(set_values: dict[str, Any]) -> None:
    docs = render(["ci/monitoring-values.yaml"] if not set_values else [], set_values)
    secrets = secret_values(docs)
    assert secrets
    config_text = "\n".join(
        f"{key}={value}"
        for cm in find_all(docs, "ConfigMap")
        for key, value in (cm.get("data") or {}).items()
    )
    for value in secrets:
        assert value not in config_text
    for word in ("4711", "PASSWORD", "SECRET_KEY", "API_KEY"):
        assert word not in config_text
    # Nor in any pod spec (env values are references or $(VAR) compositions).
    for _, _, spec in pod_templates(docs):
        for c in containers(spec):
            for env in c.get("env", []):
                for value in secrets:
                    assert value not in str(env.get("value", "")), env["name"]


def test_generated_secrets_and_url_composition(default_docs: Docs) -> None:
    app_secret = find_one(default_docs, "Secret", "wazen-ai")
    key = base64.b64decode(app_secret["data"]["DJANGO_SECRET_KEY"]).decode()
    assert len(key) == 64
    redis_password = base64.b64decode(
        find_one(default_docs, "Secret", "wazen-ai-redis")["data"]["REDIS_PASSWORD"]
    ).decode()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", redis_password)
    env = env_map(container(app_pod(default_docs)[1], "app"))
    assert env["REDIS_URL"]["value"] == "redis://:$(REDIS_PASSWORD)@wazen-ai-redis:6379/0"
    assert (
        env["DATABASE_URL"]["value"]
        == "postgres://wazen:$(POSTGRES_PASSWORD)@wazen-ai-postgresql:5432/wazen"
    )
    names = list(env)
    assert names.index("REDIS_PASSWORD") < names.index("REDIS_URL")
    assert names.index("POSTGRES_PASSWORD") < names.index("DATABASE_URL")


def test_generated_secrets_use_lookup_to_survive_upgrades() -> None:
    templates = Path(__file__).resolve().parent.parent / "templates"
    helper = (templates / "_helpers.tpl").read_text()
    assert 'lookup "v1" "Secret"' in helper
    for name in ("secret.yaml", "redis/secret.yaml", "postgresql/secret.yaml"):
        assert "wazen-ai.generatedSecretValue" in (templates / name).read_text()


def test_existing_secrets_replace_generated_ones() -> None:
    docs = render(
        set_values={
            "django.secretKey.existingSecret": "my-django",
            "redis.auth.existingSecret": "my-redis",
            "redis.auth.existingSecretKey": "password",
            "postgresql.auth.existingSecret": "my-pg",
        }
    )
    assert not find_all(docs, "Secret")
    env = env_map(container(app_pod(docs)[1], "app"))
    assert env["DJANGO_SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "my-django",
        "key": "DJANGO_SECRET_KEY",
    }
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "my-redis",
        "key": "password",
    }
    redis = find_one(docs, "StatefulSet", "redis")["spec"]["template"]["spec"]
    assert env_map(container(redis, "redis"))["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "my-redis",
        "key": "password",
    }
    pg = find_one(docs, "StatefulSet", "postgresql")["spec"]["template"]["spec"]
    pg_ref = env_map(container(pg, "postgresql"))["POSTGRES_PASSWORD"]["valueFrom"]
    assert pg_ref["secretKeyRef"]["name"] == "my-pg"


# --- Redis, PostgreSQL, external services ----------------------------------------------------


def test_redis_is_an_authenticated_lru_cache(ci_renders: dict[str, Docs]) -> None:
    docs = ci_renders["monitoring-values.yaml"]
    conf = find_one(docs, "ConfigMap", "redis")["data"]["redis.conf"]
    assert "maxmemory 200mb" in conf
    assert "maxmemory-policy volatile-lru" in conf
    assert 'save ""' in conf
    assert "requirepass" not in conf
    spec = find_one(docs, "StatefulSet", "redis")["spec"]["template"]["spec"]
    redis = container(spec, "redis")
    assert redis["image"].startswith("docker.io/library/redis:")
    assert redis["args"][-2:] == ["--requirepass", "$(REDIS_PASSWORD)"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert "redis-cli" in " ".join(redis[probe]["exec"]["command"])
        assert "ping" in " ".join(redis[probe]["exec"]["command"])
    assert "REDISCLI_AUTH" in env_map(redis)
    exporter = container(spec, "redis-exporter")
    assert exporter["image"].startswith("docker.io/oliver006/redis_exporter:")
    assert "REDIS_PASSWORD" in env_map(exporter)


def test_redis_persistence_is_optional(ci_renders: dict[str, Docs]) -> None:
    default = find_one(ci_renders["default-values.yaml"], "StatefulSet", "redis")
    assert "volumeClaimTemplates" not in default["spec"]
    persistent = find_one(ci_renders["external-database-values.yaml"], "StatefulSet", "redis")
    (claim,) = persistent["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    conf = find_one(ci_renders["external-database-values.yaml"], "ConfigMap", "redis")
    assert "save 900 1 300 100" in conf["data"]["redis.conf"]


def test_external_redis_mode(ci_renders: dict[str, Docs]) -> None:
    docs = ci_renders["external-redis-values.yaml"]
    assert not [d for d in docs if "redis" in d["metadata"]["name"]]
    env = env_map(container(app_pod(docs)[1], "app"))
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "wazen-external-redis",
        "key": "url",
    }
    assert "REDIS_PASSWORD" not in env


def test_external_database_mode(ci_renders: dict[str, Docs]) -> None:
    docs = ci_renders["external-database-values.yaml"]
    assert not [d for d in docs if "postgresql" in d["metadata"]["name"]]
    env = env_map(container(app_pod(docs)[1], "app"))
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "wazen-database",
        "key": "DATABASE_URL",
    }
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "wazen-openai"
    app = container(app_pod(docs)[1], "app")
    assert app["image"] == f"{APP_IMAGE}@sha256:{'0123456789abcdef' * 4}"


def test_postgresql_uses_the_official_image(default_docs: Docs) -> None:
    spec = find_one(default_docs, "StatefulSet", "postgresql")["spec"]["template"]["spec"]
    pg = container(spec, "postgresql")
    assert pg["image"].startswith("docker.io/library/postgres:")
    assert env_map(pg)["PGDATA"]["value"].startswith("/var/lib/postgresql/data/")
    assert "pg_isready" in " ".join(pg["readinessProbe"]["exec"]["command"])


# --- migrations, seed, helm test, ingress ----------------------------------------------------


def test_migrations_run_in_a_plain_job_and_pods_wait_for_them(default_docs: Docs) -> None:
    (job,) = find_all(default_docs, "Job")
    assert job["metadata"]["name"].startswith("wazen-ai-migrate-")
    assert "helm.sh/hook" not in (job["metadata"].get("annotations") or {})
    assert job["spec"]["activeDeadlineSeconds"] == 900
    assert job["spec"]["backoffLimit"] == 4
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert container(pod, "migrate")["args"] == ["migrate"]
    _, spec = app_pod(default_docs)
    (init,) = spec["initContainers"]
    assert init["name"] == "wait-for-migrations"
    # The app's command, which exits on SIGTERM although it runs as PID 1.
    assert init["args"] == ["manage", "wait_for_migrations", "--interval", "3"]


def test_seed_demo_is_a_plain_job_that_waits_for_migrations(ci_renders: dict[str, Docs]) -> None:
    (job,) = [
        j
        for j in find_all(ci_renders["demo-values.yaml"], "Job")
        if "seed-demo" in j["metadata"]["name"]
    ]
    assert "helm.sh/hook" not in (job["metadata"].get("annotations") or {})
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    pod = job["spec"]["template"]["spec"]
    assert container(pod, "seed-demo")["args"] == ["seed-demo"]
    assert pod["initContainers"][0]["name"] == "wait-for-migrations"
    # Without the demo values the only Job is the migration.
    assert len(find_all(ci_renders["default-values.yaml"], "Job")) == 1


def test_helm_test_checks_readiness_and_assistant_metrics(default_docs: Docs) -> None:
    pod = find_one(default_docs, "Pod", "test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    check = container(pod["spec"], "check")
    assert check["image"].startswith(APP_IMAGE)
    assert check["command"] == ["python3", "-c"]
    compile(check["args"][0], "helm-test", "exec")
    env = {e["name"]: e["value"] for e in check["env"]}
    assert env["READY_URL"] == "http://wazen-ai.wazen.svc:80/health/ready"
    assert env["METRICS_URL"] == "http://wazen-ai-metrics.wazen.svc:9100/metrics"
    assert "wazen_cache_available" in env["EXPECTED_METRICS"].split(",")
    assert "urllib.request" in check["args"][0]


def test_ingress_routes_to_the_http_service(ci_renders: dict[str, Docs]) -> None:
    docs = ci_renders["external-database-values.yaml"]
    ingress = find_one(docs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = find_one(docs, "Service", "wazen-ai")
    assert backend == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    assert ingress["spec"]["tls"] == [{"secretName": "wazen-tls", "hosts": ["wazen.example.com"]}]
