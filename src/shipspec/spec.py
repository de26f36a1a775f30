"""The typed, resolved spec: every default filled in and every name computed, once.

`specfile/resolve.py` builds it from a checked document; renderers, `tag` and `bump` only
read it, so none of them ever computes a fallback of its own.

Records are NamedTuples rather than dataclasses: `shipspec generate` runs on every Argo CD
refresh, and frozen dataclasses cost about a millisecond each to define at import. For the
same reason this module's annotations are evaluated (no `from __future__ import
annotations`), as in every module that defines records: typing compiles every field
annotation that is a string, and the first compile of a process alone costs 7.8 M
instructions (it builds the AST module's types).
"""

import posixpath
from collections.abc import Callable
from typing import Literal, NamedTuple

from shipspec.errors import Location, Problem, SpecError

Builder = Literal["kaniko", "buildah"]
BuildTool = Literal["none", "gradle", "maven", "npm"]
Engine = Literal["tekton", "github-actions"]
Triggers = Literal["modules", "dispatch"]


class Template(NamedTuple):
    """A user-written string; rendered through the sandbox only when it contains '{{'."""

    text: str
    location: Location
    path: str  # the dotted field path it came from, for errors at render time


class HelmValuesTarget(NamedTuple):
    """A helm / helmfile values file: the tag (and image repository) at dotted keys."""

    file: str
    tag_key: str  # astrago.core.imageTag
    repository_key: str  # astrago.core.repository
    # Split layouts (values/image_keys.py): the registry in a key of its own; the keys of a
    # shared mapping that modules without their own registry / repository fall back to;
    # Bitnami's digest key. None where the layout has no such key.
    registry_key: str | None = None
    default_registry_key: str | None = None
    default_repository_key: str | None = None
    digest_key: str | None = None
    # One key holds the whole reference, <repository>:<tag>[@<digest>] (deploy.imageKey),
    # for charts that pull one string: tag_key and repository_key both name it.
    reference: bool = False


class KustomizeTarget(NamedTuple):
    """A kustomize overlay whose `images:` entry for the module's image gets the new tag."""

    directory: str
    image: str  # the image name the entry matches: the module's image repository
    deployment_name: str | None


class ManifestTarget(NamedTuple):
    """A plain manifest: the image of a named container in a named workload."""

    file: str
    kind: Literal["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Rollout"]
    name: str
    container: str


Target = HelmValuesTarget | KustomizeTarget | ManifestTarget

# The names kustomize reads a directory's kustomization from (one of them may exist).
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def target_paths(target: Target) -> list[str]:
    """Where a target's file may be, relative to the deployment repository's root (the first
    that exists is the one bump writes)."""
    if isinstance(target, KustomizeTarget):
        return [posixpath.join(target.directory, name) for name in KUSTOMIZATION_FILES]
    return [target.file]


class Delivery(NamedTuple):
    """How a bump's commit reaches an environment's deployment branch: pushed to it, or
    proposed as a pull request (bump/pull_request.py), which the forge may merge itself
    once its checks pass (`auto_merge`: the merge method)."""

    method: Literal["push", "pull-request"] = "push"
    auto_merge: Literal["merge", "squash", "rebase"] | None = None


class Deployment(NamedTuple):
    """Where a module's image goes in one environment, and which pushes send it there."""

    environment: str
    trigger_branch: str  # a push to this branch of the module's repo builds and deploys
    tag: Template
    deploy_branch: str
    targets: tuple[Target, ...]
    delivery: Delivery = Delivery()


class Claims(NamedTuple):
    """The module's PersistentVolumeClaims: its own, because they are ReadWriteOnce."""

    workspace: str
    cache: str


# Tekton: a build's compute resources as (field, quantity) pairs, requests first:
# (("requests.memory", "2Gi"), ("limits.memory", "4Gi")).
ComputeResources = tuple[tuple[str, str], ...]


