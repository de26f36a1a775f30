"""From shipspec.yaml to a resolved `Spec`: find, load, check, fill defaults, cross-check.

Every default and every derived name is decided here and nowhere else. Problems are
collected, not raised one by one, so a user fixes a whole file in one round.

Seed A's module entry (`gitBranch`, `moduleName`, `kustomize`, `dockerfileName`, `pvc`) is
read as a synonym of the native fields: `moduleName` is the image, `dockerfileName` the
Dockerfile, and `kustomize` a deployment to the environment named by `kustomize.branch`
(seed A's deployment-repository branch, e.g. `dev`), triggered by pushes to `gitBranch`.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from typing import Any

from shipspec import templates
from shipspec.errors import Location, Problem, SpecError, shown
from shipspec.images import DEFAULT_IMAGES
from shipspec.paths import (
    SymlinkGuard,
    covers,
    inside,
    relative_path_problem,
    repository_root,
)
from shipspec.prebuild import DEFAULT_TASKS
from shipspec.spec import (
    CI,
    DEFAULT_AUTHOR,
    DEFAULT_REGISTRY_TOKEN,
    GITHUB_COM_API,
    HOSTED_RUNNER,
    App,
    BuildTool,
    CABundle,
    Claims,
    ComputeResources,
    Delivery,
    Deploy,
    Deployment,
    Environment,
    Forge,
    HelmValuesTarget,
    KustomizeTarget,
    ManifestTarget,
    Module,
    Registry,
    Release,
    Signing,
    Source,
    Spec,
    Target,
    Template,
    target_paths,
)
from shipspec.specfile import cross_checks
from shipspec.specfile.check import check
from shipspec.specfile.loading import DEFAULT_LIMITS, Document, FieldPath, Limits, dotted, load_file
from shipspec.specfile.schema import COMPUTE_RESOURCES, DNS_LABEL, SPEC_SCHEMA
from shipspec.tags import IMAGE_TAG, is_image_name

# Argo CD's name for the cluster it runs in
IN_CLUSTER = "https://kubernetes.default.svc"

SPEC_FILE_NAME = "shipspec.yaml"
# What one spec may ask of a render, checked before anything renders: at these sizes
# generate takes about 1 s and 120 MiB (BENCHMARKS.md); 40,000 modules ran out of 1 GiB.
MAX_MODULES = 2_000
MAX_DEPLOYMENTS = 4_000  # (module, environment) pairs: each makes Triggers
# The deployment files all push filters of a spec name, where the source repository is the
# deployment repository (Module.deployment_files): about 1.8 MB of CEL.
DEPLOYMENT_FILES_LISTED = 50_000

DEFAULT_TAG = "{{ module }}-{{ env }}-{{ sha8 }}"
DEFAULT_COMMIT_MESSAGE = "{{ action }}({{ env }}): {{ changes }}"
DEFAULT_COMMIT_LINE = "{{ module }}: {{ old }} -> {{ new }}"
SAMPLE_SHA = "0123456789abcdef0123456789abcdef01234567"  # the commit checks render tags for


def find_spec(path: str) -> str:
    """The spec file named by PATH: the file itself or `shipspec.yaml` in a directory."""
    candidate = os.path.join(path, SPEC_FILE_NAME) if os.path.isdir(path) else path
    if not os.path.isdir(path) and not os.path.exists(path):
        raise SpecError.single(f"{shown(path, 1000)} does not exist",
                               hint="name a shipspec.yaml, or the directory that holds one")
    if not os.path.isfile(candidate):
        where = "this directory" if path in (".", "") else f"'{path}'"
        hint = "run shipspec in the directory that holds shipspec.yaml, or name it"
        if os.path.isfile(os.path.join(path, "shipspec.yml")):
            # the Argo CD plugin names no file (plugin.yaml): naming it works only here
            hint = "rename shipspec.yml to shipspec.yaml, the name the Argo CD plugin reads"
        raise SpecError.single(f"no {SPEC_FILE_NAME} found in {where}", hint=hint)
    return candidate


def load_spec(path: str, limits: Limits = DEFAULT_LIMITS, root: str | None = None) -> Spec:
    """Find, load, check and resolve the spec named by PATH (a file or a directory); `root`
    is the repository's root when the caller knows it (Argo CD's checkout may lack .git)."""
    spec_file = find_spec(path)
    display = os.path.normpath(spec_file)
    root = root or repository_root(os.path.dirname(os.path.abspath(spec_file)))
    if not inside(root, spec_file):
        raise SpecError.single(
            "the spec is a link to a file outside its repository",
            location=Location(display, 1, 1),
            hint="keep shipspec.yaml a regular file inside the repository",
        )
    document = load_file(spec_file, display, limits)
    _refuse_oversized(document)
    problems = check(document, SPEC_SCHEMA)
    if problems:
        raise SpecError(problems)
    _refuse_credentials(document)
    directory = os.path.relpath(os.path.dirname(os.path.abspath(spec_file)), root)
    return _Resolver(document, root, directory.replace(os.sep, "/")).spec()


def _refuse_oversized(document: Document) -> None:
    """The caps on modules and on deployments (module and environment pairs), counted on the
    parsed document before any work per module or environment: a 4 MiB spec of 87,000
    environments took 5 s and 300 MiB to be refused after resolving."""
    data = document.data if isinstance(document.data, dict) else {}
    modules, environments = data.get("modules"), data.get("environments")
    if not isinstance(modules, dict):
        return  # the schema check says what is wrong
    hint = "split the spec, by team or by repository"
    if len(modules) > MAX_MODULES:
        raise SpecError.single(
            f"{len(modules):,} modules: one spec holds at most {MAX_MODULES:,}",
            location=document.locate(("modules",), key=True), path="modules", hint=hint)
    declared = len(environments) if isinstance(environments, dict) else 0
    deployments = 0
    for entry in modules.values():
        listed = entry.get("environments") if isinstance(entry, dict) else None
        # seed A's entry deploys to its overlay's branch; others to what they list or to all
        deployments += (1 if isinstance(entry, dict) and "kustomize" in entry else
                        len(listed) if isinstance(listed, list) else declared)
    if max(deployments, declared) > MAX_DEPLOYMENTS:
        raise SpecError.single(
            f"{len(modules):,} modules with {deployments:,} deployments (module and "
            f"environment pairs) in {declared:,} environments: one spec holds at most "
            f"{MAX_DEPLOYMENTS:,} of either", location=document.locate(("modules",), key=True),
            path="modules", hint=hint)
    ci = data.get("ci")
    if (ci.get("engine", "tekton") if isinstance(ci, dict) else "tekton") == "tekton":
        _refuse_what_tekton_cannot_take(document, modules)


def _refuse_what_tekton_cannot_take(document: Document, modules: dict[Any, Any]) -> None:
    """On Tekton, what no render could take, known from the parsed document: a spec larger
    than the ConfigMap that carries it to the runs, and a module of more paths than its push
    filter can ever hold (cel-go's limit). Both were refused only once every module had been
    resolved: a 4 MiB spec of 82,000 paths after 1.7 s, one of 2,000 modules of 60 paths
    each (1.9 MB) after 1.3 s."""
    from shipspec.render.tekton import spec_too_large
    from shipspec.render.tekton_triggers import (
        CEL_CODE_POINTS,
        MAX_FILTER_PATHS,
        PATH_CEL_MINIMUM,
    )

    too_large = spec_too_large(document.text)
    if too_large:
        message, hint = too_large
        raise SpecError.single(message, location=Location(document.file, 1, 1), hint=hint)
    for name, entry in modules.items():
        paths = entry.get("paths") if isinstance(entry, dict) else None
        if isinstance(paths, list) and len(paths) > MAX_FILTER_PATHS:
            raise SpecError.single(
                f"{len(paths):,} paths: the CEL filter of the module's Triggers holds at "
                f"most {MAX_FILTER_PATHS:,} (Tekton Triggers parses at most "
                f"{CEL_CODE_POINTS:,} characters, cel-go's limit, and each path adds at "
                f"least {PATH_CEL_MINIMUM})",
                location=document.locate(("modules", name, "paths"), key=True),
                path=dotted(("modules", name, "paths")),
                hint="name fewer paths (a directory covers every file below it)")


def url_credentials(url: str) -> str | None:
    """Why `url` holds what belongs in a secret, or None: a password or token in its user
    part (`https://user:token@host/...`), or any user part of an HTTP(S) URL, where GitHub
    takes a token as the user name alone. An SSH user (`git@`) is no secret."""
    scheme, separator, rest = url.partition("://")
    user = rest.partition("/")[0].rpartition("@")[0] if separator else ""
    if ":" in user:
        return "holds a password or token in its user part (user:token@)"
    if user and scheme in ("http", "https"):
        return "holds a user part (user@), where a token may stand"
    return None


def _refuse_credentials(document: Document) -> None:
    """A token in one of the spec's URLs would be copied into the CI objects (the spec's
    ConfigMap, the TriggerBindings), git's messages in the CI's logs and every error that
    quotes the URL: refused before anything else can quote it, and not quoted here."""
    data: dict[str, Any] = document.data
    urls: list[tuple[FieldPath, Any]] = [
        (("source", "url"), data.get("source", {}).get("url")),
        (("source", "api"), data.get("source", {}).get("api")),
        (("deploy", "url"), data.get("deploy", {}).get("url")),
        (("deploy", "forge", "api"), data.get("deploy", {}).get("forge", {}).get("api")),
        *((("modules", name, "repo"), entry.get("repo"))
          for name, entry in data["modules"].items()),
    ]
    problems = [
        Problem(document.locate(path), dotted(path), f"the URL {reason}: it would be copied "
                "into the CI objects, logs and error messages", "give the URL without it; "
                "the CI's token comes from a Secret or variable the spec names "
                "(source.credentialsSecret, deploy.credentialsSecret, deploy.tokenEnv)")
        for path, url in urls
        if isinstance(url, str) and (reason := url_credentials(url))]
    if problems:
        raise SpecError(problems)


class _Resolver:
    def __init__(self, document: Document, root: str, directory: str) -> None:
        self.document = document
        self.directory = directory
        self.data: dict[str, Any] = document.data
        self.root = root
        self.symlinks = SymlinkGuard(root)
        self.problems: list[Problem] = []
        self.commit_checked_tags: set[str] = set()  # tag templates checked to name the commit
        self.sample_tags: dict[tuple[str, str], str] = {}  # (module, env) → tag of one commit

    def problem(self, path: FieldPath, message: str, hint: str = "", *, key: bool = False) -> None:
        """A problem at `path`; a field the file does not write is located at the nearest
        one it does (Document.locate), and still named in full."""
        location = self.document.locate(path, key=key)
        self.problems.append(Problem(location, dotted(path), message, hint))

    def report(self, findings: Iterable[cross_checks.Finding]) -> None:
        for path, message, hint, key in findings:
            self.problem(path, message, hint, key=key)

    def template(self, path: FieldPath, default: str) -> Template:
        text = _get(self.data, path, default)
        return Template(text, self.document.locate(path), dotted(path))

    def spec(self) -> Spec:
        data = self.data
        project: str = data["project"]
        ci = self.ci()
        source = self.source()
        deploy = self.deploy()
        environments = self.environments(deploy)
        registry = data["registry"]["url"]
        registry_ok = is_image_name(f"{registry.rstrip('/')}/module")
        # (a value Tekton's bindings would expand or splice is refused for that, below)
        if not registry_ok and not cross_checks.BINDING_UNSAFE & set(registry):
            self.problem(("registry", "url"), f"'{registry}' is not the start of image names",
                         "write it as image names begin, without a scheme and in lower case: "
                         "ghcr.io/<org>, or registry.example.com:5000/<team>")
        modules = tuple(
            self.module(name, project, source, deploy, environments, ci, registry_ok)
            for name in data["modules"]
        )
        self.report(cross_checks.apps(project, environments, modules))
        self.report(cross_checks.shared_targets(modules))
        self.report(cross_checks.images_apart(modules, self.sample_tags))
        self.report(cross_checks.workflow_expressions(data))
        self.report(cross_checks.compute_resources(data))
        if deploy.url is None and any(d.targets for m in modules if m.enabled
                                      for d in m.deployments):
            self.problem(("deploy", "url"),
                         "modules deploy (values, kustomize or manifest) but deploy.url is "
                         "not set: shipspec bump has no repository to write to",
                         "set deploy.url to the deployment repository's clone URL")
        if deploy.url is not None:
            modules = self.with_deployment_files(modules, deploy.url)
        if self.problems:
            raise SpecError(self.problems)
        spec = Spec(
            file=self.document.file,
            root=self.root,
            directory=self.directory,
            text=self.document.text,
            project=project,
            namespace=data.get("namespace"),
            source=source,
            registry=Registry(url=data["registry"]["url"].rstrip("/"),
                              push_secret=data["registry"].get("pushSecret"),
                              token_secret=data["registry"].get("tokenSecret",
                                                                DEFAULT_REGISTRY_TOKEN),
                              username=data["registry"].get("username")),
            deploy=deploy,
            ci=ci,
            environments=environments,
            modules=modules,
            allow_empty=data.get("argocd", {}).get("allowEmpty", False),
            locate=self.document.locate,
        )
        self.require_engine_settings(spec)
        return spec

    def with_deployment_files(self, modules: tuple[Module, ...],
                              deploy_url: str) -> tuple[Module, ...]:
        """`modules`, those whose repository is the deployment repository with the files
        bumps write there that would build them (Module.deployment_files): every one for a
        module without paths, those below its paths for the others. Each push Trigger lists
        its module's: a bound on them all keeps the CI's size linear in the spec's."""
        deployment_repository = _repository(deploy_url)
        own = {repo for repo in {m.repo for m in modules if m.enabled}
               if _repository(repo) == deployment_repository}
        if not own:
            return modules
        every = frozenset(posixpath.normpath(file) for module in modules if module.enabled
                          for deployment in module.deployments
                          for target in deployment.targets
                          for file in target_paths(target))
        below: dict[str, set[str]] = {}  # each file, and each directory above one: its files
        for file in every:
            below.setdefault(file, set()).add(file)
            slash = file.find("/")
            while slash >= 0:
                below.setdefault(file[:slash], set()).add(file)
                slash = file.find("/", slash + 1)
        watched: dict[tuple[str, ...], frozenset[str]] = {(): every}
        listed = 0
        result = []
        for module in modules:
            if module.repo not in own:
                result.append(module)
                continue
            if module.paths not in watched:
                watched[module.paths] = frozenset().union(
                    *(below.get(posixpath.normpath(path), ()) for path in module.paths))
            result.append(module._replace(deployment_files=watched[module.paths]))
            if module.enabled:
                listed += len(watched[module.paths]) * len(module.deployments)
        if listed > DEPLOYMENT_FILES_LISTED:
            self.problem(
                ("deploy", "url"),
                f"'{deploy_url}' is the source repository of modules that build on changes "
                f"to {len(every)} files bumps write in it: their push filters would name "
                f"{listed} of them in all, more than {DEPLOYMENT_FILES_LISTED}",
                "give those modules paths that leave out the deployment files (a module "
                "without paths builds on every change), or keep the deployment in a "
                "repository of its own")
        return tuple(result)

    def require_engine_settings(self, spec: Spec) -> None:
        """What the spec's CI engine needs, but what only its rendered CI uses
        (render.RENDER_ONLY), which `validate` lists as still to do and `generate` refuses.
        On Tekton, also only names Kubernetes takes, each object its own."""
        from shipspec.render import RENDER_ONLY, gap_problems, renderer

        self.problems += gap_problems(spec, [
            gap for gap in renderer(spec.ci.engine).missing_settings(spec)
            if gap[0] not in RENDER_ONLY])
        self.report(cross_checks.unsafe_binding_values(self.data))
        if spec.ci.engine == "tekton":
            self.require_tekton_names(spec)
        if self.problems:
            raise SpecError(self.problems)

    def require_tekton_names(self, spec: Spec) -> None:
        from shipspec.render import gap_problems
        from shipspec.render.tekton import reports
        from shipspec.render.tekton_names import name_problems

        self.problems += gap_problems(spec, name_problems(spec, spec.namespace or "",
                                                          spec.enabled_modules, reports(spec)))

    def ci(self) -> CI:
        ci: dict[str, Any] = self.data.get("ci", {})
        return CI(
            engine=ci.get("engine", "tekton"),
            builder=ci.get("builder", "kaniko"),
            triggers=ci.get("triggers", "modules"),
            build=ci.get("build", "none"),
            storage_class=ci.get("storageClass"),
            workspace_size=ci.get("workspaceSize", "5Gi"),
            cache_size=ci.get("cacheSize", "10Gi"),
            keep_runs=ci.get("keepRuns", 5),
            images={**DEFAULT_IMAGES, **ci.get("images", {})},
            notify_secret=ci.get("notifySecret"),
            build_task=ci.get("buildTask"),
            java=ci.get("java", "17"),
            node=ci.get("node", "22"),
            timeout_minutes=ci.get("timeoutMinutes"),
            pull_secret=ci.get("pullSecret"),
            runs_on=tuple(ci.get("runsOn", HOSTED_RUNNER)),
            ca_bundle=CABundle(ci["caBundle"]["configMap"], ci["caBundle"].get("key", "ca.crt"))
            if "caBundle" in ci else None,
            resources=_compute_resources(ci.get("resources", {}), {}),
        )

    def source(self) -> Source:
        source: dict[str, Any] = self.data.get("source", {})
        return Source(
            url=source.get("url"),
            provider=source.get("provider", "github"),
            github_apis={"github.com": GITHUB_COM_API, **self.enterprise(source)},
            webhook_secret=source.get("webhookSecret"),
            webhook_secret_key=source.get("webhookSecretKey", "secret"),
            status_secret=source.get("statusSecret"),
            credentials_secret=source.get("credentialsSecret"),
            fork_pull_requests=source.get("forkPullRequests", False),
        )

    def deploy(self) -> Deploy:
        deploy: dict[str, Any] = self.data.get("deploy", {})
        message = self.template(("deploy", "commitMessage"), DEFAULT_COMMIT_MESSAGE)
        line = self.template(("deploy", "commitLine"), DEFAULT_COMMIT_LINE)
        sample = {"action": "deploy", "env": "stage", "branch": "main", "sha": "0" * 40,
                  "sha8": "0" * 8, "changes": "core=core-stage-01234567", "modules": "core",
                  "lines": "core: core-stage-00000000 -> core-stage-01234567",
                  "project": self.data["project"], "date": "20260101", "module": "core",
                  "old": "core-stage-00000000", "new": "core-stage-01234567"}
        self.render_template(message, {k: sample[k] for k in templates.COMMIT_MESSAGE_VARIABLES})
        self.render_template(line, {k: sample[k] for k in templates.COMMIT_LINE_VARIABLES})
        return Deploy(
            url=deploy.get("url"),
            branch=deploy.get("branch", "main"),
            credentials_secret=deploy.get("credentialsSecret"),
            token_env=deploy.get("tokenEnv", "DEPLOY_TOKEN"),
            commit_message=message,
            commit_line=line,
            author_name=deploy.get("authorName", DEFAULT_AUTHOR[0]),
            author_email=deploy.get("authorEmail", DEFAULT_AUTHOR[1]),
            tag_key=deploy.get("tagKey", "imageTag"),
            repository_key=deploy.get("repositoryKey", "repository"),
            registry_key=deploy.get("registryKey"),
            digest_key=deploy.get("digestKey"),
            image_defaults=deploy.get("imageDefaults"),
            signing=self.signing(deploy.get("signing")),
            forge=self.forge(deploy.get("url"), deploy.get("forge")),
            pin_digest=deploy.get("pinDigest", False),
            image_key=self.image_key(deploy),
        )

    def image_key(self, deploy: dict[str, Any]) -> str | None:
        """deploy.imageKey, which says where the whole reference is: the keys of the split
        layouts would say another place for its parts."""
        key: str | None = deploy.get("imageKey")
        split = [name for name in ("tagKey", "repositoryKey", "registryKey", "digestKey",
                                   "imageDefaults") if name in deploy]
        if key is not None and split:
            self.problem(("deploy", split[0]),
                         "says where a part of the image is, but imageKey says one key "
                         "holds it whole",
                         f"remove {', '.join(split)}, or imageKey", key=True)
        return key

    def forge(self, url: str | None, settings: dict[str, Any] | None) -> Forge | None:
        """The forge said in the spec, else GitHub for a github.com URL, else None."""
        host, parts = _host_and_path(url or "")
        repository = "/".join(parts[-2:]) if len(parts) >= 2 else ""
        if settings is None:
            if host != "github.com" or not repository:
                return None
            settings = {"type": "github"}
        path: FieldPath = ("deploy", "forge")
        api = settings.get("api") or (GITHUB_COM_API if host == "github.com"
                                      else _server_api(host) if host else "")
        if not api:
            self.problem(path, "the forge's API URL cannot be told from deploy.url",
                         "set deploy.forge.api, such as https://github.example.com/api/v3")
        else:
            self.check_api((*path, "api"), api)
        repository = settings.get("repository") or repository
        if not repository:
            self.problem(path, "the repository's owner/name cannot be told from deploy.url",
                         "set deploy.forge.repository: owner/name")
        return Forge(settings["type"], api.rstrip("/"), repository)

    def enterprise(self, source: dict[str, Any]) -> dict[str, str]:
        """{host: REST API} of the GitHub Enterprise Server hosting source.url, if it does."""
        host = _host_and_path(source.get("url") or "")[0]
        if source.get("provider") != "github-enterprise":
            if "api" in source:
                self.problem(("source", "api"), "the API of a GitHub Enterprise Server, and "
                             "source.provider does not say it is one",
                             "set provider: github-enterprise, or leave api out (github.com's "
                             "is known)", key=True)
            return {}
        if host in ("", "github.com"):
            self.problem(("source", "provider"), "a GitHub Enterprise Server serves source.url"
                         f" on its own host, and {source.get('url') or 'no source.url'} has "
                         "none but github.com", "provider: github for github.com")
            return {}
        api = source.get("api") or _server_api(host)
        self.check_api(("source", "api"), api)
        return {host: api.rstrip("/")}

    def check_api(self, path: FieldPath, api: str) -> None:
        scheme, _, rest = api.partition("://")
        if scheme != "https" and _host(rest) not in _LOOPBACK:
            # the token goes to the API in a header: never in clear text over a network
            self.problem(path, "the API is reached over plain HTTP, which would send the "
                         "token in clear text", "use an https:// URL")

    def signing(self, settings: dict[str, Any] | None) -> Signing | None:
        if settings is None:
            return None
        if ("keyFile" in settings) == ("keyEnv" in settings):
            self.problem(("deploy", "signing"), "give the key as keyFile or as keyEnv, one of "
                         "the two", "keyEnv: SIGNING_KEY names a variable that holds it")
        return Signing(settings["format"], settings.get("keyFile"), settings.get("keyEnv"))

    def environments(self, deploy: Deploy) -> tuple[Environment, ...]:
        result = []
        for name, env in self.data.get("environments", {}).items():
            path: FieldPath = ("environments", name)
            values_file = env.get("values")
            if values_file is not None:
                self.check_path((*path, "values"), values_file, local=False)
                values_file = posixpath.normpath(values_file)
            result.append(Environment(
                name=name,
                branch=env["branch"],
                tag=self.template((*path, "tag"), DEFAULT_TAG),
                values_file=values_file,
                deploy_branch=env.get("deployBranch", deploy.branch),
                app=self.app((*path, "app"), name, env["app"]) if "app" in env else None,
                delivery=self.delivery(path, env.get("delivery"), deploy),
            ))
        return tuple(result)

    def delivery(self, path: FieldPath, settings: dict[str, Any] | None,
                 deploy: Deploy) -> Delivery:
        if settings is None:
            return Delivery()
        delivery = Delivery(settings["method"], settings.get("autoMerge"))
        if delivery.method == "push" and delivery.auto_merge:
            self.problem((*path, "delivery", "autoMerge"), "autoMerge needs pull requests",
                         "set delivery.method: pull-request, or leave autoMerge out")
        remote = (deploy.url or "").startswith(("https://", "http://", "ssh://", "git@"))
        if delivery.method == "pull-request" and deploy.forge is None and remote:
            self.problem((*path, "delivery", "method"),
                         "pull requests are opened through the forge's API, and the forge of "
                         "deploy.url is not known", "say which it is: deploy.forge.type: github"
                         " (with deploy.forge.api for GitHub Enterprise Server)")
        return delivery

    def app(self, path: FieldPath, environment: str, entry: dict[str, Any]) -> App:
        self.check_path((*path, "helmfile"), entry["helmfile"], local=False)
        destination = entry.get("destination", {"server": IN_CLUSTER})
        if len(destination) != 1:
            self.problem((*path, "destination"), "give the cluster's server or its name, "
                         "one of them", "such as server: https://kubernetes.default.svc")
        kind, where = next(iter(destination.items()), ("server", IN_CLUSTER))
        return App(
            helmfile=posixpath.normpath(entry["helmfile"]),
            helmfile_environment=entry.get("environment", environment),
            releases=tuple(Release(name, release["namespace"], tuple(release.get("modules", ())))
                           for name, release in entry["releases"].items()),
            project=entry.get("project", "default"),
            destination=(kind, where),
            sync_options=tuple(entry.get("syncOptions", ())),
            automated=entry.get("automated", False),
        )

    def module(
        self, name: str, project: str, source: Source, deploy: Deploy,
        environments: tuple[Environment, ...], ci: CI, registry_ok: bool,
    ) -> Module:
        entry: dict[str, Any] = self.data["modules"][name]
        path: FieldPath = ("modules", name)
        prefix = f"{project}-{name}"
        for native, seed_a in (("image", "moduleName"), ("dockerfile", "dockerfileName")):
            if native in entry and seed_a in entry:
                self.problem((*path, seed_a), f"'{seed_a}' and '{native}' say the same thing",
                             "keep one of them", key=True)
        repo = entry.get("repo", source.url)
        if repo is None:
            self.problem(path, "the module has no repository",
                         "set source.url, or repo on the module", key=True)
        for field in ("context", "dockerfile", "dockerfileName"):
            if field in entry:
                self.check_path((*path, field), entry[field], local=True)
        paths = []
        for index, module_path in enumerate(entry.get("paths", [])):
            self.check_path((*path, "paths", index), module_path, local=True)
            # As git and GitHub's paths filters name them: `./a/` and `a//` matched no
            # changed file, so no push built the module.
            plain = posixpath.normpath(module_path)
            if plain == ".":
                self.problem((*path, "paths", index),
                             f"'{module_path}' is the whole repository",
                             "leave paths out to build the module on every change")
            pattern = _pattern_start(module_path)
            if pattern is not None:
                # GitHub's paths filters take globs (`core/**`); ours are compared as they
                # are, so such a path matched no file and no push built the module.
                above = module_path[:pattern].rpartition("/")[0]
                self.problem((*path, "paths", index),
                             f"'{module_path}' is a pattern; paths are files and directories, "
                             "compared as written, so it would match no change",
                             f"write {above}/: a directory covers every file below it" if above
                             else "name the files and directories: a directory covers every "
                                  "file below it")
            paths.append(plain + "/" if module_path.endswith("/") else plain)
        image = self.image(entry.get("image", entry.get("moduleName", name)))
        named = next((field for field in ("image", "moduleName") if field in entry), None)
        # (an image under a registry.url that is wrong is reported there, once)
        if (named and (image == entry[named] or registry_ok) and not is_image_name(image)
                and not cross_checks.BINDING_UNSAFE & set(image)):
            self.problem((*path, named), f"makes the image name '{image}', which registries "
                         "refuse", "image names are lower case: letters and digits, joined by "
                         "'.', '_' or '-'; a registry host may come first")
        pvc: dict[str, str] = entry.get("pvc", {})
        build: BuildTool = entry.get("build", ci.build)
        repo_slug, github_api = _on_github(repo or "", source.github_apis)
        dockerfile = posixpath.normpath(
            entry.get("dockerfile", entry.get("dockerfileName", "Dockerfile")))
        if paths and not any(covers(path, dockerfile) for path in paths):
            # A change to the module's Dockerfile is a change to its image: with paths that
            # left it out (seed B's design keeps them in docker/<component>/), no push of it
            # built the module, on either engine.
            paths.append(dockerfile)
        return Module(
            name=name,
            enabled=entry.get("enabled", True),
            repo=repo or "",
            paths=tuple(paths),
            # plain too: the pre-build names the Gradle project after the context
            # (`server-core/` made `:server-core::bootJar`, `./server-core` `:.:server-core`)
            context=posixpath.normpath(entry.get("context", ".")),
            dockerfile=dockerfile,
            image=image,
            build=build,
            build_task=entry.get("buildTask", ci.build_task) or DEFAULT_TASKS[build]
            if build != "none" else "",
            claims=Claims(
                workspace=pvc.get("workspace", f"{prefix}-workspace"),
                cache=pvc.get("cache", f"{prefix}-cache"),
            ),
            resource_prefix=prefix,
            repo_slug=repo_slug,
            github_api=github_api,
            deployments=self.deployments(name, entry, image, deploy, environments),
            resources=_compute_resources(self.data.get("ci", {}).get("resources", {}),
                                         entry.get("resources", {})),
        )

    def image(self, name: str) -> str:
        """A full image repository: `name` as it is when it names a registry host."""
        first = name.split("/", 1)[0]
        if "/" in name and ("." in first or ":" in first or first == "localhost"):
            return name
        return f"{self.data['registry']['url'].rstrip('/')}/{name}"

    def deployments(
        self, name: str, entry: dict[str, Any], image: str, deploy: Deploy,
        environments: tuple[Environment, ...],
    ) -> tuple[Deployment, ...]:
        path: FieldPath = ("modules", name)
        declared = {env.name: env for env in environments}
        kustomize: dict[str, Any] | None = entry.get("kustomize")
        if kustomize is not None:
            self.check_path((*path, "kustomize", "directory"), kustomize["directory"], local=False)
            # seed A: the overlay's branch of the deployment repository names the environment
            deploy_branch = kustomize.get("branch", deploy.branch)
            env_names = [deploy_branch]
            if deploy_branch not in declared and not re.fullmatch(DNS_LABEL, deploy_branch):
                self.problem((*path, "kustomize", "branch"),
                             f"'{deploy_branch}' names this module's environment but is not a "
                             "valid name", "declare the environment under environments")
        else:
            env_names = entry.get("environments", list(declared))
            for index, env_name in enumerate(env_names):
                if env_name not in declared:
                    self.problem((*path, "environments", index),
                                 f"unknown environment '{env_name}'",
                                 f"declared environments: {', '.join(declared) or 'none'}")
            env_names = [env_name for env_name in env_names if env_name in declared]
        if "gitBranch" in entry and len(env_names) > 1:
            self.problem((*path, "gitBranch"),
                         "gitBranch is ambiguous for a module deployed to several environments",
                         f"list one environment in modules.{name}.environments", key=True)
        result = []
        for env_name in env_names:
            env = declared.get(env_name)
            trigger = entry.get("gitBranch") or (env.branch if env else None)
            if trigger is None:
                self.problem(path, f"no branch deploys this module to '{env_name}'",
                             f"set gitBranch, or declare environments.{env_name}.branch", key=True)
                continue
            tag = env.tag if env else Template(DEFAULT_TAG, self.document.locate(path),
                                               dotted(path))
            self.check_tag(tag, name, env_name, trigger)
            result.append(Deployment(
                environment=env_name,
                trigger_branch=trigger,
                tag=tag,
                deploy_branch=(kustomize or {}).get("branch") or (
                    env.deploy_branch if env else deploy.branch),
                targets=self.targets(path, entry, image, deploy, env_name, env),
                delivery=env.delivery if env else Delivery(),
            ))
        return tuple(result)

    def targets(
        self, path: FieldPath, entry: dict[str, Any], image: str, deploy: Deploy,
        env_name: str, env: Environment | None,
    ) -> tuple[Target, ...]:
        targets: list[Target] = []
        kustomize = entry.get("kustomize")
        if kustomize is not None:
            targets.append(KustomizeTarget(posixpath.normpath(kustomize["directory"]), image,
                                           kustomize.get("deploymentName")))
        manifest: dict[str, Any] | None = entry.get("manifest")
        if manifest is not None:
            self.check_path((*path, "manifest", "file"), manifest["file"], local=False)
            targets.append(ManifestTarget(posixpath.normpath(manifest["file"]),
                                          manifest.get("kind", "Deployment"),
                                          manifest["name"],
                                          manifest.get("container", str(path[-1]))))
        if "values" in entry:
            if env is None or env.values_file is None:
                self.problem((*path, "values"),
                             f"environment '{env_name}' has no values file for this key",
                             f"set environments.{env_name}.values", key=True)
            else:
                key = entry["values"]
                defaults = deploy.image_defaults
                whole = deploy.image_key and f"{key}.{deploy.image_key}"
                targets.append(HelmValuesTarget(env.values_file, whole, whole, reference=True)
                               if whole else HelmValuesTarget(
                    env.values_file, f"{key}.{deploy.tag_key}",
                    f"{key}.{deploy.repository_key}",
                    registry_key=deploy.registry_key and f"{key}.{deploy.registry_key}",
                    default_registry_key=defaults and deploy.registry_key
                    and f"{defaults}.{deploy.registry_key}",
                    default_repository_key=defaults and f"{defaults}.{deploy.repository_key}",
                    digest_key=deploy.digest_key and f"{key}.{deploy.digest_key}"))
        return tuple(targets)

    def check_tag(self, tag: Template, module: str, env: str, branch: str) -> None:
        """The tag a commit gets must be an image tag, and name the commit; it is kept for
        cross_checks.images_apart."""
        sample = {"module": module, "env": env, "sha": SAMPLE_SHA, "sha8": SAMPLE_SHA[:8],
                  "branch": branch, "project": self.data["project"], "date": "20260101"}
        rendered = self.render_template(tag, sample)
        if rendered is None:  # said by render_template
            return
        if IMAGE_TAG.fullmatch(rendered):
            self.sample_tags[(module, env)] = rendered
        else:
            self.problems.append(Problem(
                tag.location, tag.path,
                f"renders '{rendered}' for module {module}, which is not a valid image tag",
                "a tag has at most 128 letters, digits, '_', '.' and '-'; "
                "for branch names use {{ branch | replace('/', '-') }}",
            ))
        if tag.text not in self.commit_checked_tags:
            self.commit_checked_tags.add(tag.text)
            if not (templates.uses(tag, "sha") or templates.uses(tag, "sha8")):
                # The registry's tag moves to the new image, and the values already hold
                # that tag: the bump changes nothing and Argo CD never rolls the image out.
                self.problems.append(Problem(
                    tag.location, tag.path,
                    f"does not name the commit, so pushes share a tag ('{rendered}'): the "
                    "image of a later push would replace it in the registry, and its bump "
                    "would find that tag deployed already: the new image never rolls out",
                    "name the commit: {{ sha8 }} or {{ sha }}, as the default "
                    f"{DEFAULT_TAG} does",
                ))

    def render_template(self, template: Template, sample: dict[str, str]) -> str | None:
        """The template rendered with realistic values, or None when it fails (reported)."""
        try:
            return templates.render(template, sample)
        except SpecError as err:
            self.problems.extend(err.problems)
            return None

    def check_path(self, path: FieldPath, value: str, *, local: bool) -> None:
        """A path must be relative and stay inside its repository.

        `local` paths belong to the repository holding the spec, so a symlink there that
        leads outside is caught too; deployment-repository paths are checked by `bump`.
        """
        reason = relative_path_problem(value)
        if reason is None and local and self.symlinks.escapes(value):
            reason = "is a symbolic link that leads outside the repository"
        if reason:
            self.problem(path, f"'{value}' {reason}",
                         "give a path relative to the repository root, such as src/Dockerfile")


