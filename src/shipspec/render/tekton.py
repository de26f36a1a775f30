"""Tekton CI for every enabled module: storage, one unified Pipeline, triggers, RBAC.

Targets Tekton Pipelines `tekton.dev/v1` and Triggers `triggers.tekton.dev/v1beta1`. Object
names start with the project; per-module objects with `<project>-<module>`. Output order is
fixed: shared objects first, then each module's, in the order of the spec.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from shipspec.errors import SpecError
from shipspec.render import (
    DEPLOY_CREDENTIALS,
    Gap,
    Rendered,
    RenderOptions,
    refuse_gaps,
    shipspec_image_gap,
    ssh_deploy_gap,
)
from shipspec.render import tekton_tasks as tasks
from shipspec.render import tekton_triggers as triggers
from shipspec.render.tekton_names import cluster_binding_name, name_problems, shared_name
from shipspec.spec import Deployment, Module, Spec

Object = dict[str, Any]
FieldPath = tuple[str, ...]

# The API server stores an object of at most 1 MiB (etcd's request limit, 1.5 MiB, less its
# own overhead); the spec ConfigMap's metadata takes a few hundred bytes of that.
MAX_SPEC_BYTES = 1024 * 1024 - 4096
# Argo CD must never prune or delete a claim: it holds caches and runs in progress.
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
KEEP_CLAIM = {SYNC_OPTIONS: "Prune=false,Delete=false"}
# Nor a run, which is not the Application's at all: but Tekton copies the Pipeline's labels
# into each of its runs (pkg/reconciler/pipelinerun/pipelinerun.go,
# storePipelineSpecAndMergeMeta), the label Argo CD tracks resources by among them when it
# tracks by label (the default before 3.0, still a setting, its key too). Argo CD then
# counts each run as a resource git no longer has, the Application OutOfSync, and an
# automated sync with prune deletes it while it builds. Argo CD's own options leave it be.
LEAVE_RUN = {SYNC_OPTIONS: "Prune=false", "argocd.argoproj.io/compare-options": "IgnoreExtraneous"}
# Client-side apply (kubectl's, and Argo CD's by default) keeps the whole object, as JSON,
# in this annotation, and the API server refuses an object whose annotations exceed 256 KiB
# (apimachinery pkg/api/validation/objectmeta.go, TotalAnnotationSizeLimitB: keys and values
# counted). Two objects grow with the spec, the EventListener (a line per Trigger) and the
# spec's ConfigMap: past the limit they ask Argo CD for a server-side apply, which keeps no such
# copy (the resource's own sync option: gitops-engine pkg/sync/sync_context.go,
# shouldUseServerSideApply), and `generate` tells kubectl users to apply with --server-side.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ANNOTATIONS_LIMIT = 256 * 1024
# What Argo CD adds: its tracking-id annotation (tracking by annotation is the default since
# v3.0), `<application>:<group>/<kind>:<namespace>/<name>`, in the object and in the copy.
ARGO_CD_MARGIN = 2048
SERVER_SIDE = {SYNC_OPTIONS: "ServerSideApply=true"}
REPORT_TIMEOUT = "5m"  # what a run keeps of its timeout for its `finally` report
PREBUILD_IMAGE = {"none": "git", "gradle": "gradle", "maven": "maven", "npm": "npm"}
# Parameters a Trigger sets for a run of its module (the webhook adds `revision`).
RUN_PARAMS = ("module", "environment", "branch", "deploys", "repo-url", "workspace-claim",
              "cache-claim", "image", "dockerfile", "context", "build-tool", "build-task",
              "prebuild-image")


def resource_param(field: str) -> str:
    """The TriggerTemplate parameter that carries a module's build resource `field` (as
    Module.resources names it, such as limits.memory) to its runs."""
    return "build-" + field.replace(".", "-")


def run_params(spec: Spec) -> tuple[str, ...]:
    """RUN_PARAMS, plus the repository's owner/name and its GitHub's API when runs report
    commit statuses."""
    return (*RUN_PARAMS, "repository", "github-api") if reports(spec) else RUN_PARAMS


def spec_too_large(text: str) -> tuple[str, str] | None:
    """(message, hint) when the spec's text is more than its ConfigMap can hold."""
    size = len(text.encode("utf-8"))
    if size <= MAX_SPEC_BYTES:
        return None
    return (f"the spec is {size:,} bytes; the ConfigMap that carries it to the runs holds at "
            f"most {MAX_SPEC_BYTES:,}", "the API server refuses objects over 1 MiB: shorten "
            "the file (comments count too), or split it by team")


