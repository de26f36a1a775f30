"""Seed B's path on GitHub Actions: the workflows, and `shipspec plan` that drives them."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from conftest import EXAMPLES, assert_golden
from gitserver import Fault, git_http_server
from test_bump import GIT_ENV, git

from shipspec.changes import changed_files
from shipspec.emit import to_yaml_stream
from shipspec.errors import SpecError
from shipspec.plan import plan
from shipspec.render import RenderOptions, github_actions
from shipspec.specfile.resolve import load_spec

GOLDEN = Path(__file__).parent / "golden" / "github-actions"
SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def workflows() -> dict[str, dict]:
    spec = load_spec(str(EXAMPLES / "astrago"))
    return {r.path: r.document for r in github_actions.render(spec, RenderOptions())}


def test_one_workflow_per_source_repository_matches_golden(cli, tmp_path: Path) -> None:
    result = cli("generate", str(EXAMPLES / "astrago"), "--target", "github-actions",
                 "--output-dir", str(tmp_path))
    assert result.code == 0, result.err
    for name in ("astrago-backend", "astrago-frontend"):
        text = (tmp_path / "xiilab" / name / ".github" / "workflows" /
                "shipspec.yaml").read_text()
        assert_golden(GOLDEN / f"{name}.yaml", text)


def test_repositories_of_one_name_get_one_workflow_each(tmp_path: Path) -> None:
    """team-a/app and team-b/app wrote their workflows into one file."""
    (tmp_path / ".git").mkdir()
    text = (EXAMPLES / "astrago" / "shipspec.yaml").read_text()
    text = text.replace("https://github.com/xiilab/astrago-frontend.git",
                        "https://github.com/other-team/astrago-backend.git")
    (tmp_path / "shipspec.yaml").write_text(text)
    paths = [r.path for r in github_actions.render(load_spec(str(tmp_path)), RenderOptions())]
    assert paths == ["xiilab/astrago-backend/.github/workflows/shipspec.yaml",
                     "other-team/astrago-backend/.github/workflows/shipspec.yaml"]


def test_least_privilege_and_serialised_deploys() -> None:
    for workflow in workflows().values():
        assert workflow["permissions"] == {}
        jobs = workflow["jobs"]
        assert jobs["build"]["permissions"] == {"contents": "read", "packages": "write"}
        # they pull the team's shipspec image, private on ghcr.io by default, with the job's
        # token: said as credentials for self-hosted runners (hosted ones log in so alone)
        for job in ("plan", "deploy"):
            assert jobs[job]["permissions"] == {"contents": "read", "packages": "read"}
            assert jobs[job]["container"]["credentials"] == {
                "username": "${{ github.actor }}", "password": "${{ secrets.GITHUB_TOKEN }}"}
        # one deploy of an environment at a time, and every waiting one kept: by default
        # GitHub cancels a waiting job when the next one comes
        assert jobs["deploy"]["concurrency"] == {
            "group": "shipspec-deploy-${{ needs.plan.outputs.environment }}",
            "cancel-in-progress": False, "queue": "max"}


def _backend_workflow(cli: Any, spec: Path, tmp_path: Path) -> dict[str, Any]:
    """The workflow `generate --output-dir` writes for seed B's backend from `spec`."""
    out = tmp_path / "out"
    assert cli("generate", str(spec), "--target", "github-actions", "--output-dir",
               str(out)).code == 0
    workflow: dict[str, Any] = yaml.safe_load(
        (out / "xiilab" / "astrago-backend" / ".github" / "workflows" / "shipspec.yaml"
         ).read_text())
    return workflow


def test_a_shipspec_image_elsewhere_is_pulled_without_the_jobs_token(cli,
                                                                    tmp_path: Path) -> None:
    """The job's token is for ghcr.io: another registry's image is pulled as the runner
    pulls any image, and the jobs read no packages."""
    spec = _edited(tmp_path, ("shipspec: ghcr.io/xiilab/shipspec:", "shipspec: "
                              "registry.example.com/xiilab/shipspec:"))
    jobs = _backend_workflow(cli, spec, tmp_path)["jobs"]
    assert jobs["build"]["permissions"] == {"contents": "read", "packages": "write"}
    for job in ("plan", "deploy"):
        assert jobs[job]["permissions"] == {"contents": "read"}
        assert "credentials" not in jobs[job]["container"]


def test_a_repository_on_a_github_enterprise_server_gets_no_workflow(cli,
                                                                     tmp_path: Path) -> None:
    """The workflows are github.com's (hosted runners, actions pinned to its commits,
    ghcr.io with the job's token): a Server's repository is refused, not sent them."""
    spec = _edited(tmp_path, ("  url: https://github.com/xiilab/astrago-backend.git\n",
                              "  url: https://ghe.corp.example/xiilab/astrago-backend.git\n"
                              "  provider: github-enterprise\n"))
    (spec / ".git").mkdir()
    result = cli("generate", str(spec), "--target", "github-actions")
    assert (result.code, result.out) == (1, "")
    assert ("error: modules.core: xiilab/astrago-backend is on a GitHub Enterprise Server, "
            "and the workflows shipspec writes are for github.com (its hosted runners, actions "
            "and ghcr.io)\n  hint: use ci.engine: tekton, whose Triggers take the Server's "
            "webhooks\n") in result.err

def test_actions_are_pinned_to_commits_and_checkouts_keep_no_credentials() -> None:
    for workflow in workflows().values():
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"])
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False


# What each pinned action declares in the action.yml of its commit: the runtime
# (`runs.using`) and the inputs. Read in each action's repository at the tag of the pin's
# comment; update with the pins.
ACTION_MANIFESTS = {
    "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1": ("node24", {
        "allow-unsafe-pr-checkout", "clean", "fetch-depth", "fetch-tags", "filter",
        "github-server-url", "lfs", "path", "persist-credentials", "ref", "repository",
        "set-safe-directory", "show-progress", "sparse-checkout", "sparse-checkout-cone-mode",
        "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user", "submodules", "token"}),
    "docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e": ("node24", {
        "append", "buildkitd-config", "buildkitd-config-inline", "buildkitd-flags",
        "cache-binary", "cleanup", "driver", "driver-opts", "endpoint", "keep-state", "name",
        "platforms", "use", "version"}),
    "docker/login-action@4907a6ddec9925e35a0a9e82d7399ccc52663121": ("node24", {
        "ecr", "logout", "password", "registry", "registry-auth", "scope", "username"}),
    "docker/build-push-action@53b7df96c91f9c12dcc8a07bcb9ccacbed38856a": ("node24", {
        "add-hosts", "allow", "annotations", "attests", "build-args", "build-contexts",
        "builder", "cache-from", "cache-to", "call", "cgroup-parent", "context", "file",
        "github-token", "labels", "load", "network", "no-cache", "no-cache-filters", "outputs",
        "platforms", "provenance", "pull", "push", "sbom", "secret-envs", "secret-files",
        "secrets", "shm-size", "ssh", "tags", "target", "ulimit"}),
    "actions/setup-java@b6effb05e454b25005698d916606bdc6ffcbf961": ("node24", {
        "architecture", "cache", "cache-dependency-path", "check-latest", "distribution",
        "gpg-passphrase", "gpg-private-key", "java-package", "java-version",
        "java-version-file", "jdk-file", "jdkFile", "job-status", "mvn-toolchain-id",
        "mvn-toolchain-vendor", "overwrite-settings", "server-id", "server-password",
        "server-username", "set-default", "settings-path", "show-download-progress", "token",
        "verify-signature", "verify-signature-public-key"}),
    "actions/setup-node@820762786026740c76f36085b0efc47a31fe5020": ("node24", {
        "architecture", "cache", "cache-dependency-path", "check-latest", "mirror",
        "mirror-token", "node-version", "node-version-file", "package-manager-cache",
        "registry-url", "scope", "token"}),
}


def spec_with_frontend_built_by_npm(tmp_path: Path) -> Path:
    """A repository holding seed B's spec with the frontend built by npm (setup-node)."""
    spec = _edited(tmp_path, ("    build: none ", "    build: npm  "))
    (spec / ".git").mkdir()
    return spec


def _frontend_built_by_npm(tmp_path: Path) -> dict[str, dict]:
    """Seed B's workflows with the frontend built by npm before its image."""
    spec = spec_with_frontend_built_by_npm(tmp_path)
    return {r.path: r.document
            for r in github_actions.render(load_spec(str(spec)), RenderOptions())}


def test_every_action_runs_on_node_24_and_gets_only_inputs_it_declares(
        tmp_path: Path) -> None:
    """From June 2026 GitHub's runner runs an action written for Node.js 20 on Node.js 24 and
    warns on every job that uses one (actions/runner v2.336.0,
    src/Runner.Worker/Handlers/HandlerFactory.cs and JobExtension.cs); an input the action
    does not declare is ignored with a warning. The pins were v4/v3/v6 releases on Node.js
    20. Seed B's workflows, and one with a module built by npm (setup-node)."""
    used: dict[str, set[str]] = {}
    for workflow in [*workflows().values(), *_frontend_built_by_npm(tmp_path).values()]:
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if "uses" in step:
                    used.setdefault(step["uses"], set()).update(step.get("with", {}))
    assert used.keys() == ACTION_MANIFESTS.keys()
    for action, inputs in used.items():
        runtime, declared = ACTION_MANIFESTS[action]
        assert runtime == "node24", action
        assert inputs <= declared, (action, inputs - declared)


def test_the_job_that_pushes_images_restores_no_dependency_cache(tmp_path: Path) -> None:
    """setup-node v5 and later cache npm's downloads by default when package.json names npm
    its packageManager (action.yml, `package-manager-cache`); a cache another run wrote
    could slip into a pushed image (zizmor's cache-poisoning audit, which the linters'
    test runs on this workflow too)."""
    frontend = _frontend_built_by_npm(tmp_path)[
        "xiilab/astrago-frontend/.github/workflows/shipspec.yaml"]
    [setup_node] = [step for step in frontend["jobs"]["build"]["steps"]
                    if step.get("uses", "").startswith("actions/setup-node@")]
    assert setup_node["with"] == {"node-version": "22", "package-manager-cache": False}


