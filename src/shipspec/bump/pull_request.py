"""Delivery by pull request, for deployment branches that take no direct push.

The bump's commit (one commit on the deployment branch's tip) goes to a branch of its own,
named from the environments and modules it changes (each as `<project>.<module>`: projects
share deployment repositories, and their module names), and a pull request proposes it:

- the one shipspec already has open for the same environments and modules is updated (its
  branch moved to the new commit, its title and description rewritten); a rerun that would
  propose the same files changes nothing at all;
- else a new one is opened; with `delivery.autoMerge`, the forge is asked to merge it once
  its required checks pass;
- older shipspec pull requests into the same branch whose environments and modules are all
  in the new one are superseded: commented on, closed, their branches deleted.

Which environments and modules a pull request changes is written in its description, in a
comment line shipspec reads back; pull requests without it, from a branch outside
`shipspec/`, or from a fork (the forge lists only the repository's own: forges/), are never
touched.

The branch of a pull request is shipspec's own, so moving it is a force push; it is bound
to the value last seen (`--force-with-lease`), so two bumps of the same modules never
overwrite each other unseen: the one that loses starts again from the deployment branch.
"""

import contextlib
import hashlib
import json
import posixpath
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from shipspec.bump.git import Checkout, RefUpdate
from shipspec.bump.request import Changed, Request, changed_tags, file_of, kept
from shipspec.bump.targets import kind_of
from shipspec.errors import RuntimeFailure, ShipspecError
from shipspec.images import tag_and_digest
from shipspec.spec import Delivery
from shipspec.spec import Forge as ForgeSettings
from shipspec.values.yamltext import YamlText

if TYPE_CHECKING:  # imported where pull requests are opened (deliver)
    from shipspec.bump.forges import Forge, PullRequest

_MARKER = re.compile(r"^<!-- shipspec: (\{.*\}) -->$", re.MULTILINE)
# GitHub refuses a pull request whose title passes 256 characters or whose description
# passes 65,536 (a 422, "title is too long (maximum is 256 characters)"), which its OpenAPI
# description does not say: renovatebot/renovate#2032 and googleapis/repo-automation-bots
# #1895 show the answers. The default message's first line names each module's new tag.
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 65_536
_LONGEST_BRANCH = 100
_BRANCHES = "shipspec/"  # where the branches of shipspec's pull requests are


class Scope(NamedTuple):
    """The environments and modules a pull request changes."""

    environments: tuple[str, ...]
    modules: tuple[str, ...]  # <project>.<module> (names of both are DNS labels: no '.')

    @classmethod
    def of(cls, requests: list[Request], results: list[Changed | ShipspecError]) -> "Scope":
        """What the requests change, by what writing them did: a module whose edit was kept
        for a newer tag is not in it, so the pull request neither names nor supersedes it."""
        written = [(request, result) for request, result in zip(requests, results, strict=True)
                   if not isinstance(result, ShipspecError)]
        # the requests that changed a tag; all, for a commit of image repositories only
        landed = [(request, result) for request, result in written
                  if changed_tags(result)] or written
        environments = {env for request, _ in landed for env in _environments(request)}
        modules: set[str] = set()
        for request, result in landed:
            only_kept = ({module for module, _, _ in filter(kept, result)}
                         - {module for module, _, _ in changed_tags(result)})
            project = request.variables["project"]
            modules |= {f"{project}.{edit.module}" for edit in request.edits
                        if edit.module not in only_kept}
        return cls(tuple(sorted(environments)), tuple(sorted(modules)))

    @classmethod
    def read(cls, description: str) -> "Scope | None":
        """The scope a shipspec pull request's description declares; None for any other."""
        found = _MARKER.search(description)
        if not found:
            return None
        try:
            data = json.loads(found.group(1))
            return cls(tuple(str(e) for e in data["environments"]),
                       tuple(str(m) for m in data["modules"]))
        except (ValueError, KeyError, TypeError):
            return None

    def branch(self) -> str:
        name = f"{_BRANCHES}{'+'.join(self.environments)}/{'+'.join(self.modules)}"
        if len(name) > _LONGEST_BRANCH:
            digest = hashlib.sha256("+".join(self.modules).encode()).hexdigest()[:10]
            name = (f"{_BRANCHES}{'+'.join(self.environments)[:40]}/{self.modules[0][:30]}"
                    f"-and-{len(self.modules) - 1}-more-{digest}")
        return re.sub(r"[^A-Za-z0-9._/+-]", "-", name)

    def marker(self) -> str:
        data = {"environments": list(self.environments), "modules": list(self.modules)}
        return f"<!-- shipspec: {json.dumps(data)} -->"

    def covers(self, other: "Scope") -> bool:
        """Whether this scope holds all of `other`'s. A module named without its project
        is one of an older shipspec's pull requests, which named modules alone: it is
        taken for one of this scope's projects, as that shipspec took it."""
        return set(other.environments) <= set(self.environments) and all(
            module in self.modules or ("." not in module and any(
                mine.endswith(f".{module}") for mine in self.modules))
            for module in other.modules)