def missing_settings(spec: Spec) -> list[Gap]:
    """What a spec must add before Tekton CI can be rendered: (field, message, hint)."""
    gaps: list[Gap] = []
    if spec.source.webhook_secret is None:
        gaps.append((("source", "webhookSecret"),
                     "Tekton triggers need source.webhookSecret: webhooks are always validated",
                     "name the Secret that holds the webhook secret, "
                     "e.g. webhookSecret: github-webhook"))
    if "shipspec" not in spec.ci.images:
        gaps.append(shipspec_image_gap("Tekton runs `shipspec tag` and `shipspec bump`"))
    too_large = spec_too_large(spec.text)
    if too_large:
        gaps.append(((), *too_large))
    deploys = any(module.deployments for module in spec.enabled_modules)
    if deploys and spec.deploy.credentials_secret is None and not (
            spec.deploy.url or "").startswith("file://"):
        gaps.append((DEPLOY_CREDENTIALS,
                     "the deploy Task pushes new tags to the deployment repository with a "
                     "token from a Secret: set deploy.credentialsSecret",
                     "name a Secret whose key `token` holds a token that may push there, "
                     "e.g. credentialsSecret: deploy-token"))
    gaps += ssh_deploy_gap(spec, "the token of deploy.credentialsSecret")
    gaps += triggers.overlong_filters(spec)
    if spec.ci.builder == "buildah" and "buildah" not in spec.ci.images:
        gaps.append((("ci", "images", "buildah"),
                     "builder buildah needs ci.images.buildah: shipspec ships no default",
                     "pin quay.io/buildah/stable as name:tag@sha256:<digest>"))
    return gaps


def render(spec: Spec, options: RenderOptions) -> list[Rendered]:
    namespace, modules = _checked(spec, options)
    if not modules:
        return []  # CI for no module is nothing; the caller decides if that is an error
    metadata = _metadata(spec, namespace, options)
    dispatch = spec.ci.triggers == "dispatch"
    objects: list[Object] = [
        _server_side_when_large(_spec_configmap(spec, metadata)),
        *_service_accounts_and_rbac(spec, namespace, metadata),
        tasks.tag_task(spec, metadata),
        tasks.build_task(spec, metadata),
        tasks.deploy_task(spec, metadata),
        *([tasks.report_task(spec, metadata)] if reports(spec) else []),
        tasks.cleanup_task(spec, metadata),
        *([tasks.dispatch_task(spec, metadata, _selection(options))] if dispatch else []),
        _ci_pipeline(spec, metadata),
        _cleanup_pipeline(spec, metadata),
        *([_dispatch_pipeline(spec, metadata, modules)] if dispatch else
          triggers.trigger_bindings(spec, metadata)),
        *_trigger_templates(spec, metadata),
    ]
    module_objects = [
        obj for module in modules
        for obj in _module_objects(spec, module, options,
                                   _metadata(spec, namespace, options, module))
    ]
    project_triggers = [
        *(triggers.dispatch_triggers(spec, modules, tuple(sorted(
            {d.trigger_branch for m in modules for d in _deployments(m, options)})), metadata)
          if dispatch else []),
        triggers.cleanup_trigger(spec, modules, metadata)]
    trigger_names = [o["metadata"]["name"] for o in (*module_objects, *project_triggers)
                     if o["kind"] == "Trigger"]
    objects += [
        _server_side_when_large(triggers.event_listener(
            spec, metadata, shared_name(spec, "triggers"), trigger_names)),
        *module_objects,
        *project_triggers,
    ]
    return [Rendered(f"{o['kind'].lower()}-{o['metadata']['name']}.yaml", o) for o in objects]


def _checked(spec: Spec, options: RenderOptions) -> tuple[str, list[Module]]:
    """The namespace and the modules selected, once the spec says all Tekton needs and
    every object's name is one Kubernetes takes; no modules: nothing is checked."""
    refuse_gaps(spec, missing_settings(spec))
    modules = _selected_modules(spec, options)
    namespace = options.namespace or spec.namespace or ""
    if modules and not namespace:
        raise SpecError.single("Tekton objects need a namespace",
                               hint="set namespace in shipspec.yaml")
    if modules:
        refuse_gaps(spec, name_problems(spec, namespace, tuple(modules), reports(spec)))
    return namespace, modules


def _server_side_when_large(obj: Object) -> Object:
    """`obj`, annotated for a server-side apply when its copy in LAST_APPLIED would not fit."""
    room = ANNOTATIONS_LIMIT - len(LAST_APPLIED) - ARGO_CD_MARGIN
    # Go's JSON writes no character of the repr in more than 6 bytes (a \uXXXX escape):
    # most objects fit by that bound, without the exact measure or importing json for it.
    if 6 * len(repr(obj)) + 1 <= room or _last_applied_size(obj) <= room:
        return obj
    metadata = obj["metadata"]
    return {**obj, "metadata": {**metadata,
                                "annotations": {**metadata.get("annotations", {}), **SERVER_SIDE}}}


