#!/usr/bin/env bash
# Verify a released image offline against the release's public key, the way a cluster's
# admission (or `podman pull` with this policy) does: containers "simple signing", policy.json
# `signedBy` with the key, the signature fetched from the registry (the `sha256-….sig` artifact)
# into a lookaside directory.
#
#   release/verify.sh REGISTRY/wazen-ai@sha256:… signing-key.asc [POLICY_OUT_DIR]
#
# Exit 0: the manifest at that reference is signed by the key. Anything else fails. A tag works
# too (it is resolved to its digest first). Needs skopeo and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:?image reference}; key=$(realpath "${2:?public key file}")
command -v skopeo >/dev/null || { echo "verify: skopeo is needed (apt-get install skopeo)"; exit 1; }
host=${ref%%/*}
tls=(--src-tls-verify=true)
if [[ ${REGISTRY_INSECURE:-} == 1 || $host =~ ^(127\.0\.0\.1|localhost)(:[0-9]+)?$ ]]; then
  tls=(--src-tls-verify=false); export REGISTRY_INSECURE=1
fi
dir=${3:-$(mktemp -d)}; mkdir -p "$dir"
if [[ $ref != *@sha256:* ]]; then
  digest=$(skopeo inspect "${tls[@]/src-/}" --format '{{.Digest}}' "docker://$ref")
  ref=${ref%:*}@$digest
fi
repo=${ref%@*}; digest=${ref#*@}
# Lookaside layout of containers/image: <repo>@<algo>=<hex>/signature-<n>.
sigdir=$dir/sigstore/${repo#*/}@${digest/:/=}
mkdir -p "$sigdir"
python3 release/oci.py fetch "$ref" sig "$sigdir/signature-1" >/dev/null \
  || { echo "verify: no signature attached to $ref"; rm -f "$sigdir/signature-1"; }
mkdir -p "$dir/registries.d"
printf 'docker:\n  %s:\n    lookaside: file://%s/sigstore\n' "$host" "$dir" > "$dir/registries.d/verify.yaml"
cat > "$dir/policy.json" <<JSON
{"default": [{"type": "reject"}],
 "transports": {"docker": {"${repo}": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "$key"}]},
                "dir": {"": [{"type": "insecureAcceptAnything"}]}}}
JSON
skopeo copy --quiet "${tls[@]}" --policy "$dir/policy.json" --registries.d "$dir/registries.d" \
  "docker://$ref" "dir:$dir/image"
rm -rf "$dir/image"
echo "verified: $ref is signed by $(gpg --with-colons --show-keys "$key" 2>/dev/null | awk -F: '/^fpr:/ {print $10; exit}')"
