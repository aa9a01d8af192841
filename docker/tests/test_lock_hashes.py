"""The image build installs in hash-checking mode: a lock whose hash does not match what the
index serves fails the build (at the pip step of the builder stage, before anything is copied
from app/). The build context is a copy with one package's hashes changed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")

if not os.environ.get("CI") and not (shutil.which("podman") or shutil.which("docker")):
    pytest.skip(
        "container suite: no podman or docker (`make container-engine` installs podman)",
        allow_module_level=True,
    )


def tamper(lock: str, package: str) -> str:
    """The lock with every hash of `package` replaced by another valid-looking sha256."""
    out, current = [], None
    for line in lock.splitlines():
        if re.match(r"^[A-Za-z0-9]", line):
            current = line.split("==", 1)[0].lower()
        if current == package:
            line = HASH.sub(lambda m: "--hash=sha256:" + m.group(1)[::-1], line)
        out.append(line)
    return "\n".join(out) + "\n"


def test_lock_pins_every_package_with_hashes() -> None:
    """Every requirement of both locks is `name==version` with at least one sha256."""
    for name in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / name).read_text()
        assert "linux x86_64 and aarch64" in text, f"{name}: the header names the platforms"
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 5)[-1])
        requirements = [b for b in blocks if re.match(r"^[A-Za-z0-9]", b)]
        assert len(requirements) > 20, name
        for block in requirements:
            assert re.match(r"^[A-Za-z0-9._-]+==[^ ]+ \\", block), block.splitlines()[0]
            assert HASH.search(block), f"{name}: no hash for {block.splitlines()[0]}"


def test_runtime_lock_agrees_with_the_dev_lock() -> None:
    def pins(name: str) -> dict[str, str]:
        found = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", (ROOT / name).read_text(), re.M)
        return {n.lower(): v for n, v in found}

    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {n: dev.get(n) for n in runtime} == runtime


def test_image_build_fails_when_a_hash_does_not_match(engine, tmp_path) -> None:
    base = os.environ.get("BASE_IMAGE") or (
        "docker.io/library/python:3.11-slim-bookworm"
        if engine.name == "docker"
        else "localhost/wazen-base:bookworm"
    )
    make = subprocess.run(
        ["make", "--no-print-directory", "base-image"] if "localhost/" in base else ["true"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert make.returncode == 0, make.stdout + make.stderr
    context = tmp_path / "context"
    (context / "docker").mkdir(parents=True)
    shutil.copy(ROOT / "docker" / "Dockerfile", context / "docker" / "Dockerfile")
    lock = (ROOT / "requirements.lock").read_text()
    tampered = tamper(lock, "sqlparse")
    assert tampered != lock
    (context / "requirements.lock").write_text(tampered)
    secret = []
    if Path("/etc/ssl/certs/ca-certificates.crt").is_file():
        secret = ["--secret", "id=pip_ca,src=/etc/ssl/certs/ca-certificates.crt"]
    tag = "localhost/wazen-ai:lock-tamper-test"
    result = subprocess.run(
        [engine.name, "build", "--target", "builder", "-f", "docker/Dockerfile", "-t", tag,
         "--build-arg", f"BASE_IMAGE={base}", *secret, str(context)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    engine("rmi", "-f", tag, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, "the build succeeded with a hash that does not match:\n" + output
    assert "DO NOT MATCH THE HASHES" in output, output[-3000:]
    assert "sqlparse" in output.split("DO NOT MATCH THE HASHES", 1)[1]
