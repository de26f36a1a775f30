# The shipspec image, run in three places: the Argo CD plugin sidecar of argocd-repo-server
# (cmp/), the job container of the generated GitHub Actions workflows (plan, deploy), and the
# Tekton steps that run `shipspec tag` and `shipspec bump`. Argo CD starts the sidecar with
# its own /var/run/argocd/argocd-cmp-server as command, so this image sets no entrypoint.
#
# Debian 13 and its own python3 (3.13): Debian 12's security team support ended in June 2026
# (its LTS covers a part of the archive only). The local build (image/build-local.sh) puts a
# base that mmdebstrap makes from the same Debian release in this FROM's place, so the tests
# run the distribution and the Python that ship. Platform: linux/amd64 only (see
# `download`). The digest is the official multi-platform index of debian:trixie-slim (13.6)
# as of 2026-08-24: refresh it when you publish (docs/operations/image.md).
FROM docker.io/library/debian:trixie-slim@sha256:d7e12182ce18b85b93007c1dedf31f2d29e01ccf3182cc4017c709b6259bc132 AS base

# helm 3 and helmfile for the target helmfile (helmfile 0.166 refuses helm 4). Each binary is
# checked against the SHA-256 the tests run (tests/tools/unpack_binaries.py), so the sidecar
# renders with exactly the binaries the tests use. Another platform has no checksums here:
# its build stops before anything is downloaded, rather than ship binaries nobody checked.
FROM base AS download
ARG TARGETARCH=amd64
ARG HELM_VERSION=3.18.0
ARG HELMFILE_VERSION=0.166.0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN case "${TARGETARCH}" in \
      amd64) printf '%s  %s\n' \
               419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428 /out/helm \
               82e25b7c902571fb3198a6d6a5df7c5ec6104c59f0c0cc2a14f7c5b83fd493cf /out/helmfile ;; \
      *) echo "no checked helm/helmfile for linux/${TARGETARCH}: the image supports linux/amd64" >&2 \
         && exit 1 ;; \
    esac > /tmp/sha256sums
ADD https://get.helm.sh/helm-v${HELM_VERSION}-linux-${TARGETARCH}.tar.gz /tmp/helm.tar.gz
ADD https://github.com/helmfile/helmfile/releases/download/v${HELMFILE_VERSION}/helmfile_${HELMFILE_VERSION}_linux_${TARGETARCH}.tar.gz /tmp/helmfile.tar.gz
RUN mkdir /out \
 && tar -xzf /tmp/helm.tar.gz -C /tmp "linux-${TARGETARCH}/helm" \
 && tar -xzf /tmp/helmfile.tar.gz -C /out helmfile \
 && mv "/tmp/linux-${TARGETARCH}/helm" /out/helm \
 && sha256sum -c /tmp/sha256sums

# The two binaries alone; the local build supplies this stage as a directory.
FROM scratch AS tools
COPY --from=download /out/ /

# shipspec and its locked dependencies in a venv, every package checked by its SHA-256.
FROM base AS build
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements/runtime.txt requirements/build.txt requirements/
# A CA bundle for pip when the build's network needs its own (the local build mounts the
# host's at this path); a build argument, never a file of the image.
ARG PIP_CERT
RUN python3 -m venv /opt/shipspec \
 && /opt/shipspec/bin/pip install --no-cache-dir --disable-pip-version-check ${PIP_CERT:+--cert "$PIP_CERT"} \
      --require-hashes -r requirements/runtime.txt -r requirements/build.txt
COPY pyproject.toml README.md ./
COPY src ./src
# The build backend and pip itself are not needed at run time. Every module of the venv is
# compiled, so `generate` starts without compiling anything, into bytecode that names no
# time: pip's records each source's mtime, which the image's layers keep only to the second,
# rounded, and Python then found about half of it stale on every run. Nothing changes these
# files once built, so Python is told not to check them (unchecked-hash).
RUN /opt/shipspec/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps \
      --no-build-isolation . \
 && /opt/shipspec/bin/pip uninstall --yes --disable-pip-version-check setuptools pip \
 && /opt/shipspec/bin/python -m compileall -q -f --invalidation-mode unchecked-hash \
      /opt/shipspec/lib

FROM base
# git: `shipspec bump`, and actions/checkout in a job container; ca-certificates: HTTPS
# remotes; openssh-client: SSH remotes, and ssh-keygen for SSH-signed commits
# (deploy.signing; OpenPGP signing needs gpg, which the image leaves out). No version pins (hadolint's DL3008): Debian's archive keeps only the newest of
# each, so a pin breaks the build the day a security update replaces it.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 git ca-certificates openssh-client \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
COPY --from=tools --chmod=0755 helm helmfile /usr/local/bin/
COPY --from=build /opt/shipspec /opt/shipspec
# Argo CD runs plugin sidecars as uid 999; HOME must be writable (git writes there). Readable
# by any user, as Debian 12 made it (13's useradd makes it 0700): helm, run as a user of
# another uid, stops at a config file it may not even look for.
RUN groupadd --gid 999 argocd \
 && useradd --uid 999 --gid 999 --home-dir /home/argocd --create-home --shell /usr/sbin/nologin \
      --key HOME_MODE=0755 argocd
COPY --chown=999:999 plugin.yaml /home/argocd/cmp-server/config/plugin.yaml
# helmfile's update notice would reach the network on every render.
ENV PATH=/opt/shipspec/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/home/argocd \
    HELMFILE_UPGRADE_NOTICE_DISABLED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# Non-root by default, for the sidecar and the Tekton steps; the generated workflows choose
# the job container's user themselves (render/github_actions.py).
USER 999:999
WORKDIR /home/argocd
CMD ["shipspec", "--help"]
