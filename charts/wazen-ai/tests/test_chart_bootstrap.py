"""First use without guesswork (bootstrap.*): the rendered Secret and Job, and the Job's command
run as the pod runs it (the chart's ConfigMap, the Secrets' values, a migrated database)."""

from __future__ import annotations

import base64

import pytest
import yaml

from testsupport.chart.app import app_env, manage
from testsupport.chart.render import CHART_DIR, HelmError, find_all, find_one, render, run_helm

pytestmark = pytest.mark.chart

VALUES = ["ci/bootstrap-values.yaml"]


def job(docs: list[dict]) -> dict:
    jobs = [d for d in find_all(docs, "Job") if "-bootstrap-" in d["metadata"]["name"]]
    assert len(jobs) == 1, [d["metadata"]["name"] for d in find_all(docs, "Job")]
    return jobs[0]


def container_env(pod_spec: dict) -> dict[str, dict]:
    (container,) = pod_spec["containers"]
    return {e["name"]: e for e in container["env"]}


def test_bootstrap_is_off_by_default() -> None:
    docs = render()
    assert not [d for d in find_all(docs, "Job") if "-bootstrap-" in d["metadata"]["name"]]
    assert not [d for d in find_all(docs, "Secret") if d["metadata"]["name"].endswith("-bootstrap")]


def test_bootstrap_job_reads_generated_secrets_and_is_no_hook() -> None:
    docs = render(VALUES)
    the_job = job(docs)
    assert "helm.sh/hook" not in (the_job["metadata"].get("annotations") or {})
    pod = the_job["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["wait-for-migrations"]
    args = pod["containers"][0]["args"]
    assert args[:2] == ["manage", "bootstrap"]
    assert args[args.index("--company-slug") + 1] == "acme"
    assert args[args.index("--admin-username") + 1] == "admin"
    env = container_env(pod)
    secret = find_one(docs, "Secret", "-bootstrap")
    assert env["WAZEN_BOOTSTRAP_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": secret["metadata"]["name"], "key": "api-key"}  # fmt: skip
    assert env["WAZEN_BOOTSTRAP_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == (
        "admin-password"
    )
    key = base64.b64decode(secret["data"]["api-key"]).decode()
    password = base64.b64decode(secret["data"]["admin-password"]).decode()
    assert key.startswith("wz_")
    assert len(key) >= 40
    assert len(password) >= 20
    # The Job's pods may reach the in-chart PostgreSQL and Redis.
    for policy in find_all(render([*VALUES, "ci/networkpolicy-values.yaml"]), "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                for expr in peer.get("podSelector", {}).get("matchExpressions", []):
                    if expr["key"] == "app.kubernetes.io/component" and "migrate" in expr["values"]:
                        assert "bootstrap" in expr["values"], policy["metadata"]["name"]


def test_bootstrap_with_existing_secrets_generates_none() -> None:
    docs = render(VALUES, {
        "bootstrap.apiKey.existingSecret": "acme-key",
        "bootstrap.admin.existingSecret": "acme-admin",
        "bootstrap.admin.existingSecretKey": "pw",
    })  # fmt: skip
    assert not [d for d in find_all(docs, "Secret") if d["metadata"]["name"].endswith("-bootstrap")]
    env = container_env(job(docs)["spec"]["template"]["spec"])
    assert env["WAZEN_BOOTSTRAP_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "acme-key", "key": "api-key"}  # fmt: skip
    assert env["WAZEN_BOOTSTRAP_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "acme-admin", "key": "pw"}  # fmt: skip


def test_bootstrap_needs_a_company_and_rejects_unknown_keys() -> None:
    with pytest.raises(HelmError, match=r"bootstrap.company.slug"):
        render(set_values={"bootstrap.enabled": True})
    with pytest.raises(HelmError, match="additional"):
        render(VALUES, {"bootstrap.admin.pasword": "x"})


@pytest.mark.slow
def test_bootstrap_job_command_creates_company_key_and_admin(tmp_path) -> None:
    """The Job's container args and env, run against a migrated database, twice: the key works,
    the admin logs in, and neither value appears in the output."""
    docs = render(VALUES)
    pod = job(docs)["spec"]["template"]["spec"]
    secret = find_one(docs, "Secret", "-bootstrap")
    key = base64.b64decode(secret["data"]["api-key"]).decode()
    password = base64.b64decode(secret["data"]["admin-password"]).decode()
    env = app_env(docs, tmp_path, WAZEN_BOOTSTRAP_API_KEY=key,
                  WAZEN_BOOTSTRAP_ADMIN_PASSWORD=password)  # fmt: skip
    assert manage(["migrate", "--noinput", "-v", "0"], env, timeout=180).returncode == 0
    args = pod["containers"][0]["args"][1:]
    outputs = []
    for _ in range(2):
        result = manage(args, env, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout + result.stderr)
    for output in outputs:
        assert key not in output
        assert password not in output
    check = (
        "from tenancy.keys import tenant_for_key; from django.contrib.auth import "
        "authenticate; import os; assert tenant_for_key(os.environ['WAZEN_BOOTSTRAP_API_KEY'])"
        ".slug == 'acme'; assert authenticate(username='admin', password=os.environ["
        "'WAZEN_BOOTSTRAP_ADMIN_PASSWORD']).is_superuser; print('ok')"
    )
    result = manage(["shell", "-c", check], env, timeout=120)
    assert result.stdout.strip().endswith("ok"), result.stdout + result.stderr


def test_notes_show_how_to_read_the_key_and_the_admin_password() -> None:
    out = run_helm(
        "install", "wazen", str(CHART_DIR), "--dry-run=client", "-n", "wazen",
        "--values", str(CHART_DIR / "ci" / "bootstrap-values.yaml"),
    ).stdout  # fmt: skip
    manifest, notes = out.split("\nNOTES:\n", 1)
    assert "get secret wazen-wazen-ai-bootstrap -o jsonpath='{.data.api-key}' | base64 -d" in notes
    assert "jsonpath='{.data.admin-password}'" in notes
    assert "user admin" in notes
    secret = next(
        d for d in (yaml.safe_load_all(manifest.split("\n---", 1)[1])) if d and d["kind"] ==
        "Secret" and d["metadata"]["name"].endswith("-bootstrap")
    )  # fmt: skip
    key = base64.b64decode(secret["data"]["api-key"]).decode()
    assert key not in notes
    plain = run_helm("install", "wazen", str(CHART_DIR), "--dry-run=client", "-n", "wazen").stdout
    assert "bootstrap.enabled=true" in plain.split("\nNOTES:\n", 1)[1]
