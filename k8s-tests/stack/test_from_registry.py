"""The twin runs a release as a platform team installs it (issue 20): `make release` into a local
OCI registry (Debian's docker-registry on 127.0.0.1), the chart pulled from there
(`helm pull oci://…`), the image pulled by the digest the chart pins. Its bootstrap values create
the first company, API key and admin on the twin's database; a pod of the released image serves
that key; no log line holds the key or the admin password.

Podman mode only (the process twin runs the working tree's code, not an image).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from testsupport.k8s.chartinfo import ROOT, render
from testsupport.k8s.clients import log, request
from testsupport.k8s.suite import SOFT
from testsupport.k8s.twin import container_env, podman_env

TOOLS = ("docker-registry", "skopeo", "gpg", "helm", "podman")
BOOTSTRAP = {
    "bootstrap.enabled": True,
    "bootstrap.company.slug": "twin-co",
    "bootstrap.company.name": "Twin Co",
    "bootstrap.admin.username": "admin",
    "bootstrap.admin.email": "admin@twin.example",
}


@dataclasses.dataclass
class Published:
    chart_dir: Path  # the chart as `helm pull --untar` gives it
    image: str  # repository@sha256:… as the pulled chart pins it


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(*cmd: str, env: dict | None = None, timeout: float = 900) -> str:
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=env or podman_env(), check=False
    )
    assert proc.returncode == 0, f"{' '.join(cmd[:4])}…: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def published(stack, tmp_path_factory) -> Iterator[Published]:
    if stack.backend.mode != "podman":
        pytest.skip("the release runs as an image: podman mode only")
    path = f"{ROOT / '.tools' / 'bin'}:{os.environ['PATH']}"
    if missing := [t for t in TOOLS if not shutil.which(t, path=path)]:
        pytest.skip(f"missing {missing} (make release-tools tools)")
    env = {**podman_env(), "PATH": path}
    work = tmp_path_factory.mktemp("published")
    port = _free_port()
    (work / "registry.yml").write_text(yaml.safe_dump({
        "version": 0.1, "log": {"level": "warn"}, "http": {"addr": f"127.0.0.1:{port}"},
        "storage": {"filesystem": {"rootdirectory": str(work / "data")}},
    }))  # fmt: skip
    registry = subprocess.Popen(
        ["docker-registry", "serve", str(work / "registry.yml")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        gnupg = work / "gnupg"
        gnupg.mkdir(mode=0o700)
        key_env = {**env, "GNUPGHOME": str(gnupg)}
        _run("gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Twin <twin@x.invalid>",
             "ed25519", "sign", "never", env=key_env)  # fmt: skip
        _run("gpg", "--batch", "--armor", "--export-secret-keys", "--output",
             str(work / "key.asc"), env=key_env)  # fmt: skip
        subprocess.run(["gpgconf", "--kill", "all"], env=key_env, check=False)
        version = yaml.safe_load((ROOT / "charts/wazen-ai/Chart.yaml").read_text())["version"]
        started = time.monotonic()
        _run("make", "-C", str(ROOT), "--no-print-directory", "release", f"VERSION={version}",
             f"REGISTRY=127.0.0.1:{port}/twin", env={**env, "RELEASE_OUT": str(work / "out"),
             "RELEASE_SIGNING_KEY_FILE": str(work / "key.asc")})  # fmt: skip
        log(f"twin: make release into 127.0.0.1:{port} in {time.monotonic() - started:.0f}s")
        _run("helm", "pull", f"oci://127.0.0.1:{port}/twin/charts/wazen-ai", "--version",
             version, "--plain-http", "--untar", "-d", str(work / "pulled"), env=env)  # fmt: skip
        chart_dir = work / "pulled" / "wazen-ai"
        image_values = yaml.safe_load((chart_dir / "values.yaml").read_text())["image"]
        image = f"{image_values['repository']}@{image_values['digest']}"
        _run("podman", "pull", "-q", "--tls-verify=false", image)
        yield Published(chart_dir, image)
        # Untag what this run made (the registry is gone): the pulled digest and the built tag.
        built = f"127.0.0.1:{port}/twin/wazen-ai:{version}"
        subprocess.run(["podman", "rmi", image, built], env=env, capture_output=True, check=False)
    finally:
        registry.terminate()
        registry.wait(timeout=10)


def test_release_from_the_registry_bootstraps_and_serves_its_key(stack, published) -> None:
    chart = render(
        SOFT[0], {**SOFT[1], **BOOTSTRAP}, chart_dir=published.chart_dir,
        release=stack.chart.release, namespace=stack.chart.namespace,
    ).keep_secrets_of(stack.chart)  # fmt: skip
    assert chart.app_container()["image"] == published.image, "the chart pins the pushed digest"
    job = next(j for j in chart.of_kind("Job") if "-bootstrap-" in j["metadata"]["name"])
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == published.image
    env = container_env(chart, "bootstrap", "10.0.0.1", chart.namespace, container=container)
    key, password = env["WAZEN_BOOTSTRAP_API_KEY"], env["WAZEN_BOOTSTRAP_ADMIN_PASSWORD"]
    assert key.startswith("wz_")
    logs = [stack.backend.run_job(env, container["args"], image=published.image) for _ in "12"]
    assert "company twin-co: created" in logs[0]
    assert "admin user admin: created" in logs[0]
    assert "created" not in logs[1], "the second run (an upgrade) must change nothing"
    with stack.extra_pod(chart, "from-registry", image=published.image) as pod:
        client = dataclasses.replace(stack.chat_client(stack.url(pod)), api_key=key)
        deadline, services = time.monotonic() + 120, None
        while time.monotonic() < deadline:  # the pod's first answer to the bootstrap key
            try:
                services = request(f"{client.base_url}/api/v1/services", headers=client._headers())
                if services.status == 200:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert services is not None, stack.backend.pod_logs(pod)[-3000:]
        assert services.status == 200, services.body[:300]
        reply = client.chat("Hello, what can I order?")
        assert reply.status == 200, reply.body[:300]
        pod_log = subprocess.run(
            ["podman", "logs", pod.handle], capture_output=True, text=True, env=podman_env(),
            timeout=60, check=False,
        )  # fmt: skip
        logs.append(pod_log.stdout + pod_log.stderr)
    for text in logs:
        assert key not in text
        assert key[3:15] not in text
        assert password not in text
