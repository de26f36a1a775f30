"""Writing new image tags into the deployment repository, safely when many pipelines race.

    from shipspec.bump import Change, BumpOptions, bump
    outcome = bump(spec, [Change(module, deployment, image)], options)

One commit carries every module of a call. Bumps of one branch that arrive together are
written as one commit too, by whichever of them takes the branch's lock (see queue.py):
N pipelines then clone and push about once in all, instead of racing and re-trying about
N²/2 times. Where the queue cannot be used (a dry run, a server that refuses its refs,
`queue=False`), a bump pushes directly: when the push is rejected because another
pipeline pushed first, the *edit* is applied again on the new tip (not a textual rebase)
and pushed again, after a jittered exponential back-off, a bounded number of times; never
with force. Either way, if meanwhile someone set one of our keys to a third value, that is
reported as a conflict instead of being overwritten, unless asked.

An environment whose `delivery` is `pull-request` gets the same commit as a pull request
instead (see pull_request.py); its bumps queue apart from those that push.
"""

# Annotations evaluated, as in spec.py: the records below start every waiting bump, and
# typing compiles a record's field annotations when they are strings.
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import NamedTuple

from shipspec.bump.git import Author, Checkout, Credentials
from shipspec.bump.request import Changed, Edit, Request, file_of, message, write
from shipspec.bump.source import NEWER_BUILDS_LIMIT, NewerCommit
from shipspec.bump.targets import NewImage, kind_of
from shipspec.errors import RuntimeFailure, ShipspecError, SpecError
from shipspec.spec import (
    Delivery,
    Deployment,
    Forge,
    Module,
    Signing,
    Spec,
    Target,
    target_paths,
)
from shipspec.values.yamltext import YamlText


class Change(NamedTuple):
    module: Module
    deployment: Deployment
    image: NewImage
    newer: tuple[str, ...] = ()  # the module's tags of newer commits: kept (Edit.newer)


class BumpOptions(NamedTuple):
    repo_url: str | None = None  # default: deploy.url of the spec
    branch: str | None = None  # default: the deployment's branch
    dry_run: bool = False
    pull_request: bool = False  # deliver by pull request, whatever the spec says
    retries: int = 20
    force: bool = False  # overwrite a tag someone else changed meanwhile
    credentials: Credentials = Credentials(None, "no token")
    date: str = "19700101"
    queue: bool = True  # batch with the bumps that arrive at the same time (queue.py)
    lease: float = 60.0  # seconds a queue lock may stay unchanged before it counts as dead
    wait: float = 600.0  # seconds to wait for a queued change to be written
    action: str = "deploy"  # deploy | rollback | promote: the commit message says which
    sha: str = ""  # the commit that was built, when the tag came from it
    signing: Signing | None = None  # sign the commits (deploy.signing)
    forge: Forge | None = None  # where pull requests are opened (deploy.forge)
    delivery: Delivery = Delivery()  # set by bump() from the environments' delivery


class Outcome(NamedTuple):
    status: str  # committed | up-to-date | dry-run | pull-request
    branch: str
    commit: str | None
    changes: list[tuple[str, str, str]]  # (module, old tag, new tag)
    diff: str
    attempts: int
    batched: int = 0  # other bumps written in the same commit
    note: str = ""  # something the user should know, such as why the queue was not used
    delivered: str = ""  # what became of the pull request (pull_request.py), one line each


Sleep = Callable[[float], None]


def bump(spec: Spec, changes: list[Change], options: BumpOptions,
         sleep: Sleep = time.sleep, jitter: Callable[[], float] = random.random) -> Outcome:
    url = _repository(spec, options)
    branch = _branch(changes, options)
    request = Request(
        edits=[Edit(change.module.name, target, change.image, change.newer)
               for change in changes
               for target in _targets_of(change.module, change.deployment)],
        title=spec.deploy.commit_message,
        line=spec.deploy.commit_line,
        variables={"action": options.action,
                   "env": ", ".join(sorted({c.deployment.environment for c in changes})),
                   "branch": ", ".join(sorted({c.deployment.trigger_branch for c in changes})),
                   "sha": options.sha, "sha8": options.sha[:8],
                   "project": spec.project, "date": options.date},
        author=Author(spec.deploy.author_name, spec.deploy.author_email),
        force=options.force)
    note = ""
    options = options._replace(delivery=delivery_of(changes, options))
    if options.queue and not options.dry_run:
        from shipspec.bump import queue

        queued = queue.bump(url, branch, request, options, sleep, jitter)
        if isinstance(queued, Outcome):
            return queued
        note = queued
    return _push_directly(url, branch, request, options, sleep, jitter)._replace(note=note)