def _last_applied_size(obj: Object) -> int:
    """The bytes of the JSON kubectl writes into LAST_APPLIED: Go's encoding/json, which
    escapes <, > and & (6 bytes each) and U+2028, U+2029 (6 bytes for 3) for HTML."""
    import json  # only here: the YAML output does not need it otherwise

    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return (len(text.encode("utf-8")) + 5 * sum(map(text.count, "<>&"))
            + 3 * sum(map(text.count, "\u2028\u2029")) + 1)  # and a line break


def server_side_objects(documents: list[Object]) -> list[str]:
    """`kind/name` of the objects that ask for a server-side apply (see LAST_APPLIED)."""
    return [f"{doc['kind']}/{doc['metadata']['name']}" for doc in documents
            if doc["metadata"].get("annotations", {}).get(SYNC_OPTIONS)
            == SERVER_SIDE[SYNC_OPTIONS]]


# Registries that take no push without credentials, and whose credentials no pod gets by
# itself (as a cloud's own registry can give them, through the node or workload identity):
# kaniko and buildah read them from registry.pushSecret alone.
_NO_ANONYMOUS_PUSH = ("docker.io", "ghcr.io", "quay.io")


# ci.triggers: modules at a scale where `validate` suggests dispatch: this many modules of
# one repository deployed from one branch (each push to a pull request against it starts a
# run of every one), or this many Triggers of modules (every webhook delivery goes through
# each, and the plugin renders them on every refresh: 2.5x the start of Python and PyYAML
# at about 107 modules of two environments, benchmarks/run.py).
DISPATCH_SUGGESTED_FROM = 50
DISPATCH_SUGGESTED_FROM_TRIGGERS = 200


def warnings_for(spec: Spec) -> list[str]:
    """What `validate` warns of and `generate` notes for Tekton CI that renders but cannot
    do all its work, or does it at a cost it need not: one sentence and its hint each."""
    found = unreached_by_webhooks(spec) + _costs_of_module_triggers(spec)
    if spec.registry.push_secret is None:
        from shipspec.images import registry_host

        hosts = sorted({host for module in spec.enabled_modules
                        if (host := registry_host(module.image)) in _NO_ANONYMOUS_PUSH})
        if hosts:
            found.append(f"registry.pushSecret is not set, and {' and '.join(hosts)} "
                         f"{'takes' if len(hosts) == 1 else 'take'} no push without "
                         "credentials: every build would fail to push its "
                         "image\n    hint: name a kubernetes.io/dockerconfigjson Secret "
                         "allowed to push there, e.g. pushSecret: registry-push")
    return found


def _costs_of_module_triggers(spec: Spec) -> list[str]:
    """ci.triggers: modules, at scale: what every delivery and every pull request costs."""
    if spec.ci.triggers == "dispatch":
        return []
    deployed = Counter((module.repo_slug, deployment.trigger_branch)
                       for module in spec.enabled_modules for deployment in module.deployments)
    triggers = 2 * sum(deployed.values())  # push and pull request
    [((repository, branch), count)] = deployed.most_common(1) or [(("", ""), 0)]
    if count < DISPATCH_SUGGESTED_FROM and triggers < DISPATCH_SUGGESTED_FROM_TRIGGERS:
        return []
    runs = (f", and every push to a pull request against {branch} of {repository} starts "
            f"{count:,} runs, a pod each, whichever modules it touches" if count > 1 else "")
    return [f"the modules have Triggers of their own, {triggers:,} in all: every webhook "
            f"delivery goes through each of them{runs}\n    hint: set ci.triggers: dispatch: "
            "the project's three Triggers start one run an event, which starts those of the "
            "modules it changes (the Tekton guide, \"A mono repo of many modules\")"]


def unreached_by_webhooks(spec: Spec) -> list[str]:
    """What to tell of the modules whose repository is not on GitHub (github.com, or the
    Enterprise Server of source.provider): the Triggers take GitHub's webhooks (their
    signature, their repository.full_name) and no other forge's, so no push or pull request
    there starts a run; one sentence and its hint per URL."""
    elsewhere: dict[str, list[str]] = {}
    for module in spec.enabled_modules:
        if not module.on_github:
            elsewhere.setdefault(module.repo, []).append(module.name)
    return [f"{url} is not on GitHub, whose webhooks alone start the Triggers' runs: "
            f"no push there builds {', '.join(names)}\n    hint: start a run by hand, "
            "shipspec generate --run <commit> | kubectl create -f -; on a GitHub Enterprise "
            "Server, set source.provider: github-enterprise"
            for url, names in elsewhere.items()]


