"""A small OCI distribution client: push and pull single-file artifacts (the SBOM, the image
signature) next to an image, as `oras` does, with nothing but the standard library.

Artifacts follow the OCI 1.1 image-manifest form (an `artifactType`, the empty config, one
layer, and a `subject` naming the image's manifest) and are also tagged with the cosign-style
fallback tag `sha256-<image digest>.<kind>`, so registries without the referrers API (the CNCF
distribution 2.8 that tests use) and clients that only know tags both find them.

Registry credentials: REGISTRY_USERNAME / REGISTRY_PASSWORD (Basic, or exchanged for a Bearer
token when the registry asks, as ghcr.io does). Plain HTTP for 127.0.0.1/localhost registries or
when REGISTRY_INSECURE=1.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
ACCEPT = ", ".join(
    [
        OCI_MANIFEST,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def split_ref(ref: str) -> tuple[str, str, str]:
    """`host[:port]/repo/name(:tag|@digest)` → (host, repository, tag-or-digest)."""
    host, _, rest = ref.partition("/")
    if "@" in rest:
        repo, _, ver = rest.partition("@")
    else:
        repo, _, ver = rest.rpartition(":") if ":" in rest else (rest, "", "latest")
    return host, repo, ver


class Registry:
    def __init__(self, host: str) -> None:
        self.host = host
        insecure = os.environ.get("REGISTRY_INSECURE") == "1"
        local = re.match(r"^(127\.0\.0\.1|localhost)(:\d+)?$", host)
        self.base = f"{'http' if insecure or local else 'https'}://{host}"
        self.user = os.environ.get("REGISTRY_USERNAME", "")
        self.password = os.environ.get("REGISTRY_PASSWORD", "")
        self.token: str | None = None

    def _auth_header(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.user:
            raw = f"{self.user}:{self.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {}

    def _fetch_token(self, challenge: str) -> None:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = urllib.parse.urlencode({k: v for k, v in params.items() if k != "realm"})
        request = urllib.request.Request(f"{params['realm']}?{query}")
        if self.user:
            raw = f"{self.user}:{self.password}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(raw).decode())
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
        self.token = body.get("token") or body.get("access_token")

    def request(
        self, method: str, path: str, data: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict, bytes]:
        url = path if path.startswith("http") else self.base + path
        for attempt in range(2):
            request = urllib.request.Request(url, data=data, method=method)
            for key, value in {**(headers or {}), **self._auth_header()}.items():
                request.add_header(key, value)
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    return response.status, dict(response.headers), response.read()
            except urllib.error.HTTPError as error:
                challenge = error.headers.get("WWW-Authenticate", "")
                if error.code == 401 and attempt == 0 and challenge.startswith("Bearer"):
                    self._fetch_token(challenge)
                    continue
                body = error.read()
                raise RuntimeError(f"{method} {url}: {error.code} {body[:500]!r}") from None
        raise RuntimeError(f"{method} {url}: unauthorized")

    def push_blob(self, repo: str, blob: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        try:
            self.request("HEAD", f"/v2/{repo}/blobs/{digest}")
            return digest
        except RuntimeError:
            pass
        _, headers, _ = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        location = headers["Location"]
        if not location.startswith("http"):
            location = self.base + location
        sep = "&" if "?" in location else "?"
        self.request(
            "PUT",
            f"{location}{sep}digest={digest}",
            data=blob,
            headers={"Content-Type": "application/octet-stream"},
        )
        return digest

    def manifest(self, repo: str, ref: str) -> tuple[str, dict]:
        _, headers, body = self.request(
            "GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT}
        )
        digest = (
            headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()
        )
        return digest, {
            "mediaType": headers.get("Content-Type", OCI_MANIFEST),
            "raw": body,
            **json.loads(body),
        }

    def blob(self, repo: str, digest: str) -> bytes:
        _, _, body = self.request("GET", f"/v2/{repo}/blobs/{digest}")
        if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
            raise RuntimeError(f"blob {digest} does not match its digest")
        return body


def attach(image: str, kind: str, path: Path, artifact_type: str, media_type: str) -> str:
    """Push `path` as an artifact about `image` (`host/repo@sha256:…`); returns its reference."""
    host, repo, digest = split_ref(image)
    registry = Registry(host)
    subject_digest, subject = registry.manifest(repo, digest)
    assert subject_digest == digest, (subject_digest, digest)
    data = path.read_bytes()
    config = registry.push_blob(repo, b"{}")
    layer = registry.push_blob(repo, data)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY, "digest": config, "size": 2},
        "layers": [
            {
                "mediaType": media_type,
                "digest": layer,
                "size": len(data),
                "annotations": {"org.opencontainers.image.title": path.name},
            }
        ],
        "subject": {
            "mediaType": subject["mediaType"],
            "digest": digest,
            "size": len(subject["raw"]),
        },
    }
    body = json.dumps(manifest, separators=(",", ":")).encode()
    tag = f"{digest.replace(':', '-')}.{kind}"
    registry.request(
        "PUT", f"/v2/{repo}/manifests/{tag}", data=body, headers={"Content-Type": OCI_MANIFEST}
    )
    return f"{host}/{repo}:{tag}"


def fetch(image: str, kind: str, out: Path) -> Path:
    """Download the `kind` artifact attached to `image` (`host/repo@sha256:…`) into `out`."""
    host, repo, digest = split_ref(image)
    registry = Registry(host)
    _, manifest = registry.manifest(repo, f"{digest.replace(':', '-')}.{kind}")
    if manifest.get("subject", {}).get("digest") != digest:
        raise RuntimeError(f"the {kind} artifact is not about {digest}")
    layer = manifest["layers"][0]
    out.write_bytes(registry.blob(repo, layer["digest"]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    push = sub.add_parser("attach")
    push.add_argument("image")
    push.add_argument("kind")
    push.add_argument("file", type=Path)
    push.add_argument("--artifact-type", required=True)
    push.add_argument("--media-type", required=True)
    pull = sub.add_parser("fetch")
    pull.add_argument("image")
    pull.add_argument("kind")
    pull.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.command == "attach":
        print(attach(args.image, args.kind, args.file, args.artifact_type, args.media_type))
    else:
        print(fetch(args.image, args.kind, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
