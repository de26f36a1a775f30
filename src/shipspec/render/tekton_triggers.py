"""Tekton Triggers: which webhook events start which runs, for which module.

By default (ci.triggers: modules) every module gets its own `Trigger` objects (push and
pull request per deployment) and a TriggerBinding with its build settings; one cleanup
Trigger serves the project. The single
EventListener names the Triggers one by one (`triggerRef`), so changing a module's settings
changes only that module's objects, and the listener picks up nothing it was not told
about. Each Trigger first has the `github` interceptor check the webhook's signature against
the secret (never optional) and its event type, then a `cel` filter pick the events of this
module: its repository, its branch and, in a mono repo, changes below its paths (but for a
deploy's own commit, where the source repository is the deployment repository).

Under ci.triggers: dispatch no module has Triggers of its own: the project's push and pull
request Triggers filter by repository and branch alone, and start a dispatch run, which
picks the modules from the files the event changed (dispatch_triggers).
"""

from __future__ import annotations

import re
from functools import cache
from operator import attrgetter
from typing import Any

from shipspec.render import Gap
from shipspec.render.tekton_names import (
    settings_binding_name,
    shared_name,
    trigger_name,
)
from shipspec.spec import Deployment, Module, Spec

Object = dict[str, Any]

PULL_REQUEST_ACTIONS = ("opened", "synchronize", "reopened")
# What a push event's delivery lists (GitHub's REST description, `webhook-push`): at most
# 2048 commits, and at most 3000 changed files of each. A push that reaches either limit may
# have changed files it does not name, so it builds every module of its branch rather than
# risk missing one. (Timeline events list 20 commits; webhook deliveries are not cut there.)
PUSH_COMMITS_LISTED = 2048
COMMIT_FILES_LISTED = 3000
# cel-go refuses to parse a longer expression ("expression code point size exceeds limit":
# parser/parser.go, its default), and Tekton Triggers' cel interceptor sets no other
# (pkg/interceptors/cel/cel.go, makeCelEnv, at triggers 0889029, which takes cel-go
# v0.30.0): the Trigger is accepted, and every event fails its filter.
CEL_CODE_POINTS = 100_000
_BRANCH = attrgetter("trigger_branch")


