"""Writing new image tags into the deployment repository, safely when many pipelines race.

    from shipspec.bump import Change, BumpOptions, bump
    outcome = bump(spec, [Change(module, deployment, image)], options)

One commit carries every module of a call. When the push is rejected because another
pipeline pushed first, the *edit* is applied again on the new tip (not a textual rebase)
and pushed again, after a jittered exponential back-off, a bounded number of times; never
with force. If meanwhile someone set one of our keys to a third value, that is reported as
a conflict instead of being overwritten, unless asked.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from shipspec import templates
from shipspec.bump.git import Author, Checkout, Credentials
from shipspec.bump.targets import NewImage, describe, kind_of
from shipspec.errors import RuntimeFailure, SpecError
from shipspec.spec import Deployment, Module, Spec, Target
from shipspec.yamltext import YamlText


class Change(NamedTuple):
    module: Module
    deployment: Deployment
    image: NewImage


class BumpOptions(NamedTuple):
    repo_url: str | None = None  # default: deploy.url of the spec
    branch: str | None = None  # default: the deployment's branch
    dry_run: bool = False
    pull_request: bool = False  # push to a new branch instead
    retries: int = 20
    force: bool = False  # overwrite a tag someone else changed meanwhile
    credentials: Credentials = Credentials(None, "no token")
    date: str = "19700101"


class Outcome(NamedTuple):
    status: str  # committed | up-to-date | dry-run | pull-request
    branch: str
    commit: str | None
    changes: list[tuple[str, str, str]]  # (module, old tag, new tag)
    diff: str
    attempts: int


def bump(spec: Spec, changes: list[Change], options: BumpOptions,
         sleep: Callable[[float], None] = time.sleep,
         jitter: Callable[[], float] = random.random) -> Outcome:
    url = _repository(spec, options)
    branch = _branch(changes, options)
    targets = [(change, target) for change in changes
               for target in _targets_of(change.module, change.deployment)]
    with tempfile.TemporaryDirectory(prefix="shipspec-bump-") as workdir:
        checkout = Checkout.clone(url, branch, f"{workdir}/repo", options.credentials,
                                  paths=[p for _, t in targets for p in kind_of(t).paths(t)])
        seen: dict[int, str] = {}  # target index → the tag found before our first edit
        for attempt in range(1, options.retries + 2):
            edits, paths = _apply(checkout, targets, seen, options.force)
            if not edits:
                return Outcome("up-to-date", branch, None, [], "", attempt)
            if options.dry_run:
                return Outcome("dry-run", branch, None, edits, checkout.diff(), attempt)
            message = _message(spec, changes, edits, options.date)
            author = Author(spec.deploy.author_name, spec.deploy.author_email)
            commit = checkout.commit(message, author, paths)
            target_branch = _pull_request_branch(changes) if options.pull_request else branch
            if checkout.push(target_branch):
                status = "pull-request" if options.pull_request else "committed"
                return Outcome(status, target_branch, commit, edits, "", attempt)
            # "Full jitter": a uniform wait up to an exponential cap spreads the pipelines
            # that lost a round, so that fewer of them contend in the next one.
            sleep(min(0.5, 0.05 * 2 ** attempt) * jitter())
            checkout.refresh(branch)
    raise RuntimeFailure(
        f"error: gave up after {options.retries + 1} attempts: {branch} kept moving under us\n"
        "  hint: retry the job, or raise --retries")


def _repository(spec: Spec, options: BumpOptions) -> str:
    url = options.repo_url or spec.deploy.url
    if not url:
        raise SpecError.single("no deployment repository",
                               hint="set deploy.url in the spec, or pass --repo")
    return url


def _targets_of(module: Module, deployment: Deployment) -> tuple[Target, ...]:
    if not deployment.targets:
        raise SpecError.single(
            f"module '{module.name}' has no deployment target in '{deployment.environment}'",
            hint="give it values, kustomize or manifest in the spec")
    return deployment.targets


def _file_of(checkout: Checkout, target: Target) -> str:
    """The file of `target` in the checkout: the first of its candidate paths that exists."""
    for path in kind_of(target).paths(target):
        if checkout.exists(path):
            return path
    raise RuntimeFailure(f"error: {describe(target)} does not exist in the deployment "
                         "repository; nothing was changed")


@contextmanager
def _first_target(spec: Spec, module: Module, deployment: Deployment, options: BumpOptions,
                  history: bool) -> Iterator[tuple[Checkout, Target, str]]:
    """A checkout holding the module's first target in `deployment`, and its file."""
    target = _targets_of(module, deployment)[0]
    with tempfile.TemporaryDirectory(prefix="shipspec-read-") as workdir:
        checkout = Checkout.clone(_repository(spec, options),
                                  options.branch or deployment.deploy_branch,
                                  f"{workdir}/repo", options.credentials,
                                  paths=kind_of(target).paths(target), history=history)
        yield checkout, target, _file_of(checkout, target)


