"""A stand-in for GitHub's API that checks every request against GitHub's own contract.

- REST: each request must match an operation of GitHub's OpenAPI description as npm
  @octokit/openapi 23.0.2 publishes it (generated/api.github.com.json, from
  github/rest-api-description): the method and path, every path and query parameter
  (declared, required ones present, values of the declared type and enum), and the JSON
  body against the operation's request schema. The headers follow GitHub's REST docs
  ("Getting started with the REST API", "API Versions"): `Accept:
  application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28`, `Authorization: Bearer
  <token>`, and a `User-Agent` (requests without one are refused).
- GraphQL: each query must validate against GitHub's published schema (npm
  @octokit/graphql-schema 15.26.1, schema.graphql); it is executed against that schema, so
  the answer has exactly the shape GitHub's would.

Answers are the description's own examples (components/examples) with the fields of this
server's state laid over them. Lists are paged as GitHub pages them, and the links point to
`/repositories/<id>/...`, as the recorded exchange in npm @octokit/fixtures 23.1.2
(scenarios/api.github.com/paginate-issues) shows GitHub doing; such paths are checked as the
`/repos/{owner}/{repo}/...` operation they stand for. Rate limits answer 403 or 429 with
`retry-after` and the `x-ratelimit-*` headers of the same recording.

A pull request's branches live in a real bare repository (the one tests/gitserver.py
serves): opening needs the head branch there, and merging writes the merge commit there. A
fork's pull request (`open_pull(..., fork=owner)`) has its head in another repository, of
any branch name, and its commit under `refs/pull/<number>/head`, where GitHub keeps it.
Every violation is recorded; the `github` fixture fails a test that made one.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import graphql
import jsonschema

TOOLS = Path(__file__).parent / "tools" / "node_modules" / "@octokit"
DESCRIPTION = TOOLS / "openapi" / "generated" / "api.github.com.json"
GRAPHQL_SCHEMA = TOOLS / "graphql-schema" / "schema.graphql"
PAGINATION_RECORDING = (TOOLS / "fixtures" / "scenarios" / "api.github.com" / "paginate-issues"
                        / "normalized-fixture.json")
API_VERSION = "2022-11-28"
REPOSITORY_ID = 1000  # the id the recorded exchange's links use
FORK_ID = 2000  # any fork's (head.repo.id)


class Description:
    """GitHub's REST description: its operations, looked up by method and path."""

    def __init__(self) -> None:
        self.document = json.loads(DESCRIPTION.read_text())
        self.routes: list[tuple[str, re.Pattern[str], str]] = []
        for template, item in self.document["paths"].items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "([^/]+)", re.escape(template))
            for method in item:
                if method in ("get", "post", "put", "patch", "delete"):
                    self.routes.append((method.upper(), re.compile(f"^{pattern}$"), template))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """(path template, path parameters, operation); KeyError when there is none."""
        for route_method, pattern, template in self.routes:
            found = pattern.match(path)
            if found and route_method == method:
                names = re.findall(r"\{([^}]+)\}", template)
                values = [unquote(value) for value in found.groups()]
                return (template, dict(zip(names, values, strict=True)),
                        self.document["paths"][template][method.lower()])
        raise KeyError(f"{method} {path}")

    def resolve(self, node: Any, depth: int = 0) -> Any:
        """`node` with every $ref inlined and OpenAPI 3.0's `nullable` as JSON Schema's
        null type (enough depth for request bodies, which are shallow)."""
        if depth > 12:
            return {}
        if isinstance(node, list):
            return [self.resolve(item, depth + 1) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return self.resolve(target, depth + 1)
        resolved = {key: self.resolve(value, depth + 1) for key, value in node.items()
                    if key not in ("nullable", "example", "examples", "description")}
        if node.get("nullable") and "type" in resolved:
            resolved["type"] = [resolved["type"], "null"]
        return resolved

    def example(self, name: str) -> Any:
        return copy.deepcopy(self.document["components"]["examples"][name]["value"])

    def violations(self, method: str, path: str, query: list[tuple[str, str]],
                   headers: dict[str, str], body: bytes, token: str) -> list[str]:
        where = f"{method} {path}"
        try:
            _, path_values, operation = self.operation(method, path)
        except KeyError:
            return [f"{where}: no such operation in GitHub's REST description"]
        problems = []
        expected = {"accept": "application/vnd.github+json",
                    "x-github-api-version": API_VERSION, "authorization": f"Bearer {token}"}
        for name, value in expected.items():
            if headers.get(name) != value:
                shown = "(the token)" if name == "authorization" else repr(headers.get(name))
                problems.append(f"{where}: header {name} is {shown}, GitHub expects "
                                f"{'Bearer <token>' if name == 'authorization' else value}")
        if not headers.get("user-agent"):
            problems.append(f"{where}: no User-Agent (GitHub refuses such requests)")
        parameters = [self.resolve(p) for p in operation.get("parameters", [])]
        given = {"path": path_values, "query": dict(query)}
        for parameter in parameters:
            place, name = parameter["in"], parameter["name"]
            if place not in given:
                continue
            value = given[place].get(name)
            if value is None:
                if parameter.get("required"):
                    problems.append(f"{where}: required {place} parameter {name} missing")
                continue
            problems += [f"{where}: {place} parameter {name}={value!r}: {problem}"
                         for problem in _parameter_problems(value, parameter["schema"])]
        declared = {p["name"] for p in parameters if p["in"] == "query"}
        problems += [f"{where}: query parameter {name} is not declared"
                     for name, _ in query if name not in declared]
        request_body = operation.get("requestBody")
        if request_body is None:
            if body:
                problems.append(f"{where}: sends a body the operation does not take")
            return problems
        if headers.get("content-type", "").split(";")[0] != "application/json":
            problems.append(f"{where}: content-type {headers.get('content-type')!r}")
        try:
            data = json.loads(body or b"null")
        except ValueError:
            return [*problems, f"{where}: the body is not JSON"]
        schema = self.resolve(request_body["content"]["application/json"]["schema"])
        problems += [f"{where}: body {'/'.join(map(str, e.absolute_path)) or '(root)'}: "
                     f"{e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(data)]
        return problems


def _parameter_problems(value: str, schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if kind == "integer" and not re.fullmatch(r"-?[0-9]+", value):
        return ["not an integer"]
    if kind == "boolean" and value not in ("true", "false"):
        return ["not a boolean"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"not one of {schema['enum']}"]
    if kind == "integer":
        number = int(value)
        if number < schema.get("minimum", number) or number > schema.get("maximum", number):
            return ["out of range"]
    return []


@cache
def description() -> Description:
    return Description()


@cache
def graphql_schema() -> graphql.GraphQLSchema:
    # GitHub's published schema defines two fields twice; its SDL is taken as GitHub serves it
    return graphql.build_schema(GRAPHQL_SCHEMA.read_text(), assume_valid_sdl=True)


def recorded_headers() -> dict[str, str]:
    """The rate-limit headers of a real answer (the pagination recording)."""
    answer = json.loads(PAGINATION_RECORDING.read_text())[0]["headers"]
    return {name: str(value) for name, value in answer.items() if name.startswith("x-ratelimit")}


class GitHub:
    """The state of one repository on the stand-in, and what was asked of it."""

    def __init__(self, bare: Path, owner: str, name: str, token: str) -> None:
        self.bare, self.owner, self.name, self.token = bare, owner, name, token
        self.pulls: dict[int, dict[str, Any]] = {}
        self.comments: list[tuple[int, str]] = []
        self.requests: list[str] = []  # "METHOD path", in order
        self.violations: list[str] = []
        self.rate_limited: list[tuple[int, dict[str, str]]] = []  # answers to give first
        # ("METHOD path", carried out): requests a load balancer answers 502 (gateway_error)
        self.gateway_errors: list[tuple[str, bool]] = []
        # GitHub's mergeStateStatus of every pull request: BLOCKED waits for checks; CLEAN,
        # HAS_HOOKS and UNSTABLE may be merged at once, and auto-merge is refused for them
        self.merge_state = "BLOCKED"
        self.auto_merge_allowed = True  # the repository's setting
        # A GitHub Enterprise Server where mergeStateStatus is a schema preview, in the
        # schema only for requests that accept application/vnd.github.merge-info-preview
        # (docs.github.com/en/enterprise-server@3.7/graphql/overview/schema-previews)
        self.merge_info_is_a_preview = False
        self.auto_merges: list[tuple[int, str | None]] = []  # (number, expectedHeadOid)
        self.page_size_cap = 100
        self.lock = threading.Lock()

    # --- what tests do -----------------------------------------------------------------------

    def limit_next(self, status: int, retry_after: str | None = "1") -> None:
        """Answer the next request with a rate limit (403, 429), or a server error (5xx)."""
        headers = {**recorded_headers(), "x-ratelimit-remaining": "0"}
        if retry_after is not None:
            headers["retry-after"] = retry_after
        self.rate_limited.append((status, headers))

    def gateway_error(self, request: str, carried_out: bool) -> None:
        """Answer the next request `request` ("METHOD path") 502, as a load balancer does
        whose connection to GitHub broke: before GitHub had it, or once GitHub had carried
        it out (its answer lost)."""
        self.gateway_errors.append((request, carried_out))

    def checks_pass(self) -> list[int]:
        """GitHub merging every open pull request with auto-merge on; their numbers."""
        merged = []
        for number, pull in sorted(self.pulls.items()):
            if pull["state"] == "open" and pull["auto_merge"]:
                self._merge(pull, pull["auto_merge"]["merge_method"])
                merged.append(number)
        return merged

    def open_pull(self, head: str, base: str, title: str, body: str, fork: str | None = None,
                  sha: str | None = None) -> int:
        """A pull request opened by someone else (by hand, or another tool); from the
        branch `head` of `fork`'s copy of the repository, at `sha` (main's tip if None)."""
        number = self._create({"head": head, "base": base, "title": title, "body": body,
                               "fork": fork})["number"]
        if fork is not None:
            subprocess.run(["git", "--git-dir", str(self.bare), "update-ref",
                            f"refs/pull/{number}/head", sha or "main"], check=True)
        return number

    def head_sha(self, branch: str) -> str | None:
        return self._sha(f"refs/heads/{branch}")

    def _sha(self, ref: str) -> str | None:
        found = subprocess.run(["git", "--git-dir", str(self.bare), "rev-parse", "--verify",
                                "--quiet", ref], capture_output=True, text=True, check=False)
        return found.stdout.strip() or None

    def _head_ref(self, pull: dict[str, Any]) -> str:
        return (f"refs/pull/{pull['number']}/head" if pull["fork"] else
                f"refs/heads/{pull['head']}")

    def _label(self, pull: dict[str, Any]) -> str:
        return f"{pull['fork'] or self.owner}:{pull['head']}"

    # --- the API -----------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], Any]:
        request = f"{method} {urlsplit(target).path}"
        with self.lock:
            error = next((e for e in self.gateway_errors if e[0] == request), None)
            if error:
                self.gateway_errors.remove(error)
        if error and not error[1]:
            self.requests.append(request)
            return 502, {}, {"message": "Bad Gateway"}
        answered = self._answer(method, target, headers, body)
        return (502, {}, {"message": "Bad Gateway"}) if error else answered

    def _answer(self, method: str, target: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        path = re.sub(rf"^/repositories/{REPOSITORY_ID}/",
                      f"/repos/{self.owner}/{self.name}/", parts.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        with self.lock:
            self.requests.append(f"{method} {path}")
            if self.rate_limited:
                status, limit_headers = self.rate_limited.pop(0)
                if status >= 500:
                    return status, {}, {"message": "Server Error"}
                return status, limit_headers, {
                    "message": "You have exceeded a secondary rate limit. Please wait a few "
                               "minutes before you try again.",
                    "documentation_url": "https://docs.github.com/rest/overview/"
                                         "rate-limits-for-the-rest-api"}
            if path == "/graphql" and method == "POST":
                return self._graphql(headers, body)
            problems = description().violations(method, path, query, headers, body,
                                                 self.token)
            self.violations += problems
            if problems:
                return 422, {}, {"message": "Validation Failed", "errors": problems}
            repo = f"/repos/{self.owner}/{self.name}"
            data = json.loads(body) if body else {}
            if path == f"{repo}/pulls" and method == "GET":
                return self._list(dict(query))
            if path == f"{repo}/pulls" and method == "POST":
                return self._open(data)
            found = re.fullmatch(rf"{repo}/(pulls|issues)/(\d+)(/merge|/comments)?", path)
            if found and int(found.group(2)) in self.pulls:
                pull = self.pulls[int(found.group(2))]
                if (found.group(1), found.group(3), method) == ("pulls", None, "PATCH"):
                    return self._update(pull, data)
                if (found.group(1), found.group(3), method) == ("pulls", None, "GET"):
                    return 200, {}, self._full(pull)
                if (found.group(1), found.group(3), method) == ("pulls", "/merge", "PUT"):
                    return self._merge_asked(pull, data)
                if (found.group(1), found.group(3), method) == ("issues", "/comments", "POST"):
                    self.comments.append((pull["number"], data["body"]))
                    comment = description().example("issue-comment")
                    comment["body"] = data["body"]
                    return 201, {}, comment
            return 404, {}, {"message": "Not Found"}

    def _list(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        state = query.get("state", "open")
        chosen = [pull for _, pull in sorted(self.pulls.items())
                  if state in ("all", pull["state"])
                  and query.get("base", pull["base"]) == pull["base"]
                  and query.get("head", self._label(pull)) == self._label(pull)]
        if query.get("direction", "desc" if query.get("sort", "created") == "created"
                     else "asc") == "desc":
            chosen.reverse()
        size = min(int(query.get("per_page", "30")), self.page_size_cap)
        page = int(query.get("page", "1"))
        last = max(1, -(-len(chosen) // size))
        items = []
        for pull in chosen[(page - 1) * size:page * size]:
            item = description().example("pull-request-simple-items")[0]
            items.append(self._overlay(item, pull))
        links = []
        for relation, number in (("prev", page - 1), ("next", page + 1), ("last", last),
                                 ("first", 1)):
            if 1 <= number <= last and not (relation in ("last", "first") and page in (
                    last, 1) and number == page):
                others = [(k, v) for k, v in query.items() if k != "page"]
                link_query = "&".join(f"{k}={v}" for k, v in [*others, ("page", str(number))])
                links.append(f"<{self.base_url}/repositories/{REPOSITORY_ID}/pulls?"
                             f'{link_query}>; rel="{relation}"')
        return 200, ({"link": ", ".join(links)} if links else {}), items

    @staticmethod
    def _too_long(data: dict[str, Any]) -> tuple[int, dict[str, str], Any] | None:
        """GitHub's answer to a title or description past its limits, which its OpenAPI
        description does not state: a 422 naming the field, as renovatebot/renovate#2032
        (the body) and googleapis/repo-automation-bots#1895 (the title) show it."""
        for field, limit in (("title", 256), ("body", 65536)):
            if len(data.get(field) or "") > limit:
                return 422, {}, {"message": "Validation Failed", "errors": [
                    {"resource": "Issue", "code": "custom", "field": field,
                     "message": f"{field} is too long (maximum is {limit} characters)"}]}
        return None

    def _open(self, data: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if refused := self._too_long(data):
            return refused
        if self.head_sha(data["head"]) is None:
            return 422, {}, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "field": "head", "code": "invalid"}]}
        if any(p["state"] == "open" and not p["fork"]
               and (p["head"], p["base"]) == (data["head"], data["base"])
               for p in self.pulls.values()):
            return 422, {}, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "code": "custom",
                 "message": f"A pull request already exists for {self.owner}:{data['head']}."}]}
        pull = self._create(data)
        return 201, {"location": f"{self.base_url}/repos/{self.owner}/{self.name}/pulls/"
                                 f"{pull['number']}"}, self._full(pull)

    def _create(self, data: dict[str, Any]) -> dict[str, Any]:
        number = max([*self.pulls, 0]) + 1
        pull = {"number": number, "head": data["head"], "base": data["base"],
                "title": data["title"], "body": data.get("body"), "state": "open",
                "auto_merge": None, "merged": False, "node_id": f"PR_kwDO{number:08d}",
                "fork": data.get("fork")}
        self.pulls[number] = pull
        return pull

    def _update(self, pull: dict[str, Any], data: dict[str, Any]) -> tuple[int, dict[str, str],
                                                                         Any]:
        if refused := self._too_long(data):
            return refused
        for key in ("title", "body", "state"):
            if key in data:
                pull[key] = data[key]
        return 200, {}, self._full(pull)

    def _merge_asked(self, pull: dict[str, Any],
                     data: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if pull["state"] != "open":
            return 405, {}, {"message": "Pull Request is not mergeable"}
        if "sha" in data and data["sha"] != self._sha(self._head_ref(pull)):
            return 409, {}, {"message": "Head branch was modified. Review and try the merge "
                                        "again."}
        sha = self._merge(pull, data.get("merge_method", "merge"))
        result = description().example(
            "pull-request-merge-result-response-if-merge-was-successful")
        result["sha"] = sha
        return 200, {}, result

    def _merge(self, pull: dict[str, Any], method: str) -> str:
        """Merge in the bare repository as GitHub would: a merge commit, or (squash, and
        rebase of our one-commit branches) one commit on the base."""
        def git(*arguments: str) -> str:
            return subprocess.run(["git", "--git-dir", str(self.bare), *arguments],
                                  capture_output=True, text=True, check=True).stdout.strip()
        base, head = f"refs/heads/{pull['base']}", self._head_ref(pull)
        old = git("rev-parse", base)
        tree = git("merge-tree", "--write-tree", base, head).splitlines()[0]
        if method == "merge":
            message = (f"Merge pull request #{pull['number']} from "
                       f"{pull['fork'] or self.owner}/{pull['head']}")
            parents = ["-p", base, "-p", head]
        else:
            message = f"{pull['title']} (#{pull['number']})"
            parents = ["-p", base]
        env = {"GIT_AUTHOR_NAME": "GitHub", "GIT_AUTHOR_EMAIL": "noreply@github.com",
               "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
        sha = subprocess.run(["git", "--git-dir", str(self.bare), "commit-tree", tree,
                              *parents, "-m", message], capture_output=True, text=True,
                             check=True, env=env).stdout.strip()
        git("update-ref", base, sha, old)
        pull.update(state="closed", merged=True)
        return sha

    def _full(self, pull: dict[str, Any]) -> dict[str, Any]:
        return self._overlay(description().example("pull-request"), pull)

    def _overlay(self, item: dict[str, Any], pull: dict[str, Any]) -> dict[str, Any]:
        number = pull["number"]
        item.update(
            number=number, id=number, node_id=pull["node_id"], title=pull["title"],
            body=pull["body"], state=pull["state"], auto_merge=pull["auto_merge"],
            url=f"{self.base_url}/repos/{self.owner}/{self.name}/pulls/{number}",
            html_url=f"https://github.com/{self.owner}/{self.name}/pull/{number}")
        if "merged" in item:
            item["merged"] = pull["merged"]
        item["head"].update(ref=pull["head"], sha=self._sha(self._head_ref(pull)) or "0" * 40,
                            label=self._label(pull))
        if pull["fork"]:
            owner = {**item["head"]["repo"]["owner"], "login": pull["fork"]}
            item["head"]["repo"] = {**item["head"]["repo"], "id": FORK_ID, "owner": owner,
                                    "full_name": f"{pull['fork']}/{self.name}", "fork": True}
        item["base"].update(ref=pull["base"], sha=self.head_sha(pull["base"]) or "0" * 40,
                            label=f"{self.owner}:{pull['base']}")
        return item

    def _graphql(self, headers: dict[str, str],
                 body: bytes) -> tuple[int, dict[str, str], Any]:
        if headers.get("authorization") != f"Bearer {self.token}":
            self.violations.append("POST /graphql: no Bearer token")
            return 401, {}, {"message": "Bad credentials"}
        request = json.loads(body)
        if self.merge_info_is_a_preview and "merge-info-preview" not in headers.get(
                "accept", "") and re.search(r"\bmergeStateStatus\b", request["query"]):
            # what GitHub's GraphQL (graphql-ruby) answers for a field not in the schema
            return 200, {}, {"errors": [{
                "message": "Field 'mergeStateStatus' doesn't exist on type 'PullRequest'",
                "extensions": {"code": "undefinedField", "typeName": "PullRequest",
                               "fieldName": "mergeStateStatus"}}]}
        document = graphql.parse(request["query"])
        problems = graphql.validate(graphql_schema(), document)
        if problems:
            self.violations += [f"POST /graphql: {problem.message}" for problem in problems]
            return 200, {}, {"errors": [{"message": p.message} for p in problems]}
        result = graphql.execute(graphql_schema(), document, root_value=_Mutations(self),
                                 variable_values=request.get("variables"))
        self.violations += [f"POST /graphql: {e.message}" for e in result.errors or []
                            if not isinstance(e.original_error, Refused)]
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [{"type": "UNPROCESSABLE", "message": e.message,
                                 "path": e.path} for e in result.errors]
        return 200, {}, answer

    base_url = ""  # set by serve()


class Refused(graphql.GraphQLError):
    """GitHub's answer to a well-formed request it will not carry out."""


class _Mutations:
    """The root of the GraphQL mutations (and the one query) the stand-in carries out."""

    def __init__(self, github: GitHub) -> None:
        self.github = github

    def node(self, info: Any, id: str) -> Any:
        pull = next((p for p in self.github.pulls.values() if p["node_id"] == id), None)
        return pull and {"__typename": "PullRequest",
                         "mergeStateStatus": self.github.merge_state}

    def enablePullRequestAutoMerge(self, info: Any, input: dict[str, Any]) -> Any:
        pull = next((p for p in self.github.pulls.values()
                     if p["node_id"] == input["pullRequestId"]), None)
        if pull is None:
            raise graphql.GraphQLError("Could not resolve to a node with the global id of "
                                       f"'{input['pullRequestId']}'")
        self.github.auto_merges.append((pull["number"], input.get("expectedHeadOid")))
        if not self.github.auto_merge_allowed:
            raise Refused("Pull request Auto merge is not allowed for this repository")
        if self.github.merge_state in ("CLEAN", "HAS_HOOKS", "UNSTABLE"):
            # GitHub's answer when nothing is left to wait for (seen in the wild for clean,
            # and the reason `gh pr merge --auto` merges such pull requests directly)
            raise Refused(f"Pull request Pull request is in "
                          f"{self.github.merge_state.lower()} status")
        if input.get("expectedHeadOid") not in (None, self.github._sha(
                self.github._head_ref(pull))):
            # (REST's merge answers 409 with this; GraphQL's exact words are not published)
            raise graphql.GraphQLError("Head branch was modified. Review and try the merge "
                                       "again.")
        method = str(input.get("mergeMethod", "MERGE")).lower()
        pull["auto_merge"] = {"enabled_by": description().example("pull-request")["user"],
                              "merge_method": method, "commit_title": pull["title"],
                              "commit_message": ""}
        return {"pullRequest": {"number": pull["number"],
                                "autoMergeRequest": {"enabledAt": "2026-12-03T00:00:00Z"}}}


def _handler(github: GitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, extra, data = github.answer(self.command, self.path, headers, body)
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return Handler


@contextmanager
def serve(github: GitHub) -> Iterator[str]:
    """Serve the stand-in; yields its base URL (the API's root, as api.github.com)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(github))
    github.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield github.base_url
    finally:
        server.shutdown()
        server.server_close()