def _push_directly(url: str, branch: str, request: Request, options: BumpOptions,
                   sleep: Sleep, jitter: Callable[[], float]) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="shipspec-bump-") as workdir:
        checkout = Checkout.clone(url, branch, f"{workdir}/repo", options.credentials,
                                  paths=request.paths())
        signed = signing_environment(options, workdir)
        seen: dict[tuple[int, int], str] = {}  # what each target held before our first edit
        for attempt in range(1, options.retries + 2):
            # read again after a pull request's branch moved under us
            proposed = newer_proposals(checkout, [request], options)
            [result], paths = write(checkout, [request], seen, proposed)
            if isinstance(result, ShipspecError):
                raise result
            if not paths:  # `result` holds the edits kept for a newer commit's tag
                return Outcome("up-to-date", branch, None, result, "", attempt)
            if options.dry_run:
                where = (f"a pull request into {branch}"
                         if options.delivery.method == "pull-request" else branch)
                return Outcome("dry-run", where, None, result, checkout.diff(), attempt)
            text = message([request], [result])
            commit = checkout.commit(text, request.author, paths, signed)
            if options.delivery.method == "pull-request":
                delivered = propose(checkout, branch, text, [request], [result], options,
                                    sleep)
                if delivered is not None:
                    return delivered._replace(commit=commit, changes=result, attempts=attempt)
            elif checkout.push(branch):
                return Outcome("committed", branch, commit, result, "", attempt)
            sleep(backoff(attempt, jitter))
            checkout.refresh(branch)
    raise gave_up(branch, options)


def gave_up(branch: str, options: BumpOptions) -> RuntimeFailure:
    """The failure of a bump whose every attempt found the branch moved by another push."""
    return RuntimeFailure(
        f"error: gave up after {options.retries + 1} attempts: {branch} kept moving under us\n"
        "  hint: retry the job, or raise --retries")


def newer_proposals(checkout: Checkout, requests: list[Request],
                    options: BumpOptions) -> dict[tuple[int, int], str]:
    """Delivered by pull request: the edits whose newer tag a pull request already proposes
    (pull_request.proposed_newer), for write() to keep."""
    if options.delivery.method != "pull-request":
        return {}
    from shipspec.bump.pull_request import proposed_newer

    return proposed_newer(checkout, requests)


def propose(checkout: Checkout, base: str, text: str, requests: list[Request],
            results: list[Changed | ShipspecError], options: BumpOptions,
            sleep: Sleep) -> Outcome | None:
    """The commit at HEAD, which writes `results`, delivered as a pull request: the outcome
    to complete with what was committed; None when its branch moved under us (start
    again)."""
    from shipspec.bump.pull_request import Scope, deliver

    scope = Scope.of(requests, results)
    delivered = deliver(checkout, base, text, scope, options.delivery, options.forge, sleep)
    if delivered is None:
        return None
    return Outcome("pull-request", scope.branch(), None, [], "", 0, delivered=delivered)


def delivery_of(changes: list[Change], options: BumpOptions) -> Delivery:
    """How the changes are delivered: by push, or by pull request."""
    deliveries = {change.deployment.delivery for change in changes}
    if len(deliveries) > 1:
        raise SpecError.single(
            "these modules are delivered differently (push, pull requests): "
            + ", ".join(f"{c.module.name} in {c.deployment.environment}" for c in changes),
            hint="bump them one environment at a time")
    delivery = deliveries.pop()
    if options.pull_request:
        delivery = delivery._replace(method="pull-request")
    if delivery.method == "pull-request" and options.forge and not (
            options.credentials.token or options.dry_run):
        name = options.credentials.source.lstrip("$")
        raise SpecError.single(
            f"pull requests are opened through {options.forge.api} with the token in "
            f"${name}, which is not set",
            hint=f"export {name}=<a token that may open pull requests there>, or name "
                 "another variable with --token-env")
    return delivery


def signing_environment(options: BumpOptions, workdir: str) -> dict[str, str]:
    """What a signed commit's git needs (its key made in `workdir`); nothing unsigned."""
    if options.signing is None:
        return {}
    from shipspec.bump.signing import commit_environment  # only signed bumps need it

    return commit_environment(options.signing, workdir)


def backoff(attempt: int, jitter: Callable[[], float]) -> float:
    """Seconds to wait after losing `attempt` races. "Full jitter": a uniform wait up to an
    exponential cap spreads the writers that lost a round, so fewer contend in the next."""
    return min(0.5, 0.05 * 2.0 ** attempt) * jitter()


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


@contextmanager
def _first_target(spec: Spec, module: Module, deployment: Deployment, options: BumpOptions,
                  history: bool) -> Iterator[tuple[Checkout, Target, str]]:
    """A checkout holding the module's first target in `deployment`, and its file."""
    target = _targets_of(module, deployment)[0]
    with tempfile.TemporaryDirectory(prefix="shipspec-read-") as workdir:
        checkout = Checkout.clone(_repository(spec, options),
                                  options.branch or deployment.deploy_branch,
                                  f"{workdir}/repo", options.credentials,
                                  paths=target_paths(target), history=history)
        yield checkout, target, file_of(checkout, target)


