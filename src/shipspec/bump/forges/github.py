"""GitHub (github.com and GitHub Enterprise Server): pull requests through the REST API,
auto-merge through GraphQL (REST has no call for it).

The requests follow GitHub's REST description (github/rest-api-description, as npm
@octokit/openapi publishes it); tests/forge_contract.py checks each against it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from shipspec.bump.forges import MergeMethod, PullRequest
from shipspec.bump.forges.api import Api
from shipspec.bump.git import Credentials
from shipspec.errors import RuntimeFailure
from shipspec.spec import Forge as ForgeSettings

API_VERSION = "2022-11-28"

# expectedHeadOid: GitHub merges the commit shipspec pushed, or nothing (as `gh pr merge
# --auto --match-head-commit` asks it: cli/cli v2.60.0, pkg/cmd/pr/merge/http.go).
_AUTO_MERGE = """
mutation($pullRequest: ID!, $method: PullRequestMergeMethod!, $head: GitObjectID!) {
  enablePullRequestAutoMerge(input: {pullRequestId: $pullRequest, mergeMethod: $method,
                                     expectedHeadOid: $head}) {
    pullRequest { number autoMergeRequest { enabledAt } }
  }
}
"""
# GitHub refuses auto-merge for a pull request it would merge at once: in these merge
# states, as `gh pr merge --auto` tells them (cli/cli v2.60.0, pkg/cmd/pr/merge/merge.go,
# isImmediatelyMergeable; HAS_HOOKS: a GitHub Enterprise Server's pre-receive hooks).
_MERGEABLE_NOW = frozenset({"CLEAN", "HAS_HOOKS", "UNSTABLE"})
_MERGE_STATE = """
query($pullRequest: ID!) {
  node(id: $pullRequest) { ... on PullRequest { mergeStateStatus } }
}
"""
# Where mergeStateStatus is a schema preview, GitHub shows it only to requests that accept
# this media type (GitHub Enterprise Server's "Schema previews", "Merge info preview", in
# the documentation of 3.7); github.com ignores it, and gh sends it with every request
# (cli/cli v2.60.0, api/client_test.go).
_MERGE_INFO_PREVIEW = "application/vnd.github+json, application/vnd.github.merge-info-preview+json"


class GitHub:
    def __init__(self, settings: ForgeSettings, credentials: Credentials,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.api = Api(settings.api, credentials, {
            "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION},
            sleep)
        self.owner, _, self.name = settings.repository.partition("/")
        self.pulls = f"/repos/{quote(self.owner)}/{quote(self.name)}/pulls"
        # GitHub Enterprise Server serves REST at /api/v3 and GraphQL at /api/graphql.
        base = settings.api.rstrip("/")
        self.graphql = (base.removesuffix("/v3") if base.endswith("/api/v3") else base
                        ) + "/graphql"
        self.node_ids: dict[int, str] = {}  # what GraphQL calls each pull request

    def open_pull_requests(self, base: str) -> list[PullRequest]:
        items = self.api.pages(self.pulls, {"state": "open", "base": base, "sort": "created",
                                            "direction": "asc", "per_page": "100"})
        return [self._pull_request(item) for item in items if self._from_this_repository(item)]

    def open(self, head: str, base: str, title: str, body: str) -> PullRequest:
        answer = self.api.call("POST", self.pulls, {
            "title": title, "head": head, "base": base, "body": body,
            "maintainer_can_modify": False})
        return self._pull_request(answer.data)

    def update(self, pull_request: PullRequest, title: str, body: str) -> PullRequest:
        answer = self.api.call("PATCH", f"{self.pulls}/{pull_request.number}",
                               {"title": title, "body": body})
        return self._pull_request(answer.data)

    def merge_when_ready(self, pull_request: PullRequest, method: MergeMethod) -> bool:
        try:
            answer = self.api.call("POST", self.graphql, {
                "query": _AUTO_MERGE,
                "variables": {"pullRequest": self.node_ids[pull_request.number],
                              "method": method.upper(), "head": pull_request.head_sha}})
        except RuntimeFailure as failure:
            # Carried out, its answer lost (a POST is not sent again): the pull request
            # tells whether GitHub will merge it.
            if self._read_after(failure, pull_request).get("auto_merge") is None:
                raise
            return False
        errors = [str(e.get("message", "")) for e in (answer.data or {}).get("errors") or []
                  if isinstance(e, dict)]
        if not errors:
            return False
        # Refused: asked why by the pull request's merge state, not by the words of the
        # refusal, which GitHub does not publish.
        state = self.api.call("POST", self.graphql, {
            "query": _MERGE_STATE,
            "variables": {"pullRequest": self.node_ids[pull_request.number]}},
            accept=_MERGE_INFO_PREVIEW)
        found = state.data.get("data") if isinstance(state.data, dict) else None
        node = found.get("node") if isinstance(found, dict) else None
        merge_state = node.get("mergeStateStatus") if isinstance(node, dict) else None
        if merge_state in _MERGEABLE_NOW:
            # nothing left to wait for: merge it, exactly the commit we pushed (a branch
            # moved since is refused); branch protection still decides on the server
            try:
                self.api.call("PUT", f"{self.pulls}/{pull_request.number}/merge", {
                    "merge_method": method, "sha": pull_request.head_sha})
            except RuntimeFailure as failure:
                # A merge carried out whose answer was lost (a load balancer's 502, a
                # connection broken) is refused when asked again: the pull request is no
                # longer open (405). The pull request itself tells: merged at our commit.
                item = self._read_after(failure, pull_request)
                try:
                    merged = (item["merged"] is True
                              and item["head"]["sha"] == pull_request.head_sha)
                except (KeyError, TypeError) as error:
                    raise self._unreadable(error) from None
                if not merged:
                    raise
            return True
        raise RuntimeFailure(
            f"error: pull request #{pull_request.number} ({pull_request.url}) is open, but "
            f"GitHub refused to merge it when ready (merge state {merge_state}): "
            f"{'; '.join(errors)}\n"
            "  hint: allow auto-merge in the repository's settings (General > Pull Requests), "
            "or leave delivery.autoMerge out")

    def _read_after(self, failure: RuntimeFailure,
                    pull_request: PullRequest) -> dict[str, Any]:
        """The pull request as GitHub has it now, after a request about it failed with
        `failure`: raised again when the pull request cannot be read either."""
        try:
            item = self.api.call("GET", f"{self.pulls}/{pull_request.number}").data
        except RuntimeFailure:
            raise failure from None
        if not isinstance(item, dict):
            raise failure
        return item

    def close(self, pull_request: PullRequest, comment: str) -> None:
        repo = self.pulls.removesuffix("/pulls")
        self.api.call("POST", f"{repo}/issues/{pull_request.number}/comments",
                      {"body": comment})
        self.api.call("PATCH", f"{self.pulls}/{pull_request.number}", {"state": "closed"})

    def _from_this_repository(self, item: Any) -> bool:
        """Whether the pull request's branch is in the repository itself. A fork's branch
        may bear any name, shipspec's own included, and its description may copy
        shipspec's comment line: taken for shipspec's, its pull request would be updated
        and merged when ready, or closed with our branch of that name deleted."""
        try:
            head = item["head"]["repo"]  # null once the fork is deleted
            return head is not None and head["id"] == item["base"]["repo"]["id"]
        except (KeyError, TypeError) as error:
            raise self._unreadable(error) from None

    def _pull_request(self, item: Any) -> PullRequest:
        try:
            pull_request = PullRequest(
                number=int(item["number"]), url=str(item["html_url"]),
                head=str(item["head"]["ref"]), head_sha=str(item["head"]["sha"]),
                title=str(item["title"]), body=str(item.get("body") or ""),
                auto_merge=item.get("auto_merge") is not None)
            self.node_ids[pull_request.number] = str(item["node_id"])
        except (KeyError, TypeError, ValueError) as error:
            raise self._unreadable(error) from None
        return pull_request

    def _unreadable(self, error: Exception) -> RuntimeFailure:
        return RuntimeFailure(f"error: {self.api.base} answered with a pull request "
                              f"shipspec cannot read (no {error})")
