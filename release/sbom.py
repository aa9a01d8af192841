"""CycloneDX 1.6 JSON SBOM of the released image: its Python packages (read from the venv's
*.dist-info in the image itself) and its Debian packages (the image's dpkg database).

    python release/sbom.py IMAGE_REF DIGEST OUT.json [--engine podman]

The inventory comes from the image, not from the lock: what the SBOM lists is what ships.
(`release/tests` checks that every package of requirements.lock is in it.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.parse
import uuid
from datetime import UTC, datetime
from pathlib import Path

# Runs inside the image (python3 of the base; no pip there): dist-info METADATA + dpkg status.
INVENTORY = r"""
import json, pathlib, email.parser
py = []
for meta in pathlib.Path("/opt/venv/lib").glob("python3*/site-packages/*.dist-info/METADATA"):
    m = email.parser.Parser().parsestr(meta.read_text(errors="replace"), headersonly=True)
    lic = m.get("License-Expression") or ""
    py.append({"name": m["Name"], "version": m["Version"], "license": lic})
deb, cur = [], {}
for line in pathlib.Path("/var/lib/dpkg/status").read_text(errors="replace").splitlines() + [""]:
    if not line.strip():
        if cur.get("Status", "").endswith(" installed"):
            keys = ("Package", "Version", "Architecture", "Source")
            deb.append({k: cur.get(k, "") for k in keys})
        cur = {}
    elif not line[0].isspace() and ":" in line:
        k, v = line.split(":", 1); cur[k] = v.strip()
print(json.dumps({"python": py, "deb": deb}))
"""


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def inventory(engine: str, image: str) -> dict:
    out = subprocess.run(
        [
            engine,
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "python3",
            image,
            "-c",
            INVENTORY,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(out.stdout)


def bom(image: str, digest: str, version: str, found: dict) -> dict:
    repo = image.rsplit(":", 1)[0] if "@" not in image else image.split("@", 1)[0]
    name = repo.rsplit("/", 1)[-1]
    image_purl = (
        f"pkg:oci/{name}@{urllib.parse.quote(digest)}?repository_url={urllib.parse.quote(repo)}"
    )
    components = []
    for pkg in sorted(found["python"], key=lambda p: canonical(p["name"])):
        purl = f"pkg:pypi/{canonical(pkg['name'])}@{pkg['version']}"
        component = {
            "type": "library",
            "bom-ref": purl,
            "name": pkg["name"],
            "version": pkg["version"],
            "purl": purl,
        }
        if pkg["license"]:
            component["licenses"] = [{"expression": pkg["license"]}]
        components.append(component)
    for pkg in sorted(found["deb"], key=lambda p: p["Package"]):
        arch = pkg["Architecture"]
        purl = (
            f"pkg:deb/debian/{pkg['Package']}@{urllib.parse.quote(pkg['Version'])}"
            f"?arch={arch}&distro=debian-12"
        )
        components.append(
            {
                "type": "library",
                "bom-ref": purl,
                "name": pkg["Package"],
                "version": pkg["Version"],
                "purl": purl,
            }
        )
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "wazen-ai release/sbom.py"}]},
            "component": {
                "type": "container",
                "bom-ref": image_purl,
                "name": name,
                "version": version,
                "purl": image_purl,
            },
        },
        "components": components,
        "dependencies": [{"ref": image_purl, "dependsOn": [c["bom-ref"] for c in components]}],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("image")
    parser.add_argument("digest")
    parser.add_argument("version")
    parser.add_argument("out", type=Path)
    parser.add_argument("--engine", default="podman")
    args = parser.parse_args()
    found = inventory(args.engine, args.image)
    document = bom(args.image, args.digest, args.version, found)
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    print(
        f"SBOM: {len(found['python'])} Python and {len(found['deb'])} Debian packages → {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