def cel_string(text: str) -> str:
    """A CEL string literal holding `text` exactly. CEL's grammar forbids raw line breaks
    and control characters in a literal; they go in as \\u escapes."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + _CEL_CONTROL.sub(lambda found: f"\\u{ord(found.group(0)):04x}", escaped) + "'"


_CEL_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@cache  # four triggers a module, and most modules share one repository
def from_repository(slug: str) -> str:
    """CEL: the event comes from the repository `slug` (owner/name)."""
    return from_repositories((slug,))


def from_repositories(slugs: tuple[str, ...]) -> str:
    """CEL: the event comes from one of the repositories `slugs`. GitHub compares these
    names without case, and its events spell them as the repository was created, the spec
    as its author typed it: `==` let no event of `XiiLab/App` through for `xiilab/app`.
    matches() with (?i) is standard CEL (RE2 in cel-go): Tekton's environment has
    lowerAscii() too (cel-go's strings extension, pkg/interceptors/cel/cel.go), other CEL
    evaluators may not. Every character but letters, digits, '/', '_' and '-' is written
    as an escape, so that none is read as an operator."""
    either = "|".join("".join(
        char if char.isascii() and (char.isalnum() or char in "/_-")
        else f"\\x{ord(char):02x}" if char.isascii() else char for char in slug)
        for slug in slugs)
    pattern = either if len(slugs) == 1 else f"(?:{either})"
    return f"body.repository.full_name.matches({cel_string(f'(?i)^{pattern}$')})"


def _touches_path(path: str) -> str:
    """CEL: the changed file `f` is `path` or below it."""
    return f"f == {cel_string(path)} || f.startsWith({cel_string(path + '/')})"


_OR = " || "
# The most paths a module's push filter can ever hold: each adds at least what a path of one
# character writes, and the `||` before the next. The spec's loading refuses a module of more
# on the parsed document, before checking each of them.
PATH_CEL_MINIMUM = len(_touches_path("p") + _OR)
MAX_FILTER_PATHS = CEL_CODE_POINTS // PATH_CEL_MINIMUM


def push_filter(module: Module, deployment: Deployment) -> str:
    """CEL: a push to the deployment's branch of the module's repo that touches its paths."""
    conditions = [
        from_repository(module.repo_slug),
        f"body.ref == {cel_string('refs/heads/' + deployment.trigger_branch)}",
        "!body.deleted",
    ]
    touched = _OR.join(_touches_path(path.rstrip("/")) for path in module.paths)
    if module.deployment_files:  # as changes.touched and deploys_only read a change
        listed = ", ".join(cel_string(file) for file in sorted(module.deployment_files))
        touched = f"!(f in [{listed}]) && ({touched})" if touched else f"!(f in [{listed}])"
    if touched:
        files = "size(c.added) + size(c.modified) + size(c.removed)"
        conditions.append(
            f"(size(body.commits) == 0 || size(body.commits) >= {PUSH_COMMITS_LISTED} || "
            f"body.commits.exists(c, {files} >= {COMMIT_FILES_LISTED} || "
            f"(c.added + c.modified + c.removed).exists(f, {touched}))"
            # a push of empty commits builds a module without paths, as it did before
            + ("" if module.paths else f" || body.commits.all(c, {files} == 0)") + ")"
        )
    return " && ".join(conditions)


def overlong_filters(spec: Spec) -> list[Gap]:
    """Modules whose push filter cel-go would refuse to parse, so that no push ever built
    them: each of its paths and of the deployment files it leaves out adds to it; and the
    project's filters (the cleanup's, and under ci.triggers: dispatch the push and pull
    request ones), which name every repository of the modules. The filters are measured
    only where a bound says one may be too long (the plugin checks every refresh, and the
    bound takes C loops alone): a Python string's length counts code points, as cel-go does,
    and no name is written in more than six characters for each of its own (a \\u escape),
    nor a path in more than 12 (it is written twice) and 40 of text around it."""
    gaps: list[Gap] = []
    dispatch = spec.ci.triggers == "dispatch"  # no filter of a module's own
    for module in spec.enabled_modules:
        if dispatch or not module.deployments:
            continue
        paths, files = module.paths, module.deployment_files
        branch = max(map(len, map(_BRANCH, module.deployments)))
        bound = (1000 + 6 * (len(module.repo_slug) + branch) + 40 * (len(paths) + len(files))
                 + 12 * (sum(map(len, paths)) + sum(map(len, files))))
        if bound <= CEL_CODE_POINTS:
            continue
        longest = max(len(cel) for deployment in module.deployments for cel in (
            push_filter(module, deployment),
            pull_request_filter(module, deployment, spec.source.fork_pull_requests)))
        if longest > CEL_CODE_POINTS:
            # (none of either when the repository's name or a branch is what makes it long)
            counted = ", ".join(f"{count:,} {what}" for count, what in (
                (len(paths), "paths"), (len(files), "deployment files left out")) if count)
            gaps.append((
                ("modules", module.name, *(("paths",) if paths else ())),
                f"the CEL filter of its Triggers would be {longest:,} characters long"
                + (f" ({counted})" if counted else "")
                + f": Tekton Triggers parses at most {CEL_CODE_POINTS:,} (cel-go's limit), "
                "so every push would fail the filter and build nothing",
                "name fewer paths (a directory covers every file below it), or keep the "
                "deployment files out of the module's repository"))
    modules = list(spec.enabled_modules)
    slugs = {module.repo_slug for module in modules}
    branches = tuple(sorted({d.trigger_branch for m in modules for d in m.deployments}))
    if 400 + 6 * (sum(len(slug) + 1 for slug in slugs) +
                  (sum(len(branch) + 20 for branch in branches) if dispatch else 0)
                  ) > CEL_CODE_POINTS:
        forks = spec.source.fork_pull_requests
        longest = max(map(len, [cleanup_filter(modules, forks), *(
            dispatch_filters(modules, branches, forks).values() if dispatch else ())]))
        if longest > CEL_CODE_POINTS:
            gaps.append((
                ("modules",),
                f"the modules come from {len(slugs):,} repositories: the CEL filter of the "
                + ("project's Triggers, which name" if dispatch else "cleanup Trigger, which names")
                + f" them all, would be {longest:,} characters "
                f"long, and Tekton Triggers parses at most {CEL_CODE_POINTS:,} (cel-go's "
                "limit), so " + ("no event would start a run" if dispatch else
                                 "no run would ever be pruned"),
                "split the modules into specs of their own, each with its project"))
    return gaps


# The pull request's branch is in the repository itself, not in a fork.
_FROM_THE_REPOSITORY = "body.pull_request.head.repo.id == body.repository.id"


def pull_request_filter(module: Module, deployment: Deployment, forks: bool) -> str:
    """CEL: a pull request opened or updated against the deployment's branch, from a branch
    of the repository itself unless `forks`.

    Pull request events carry no file list, so paths cannot narrow them here: the run's
    tag Task does (module_triggers). A fork's pull request runs code anyone can write on a
    public repository, which a branch of the repository does only for those who may push
    to it. Repositories are compared by id, which a rename keeps; a deleted fork's
    `head.repo` is null, an error for CEL, and Triggers takes an error for no match.
    """
    return _pull_requests(from_repository(module.repo_slug), (deployment.trigger_branch,),
                          forks)


def _pull_requests(repositories: str, branches: tuple[str, ...], forks: bool) -> str:
    actions = ", ".join(cel_string(action) for action in PULL_REQUEST_ACTIONS)
    return " && ".join([
        repositories,
        f"body.action in [{actions}]",
        _one_of("body.pull_request.base.ref", branches),
        *([] if forks else [_FROM_THE_REPOSITORY]),
    ])


def _one_of(field: str, values: tuple[str, ...]) -> str:
    """CEL: `field` is one of `values`."""
    if len(values) == 1:
        return f"{field} == {cel_string(values[0])}"
    return f"{field} in [{', '.join(map(cel_string, values))}]"


def dispatch_filters(modules: list[Module], branches: tuple[str, ...],
                     forks: bool) -> dict[str, str]:
    """ci.triggers: dispatch. CEL, by event: a push to a branch an environment deploys from,
    or a pull request against one (pull_request_filter), in a repository of the modules.
    Which modules the event builds, its dispatch run decides from the files it changes."""
    repositories = from_repositories(tuple(sorted({m.repo_slug for m in modules})))
    return {
        "push": " && ".join([
            repositories,
            _one_of("body.ref", tuple(f"refs/heads/{branch}" for branch in branches)),
            "!body.deleted"]),
        "pull-request": _pull_requests(repositories, branches, forks),
    }


def cleanup_filter(modules: list[Module], forks: bool) -> str:
    """CEL: a branch deleted or a pull request closed in a repository of the modules; the
    pull request one that could build (pull_request_filter), so that opening and closing a
    fork's pull requests does not start cleanup runs for anyone who wishes."""
    closed = ["header.match('X-GitHub-Event', 'pull_request')", "body.action == 'closed'",
              *([] if forks else [_FROM_THE_REPOSITORY])]
    return (
        f"{from_repositories(tuple(sorted({m.repo_slug for m in modules})))} && ("
        "(header.match('X-GitHub-Event', 'delete') && body.ref_type == 'branch') || "
        f"({' && '.join(closed)}))"
    )