def test_no_expression_inside_a_run_script() -> None:
    for workflow in workflows().values():
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                assert "${{" not in step.get("run", "")


def test_every_push_to_the_branch_runs_and_secrets_come_from_secrets() -> None:
    """No `paths` filter: GitHub matches one against a push's first 300 files only, and a
    push whose module files come later would build nothing (plan reads the whole diff).
    A run can be started by hand too."""
    backend = workflows()["xiilab/astrago-backend/.github/workflows/shipspec.yaml"]
    assert backend["on"] == {"push": {"branches": ["stabilize/1.0"]}, "workflow_dispatch": {}}
    [login] = [step for step in backend["jobs"]["build"]["steps"]
               if step.get("uses", "").startswith("docker/login-action@")]
    assert login["with"]["password"] == "${{ secrets.GITHUB_TOKEN }}"
    assert backend["jobs"]["deploy"]["steps"][1]["env"]["DEPLOY_TOKEN"] == \
        "${{ secrets.DEPLOY_TOKEN }}"


def test_emitted_version_comments_follow_the_pins(tmp_path: Path, cli) -> None:
    cli("generate", str(EXAMPLES / "astrago"), "--target", "github-actions", "--output-dir",
        str(tmp_path))
    text = (tmp_path / "xiilab" / "astrago-frontend" / ".github" / "workflows" /
            "shipspec.yaml").read_text()
    assert "uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1  # v7.0.1\n" in text
    assert yaml.safe_load(text)["jobs"]["plan"]["steps"][0]["uses"].endswith("0c181273ba90b1")


# --- shipspec plan ---------------------------------------------------------------------------


def test_module_paths_spelt_with_dot_slash_or_doubled_slashes_match_as_written_plainly(
        tmp_path: Path) -> None:
    """`./server-core/` and `module-common//` name the same directories: plan and the
    Tekton triggers read them so; as written, no push ever built the module. A context spelt
    `server-core/` named the Gradle project `:server-core:` in the pre-build."""
    from shipspec.render import tekton

    (tmp_path / ".git").mkdir()
    text = (EXAMPLES / "astrago" / "shipspec.yaml").read_text()
    text = text.replace("[server-core/, module-common/,", "[./server-core/, module-common//,")
    text = text.replace("context: server-core\n", "context: server-core/\n")
    text = text.replace("dockerfile: server-core/Dockerfile", "dockerfile: ./server-core/Dockerfile")
    text = text.replace("context: server-batch\n", "context: ./server-batch\n")
    (tmp_path / "shipspec.yaml").write_text(text)
    spelt, plain = load_spec(str(tmp_path)), load_spec(str(EXAMPLES / "astrago"))
    for files in (["server-core/src/Core.java"], ["module-common/src/Util.java"]):
        assert plan(spelt, "xiilab/astrago-backend", "stabilize/1.0", SHA, files,
                    "20261123") == plan(plain, "xiilab/astrago-backend", "stabilize/1.0", SHA,
                                        files, "20261123")
    for renderer in (github_actions, tekton):  # (the spec's own ConfigMap holds its text)
        assert [r.document for r in renderer.render(spelt, RenderOptions())
                if r.document.get("kind") != "ConfigMap"] == [
            r.document for r in renderer.render(plain, RenderOptions())
            if r.document.get("kind") != "ConfigMap"]


@pytest.mark.parametrize("whole", [".", "./", "a/.."])
def test_a_module_path_that_is_the_whole_repository_is_refused(tmp_path: Path,
                                                               whole: str) -> None:
    (tmp_path / ".git").mkdir()
    text = (EXAMPLES / "astrago" / "shipspec.yaml").read_text()
    (tmp_path / "shipspec.yaml").write_text(
        text.replace("[server-core/, module-common/,", f"['{whole}', module-common/,"))
    with pytest.raises(SpecError) as caught:
        load_spec(str(tmp_path))
    assert f"modules.core.paths[0]: '{whole}' " in str(caught.value)


def test_plan_builds_the_modules_a_push_touches() -> None:
    spec = load_spec(str(EXAMPLES / "astrago"))
    decided = plan(spec, "xiilab/astrago-backend", "stabilize/1.0", SHA,
                   ["module-common/src/Util.java", "README.md"], "20261123")
    assert decided.environment == "stage"
    assert [(b.module, b.tag) for b in decided.builds] == [
        ("core", "core-stage-a1b2c3d4"), ("batch", "batch-stage-a1b2c3d4"),
        ("monitor", "monitor-stage-a1b2c3d4")]
    only_docs = plan(spec, "xiilab/astrago-backend", "stabilize/1.0", SHA, ["README.md"],
                     "20261123")
    assert only_docs.builds == []
    one_server = plan(spec, "xiilab/astrago-backend", "stabilize/1.0", SHA,
                      ["server-core/src/main/java/Core.java"], "20261123")
    assert [(b.module, b.context, b.build, b.build_task) for b in one_server.builds] == [
        ("core", "server-core", "gradle", "bootJar")]
    build_file = plan(spec, "xiilab/astrago-backend", "stabilize/1.0", SHA,
                      ["settings.gradle"], "20261123")
    assert [b.module for b in build_file.builds] == ["core", "batch", "monitor"]


def test_plan_builds_nothing_for_a_deploys_own_commit_to_the_source_repository(
        tmp_path: Path) -> None:
    """A deploy's commit is a push to the branch that builds (the deploy token's push
    starts workflows, unlike the job's GITHUB_TOKEN): planned like any other, it would build
    and deploy again, without end. Seed A's kustomize overlays too."""
    from test_tekton import ONE_REPOSITORY

    (tmp_path / ".git").mkdir()
    (tmp_path / "shipspec.yaml").write_text(  # seed A's branch names the environment
        ONE_REPOSITORY + "  admin:\n    paths: [admin/]\n"
                         "    kustomize: {branch: stage, directory: deploy/admin}\n")
    spec = load_spec(str(tmp_path))

    def built(*files: str) -> list[str]:
        return [b.module for b in plan(spec, "acme/shop", "main", SHA, list(files),
                                       "20261123").builds]

    assert built("deploy/stage.yaml", "deploy/worker.yaml") == []
    assert built("deploy/admin/kustomization.yaml") == []
    assert built("deploy/stage.yaml", "web/index.html") == ["api", "web"]
    assert built("deploy/admin/patch.yaml", "admin/main.py") == ["api", "web", "admin"]
    assert built() == ["api"]  # an empty commit, pushed to build again


def test_a_change_to_a_modules_dockerfile_builds_it_though_its_paths_leave_it_out(
        tmp_path: Path) -> None:
    """Seed B's design keeps its Dockerfiles in docker/<component>/, apart from the code:
    with paths naming the code only, a new Dockerfile was never built, on either engine."""
    from test_tekton import _evaluate, _filters, _push_payload, render

    (tmp_path / ".git").mkdir()
    (tmp_path / "shipspec.yaml").write_text(
        "project: shop\nnamespace: shop-ci\nregistry: {url: ghcr.io/acme}\n"
        "source: {url: https://github.com/acme/shop.git, webhookSecret: hook}\n"
        "deploy: {url: https://github.com/acme/deploy.git, credentialsSecret: token}\n"
        f"ci: {{images: {{shipspec: 'ghcr.io/acme/shipspec:1@sha256:{'0' * 64}'}}}}\n"
        "environments: {stage: {branch: main, values: stage.yaml}}\nmodules:\n"
        "  core: {paths: [server-core/], dockerfile: docker/core/Dockerfile, values: a.core}\n"
        "  batch: {paths: [server-batch/, docker/batch/], dockerfile: docker/batch/Dockerfile,"
        " values: a.batch}\n")
    spec = load_spec(str(tmp_path))
    assert [m.paths for m in spec.modules] == [("server-core/", "docker/core/Dockerfile"),
                                               ("server-batch/", "docker/batch/")]
    for dockerfile, module in [("docker/core/Dockerfile", "core"),
                               ("docker/batch/Dockerfile", "batch")]:
        assert [b.module for b in plan(spec, "acme/shop", "main", SHA, [dockerfile],
                                       "20261123").builds] == [module]
        push = _push_payload(ref="refs/heads/main", repository={"full_name": "acme/shop"},
                             commits=[{"id": SHA, "added": [], "removed": [],
                                       "modified": [dockerfile]}])
        assert [name for name, cel in _filters(render(tmp_path)).items()
                if name.endswith("-push") and _evaluate(cel, push, "push")] == [
            f"shop-{module}-stage-push"]


# A GitHub Actions spec's settings but its environments and modules.
SHOP_ON_GITHUB_ACTIONS = (
    "project: shop\nnamespace: shop-ci\nregistry: {url: ghcr.io/acme}\n"
    "source: {url: https://github.com/acme/shop.git, webhookSecret: hook}\n"
    "deploy: {url: https://github.com/acme/deploy.git, credentialsSecret: token}\n"
    f"ci: {{engine: github-actions, images: {{shipspec: 'ghcr.io/acme/shipspec:1@sha256:"
    f"{'0' * 64}'}}}}\n")


def refused_before_any_run(cli, directory: Path) -> str:
    """The one message that `validate` and `generate --target github-actions` both refuse
    the spec in `directory` with (exit 1, nothing on stdout)."""
    said = set()
    for verb in (["validate"], ["generate", "--target", "github-actions"]):
        result = cli(*verb, str(directory))
        assert result.code == 1 and result.out == ""
        said.add(result.err)
    [message] = said
    return message


