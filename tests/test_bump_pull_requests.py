"""Delivery by pull request: bump against a real git server and a stand-in for GitHub's API
that checks every request against GitHub's OpenAPI description and GraphQL schema
(tests/forge_contract.py)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, run_process
from forge_contract import GitHub, serve
from gitserver import git_http_server
from test_bump import TOKEN, commits, git, make_deploy_repo, remote_file
from test_bump_queue import hold_lock, refs, wait_for

VALUES = """\
# production values
apps:
  core:
    image:
      repository: ghcr.io/acme/core
      tag: "1.0.0"  # pinned by shipspec
  web:
    image:
      repository: ghcr.io/acme/web
      tag: "2.0.0"
"""

SPEC = """\
project: acme
registry: {{url: ghcr.io/acme}}
source: {{url: https://github.com/acme/app.git, webhookSecret: hook}}
deploy:
  url: {git}/deploy.git
  forge: {{type: github, api: "{api}", repository: acme/deploy}}
  tagKey: tag
  credentialsSecret: deploy
environments:
  prod:
    branch: main
    values: env/prod/values.yaml
    delivery: {delivery}
modules:
  core: {{values: apps.core.image}}
  web: {{values: apps.web.image}}
"""

Pulls = tuple[GitHub, Path, Path]  # the stand-in, the spec, the bare repository


@pytest.fixture
def github(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Pulls]:
    delivery = getattr(request, "param", "{method: pull-request}")
    bare = make_deploy_repo(tmp_path / "git", {"env/prod/values.yaml": VALUES})
    hub = GitHub(bare, "acme", "deploy", TOKEN)
    with git_http_server(tmp_path / "git", "x-access-token", TOKEN) as git, serve(hub) as api:
        spec = tmp_path / "app" / "shipspec.yaml"
        spec.parent.mkdir()
        (spec.parent / ".git").mkdir()
        spec.write_text(SPEC.format(git=git, api=api, delivery=delivery))
        yield hub, spec, bare
    assert hub.violations == [], "\n".join(hub.violations)


def bump(spec: Path, *args: str, token: str = TOKEN) -> Result:
    result = run_process("bump", str(spec), *args,
                         env={**os.environ, "DEPLOY_TOKEN": token})
    assert TOKEN not in result.out + result.err
    return result


def root(bare: Path) -> str:
    return git("--git-dir", str(bare), "rev-list", "--max-parents=0", "main").strip()


def open_pulls(hub: GitHub) -> dict[int, dict[str, Any]]:
    return {n: p for n, p in hub.pulls.items() if p["state"] == "open"}


def test_a_bump_opens_a_pull_request_and_leaves_the_branch_alone(github: Pulls) -> None:
    hub, spec, bare = github
    result = bump(spec, "--module", "core", "--tag", "1.1.0")
    assert result.code == 0, result.err
    assert len(commits(bare)) == 1  # main untouched: the change waits in the pull request
    [pull] = hub.pulls.values()
    assert (pull["head"], pull["base"], pull["title"]) == (
        "shipspec/prod/acme.core", "main", "deploy(prod): core=1.1.0")
    assert pull["body"] == ('core: 1.0.0 -> 1.1.0\n\n<!-- shipspec: {"environments": '
                            '["prod"], "modules": ["acme.core"]} -->')
    assert 'tag: "1.1.0"  # pinned by shipspec' in remote_file(
        bare, "env/prod/values.yaml", "shipspec/prod/acme.core")
    assert result.out.splitlines()[1:] == [
        "opened pull request #1: https://github.com/acme/deploy/pull/1"]
    assert hub.requests == ["GET /repos/acme/deploy/pulls", "POST /repos/acme/deploy/pulls"]


def test_a_message_too_long_for_githubs_title_and_description_is_cut_there(
        github: Pulls) -> None:
    """The title is the message's first line, which names each module's tag: two tags of
    128 characters (a tag's most) made it 281, GitHub answered 422 ("title is too long
    (maximum is 256 characters)", forge_contract.py) and no pull request opened. The title
    is cut, the whole line heads the description; a description past 65,536 characters is
    cut before the marker."""
    hub, spec, _ = github
    core, web = "c" * 128, "w" * 128
    result = bump(spec, "--module", "core", "--module", "web", "--tag", f"core={core}",
                  "--tag", f"web={web}")
    assert result.code == 0, result.err
    [pull] = hub.pulls.values()
    line = f"deploy(prod): core={core}, web={web}"
    assert pull["title"] == line[:255] + "…"
    assert pull["body"].startswith(f"{line}\n\ncore: 1.0.0 -> {core}\nweb: 2.0.0 -> {web}\n\n")
    from shipspec.bump.pull_request import title_and_description

    title, description = title_and_description("deploy\n\n" + "x" * 70_000, "<!-- m -->")
    assert title == "deploy" and len(description) == 65_536
    assert description.endswith("x…\n\n<!-- m -->")


def test_a_rerun_changes_nothing_and_a_new_tag_updates_the_same_pull_request(
        github: Pulls) -> None:
    hub, spec, bare = github
    assert bump(spec, "--module", "core", "--tag", "1.1.0").code == 0
    head = hub.head_sha("shipspec/prod/acme.core")
    again = bump(spec, "--module", "core", "--tag", "1.1.0")
    assert again.code == 0, again.err
    assert "pull request #1 already proposes this change" in again.out
    assert hub.head_sha("shipspec/prod/acme.core") == head  # not even a new commit
    assert hub.requests[-1] == "GET /repos/acme/deploy/pulls"  # read only
    newer = bump(spec, "--module", "core", "--tag", "1.2.0")
    assert newer.code == 0, newer.err
    assert "updated pull request #1" in newer.out
    assert list(hub.pulls) == [1] and hub.pulls[1]["title"] == "deploy(prod): core=1.2.0"
    branch = git("--git-dir", str(bare), "log", "--format=%s", "shipspec/prod/acme.core").split(
        "\n")[:-1]
    assert branch == ["deploy(prod): core=1.2.0", "initial"]  # one commit on main, not two


def test_a_pull_request_for_more_modules_supersedes_an_older_one(github: Pulls) -> None:
    hub, spec, _bare = github
    assert bump(spec, "--module", "core", "--tag", "1.1.0").code == 0
    result = bump(spec, "--module", "core", "--module", "web", "--tag", "core=1.2.0",
                  "--tag", "web=2.1.0")
    assert result.code == 0, result.err
    assert result.out.splitlines()[1:] == [
        "opened pull request #2: https://github.com/acme/deploy/pull/2",
        "closed pull request #1, superseded"]
    assert list(open_pulls(hub)) == [2]
    assert hub.comments == [(1, "Superseded by #2: it changes acme.core in prod too, with newer "
                                "tags.")]
    assert hub.head_sha("shipspec/prod/acme.core") is None  # its branch is deleted
    assert hub.pulls[1]["merged"] is False


def test_two_projects_of_one_deployment_repository_keep_their_pull_requests_apart(
        github: Pulls) -> None:
    """Teams share one GitOps repository, and their module names (core, api) and
    environment names (prod) with it. A pull request's branch and scope named its
    environments and modules alone: another project's bump of its own `core` moved the
    first project's branch to its commit and rewrote that pull request, whose tag was never
    deployed (and it closed the first one's older pull requests as superseded). The
    project is part of each module's name in them."""
    hub, spec, bare = github
    other = spec.parent.parent / "other" / "shipspec.yaml"
    other.parent.mkdir()
    (other.parent / ".git").mkdir()
    other.write_text(spec.read_text().replace("project: acme", "project: beta").replace(
        "core: {values: apps.core.image}", "core: {values: apps.web.image}").replace(
        "  web: {values: apps.web.image}\n", ""))
    assert bump(spec, "--module", "core", "--tag", "1.1.0").code == 0  # acme: #1
    assert bump(spec, "--module", "web", "--tag", "2.1.0").code == 0  # acme: #2
    theirs = bump(other, "--module", "core", "--tag", "2.5.0")
    assert theirs.code == 0, theirs.err
    assert theirs.out.splitlines()[1:] == [
        "opened pull request #3: https://github.com/acme/deploy/pull/3"]
    assert list(open_pulls(hub)) == [1, 2, 3] and hub.comments == []
    heads = {number: pull["head"] for number, pull in hub.pulls.items()}
    assert heads == {1: "shipspec/prod/acme.core", 2: "shipspec/prod/acme.web",
                     3: "shipspec/prod/beta.core"}
    assert hub.pulls[1]["title"] == "deploy(prod): core=1.1.0"
    assert 'tag: "1.1.0"' in remote_file(bare, "env/prod/values.yaml", heads[1])
    assert 'tag: "2.5.0"' in remote_file(bare, "env/prod/values.yaml", heads[3])
    # and a bump of both of acme's modules supersedes acme's two, not beta's
    both = bump(spec, "--module", "core", "--module", "web", "--tag", "core=1.2.0",
                "--tag", "web=2.2.0")
    assert both.code == 0, both.err
    assert list(open_pulls(hub)) == [3, 4]


def test_a_pull_request_of_an_older_shipspec_is_superseded_as_before(github: Pulls) -> None:
    """Before the project was part of them, a branch and a scope named modules alone: such
    a pull request, still open after an upgrade, is taken for one of the project that
    supersedes it, as the older shipspec took it."""
    from shipspec.bump.pull_request import Scope

    hub, spec, bare = github
    git("--git-dir", str(bare), "branch", "shipspec/prod/core", "main")
    older = hub.open_pull("shipspec/prod/core", "main", "deploy(prod): core=1.1.0",
                          '<!-- shipspec: {"environments": ["prod"], "modules": ["core"]} -->')
    result = bump(spec, "--module", "core", "--tag", "1.2.0")
    assert result.code == 0, result.err
    assert result.out.splitlines()[1:] == [
        f"opened pull request #{older + 1}: https://github.com/acme/deploy/pull/{older + 1}",
        f"closed pull request #{older}, superseded"]
    assert hub.head_sha("shipspec/prod/core") is None
    # a module named without its project is any project's; with it, that project's only
    assert Scope(("prod",), ("beta.core",)).covers(Scope(("prod",), ("core",)))
    assert not Scope(("prod",), ("beta.core",)).covers(Scope(("prod",), ("acme.core",)))
    assert not Scope(("stage",), ("acme.core",)).covers(Scope(("prod",), ("core",)))


def test_pull_requests_it_did_not_open_are_never_touched(github: Pulls) -> None:
    hub, spec, bare = github
    git("--git-dir", str(bare), "branch", "someone/fix", "main")
    theirs = hub.open_pull("someone/fix", "main", "core: a fix", "changes core by hand")
    # a description that copies shipspec's comment line is not enough either
    forged = hub.open_pull("someone/fix", "main", "core: the same fix", '<!-- shipspec: '
                           '{"environments": ["prod"], "modules": ["acme.core"]} -->')
    assert bump(spec, "--module", "core", "--tag", "1.1.0").code == 0
    assert hub.pulls[theirs]["state"] == hub.pulls[forged]["state"] == "open"
    assert hub.comments == [] and hub.head_sha("someone/fix") is not None


@pytest.mark.parametrize("github", ["{method: pull-request, autoMerge: squash}"],
                         indirect=True)
def test_a_pull_request_from_a_fork_is_never_taken_for_shipspecs(github: Pulls) -> None:
    """Anyone who may fork the deployment repository may open a pull request from a branch
    named as shipspec names its own, with shipspec's comment line in its description: one
    named as the next bump's branch was taken for shipspec's own pull request (its title
    rewritten, auto-merge asked for the fork's commit, ours never opened), and one at the
    commit of a branch of ours was closed as superseded with our branch deleted."""
    hub, spec, _bare = github
    assert bump(spec, "--module", "web", "--tag", "2.1.0").code == 0  # ours: #1
    ours = hub.head_sha("shipspec/prod/acme.web")
    comment = '<!-- shipspec: {"environments": ["prod"], "modules": ["acme.core"]} -->'
    named_as_next = hub.open_pull("shipspec/prod/acme.core", "main", "deploy(prod): core=6.6.6",
                                  comment, fork="mallory")
    at_our_commit = hub.open_pull("shipspec/prod/acme.web", "main", "deploy(prod): web=2.1.0",
                                  comment, fork="mallory", sha=ours)
    result = bump(spec, "--module", "core", "--tag", "1.1.0")
    assert result.code == 0, result.err
    assert result.out.splitlines()[1:] == [
        "opened pull request #4: https://github.com/acme/deploy/pull/4",
        "#4 will be merged (squash) once its required checks pass"]
    assert hub.auto_merges == [(1, ours), (4, hub.head_sha("shipspec/prod/acme.core"))]
    for number, title in ((named_as_next, "deploy(prod): core=6.6.6"),
                          (at_our_commit, "deploy(prod): web=2.1.0")):
        pull = hub.pulls[number]
        assert (pull["state"], pull["title"], pull["auto_merge"]) == ("open", title, None)
    assert hub.comments == [] and hub.head_sha("shipspec/prod/acme.web") == ours
    assert hub.pulls[1]["state"] == "open"


@pytest.mark.parametrize("github", ["{method: pull-request, autoMerge: squash}"],
                         indirect=True)
def test_auto_merge_is_asked_once_and_the_merge_lands_when_checks_pass(github: Pulls) -> None:
    hub, spec, bare = github
    result = bump(spec, "--module", "core", "--tag", "1.1.0")
    assert result.code == 0, result.err
    assert "#1 will be merged (squash) once its required checks pass" in result.out
    assert hub.requests[-1] == "POST /graphql"
    # at the commit it pushed: a push to the branch since would hold the merge back
    assert hub.auto_merges == [(1, hub.head_sha("shipspec/prod/acme.core"))]
    assert hub.pulls[1]["auto_merge"]["merge_method"] == "squash"
    rerun = bump(spec, "--module", "core", "--tag", "1.1.0")
    assert "POST /graphql" not in hub.requests[hub.requests.index("POST /graphql") + 1:]
    assert rerun.code == 0 and "will be merged" not in rerun.out
    assert hub.checks_pass() == [1]
    assert 'tag: "1.1.0"' in remote_file(bare, "env/prod/values.yaml")
    history = run_process("history", str(spec), "--module", "core",
                          env={**os.environ, "DEPLOY_TOKEN": TOKEN})
    assert history.code == 0, history.err
    squashed = commits(bare)[0]
    assert squashed.endswith("|GitHub|deploy(prod): core=1.1.0 (#1)")
    assert [line.split()[0] + " " + line.split()[-1] for line in history.out.splitlines()
            ] == [f"{squashed[:12]} 1.1.0", f"{root(bare)[:12]} 1.0.0"]
    # a rollback is delivered the same way: a pull request, merged when checks pass
    rollback = run_process("rollback", str(spec), "--module", "core", "--steps", "1",
                           env={**os.environ, "DEPLOY_TOKEN": TOKEN})
    assert rollback.code == 0, rollback.err
    assert hub.pulls[2]["title"] == "rollback(prod): core=1.0.0"
    assert hub.pulls[2]["auto_merge"]["merge_method"] == "squash"
    assert 'tag: "1.1.0"' in remote_file(bare, "env/prod/values.yaml")  # until it merges


@pytest.mark.parametrize("github", ["{method: pull-request, autoMerge: merge}"],
                         indirect=True)
@pytest.mark.parametrize(("merge_state", "preview"), [
    ("CLEAN", False), ("UNSTABLE", False), ("HAS_HOOKS", False),
    # a GitHub Enterprise Server that shows the merge state only with its preview
    ("CLEAN", True), ("HAS_HOOKS", True)])
def test_a_pull_request_ready_at_once_is_merged_directly(github: Pulls, merge_state: str,
                                                         preview: bool) -> None:
    """GitHub refuses auto-merge for a pull request it would merge now: no required check
    left, failing checks that are not required, or a GitHub Enterprise Server's pre-receive
    hooks (HAS_HOOKS), as `gh pr merge --auto` knows them."""
    hub, spec, bare = github
    hub.merge_state = merge_state
    hub.merge_info_is_a_preview = preview
    result = bump(spec, "--module", "web", "--tag", "2.1.0")
    assert result.code == 0, result.err
    assert "merged pull request #1 (merge): it was ready" in result.out
    assert hub.requests[-3:] == ["POST /graphql", "POST /graphql",
                                 "PUT /repos/acme/deploy/pulls/1/merge"]
    assert hub.violations == []
    merge = commits(bare)[0]
    assert merge.split("|")[-1] == "Merge pull request #1 from acme/shipspec/prod/acme.web"
    assert 'tag: "2.1.0"' in remote_file(bare, "env/prod/values.yaml")
    # history: the tag arrived with the merge commit, not with the pull request's own
    history = run_process("history", str(spec), "--module", "web",
                          env={**os.environ, "DEPLOY_TOKEN": TOKEN})
    assert [line.split()[0] + " " + line.split()[-1] for line in history.out.splitlines()
            ] == [f"{merge[:12]} 2.1.0", f"{root(bare)[:12]} 2.0.0"]


def test_a_pull_request_opened_whose_answer_was_lost_is_found_and_used(
        github: Pulls) -> None:
    """GitHub opens the pull request and the answer is lost (a load balancer's 502): a POST
    is not sent again, as it may have been carried out, and the bump failed though its
    pull request was open. It now reads the open pull requests, and takes the one from its
    branch; a pull request that was not opened still fails the bump (below)."""
    hub, spec, _ = github
    hub.gateway_error("POST /repos/acme/deploy/pulls", carried_out=True)
    result = bump(spec, "--module", "web", "--tag", "2.3.0")
    assert result.code == 0, result.err
    assert "opened pull request #1: https://github.com/acme/deploy/pull/1" in result.out
    assert hub.requests == ["GET /repos/acme/deploy/pulls", "POST /repos/acme/deploy/pulls",
                            "GET /repos/acme/deploy/pulls"]
    assert list(open_pulls(hub)) == [1] and hub.gateway_errors == []
    # not carried out: nothing opened, and the bump fails with the forge's answer
    hub.gateway_error("POST /repos/acme/deploy/pulls", carried_out=False)
    failed = bump(spec, "--module", "core", "--tag", "1.4.0")
    assert failed.code == 2 and "/repos/acme/deploy/pulls answered 502" in failed.err
    assert list(open_pulls(hub)) == [1] and hub.requests[-2:] == [
        "POST /repos/acme/deploy/pulls", "GET /repos/acme/deploy/pulls"]


@pytest.mark.parametrize("github", ["{method: pull-request, autoMerge: squash}"],
                         indirect=True)
def test_auto_merge_asked_whose_answer_was_lost_is_read_back(github: Pulls) -> None:
    """GitHub turns auto-merge on and the answer is lost: the GraphQL request, a POST, is not
    sent again; the pull request says whether it will be merged. Where it was not carried
    out, the bump fails, and its rerun asks again (below)."""
    hub, spec, _ = github
    hub.gateway_error("POST /graphql", carried_out=True)
    result = bump(spec, "--module", "web", "--tag", "2.4.0")
    assert result.code == 0, result.err
    assert "#1 will be merged (squash) once its required checks pass" in result.out
    assert hub.requests[-2:] == ["POST /graphql", "GET /repos/acme/deploy/pulls/1"]
    assert hub.pulls[1]["auto_merge"] is not None and hub.gateway_errors == []
    hub.gateway_error("POST /graphql", carried_out=False)
    failed = bump(spec, "--module", "core", "--tag", "1.5.0")
    assert failed.code == 2 and "/graphql answered 502" in failed.err
    assert hub.pulls[2]["auto_merge"] is None
    rerun = bump(spec, "--module", "core", "--tag", "1.5.0")
    assert rerun.code == 0 and hub.pulls[2]["auto_merge"] is not None, rerun.err


@pytest.mark.parametrize("github", ["{method: pull-request, autoMerge: squash}"],
                         indirect=True)
def test_a_merge_whose_answer_was_lost_is_one_merge_and_a_success(github: Pulls) -> None:
    """GitHub carries out the merge and the answer is lost (a load balancer's 502): sent
    again, as a PUT may be, the merge is refused, the pull request being merged already
    (405, as GitHub answers for a pull request that is not open). The bump failed though
    its change was on the branch; it now asks the pull request, which says merged at our
    commit."""
    hub, spec, bare = github
    hub.merge_state = "CLEAN"
    hub.gateway_error("PUT /repos/acme/deploy/pulls/1/merge", carried_out=True)
    result = bump(spec, "--module", "web", "--tag", "2.2.0")
    assert result.code == 0, result.err
    assert "merged pull request #1 (squash): it was ready" in result.out
    assert hub.requests[-3:] == ["PUT /repos/acme/deploy/pulls/1/merge",
                                 "PUT /repos/acme/deploy/pulls/1/merge",
                                 "GET /repos/acme/deploy/pulls/1"]
    assert hub.gateway_errors == [] and hub.pulls[1]["merged"] is True
    assert len([c for c in commits(bare) if "(#1)" in c]) == 1  # merged once
    assert 'tag: "2.2.0"' in remote_file(bare, "env/prod/values.yaml")


@pytest.mark.parametrize("github", ["{method: pull-request, autoMerge: squash}"],
                         indirect=True)
def test_a_repository_without_auto_merge_leaves_the_pull_request_open_and_says_so(
        github: Pulls) -> None:
    hub, spec, bare = github
    hub.auto_merge_allowed = False
    result = bump(spec, "--module", "web", "--tag", "2.1.0")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "error: pull request #1 (https://github.com/acme/deploy/pull/1) is open, but GitHub refused to "
        "merge it when ready (merge state BLOCKED): Pull request Auto merge is not allowed "
        "for this repository\n  hint: allow auto-merge in the repository's settings "
        "(General > Pull Requests), or leave delivery.autoMerge out\n")
    assert hub.pulls[1]["state"] == "open" and hub.pulls[1]["auto_merge"] is None
    assert 'tag: "2.0.0"' in remote_file(bare, "env/prod/values.yaml")
    assert hub.violations == []


def test_rate_limits_are_waited_out(github: Pulls) -> None:
    hub, spec, _ = github
    hub.limit_next(403)  # a secondary rate limit, then a primary one
    hub.limit_next(429)
    result = bump(spec, "--module", "core", "--tag", "1.1.0")
    assert result.code == 0, result.err
    assert hub.requests == ["GET /repos/acme/deploy/pulls"] * 3 + [
        "POST /repos/acme/deploy/pulls"]
    assert result.err.count(" is rate limiting us: waiting 1 s\n") == 2, result.err


def test_a_server_error_is_retried_for_a_read_never_for_a_write(github: Pulls) -> None:
    hub, spec, _ = github
    hub.limit_next(502)
    assert bump(spec, "--module", "core", "--tag", "1.1.0").code == 0
    assert hub.requests == ["GET /repos/acme/deploy/pulls"] * 2 + [
        "POST /repos/acme/deploy/pulls"]
    hub.requests.clear()
    hub.pulls.clear()  # so that the next bump opens one again: a POST
    original = hub.answer

    def fail_the_post(method: str, target: str, headers: dict[str, str],
                      body: bytes) -> tuple[int, dict[str, str], Any]:
        if method == "POST":
            hub.requests.append(f"{method} {target}")
            return 502, {}, {"message": "Server Error"}
        return original(method, target, headers, body)

    hub.answer = fail_the_post  # type: ignore[method-assign]
    result = bump(spec, "--module", "core", "--tag", "1.2.0")
    assert (result.code, result.out) == (2, "")
    assert result.err.endswith("/repos/acme/deploy/pulls answered 502: Server Error\n"
                               "  hint: the forge failed; a rerun of the job carries on from "
                               "the branch already pushed\n")
    assert hub.requests.count("POST /repos/acme/deploy/pulls") == 1


def test_a_rate_limit_longer_than_a_job_should_wait_fails_clearly(github: Pulls) -> None:
    hub, spec, _ = github
    hub.limit_next(403, retry_after="3600")
    result = bump(spec, "--module", "core", "--tag", "1.1.0")
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("error: http://127.0.0.1:")
    assert "is rate limiting us for 3600 s more\n  hint: retry the job later" in result.err


def test_every_page_of_open_pull_requests_is_read(github: Pulls) -> None:
    hub, spec, bare = github
    hub.page_size_cap = 2  # GitHub pages at 100; five pages of two here
    for number in range(9):
        git("--git-dir", str(bare), "branch", f"other/{number}", "main")
        hub.open_pull(f"other/{number}", "main", f"other {number}", "")
    assert bump(spec, "--module", "core", "--tag", "1.1.0").code == 0
    assert bump(spec, "--module", "core", "--tag", "1.1.0").code == 0
    # the second run found its pull request (#10) on the last of five pages: none opened
    assert list(open_pulls(hub))[-1] == 10 and len(hub.pulls) == 10
    assert hub.requests.count("GET /repos/acme/deploy/pulls") == 10


def test_bumps_that_arrive_together_share_one_pull_request(github: Pulls) -> None:
    hub, spec, bare = github
    queue = "refs/shipspec/main+pull-request+by-hand/"  # apart from the bumps that push
    lock = hold_lock(bare, queue)  # so that both queue up before either is written
    results: dict[str, Result] = {}

    def run(module: str, tag: str) -> None:
        results[module] = bump(spec, "--module", module, "--tag", tag)

    threads = [threading.Thread(target=run, args=pair) for pair in (("core", "1.1.0"),
                                                                    ("web", "2.1.0"))]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(refs(bare, f"{queue}queue/")) == 2)
    git("--git-dir", str(bare), "update-ref", "-d", f"{queue}lock", lock)
    for thread in threads:
        thread.join()
    assert all(r.code == 0 for r in results.values()), [r.err for r in results.values()]
    [pull] = hub.pulls.values()
    assert pull["head"] == "shipspec/prod/acme.core+acme.web"
    assert set(pull["title"].split("; ")) == {"deploy(prod): core=1.1.0",
                                              "deploy(prod): web=2.1.0"}
    text = remote_file(bare, "env/prod/values.yaml", "shipspec/prod/acme.core+acme.web")
    assert '"1.1.0"' in text and '"2.1.0"' in text
    assert {r.out.splitlines()[-1] for r in results.values()} == {
        "opened pull request #1: https://github.com/acme/deploy/pull/1"}
    # the bump that waited read its receipt from its batch's, which stays an hour
    [batch] = refs(bare, "refs/shipspec/")
    assert "+pull-request+" in batch and "/batch/" in batch and len(commits(bare)) == 1


# --- a slower build of an older commit (bump --newer-on) ------------------------------------

def built_commits(spec: Path, count: int) -> list[str]:
    """`count` more pushes to main of the spec's own repository (made a real one the first
    time); their commits, oldest first."""
    app = spec.parent
    if not (app / ".git" / "HEAD").exists():
        (app / ".git").rmdir()
        git("init", "--quiet", "--initial-branch=main", cwd=app)
    pushed = []
    for _ in range(count):
        with (app / "server.txt").open("a") as changed:
            changed.write("a change\n")
        git("add", ".", cwd=app)
        git("commit", "--quiet", "-m", "a change", cwd=app)
        pushed.append(git("rev-parse", "HEAD", cwd=app).strip())
    return pushed


def bump_built(spec: Path, sha: str, *modules: str, extra: tuple[str, ...] = ()) -> Result:
    return bump(spec, *(f"--module={module}" for module in modules), "--sha", sha,
                "--newer-on", "main", *extra)


@pytest.mark.parametrize("queue", [(), ("--no-queue",)])
def test_an_older_commits_bump_leaves_a_newer_ones_pull_request_alone(
        github: Pulls, queue: tuple[str, ...]) -> None:
    """The newer commit's pull request waits for its checks: its tag is not on main yet,
    and the older commit's bump of the same module would move that same branch back."""
    hub, spec, bare = github
    older, newer = built_commits(spec, 2)
    assert bump_built(spec, newer, "core", extra=queue).code == 0
    proposed = hub.head_sha("shipspec/prod/acme.core")
    late = bump_built(spec, older, "core", extra=queue)
    assert (late.code, late.out) == (0, (
        f"kept core at core-prod-{newer[:8]}: a newer commit's tag, deployed or proposed "
        "already\nalready up to date on main: nothing to commit\n")), late.err
    assert hub.head_sha("shipspec/prod/acme.core") == proposed
    assert [(p["head"], p["title"]) for p in open_pulls(hub).values()] == [
        ("shipspec/prod/acme.core", f"deploy(prod): core=core-prod-{newer[:8]}")]
    assert len(commits(bare)) == 1 and refs(bare, "refs/shipspec/") == []
    # a commit newer than both still moves it
    [newest] = built_commits(spec, 1)
    again = bump_built(spec, newest, "core", extra=queue)
    assert "updated pull request #1" in again.out, again.err
    assert f'tag: "core-prod-{newest[:8]}"' in remote_file(
        bare, "env/prod/values.yaml", "shipspec/prod/acme.core")


def test_a_module_kept_for_a_proposed_tag_is_neither_named_nor_superseded(
        github: Pulls) -> None:
    hub, spec, bare = github
    older, newer = built_commits(spec, 2)
    assert bump_built(spec, newer, "core").code == 0  # pull request #1: core
    late = bump_built(spec, older, "core", "web")
    assert late.code == 0, late.err
    assert late.out.splitlines()[0] == (f"kept core at core-prod-{newer[:8]}: a newer "
                                        "commit's tag, deployed or proposed already")
    assert late.out.splitlines()[2:] == [
        "opened pull request #2: https://github.com/acme/deploy/pull/2"]
    assert sorted(open_pulls(hub)) == [1, 2] and hub.comments == []
    second = hub.pulls[2]
    assert (second["head"], second["title"]) == ("shipspec/prod/acme.web",
                                                 f"deploy(prod): web=web-prod-{older[:8]}")
    assert second["body"].endswith('<!-- shipspec: {"environments": ["prod"], "modules": '
                                   '["acme.web"]} -->')
    text = remote_file(bare, "env/prod/values.yaml", "shipspec/prod/acme.web")
    assert 'tag: "1.0.0"  # pinned by shipspec' in text  # core as main has it


def test_a_missing_values_file_is_reported_as_without_newer_tags(
        github: Pulls, tmp_path: Path) -> None:
    """Looking for newer proposals reads the target's file: one that does not exist fails
    the bump with the usual message, not earlier and not otherwise."""
    hub, spec, bare = github
    older, newer = built_commits(spec, 2)
    assert bump_built(spec, newer, "core").code == 0
    work = tmp_path / "remove"
    git("clone", "--quiet", str(bare), str(work))
    git("rm", "--quiet", "env/prod/values.yaml", cwd=work)
    git("commit", "--quiet", "-m", "values moved away", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    late = bump_built(spec, older, "core")
    assert (late.code, late.out) == (1, "")
    assert late.err.startswith("error: env/prod/values.yaml (apps.core.image.tag) does not "
                               "exist in the deployment repository; nothing was changed\n"
                               "  hint: "), late.err
    assert len(open_pulls(hub)) == 1


def test_only_the_pull_requests_of_the_same_environments_count() -> None:
    from shipspec.bump.pull_request import Scope, _may_propose_into

    assert _may_propose_into(Scope(("prod",), ("core",)).branch(), {"prod"})
    assert not _may_propose_into(Scope(("prod",), ("core",)).branch(), {"stage"})
    assert _may_propose_into(Scope(("prod", "stage"), ("core",)).branch(), {"stage"})
    # a long name cuts its environments at 40 characters
    long = Scope(("a" * 30, "b" * 30), tuple(f"module-{n}" for n in range(20))).branch()
    assert long.startswith(f"shipspec/{'a' * 30}+{'b' * 9}/")
    assert _may_propose_into(long, {"b" * 30}) and _may_propose_into(long, {"a" * 30})
    assert not _may_propose_into(long, {"c" * 30})


def test_without_the_token_nothing_is_pushed(github: Pulls) -> None:
    hub, spec, _bare = github
    env = {name: value for name, value in os.environ.items() if name != "DEPLOY_TOKEN"}
    result = run_process("bump", str(spec), "--module", "core", "--tag", "1.1.0", env=env)
    assert (result.code, result.out) == (1, "")
    assert "with the token in $DEPLOY_TOKEN, which is not set" in result.err
    assert hub.requests == [] and hub.head_sha("shipspec/prod/acme.core") is None


def test_a_token_with_the_newline_of_the_file_it_came_from_works(github: Pulls) -> None:
    """A Secret made with `kubectl create secret --from-file` keeps the file's newline: the
    push was refused as unauthorised, and an API request failed with the token in urllib's
    error (escaped, where redaction did not find it)."""
    hub, spec, bare = github
    result = bump(spec, "--module", "core", "--tag", "1.1.0", token=f"{TOKEN}\r\n")
    assert result.code == 0, result.err
    assert 'tag: "1.1.0"' in remote_file(bare, "env/prod/values.yaml", "shipspec/prod/acme.core")
    assert [pull["head"] for pull in hub.pulls.values()] == ["shipspec/prod/acme.core"]


@pytest.mark.parametrize("token", [f"{TOKEN[:4]} {TOKEN[4:]}", f"{TOKEN}\nmore",
                                   f"{TOKEN}\x1b[0m", f"{TOKEN}\u00e9"])
def test_a_token_with_a_space_or_control_character_inside_is_refused_unsaid(
        github: Pulls, token: str) -> None:
    hub, spec, _bare = github
    result = bump(spec, "--module", "core", "--tag", "1.1.0", token=token)
    assert (result.code, result.out) == (1, "")
    assert result.err == ("error: $DEPLOY_TOKEN holds a space, a control character or a "
                          "character outside ASCII within its value, which no token has\n"
                          "  hint: set DEPLOY_TOKEN to the token alone\n")
    assert hub.requests == [] and hub.head_sha("shipspec/prod/acme.core") is None


def test_a_link_to_another_site_is_not_followed_with_the_token(github: Pulls) -> None:
    hub, spec, bare = github
    hub.page_size_cap = 1
    for number in range(2):
        git("--git-dir", str(bare), "branch", f"other/{number}", "main")
        hub.open_pull(f"other/{number}", "main", f"other {number}", "")
    hub.base_url = "http://127.0.0.2:9"  # the next page's link now leads elsewhere
    result = bump(spec, "--module", "core", "--tag", "1.1.0")
    assert (result.code, result.out) == (2, "")
    assert "pointed to http://127.0.0.2:9, another site; refusing to send the token there" in (
        result.err)
    assert hub.requests == ["GET /repos/acme/deploy/pulls"]


def test_the_stand_in_reports_what_github_would_refuse(github: Pulls) -> None:
    """The contract checks themselves: each of these requests breaks GitHub's contract."""
    hub, _, _ = github
    good = {"accept": "application/vnd.github+json", "x-github-api-version": "2022-11-28",
            "authorization": f"Bearer {TOKEN}", "user-agent": "test",
            "content-type": "application/json"}
    pulls = "/repos/acme/deploy/pulls"
    cases = [
        ("GET", f"{pulls}?state=opened", {}, b"", "query parameter state='opened': not one of"),
        ("GET", f"{pulls}?labels=x", {}, b"", "query parameter labels is not declared"),
        ("GET", f"{pulls}?per_page=many", {}, b"", "per_page='many': not an integer"),
        ("GET", pulls, {"x-github-api-version": "2021-01-01"}, b"",
         "header x-github-api-version is '2021-01-01'"),
        ("GET", pulls, {"authorization": "token x"}, b"", "header authorization is (the token)"),
        ("POST", pulls, {}, b'{"title": 1, "head": "a", "base": "main"}',
         "body title: 1 is not of type 'string'"),
        ("PATCH", f"{pulls}/1", {}, b'{"state": "merged"}', "body state: 'merged' is not one of"),
        ("POST", "/repos/acme/deploy/pulls/1/automerge", {}, b"{}", "no such operation"),
    ]
    for method, target, headers, body, expected in cases:
        hub.violations.clear()
        hub.answer(method, target, {**good, **headers}, body)
        assert any(expected in violation for violation in hub.violations), (
            expected, hub.violations)
    hub.violations.clear()
    hub.answer("POST", "/graphql", good, b'{"query": "mutation { enablePullRequestAutoMerge('
               b'input: {pullRequestId: \\"x\\", mergeMethod: FAST}) { x } }"}')
    assert hub.violations == [
        "POST /graphql: Value 'FAST' does not exist in 'PullRequestMergeMethod' enum.",
        "POST /graphql: Cannot query field 'x' on type 'EnablePullRequestAutoMergePayload'."]
    hub.violations.clear()


def small_spec(directory: Path, deploy: str, delivery: str) -> Path:
    (directory / ".git").mkdir()
    spec = directory / "shipspec.yaml"
    spec.write_text("project: acme\nregistry: {url: ghcr.io/acme}\n"
                    "source: {url: https://github.com/acme/app.git, webhookSecret: hook}\n"
                    f"deploy: {deploy}\n"
                    "environments: {prod: {branch: main, values: v.yaml, "
                    f"delivery: {delivery}}}}}\nmodules: {{core: {{values: apps.core}}}}\n")
    return spec


@pytest.mark.parametrize(("deploy", "delivery", "expected"), [
    ("{url: 'https://git.example.com/acme/deploy.git'}", "{method: pull-request}",
     "environments.prod.delivery.method: pull requests are opened through the forge's API, "
     "and the forge of deploy.url is not known\n  hint: say which it is: deploy.forge.type: "
     "github"),
    ("{url: 'https://github.com/acme/deploy.git', forge: {type: github, "
     "api: 'http://github.example.com/api/v3'}}", "{method: pull-request}",
     "deploy.forge.api: the API is reached over plain HTTP, which would send the token in "
     "clear text\n  hint: use an https:// URL"),
    ("{url: 'https://github.com/acme/deploy.git'}", "{method: push, autoMerge: squash}",
     "environments.prod.delivery.autoMerge: autoMerge needs pull requests"),
    ("{url: 'https://github.com/acme/deploy.git'}", "{method: pull-request, autoMerge: fast}",
     "environments.prod.delivery.autoMerge"),
])
def test_a_delivery_that_cannot_work_is_refused_with_its_place(
        tmp_path: Path, deploy: str, delivery: str, expected: str) -> None:
    result = run_process("validate", str(small_spec(tmp_path, deploy, delivery)))
    assert (result.code, result.out) == (1, ""), result.err
    assert expected in result.err


@pytest.mark.parametrize(("url", "api", "repository"), [
    ("https://github.com/acme/deploy.git", "https://api.github.com", "acme/deploy"),
    ("git@github.com:acme/deploy.git", "https://api.github.com", "acme/deploy"),
])
def test_github_com_needs_no_forge_settings(tmp_path: Path, url: str, api: str,
                                            repository: str) -> None:
    from shipspec.specfile.resolve import load_spec

    spec = small_spec(tmp_path, f"{{url: '{url}'}}", "{method: pull-request}")
    forge = load_spec(str(spec)).deploy.forge
    assert forge is not None and (forge.kind, forge.api, forge.repository) == (
        "github", api, repository)


@pytest.mark.parametrize("token", [f"{TOKEN}\n", f"{TOKEN[:6]}\r\n{TOKEN[6:]}"])
def test_a_header_value_urllib_refuses_is_not_quoted_in_the_error(token: str) -> None:
    """A library caller's token (the command line strips and checks its own): urllib
    refuses the header with its value in the error, as bytes' repr escapes it."""
    from shipspec.bump.forges.api import Api
    from shipspec.bump.git import Credentials
    from shipspec.errors import RuntimeFailure

    with pytest.raises(RuntimeFailure) as failure:
        Api("http://127.0.0.1:9", Credentials(token, "$DEPLOY_TOKEN"), {}).call("GET", "/x")
    assert str(failure.value) == ("error: cannot reach http://127.0.0.1:9: Invalid header "
                                  "value b'Bearer ***'")


def test_a_redirect_is_not_followed_with_the_token() -> None:
    """urllib would follow a redirect to any host with the Authorization header."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from shipspec.bump.forges.api import Api
    from shipspec.bump.git import Credentials
    from shipspec.errors import RuntimeFailure

    seen: list[str] = []

    class Moved(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(301)
            self.send_header("Location", "http://127.0.0.2:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Moved)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = Api(f"http://127.0.0.1:{server.server_address[1]}",
                  Credentials(TOKEN, "$DEPLOY_TOKEN"), {})
        with pytest.raises(RuntimeFailure) as failure:
            api.call("GET", "/repos/acme/deploy/pulls")
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["/repos/acme/deploy/pulls"]
    assert str(failure.value).endswith(
        "/repos/acme/deploy/pulls answered 301: no reason given\n  hint: the repository "
        "moved: set deploy.forge.repository to its new name")


def _dropping_server(drops: int) -> tuple[Any, list[str]]:
    """A server that reads each request and closes the connection without an answer for the
    first `drops` of them, as a forge's load balancer sometimes does, then answers []. Returns
    it and the requests it saw."""
    import socket
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Dropping(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _serve(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(f"{self.command} {self.path}")
            if len(seen) <= drops:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        do_GET = do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Dropping)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_connection_dropped_is_asked_again_for_a_read_never_for_a_write(
        method: str, caplog: pytest.LogCaptureFixture) -> None:
    """As a server error (above): a GET whose connection dropped is sent again; a POST may
    have been carried out, and is not."""
    from shipspec.bump.forges.api import Api
    from shipspec.bump.git import Credentials
    from shipspec.errors import RuntimeFailure

    server, seen = _dropping_server(drops=2)
    pauses: list[float] = []
    api = Api(f"http://127.0.0.1:{server.server_address[1]}",
              Credentials(TOKEN, "$DEPLOY_TOKEN"), {}, sleep=pauses.append)
    try:
        if method == "GET":
            assert api.call("GET", "/repos/acme/deploy/pulls").data == []
        else:
            with pytest.raises(RuntimeFailure) as failure:
                api.call("POST", "/repos/acme/deploy/pulls", {"title": "t"})
    finally:
        server.shutdown()
        server.server_close()
    if method == "GET":
        assert (seen, pauses) == (["GET /repos/acme/deploy/pulls"] * 3, [1.0, 2.0])
        assert [record.getMessage() for record in caplog.records] == [
            f"note: GET {api.base}/repos/acme/deploy/pulls failed (Remote end closed "
            f"connection without response); asking again in {pause:.1f} s"
            for pause in pauses]
        return
    assert (seen, pauses) == (["POST /repos/acme/deploy/pulls"], [])
    assert str(failure.value) == (
        f"error: cannot reach {api.base}: Remote end closed connection without response\n"
        "  hint: the connection broke off, and the forge may have carried out the request: "
        "rerun the job, which carries on from what is there")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forge_not_reached_is_asked_again_even_for_a_write(method: str) -> None:
    """A refused connection sent nothing: a POST is sent again too, and the error says how
    often it was tried."""
    import socket

    from shipspec.bump.forges.api import Api
    from shipspec.bump.git import Credentials
    from shipspec.errors import RuntimeFailure

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    pauses: list[float] = []
    api = Api(f"http://127.0.0.1:{port}", Credentials(TOKEN, "$DEPLOY_TOKEN"), {},
              sleep=pauses.append)
    with pytest.raises(RuntimeFailure) as failure:
        api.call(method, "/repos/acme/deploy/pulls", {"title": "t"} if method == "POST" else None)
    assert pauses == [1.0, 2.0, 4.0]
    assert str(failure.value) == (
        f"error: cannot reach http://127.0.0.1:{port}: [Errno 111] Connection refused\n"
        "  hint: asked 4 times; rerun the job once it answers")


def test_a_dry_run_says_it_would_propose_and_asks_nothing(github: Pulls) -> None:
    hub, spec, _ = github
    result = bump(spec, "--module", "core", "--tag", "1.1.0", "--dry-run")
    assert result.code == 0, result.err
    assert result.out.startswith("would commit to a pull request into main: core 1.0.0 -> "
                                 "1.1.0\n")
    assert hub.requests == [] and hub.head_sha("shipspec/prod/acme.core") is None


def test_a_promotion_reads_what_is_merged_and_proposes_it(github: Pulls) -> None:
    """promote copies the tag the source environment runs and delivers it as the target
    environment does: stage takes pushes, prod pull requests."""
    hub, spec, bare = github
    text = spec.read_text().replace(
        "environments:\n", "environments:\n  stage:\n    branch: develop\n"
        "    values: env/stage/values.yaml\n    deployBranch: stage\n")
    spec.write_text(text)
    stage = VALUES.replace('"1.0.0"', '"1.5.0"')
    seed = bare.parent / "stage-seed"
    git("clone", "--quiet", str(bare), str(seed))
    git("checkout", "--quiet", "-b", "stage", cwd=seed)
    (seed / "env/stage").mkdir(parents=True)
    (seed / "env/stage/values.yaml").write_text(stage)
    git("add", ".", cwd=seed)
    git("commit", "--quiet", "-m", "stage", cwd=seed)
    git("push", "--quiet", "origin", "stage", cwd=seed)
    result = run_process("promote", str(spec), "--module", "core", "--from", "stage",
                         "--to", "prod", env={**os.environ, "DEPLOY_TOKEN": TOKEN})
    assert result.code == 0, result.err
    [pull] = hub.pulls.values()
    assert (pull["head"], pull["title"]) == ("shipspec/prod/acme.core", "promote(prod): core=1.5.0")
    assert len(commits(bare)) == 1