def _interceptors(spec: Spec, event_types: list[str], cel_filter: str) -> list[Object]:
    return [
        {
            "name": "verify-github-signature",
            "ref": {"name": "github", "kind": "ClusterInterceptor"},
            "params": [
                {"name": "secretRef", "value": {"secretName": spec.source.webhook_secret,
                                                "secretKey": spec.source.webhook_secret_key}},
                {"name": "eventTypes", "value": event_types},
            ],
        },
        {
            "name": "select-module",
            "ref": {"name": "cel", "kind": "ClusterInterceptor"},
            "params": [{"name": "filter", "value": cel_filter}],
        },
    ]


def _trigger(spec: Spec, name: str, metadata: Object, interceptors: list[Object],
             bindings: list[str], values: dict[str, str], template: str) -> Object:
    return {
        "apiVersion": "triggers.tekton.dev/v1beta1",
        "kind": "Trigger",
        "metadata": {"name": name, **metadata},
        "spec": {
            "interceptors": interceptors,
            "bindings": [
                *({"kind": "TriggerBinding", "ref": binding} for binding in bindings),
                *({"name": key, "value": value} for key, value in values.items()),
            ],
            "template": {"ref": template},
        },
    }


def module_triggers(spec: Spec, module: Module, deployments: tuple[Deployment, ...],
                    build_values: dict[str, str], metadata: Object) -> list[Object]:
    """The module's build settings (one TriggerBinding) and its push and PR Triggers."""
    settings = settings_binding_name(module)
    objects = [_binding(settings, build_values, metadata)]
    for deployment in deployments:
        values = trigger_values(deployment)
        objects.append(_trigger(
            spec, trigger_name(module, deployment, "push"), metadata,
            _interceptors(spec, ["push"], push_filter(module, deployment)),
            [shared_name(spec, "push"), settings], values, shared_name(spec, "push")))
        # A pull request's event lists no files: with its base commit, the run's tag Task
        # finds those it changes and builds the module only when they touch its paths (and
        # are not the deployment files alone: a deploy proposed as a pull request).
        narrowed = ({"base-revision": "$(body.pull_request.base.sha)"}
                    if module.paths or module.deployment_files else {})
        objects.append(_trigger(
            spec, trigger_name(module, deployment, "pr"), metadata,
            _interceptors(spec, ["pull_request"], pull_request_filter(
                module, deployment, spec.source.fork_pull_requests)),
            [shared_name(spec, "pull-request"), settings], {**values, **narrowed},
            shared_name(spec, "pull-request")))
    return objects


