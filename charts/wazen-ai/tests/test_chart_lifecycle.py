"""Release lifecycle without a cluster: install → upgrade → rollback → uninstall properties that
the rendered manifests decide (defects 1-4 of issue 11).

- checksum/secret hashes the Secret exactly as it is stored, so the first upgrade (which reads the
  stored values back with `lookup` and renders the same Secret) changes no pod template.
- Jobs are plain release resources (deleted by `helm uninstall`), named by their pod template
  (no churn on upgrades that change nothing), bounded in time and deleted after they finish.
- An upgrade that would change a StatefulSet's volumeClaimTemplates fails with a clear message.

Install → upgrade sequences run `helm template --dry-run=server` against fake_apiserver.py, which
answers `lookup` with what the install rendered, as a cluster would after `helm install`. The
check's other cases are rendered against fabricated existing StatefulSets.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from testsupport.chart.fake_apiserver import FakeAPIServer, fake_apiserver
from testsupport.chart.render import (
    CHART_DIR,
    DEFAULT_NAMESPACE,
    DEFAULT_RELEASE,
    HelmError,
    ci_values_files,
    find_all,
    find_one,
    render,
    render_text,
    run_helm,
    template_args,
)

pytestmark = pytest.mark.chart

Docs = list[dict[str, Any]]
SOURCE = re.compile(r"^---\n# Source: [^/]+/(?P<path>\S+)\n", re.MULTILINE)
HASH_NAME = re.compile(r"^wazen-ai-(?P<kind>migrate|seed-demo|bootstrap)-[0-9a-f]{10}$")


def sources(text: str) -> dict[str, str]:
    """{template path: its rendered text} from `helm template` output (one document each)."""
    parts = SOURCE.split(text)
    # split() yields [preamble, path1, body1, path2, body2, ...]
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def annotation(docs: Docs, kind: str, name: str, key: str) -> str:
    owner = next(d for d in find_all(docs, kind) if d["metadata"]["name"] == name)
    return owner["spec"]["template"]["metadata"]["annotations"][key]


# --- defect 1: checksum/secret is stable from the first install ------------------------------


@pytest.mark.parametrize("values_file", ci_values_files(), ids=lambda p: p.name)
def test_secret_checksum_is_the_hash_of_the_stored_secret(values_file: Path) -> None:
    text = render_text([values_file])
    docs = [d for d in yaml.safe_load_all(text) if d]
    stored = sources(text).get("templates/secret.yaml")
    if stored is None:
        pytest.skip("no chart-made Secret with these values")
    # Helm's `include` yields the template's text, which starts with the newline its first
    # `{{- … }}` line leaves; the manifest stores the same text after "# Source:".
    expected = hashlib.sha256(("\n" + stored).encode()).hexdigest()
    assert annotation(docs, "Deployment", "wazen-ai", "checksum/secret") == expected


def test_generated_secret_is_rendered_once_per_release_render() -> None:
    """The random DJANGO_SECRET_KEY is drawn once: two renders differ (no cluster, no lookup),
    but within each the Deployment hashes the very Secret it ships."""
    first, second = render_text(), render_text()
    keys = [
        yaml.safe_load(sources(t)["templates/secret.yaml"])["data"]["DJANGO_SECRET_KEY"]
        for t in (first, second)
    ]
    assert keys[0] != keys[1]
    for text in (first, second):
        docs = [d for d in yaml.safe_load_all(text) if d]
        digest = hashlib.sha256(
            ("\n" + sources(text)["templates/secret.yaml"]).encode()
        ).hexdigest()
        assert annotation(docs, "Deployment", "wazen-ai", "checksum/secret") == digest


def test_pod_templates_do_not_depend_on_the_generated_secrets() -> None:
    """An upgrade renders with the stored secrets: apart from checksum/secret (covered above), no
    pod template may contain a generated value, or every upgrade would roll the pods."""
    first, second = render(), render()
    for kind in ("Deployment", "StatefulSet", "Job"):
        for a, b in zip(find_all(first, kind), find_all(second, kind), strict=True):
            a_tpl, b_tpl = a["spec"]["template"], b["spec"]["template"]
            a_tpl["metadata"].get("annotations", {}).pop("checksum/secret", None)
            b_tpl["metadata"].get("annotations", {}).pop("checksum/secret", None)
            assert a_tpl == b_tpl, a["metadata"]["name"]


def render_on(server: FakeAPIServer, set_values: dict[str, Any] | None = None) -> Docs:
    """`helm template --dry-run=server` against the fake API server: `lookup` sees what is
    stored there, as on an upgrade."""
    server_side = ["--dry-run=server", "--disable-openapi-validation"]
    args = [*template_args([], set_values), *server_side, "--kubeconfig", str(server.kubeconfig)]
    return [d for d in yaml.safe_load_all(run_helm(*args).stdout) if d]


def install_on(server: FakeAPIServer, set_values: dict[str, Any] | None = None) -> Docs:
    """Render as `helm install` does (nothing stored yet) and store what it creates."""
    docs = render_on(server, set_values)
    for doc in docs:
        if "helm.sh/hook" not in (doc["metadata"].get("annotations") or {}):
            server.store(doc, DEFAULT_RELEASE)
    return docs


def pod_templates_by_owner(docs: Docs) -> dict[str, Any]:
    return {
        f"{d['kind']}/{d['metadata']['name']}": d["spec"]["template"]
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet", "Job")
    }


def test_first_upgrade_renders_what_the_install_created(tmp_path: Path) -> None:
    """Install, then upgrade with the same values, with `lookup` answered by an API server
    holding what the install created: same Secrets, same checksum/secret, same pod templates,
    same Job names, so nothing restarts and no Job is re-created (defects 1 and 3)."""
    with fake_apiserver(tmp_path) as server:
        install = install_on(server)
        upgrade = render_on(server)
    assert [s["data"] for s in find_all(upgrade, "Secret")] == [
        s["data"] for s in find_all(install, "Secret")
    ]
    assert annotation(upgrade, "Deployment", "wazen-ai", "checksum/secret") == annotation(
        install, "Deployment", "wazen-ai", "checksum/secret"
    )
    assert pod_templates_by_owner(upgrade) == pod_templates_by_owner(install)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"redis.persistence.enabled": True},
            "redis.persistence.enabled cannot change from false to true",
        ),
        (
            {"postgresql.persistence.enabled": False},
            "postgresql.persistence.enabled cannot change from true to false",
        ),
        (
            {"postgresql.persistence.size": "20Gi"},
            "postgresql.persistence.size cannot change from 8Gi to 20Gi",
        ),
    ],
    ids=["redis-on", "postgresql-off", "postgresql-resize"],
)
def test_upgrade_changing_persistence_is_refused_through_lookup(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    """Defect 2, through the real `lookup` path: the StatefulSet the install created is read
    back, and the upgrade fails before anything is applied, naming the way out."""
    with fake_apiserver(tmp_path) as server:
        install_on(server)
        with pytest.raises(HelmError, match=message) as refused:
            render_on(server, change)
        assert "--cascade=orphan" in str(refused.value)
        render_on(server, {"replicaCount": 3})  # other changes still go through


# --- defects 3 and 4: Jobs never outlive their purpose or the release ------------------------


@pytest.mark.parametrize("values_file", ci_values_files(), ids=lambda p: p.name)
def test_jobs_are_release_resources_bounded_in_time(values_file: Path) -> None:
    for job in find_all(render([values_file]), "Job"):
        name = job["metadata"]["name"]
        # A hook is not part of the release manifest: `helm uninstall` never deletes it, and
        # Helm waits for it even without --wait.
        assert "helm.sh/hook" not in (job["metadata"].get("annotations") or {}), name
        assert HASH_NAME.match(name), name
        assert job["spec"]["activeDeadlineSeconds"] > 0, name
        assert job["spec"]["ttlSecondsAfterFinished"] > 0, name


def test_hooks_are_deleted_by_helm() -> None:
    """The only hook left is the `helm test` pod; Helm deletes it before the next run and on
    success (a failed one stays for its logs, as documented)."""
    docs = render(["ci/demo-values.yaml"])
    hooks = [d for d in docs if "helm.sh/hook" in (d["metadata"].get("annotations") or {})]
    assert [(h["kind"], h["metadata"]["annotations"]["helm.sh/hook"]) for h in hooks] == [
        ("Pod", "test")
    ]
    policy = hooks[0]["metadata"]["annotations"]["helm.sh/hook-delete-policy"].split(",")
    assert {"before-hook-creation", "hook-succeeded"} <= set(policy)


def job_names(docs: Docs) -> dict[str, str]:
    names = {}
    for job in find_all(docs, "Job"):
        match = HASH_NAME.match(job["metadata"]["name"])
        assert match, job["metadata"]["name"]
        names[match["kind"]] = job["metadata"]["name"]
    return names


def test_job_names_change_only_with_their_pod_template() -> None:
    base = job_names(render(["ci/demo-values.yaml"]))
    assert set(base) == {"migrate", "seed-demo"}
    # Another render (new random secrets, as an upgrade re-renders): same Jobs, nothing re-runs.
    assert job_names(render(["ci/demo-values.yaml"])) == base
    # A setting that is not in the Jobs' pods (replicas): same Jobs.
    assert job_names(render(["ci/demo-values.yaml"], {"replicaCount": 3})) == base
    # A new image: new Jobs (a Job's pod template is immutable), which replace the old ones.
    new_image = job_names(render(["ci/demo-values.yaml"], {"image.tag": "9.9.9"}))
    assert new_image["migrate"] != base["migrate"]
    assert new_image["seed-demo"] != base["seed-demo"]


def test_notes_name_the_jobs_of_this_revision() -> None:
    proc = run_helm(
        "install", "wazen-ai", str(CHART_DIR), "--dry-run=client", "--namespace",
        DEFAULT_NAMESPACE, "--values", str(CHART_DIR / "ci" / "demo-values.yaml"),
    )  # fmt: skip
    manifest, notes = proc.stdout.split("\nNOTES:\n", 1)
    names = job_names([d for d in yaml.safe_load_all(manifest.split("\n---", 1)[1]) if d])
    assert f"logs job/{names['migrate']}" in notes
    assert f"logs job/{names['seed-demo']}" in notes


# --- defect 2: changing persistence is refused with a way out ---------------------------------


@pytest.fixture(scope="module")
def guard_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chart plus a template that runs the upgrade check against a given existing
    StatefulSet (values `guardTest.existing`), standing in for `lookup`."""
    chart = tmp_path_factory.mktemp("guard") / "wazen-ai"
    shutil.copytree(CHART_DIR, chart, ignore=shutil.ignore_patterns("tests", "ci"))
    (chart / "values.schema.json").unlink()  # guardTest is not a chart value
    (chart / "templates" / "zz-guard-test.yaml").write_text(
        '{{- include "wazen-ai.checkVolumeClaimTemplates" (list . "wazen-ai-redis" '
        '.Values.redis.persistence "redis.persistence" .Values.guardTest.existing) }}\n'
    )
    return chart


