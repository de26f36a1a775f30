# The shipspec image: the Argo CD plugin sidecar of argocd-repo-server, and the image that
# Tekton runs `shipspec tag` and `shipspec bump` in. Argo CD starts the sidecar with its own
# /var/run/argocd/argocd-cmp-server as command, so this image sets no entrypoint.
FROM python:3.12.14-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254 AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# Wheels only, no cache; the runtime stage installs them without a compiler or network.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12.14-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254
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
ENV HOME=/home/argocd \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 999:999
WORKDIR /home/argocd
CMD ["shipspec", "--help"]
