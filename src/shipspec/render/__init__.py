"""The renderers: one module per target, each exposing `render(spec, options) -> list[Rendered]`
and `missing_settings(spec)`, what the spec must still say before that target renders.

A renderer is pure: a resolved Spec in, plain dicts out; no files, clock or environment.
The registry maps target names to modules, imported only when their target is asked for.
"""

import importlib
from typing import Any, NamedTuple, Protocol

from shipspec.errors import Problem, SpecError
from shipspec.spec import Spec

FieldPath = tuple[str, ...]
Gap = tuple[FieldPath, str, str]  # (field, message, hint): a setting the target needs
# Settings only the rendered CI uses, so `validate` lists them as still to do and every
# other verb (a local bump) works without them; `generate` refuses them like any other gap.
# A team builds its shipspec image from this repository after writing its first spec; the
# deploy Secret's name matters only to the Tekton Task that reads it.
SHIPSPEC_IMAGE: FieldPath = ("ci", "images", "shipspec")
DEPLOY_CREDENTIALS: FieldPath = ("deploy", "credentialsSecret")
# An SSH deployment URL serves a local `bump` (the user's ssh-agent) but not the CI.
DEPLOY_URL: FieldPath = ("deploy", "url")
# The workflows' registry login; a local bump never pushes an image.
REGISTRY_TOKEN: FieldPath = ("registry", "tokenSecret")
# What the engine cannot run (GitHub's matrix of 256 jobs), said of ci.engine: bump, plan
# and values work on such a spec all the same.
CI_ENGINE: FieldPath = ("ci", "engine")
RENDER_ONLY = frozenset({SHIPSPEC_IMAGE, DEPLOY_CREDENTIALS, DEPLOY_URL, REGISTRY_TOKEN,
                         CI_ENGINE})

# A shell function for the scripts the CI runs: `fetch`, a git fetch that failed asked again,
# 2 and then 6 s later. One 502 from a forge's load balancer or a dropped connection failed
# the run, and a fetch leaves nothing on the server (`shipspec bump` asks again too,
# bump/git.py; actions/checkout retries its fetches alike). A refusal is not asked again,
# as bump does not ask one: a 4xx, failed authentication (or a 401 that git would have
# asked a person about: "could not read Username"), an untrusted certificate, a
# repository, branch or commit the server does not have; asking gets the same answer (the
# same error three times, 8 s later). git's words for them: http.c, remote-curl.c,
# upload-pack.c ("not our ref"), fetch ("couldn't find remote ref"), and curl's with GnuTLS
# ("certificate").
SHELL_FETCH = """\
fetch() {
  for fetch_pause in 2 6 ''; do
    if fetch_errors=$(git fetch "$@" 2>&1); then return 0; fi
    printf '%s\\n' "$fetch_errors" >&2
    case "$fetch_errors" in
      *'returned error: 4'* | *'Authentication failed'* | *'could not read Username'* | \\
        *certificate* | *'Permission denied'* | *'not found'* | *'not our ref'* | \\
        *"couldn't find remote ref"*) return 1 ;;
    esac
    [ -n "$fetch_pause" ] || return 1
    echo "git fetch: asking again in $fetch_pause s" >&2
    sleep "$fetch_pause"
  done
}
"""

# A transfer that stalls (a proxy, a NAT or a load balancer that keeps the connection open
# and passes nothing on) hung git for ever: a deploy's bump, and the CI's fetches until the
# run's timeout (Tekton's 60 minutes by default, GitHub's six hours for a job). git gives up
# an HTTP transfer under a byte a second for STALLED_AFTER seconds, and it counts as cut off
# (bump/git.py and SHELL_FETCH ask again). A live server sends a keep-alive every 5 s while
# it works (git's uploadpack.keepAlive and receive.keepAlive). The CI sets it in the
# environment of the steps that fetch, so every git there takes it, actions/checkout's too
# (which passes the job's environment on: v7, src/git-command-manager.ts); git reads these
# two over its http.lowSpeedLimit and lowSpeedTime settings (git-config(1)). SSH remotes
# keep ssh's own settings (ServerAliveInterval).
STALLED_AFTER = 120
GIT_STALL_LIMITS = {"GIT_HTTP_LOW_SPEED_LIMIT": "1",
                    "GIT_HTTP_LOW_SPEED_TIME": str(STALLED_AFTER)}