def _selected_modules(spec: Spec, options: RenderOptions) -> list[Module]:
    return [
        module for module in spec.enabled_modules
        if (not options.modules or module.name in options.modules)
        and (options.environment is None
             or any(d.environment == options.environment for d in module.deployments))
    ]


def _metadata(spec: Spec, namespace: str | None, options: RenderOptions,
              module: Module | None = None) -> Object:
    labels = {**dict(options.labels), "app.kubernetes.io/managed-by": "shipspec",
              "app.kubernetes.io/part-of": spec.project}
    if module is not None:
        labels["shipspec.dev/module"] = module.name
    return {"namespace": namespace, "labels": labels} if namespace else {"labels": labels}


def reports(spec: Spec) -> bool:
    return bool(spec.source.status_secret or spec.ci.notify_secret)


def _spec_configmap(spec: Spec, metadata: Object) -> Object:
    """The spec itself, so that runs tag and bump by exactly the rules that rendered them."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": tasks.spec_configmap_name(spec), **metadata},
            "data": {"shipspec.yaml": spec.text}}


# The ServiceAccount each kind of run uses. Tekton's creds-init (pipeline v1.15.0,
# pkg/pod/creds_init.go) mounts every docker-config and annotated git Secret listed on a
# run's ServiceAccount into every step of its pods, so an account's `secrets:` reach all code
# its runs execute: only branch builds, which may push, get an account that lists a Secret
# that writes. A private source repository's read credentials (source.credentialsSecret)
# are listed for pull requests too, which cannot even fetch their code without them.
PUSH_ACCOUNT = "pipeline"  # branch pushes: registry push and deployment credentials
PULL_REQUEST_ACCOUNT = "pull-request"  # untrusted code: no API token, no RBAC, no write
CLEANUP_ACCOUNT = "cleanup"  # prunes the project's PipelineRuns: that Role only, no Secret
# ci.triggers: dispatch: creates the runs of the modules an event changes (that Role only),
# and reads a private source (its credentials) to tell which
DISPATCH_ACCOUNT = "dispatch"


def _service_accounts_and_rbac(spec: Spec, namespace: str, metadata: Object) -> list[Object]:
    """Least privilege: the listener gets Triggers' own roles; pull requests get an account
    with nothing but a private source's read credentials; only cleanup runs may touch the
    API, and only to prune runs, and dispatch runs, only to start them."""
    listener = shared_name(spec, "triggers")
    pruner = shared_name(spec, CLEANUP_ACCOUNT)
    dispatcher = shared_name(spec, DISPATCH_ACCOUNT)
    reading = [spec.source.credentials_secret] if spec.source.credentials_secret else []
    secrets = [*reading, *(name for name in (spec.registry.push_secret,
                                             spec.deploy.credentials_secret) if name)]

    def account(role: str, secret_names: list[str], token: bool) -> Object:
        service_account: Object = {"apiVersion": "v1", "kind": "ServiceAccount",
                                   "metadata": {"name": shared_name(spec, role),
                                                **metadata}}
        if not token:
            service_account["automountServiceAccountToken"] = False
        if secret_names:
            service_account["secrets"] = [{"name": name} for name in secret_names]
        return service_account

    def binding(kind: str, name: str, role_kind: str, role: str, subject: str) -> Object:
        meta = {"name": name, **metadata}
        if kind == "ClusterRoleBinding":
            meta.pop("namespace", None)
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
                "subjects": [{"kind": "ServiceAccount", "name": subject,
                              "namespace": namespace}],
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                            "name": role}}

    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {**metadata,
                                                                    "name": listener}},
        binding("RoleBinding", listener, "ClusterRole", "tekton-triggers-eventlistener-roles",
                listener),
        binding("ClusterRoleBinding", cluster_binding_name(spec, namespace), "ClusterRole",
                "tekton-triggers-eventlistener-clusterroles", listener),
        account(PUSH_ACCOUNT, secrets, token=False),
        account(PULL_REQUEST_ACCOUNT, reading, token=False),
        account(CLEANUP_ACCOUNT, [], token=True),
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": pruner, **metadata},
         "rules": [{"apiGroups": ["tekton.dev"], "resources": ["pipelineruns"],
                    "verbs": ["get", "list", "delete"]}]},
        binding("RoleBinding", pruner, "Role", pruner, pruner),
        # the dispatch's may create PipelineRuns, not read or delete them; the runs it
        # starts use the accounts above, as the Triggers' runs do
        *([account(DISPATCH_ACCOUNT, reading, token=True),
           {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": dispatcher, **metadata},
            "rules": [{"apiGroups": ["tekton.dev"], "resources": ["pipelineruns"],
                       "verbs": ["create"]}]},
           binding("RoleBinding", dispatcher, "Role", dispatcher, dispatcher)]
          if spec.ci.triggers == "dispatch" else []),
    ]


def _pipeline_param(name: str) -> Object:
    return {"name": name, "value": f"$(params.{name})"}


def _ci_pipeline(spec: Spec, metadata: Object) -> Object:
    """One Pipeline for every module: tag → build → deploy (pushes only) → report."""
    names = (*run_params(spec), "revision", "event", "cache-scope", "no-push")
    pipeline_tasks: list[Object] = [
        {"name": "tag", "taskRef": {"name": shared_name(spec, "tag")},
         "params": [_pipeline_param(n) for n in ("module", "environment", "revision",
                                                  "branch", "repo-url", "base-revision")]},
        {"name": "build", "runAfter": ["tag"], "taskRef": {"name": shared_name(spec,
                                                                                     "build")},
         # a pull request that changes none of the module's paths builds nothing
         "when": [{"input": "$(tasks.tag.results.touched)", "operator": "in",
                   "values": ["true"]}],
         "params": [*(_pipeline_param(n) for n in (
             "repo-url", "revision", "cache-scope", "workspace-claim",
             "cache-claim", "image", "dockerfile", "context", "build-tool", "build-task",
             "prebuild-image", "no-push")),
             # the run's own directory on the module's claim, whoever started it
             {"name": "run-id", "value": "$(context.pipelineRun.uid)"},
             {"name": "image-tag", "value": "$(tasks.tag.results.tag)"}],
         "workspaces": [{"name": "registry-credentials",
                         "workspace": "registry-credentials"}]},
        {"name": "deploy", "runAfter": ["build"],
         "when": [{"input": "$(params.event)", "operator": "in", "values": ["push"]},
                  {"input": "$(params.deploys)", "operator": "in", "values": ["true"]}],
         "taskRef": {"name": shared_name(spec, "deploy")},
         "params": [*(_pipeline_param(n) for n in ("module", "environment", "revision",
                                                    "branch", "repo-url")),
                    {"name": "tag", "value": "$(tasks.tag.results.tag)"},
                    *([{"name": "digest", "value": "$(tasks.build.results.IMAGE_DIGEST)"}]
                      if spec.deploy.pin_digest else [])]},
    ]
    pipeline_spec: Object = {
        "description": f"Build and deploy any module of {spec.project}.",
        "params": [*({"name": name, "type": "string"} for name in names),
                   # a pull request's base commit (its Trigger's, where paths narrow builds)
                   {"name": "base-revision", "type": "string", "default": ""}],
        "workspaces": [{"name": "registry-credentials",
                        "description": "A docker config.json allowed to push images."}],
        "tasks": pipeline_tasks,
        "results": [
            {"name": name, "type": "string", "value": f"$(tasks.build.results.{name})"}
            for name in ("IMAGE_URL", "IMAGE_DIGEST", "build-seconds", "cache-bytes-before",
                         "cache-bytes-after")
        ],
    }
    if reports(spec):
        pipeline_spec["finally"] = [{
            "name": "report", "taskRef": {"name": shared_name(spec, "report")},
            "params": [{"name": "status", "value": "$(tasks.status)"},
                       _pipeline_param("module"), _pipeline_param("revision"),
                       _pipeline_param("repository"), _pipeline_param("github-api"),
                       {"name": "run", "value": "$(context.pipelineRun.name)"}],
        }]
    return {"apiVersion": "tekton.dev/v1", "kind": "Pipeline",
            "metadata": {"name": spec.project, **metadata}, "spec": pipeline_spec}


def _cleanup_pipeline(spec: Spec, metadata: Object) -> Object:
    return {"apiVersion": "tekton.dev/v1", "kind": "Pipeline",
            "metadata": {"name": shared_name(spec, "cleanup"), **metadata},
            "spec": {"description": f"Prune the finished runs of {spec.project}.",
                     "params": [{"name": "keep-runs", "type": "string"}],
                     "tasks": [{"name": "cleanup",
                                "taskRef": {"name": shared_name(spec, "cleanup")},
                                "params": [_pipeline_param("keep-runs")]}]}}


# What a dispatch run's commit status is named after (`shipspec/dispatch run`): no module,
# whose names hold no space.
DISPATCH_STATUS = "dispatch run"


def _dispatch_pipeline(spec: Spec, metadata: Object, modules: list[Module]) -> Object:
    names = tasks.DISPATCH_PARAMS
    pipeline_spec: Object = {
        "description": f"Start the runs of the modules of {spec.project} that an event "
                       "changes.",
        "params": [{"name": name, "type": "string"} for name in names],
        "tasks": [{"name": "dispatch", "taskRef": {"name": shared_name(spec, "dispatch")},
                   "params": [_pipeline_param(name) for name in names]}],
    }
    if reports(spec):
        # A dispatch that fails starts no run, and no run would tell of it. Its status goes
        # to the GitHub that hosts the modules; modules on two GitHubs get none.
        apis = {module.github_api for module in modules}
        api = apis.pop() if len(apis) == 1 else ""
        pipeline_spec["finally"] = [{
            "name": "report", "taskRef": {"name": shared_name(spec, "report")},
            "params": [{"name": "status", "value": "$(tasks.status)"},
                       {"name": "module", "value": DISPATCH_STATUS},
                       _pipeline_param("revision"), _pipeline_param("repository"),
                       {"name": "github-api", "value": api},
                       {"name": "run", "value": "$(context.pipelineRun.name)"},
                       {"name": "notify-on", "value": "failure"}],
        }]
    return {"apiVersion": "tekton.dev/v1", "kind": "Pipeline",
            "metadata": {"name": shared_name(spec, "dispatch"), **metadata},
            "spec": pipeline_spec}


def _selection(options: RenderOptions) -> list[str]:
    """generate's options, as `shipspec dispatch` arguments: the runs a dispatch starts are
    those of the modules and environment rendered, with the labels of every object."""
    return [*(["--env", options.environment] if options.environment else []),
            *(argument for module in options.modules for argument in ("--module", module)),
            *(argument for key, value in options.labels
              for argument in ("--label", f"{key}={value}"))]


def _near_module_runs(module: str) -> Object:
    """Prefer the node where the module's other runs are: its claims are ReadWriteOnce."""
    return {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100,
        "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"shipspec.dev/module": module}},
            "topologyKey": "kubernetes.io/hostname",
        },
    }]}}