def _environments(request: Request) -> set[str]:
    return {env for env in request.variables.get("env", "").split(", ") if env}


def _may_propose_into(branch: str, environments: set[str]) -> bool:
    """Whether `branch`, one of shipspec's, may be a pull request into one of
    `environments`: Scope.branch names it `shipspec/<environments joined by +>/...`, the
    environments cut to 40 characters when the name is long."""
    named = branch.removeprefix(_BRANCHES).split("/", 1)[0]
    pieces = named.split("+")
    return bool(environments & set(pieces)) or (len(named) == 40 and any(
        env.startswith(pieces[-1]) for env in environments))


def proposed_newer(checkout: Checkout, requests: list[Request]) -> dict[tuple[int, int], str]:
    """The edits whose target a branch of shipspec's already sets to a newer commit's tag
    (Edit.newer), by (request, edit), with that tag. Its pull request waits for checks or
    for a person, so the tag is not on the deployment branch yet: an older commit's bump
    that looked only there would move that branch back to its own older tag (the same
    modules make the same branch), or close the pull request as superseded."""
    asked = [(r, e, edit) for r, request in enumerate(requests) if not request.force
             for e, edit in enumerate(request.edits) if edit.newer]
    if not asked:
        return {}
    environments = {r: _environments(requests[r]) for r, _, _ in asked}
    branches = [ref.removeprefix("refs/heads/")
                for ref in checkout.under(f"refs/heads/{_BRANCHES}")]
    candidates = {r: [branch for branch in branches if _may_propose_into(branch, wanted)]
                  for r, wanted in environments.items()}
    paths: dict[tuple[int, int], str] = {}
    for r, e, edit in asked:
        with contextlib.suppress(ShipspecError):  # write() fails that request, as its own
            paths[r, e] = posixpath.normpath(file_of(checkout, edit.target))
    texts = checkout.files_on(sorted({b for found in candidates.values() for b in found}),
                              sorted(set(paths.values())))
    found: dict[tuple[int, int], str] = {}
    for r, e, edit in asked:
        for branch in candidates[r]:
            text = texts.get((branch, paths.get((r, e), "")))
            if text is None:
                continue
            try:
                tag = kind_of(edit.target).read(YamlText(text, paths[r, e]), edit.target)
            except ShipspecError:
                continue  # not ours to judge: that pull request shows its own problem
            if tag_and_digest(tag)[0] in edit.newer:  # pinned with a digest or not
                found[r, e] = tag
                break
    return found


