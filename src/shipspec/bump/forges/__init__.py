"""Forges: the APIs that open pull requests (see bump/pull_request.py for how they are used).

One module per forge, each a class with the same few methods; `connect` picks it from the
spec's `deploy.forge`. Adding a forge is a module with this protocol and a line in
`connect`.
"""

import time
from collections.abc import Callable
from typing import Literal, NamedTuple, Protocol

from shipspec.bump.git import Credentials
from shipspec.spec import Forge as ForgeSettings

MergeMethod = Literal["merge", "squash", "rebase"]


class PullRequest(NamedTuple):
    number: int
    url: str  # the page people open
    head: str  # the branch it proposes
    head_sha: str
    title: str
    body: str
    auto_merge: bool  # the forge merges it by itself once its checks pass


class Forge(Protocol):
    def open_pull_requests(self, base: str) -> list[PullRequest]:
        """Every open pull request into `base` from a branch of the repository itself
        (never a fork's), oldest first."""

    def open(self, head: str, base: str, title: str, body: str) -> PullRequest:
        """A new pull request of `head` into `base`."""

    def update(self, pull_request: PullRequest, title: str, body: str) -> PullRequest:
        """The pull request with a new title and description."""

    def merge_when_ready(self, pull_request: PullRequest, method: MergeMethod) -> bool:
        """Ask the forge to merge it, at its `head_sha` only, once its required checks
        pass; True when it was ready, and so merged now."""

    def close(self, pull_request: PullRequest, comment: str) -> None:
        """Comment on the pull request, then close it without merging."""


def connect(settings: ForgeSettings, credentials: Credentials,
            sleep: Callable[[float], None] = time.sleep) -> Forge:
    from shipspec.bump.forges import github

    return github.GitHub(settings, credentials, sleep)