def test_two_environments_deployed_from_one_branch_are_refused_before_any_run(
        tmp_path: Path, cli) -> None:
    """A push runs the workflow once, and its deploy job deploys to one environment: such a
    spec validated and rendered, and then every run's plan failed ("branch main deploys to
    several environments"). Tekton runs each environment's pipeline: it takes the spec."""
    (tmp_path / ".git").mkdir()
    spec = tmp_path / "shipspec.yaml"
    spec.write_text(
        SHOP_ON_GITHUB_ACTIONS +
        "environments:\n  stage: {branch: main, values: stage.yaml}\n"
        "  qa: {branch: main, values: qa.yaml}\n  prod: {branch: release, values: prod.yaml}\n"
        "modules:\n  api: {values: apps.api}\n")
    assert refused_before_any_run(cli, tmp_path) == (
        f"{spec}:9:16: error: environments.qa.branch: the branch main of acme/shop deploys "
        "to stage and to qa: a push runs its workflow once, and that deploys to one "
        "environment\n  hint: deploy qa from a branch of its own (or promote to it: "
        "shipspec promote), or use ci.engine: tekton, which runs each environment's "
        "pipeline\n")
    spec.write_text(spec.read_text().replace("engine: github-actions", "engine: tekton"))
    assert cli("validate", str(tmp_path)).code == 0
    pushed = [t["metadata"]["name"] for t in yaml.safe_load_all(
        cli("generate", str(tmp_path)).out) if t["kind"] == "Trigger"
        and t["metadata"]["name"].endswith("-push")]
    assert pushed == ["shop-api-stage-push", "shop-api-qa-push", "shop-api-prod-push"]


def test_modules_a_push_deploys_to_two_deployment_branches_are_refused_before_any_run(
        tmp_path: Path, cli) -> None:
    """The deploy job bumps every module a push built in one `shipspec bump`, which writes
    one commit to one branch of the deployment repository: a seed A module (its overlay's
    branch, dev) beside one writing the environment's values file (deploy.branch, main)
    validated and rendered, and then every run that built both failed its deploy ("these
    modules deploy to different branches"). Tekton deploys each module in its own run."""
    (tmp_path / ".git").mkdir()
    spec = tmp_path / "shipspec.yaml"
    spec.write_text(
        SHOP_ON_GITHUB_ACTIONS +
        "environments:\n  dev: {branch: main, values: dev.yaml}\n"
        "modules:\n  api: {paths: [api/], kustomize: {branch: dev, directory: api/dev}}\n"
        "  web: {paths: [web/], values: apps.web}\n")
    # what the deploy step runs after a push that built both (the same spec on Tekton)
    spec.write_text(spec.read_text().replace("engine: github-actions", "engine: tekton"))
    built_both = [*("--module", "api", "--module", "web"), "--env", "dev", "--sha", SHA]
    assert "these modules deploy to different branches: dev, main" in cli(
        "bump", str(tmp_path), *built_both, "--dry-run").err
    spec.write_text(spec.read_text().replace("engine: tekton", "engine: github-actions"))
    assert refused_before_any_run(cli, tmp_path) == (
        f"{spec}:11:3: error: modules.web: a push to main of acme/shop deploys modules to "
        "several branches of the deployment repository (dev: api; main: web), and its deploy "
        "job writes one commit to one branch\n  hint: deploy the environment's modules to "
        "one branch (environments.dev.deployBranch, kustomize.branch), or use "
        "ci.engine: tekton, which deploys each module in a run of its own\n")
    spec.write_text(spec.read_text().replace("values: dev.yaml}", "values: dev.yaml, "
                                             "deployBranch: dev}"))
    assert cli("validate", str(tmp_path)).code == 0
    # a module built and pushed only (no target) writes to no branch
    spec.write_text(spec.read_text().replace(", deployBranch: dev", "").replace(
        "paths: [web/], values: apps.web", "paths: [web/]"))
    assert cli("validate", str(tmp_path)).code == 0


@pytest.mark.parametrize(("setting", "field", "said"), [
    ("deploy: {url: https://github.com/acme/deploy.git, tokenEnv: GITHUB_TOKEN}",
     "deploy.tokenEnv", "GITHUB_TOKEN is the job's own token: in the deploy job it may only "
                        "read this repository, and it reaches no other"),
    ("deploy: {url: https://github.com/acme/deploy.git, tokenEnv: github_deploy}",
     "deploy.tokenEnv", "github_deploy cannot be a secret"),
    ("deploy: {url: https://github.com/acme/deploy.git, signing: {format: ssh, "
     "keyEnv: GITHUB_SIGNING_KEY}}", "deploy.signing.keyEnv",
     "GITHUB_SIGNING_KEY cannot be a secret"),
    ("registry: {url: docker.io/acme, tokenSecret: GITHUB_HUB_TOKEN, username: acme}\n"
     "deploy: {url: https://github.com/acme/deploy.git}", "registry.tokenSecret",
     "GITHUB_HUB_TOKEN cannot be a secret"),
])
def test_a_secret_the_workflows_could_never_read_is_refused(
        tmp_path: Path, cli, setting: str, field: str, said: str) -> None:
    """GitHub refuses secret names that start with GITHUB_ (the workflow would read an
    empty value), and the job's own GITHUB_TOKEN is read-only in the deploy job: either
    rendered, and every deploy failed at its push."""
    (tmp_path / ".git").mkdir()
    registry = "" if "registry:" in setting else "registry: {url: ghcr.io/acme}\n"
    (tmp_path / "shipspec.yaml").write_text(
        f"project: shop\n{registry}{setting}\n"
        "source: {url: https://github.com/acme/shop.git}\n"
        f"ci: {{engine: github-actions, images: {{shipspec: 'ghcr.io/acme/shipspec:1@sha256:"
        f"{'0' * 64}'}}}}\n"
        "environments: {stage: {branch: main, values: stage.yaml}}\n"
        "modules:\n  api: {values: apps.api}\n")
    result = cli("generate", str(tmp_path), "--target", "github-actions")
    assert result.code == 1 and result.out == ""
    assert f": error: {field}: {said}" in result.err, result.err
    assert "  hint: " in result.err


@pytest.mark.parametrize(("shipspec_image", "credentials"), [
    ("harbor.example.com/team/shipspec", {"username": "robot$team+ci",
                                          "password": "${{ secrets.HARBOR_TOKEN }}"}),
    ("docker.io/acme/shipspec", None),  # another registry: pulled as it is, public
])
def test_a_shipspec_image_in_the_modules_own_registry_is_pulled_with_its_token(
        tmp_path: Path, shipspec_image: str, credentials: dict[str, str] | None) -> None:
    """A team on a private Harbor keeps its shipspec image there too: the plan and deploy
    jobs had no credentials for it, and every run failed to start its containers."""
    from test_linters import actionlint

    (tmp_path / ".git").mkdir()
    (tmp_path / "shipspec.yaml").write_text(
        "project: shop\nsource: {url: https://github.com/acme/shop.git}\n"
        "registry: {url: harbor.example.com/team, tokenSecret: HARBOR_TOKEN, "
        "username: robot$team+ci}\ndeploy: {url: https://github.com/acme/deploy.git}\n"
        f"ci: {{engine: github-actions, images: {{shipspec: '{shipspec_image}:1@sha256:"
        f"{'0' * 64}'}}}}\n"
        "environments: {stage: {branch: main, values: stage.yaml}}\n"
        "modules:\n  api: {values: apps.api}\n")
    [rendered] = github_actions.render(load_spec(str(tmp_path)), RenderOptions())
    jobs = rendered.document["jobs"]
    for job in ("plan", "deploy"):
        assert jobs[job]["container"].get("credentials") == credentials
        assert "packages" not in jobs[job]["permissions"]
    workflow = tmp_path / "shipspec-workflow.yaml"
    workflow.write_text(to_yaml_stream([rendered.document]))
    assert actionlint(workflow) == []


def test_plan_and_workflows_take_a_repository_name_in_any_case(tmp_path: Path) -> None:
    """$GITHUB_REPOSITORY spells the name as GitHub does; the spec may not: plan failed
    with "no enabled module builds from xiilab/astrago-backend"."""
    (tmp_path / ".git").mkdir()
    text = (EXAMPLES / "astrago" / "shipspec.yaml").read_text()
    text = text.replace("https://github.com/xiilab/astrago-backend.git",
                        "https://github.com/XiiLab/Astrago-Backend.git")
    text = text.replace("https://github.com/xiilab/astrago-frontend.git",  # one repository
                        "https://github.com/xiilab/astrago-backend.git")
    (tmp_path / "shipspec.yaml").write_text(text)
    spec = load_spec(str(tmp_path))
    decided = plan(spec, "xiilab/astrago-backend", "stabilize/1.0", SHA,
                   ["server-core/src/main/java/Core.java"], "20261123")
    assert [b.module for b in decided.builds] == ["core", "frontend"]  # (no paths: always)
    assert [r.path for r in github_actions.render(spec, RenderOptions())] == [
        "XiiLab/Astrago-Backend/.github/workflows/shipspec.yaml"]


def test_plan_without_a_file_list_builds_everything_of_the_repository() -> None:
    spec = load_spec(str(EXAMPLES / "astrago"))
    decided = plan(spec, "xiilab/astrago-frontend", "stabilize/1.0", SHA, None, "20261123")
    assert [(b.module, b.image, b.dockerfile) for b in decided.builds] == [
        ("frontend", "ghcr.io/xiilab/astrago-frontend", "Dockerfile")]


def test_plan_for_another_branch_or_another_repository_fails() -> None:
    """Pushes run the workflow only on the branches that deploy; a run started by hand on
    another branch says which ones do, rather than building nothing."""
    spec = load_spec(str(EXAMPLES / "astrago"))
    with pytest.raises(SpecError) as caught:
        plan(spec, "xiilab/astrago-backend", "main", SHA, None, "20261123")
    assert str(caught.value) == (
        "error: no module of xiilab/astrago-backend deploys from the branch main\n"
        "  hint: run the workflow on a branch an environment deploys from: stabilize/1.0")
    with pytest.raises(SpecError, match="no enabled module builds from someone/else"):
        plan(spec, "someone/else", "stabilize/1.0", SHA, None, "20261123")