def _branch(changes: list[Change], options: BumpOptions) -> str:
    branches = {change.deployment.deploy_branch for change in changes}
    if options.branch:
        return options.branch
    if len(branches) > 1:
        raise SpecError.single("these modules deploy to different branches: "
                               + ", ".join(sorted(branches)),
                               hint="bump them one branch at a time")
    return branches.pop()


def _apply(checkout: Checkout, targets: list[tuple[Change, Target]], seen: dict[int, str],
           force: bool) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Write every tag into the working copy; the (module, old, new) that changed, and the
    files. `seen` keeps what each target held when we first looked, to spot conflicts."""
    documents: dict[str, YamlText] = {}
    edits = []
    for index, (change, target) in enumerate(targets):
        kind = kind_of(target)
        path = _file_of(checkout, target)
        document = documents.get(path) or YamlText(checkout.read(path), path)
        documents[path] = document
        current = kind.read(document, target)
        before = seen.setdefault(index, current)
        kind.write(document, target, change.image)  # in memory; files are written below
        after = kind.read(document, target)
        if current not in (before, after) and not force:
            raise RuntimeFailure(
                f"error: conflict: {describe(target)} was changed to '{current}' by someone "
                f"else while we were setting '{after}' (it was '{before}')\n"
                "  hint: look at the deployment repository's history; --force overwrites it")
        if after != current:
            edits.append((change.module.name, current, after))
    changed = []
    for path, document in documents.items():
        if document.text != checkout.read(path):
            checkout.write(path, document.text)
            changed.append(path)
    return (edits if changed else []), changed


def _message(spec: Spec, changes: list[Change], edits: list[tuple[str, str, str]],
             date: str) -> str:
    environments = sorted({change.deployment.environment for change in changes})
    title = templates.render(spec.deploy.commit_message, {
        "env": ", ".join(environments),
        "changes": ", ".join(f"{module}={new}" for module, _, new in edits),
        "modules": ", ".join(dict.fromkeys(module for module, _, _ in edits)),
        "project": spec.project,
        "date": date,
    })
    body = "\n".join(f"{module}: {old or '(none)'} -> {new}" for module, old, new in edits)
    return f"{title}\n\n{body}\n"


def _pull_request_branch(changes: list[Change]) -> str:
    first = changes[0]
    name = f"shipspec/{first.deployment.environment}/{first.module.name}-{first.image.tag}"
    return re.sub(r"[^A-Za-z0-9._/-]", "-", name)


def plan(spec: Spec, module_names: list[str], environment: str | None, *, tag: str | None,
         sha: str | None, digest: str | None, set_repository: bool, date: str) -> list[Change]:
    """The changes that `bump` makes: each module's tag from the spec (`sha`) or as given."""
    from shipspec.tags import image_tag

    changes = []
    for name in dict.fromkeys(module_names):
        module = spec.module(name)
        deployment = module.deployment(environment)
        module_tag = tag if tag is not None else image_tag(
            spec, module, deployment, sha=sha or "", branch=None, date=date)
        changes.append(Change(module, deployment,
                              NewImage(module.image, module_tag, digest, set_repository)))
    return changes


class HistoryEntry(NamedTuple):
    commit: str
    date: str
    author: str
    tag: str


def history(spec: Spec, module: Module, deployment: Deployment,
            options: BumpOptions) -> list[HistoryEntry]:
    """The tags a module had in an environment, newest first, from the repository's log."""
    entries: list[HistoryEntry] = []
    with _first_target(spec, module, deployment, options, history=True) as (checkout, target,
                                                                            path):
        kind = kind_of(target)
        for commit, date, author in reversed(checkout.log(path)):
            text = checkout.show(commit, path)
            try:
                tag = kind.read(YamlText(text, path), target) if text is not None else ""
            except SpecError:
                tag = ""
            if tag and (not entries or entries[-1].tag != tag):
                entries.append(HistoryEntry(commit, date, author, tag))
    return entries[::-1]


def deployed_tag(spec: Spec, module: Module, deployment: Deployment,
                 options: BumpOptions) -> str:
    """The tag a module has now in an environment, read from the deployment repository."""
    # the source environment's own branch, whatever --branch says of the target
    with _first_target(spec, module, deployment, options._replace(branch=None),
                       history=False) as (checkout, target, path):
        tag = kind_of(target).read(YamlText(checkout.read(path), path), target)
    if not tag:
        raise SpecError.single(f"module '{module.name}' has no tag in "
                               f"'{deployment.environment}' yet")
    return tag