# What a run of each event gets besides the Trigger's parameters: the event, the cache
# scope and whether the image is pushed. Pull requests share a scope of their own and push
# nothing: their code is untrusted.
_EVENT_VALUES = {"push": {"event": "push", "cache-scope": "branch", "no-push": "false"},
                 "pull-request": {"event": "pull_request", "cache-scope": "pull-requests",
                                  "no-push": "true"}}


def _build_run(spec: Spec, metadata: Object, event: str, value: dict[str, str]) -> Object:
    """The PipelineRun of the CI Pipeline for a push or a pull request, its parameters given
    by `value` (name → value): a TriggerTemplate's `$(tt.params.<name>)`, or the values
    themselves for a run started by hand."""
    project = spec.project
    push = event == "push"
    # Pull requests get an empty directory where pushes get the registry credentials.
    no_credentials = [{"name": "registry-credentials", "emptyDir": {}}]
    credentials = [{"name": "registry-credentials",
                    "secret": {"secretName": spec.registry.push_secret,
                               "items": [{"key": ".dockerconfigjson",
                                          "path": "config.json"}]}}
                   ] if spec.registry.push_secret and push else no_credentials
    names = (*run_params(spec), "revision", *(() if push else ("base-revision",)))
    params = [*({"name": p, "value": value[p]} for p in names),
              *({"name": name, "value": given}
                for name, given in _EVENT_VALUES[event].items())]
    # Untrusted code: an account with no Secret, no registry credentials, no push, its own
    # cache scope, no deploy.
    account = PUSH_ACCOUNT if push else PULL_REQUEST_ACCOUNT
    run = _pipeline_run(spec, "push" if push else "pr", project, account, params, {
        "shipspec.dev/project": project, "shipspec.dev/module": value["module"],
        "shipspec.dev/event": _EVENT_VALUES[event]["event"]}, credentials, metadata,
        value["module"])
    timeouts: dict[str, str] = {}
    if spec.ci.timeout_minutes is not None:  # else config-defaults' default-timeout-minutes
        timeouts["pipeline"] = f"{spec.ci.timeout_minutes}m"
    if reports(spec):
        # With the run's timeout alone, Tekton cancels the `finally` report with a build
        # that outlasts it (pkg/reconciler/pipelinerun/timeout.go): the one failure a team
        # most needs to hear of went unreported. With a finally timeout, the tasks' own is
        # the run's less the report's (pkg/apis/pipeline/v1/pipelinerun_types.go,
        # TasksTimeout), and the report runs once they time out.
        timeouts["finally"] = REPORT_TIMEOUT
    elif "pipeline" in timeouts:
        # Each TaskRun gets the tasks' timeout, or the cluster's default when there is none,
        # whatever the run's (pkg/reconciler/pipelinerun/pipelinerun.go,
        # pipelineRunTimeout): the build would stop at the default.
        timeouts["tasks"] = timeouts["pipeline"]
    if timeouts:
        run["spec"]["timeouts"] = timeouts
    if spec.ci.resources:
        # The build Task's resources, which Tekton spreads over its steps: requests divided
        # among them, since they run one after another, and the limits on each one
        # (pkg/internal/computeresources/tasklevel). A beta field, which Tekton accepts by
        # default (config-feature-flags' enable-api-fields: beta).
        amounts: dict[str, dict[str, str]] = {}
        for field, _ in spec.ci.resources:
            kind, name = field.split(".")
            amounts.setdefault(kind, {})[name] = value[resource_param(field)]
        run["spec"]["taskRunSpecs"] = [{"pipelineTaskName": "build",
                                        "computeResources": amounts}]
    return run