def _edited(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    """A copy of seed B's spec with each (old, new) text replaced once."""
    text = (EXAMPLES / "astrago" / "shipspec.yaml").read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    directory = tmp_path / f"spec-{len(list(tmp_path.iterdir()))}"
    directory.mkdir()
    (directory / "shipspec.yaml").write_text(text)
    return directory


@pytest.mark.parametrize(("replacements", "built"), [
    # moved lines and a new comment change nothing a run does
    ([("# A change to a server builds", "# (said twice)\n\n# A change to a server builds")],
     []),
    ([("dockerfile: server-core/Dockerfile", "dockerfile: server-core/Dockerfile.jvm")],
     ["core"]),
    ([("    values: astrago.components.batch",
       "    values: astrago.components.batch-v2")], ["batch"]),
    ([("  monitor:\n", "  monitor:\n    enabled: false\n")], []),
    ([('java: "17"', 'java: "21"')], ["core", "batch", "monitor"]),  # their JDK
    ([('tag: "{{ module }}-stage-{{ sha8 }}"', 'tag: "{{ module }}-{{ sha8 }}"')],
     ["core", "batch", "monitor"]),
    ([("modules:\n", "modules:\n  gateway:\n    paths: [server-gateway/]\n"
       "    context: server-gateway\n    dockerfile: server-gateway/Dockerfile\n"
       "    image: astrago-backend\n    values: astrago.components.gateway\n"),
      ("modules: [core, batch, monitor, frontend]",
       "modules: [core, batch, monitor, frontend, gateway]")],
     ["gateway"]),
])
def test_plan_builds_what_the_spec_now_builds_or_deploys_otherwise(
        tmp_path: Path, replacements: list[tuple[str, str]], built: list[str]) -> None:
    """A push that changes only the spec: a module added, or given another Dockerfile,
    values key, tag or JDK, is built though none of its files changed; one disabled is
    not."""
    before = load_spec(str(_edited(tmp_path)))
    spec = load_spec(str(_edited(tmp_path, *replacements)))
    decided = plan(spec, "xiilab/astrago-backend", "stabilize/1.0", SHA, ["shipspec.yaml"],
                   "20261123", before)
    assert [build.module for build in decided.builds] == built


def test_plan_builds_a_module_enabled_again_and_one_the_old_spec_cannot_tag(
        tmp_path: Path) -> None:
    disabled = load_spec(str(_edited(tmp_path, ("  monitor:\n",
                                                "  monitor:\n    enabled: false\n"))))
    spec = load_spec(str(_edited(tmp_path)))
    assert [b.module for b in plan(spec, "xiilab/astrago-backend", "stabilize/1.0", SHA, [],
                                   "20261123", disabled).builds] == ["monitor"]
    # a tag the old spec cannot make for this commit (loading checked it with a SHA-1 of 40
    # digits; a SHA-256 commit id has 64, and three make more than 128 characters)
    untaggable = load_spec(str(_edited(tmp_path, (
        'tag: "{{ module }}-stage-{{ sha8 }}"', 'tag: "{{ module }}{{ sha }}{{ sha }}{{ sha }}"'))))
    sha256 = "ab" * 32
    assert [b.module for b in plan(spec, "xiilab/astrago-backend", "stabilize/1.0", sha256,
                                   [], "20261123", untaggable).builds] == ["core", "batch",
                                                                           "monitor"]


def test_plan_cli_writes_github_outputs(cli, tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    changed = tmp_path / "changed"
    changed.write_text("server-core/src/main/java/Core.java\n")
    result = cli("plan", str(EXAMPLES / "astrago"), "--repository", "xiilab/astrago-backend",
                 "--branch", "stabilize/1.0", "--sha", SHA, "--changed-files", str(changed),
                 "--github-output", str(output))
    assert result.code == 0, result.err
    assert output.read_text() == (
        "environment=stage\nmodules=core\ntags=core=core-stage-a1b2c3d4\n"
        'matrix={"include":[{"module":"core","image":"ghcr.io/xiilab/astrago-backend",'
        '"tag":"core-stage-a1b2c3d4","dockerfile":"server-core/Dockerfile",'
        '"context":"server-core","build":"gradle","build_task":"bootJar"}]}\n'
        "any=true\n")


def test_the_deploy_step_gets_the_signing_key_from_a_secret_of_its_name(example_copy) -> None:
    directory = example_copy("astrago")
    spec_file = directory / "shipspec.yaml"
    spec_file.write_text(spec_file.read_text().replace(
        "  tokenEnv: DEPLOY_TOKEN", "  signing: {format: ssh, keyEnv: SIGNING_KEY}\n"
        "  tokenEnv: DEPLOY_TOKEN"))
    spec = load_spec(str(directory))
    [workflow, _] = [r.document for r in github_actions.render(spec, RenderOptions())]
    step = bump_step(workflow["jobs"]["deploy"])
    assert step["env"]["SIGNING_KEY"] == "${{ secrets.SIGNING_KEY }}"
    assert step["env"]["DEPLOY_TOKEN"] == "${{ secrets.DEPLOY_TOKEN }}"


# Names git quotes in `git diff --name-only` (quote.c: bytes above 0x7f, control characters,
# `"` and `\`), in the directories of three of astrago-backend's modules.
ODD_NAMES = ["server-core/src/결제.java", "server-core/src/café.java",
             'server-batch/src/a "quoted" name.java', "server-batch/src/tab\there.java",
             "server-monitor/src/back\\slash.java", "server-monitor/src/plain.java"]


@pytest.fixture
def backend(tmp_path: Path) -> Path:
    """A checkout of astrago-backend: the spec at its root and files with odd names."""
    work = tmp_path / "astrago-backend"
    git("init", "--quiet", "--initial-branch=stabilize/1.0", str(work))
    (work / "shipspec.yaml").write_text((EXAMPLES / "astrago" / "shipspec.yaml").read_text())
    for name in ODD_NAMES:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text("class A {}\n")
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "seed", cwd=work)
    return work


def _push(work: Path, change: list[str]) -> tuple[str, str]:
    """Commit `change` (a git command) as one push; the commit before and the pushed one."""
    before = git("rev-parse", "HEAD", cwd=work).strip()
    git(*change, cwd=work)
    git("commit", "--quiet", "-am", "a push", cwd=work)
    return before, git("rev-parse", "HEAD", cwd=work).strip()


def _run_plan_step(work: Path, before: str, pushed: str, tmp_path: Path,
                   warnings: list[str] | None = None, server: str | None = None,
                   token: str = "the-job-token", errors: list[str] | None = None,
                   workflow_env: dict[str, str] | None = None,
                   after_checkout: Callable[[], None] | None = None) -> dict[str, str]:
    """The workflow's plan step, run by bash in a checkout of `work` as the runner runs it,
    with the shipspec of these tests first on PATH; its GITHUB_OUTPUT. The checkout is the
    job's: the pushed commit alone, as actions/checkout fetches it at its fetch-depth (1),
    from `work` (file://, where git fetches shallow as from GitHub), or from the
    astrago-backend.git that `server` serves, the job's GITHUB_SERVER_URL, with the job's
    token; the step gets `token` as the job's, and the workflow's `env` (or
    `workflow_env`) under its own, as the runner gives it (actions_runner.job_in).
    `warnings` gets the workflow commands the step printed, `errors` its stderr's lines;
    `after_checkout` runs between the checkout and the step."""
    workflow = workflows()["xiilab/astrago-backend/.github/workflows/shipspec.yaml"]
    job = workflow["jobs"]["plan"]
    [checkout] = [step for step in job["steps"] if "uses" in step]
    assert checkout["with"]["fetch-depth"] == 1
    [step] = [step for step in job["steps"] if step.get("id") == "plan"]
    tmp_path.mkdir(exist_ok=True)
    workspace = tmp_path / "workspace"
    git("init", "--quiet", str(workspace))
    git("remote", "add", "origin", f"{server}/astrago-backend.git" if server else work.as_uri(),
        cwd=workspace)
    # checkout's credentials, the job's token, which it does not keep (persist-credentials)
    basic = base64.b64encode(b"x-access-token:the-job-token").decode()
    git("-c", f"http.extraheader=AUTHORIZATION: basic {basic}", "fetch", "--quiet",
        "--no-tags", "--depth=1", "origin", f"+{pushed}:refs/remotes/origin/stabilize/1.0",
        cwd=workspace)
    git("checkout", "--quiet", "--force", "-B", "stabilize/1.0",
        "refs/remotes/origin/stabilize/1.0", cwd=workspace)
    if after_checkout is not None:
        after_checkout()
    output = tmp_path / "github_output"
    output.write_text("")
    (tmp_path / "runner-temp").mkdir()
    env = {**GIT_ENV, **(workflow["env"] if workflow_env is None else workflow_env),
           "HOME": str(tmp_path), "BEFORE": before, "GITHUB_SHA": pushed,
           "GITHUB_REPOSITORY": "xiilab/astrago-backend", "GITHUB_REF_NAME": "stabilize/1.0",
           "GITHUB_OUTPUT": str(output), "GITHUB_WORKSPACE": str(workspace),
           "GITHUB_SERVER_URL": server or "https://github.com", "SOURCE_TOKEN": token,
           "RUNNER_TEMP": str(tmp_path / "runner-temp"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    ran = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=workspace, env=env,
                         check=True, capture_output=True, text=True)
    if warnings is not None:
        warnings += [line for line in ran.stdout.splitlines() if line.startswith("::")]
    if errors is not None:
        errors += ran.stderr.splitlines()
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


@pytest.mark.parametrize(("change", "planned"), [
    (["mv", "server-core/src/결제.java", "server-core/src/결제2.java"], "core"),
    (["mv", 'server-batch/src/a "quoted" name.java', "server-batch/src/x.java"], "batch"),
    (["rm", "--quiet", "server-monitor/src/back\\slash.java"], "monitor"),
    # a file moved from one module to another changes both, as GitHub's push event says
    (["mv", "server-batch/src/tab\there.java", "server-monitor/src/tab\there.java"],
     "batch monitor"),
])
def test_the_plan_step_sees_every_file_a_push_changed_whatever_its_name(
        backend: Path, tmp_path: Path, change: list[str], planned: str) -> None:
    before, pushed = _push(backend, change)
    assert _run_plan_step(backend, before, pushed, tmp_path)["modules"] == planned


def _served_push(backend: Path, tmp_path: Path) -> tuple[Path, str, str]:
    """A push to core, and the directory where a copy of `backend` is served from, as
    GitHub serves a commit by its id when a branch reaches it (actions/checkout fetches
    the pushed one so: uploadpack.allowReachableSHA1InWant); the commits before and after."""
    before, pushed = _push(backend, ["mv", "server-core/src/café.java",
                                     "server-core/src/cafe.java"])
    root = tmp_path / "served"
    bare = root / "astrago-backend.git"
    git("clone", "--quiet", "--bare", str(backend), str(bare))
    git("config", "uploadpack.allowReachableSHA1InWant", "true", cwd=bare)
    return root, before, pushed


def test_the_plan_step_fetches_the_commit_before_the_push_with_the_jobs_token(
        backend: Path, tmp_path: Path) -> None:
    """The job checks out the pushed commit alone (fetch-depth 1: a mono repository's whole
    history, every branch and tag, took minutes to clone on every push) and keeps no
    credentials; the step fetches the commit before the push at depth 1 with the job's
    token. Served here by git http-backend behind basic auth, as GitHub takes
    `x-access-token:<token>`. With a token the server refuses, the step warns and builds
    everything."""
    root, before, pushed = _served_push(backend, tmp_path)
    with git_http_server(root, "x-access-token", "the-job-token") as server:
        warnings: list[str] = []
        outputs = _run_plan_step(backend, before, pushed, tmp_path / "fetched", warnings,
                                 server)
        assert (outputs["modules"], warnings) == ("core", [])
        errors: list[str] = []
        outputs = _run_plan_step(backend, before, pushed, tmp_path / "refused", warnings,
                                 server, "another-token", errors=errors)
    assert outputs["modules"] == "core batch monitor"
    assert warnings == ["::warning::the commit before this push cannot be fetched: every "
                        "module is built"]
    # a refusal, not asked again (SHELL_FETCH): once, and at once
    assert errors == [f"fatal: could not read Username for '{server}': No such device or "
                      "address"]


def test_the_plan_steps_fetch_that_stalls_is_given_up_and_asked_again(
        backend: Path, tmp_path: Path) -> None:
    """A proxy or load balancer that keeps the connection open and passes nothing on hung
    git's HTTP for ever: the plan job held its runner for GitHub's six hours. Every job gets
    git's stall limit in the workflow's environment (the step's fetch, and checkout's, which
    passes it on); here lowered to 2 s against the server's 10 s of silence: curl's own
    "Operation too slow" ends the stalled exchange, SHELL_FETCH asks again, and the plan is
    the one a fetch that never stalled gives."""
    workflow = workflows()["xiilab/astrago-backend/.github/workflows/shipspec.yaml"]
    assert workflow["env"] == {"GIT_HTTP_LOW_SPEED_LIMIT": "1",
                               "GIT_HTTP_LOW_SPEED_TIME": "120"}
    root, before, pushed = _served_push(backend, tmp_path)
    faults: list[Fault] = []
    warnings: list[str] = []
    errors: list[str] = []
    with git_http_server(root, "x-access-token", "the-job-token", faults=faults) as server:
        outputs = _run_plan_step(
            backend, before, pushed, tmp_path / "step", warnings, server, errors=errors,
            workflow_env={**workflow["env"], "GIT_HTTP_LOW_SPEED_TIME": "2"},
            after_checkout=lambda: faults.append(Fault("POST", "git-upload-pack", "stall")))
    assert faults == []  # met by the step's fetch
    assert (outputs["modules"], warnings) == ("core", [])
    assert [line for line in errors if "asking again" in line] == [
        "git fetch: asking again in 2 s"]
    assert any("Operation too slow" in line for line in errors), errors


def _spec_push(work: Path, old: str, new: str) -> tuple[str, str]:
    spec = work / "shipspec.yaml"
    text = spec.read_text()
    assert old in text, old
    spec.write_text(text.replace(old, new, 1))
    return _push(work, ["status", "--short"])


def test_the_plan_step_builds_what_a_push_of_the_spec_alone_changes(
        backend: Path, tmp_path: Path) -> None:
    before, pushed = _spec_push(backend, "dockerfile: server-core/Dockerfile",
                                "dockerfile: server-core/Dockerfile.jvm")
    outputs = _run_plan_step(backend, before, pushed, tmp_path / "a")
    assert (outputs["modules"], outputs["any"]) == ("core", "true")
    before, pushed = _spec_push(backend, "# A change to a server", "# Said again.\n# A change to a server")
    outputs = _run_plan_step(backend, before, pushed, tmp_path / "b")
    assert (outputs["modules"], outputs["any"]) == ("", "false")


def test_the_plan_step_builds_everything_when_shipspec_is_adopted_or_run_by_hand(
        backend: Path, tmp_path: Path) -> None:
    spec = (backend / "shipspec.yaml").read_text()
    _push(backend, ["rm", "--quiet", "shipspec.yaml"])
    (backend / "shipspec.yaml").write_text(spec)
    before, pushed = _push(backend, ["add", "shipspec.yaml"])
    assert _run_plan_step(backend, before, pushed, tmp_path / "adopted")["modules"] == \
        "core batch monitor"
    # workflow_dispatch: its event has no `before`, so the expression gives ""
    assert _run_plan_step(backend, "", pushed, tmp_path / "by-hand")["modules"] == \
        "core batch monitor"


def test_the_plan_step_builds_everything_after_a_spec_it_cannot_read(
        backend: Path, tmp_path: Path, cli) -> None:
    _spec_push(backend, "modules:\n", "modules:\n  - broken\n")
    before, pushed = _spec_push(backend, "modules:\n  - broken\n", "modules:\n")
    outputs = _run_plan_step(backend, before, pushed, tmp_path / "step")
    assert outputs["modules"] == "core batch monitor"
    broken = tmp_path / "before" / "shipspec.yaml"
    broken.parent.mkdir()
    broken.write_text(git("show", f"{before}:shipspec.yaml", cwd=backend))
    changed = tmp_path / "changed"
    changed.write_text("shipspec.yaml\n")
    result = cli("plan", str(backend), "--repository", "xiilab/astrago-backend", "--branch",
                 "stabilize/1.0", "--sha", pushed, "--changed-files", str(changed),
                 "--spec-before", str(broken))
    assert result.code == 0 and "modules=core batch monitor\n" in result.out
    assert result.err.startswith("note: the spec before this push cannot be read, so every "
                                 f"module is built:\n{broken}:")


def test_plan_reads_a_spec_before_with_the_same_bytes_once(
        backend: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Most pushes leave the spec as it was: it is not read a second time (half of plan's
    time, 0.7-1.2 s for a spec near the file limit), and the plan is the one a spec before
    saying the same in other bytes gives."""
    import shipspec.cli.plan

    loads: list[str] = []
    monkeypatch.setattr(shipspec.cli.plan, "load_spec", lambda path, **kwargs: (
        loads.append(path), load_spec(path, **kwargs))[1])
    spec = (backend / "shipspec.yaml").read_text()
    changed = tmp_path / "changed"
    changed.write_text("README.md\n")
    outputs = []
    for name, text in (("same", spec), ("reworded", spec + "# said again\n")):
        before = tmp_path / name / "shipspec.yaml"
        before.parent.mkdir()
        before.write_text(text)
        result = cli("plan", str(backend), "--repository", "xiilab/astrago-backend",
                     "--branch", "stabilize/1.0", "--sha", "a" * 40, "--changed-files",
                     str(changed), "--spec-before", str(before))
        assert (result.code, result.err) == (0, ""), result.err
        outputs.append(result.out)
    assert loads == [str(backend), str(backend), str(tmp_path / "reworded" / "shipspec.yaml")]
    assert outputs[0] == outputs[1] and "any=false\n" in outputs[0]


def test_plan_reads_the_file_list_git_diff_prints_without_z_as_with_it(
        backend: Path, tmp_path: Path, cli) -> None:
    """`git diff --name-only` quotes odd names; plan reads them back as git meant them."""
    for name in ODD_NAMES:
        (backend / name).write_text("class B {}\n")
    before, pushed = _push(backend, ["status", "--short"])
    lines = git("diff", "--name-only", before, pushed, cwd=backend)
    verbatim = git("diff", "--name-only", "-z", before, pushed, cwd=backend)
    assert '"server-core/src/\\352\\262\\260\\354\\240\\234.java"' in lines.splitlines()
    assert changed_files(lines) == changed_files(verbatim) == sorted(ODD_NAMES)
    listed = tmp_path / "changed"
    listed.write_text(lines)
    result = cli("plan", str(backend), "--repository", "xiilab/astrago-backend", "--branch",
                 "stabilize/1.0", "--sha", pushed, "--changed-files", str(listed))
    assert result.code == 0, result.err
    assert "modules=core batch monitor\n" in result.out


def test_a_line_that_only_looks_quoted_is_a_path_as_it_is() -> None:
    assert changed_files('"no\\qescape"\n"\\"\nplain\n') == ['"no\\qescape"', '"\\"', "plain"]


def _mono_repository_spec(directory: Path, environments: list[str],
                          modules: list[str]) -> None:
    """A spec of the GitHub Actions engine whose modules are in the repository o/mono, with
    these lines of environments and modules."""
    (directory / ".git").mkdir()
    (directory / "shipspec.yaml").write_text("\n".join([
        "project: mono",
        "source: {url: https://github.com/o/mono.git}",
        "registry: {url: ghcr.io/o}",
        "deploy: {url: https://github.com/o/deploy.git}",
        "ci: {engine: github-actions, images: {shipspec: 'ghcr.io/o/shipspec:1@sha256:"
        + "0" * 64 + "'}}",
        "environments:", *environments, "modules:", *modules]) + "\n")


@pytest.mark.parametrize(("modules", "refused"), [(256, False), (257, True)])
def test_more_modules_than_one_matrix_runs_from_one_branch_are_refused(
        cli, tmp_path: Path, modules: int, refused: bool) -> None:
    """GitHub starts at most 256 jobs of a matrix: the first push of a branch builds every
    module, and would fail to start with more. generate refuses such workflows; validate
    says so; bump and plan, which the workflows do not decide, still work."""
    _mono_repository_spec(tmp_path, ["  stage: {branch: main, values: stage.yaml}"], [
        f"  s{n:03d}: {{paths: [s{n:03d}/], dockerfile: s{n:03d}/Dockerfile}}"
        for n in range(modules)])
    said = ("ci.engine: 257 modules of o/mono build from its branch main (s256 is the first "
            "past 256): GitHub runs at most 256 jobs of a matrix")
    validated = cli("validate", str(tmp_path))
    assert (validated.code, said in validated.out) == (0, refused), validated.err
    generated = cli("generate", str(tmp_path), "--target", "github-actions")
    assert (generated.code, said in generated.err) == (int(refused), refused)
    planned = cli("plan", str(tmp_path), "--repository", "o/mono", "--branch", "main",
                  "--sha", SHA)
    assert planned.code == 0 and "modules=s000 s001 " in planned.out


def test_a_workflow_file_larger_than_github_runs_is_refused_at_its_size(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub runs no workflow file over 512,000 bytes (WORKFLOW_FILE_BYTES): a push starts
    no run of it, or one that fails with no job. The file generate writes is measured: at
    the limit it is written, one byte over it is refused, and validate warns of it."""
    written = tmp_path / "written"
    assert cli("generate", str(EXAMPLES / "astrago"), "--target", "github-actions",
               "--output-dir", str(written)).code == 0
    largest = max((path.stat().st_size, path) for path in written.rglob("shipspec.yaml"))
    size, path = largest
    monkeypatch.setattr(github_actions, "WORKFLOW_FILE_BYTES", size)
    assert cli("generate", str(EXAMPLES / "astrago"), "--target", "github-actions").code == 0
    assert "warning" not in cli("validate", str(EXAMPLES / "astrago")).out
    monkeypatch.setattr(github_actions, "WORKFLOW_FILE_BYTES", size - 1)
    said = (f"error: modules: {path.relative_to(written)} would be {size:,} bytes: GitHub "
            f"runs no workflow file over {size - 1:,} bytes (a push starts no run of it, or "
            "one that fails with no job)\n  hint: shorten the module names of that repository "
            "(each is written twice) or its ci.runsOn, or use ci.engine: tekton\n")
    refused = cli("generate", str(EXAMPLES / "astrago"), "--target", "github-actions",
                  "--output-dir", str(tmp_path / "refused"))
    assert (refused.code, refused.out) == (1, "") and refused.err.endswith(said), refused.err
    assert not (tmp_path / "refused").exists()
    validated = cli("validate", str(EXAMPLES / "astrago"))
    assert validated.code == 0
    assert f"  warning: {said.removeprefix('error: ')}".replace("\n  hint", "\n    hint") \
        in validated.out, validated.out


def test_two_thousand_modules_of_long_names_make_a_workflow_too_large_to_run(
        cli, tmp_path: Path) -> None:
    """Each module's name is written twice, as the build job's outputs: 2,000 modules of
    one repository, names of 106 characters (no Tekton name bounds them here), make a
    workflow of more than 512,000 bytes."""
    _mono_repository_spec(
        tmp_path,
        [f"  e{n}: {{branch: b{n}, values: e{n}.yaml, tag: '{{{{ sha8 }}}}'}}" for n in range(8)],
        [f"  m{n:04d}-{'x' * 100}: {{values: apps.m{n}, environments: [e{n % 8}], "
         f"paths: [m{n}/]}}" for n in range(2000)])
    generated = cli("generate", str(tmp_path), "--target", "github-actions")
    assert (generated.code, generated.out) == (1, "")
    assert re.search(r"error: modules: o/mono/.github/workflows/shipspec.yaml would be "
                     r"5[0-9]{2},[0-9]{3} bytes: GitHub runs no workflow file over 512,000 "
                     "bytes", generated.err), generated.err


@pytest.mark.parametrize("registry", ["docker.io/xiilab", "xiilab"])
def test_the_workflow_logs_in_to_another_registry_as_the_spec_says(cli, tmp_path: Path,
                                                                   registry: str) -> None:
    """The job's GITHUB_TOKEN pushes to ghcr.io only, as the GitHub actor: another registry
    (Docker Hub here) needs a token of its own and its user. Without them every build
    failed at the login; validate lists them, generate refuses, and with them the login
    step uses them (the token through secrets, the user as written). Docker Hub's images
    may be named without it (`xiilab/...`): docker pushes them there, and the login went
    to a registry named `xiilab`."""
    bare = _edited(tmp_path, ("  url: ghcr.io/xiilab", f"  url: {registry}"))
    said = ("registry.tokenSecret: the job's GITHUB_TOKEN pushes images to ghcr.io only, "
            "and the modules of xiilab/astrago-backend push to docker.io")
    validated = cli("validate", str(bare))
    assert validated.code == 0 and f"still needed by generate --target github-actions: {said}" \
        in validated.out, validated.out
    generated = cli("generate", str(bare), "--target", "github-actions")
    assert (generated.code, generated.out) == (1, "") and f"error: {said}" in generated.err
    given = _edited(tmp_path, ("  url: ghcr.io/xiilab", f"  url: {registry}\n"
                               "  tokenSecret: DOCKERHUB_TOKEN\n  username: xiilab-ci"))
    workflow = _backend_workflow(cli, given, tmp_path)
    [login] = [step for step in workflow["jobs"]["build"]["steps"]
               if step.get("uses", "").startswith("docker/login-action@")]
    assert login["with"] == {"registry": "docker.io", "username": "xiilab-ci",
                             "password": "${{ secrets.DOCKERHUB_TOKEN }}"}
    # the job's token writes no package: it pushes to ghcr.io only
    assert workflow["jobs"]["build"]["permissions"] == {"contents": "read"}


def test_modules_of_one_repository_pushing_to_two_registries_are_refused(
        cli, tmp_path: Path) -> None:
    """The workflow of a repository logs in to one registry: a module of it pushing to
    another failed at its push, on every run."""
    spec = _edited(tmp_path, ("    image: astrago-backend\n    values: astrago.components.batch",
                              "    image: quay.io/xiilab/astrago-batch\n"
                              "    values: astrago.components.batch"))
    checked = cli("validate", str(spec))
    assert checked.code == 1 and (
        "error: modules.batch.image: the modules of xiilab/astrago-backend push to several "
        "registries (ghcr.io, quay.io): its workflow logs in to one\n"
        "  hint: push the images of one source repository to one registry") in checked.err


SEED_B_BRANCH = "stabilize/1.0"  # the branch seed B's backend deploys from to stage


class DeployCheckout(NamedTuple):
    deployment: Path  # seed B's deployment repository
    work: Path  # a clone of the source repository, for bumps of its own
    pushed: list[str]  # the source branch's two commits, oldest first
    checkout: Path  # the deploy job's checkout of the older one


def deploy_checkout(tmp_path: Path, spec: str | None = None) -> DeployCheckout:
    """Seed B's backend pushed twice to its branch, and the deploy job's checkout of the
    first push made as actions/checkout v7.0.1 makes it at fetch-depth 1 (origin/<branch>
    at the run's own commit, src/ref-helper.ts getRefSpec). `spec`: its shipspec.yaml, if
    not seed B's."""
    from test_bump import make_deploy_repo
    from test_helmfile import FIXTURE

    deployment = make_deploy_repo(tmp_path, {
        str(path.relative_to(FIXTURE)): path.read_text()
        for path in FIXTURE.rglob("*") if path.is_file()}, name="astrago-deployment.git")
    spec = (spec or (EXAMPLES / "astrago" / "shipspec.yaml").read_text()).replace(
        "url: https://github.com/xiilab/astrago-deployment.git", f"url: file://{deployment}")
    source = make_deploy_repo(tmp_path, {"shipspec.yaml": spec,
                                         "server-core/src/Main.java": "class Main {}\n"},
                              name="astrago-backend.git", branch=SEED_B_BRANCH)
    work = tmp_path / "astrago-backend.git-seed"
    pushed = []
    for change in ("int a;", "int b;"):
        (work / "server-core" / "src" / "Main.java").write_text(f"class Main {{ {change} }}\n")
        git("commit", "--quiet", "-am", change, cwd=work)
        git("push", "--quiet", "origin", f"HEAD:{SEED_B_BRANCH}", cwd=work)
        pushed.append(git("rev-parse", "HEAD", cwd=work).strip())
    checkout = tmp_path / "checkout"
    git("init", "--quiet", str(checkout))
    git("remote", "add", "origin", f"file://{source}", cwd=checkout)
    git("fetch", "--quiet", "--no-tags", "--depth=1", "origin",
        f"+{pushed[0]}:refs/remotes/origin/{SEED_B_BRANCH}", cwd=checkout)
    git("checkout", "--quiet", "--force", "-B", SEED_B_BRANCH,
        f"refs/remotes/origin/{SEED_B_BRANCH}", cwd=checkout)
    return DeployCheckout(deployment, work, pushed, checkout)


def bump_step(deploy: dict[str, Any]) -> dict[str, Any]:
    """The deploy job's step that bumps."""
    [step] = [step for step in deploy["steps"]
              if step.get("name") == "bump the deployment repository"]
    return step


def deploy_step_environment(at: DeployCheckout, tmp_path: Path, modules: str, built: str,
                            tags: dict[str, str] | None = None) -> dict[str, str]:
    """What the runner gives the deploy job's steps, for `modules` with the tags plan gave
    them (`tags`, else each its tag of the commit)."""
    planned = " ".join(f"{m}={(tags or {}).get(m, f'{m}-stage-{at.pushed[0][:8]}')}"
                       for m in modules.split())
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    return {**GIT_ENV, "HOME": str(tmp_path), "TAGS": planned, "BUILT": built,
            "ENVIRONMENT": "stage", "GITHUB_SHA": at.pushed[0],
            "GITHUB_REF_NAME": SEED_B_BRANCH, "GITHUB_WORKSPACE": str(at.checkout),
            "GITHUB_SERVER_URL": "https://github.com", "SOURCE_TOKEN": "ghs_job-token",
            "RUNNER_TEMP": str(runner_temp),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def run_deploy_step(at: DeployCheckout, tmp_path: Path, modules: str, built: str,
                    tags: dict[str, str] | None = None, workflow: dict[str, Any] | None = None,
                    ) -> subprocess.CompletedProcess[str]:
    """The deploy step, run by sh as the runner runs it in the job container, for
    `modules` (deploy_step_environment), of seed B's backend workflow or `workflow`."""
    workflow = workflow or workflows()["xiilab/astrago-backend/.github/workflows/shipspec.yaml"]
    step = bump_step(workflow["jobs"]["deploy"])
    assert step["env"]["SOURCE_TOKEN"] == "${{ github.token }}"
    return subprocess.run(["sh", "-e", "-c", step["run"]], cwd=at.checkout,
                          env=deploy_step_environment(at, tmp_path, modules, built, tags),
                          capture_output=True, text=True, check=False)


def test_the_deploy_step_of_an_older_commit_keeps_what_a_newer_one_deployed(
        tmp_path: Path) -> None:
    """The deploy step fetches the branch, and the commits pushed after its own keep their
    tags."""
    from test_bump import commits, remote_file
    from test_helmfile import VALUES

    at = deploy_checkout(tmp_path)
    newer = at.pushed[1]
    # the newer commit's pipeline ended first and deployed core
    landed = subprocess.run([sys.executable, "-m", "shipspec", "bump", str(at.work),
                             "--module", "core", "--sha", newer], env=GIT_ENV,
                            capture_output=True, text=True, check=False)
    assert landed.returncode == 0, landed.stderr
    deployed = remote_file(at.deployment, VALUES)
    late = run_deploy_step(at, tmp_path, "core", '{"built-core": "true"}')
    assert late.returncode == 0, late.stderr
    assert late.stdout == (f"kept core at core-stage-{newer[:8]}: a newer commit's tag, "
                           "deployed already\nalready up to date on main: nothing to "
                           "commit\n")
    assert remote_file(at.deployment, VALUES) == deployed and len(commits(at.deployment)) == 2


def _stop_step(deploy: dict[str, Any]) -> dict[str, Any]:
    [step] = [step for step in deploy["steps"] if step.get("if") == "${{ cancelled() }}"]
    return step


def _children(pid: int) -> list[str]:
    """The command lines of the processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                found.append((stat.parent / "cmdline").read_text().replace("\0", " "))
        except OSError:  # ended meanwhile
            continue
    return found


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.05)


def test_a_cancelled_run_stops_a_deploy_queued_behind_another(tmp_path: Path) -> None:
    """The runner cancels the deploy step by signalling `docker exec`, which passes nothing
    on (test_image_github_actions.py runs it so); the step that runs on cancellation stops
    the bump waiting behind another deploy, which takes its change back."""
    from test_bump import commits
    from test_bump_queue import hold_lock, refs

    at = deploy_checkout(tmp_path)
    deploy = workflows()["xiilab/astrago-backend/.github/workflows/shipspec.yaml"]["jobs"][
        "deploy"]
    lock = hold_lock(at.deployment)  # another run's deploy holds the branch
    env = deploy_step_environment(at, tmp_path, "core", '{"built-core": "true"}')
    step = subprocess.Popen(["sh", "-e", "-c", bump_step(deploy)["run"]], cwd=at.checkout,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: refs(at.deployment, "refs/shipspec/main/queue/"), "queued")
    stop = subprocess.Popen(["sh", "-e", "-c", _stop_step(deploy)["run"]], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # reaped here as the container's exec reaps it (the stop step waits for it to be gone)
    assert step.wait(timeout=60) == 143
    assert step.communicate()[1].endswith("shipspec: terminated\n")
    out, err = stop.communicate(timeout=60)
    assert stop.returncode == 0, err
    assert out == (
        "::warning::the run was cancelled: the bump stopped and took its change back if it "
        "was still queued; one a lock holder had written already has landed (see the "
        "deployment repository's history)\n")
    assert refs(at.deployment, "refs/shipspec/") == ["refs/shipspec/main/lock"]
    git("--git-dir", str(at.deployment), "update-ref", "-d", "refs/shipspec/main/lock", lock)
    assert len(commits(at.deployment)) == 1  # the seed alone


def test_a_run_cancelled_before_its_bump_starts_starts_none(tmp_path: Path) -> None:
    """Cancelled while the deploy step fetches the branch: the step's shell takes the
    SIGTERM once the fetch ends, and starts no bump (one started after the step that runs on
    cancellation had looked would go on until the job's end killed it)."""
    from test_bump import commits
    from test_bump_queue import refs

    at = deploy_checkout(tmp_path)
    deploy = workflows()["xiilab/astrago-backend/.github/workflows/shipspec.yaml"]["jobs"][
        "deploy"]
    env = deploy_step_environment(at, tmp_path, "core", '{"built-core": "true"}')
    # git's fetch waits for the test; every other git command is git's own
    wrapped = tmp_path / "wrapped"
    wrapped.mkdir()
    fetching, fetched = tmp_path / "fetching", tmp_path / "fetched"
    real_git = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True,
                              check=True).stdout.strip()
    (wrapped / "git").write_text(
        f'#!/bin/sh\nif [ "$1" = fetch ]; then touch {fetching}\n'
        f'  while [ ! -e {fetched} ]; do sleep 0.05; done\nfi\nexec {real_git} "$@"\n')
    (wrapped / "git").chmod(0o755)
    env["PATH"] = f"{wrapped}{os.pathsep}{env['PATH']}"
    step = subprocess.Popen(["sh", "-e", "-c", bump_step(deploy)["run"]], cwd=at.checkout,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(fetching.exists, "fetched")
    stop = subprocess.Popen(["sh", "-e", "-c", _stop_step(deploy)["run"]], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the stop step has sent its SIGTERM once it waits (a `sleep` of its own)
    _wait_for(lambda: any(c.startswith("sleep ") for c in _children(stop.pid)), "waiting")
    fetched.touch()
    assert step.wait(timeout=60) == 143
    out, err = stop.communicate(timeout=60)
    assert stop.returncode == 0, err
    assert out == "the run was cancelled before the bump started: nothing was deployed\n"
    assert refs(at.deployment, "refs/shipspec/") == [] and len(commits(at.deployment)) == 1


def test_the_deploy_step_bumps_the_tag_plan_chose_not_one_computed_again(
        tmp_path: Path) -> None:
    """The build pushes the tag plan chose (matrix.tag); the deploy step, later, bumped a
    tag computed again from the spec, which differs from it when the template holds `{{
    date }}` and midnight (UTC) came between: a tag no image has. It bumps plan's own."""
    from test_bump import remote_file
    from test_helmfile import VALUES

    at = deploy_checkout(tmp_path)
    planned = f"core-stage-20261205-{at.pushed[0][:8]}"  # not what the spec's template makes
    result = run_deploy_step(at, tmp_path, "core", '{"built-core": "true"}',
                             tags={"core": planned})
    assert result.returncode == 0, result.stderr
    values = yaml.safe_load(remote_file(at.deployment, VALUES))
    assert values["astrago"]["components"]["core"]["tag"] == planned


def test_a_module_whose_build_failed_holds_back_no_other(tmp_path: Path) -> None:
    """Each leg of the build matrix that pushed its image sets an output of its module's
    own name; the runner sends a leg's outputs that are not empty (actions_runner.py), and
    the deploy job deploys the modules that reached it: here core and monitor, whose legs
    succeeded, and not batch, whose leg failed before its last step, nor core-api and mon,
    names that begin with another's or another's begins with (`*built-mon*` would match
    built-monitor)."""
    from actions_runner import evaluate, file_command_values, job_outputs
    from test_bump import commits, remote_file
    from test_helmfile import VALUES

    workflow = workflows()["xiilab/astrago-backend/.github/workflows/shipspec.yaml"]
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert build["steps"][-1]["id"] == "built"  # after the image is pushed
    outputs: dict[str, str] = {}
    for module in ("core", "monitor"):
        file = tmp_path / f"output-{module}"
        file.touch()
        subprocess.run(["sh", "-e", "-c", build["steps"][-1]["run"]], check=True,
                       env={"MODULE": module, "GITHUB_OUTPUT": str(file)})
        steps = {"built": {"outputs": file_command_values(file.read_text())}}
        outputs |= job_outputs(build, {"steps": steps})
    assert outputs == {"built-core": "true", "built-monitor": "true"}
    step = bump_step(deploy)
    built = evaluate(step["env"]["BUILT"], {"needs": {"build": {"outputs": outputs}}})
    assert json.loads(built) == outputs
    # and it runs only when a leg got that far
    assert deploy["if"] == ("${{ !cancelled() && needs.build.result != 'skipped' && "
                            "contains(toJSON(needs.build.outputs), 'built-') }}")

    at = deploy_checkout(tmp_path)
    result = run_deploy_step(at, tmp_path, "core batch core-api mon", built)
    assert result.returncode == 0, result.stderr
    [*skipped, committed] = result.stdout.splitlines()
    assert skipped == ["::warning::not deploying batch: its build did not succeed",
                       "::warning::not deploying core-api: its build did not succeed",
                       "::warning::not deploying mon: its build did not succeed"]
    assert committed.startswith("committed ") and committed.endswith(
        f": core core-stage-1.0-31c7ea7a -> core-stage-{at.pushed[0][:8]}")
    values = yaml.safe_load(remote_file(at.deployment, VALUES))
    assert values["astrago"]["components"]["core"]["tag"] == f"core-stage-{at.pushed[0][:8]}"
    assert "batch" not in commits(at.deployment)[0]


def test_a_module_without_a_deployment_target_is_built_and_not_deployed(
        tmp_path: Path, cli) -> None:
    """A module that names no values, overlay or manifest (an image other tools deploy) is
    built and pushed, as on Tekton (its run's `deploys` is false). Plan gave it a tag for the
    deploy job like any other, and every deploy that built it failed, the other modules'
    tags with it ("module 'tools' has no deployment target"); now only modules with a
    target reach the deploy job, which does not run for such a module alone."""
    from actions_runner import evaluate, file_command_values, job_outputs
    from test_bump import remote_file
    from test_helmfile import VALUES

    spec = _edited(tmp_path, ("modules:\n", "modules:\n  tools:\n    paths: [tools/]\n"
                              "    context: tools\n    dockerfile: tools/Dockerfile\n"
                              "    image: astrago-tools\n"))
    at = deploy_checkout(tmp_path, (spec / "shipspec.yaml").read_text())
    changed = tmp_path / "changed"
    changed.write_text("tools/Dockerfile\nserver-core/src/Main.java\n")
    planned = cli("plan", str(spec), "--repository", "xiilab/astrago-backend", "--branch",
                  SEED_B_BRANCH, "--sha", at.pushed[0], "--changed-files", str(changed))
    assert planned.code == 0, planned.err
    outputs = dict(line.split("=", 1) for line in planned.out.splitlines())
    assert [b["module"] for b in json.loads(outputs["matrix"])["include"]] == ["tools", "core"]
    tags = dict(pair.split("=") for pair in outputs["tags"].split())
    assert list(tags) == ["core"]

    workflow = {r.path: r.document for r in github_actions.render(
        load_spec(str(spec)), RenderOptions())}[
        "xiilab/astrago-backend/.github/workflows/shipspec.yaml"]
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    legs: dict[str, dict[str, str]] = {}
    for module in ("tools", "core"):
        file = tmp_path / f"output-{module}"
        file.touch()
        subprocess.run(["sh", "-e", "-c", build["steps"][-1]["run"]], check=True,
                       env={"MODULE": module, "GITHUB_OUTPUT": str(file)})
        legs[module] = job_outputs(build, {"steps": {"built": {
            "outputs": file_command_values(file.read_text())}}})
    assert legs == {"tools": {}, "core": {"built-core": "true"}}
    # the deploy job's condition: no leg of a module that deploys, no deploy job
    assert "contains(toJSON(needs.build.outputs), 'built-')" in deploy["if"]
    step = bump_step(deploy)
    built = evaluate(step["env"]["BUILT"], {"needs": {"build": {"outputs": legs["core"]}}})
    result = run_deploy_step(at, tmp_path, " ".join(tags), built, tags=tags,
                             workflow=workflow)
    assert result.returncode == 0, result.stderr
    values = yaml.safe_load(remote_file(at.deployment, VALUES))
    assert values["astrago"]["components"]["core"]["tag"] == tags["core"]


def test_pinned_digests_reach_the_values_from_each_build_leg(tmp_path: Path) -> None:
    """deploy.pinDigest: each leg passes on the digest build-push-action pushed (its
    `digest` output, docker/build-push-action v7 src/main.ts), the runner sends it as the
    leg's output, and the deploy step bumps each module with its own digest; a leg whose
    build gave no digest fails instead of deploying its image unpinned."""
    from actions_runner import evaluate, file_command_values, job_outputs
    from test_bump import remote_file
    from test_helmfile import VALUES

    spec = _edited(tmp_path, ("  imageDefaults: astrago.imageDefaults\n",
                              "  imageDefaults: astrago.imageDefaults\n  pinDigest: true\n"))
    workflow = {r.path: r.document for r in github_actions.render(
        load_spec(str(spec)), RenderOptions())}[
        "xiilab/astrago-backend/.github/workflows/shipspec.yaml"]
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    [push] = [step for step in build["steps"] if step.get("id") == "push"]
    assert push["uses"].startswith("docker/build-push-action@")
    built = build["steps"][-1]
    assert built["env"]["DIGEST"] == "${{ steps.push.outputs.digest }}"
    pushed = {"core": "sha256:" + "c0" * 32, "monitor": "sha256:" + "30" * 32}
    outputs: dict[str, str] = {}
    for module, digest in [*pushed.items(), ("batch", "")]:
        file = tmp_path / f"output-{module}"
        file.touch()
        leg = subprocess.run(["sh", "-e", "-c", built["run"]], capture_output=True, text=True,
                             check=False,
                             env={"MODULE": module, "DIGEST": digest,
                                  "GITHUB_OUTPUT": str(file), "PATH": os.environ["PATH"]})
        if not digest:
            assert leg.returncode == 1 and file.read_text() == ""
            assert leg.stdout == ("::error::the build of batch gave no image digest to pin "
                                  "(deploy.pinDigest)\n")
            continue
        assert leg.returncode == 0, leg.stderr
        steps = {"push": {"outputs": {"digest": digest}},
                 "built": {"outputs": file_command_values(file.read_text())}}
        outputs |= job_outputs(build, {"steps": steps})
    assert outputs == {f"built-{module}": digest for module, digest in pushed.items()}
    step = bump_step(deploy)
    built_json = evaluate(step["env"]["BUILT"], {"needs": {"build": {"outputs": outputs}}})

    at = deploy_checkout(tmp_path)
    result = run_deploy_step(at, tmp_path, "core batch monitor", built_json,
                             workflow=workflow)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "::warning::not deploying batch: its build did not succeed")
    components = yaml.safe_load(remote_file(at.deployment, VALUES))["astrago"]["components"]
    sha8 = at.pushed[0][:8]
    assert components["core"]["tag"] == f"core-stage-{sha8}@{pushed['core']}"
    assert components["monitor"]["tag"] == f"monitor-stage-{sha8}@{pushed['monitor']}"
    assert "@" not in components["batch"]["tag"]


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [text for value in node.values() for text in _strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    return [node] if isinstance(node, str) else []


def test_no_expression_github_parses_passes_its_length_limit_at_the_matrix_limit(
        tmp_path: Path) -> None:
    """GitHub reads a string of several `${{ }}` as one format() expression and refuses the
    whole workflow when an expression passes 21,000 characters (actions_runner.py). With
    deploy.pinDigest, the deploy step's DIGESTS held one expression per module: 200
    modules of 30-character names made it 24,000, and no push ran. Here 256 modules (a
    matrix's most) of 63-character names (a DNS label's most) deploy to two environments of
    two branches, with every setting that adds to the workflow."""
    from actions_runner import EXPRESSION_MAX_LENGTH, parsed_expression

    names = [f"m{n:03d}-" + "x" * 58 for n in range(256)]
    (tmp_path / ".git").mkdir()
    (tmp_path / "shipspec.yaml").write_text("\n".join([
        "project: mono",
        "source: {url: https://github.com/o/mono.git}",
        "registry: {url: ghcr.io/o}",
        "deploy: {url: https://github.com/o/deploy.git, pinDigest: true, "
        "signing: {format: ssh, keyEnv: DEPLOY_SIGNING_KEY}}",
        "ci: {engine: github-actions, build: gradle, java: '17', timeoutMinutes: 30, "
        "images: {shipspec: 'ghcr.io/o/shipspec:1@sha256:" + "0" * 64 + "'}}",
        "environments:",
        "  stage: {branch: develop, values: stage.yaml}",
        "  prod: {branch: main, values: prod.yaml}",
        "modules:",
        *[f"  {name}: {{paths: [{name}/], dockerfile: {name}/Dockerfile, "
          f"values: apps.{name}}}" for name in names]]) + "\n")
    [workflow] = [r.document for r in github_actions.render(
        load_spec(str(tmp_path)), RenderOptions())]
    assert len(workflow["jobs"]["build"]["outputs"]) == 256
    lengths = [len(expression) for expression in map(parsed_expression, _strings(workflow))
               if expression is not None]
    assert len(lengths) > 256 and max(lengths) <= EXPRESSION_MAX_LENGTH, max(lengths)


@pytest.mark.parametrize(("runs_on", "expected"), [
    ("", "ubuntu-latest"), ("[ubuntu-24.04]", "ubuntu-24.04"),
    ("[self-hosted, linux, x64]", ["self-hosted", "linux", "x64"])])
def test_every_job_runs_on_the_runners_the_spec_names(tmp_path: Path, runs_on: str,
                                                       expected: Any) -> None:
    """GitHub's hosted runners unless ci.runsOn names others: astrago-backend's own
    workflows run on `[self-hosted, linux]`, beside the registry they push to. One label is
    written as GitHub's examples write it, several as the list a runner must match whole."""
    spec = _edited(tmp_path, ("  engine: github-actions\n",
                              f"  engine: github-actions\n  runsOn: {runs_on}\n"
                              if runs_on else "  engine: github-actions\n"))
    for rendered in github_actions.render(load_spec(str(spec)), RenderOptions()):
        assert [job["runs-on"] for job in rendered.document["jobs"].values()] == [expected] * 3


@pytest.mark.parametrize(("runs_on", "said"), [
    ("self-hosted", "ci.runsOn: expected a list, got the string 'self-hosted'\n  hint: a "
                    "list of labels, such as [self-hosted, linux]"),
    ("[]", "ci.runsOn: needs at least 1 item, has 0\n  hint: a list of labels"),
    ("['${{ vars.RUNNER }}']", "ci.runsOn[0]: '${{ vars.RUNNER }}' is not in the expected "
                               "form\n  hint: a label such as self-hosted"),
])
def test_runner_labels_that_are_no_labels_are_refused(cli, tmp_path: Path, runs_on: str,
                                                      said: str) -> None:
    spec = _edited(tmp_path, ("  engine: github-actions\n",
                              f"  engine: github-actions\n  runsOn: {runs_on}\n"))
    result = cli("validate", str(spec))
    assert result.code == 1 and said in result.err, result.err


def test_ci_timeout_minutes_bounds_each_build_job(tmp_path: Path) -> None:
    """ci.timeoutMinutes is each build leg's timeout-minutes; without it the build keeps
    GitHub's default. The jobs of shipspec's own, plan and deploy, have their own bound,
    whatever the spec says: a deploy hung by the network held its environment's later
    deploys behind it for GitHub's six hours, and a hung plan its runner."""
    spec = _edited(tmp_path, ("  engine: github-actions\n",
                              "  engine: github-actions\n  timeoutMinutes: 90\n"))
    for path, workflow in {r.path: r.document for r in github_actions.render(
            load_spec(str(spec)), RenderOptions())}.items():
        jobs = workflow["jobs"]
        assert jobs["build"]["timeout-minutes"] == 90, path
        assert jobs["plan"]["timeout-minutes"] == jobs["deploy"]["timeout-minutes"] == \
            github_actions.SHIPSPEC_JOB_TIMEOUT_MINUTES == 30
    assert all("timeout-minutes" not in workflow["jobs"]["build"]
               and workflow["jobs"]["plan"]["timeout-minutes"] == 30
               and workflow["jobs"]["deploy"]["timeout-minutes"] == 30
               for workflow in workflows().values())