def _branch(changes: list[Change], options: BumpOptions) -> str:
    branches = {change.deployment.deploy_branch for change in changes}
    if options.branch:
        return options.branch
    if len(branches) > 1:
        raise SpecError.single("these modules deploy to different branches: "
                               + ", ".join(sorted(branches)),
                               hint="bump them one branch at a time")
    return branches.pop()


def plan(spec: Spec, module_names: list[str], environment: str | None, *,
         tags: Mapping[str, str], sha: str | None, set_repository: bool, date: str,
         digests: Mapping[str, str] | None = None, create: bool = False,
         newer_commits: Sequence[NewerCommit] = ()) -> list[Change]:
    """The changes that `bump` makes: each module's tag as given in `tags` (module → tag),
    else from the spec's tag template for commit `sha`, pinned to its digest in `digests`
    (module → digest) where one is given. Each module keeps the tags its
    template gives `newer_commits` (pushed after the commit built), on any day their builds
    may have run: where its target holds one, that newer deployment stays."""
    from shipspec.render import select_options
    from shipspec.tags import digest_problem, image_tag, tag_problem
    from shipspec.templates import uses

    # Checked here, before anything is cloned: bump, rollback and promote all come this way.
    digests = digests or {}
    for flag, value, problem in ((*(("--tag", t, tag_problem) for t in tags.values()),
                                  *(("--digest", d, digest_problem) for d in digests.values()))):
        reason = problem(value)
        if reason:
            raise SpecError.single(f"{flag} {value!r} {reason}")
    for what, given in (("tag", tags), ("digest", digests)):
        unasked = [name for name in given if name not in module_names]
        if unasked:
            raise SpecError.single(
                f"a {what} is given for {', '.join(unasked)}, which is not bumped",
                hint=f"add --module for it, or leave its {what} out")
    select_options(spec, environment, module_names)  # names every unknown or disabled one
    changes = []
    for name in dict.fromkeys(module_names):
        module = spec.module(name)
        deployment = module.deployment(environment)
        if name in tags:
            module_tag = tags[name]
        elif sha is not None:
            module_tag = image_tag(spec, module, deployment, sha=sha, branch=None, date=date)
        else:
            raise SpecError.single(f"no tag for module {name}",
                                   hint="give --sha, --tag TAG, or --tag MODULE=TAG")
        days_named = uses(deployment.tag, "date")
        builds = islice(((commit.sha, day) for commit in newer_commits
                         for day in (commit.build_days if days_named else (date,))),
                        NEWER_BUILDS_LIMIT)
        newer = tuple(dict.fromkeys(
            tag for tag in (image_tag(spec, module, deployment, sha=sha, branch=None, date=day)
                            for sha, day in builds)
            if tag != module_tag))  # a template without the commit gives every one ours
        image = NewImage(module.image, module_tag, digests.get(name), set_repository, create)
        changes.append(Change(module, deployment, image, newer))
    return changes


class HistoryEntry(NamedTuple):
    commit: str
    date: str
    author: str
    tag: str


def history(spec: Spec, module: Module, deployment: Deployment,
            options: BumpOptions) -> list[HistoryEntry]:
    """The tags a module had in an environment, newest first, from the repository's log
    (each with `@digest` where one was pinned: images.pinned)."""
    entries: list[HistoryEntry] = []
    with _first_target(spec, module, deployment, options, history=True) as (checkout, target,
                                                                            path):
        kind = kind_of(target)
        log = checkout.log(path)[::-1]  # oldest first
        for (commit, date, author), text in zip(
                log, checkout.texts([commit for commit, _, _ in log], path), strict=True):
            try:
                tag = kind.read(YamlText(text, path), target) if text is not None else ""
            except SpecError:
                tag = ""
            if tag and (not entries or entries[-1].tag != tag):
                entries.append(HistoryEntry(commit, date, author, tag))
    return entries[::-1]


def deployment_line(entries: list[HistoryEntry]) -> list[str]:
    """The tags that led to the current one, oldest first, with every rollback's undone
    deployments left out: a tag that comes back (a rollback, or the same tag bumped again)
    ends the line there. So A, B, C, then back to B, gives A, B: one more step back is A,
    never C, the tag just rolled back from."""
    line: list[str] = []
    for entry in reversed(entries):  # oldest first
        if entry.tag in line:
            del line[line.index(entry.tag) + 1:]
        else:
            line.append(entry.tag)
    return line


def deployed_tag(spec: Spec, module: Module, deployment: Deployment,
                 options: BumpOptions) -> str:
    """The tag a module has now in an environment, read from the deployment repository,
    with `@digest` where one is pinned (images.pinned)."""
    # the source environment's own branch, whatever --branch says of the target
    with _first_target(spec, module, deployment, options._replace(branch=None),
                       history=False) as (checkout, target, path):
        tag = kind_of(target).read(YamlText(checkout.read(path), path), target)
    if not tag:
        raise SpecError.single(f"module '{module.name}' has no tag in "
                               f"'{deployment.environment}' yet")
    return tag