def _pipeline_run(spec: Spec, event: str, pipeline: str, account: str, params: list[Object],
                  labels: Object, workspaces: list[Object], metadata: Object,
                  module: str | None) -> Object:
    """A run of `pipeline`; of one module's (on its claims), or of the project's."""
    run_spec: Object = {
        "pipelineRef": {"name": pipeline},
        "taskRunTemplate": {"serviceAccountName": shared_name(spec, account),
                            "podTemplate": {
                                **({"affinity": _near_module_runs(module)} if module else {}),
                                # every container of the pod, Tekton's init containers too
                                "securityContext": {
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                                # the kubelet's alone: no container of the pod reads it
                                **({"imagePullSecrets": [{"name": spec.ci.pull_secret}]}
                                   if spec.ci.pull_secret else {})}},
        "params": params,
        **({"workspaces": workspaces} if workspaces else {}),
    }
    return {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
            "metadata": {"generateName": (f"{spec.project}-{module}-{event}-" if module
                                          else f"{spec.project}-{event}-"),
                         "labels": {**metadata["labels"], **labels},
                         "annotations": LEAVE_RUN},
            "spec": run_spec}


def _trigger_templates(spec: Spec, metadata: Object) -> list[Object]:
    def template(name: str, params: tuple[str, ...], run: Object,
                 optional: tuple[str, ...] = ()) -> Object:
        return {"apiVersion": "triggers.tekton.dev/v1beta1", "kind": "TriggerTemplate",
                "metadata": {"name": shared_name(spec, name), **metadata},
                "spec": {"params": [*({"name": p} for p in params),
                                    *({"name": p, "default": ""} for p in optional)],
                         "resourcetemplates": [run]}}

    build_params = (*run_params(spec), "revision",
                    *(resource_param(field) for field, _ in spec.ci.resources))
    # given by the Triggers of modules whose paths narrow their pull requests' builds
    base = ("base-revision",)
    passed = {p: f"$(tt.params.{p})" for p in (*build_params, *base)}
    cleanup_params = ("keep-runs",)
    return [
        *([template("dispatch", tuple(tasks.DISPATCH_PARAMS), _dispatch_run(spec, metadata))]
          if spec.ci.triggers == "dispatch" else [
            template("push", build_params, _build_run(spec, metadata, "push", passed)),
            template("pull-request", build_params,
                     _build_run(spec, metadata, "pull-request", passed), base)]),
        template("cleanup", cleanup_params, _pipeline_run(
            spec, "cleanup", shared_name(spec, "cleanup"), CLEANUP_ACCOUNT,
            [{"name": p, "value": f"$(tt.params.{p})"} for p in cleanup_params],
            # not a module's run: its own label, which the cleanup of each module had
            # too (set to the module), so that the prune finds those as well
            {"shipspec.dev/project": spec.project, "shipspec.dev/cleanup-of": spec.project},
            [], metadata, None)),
    ]


def _dispatch_run(spec: Spec, metadata: Object) -> Object:
    run = _pipeline_run(
        spec, "dispatch", shared_name(spec, "dispatch"), DISPATCH_ACCOUNT,
        [{"name": p, "value": f"$(tt.params.{p})"} for p in tasks.DISPATCH_PARAMS],
        {"shipspec.dev/project": spec.project, "shipspec.dev/dispatch-of": spec.project},
        [], metadata, None)
    if reports(spec):  # as a build's run: its report is not cancelled with a dispatch that hangs
        run["spec"]["timeouts"] = {"finally": REPORT_TIMEOUT}
    return run


def _module_objects(spec: Spec, module: Module, options: RenderOptions,
                    metadata: Object) -> list[Object]:
    """The module's two claims and its Triggers (none under ci.triggers: dispatch)."""

    def claim(name: str, size: str, purpose: str) -> Object:
        claim_spec: Object = {"accessModes": ["ReadWriteOnce"],
                              "resources": {"requests": {"storage": size}}}
        if spec.ci.storage_class:
            claim_spec["storageClassName"] = spec.ci.storage_class
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, **metadata,
                             "labels": {**metadata["labels"], "shipspec.dev/purpose": purpose},
                             "annotations": KEEP_CLAIM},
                "spec": claim_spec}

    return [
        claim(module.claims.workspace, spec.ci.workspace_size, "workspace"),
        claim(module.claims.cache, spec.ci.cache_size, "cache"),
        *(() if spec.ci.triggers == "dispatch" else triggers.module_triggers(
            spec, module, _deployments(module, options), _module_settings(spec, module),
            metadata)),
    ]