def cleanup_trigger(spec: Spec, modules: list[Module], metadata: Object) -> Object:
    """One cleanup for the project, whichever of its repositories the event comes from: its
    run prunes every module's runs, and each build removes the run directories that failed
    runs left on its module's claim (tekton_tasks). With a cleanup Trigger for each module,
    every pull request closed in a mono repo of 200 modules started 200 runs, a pod each."""
    return _trigger(spec, shared_name(spec, "cleanup"), metadata,
                    _interceptors(spec, ["delete", "pull_request"], cleanup_filter(
                        modules, spec.source.fork_pull_requests)), [],
                    {"keep-runs": str(spec.ci.keep_runs)}, shared_name(spec, "cleanup"))


# What a dispatch run gets of each event (dispatch_triggers).
_DISPATCHED = {
    "push": {"event": "push", "repository": "$(body.repository.full_name)",
             "branch": "$(body.ref)", "revision": "$(body.after)",
             "base-revision": "$(body.before)"},
    "pull-request": {"event": "pull-request", "repository": "$(body.repository.full_name)",
                     "branch": "$(body.pull_request.base.ref)",
                     "revision": "$(body.pull_request.head.sha)",
                     "base-revision": "$(body.pull_request.base.sha)"},
}


def dispatch_triggers(spec: Spec, modules: list[Module], branches: tuple[str, ...],
                      metadata: Object) -> list[Object]:
    """ci.triggers: dispatch. The project's push and pull-request Triggers, in place of
    every module's: each starts one dispatch run, which starts the runs of the modules the
    event changes. A push or a pull request of a mono repo of 200 modules started 200 runs
    (each a pod that fetched both sides), and each delivery went through 800 filters."""
    filters = dispatch_filters(modules, branches, spec.source.fork_pull_requests)
    return [_trigger(spec, shared_name(spec, event), metadata,
                     _interceptors(spec, [event.replace("-", "_")], filters[event]), [],
                     _DISPATCHED[event], shared_name(spec, "dispatch"))
            for event in ("push", "pull-request")]


def trigger_values(deployment: Deployment) -> dict[str, str]:
    """What a module's push and pull-request Triggers of one environment add to its run."""
    return {"environment": deployment.environment, "branch": deployment.trigger_branch,
            "deploys": "true" if deployment.targets else "false"}


def _binding(name: str, params: dict[str, str], metadata: Object) -> Object:
    return {
        "apiVersion": "triggers.tekton.dev/v1beta1",
        "kind": "TriggerBinding",
        "metadata": {"name": name, **metadata},
        "spec": {"params": [{"name": k, "value": v} for k, v in params.items()]},
    }


def trigger_bindings(spec: Spec, metadata: Object) -> list[Object]:
    """What each kind of event contributes to a run: the commit to build."""
    return [
        _binding(shared_name(spec, "push"), {"revision": "$(body.after)"}, metadata),
        _binding(shared_name(spec, "pull-request"),
                 {"revision": "$(body.pull_request.head.sha)"}, metadata),
    ]


def event_listener(spec: Spec, metadata: Object, service_account: str,
                   trigger_names: list[str]) -> Object:
    return {
        "apiVersion": "triggers.tekton.dev/v1beta1",
        "kind": "EventListener",
        "metadata": {"name": spec.project, **metadata},
        "spec": {
            "serviceAccountName": service_account,
            "triggers": [{"triggerRef": name} for name in trigger_names],
        },
    }