class Module(NamedTuple):
    name: str
    enabled: bool
    repo: str
    paths: tuple[str, ...]  # empty: every change in the repo builds the module
    context: str
    dockerfile: str
    image: str  # full image repository, such as ghcr.io/xiilab/astrago-backend
    build: BuildTool
    build_task: str  # what the pre-build builds (prebuild.py); "" when build is none
    claims: Claims
    resource_prefix: str  # <project>-<module>: the start of every per-module object name
    repo_slug: str  # owner/name on GitHub (the webhook's repository.full_name), else the URL
    github_api: str  # the REST API of the GitHub hosting the repository; "" for none
    deployments: tuple[Deployment, ...]
    # Where the repository is the deployment repository too: the files bumps write in it
    # that would build the module (all of them without paths, else those below its paths).
    # A push that changes these alone builds nothing: a deploy's own commit would start the
    # next build, and that one the next, without end.
    deployment_files: frozenset[str] = frozenset()
    resources: ComputeResources = ()  # ci.resources with the module's own over them

    @property
    def on_github(self) -> bool:
        """Whether the module's repository is on GitHub, github.com or the source's
        Enterprise Server (its slug is owner/name)."""
        return self.repo_slug != self.repo

    def builds_from(self, repository: str) -> bool:
        """Whether the module's repository is `repository` (owner/name). GitHub names
        repositories without regard to case ($GITHUB_REPOSITORY and webhooks spell it as
        GitHub does, the spec as its author typed it)."""
        return self.repo_slug.lower() == repository.lower()

    def deployment(self, environment: str | None) -> Deployment:
        """The deployment to `environment`; None picks the only one there is."""
        names = [d.environment for d in self.deployments]
        if environment is None and len(names) == 1:
            return self.deployments[0]
        for deployment in self.deployments:
            if deployment.environment == environment:
                return deployment
        raise SpecError.single(
            f"module '{self.name}' is deployed to {', '.join(names) or 'no environment'}"
            + ("; choose one with --env" if environment is None else f", not to '{environment}'")
        )


class Release(NamedTuple):
    """A helmfile release Argo CD renders as one Application."""

    name: str
    namespace: str  # the release's namespace: the Application's destination namespace
    modules: tuple[str, ...]  # whose images the render must pull (the image check)


class App(NamedTuple):
    """Where Argo CD renders an environment's applications from: a helmfile in the
    deployment repository (targets helmfile and applications)."""

    helmfile: str  # relative to the deployment repository's root
    helmfile_environment: str  # helmfile's -e
    releases: tuple[Release, ...]
    project: str  # Argo CD AppProject of the Applications
    destination: tuple[str, str]  # ("server", URL) or ("name", cluster name)
    sync_options: tuple[str, ...]
    automated: bool  # sync automatically, pruning and self-healing

    def release(self, name: str | None, environment: str) -> Release:
        """The release called `name`; None picks the only one there is."""
        names = [release.name for release in self.releases]
        for release in self.releases:
            if release.name == name or (name is None and len(names) == 1):
                return release
        raise SpecError.single(
            f"environment '{environment}' renders the releases {', '.join(names)}"
            + ("; choose one with --release (the plugin parameter release)" if name is None
               else f", not '{name}'"),
            hint=f"releases are listed in environments.{environment}.app.releases")


class Environment(NamedTuple):
    name: str
    branch: str
    tag: Template
    values_file: str | None
    deploy_branch: str
    app: App | None = None  # None: Argo CD does not render this environment's applications
    delivery: Delivery = Delivery()


GITHUB_COM_API = "https://api.github.com"


class Source(NamedTuple):
    url: str | None
    provider: Literal["github", "github-enterprise"]
    # GitHub's REST API by the host of the repositories it serves: github.com's, and with
    # provider github-enterprise the Server's that hosts source.url
    github_apis: dict[str, str]
    webhook_secret: str | None
    webhook_secret_key: str
    status_secret: str | None
    credentials_secret: str | None  # Tekton: git credentials for a private repository
    fork_pull_requests: bool  # Tekton: pull requests from forks build too


# The GitHub Actions job's own token: it may push to ghcr.io, and to no other registry.
DEFAULT_REGISTRY_TOKEN = "GITHUB_TOKEN"  # noqa: S105 - the name of a secret, not one


class Registry(NamedTuple):
    url: str
    push_secret: str | None
    token_secret: str  # GitHub Actions secret that may push images
    username: str | None  # GitHub Actions: who logs in with it (None: the GitHub actor)


# Who bump commits are by when deploy.authorName / authorEmail are not given.
DEFAULT_AUTHOR = ("shipspec-bot", "shipspec-bot@localhost")


class Signing(NamedTuple):
    """How bump commits are signed: an SSH or OpenPGP private key, from a file or a
    variable (exactly one of the two)."""

    format: str  # ssh | openpgp
    key_file: str | None
    key_env: str | None