_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _pattern_start(path: str) -> int | None:
    """Where `path` starts being a glob of GitHub's paths filters (a wildcard, a class, a
    leading negation), or None. No regular expression: compiling one costs every start."""
    if path.startswith("!"):
        return 0
    found = [path.find(char) for char in "*?[" if char in path]
    return min(found) if found else None


def _host_and_path(url: str) -> tuple[str, list[str]]:
    """The host of a clone URL (scheme://host/path or scp-like user@host:path) and its
    path's parts, without `.git` ("" and [] where there is none). String methods, not a
    regular expression: compiling one costs `generate` more than the rest of this."""
    if "://" in url:
        rest, separator = url.partition("://")[2], "/"
    elif "@" in url.partition(":")[0]:
        rest, separator = url, ":"
    else:
        return "", []
    authority, _, path = rest.partition(separator)
    return _host(authority), [part for part in path.strip("/").removesuffix(".git").split("/")
                              if part]


def _repository(url: str) -> tuple[str, tuple[str, ...]] | str:
    """What names one repository whatever URL reaches it (https, ssh or scp-like; with or
    without `.git`; GitHub ignores case): its host and path, else the URL itself."""
    host, parts = _host_and_path(url)
    return (host.lower(), tuple(part.lower() for part in parts)) if parts else url