# target name → module path (the CLI's --target choices are these names).
RENDERERS: dict[str, str] = {"tekton": "shipspec.render.tekton",
                             "github-actions": "shipspec.render.github_actions",
                             "values": "shipspec.render.values",
                             "applications": "shipspec.render.applications"}


class RenderOptions(NamedTuple):
    environment: str | None = None  # None: every environment
    modules: tuple[str, ...] = ()  # empty: every enabled module
    namespace: str | None = None  # overrides the spec's (Argo CD's application namespace)
    labels: tuple[tuple[str, str], ...] = ()  # added to every object (Argo CD parameter)


class Rendered(NamedTuple):
    """One output document and the file it belongs in under `generate --output-dir`."""

    path: str  # relative, such as pipeline-astrago.yaml or .github/workflows/backend.yaml
    document: dict[str, Any]


class Renderer(Protocol):
    def render(self, spec: Spec, options: RenderOptions) -> list[Rendered]: ...

    def missing_settings(self, spec: Spec) -> list[Gap]: ...


def shipspec_image_gap(what: str) -> Gap:
    return (SHIPSPEC_IMAGE, f"{what} in the shipspec image: set ci.images.shipspec",
            "build this repository's Dockerfile, push it, and pin it as "
            "name:tag@sha256:<digest>")


def ssh_deploy_gap(spec: Spec, token: str) -> list[Gap]:
    """An SSH deploy.url, which the rendered deploy step would fail to push to at every
    run: it has `token`, for HTTPS, and no SSH key."""
    url = spec.deploy.url or ""
    if not url.startswith(("ssh://", "git@")) or not any(
            module.deployments for module in spec.enabled_modules):
        return []
    return [(DEPLOY_URL, f"'{url}' is an SSH URL, and the CI's deploy step pushes with "
             f"{token} over HTTPS: it has no SSH key",
             "give the deployment repository's https:// clone URL, such as "
             "https://github.com/<owner>/<name>.git")]


def gap_problems(spec: Spec, gaps: list[Gap]) -> list[Problem]:
    """The gaps as problems where the file should say more: a module's at its name."""
    return [spec.problem(path, message, hint, key=path[:1] == ("modules",))
            for path, message, hint in gaps]


def refuse_gaps(spec: Spec, gaps: list[Gap]) -> None:
    """A target renders only once every setting it needs is there."""
    if gaps:
        raise SpecError(gap_problems(spec, gaps))


def renderer(target: str) -> Renderer:
    module: Renderer = importlib.import_module(RENDERERS[target])
    return module


def select_options(spec: Spec, environment: str | None, modules: list[str]) -> RenderOptions:
    """Options for the environment and modules asked for, checked against the spec;
    disabled modules cannot be asked for."""
    if environment is not None and environment not in spec.environment_names:
        raise SpecError.single(
            f"no environment named '{environment}' in {spec.file}",
            hint="environments: " + (", ".join(spec.environment_names) or "none"),
        )
    known = {module.name: module for module in spec.modules}
    unknown = [name for name in dict.fromkeys(modules) if name not in known]
    if unknown:
        raise SpecError.single(
            f"no module named {', '.join(repr(name) for name in unknown)} in {spec.file}",
            hint="modules: " + ", ".join(known))
    for name in modules:
        if not known[name].enabled:
            raise SpecError.single(f"module '{name}' is disabled (enabled: false)",
                                   hint="enable it in the spec first")
    return RenderOptions(environment=environment, modules=tuple(dict.fromkeys(modules)))