def existing_statefulset(size: str | None, storage_class: str | None = None) -> dict[str, Any]:
    """A StatefulSet as the API server returns it, with or without a `data` claim."""
    claims = []
    if size is not None:
        spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
        }
        if storage_class:
            spec["storageClassName"] = storage_class
        claims.append({"metadata": {"name": "data"}, "spec": spec})
    return {"spec": {"volumeClaimTemplates": claims} if claims else {}}


def render_guard(chart: Path, existing: dict[str, Any], **persistence: Any) -> str:
    args = ["template", "wazen-ai", str(chart), "--namespace", "wazen"]
    args += ["--set-json", f"guardTest.existing={json.dumps(existing)}"]
    for key, value in persistence.items():
        args += ["--set-json", f"redis.persistence.{key}={json.dumps(value)}"]
    return run_helm(*args).stdout


@pytest.mark.parametrize(
    ("existing", "persistence", "message"),
    [
        (
            existing_statefulset(None),
            {"enabled": True},
            r"redis.persistence.enabled cannot change from false to true",
        ),
        (
            existing_statefulset("1Gi"),
            {"enabled": False},
            r"redis.persistence.enabled cannot change from true to false",
        ),
        (
            existing_statefulset("1Gi"),
            {"enabled": True, "size": "2Gi"},
            r"redis.persistence.size cannot change from 1Gi to 2Gi",
        ),
        (
            existing_statefulset("1Gi", "standard"),
            {"enabled": True, "storageClass": "fast"},
            r'redis.persistence.storageClass cannot change from "standard" to "fast"',
        ),
    ],
    ids=["enable", "disable", "resize", "storage-class"],
)
def test_upgrade_changing_volume_claims_fails_with_the_way_out(
    guard_chart: Path, existing: dict[str, Any], persistence: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmError, match=message) as failed:
        render_guard(guard_chart, existing, **persistence)
    assert "kubectl -n wazen delete statefulset wazen-ai-redis --cascade=orphan" in str(
        failed.value
    )


