"""`make release` against a real local OCI registry (Debian's docker-registry on 127.0.0.1),
then what a platform team does with the result: pull the chart from OCI, render it and find the
pushed image digest, pull the image by digest with podman, verify the signature with the
published key (and see it fail on a tampered image), and read the SBOM."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.release, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
VERSION = "0.2.0"
TOOLS = ["docker-registry", "skopeo", "gpg", "helm", "podman"]
ENV = {
    **os.environ,
    "CONTAINERS_CONF": os.environ.get(
        "CONTAINERS_CONF", str(ROOT / ".tools" / "containers" / "containers.conf")
    ),
    "PATH": f"{ROOT / '.tools' / 'bin'}:{os.environ['PATH']}",
}

if missing := [t for t in TOOLS if not shutil.which(t, path=ENV["PATH"])]:
    if os.environ.get("CI"):
        pytest.fail(f"release test: missing {missing} (make release-tools tools container-engine)")
    pytest.skip(f"release test: missing {missing} (make release-tools)", allow_module_level=True)


def run(*cmd: str, check: bool = True, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=kw.pop("env", ENV), **kw
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout[-4000:]}\n"
            f"{result.stderr[-4000:]}"
        )
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Iterator[str]:
    """A CNCF distribution registry on 127.0.0.1, storage in a temporary directory."""
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "log": {"level": "warn"},
                "storage": {
                    "filesystem": {"rootdirectory": str(root / "data")},
                    "delete": {"enabled": True},
                },
                "http": {"addr": f"127.0.0.1:{port}"},
            }
        )
    )
    log = (root / "registry.log").open("w")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError((root / "registry.log").read_text()) from None
            time.sleep(0.2)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory) -> Path:
    """A throwaway GPG key for this test only (a release uses the project's key)."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {**ENV, "GNUPGHOME": str(home)}
    uid = "Wazen AI release test <release-test@wazen.invalid>"
    run("gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never",
        env=env)  # fmt: skip
    key = home / "secret.asc"
    run("gpg", "--batch", "--armor", "--export-secret-keys", "--output", str(key), env=env)
    run("gpgconf", "--kill", "all", env=env, check=False)
    return key


@pytest.fixture(scope="module")
def release(registry: str, signing_key: Path, tmp_path_factory) -> Iterator[dict]:
    """`make release` against the local registry; returns release.json and the output dir."""
    started = time.monotonic()
    out = tmp_path_factory.mktemp("release") / VERSION
    result = run(
        "make", "--no-print-directory", "release", f"VERSION={VERSION}",
        f"REGISTRY={registry}/wazen", cwd=ROOT, timeout=1200,
        env={**ENV, "RELEASE_SIGNING_KEY_FILE": str(signing_key), "RELEASE_OUT": str(out)},
    )  # fmt: skip
    info = json.loads((out / "release.json").read_text())
    secret = signing_key.read_text()
    assert secret.split("\n")[3][:40] not in result.stdout + result.stderr, "key material printed"
    yield {**info, "dir": out, "registry": registry, "seconds": time.monotonic() - started}
    run("podman", "rmi", info["image_tag"], check=False)  # the tag names a registry now gone


def test_release_writes_every_artifact(release) -> None:
    out: Path = release["dir"]
    for name in (f"wazen-ai-{VERSION}.tgz", "sbom.cdx.json", "image.sig", "signing-key.asc",
                 "RELEASE_NOTES.md", "release.json", "SHA256SUMS", "SHA256SUMS.asc"):  # fmt: skip
        assert (out / name).is_file(), name
    notes = (out / "RELEASE_NOTES.md").read_text()
    assert notes.startswith(f"# Wazen AI {VERSION}")
    assert (
        f"helm install wazen oci://{release['registry']}/wazen/charts/wazen-ai --version {VERSION}"
        in notes
    )
    assert "BEGIN PGP PRIVATE KEY" not in (out / "signing-key.asc").read_text()
    run("sha256sum", "-c", "SHA256SUMS", cwd=out)


def test_release_files_verify_with_the_published_key(release, tmp_path) -> None:
    out: Path = release["dir"]
    env = {**ENV, "GNUPGHOME": str(tmp_path)}
    tmp_path.chmod(0o700)
    run("gpg", "--batch", "--import", str(out / "signing-key.asc"), env=env)
    for asc in out.glob("*.asc"):
        if asc.name != "signing-key.asc":
            run("gpg", "--batch", "--verify", str(asc), str(asc.with_suffix("")), env=env)
    (tmp_path / "SHA256SUMS").write_text((out / "SHA256SUMS").read_text() + "tampered\n")
    bad = run("gpg", "--batch", "--verify", str(out / "SHA256SUMS.asc"),
              str(tmp_path / "SHA256SUMS"), env=env, check=False)  # fmt: skip
    assert bad.returncode != 0


def test_chart_from_oci_renders_the_pushed_image_digest(release, tmp_path) -> None:
    registry = release["registry"]
    run("helm", "pull", f"oci://{registry}/wazen/charts/wazen-ai", "--version", VERSION,
        "--plain-http", "-d", str(tmp_path))  # fmt: skip
    chart = tmp_path / f"wazen-ai-{VERSION}.tgz"
    with tarfile.open(chart) as tar:
        meta = yaml.safe_load(tar.extractfile("wazen-ai/Chart.yaml").read())
    assert (meta["version"], meta["appVersion"]) == (VERSION, VERSION)
    rendered = run("helm", "template", "wazen", str(chart)).stdout
    images = set(re.findall(r"image: \"?([^\s\"]+)", rendered))
    pushed = run("skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                 f"docker://{registry}/wazen/wazen-ai:{VERSION}").stdout.strip()  # fmt: skip
    assert release["image"] == f"{registry}/wazen/wazen-ai@{pushed}"
    assert release["image"] in images, images


def test_podman_pulls_the_image_by_digest(release) -> None:
    ref = release["image"]
    run("podman", "pull", "-q", "--tls-verify=false", ref)
    inspect = json.loads(run("podman", "image", "inspect", ref).stdout)[0]
    assert inspect["Labels"]["org.opencontainers.image.version"] == VERSION
    run("podman", "rmi", ref, check=False)


def test_sbom_lists_every_locked_package_and_the_os_packages(release, tmp_path) -> None:
    sbom_file = tmp_path / "sbom.json"
    run("python3", "release/oci.py", "fetch", release["image"], "sbom", str(sbom_file), cwd=ROOT)
    sbom = json.loads(sbom_file.read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom == {**json.loads((release["dir"] / "sbom.cdx.json").read_text())}
    purls = {c["purl"] for c in sbom["components"]}
    locked = re.findall(
        r"^([A-Za-z0-9._-]+)==(\S+)", (ROOT / "requirements.lock").read_text(), re.M
    )
    assert len(locked) > 20
    for name, version in locked:
        canonical = re.sub(r"[-_.]+", "-", name).lower()
        assert f"pkg:pypi/{canonical}@{version}" in purls, f"{name}=={version} not in the SBOM"
    debs = {c["name"] for c in sbom["components"] if c["purl"].startswith("pkg:deb/")}
    assert {"libc6", "python3.11", "nginx-light", "dpkg"} <= debs


def test_signature_verifies_and_a_tampered_image_fails(release, tmp_path) -> None:
    key = release["dir"] / "signing-key.asc"
    registry = release["registry"]
    ok = run("release/verify.sh", release["image"], str(key), str(tmp_path / "ok"), cwd=ROOT)
    assert "verified:" in ok.stdout
    # The same tag now names a different image (what a registry compromise or a mistaken push
    # looks like): by tag, verification must fail.
    tag = f"{registry}/wazen/wazen-ai:{VERSION}"
    run("skopeo", "copy", "-q", "--dest-tls-verify=false",
        "containers-storage:localhost/wazen-base:bookworm", f"docker://{tag}")  # fmt: skip
    try:
        bad = run("release/verify.sh", tag, str(key), str(tmp_path / "tag"), cwd=ROOT, check=False)
        assert bad.returncode != 0, bad.stdout
        # An attacker copies the genuine signature next to the tampered manifest: still rejected.
        tampered = run("skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                       f"docker://{tag}").stdout.strip()  # fmt: skip
        tampered_ref = f"{registry}/wazen/wazen-ai@{tampered}"
        run("python3", "release/oci.py", "attach", tampered_ref, "sig",
            str(release["dir"] / "image.sig"), "--artifact-type", "application/x",
            "--media-type", "application/x", cwd=ROOT)  # fmt: skip
        bad = run("release/verify.sh", tampered_ref, str(key), str(tmp_path / "copied"),
                  cwd=ROOT, check=False)  # fmt: skip
        assert bad.returncode != 0, bad.stdout
        assert "verified:" not in bad.stdout
    finally:
        # Put the released image back under its tag for any later reader of this registry.
        run("skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
            f"docker://{release['image']}", f"docker://{tag}")  # fmt: skip
    # Another key does not verify the genuine image either.
    other = tmp_path / "other-home"
    other.mkdir(mode=0o700)
    env = {**ENV, "GNUPGHOME": str(other)}
    run("gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Other <o@x.invalid>",
        "ed25519", "sign", "never", env=env)  # fmt: skip
    other_key = tmp_path / "other.asc"
    run("gpg", "--batch", "--armor", "--export", "--output", str(other_key), env=env)
    run("gpgconf", "--kill", "all", env=env, check=False)
    bad = run("release/verify.sh", release["image"], str(other_key), str(tmp_path / "k"),
              cwd=ROOT, check=False)  # fmt: skip
    assert bad.returncode != 0


def test_bootstrap_from_the_pulled_chart_in_the_image_pulled_by_digest(release, tmp_path) -> None:
    """The release as a platform team installs it, minus the cluster: the chart pulled from OCI
    renders the bootstrap Job with bootstrap values; its command and Secret values run in the
    image pulled by digest (read-only root, SQLite on a tmpfs): the key resolves to the company,
    the admin logs in, and no output line contains the key or the password."""
    registry = release["registry"]
    run("helm", "pull", f"oci://{registry}/wazen/charts/wazen-ai", "--version", VERSION,
        "--plain-http", "-d", str(tmp_path))  # fmt: skip
    chart = tmp_path / f"wazen-ai-{VERSION}.tgz"
    values = ["--set", "bootstrap.enabled=true", "--set", "bootstrap.company.slug=acme",
              "--set", "bootstrap.admin.username=admin"]  # fmt: skip
    docs = [d for d in yaml.safe_load_all(run("helm", "template", "w", str(chart), *values).stdout)
            if d]  # fmt: skip
    job = next(d for d in docs if d["kind"] == "Job" and "-bootstrap-" in d["metadata"]["name"])
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == release["image"]
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"].endswith(
        "-bootstrap"))  # fmt: skip
    key = base64.b64decode(secret["data"]["api-key"]).decode()
    password = base64.b64decode(secret["data"]["admin-password"]).decode()
    config = next(
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "w-wazen-ai"
    )
    env = {**config["data"], "DJANGO_SECRET_KEY": "release-test-" + "k" * 50,
           "DATABASE_URL": "sqlite:////tmp/db.sqlite3", "DJANGO_CACHE_BACKEND": "locmem",
           "WAZEN_BOOTSTRAP_API_KEY": key, "WAZEN_BOOTSTRAP_ADMIN_PASSWORD": password}  # fmt: skip
    env_file = tmp_path / "env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    env_file.chmod(0o600)
    job_args = " ".join(shlex.quote(a) for a in container["args"])  # manage bootstrap …
    check = (
        "from tenancy.keys import tenant_for_key; from django.contrib.auth import "
        "authenticate; import os; e = os.environ; "
        "assert tenant_for_key(e['WAZEN_BOOTSTRAP_API_KEY']).slug == 'acme'; "
        "assert authenticate(username='admin', password=e['WAZEN_BOOTSTRAP_ADMIN_PASSWORD']); "
        "print('bootstrap-ok')"
    )
    script = " && ".join([
        "unset PROMETHEUS_MULTIPROC_DIR",  # a one-off process, as the entrypoint's `manage`
        "python manage.py migrate --noinput -v 0",
        f"/app/docker/entrypoint.sh {job_args}",  # the Job's container, exactly
        f"/app/docker/entrypoint.sh {job_args}",  # idempotent: a second run changes nothing
        f"python manage.py shell -c {shlex.quote(check)}",
    ])  # fmt: skip
    result = run(
        "podman", "run", "--rm", "--pull=never", "--network", "none", "--read-only",
        "--read-only-tmpfs=false", "--tmpfs", "/tmp", "--env-file", str(env_file),
        release["image"], "sh", "-c", script, timeout=300,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert "bootstrap-ok" in output
    assert "company acme: created" in output
    assert key not in output
    assert password not in output