class Forge(NamedTuple):
    """The forge that hosts the deployment repository, whose API opens pull requests."""

    kind: Literal["github"]
    api: str  # the REST API's base URL: https://api.github.com
    repository: str  # owner/name


class Deploy(NamedTuple):
    url: str | None
    branch: str
    credentials_secret: str | None
    token_env: str
    commit_message: Template
    commit_line: Template  # one line per changed module in the message; "" for none
    author_name: str
    author_email: str
    tag_key: str  # key of the tag beside a module's values key: imageTag
    repository_key: str  # key of the image repository beside it: repository
    registry_key: str | None  # key of the registry beside it, in split layouts
    digest_key: str | None  # key of the digest beside it (Bitnami's image map)
    image_defaults: str | None  # dotted key of the mapping modules fall back to
    signing: Signing | None = None  # sign bump commits (deploy.signing)
    forge: Forge | None = None  # None: pull requests are branches pushed for a person to open
    pin_digest: bool = False  # the CI bumps each image with the digest its build pushed
    image_key: str | None = None  # key of the whole image reference, in place of the above


HOSTED_RUNNER = ("ubuntu-latest",)  # GitHub's hosted runners, unless ci.runsOn says


class CABundle(NamedTuple):
    """Tekton: the certificate authorities the runs trust, a ConfigMap's key (ci.caBundle)."""
    config_map: str
    key: str


class CI(NamedTuple):
    engine: Engine
    builder: Builder
    triggers: Triggers  # Tekton: a module's own Triggers choose its runs, or a dispatch run
    build: BuildTool
    storage_class: str | None
    workspace_size: str
    cache_size: str
    keep_runs: int
    images: dict[str, str]  # defaults (images.py) merged with ci.images
    notify_secret: str | None
    build_task: str | None  # the default of every module's buildTask, else the tool's own
    java: str  # JDK of the GitHub Actions pre-build (gradle, maven)
    node: str  # Node.js of the GitHub Actions pre-build (npm)
    timeout_minutes: int | None = None  # a build's time; None: the CI's own default
    pull_secret: str | None = None  # Tekton: the Secret the runs' pods pull images with
    runs_on: tuple[str, ...] = HOSTED_RUNNER  # GitHub Actions: the runners' labels
    ca_bundle: CABundle | None = None  # Tekton: the CAs the runs trust instead of their images'
    resources: ComputeResources = ()  # Tekton: every build's, unless a module says


class Spec(NamedTuple):
    file: str  # as errors name it
    root: str  # the repository root every local path must stay inside
    directory: str  # the spec's directory below root, "/"-separated: "." at the root
    text: str  # the spec as written: CI runs `shipspec tag` and `bump` against this same text
    project: str
    namespace: str | None
    source: Source
    registry: Registry
    deploy: Deploy
    ci: CI
    environments: tuple[Environment, ...]
    modules: tuple[Module, ...]  # in file order, disabled ones included
    allow_empty: bool  # an empty render is a success (Argo CD then prunes everything)
    # Where a field path is written in the file, or the nearest field above it that is
    # (specfile/loading.py, Document.locate; `key=True`: its key): for what is found wrong
    # after loading, a setting that only one target needs. Not a Protocol: defining one
    # costs every `generate` 0.4 M instructions.
    locate: Callable[..., Location]

    @property
    def enabled_modules(self) -> tuple[Module, ...]:
        return tuple(m for m in self.modules if m.enabled)

    def problem(self, path: tuple[str, ...], message: str, hint: str = "", *,
                key: bool = False) -> Problem:
        """A problem with the field at `path`, where the file writes it (its key, with
        `key`)."""
        return Problem(self.locate(path, key=key), ".".join(path), message, hint)

    def module(self, name: str) -> Module:
        for module in self.modules:
            if module.name == name:
                return module
        raise SpecError.single(f"no module named '{name}' in {self.file}",
                               hint="modules: " + ", ".join(m.name for m in self.modules))

    def environment(self, name: str) -> Environment:
        for environment in self.environments:
            if environment.name == name:
                return environment
        raise SpecError.single(f"no environment named '{name}' in {self.file}",
                               hint="environments: " + (", ".join(self.environment_names)
                                                        or "none"))

    @property
    def environment_names(self) -> tuple[str, ...]:
        """Every environment some module deploys to, declared or implied by seed A entries."""
        names = dict.fromkeys(d.environment for m in self.modules for d in m.deployments)
        return tuple(names)