def title_and_description(message: str, marker: str) -> tuple[str, str]:
    """The pull request's title and description: the commit message's first line, and the
    rest followed by the marker. A first line too long for a title is cut there and given
    whole at the top of the description; a description too long is cut before the marker,
    which shipspec reads back."""
    title, _, rest = message.partition("\n")
    rest = rest.strip("\n")
    if len(title) > TITLE_LIMIT:
        rest = title + ("\n\n" + rest if rest else "")
        title = title[:TITLE_LIMIT - 1] + "…"
    room = DESCRIPTION_LIMIT - len(marker) - len("\n\n")
    if len(rest) > room:
        rest = rest[:max(room - 1, 0)] + "…"
    return title, (rest + "\n\n" if rest else "") + marker


def _opened_from(forge: "Forge", base: str, head: str,
                 failure: RuntimeFailure) -> "PullRequest":
    """The open pull request from `head` into `base` that a request to open it, which
    failed with `failure`, made after all; `failure` raised when there is none."""
    try:
        found = [pr for pr in forge.open_pull_requests(base) if pr.head == head]
    except RuntimeFailure:
        raise failure from None
    if not found:
        raise failure
    return found[0]


def deliver(checkout: Checkout, base: str, message: str, scope: Scope, delivery: Delivery,
            forge_settings: ForgeSettings | None,
            sleep: Callable[[float], None] = time.sleep) -> str | None:
    """Propose HEAD, one commit on `base`'s tip, as a pull request. What was done, for the
    report; None when another bump moved the pull request's branch first (start again)."""
    head = scope.branch()
    ref = f"refs/heads/{head}"
    proposed = checkout.under(ref).get(ref)
    moved = proposed is None or not checkout.proposes_same(head)
    if moved:
        statuses = checkout.push_refs([RefUpdate(ref, "HEAD", proposed or "")],
                                      refused_fails=True)
        if statuses.get(ref) != "ok":
            return None
    if forge_settings is None:
        return (f"pushed branch {head}: open a pull request from it into {base} (set "
                "deploy.forge and shipspec opens it)" if moved else
                f"branch {head} already proposes this change")
    from shipspec.bump.forges import connect

    forge = connect(forge_settings, checkout.credentials, sleep)
    title, body = title_and_description(message, scope.marker())
    open_ones = forge.open_pull_requests(base)
    mine = next((pr for pr in open_ones if pr.head == head), None)
    if mine is None:
        try:
            mine = forge.open(head, base, title, body)
        except RuntimeFailure as failure:
            # Opened, its answer lost (a load balancer's 502, a connection broken): the
            # request is not sent again, as it may have been carried out. The forge's list
            # tells: a second one from our branch would be refused anyway.
            mine = _opened_from(forge, base, head, failure)
        done = f"opened pull request #{mine.number}"
    elif (mine.title, mine.body) != (title, body):
        mine = forge.update(mine, title, body)
        done = f"updated pull request #{mine.number}"
    else:
        done = (f"updated pull request #{mine.number}" if moved else
                f"pull request #{mine.number} already proposes this change")
    report = [f"{done}: {mine.url}"]
    if delivery.auto_merge and not mine.auto_merge:
        pushed = proposed if proposed and not moved else checkout.head()
        if forge.merge_when_ready(mine._replace(head_sha=pushed), delivery.auto_merge):
            report.append(f"merged pull request #{mine.number} ({delivery.auto_merge}): it "
                          "was ready")
        else:
            report.append(f"#{mine.number} will be merged ({delivery.auto_merge}) once its "
                          "required checks pass")
    for older in open_ones:
        # Ours only: from a branch of shipspec's and with its comment line (a description
        # anyone can write is not enough to have a branch deleted).
        older_scope = Scope.read(older.body)
        if older.number == mine.number or not older.head.startswith(_BRANCHES) or (
                older_scope is None or not scope.covers(older_scope)):
            continue
        forge.close(older, f"Superseded by #{mine.number}: it changes "
                           f"{', '.join(older_scope.modules)} in "
                           f"{', '.join(older_scope.environments)} too, with newer tags.")
        checkout.push_refs([RefUpdate(f"refs/heads/{older.head}", None, older.head_sha)])
        report.append(f"closed pull request #{older.number}, superseded")
    return "\n".join(report)