def _module_settings(spec: Spec, module: Module) -> dict[str, str]:
    """The run parameters a module's TriggerBinding gives every run of the module."""
    return {
        "module": module.name, "repo-url": module.repo,
        "workspace-claim": module.claims.workspace, "cache-claim": module.claims.cache,
        "image": module.image, "dockerfile": module.dockerfile, "context": module.context,
        "build-tool": module.build, "build-task": module.build_task,
        "prebuild-image": spec.ci.images[PREBUILD_IMAGE[module.build]],
        **({"repository": module.repo_slug, "github-api": module.github_api}
           if reports(spec) else {}),
        **{resource_param(field): amount for field, amount in module.resources},
    }


def runs_by_hand(spec: Spec, options: RenderOptions, revision: str) -> list[Rendered]:
    """The PipelineRuns that a push of commit `revision` to each selected module's branch
    would start (the push TriggerTemplate with the module's and the Trigger's values), for
    `kubectl create`: a module's first build, or one again, without a push."""
    namespace, modules = _checked(spec, options)
    metadata = _metadata(spec, namespace, options)
    runs = []
    for module in modules:
        for deployment in _deployments(module, options):
            run = _run_of(spec, metadata, "push", module, deployment, revision)
            run["metadata"]["namespace"] = namespace
            runs.append(Rendered(f"pipelinerun-{module.name}-{deployment.environment}.yaml",
                                 run))
    return runs


