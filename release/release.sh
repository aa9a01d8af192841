#!/usr/bin/env bash
# make release: build, push, sign and describe one version. Everything it writes goes to
# build/release/$VERSION/ (or $RELEASE_OUT; docs/releasing.md lists the files).
#
#   VERSION   the release (SemVer; CHANGELOG.md must have a `## [VERSION]` section)
#   REGISTRY  where the image goes ($REGISTRY/wazen-ai) and the chart ($REGISTRY/charts/wazen-ai)
#   RELEASE_SIGNING_KEY_FILE (or RELEASE_SIGNING_KEY, the armored text): the GPG secret key that
#             signs the image (containers "simple signing") and every file of the release;
#             RELEASE_SIGNING_PASSPHRASE_FILE when the key has a passphrase.
#   REGISTRY_USERNAME / REGISTRY_PASSWORD: registry credentials (not needed for a local registry).
#   REGISTRY_INSECURE=1: plain HTTP (implied for 127.0.0.1 and localhost).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${VERSION:?VERSION is needed, e.g. make release VERSION=0.2.0 REGISTRY=ghcr.io/wazen-ai}"
: "${REGISTRY:?REGISTRY is needed, e.g. REGISTRY=ghcr.io/wazen-ai}"
PY=${PY:-python3}
ENGINE=${CONTAINER_ENGINE:-podman}
IMAGE_NAME=${IMAGE_NAME:-wazen-ai}
REGISTRY=${REGISTRY%/}
host=${REGISTRY%%/*}
image_repo=$REGISTRY/$IMAGE_NAME
chart_repo=$REGISTRY/charts
out=$(realpath -m "${RELEASE_OUT:-build/release/$VERSION}")  # RELEASE_OUT: elsewhere (tests)

for tool in skopeo:skopeo helm:"make tools" gpg:gnupg git:git "$ENGINE":"make container-engine"; do
  command -v "${tool%%:*}" >/dev/null || { echo "release: ${tool%%:*} is needed (${tool#*:})"; exit 1; }
done
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "VERSION must be SemVer"; exit 1; }
tls=(--dest-tls-verify=true); plain=()
if [[ ${REGISTRY_INSECURE:-} == 1 || $host =~ ^(127\.0\.0\.1|localhost)(:[0-9]+)?$ ]]; then
  tls=(--dest-tls-verify=false); plain=(--plain-http); export REGISTRY_INSECURE=1
fi
creds=()
if [[ -n ${REGISTRY_USERNAME:-} ]]; then
  creds=(--dest-creds "$REGISTRY_USERNAME:${REGISTRY_PASSWORD:-}")
  printf '%s' "${REGISTRY_PASSWORD:-}" | helm registry login "$host" "${plain[@]/--plain-http/--insecure}" \
    -u "$REGISTRY_USERNAME" --password-stdin >/dev/null
fi

rm -rf "$out"; mkdir -p "$out"
work=$(mktemp -d); trap 'gpgconf --homedir "$work/gnupg" --kill all 2>/dev/null || true; rm -rf "$work"' EXIT

# -- 0. release notes (fails when CHANGELOG.md has no section for VERSION) ---------------------
"$PY" release/notes.py CHANGELOG.md "$VERSION" > "$work/notes.md"

# -- 1. the signing key: imported into a throwaway keyring; only the public half is published --
export GNUPGHOME=$work/gnupg; mkdir -m 700 "$GNUPGHOME"
if [[ -n ${RELEASE_SIGNING_KEY_FILE:-} ]]; then
  gpg --batch --quiet --import "$RELEASE_SIGNING_KEY_FILE" 2>/dev/null
elif [[ -n ${RELEASE_SIGNING_KEY:-} ]]; then
  printf '%s\n' "$RELEASE_SIGNING_KEY" | gpg --batch --quiet --import 2>/dev/null
else
  echo "release: RELEASE_SIGNING_KEY_FILE (or RELEASE_SIGNING_KEY) is needed: the GPG key that signs"; exit 1
fi
fpr=$(gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr:/ {print $10; exit}')
[[ -n $fpr ]] || { echo "release: the signing key holds no secret key"; exit 1; }
pass=(); gpgpass=()
if [[ -n ${RELEASE_SIGNING_PASSPHRASE_FILE:-} ]]; then
  pass=(--sign-passphrase-file "$RELEASE_SIGNING_PASSPHRASE_FILE")
  gpgpass=(--pinentry-mode loopback --passphrase-file "$RELEASE_SIGNING_PASSPHRASE_FILE")
fi
gpg --batch --armor --export "$fpr" > "$out/signing-key.asc"
echo "signing key $fpr (public key: $out/signing-key.asc)"

# -- 2. the image ----------------------------------------------------------------------------
make --no-print-directory image IMAGE="$image_repo:$VERSION" APP_VERSION="$VERSION"

# -- 3. push it, signed (simple signing; the signature goes to a lookaside directory first) ---
mkdir -p "$work/registries.d" "$out/sigstore"
printf 'docker:\n  %s:\n    lookaside-staging: file://%s\n' "$host" "$out/sigstore" \
  > "$work/registries.d/release.yaml"
storage=containers-storage:$image_repo:$VERSION
[[ $ENGINE == docker ]] && storage=docker-daemon:$image_repo:$VERSION
skopeo copy --quiet "${tls[@]}" "${creds[@]}" --registries.d "$work/registries.d" \
  --sign-by "$fpr" "${pass[@]}" --digestfile "$work/digest" "$storage" "docker://$image_repo:$VERSION"
digest=$(cat "$work/digest")
image_ref=$image_repo@$digest
signature=$(find "$out/sigstore" -name 'signature-1' | head -1)
[[ -s $signature ]] || { echo "release: skopeo wrote no signature"; exit 1; }
cp "$signature" "$out/image.sig"
rm -rf "$out/sigstore"
"$PY" release/oci.py attach "$image_ref" sig "$out/image.sig" \
  --artifact-type application/vnd.containers.simple-signing.v1 \
  --media-type application/vnd.containers.simple-signing.v1+gpg > "$work/sig-ref"
echo "image: $image_ref (signature: $(cat "$work/sig-ref"))"

# -- 4. SBOM: the image's Python and Debian packages, attached to the image ----------------
"$PY" release/sbom.py --engine "$ENGINE" "$image_repo:$VERSION" "$digest" "$VERSION" "$out/sbom.cdx.json"
"$PY" release/oci.py attach "$image_ref" sbom "$out/sbom.cdx.json" \
  --artifact-type application/vnd.cyclonedx+json --media-type application/vnd.cyclonedx+json \
  > "$work/sbom-ref"

# -- 5. the chart: appVersion and the image pinned by digest ---------------------------------
cp -r charts/wazen-ai "$work/wazen-ai"
"$PY" release/pin_chart.py "$work/wazen-ai" "$VERSION" "$image_repo" "$digest"
helm package "$work/wazen-ai" -d "$out" >/dev/null
chart=$out/wazen-ai-$VERSION.tgz
helm push "$chart" "oci://$chart_repo" "${plain[@]}" 2>&1 | tee "$work/helm-push"
chart_digest=$(sed -n 's/^Digest: *//p' "$work/helm-push")

# -- 6. notes, detached signatures, checksums --------------------------------------------------
{
  cat "$work/notes.md"
  printf '\n## Install\n\n```sh\nhelm install wazen oci://%s/wazen-ai --version %s\n```\n\n' "$chart_repo" "$VERSION"
  printf '| artifact | reference |\n|---|---|\n'
  printf '| image | `%s` |\n| chart | `oci://%s/wazen-ai:%s` (`%s`) |\n' "$image_ref" "$chart_repo" "$VERSION" "$chart_digest"
  printf '| SBOM (CycloneDX) | `%s` |\n| image signature | `%s` |\n' "$(cat "$work/sbom-ref")" "$(cat "$work/sig-ref")"
  printf '| signing key | `signing-key.asc`, fingerprint `%s` |\n' "$fpr"
  printf '\nVerify: `release/verify.sh %s signing-key.asc` (docs/releasing.md).\n' "$image_ref"
} > "$out/RELEASE_NOTES.md"
"$PY" - "$out/release.json" <<PYEOF
import json, sys
json.dump({"version": "$VERSION", "image": "$image_ref", "image_tag": "$image_repo:$VERSION",
           "chart": "oci://$chart_repo/wazen-ai", "chart_digest": "$chart_digest",
           "sbom": "$(cat "$work/sbom-ref")", "signature": "$(cat "$work/sig-ref")",
           "signing_key_fingerprint": "$fpr"}, open(sys.argv[1], "w"), indent=2)
PYEOF
for f in "$chart" "$out/sbom.cdx.json" "$out/RELEASE_NOTES.md" "$out/release.json"; do
  gpg --batch --quiet "${gpgpass[@]}" --local-user "$fpr" --armor --detach-sign --output "$f.asc" "$f"
done
(cd "$out" && sha256sum -- *.tgz *.json *.md *.sig signing-key.asc > SHA256SUMS)
gpg --batch --quiet "${gpgpass[@]}" --local-user "$fpr" --armor --detach-sign --output "$out/SHA256SUMS.asc" "$out/SHA256SUMS"
echo "release $VERSION: $out/ ($(ls "$out" | wc -l) files)"
