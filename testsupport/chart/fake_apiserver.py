"""A minimal Kubernetes API server for `helm template --dry-run=server`: discovery for the kinds
the chart renders, GET of stored objects, 404 for everything else. It lets the chart tests run
the templates' `lookup` calls the way an install and an upgrade on a cluster do (no cluster
here): store what the install created, render again, compare.

Only reads are served; helm's server-side dry run does nothing else with
--disable-openapi-validation.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CORE = {
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "Service": "services",
    "ServiceAccount": "serviceaccounts",
    "Pod": "pods",
}
GROUPS = {
    "apps/v1": {"Deployment": "deployments", "StatefulSet": "statefulsets"},
    "batch/v1": {"Job": "jobs"},
    "policy/v1": {"PodDisruptionBudget": "poddisruptionbudgets"},
    "networking.k8s.io/v1": {"NetworkPolicy": "networkpolicies", "Ingress": "ingresses"},
    "autoscaling/v2": {"HorizontalPodAutoscaler": "horizontalpodautoscalers"},
    "monitoring.coreos.com/v1": {
        "ServiceMonitor": "servicemonitors",
        "PrometheusRule": "prometheusrules",
    },
}


def resource_list(group_version: str, kinds: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {"name": plural, "singularName": kind.lower(), "namespaced": True, "kind": kind,
             "verbs": ["get", "list", "create", "update", "patch", "delete"]}
            for kind, plural in kinds.items()
        ],
    }  # fmt: skip


def object_path(doc: dict[str, Any]) -> str:
    """The API path of a namespaced object."""
    api, kind = doc["apiVersion"], doc["kind"]
    plural = CORE[kind] if api == "v1" else GROUPS[api][kind]
    prefix = "/api/v1" if api == "v1" else f"/apis/{api}"
    return f"{prefix}/namespaces/{doc['metadata']['namespace']}/{plural}/{doc['metadata']['name']}"


@dataclass
class FakeAPIServer:
    kubeconfig: Path
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def store(self, doc: dict[str, Any], release: str) -> None:
        """Keep an object as helm leaves it on the cluster (ownership annotations included)."""
        stored = json.loads(json.dumps(doc))
        annotations = stored["metadata"].setdefault("annotations", {})
        annotations["meta.helm.sh/release-name"] = release
        annotations["meta.helm.sh/release-namespace"] = stored["metadata"]["namespace"]
        stored["metadata"].setdefault("labels", {})["app.kubernetes.io/managed-by"] = "Helm"
        self.objects[object_path(stored)] = stored


def _handler(server: FakeAPIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def reply(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/version":
                return self.reply(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0"})
            if path == "/api":
                return self.reply(200, {"kind": "APIVersions", "versions": ["v1"]})
            if path == "/api/v1":
                return self.reply(200, resource_list("v1", CORE))
            if path == "/apis":
                groups = []
                for group_version in GROUPS:
                    name, version = group_version.split("/")
                    entry = {"groupVersion": group_version, "version": version}
                    groups.append({"name": name, "versions": [entry], "preferredVersion": entry})
                return self.reply(
                    200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
                )
            if path.startswith("/apis/") and path[len("/apis/") :] in GROUPS:
                group_version = path[len("/apis/") :]
                return self.reply(200, resource_list(group_version, GROUPS[group_version]))
            if path in server.objects:
                return self.reply(200, server.objects[path])
            return self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                    "reason": "NotFound", "code": 404})  # fmt: skip

    return Handler


@contextmanager
def fake_apiserver(workdir: Path) -> Iterator[FakeAPIServer]:
    """A running fake API server and a kubeconfig pointing at it."""
    state = FakeAPIServer(workdir / "kubeconfig")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    port = httpd.server_address[1]
    state.kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: fake, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: fake, user: {}}]\n"
        "contexts: [{name: fake, context: {cluster: fake, user: fake}}]\n"
        "current-context: fake\n"
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