def _host(authority: str) -> str:
    """The host of `user@host:port/...` ([::1] for IPv6 written so)."""
    host = authority.partition("/")[0].rpartition("@")[2]
    return host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]


def _server_api(host: str) -> str:
    """Where a GitHub Enterprise Server on `host` serves its REST API."""
    return f"https://{host}/api/v3"


def _on_github(url: str, github_apis: dict[str, str]) -> tuple[str, str]:
    """The module's `repo_slug`, owner/name of a clone URL on a GitHub as webhooks name it
    (other URLs stay whole), and the `github_api` of that GitHub ("" for none)."""
    host, parts = _host_and_path(url)
    if host in github_apis and len(parts) == 2:
        return "/".join(parts), github_apis[host]
    return url, ""


def _compute_resources(shared: dict[str, dict[str, str]],
                       own: dict[str, dict[str, str]]) -> ComputeResources:
    """ci.resources (`shared`) with a module's `own` over them, as Spec keeps them."""
    return tuple((f"{kind}.{name}", own.get(kind, {}).get(name) or shared[kind][name])
                 for kind in ("requests", "limits") for name in COMPUTE_RESOURCES
                 if name in own.get(kind, {}) or name in shared.get(kind, {}))


def _get(data: dict[str, Any], path: FieldPath, default: str) -> str:
    value: Any = data
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return str(value)

