"""Every URL NOTES.txt prints answers as printed (issue 11, defect 5).

The app runs under the image's gunicorn config with the rendered ConfigMap (ALLOWED_HOSTS
included), listening on every interface like the pod. Each URL is requested exactly as NOTES
prints it, the Host header being the one the URL implies (never set by hand). What NOTES leaves
to the cluster is filled in the way the cluster would: the local port of `kubectl port-forward`
becomes a free port, $NODE_IP / $SERVICE_IP become an address of this machine, the node port
becomes the app's port.
"""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from testsupport.chart.app import manage, served_app
from testsupport.chart.render import CHART_DIR, DEFAULT_NAMESPACE, resolve_values_file, run_helm
from testsupport.servers import RedisServer

pytestmark = [pytest.mark.chart, pytest.mark.slow]

URL = re.compile(r"http://[^\s)]+")


def install_dry_run(
    values: list[str], set_values: dict[str, Any]
) -> tuple[list[dict[str, Any]], str]:
    """(rendered documents, NOTES text) of `helm install --dry-run=client`."""
    args = [
        "install",
        "wazen-ai",
        str(CHART_DIR),
        "--dry-run=client",
        "--namespace",
        DEFAULT_NAMESPACE,
    ]
    for path in values:
        args += ["--values", str(resolve_values_file(path))]
    for key, value in set_values.items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    out = run_helm(*args).stdout
    manifest, notes = out.split("\nNOTES:\n", 1)
    docs = [d for d in yaml.safe_load_all(manifest.split("\n---", 1)[1]) if d]
    return docs, notes


def machine_address() -> str:
    """A non-loopback IPv4 address of this machine (what a node or load-balancer IP stands for)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))  # no packet is sent: picks the outgoing address
            address = probe.getsockname()[0]
        except OSError:
            address = ""
    if not address or address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address to stand for a node")
    return address


def printed_urls(notes: str, port: int) -> list[str]:
    """The URLs of NOTES step 2, with what the cluster would fill in."""
    step = notes.split("2. Reach the app:", 1)[1].split("\n3.", 1)[0]
    urls = []
    for url in URL.findall(step):
        url = re.sub(r"^http://(127\.0\.0\.1|localhost):8000", f"http://\\1:{port}", url)
        if "$NODE_IP" in url or "$SERVICE_IP" in url:
            url = url.replace("$NODE_IP:$NODE_PORT", f"{machine_address()}:{port}")
            url = re.sub(r"\$SERVICE_IP:\d+", f"{machine_address()}:{port}", url)
        urls.append(url)
    assert urls, step
    return urls


def fetch(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    redis = RedisServer(tmp_path_factory.mktemp("notes-redis")).start()
    try:
        yield redis.url
    finally:
        redis.stop()


@pytest.mark.parametrize(
    ("values", "set_values", "printed"),
    [
        ([], {}, "kubectl -n wazen port-forward svc/wazen-ai 8000:80"),
        (["ci/demo-values.yaml"], {}, "NODE_PORT=$(kubectl"),
        ([], {"service.type": "LoadBalancer"}, "SERVICE_IP=$(kubectl"),
    ],
    ids=["port-forward", "node-port", "load-balancer"],
)
def test_notes_urls_answer_as_printed(
    values: list[str], set_values: dict[str, Any], printed: str, redis_url: str, tmp_path: Path
) -> None:
    docs, notes = install_dry_run(values, set_values)
    assert printed in notes
    with served_app(docs, tmp_path, redis_url) as app:
        key = manage(["seed_demo"], app.env, timeout=120).stdout.strip().rsplit("=", 1)[1]
        urls = printed_urls(notes, app.http_port)
        pages = [u for u in urls if not u.endswith("/api/v1/chat")]
        for url in pages:
            status, body = fetch(url)
            assert status == 200, f"{url}: {status} {body[:300]!r}"
            assert b"<html" in body.lower()
        # The API, at the printed base URL (NOTES prints it for port-forward; the same host
        # serves it for the others).
        api = next(
            (u for u in urls if u.endswith("/api/v1/chat")), pages[0].rstrip("/") + "/api/v1/chat"
        )
        payload = json.dumps({"message": "What services do you offer?"}).encode()
        status, body = fetch(
            api, payload, {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        )
        assert status == 200, f"{api}: {status} {body[:300]!r}"
        assert json.loads(body)["reply"].strip()
        # The host validation still rejects what no URL prints.
        status, _ = fetch(
            pages[0].replace(pages[0].split("/")[2].split(":")[0], "127.0.0.1"),
            headers={"Host": "evil.example"},
        )
        if set_values.get("service.type") is None and not values:
            assert status == 400
