# The shipspec image: the Argo CD plugin sidecar of argocd-repo-server, and the image that
# Tekton runs `shipspec tag` and `shipspec bump` in. Argo CD starts the sidecar with its own
# /var/run/argocd/argocd-cmp-server as command, so this image sets no entrypoint.
FROM python:3.12.14-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254 AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# Wheels only, no cache; the runtime stage installs them without a compiler or network.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# helm 3 and helmfile for the target helmfile (helmfile 0.166 refuses helm 4). Each binary
# is checked against the SHA-256 the tests run (tests/tools/unpack_binaries.py), so the
# sidecar renders with exactly the binaries the tests use; a mismatch fails the build.
FROM python:3.12.14-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254 AS tools
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG HELM_VERSION=3.17.2
ARG HELM_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e
ARG HELMFILE_VERSION=0.166.0
ARG HELMFILE_SHA256=82e25b7c902571fb3198a6d6a5df7c5ec6104c59f0c0cc2a14f7c5b83fd493cf
ADD https://get.helm.sh/helm-v${HELM_VERSION}-linux-amd64.tar.gz /tmp/helm.tar.gz
ADD https://github.com/helmfile/helmfile/releases/download/v${HELMFILE_VERSION}/helmfile_${HELMFILE_VERSION}_linux_amd64.tar.gz /tmp/helmfile.tar.gz
RUN tar -xzf /tmp/helm.tar.gz -C /tmp linux-amd64/helm \
 && tar -xzf /tmp/helmfile.tar.gz -C /tmp helmfile \
 && echo "${HELM_SHA256}  /tmp/linux-amd64/helm" | sha256sum -c - \
 && echo "${HELMFILE_SHA256}  /tmp/helmfile" | sha256sum -c - \
 && install -m 0755 /tmp/linux-amd64/helm /tmp/helmfile /usr/local/bin/

FROM python:3.12.14-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254
COPY --from=tools /usr/local/bin/helm /usr/local/bin/helmfile /usr/local/bin/
# git for `shipspec bump` (GitPython drives the git binary); versions pinned for bookworm.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git=1:2.39.5-0+deb12u3 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
# pip compiles bytecode while installing: `generate` starts without compiling anything.
RUN pip install --no-cache-dir --no-index --find-links=/wheels shipspec==0.1.0 \
 && rm -rf /wheels \
 && python -m compileall -q /usr/local/lib/python3.12/site-packages/shipspec
# Argo CD runs plugin sidecars as uid 999; HOME must be writable (git and pip write there).
RUN groupadd --gid 999 argocd \
 && useradd --uid 999 --gid 999 --home-dir /home/argocd --create-home --shell /usr/sbin/nologin argocd
COPY --chown=999:999 plugin.yaml /home/argocd/cmp-server/config/plugin.yaml
# helmfile's update notice would reach the network on every render.
ENV HOME=/home/argocd \
    HELMFILE_UPGRADE_NOTICE_DISABLED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 999:999
WORKDIR /home/argocd
CMD ["shipspec", "--help"]