@pytest.mark.parametrize(
    ("existing", "persistence"),
    [
        (existing_statefulset(None), {"enabled": False}),
        (existing_statefulset("1Gi"), {"enabled": True}),
        # The cluster filled in its default StorageClass; the values leave it empty.
        (existing_statefulset("1Gi", "standard"), {"enabled": True}),
        # The API server stores quantities in canonical form.
        (existing_statefulset("1Gi"), {"enabled": True, "size": "1024Mi"}),
        (
            existing_statefulset("2Gi", "standard"),
            {"enabled": True, "size": "2Gi", "storageClass": "standard"},
        ),
    ],
    ids=["off-off", "on-on", "default-class", "canonical-size", "same-class"],
)
def test_upgrade_keeping_volume_claims_passes(
    guard_chart: Path, existing: dict[str, Any], persistence: dict[str, Any]
) -> None:
    assert "kind: StatefulSet" in render_guard(guard_chart, existing, **persistence)


def test_persistence_values_render_claims(ci_renders: dict[str, Docs]) -> None:
    docs = ci_renders["persistence-values.yaml"]
    for name, size in [("wazen-ai-redis", "2Gi"), ("wazen-ai-postgresql", "10Gi")]:
        (claim,) = find_one(docs, "StatefulSet", name.removeprefix("wazen-ai"))["spec"][
            "volumeClaimTemplates"
        ]
        assert claim["metadata"]["name"] == "data"
        assert claim["spec"]["storageClassName"] == "standard"
        assert claim["spec"]["resources"]["requests"]["storage"] == size
        volumes = find_one(docs, "StatefulSet", name.removeprefix("wazen-ai"))["spec"]["template"][
            "spec"
        ]["volumes"]
        assert "data" not in {v["name"] for v in volumes}  # the claim, not an emptyDir