def dispatched_runs(spec: Spec, options: RenderOptions, event: str, repository: str,
                    branch: str, revision: str, files: list[str] | None) -> list[Object]:
    """The PipelineRuns a dispatch run starts (ci.triggers: dispatch) for a push of commit
    `revision` to `branch` of `repository` (owner/name), or a pull request of it against
    `branch`: those the module's own Triggers would have started, for the modules whose
    paths `files` touch (None: the files are not known, so every module of the branch)."""
    from shipspec.changes import builds  # its patterns: off generate's start

    _, modules = _checked(spec, options)
    # the namespace is the dispatch run's own, where the runs are created
    metadata = _metadata(spec, None, options)
    return [_run_of(spec, metadata, event, module, deployment, revision)
            for module in modules
            if module.builds_from(repository) and (
                files is None or builds(module.paths, module.deployment_files, files))
            for deployment in _deployments(module, options)
            if deployment.trigger_branch == branch]


def _run_of(spec: Spec, metadata: Object, event: str, module: Module, deployment: Deployment,
            revision: str) -> Object:
    """The run the module's own Trigger of `event` starts for the deployment's branch at
    `revision`, its values filled in. A pull request's is told no base commit: whoever
    starts it knows the changes already, and its tag Task need not look again."""
    return _build_run(spec, metadata, event, {
        **_module_settings(spec, module), **triggers.trigger_values(deployment),
        "revision": revision, **({} if event == "push" else {"base-revision": ""})})


def source_url(spec: Spec, repository: str) -> str:
    """The URL the spec gives the repository `repository` (owner/name) of its modules."""
    for module in spec.enabled_modules:
        if module.builds_from(repository):
            return module.repo
    raise SpecError.single(f"no enabled module builds from {repository}",
                           hint="the Trigger's filter names only the modules' repositories")


def _deployments(module: Module, options: RenderOptions) -> tuple[Deployment, ...]:
    """The module's deployments to the environment asked for (all when none is)."""
    return tuple(d for d in module.deployments if options.environment in (None, d.environment))
