"""Each step the generated Tasks run in the shipspec image, run in the built image as Tekton
v1.15.0 runs a step (github.com/tektoncd/pipeline, tag v1.15.0):

- pkg/pod/pod.go `implicitVolumeMounts`: emptyDirs at /workspace, /tekton/home,
  /tekton/results, /tekton/steps (read-only) and /tekton/artifacts in every step; the
  step's own /tekton/run/<index> (read-write) and /tekton/creds (pkg/pod/creds_init.go, a
  fresh emptyDir per step); the binary volume /tekton/bin (read-only). emptyDirs are made
  world-writable by the kubelet (pkg/volume/emptydir: mode 0777).
- The Task's volumes and the step's volumeMounts (the spec's ConfigMap at /etc/shipspec,
  read-only); the step's env, a secretKeyRef resolved to the Secret's value; the step's
  command and args with `$(params.*)` and `$(results.<name>.path)` substituted
  (pkg/reconciler/taskrun/resources/apply.go); the image's own working directory (no
  workingDir is set). A step's `script` is written to a file under /tekton/scripts that
  becomes the step's command, run through its own `#!` line (pkg/pod/script.go).
- The step's securityContext and the pod template's (seccomp RuntimeDefault, podman's
  default), with no read-only root (Tekton sets none unless asked).
The entrypoint wrapper (/tekton/bin/entrypoint) is Tekton's binary and not here: the step's
command runs directly, which is what the wrapper execs.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, run_process
from container import emptydir, pinned_image, podman, security_options
from forge_contract import GitHub, serve
from gitserver import Fault, git_http_server, git_ssh_server, private_ca
from test_bump import SHA, TOKEN, commits, git, make_deploy_repo, remote_file

from shipspec.render import STALLED_AFTER

DEPLOYMENT = "/srv/gointern-deployment.git"
SOURCE = "/srv/gointern-backend.git"
OVERLAY = "goyoai-system/overlays/dev/kustomization.yaml"
KUSTOMIZATION = ("resources: [../../base]\nimages:\n  - name: goyoai-gointern-system\n"
                 "    newName: ghcr.io/goyoai/goyoai-gointern-system\n    newTag: old\n")
IMPLICIT = {"/workspace": False, "/tekton/home": False, "/tekton/results": False,
            "/tekton/steps": True, "/tekton/artifacts": False, "/tekton/run/0": False,
            "/tekton/creds": False, "/tekton/bin": True}


def seed_a_objects(directory: Path, edits: dict[str, str]) -> list[dict[str, Any]]:
    """Seed A's Tekton CI with `edits` (old text → new) made to its spec, written in
    `directory`, its shipspec image the one under test."""
    text = (EXAMPLES / "gointern-backend" / "shipspec.yaml").read_text()
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new, 1)
    text = re.sub(r"(?m)^    shipspec: .*$", f"    shipspec: {pinned_image()}", text)
    directory.mkdir(exist_ok=True)
    (directory / "shipspec.yaml").write_text(text)
    result = run_process("generate", str(directory))
    assert result.code == 0, result.err
    return [d for d in yaml.safe_load_all(result.out) if d]


SEED_A_DEPLOYMENT = "url: https://github.com/goyoai/gointern-deployment.git"


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Seed A's Tekton CI, its deployment repository one a step can reach."""
    return seed_a_objects(tmp_path_factory.mktemp("spec"),
                          {SEED_A_DEPLOYMENT: f"url: file://{DEPLOYMENT}"})


def _named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _shipspec_steps(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(task["metadata"]["name"], step["name"])
            for task in objects if task["kind"] == "Task"
            for step in task["spec"]["steps"] if step["image"] == pinned_image()]


# Images of steps this machine cannot pull, and how the shipspec image (Debian's git and
# ssh) stands in for one: as its user, with its home directory.
STAND_INS = {"docker.io/alpine/git": ("0:0", "/root")}


def _step_user(step: dict[str, Any]) -> tuple[list[str], int, str | None]:
    """podman flags for how the step runs, its uid, and the home directory a stand-in
    has (None: the shipspec image's steps set HOME=/tekton/home where they need one)."""
    if step["image"] == pinned_image():
        context = step["securityContext"]
        return security_options(context), int(context["runAsUser"]), None
    user, home = STAND_INS[step["image"].partition(":")[0]]
    return (["--user", user, "--env", f"HOME={home}",
             *security_options(step["securityContext"])], int(user.split(":")[0]), home)


def run_task(objects: list[dict[str, Any]], task_name: str, params: dict[str, str],
             secrets: dict[tuple[str, str], str], root: Path, extra_volumes: dict[str, str],
             network: str = "none", credentials: dict[str, str] | None = None,
             only: str | None = None, claims: dict[str, Path] | None = None,
             skip: tuple[str, ...] = ()) -> tuple[Any, Path]:
    """Run the Task's steps (or the step named `only`) in order as its TaskRun's pod would,
    up to the first that fails; returns the last step's result and the results directory.
    The pod's emptyDirs, implicit and the Task's own, and its claims (host directories
    here) are shared by its steps; a `script` is written to /tekton/scripts and run as the
    step's command (pkg/pod/script.go). `credentials`: the files, by path below
    /tekton/creds, that Tekton's entrypoint writes there from the ServiceAccount's Secrets
    and copies into $HOME before each step's command, as the step's user (see
    tekton_git_credentials). `claims`: host directories standing for the Task's claim
    volumes, by volume name (an empty one for each other). `skip`: steps not run (of an
    image not here); the Task's own emptyDirs are `root`/emptydir-<volume>."""
    task = _named(objects, "Task", task_name)
    steps = [_with_template(step, task["spec"].get("stepTemplate", {}))
             for step in task["spec"]["steps"]
             if only in (None, step["name"]) and step["name"] not in skip]
    assert steps, f"{task_name} has no step {only}"
    template = next(o for o in objects if o["kind"] == "TriggerTemplate")
    pod = template["spec"]["resourcetemplates"][0]["spec"]["taskRunTemplate"]["podTemplate"]
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}

    implicit = {path: (emptydir(root, path.strip("/").replace("/", "-")), read_only)
                for path, read_only in IMPLICIT.items()}
    runs = [_step_user(step) for step in steps]
    if credentials:
        users = {user for _, user, _ in runs}
        assert len(users) == 1, users  # one owner: each step would copy them as its own
        [user] = users
        for directory, names in (
                (implicit["/tekton/creds"][0], list(credentials)),
                # CopyCredsToHome copies these alone (writer.go CredsInitCredentials), to
                # $HOME: /tekton/home, or a stand-in's home, where that directory is mounted
                (implicit["/tekton/home"][0], [name for name in credentials if name.split(
                    "/")[0] in (".docker", ".gitconfig", ".git-credentials", ".ssh")])):
            for name in names:
                for parent in reversed(Path(name).parents[:-1]):  # .ssh of .ssh/config
                    if not (directory / parent).exists():
                        (directory / parent).mkdir(mode=0o700)  # credsDirPermissions
                        os.chown(directory / parent, user, user)
                written = directory / name
                written.write_text(credentials[name])
                written.chmod(0o600)  # credsFilePermissions
                os.chown(written, user, user)

    def substitute(text: str) -> str:
        text = re.sub(r"\$\(params\.([a-z-]+)\)", lambda m: params[m.group(1)], text)
        return re.sub(r"\$\(results\.([a-z-]+)\.path\)", r"/tekton/results/\1", text)

    task_volumes = {}
    for volume in task["spec"].get("volumes", []):
        if "configMap" in volume:
            config_map = _named(objects, "ConfigMap", volume["configMap"]["name"])
            directory = root / f"configmap-{volume['name']}"
            directory.mkdir()
            # its keys as files, or those `items` names, each at its path
            items = volume["configMap"].get("items") or [
                {"key": key, "path": key} for key in config_map["data"]]
            for item in items:
                (directory / item["path"]).write_text(config_map["data"][item["key"]])
        elif "persistentVolumeClaim" in volume:  # a claim of the module's
            directory = (claims or {}).get(volume["name"]) or emptydir(
                root, f"claim-{volume['name']}")
        else:
            assert volume == {"name": volume["name"], "emptyDir": {}}, volume
            directory = emptydir(root, f"emptydir-{volume['name']}")
        task_volumes[volume["name"]] = directory

    def mounted(mount: dict[str, Any]) -> tuple[Path, bool]:
        directory = task_volumes[mount["name"]] / substitute(mount.get("subPath", ""))
        directory.mkdir(parents=True, exist_ok=True)  # as the kubelet makes a subPath
        return directory, mount.get("readOnly", False)

    result = None
    for index, (step, (user_flags, _, home)) in enumerate(zip(steps, runs, strict=True)):
        volumes = {**implicit, **({home: implicit["/tekton/home"]} if home else {}),
                   **{mount["mountPath"]: mounted(mount)
                      for mount in step.get("volumeMounts", [])}}
        if "script" in step:
            script = root / f"script-{index}"
            script.write_text(substitute(step["script"]))
            script.chmod(0o755)
            volumes[f"/tekton/scripts/script-{index}"] = (script, True)
            command = [f"/tekton/scripts/script-{index}"]
        else:
            command = [*step["command"], *(substitute(arg) for arg in step["args"])]
        env = {}
        for entry in step.get("env", []):
            if "value" in entry:
                env[entry["name"]] = substitute(entry["value"])
            else:
                reference = entry["valueFrom"]["secretKeyRef"]
                env[entry["name"]] = secrets[(reference["name"], reference["key"])]
        flags = [*user_flags,
                 *[flag for name, value in env.items()
                   for flag in ("--env", f"{name}={value}")],
                 *[flag for path, (host, read_only) in volumes.items()
                   for flag in ("--volume", f"{host}:{path}{':ro' if read_only else ''}")],
                 *[flag for host, inside in extra_volumes.items()
                   for flag in ("--volume", f"{host}:{inside}")]]
        result = podman("run", "--rm", "--network", network, *flags, "--entrypoint",
                        command[0], pinned_image(), *command[1:], check=False)
        if result.returncode:
            break
    return result, implicit["/tekton/results"][0]


def _with_template(step: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    """The step as Tekton runs it with its Task's stepTemplate (pkg/apis/pipeline/v1,
    MergeStepsWithStepTemplate: a strategic merge, the step's own fields winning; env by
    name, volumeMounts by mountPath). Only the fields the generated Tasks template."""
    assert set(template) <= {"env", "volumeMounts"}, template
    merged = dict(step)
    for field, key in (("env", "name"), ("volumeMounts", "mountPath")):
        own = step.get(field, [])
        kept = [entry for entry in template.get(field, [])
                if entry[key] not in {mine[key] for mine in own}]
        if kept or own:
            merged[field] = [*kept, *own]
    return merged


def test_the_steps_in_the_shipspec_image_are_tag_and_bump(objects: list[dict[str, Any]]
                                                          ) -> None:
    """Cleanup and report run in another image (alpine/k8s); the tag Task's changes and
    tag, and the deploy Task's history and bump, here."""
    assert _shipspec_steps(objects) == [("gointern-backend-tag", "changes"),
                                        ("gointern-backend-tag", "tag"),
                                        ("gointern-backend-deploy", "history"),
                                        ("gointern-backend-deploy", "bump")]


def test_the_tag_step_writes_its_result(objects: list[dict[str, Any]], tmp_path: Path) -> None:
    """A push's run (no base commit): the tag, and the module is touched (its Trigger
    chose it by the push's files), with no git fetch."""
    params = {"module": "system", "environment": "dev", "revision": SHA,
              "branch": "dev-system", "repo-url": f"file://{SOURCE}", "base-revision": ""}
    result, results = run_task(objects, "gointern-backend-tag", params, {}, tmp_path, {})
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert (results / "tag").read_text() == f"system-dev-{SHA[:8]}"
    assert (results / "touched").read_text() == "true"


@pytest.fixture(scope="module")
def objects_with_paths(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Seed A's Tekton CI where the module system has paths, as in a mono repo."""
    return seed_a_objects(tmp_path_factory.mktemp("spec-paths"), {
        '    gitBranch: "dev-system"\n': '    gitBranch: "dev-system"\n    paths: [system/]\n'})


def _pull_requests(root: Path) -> tuple[Path, dict[str, str]]:
    """A source repository where two pull requests branch from dev, one changing system/
    and one portal/, after which dev itself changed system/: GitHub's files of a pull
    request are those since where it branched, not a diff against dev's tip. Returns it
    (owned by the steps' user) and the commits: base (dev's tip), system, portal, and an
    unrelated one that shares no history with dev."""
    bare = make_deploy_repo(root, {"system/app.txt": "1\n", "portal/app.txt": "1\n"},
                            name="gointern-backend.git", branch="dev")
    work = root / "gointern-backend.git-seed"

    def commit(path: str, message: str) -> str:
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(f"{message}\n")
        git("add", path, cwd=work)
        git("commit", "--quiet", "-m", message, cwd=work)
        return git("rev-parse", "HEAD", cwd=work).strip()

    start = git("rev-parse", "HEAD", cwd=work).strip()
    made = {}
    for side in ("system", "portal"):
        git("checkout", "--quiet", "-B", f"pr-{side}", start, cwd=work)
        made[side] = commit(f"{side}/app.txt", f"change {side}")
        git("push", "--quiet", "origin", f"HEAD:refs/heads/pr-{side}", cwd=work)
    git("checkout", "--quiet", "-B", "dev", start, cwd=work)
    made["base"] = commit("system/app.txt", "dev changes system")
    git("push", "--quiet", "origin", "HEAD:dev", cwd=work)
    git("checkout", "--quiet", "--orphan", "other", cwd=work)
    made["unrelated"] = commit("system/other.txt", "unrelated history")
    git("push", "--quiet", "origin", "HEAD:refs/heads/other", cwd=work)
    return _owned_by_steps(bare), made


@pytest.mark.parametrize(("head", "base", "touched", "said"), [
    ("system", "base", "true", "the files changed since "),
    ("portal", "base", "false", "the files changed since "),
    ("portal", "unrelated", "true", "meet in none of their last 200 commits: the module builds"),
    ("portal", "gone", "true", ": the module builds"),
], ids=["touches system", "touches portal only", "no common commit", "base gone"])
def test_a_pull_request_builds_a_module_only_where_its_files_touch_its_paths(
        objects_with_paths: list[dict[str, Any]], tmp_path: Path, head: str, base: str,
        touched: str, said: str) -> None:
    source, made = _pull_requests(tmp_path)
    made["gone"] = "c" * 40  # a base commit the server has no more
    params = {"module": "system", "environment": "dev", "revision": made[head],
              "branch": "dev-system", "repo-url": f"file://{SOURCE}",
              "base-revision": made[base]}
    result, results = run_task(objects_with_paths, "gointern-backend-tag", params, {},
                               tmp_path / "pod", {str(source): SOURCE}, only="changes")
    assert result.returncode == 0, result.stderr
    assert said in result.stdout
    result, results = run_task(objects_with_paths, "gointern-backend-tag", params, {},
                               tmp_path / "pod-all", {str(source): SOURCE})
    assert result.returncode == 0, result.stderr
    assert (results / "touched").read_text() == touched
    assert (results / "tag").read_text() == f"system-dev-{made[head][:8]}"


# What GitHub's URL of seed A's source is, for the steps' git: the repository mounted here
# (a .gitconfig of the account's Secrets, which Tekton copies to $HOME).
SEED_A_SOURCE = {".gitconfig": f'[url "file://{SOURCE}"]\n'
                               "\tinsteadOf = https://github.com/goyoai/gointern-backend.git\n"}


@pytest.mark.parametrize(("event", "head", "base", "started", "said"), [
    ("pull-request", "system", "base", ["system"], "the files changed since "),
    ("pull-request", "portal", "base", ["portal"], "the files changed since "),
    ("push", "base", "0" * 40, ["system", "portal"], ""),
    ("push", "unrelated", "base", ["system", "portal"],
     "meet in none of their last 200 commits: every module of the branch builds"),
], ids=["pull request of system", "pull request of portal", "new branch", "no common commit"])
def test_a_dispatch_starts_the_runs_of_the_modules_its_files_touch(
        tmp_path: Path, event: str, head: str, base: str, started: list[str],
        said: str) -> None:
    """ci.triggers: dispatch, seed A's system and portal deployed from one branch with
    paths of their own: the dispatch Task's steps in the image (but for kubectl's, which
    test_tekton_dispatch.py runs), from the repository's name to the runs to create."""
    objects = seed_a_objects(tmp_path / "spec", {
        "ci:\n": "ci:\n  triggers: dispatch\n",
        'gitBranch: "dev-system"\n': 'gitBranch: "dev"\n    paths: [system/]\n',
        'gitBranch: "dev-portal"\n': 'gitBranch: "dev"\n    paths: [portal/]\n'})
    source, made = _pull_requests(tmp_path / "source")
    made["0" * 40] = "0" * 40
    params = {"event": event, "repository": "GoyoAI/gointern-backend",
              "branch": "dev" if event == "pull-request" else "refs/heads/dev",
              "revision": made[head], "base-revision": made[base]}
    result, _ = run_task(objects, "gointern-backend-dispatch", params, {}, tmp_path / "pod",
                         {str(source): SOURCE}, credentials=SEED_A_SOURCE,
                         skip=("start-runs",))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{len(started)} runs to start: " + ", ".join(
        f"{module} (dev)" for module in started) + "\n"
    runs = yaml.safe_load((tmp_path / "pod" / "emptydir-plan" / "runs.json").read_text())
    assert [r["metadata"]["labels"]["shipspec.dev/module"] for r in runs["items"]] == started
    for run in runs["items"]:
        params_of_run = {p["name"]: p["value"] for p in run["spec"]["params"]}
        assert params_of_run["revision"] == made[head]
        assert params_of_run["repo-url"] == "https://github.com/goyoai/gointern-backend.git"
    changes, _ = run_task(objects, "gointern-backend-dispatch", params, {},
                          tmp_path / "changes", {str(source): SOURCE},
                          credentials=SEED_A_SOURCE, skip=("plan", "start-runs"))
    assert changes.returncode == 0, changes.stderr
    assert said in changes.stdout


def _owned_by_steps(bare: Path) -> Path:
    """The steps' user (999) owns the repositories they read and push to."""
    for path in [bare, *bare.rglob("*")]:
        os.chown(path, 999, 999)
    return bare


def source_repository(root: Path, mounted: bool = True) -> tuple[Path, list[str]]:
    """Seed A's source repository with two pushes to dev; its commits, oldest first.
    `mounted` into the steps' containers (owned by their user), else served over HTTP by
    the test's own git server."""
    bare = make_deploy_repo(root, {"README.md": "gointern\n"}, name="gointern-backend.git",
                            branch="dev")
    work = root / "gointern-backend.git-seed"
    pushed = []
    for change in ("one", "two"):
        (work / "README.md").write_text(f"{change}\n")
        git("commit", "--quiet", "-am", change, cwd=work)
        git("push", "--quiet", "origin", "HEAD:dev", cwd=work)
        pushed.append(git("rev-parse", "HEAD", cwd=work).strip())
    return (_owned_by_steps(bare) if mounted else bare), pushed


def deploy_params(revision: str, tag: str | None = None) -> dict[str, str]:
    """The deploy Task's params for a push of `revision` to dev (tag: the template's)."""
    return {"module": "system", "environment": "dev", "revision": revision, "branch": "dev",
            "repo-url": f"file://{SOURCE}", "tag": tag or f"system-dev-{revision[:8]}"}


def test_the_deploy_step_bumps_the_deployment_repository(objects: list[dict[str, Any]],
                                                         tmp_path: Path) -> None:
    bare = _owned_by_steps(make_deploy_repo(tmp_path, {OVERLAY: KUSTOMIZATION}, branch="dev"))
    source, [revision, _] = source_repository(tmp_path)
    secrets = {("gointern-deploy-token", "token"): "unused-for-file-remotes"}
    result, _ = run_task(objects, "gointern-backend-deploy",
                         deploy_params(revision, "system-dev-1234abcd"), secrets,
                         tmp_path / "pod", {str(bare): DEPLOYMENT, str(source): SOURCE})
    assert result.returncode == 0, result.stderr
    assert remote_file(bare, OVERLAY, "dev") == KUSTOMIZATION.replace(
        "newTag: old", "newTag: system-dev-1234abcd")
    assert commits(bare, "dev")[0].endswith("|deploy(dev): system=system-dev-1234abcd")


def test_the_deploy_step_pins_the_digest_the_build_pushed(tmp_path: Path) -> None:
    """deploy.pinDigest: the Pipeline hands the build's IMAGE_DIGEST result (what kaniko's
    --digest-file and buildah's --digestfile hold: the digest alone, buildah
    cmd/buildah/push.go) to the deploy Task, whose bump writes it beside the tag."""
    objects = seed_a_objects(tmp_path / "spec", {
        SEED_A_DEPLOYMENT: f"url: file://{DEPLOYMENT}",
        "credentialsSecret: gointern-deploy-token":
            "credentialsSecret: gointern-deploy-token\n  pinDigest: true"})
    pipeline = next(o for o in objects if o["kind"] == "Pipeline")
    tasks = {task["name"]: task for task in pipeline["spec"]["tasks"]}
    assert {"name": "digest", "value": "$(tasks.build.results.IMAGE_DIGEST)"} in \
        tasks["deploy"]["params"]
    build = _named(objects, "Task", tasks["build"]["taskRef"]["name"])
    assert "IMAGE_DIGEST" in [result["name"] for result in build["spec"]["results"]]
    bare = _owned_by_steps(make_deploy_repo(tmp_path, {OVERLAY: KUSTOMIZATION}, branch="dev"))
    source, [revision, _] = source_repository(tmp_path)
    digest = "sha256:" + "d1" * 32
    result, _ = run_task(objects, "gointern-backend-deploy",
                         {**deploy_params(revision, "system-dev-1234abcd"), "digest": digest},
                         {("gointern-deploy-token", "token"): "unused-for-file-remotes"},
                         tmp_path / "pod", {str(bare): DEPLOYMENT, str(source): SOURCE})
    assert result.returncode == 0, result.stderr
    assert remote_file(bare, OVERLAY, "dev") == KUSTOMIZATION.replace(
        "newTag: old", f"newTag: system-dev-1234abcd\n    digest: {digest}")


def test_the_deploy_of_an_older_commit_keeps_what_a_newer_ones_run_deployed(
        objects: list[dict[str, Any]], tmp_path: Path) -> None:
    """Runs end in any order: the run of the newer push deploys first, then the older
    one's deploy Task fetches the branch's history and keeps the newer tag."""
    bare = _owned_by_steps(make_deploy_repo(tmp_path, {OVERLAY: KUSTOMIZATION}, branch="dev"))
    source, [older, newer] = source_repository(tmp_path)
    secrets = {("gointern-deploy-token", "token"): "unused-for-file-remotes"}
    volumes = {str(bare): DEPLOYMENT, str(source): SOURCE}
    result, _ = run_task(objects, "gointern-backend-deploy", deploy_params(newer), secrets,
                         tmp_path / "newer", volumes)
    assert result.returncode == 0, result.stderr
    deployed = remote_file(bare, OVERLAY, "dev")
    assert f"newTag: system-dev-{newer[:8]}" in deployed
    result, _ = run_task(objects, "gointern-backend-deploy", deploy_params(older), secrets,
                         tmp_path / "older", volumes)
    assert (result.returncode, result.stdout) == (0, (
        f"kept system at system-dev-{newer[:8]}: a newer commit's tag, deployed already\n"
        "already up to date on dev: nothing to commit\n")), result.stderr
    assert remote_file(bare, OVERLAY, "dev") == deployed and len(commits(bare, "dev")) == 2


def test_the_steps_that_fetch_history_work_where_git_finds_no_bare_repository(
        objects: list[dict[str, Any]], objects_with_paths: list[dict[str, Any]],
        tmp_path: Path) -> None:
    """git 2.38+ refuses a bare repository that it finds from the directory it runs in
    where safe.bareRepository is `explicit`, which security policies set (a hardened
    image's /etc/gitconfig; here the home's, as Tekton's entrypoint copies a Secret's
    .gitconfig there). The changes and history steps fetched into bare repositories and
    ran git inside them: both failed ("cannot use bare repository"), and so did the
    deploy's bump, whose queue kept its scratch repository that way too."""
    strict = {".gitconfig": "[safe]\n\tbareRepository = explicit\n"}
    source, made = _pull_requests(tmp_path / "pull-requests")
    params = {"module": "system", "environment": "dev", "revision": made["system"],
              "branch": "dev-system", "repo-url": f"file://{SOURCE}",
              "base-revision": made["base"]}
    result, results = run_task(objects_with_paths, "gointern-backend-tag", params, {},
                               tmp_path / "tag", {str(source): SOURCE}, credentials=strict)
    assert result.returncode == 0, result.stderr
    assert (results / "touched").read_text() == "true"
    bare = _owned_by_steps(make_deploy_repo(tmp_path, {OVERLAY: KUSTOMIZATION}, branch="dev"))
    source, [older, newer] = source_repository(tmp_path / "pushes")
    secrets = {("gointern-deploy-token", "token"): "unused-for-file-remotes"}
    volumes = {str(bare): DEPLOYMENT, str(source): SOURCE}
    for revision, root in ((newer, "newer"), (older, "older")):
        result, _ = run_task(objects, "gointern-backend-deploy", deploy_params(revision),
                             secrets, tmp_path / root, volumes, credentials=strict)
        assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"kept system at system-dev-{newer[:8]}: a newer ")
    assert f"newTag: system-dev-{newer[:8]}" in remote_file(bare, OVERLAY, "dev")


def tekton_git_credentials(url: str, user: str, password: str) -> dict[str, str]:
    """What Tekton's entrypoint copies into a step's $HOME for a basic-auth Secret annotated
    `tekton.dev/git-0: <url>` on the TaskRun's ServiceAccount (tektoncd/pipeline v1.15.0:
    pkg/credentials/gitcreds/basic.go `Write` writes them to /tekton/creds, and
    pkg/credentials/writer/writer.go `CopyCredsToHome`, called by cmd/entrypoint/main.go,
    copies them to the user's home directory): git's store helper and its file."""
    scheme, _, host = url.partition("://")
    return {".gitconfig": f'[credential]\n\thelper = store\n[credential "{url}"]\n'
                          f"\tusername = {user}\n",
            ".git-credentials": f"{scheme}://{user}:{password}@{host}\n"}


def tekton_ssh_credentials(secret: str, address: str, private_key: str,
                           known_hosts: str) -> dict[str, str]:
    """What Tekton's entrypoint writes to /tekton/creds for an ssh-auth Secret `secret`
    (`ssh-privatekey`, `known_hosts`) annotated `tekton.dev/git-0: <address>` (host:port):
    tektoncd/pipeline v1.15.0 pkg/credentials/gitcreds/ssh.go `Write`, into .ssh, with the
    key's absolute path in the config. No known_hosts in the Secret, no known_hosts file:
    nothing in that release accepts an unknown host key (its docs/auth.md says otherwise)."""
    host, _, port = address.rpartition(":")
    return {f".ssh/id_{secret}": private_key,
            ".ssh/config": f"Host {host}\n    HostName {host}\n    Port {port}\n"
                           f"    IdentityFile /tekton/creds/.ssh/id_{secret}\n",
            ".ssh/known_hosts": known_hosts}


@contextlib.contextmanager
def private_source(transport: str, root: Path) -> Iterator[tuple[str, dict[str, str], str]]:
    """Seed A's source repository (its commits: source_repository) served below `root`
    to its credentials alone: over HTTP by git http-backend behind basic auth, or over SSH
    by OpenSSH's sshd. Yields its URL, the files Tekton's entrypoint writes for the
    Secret that source.credentialsSecret names, and what git says without them: the step
    the shipspec image's user runs (HOME=/tekton/home) points ssh at $HOME/.ssh, for ssh
    reads only the home directory of /etc/passwd (tektoncd/pipeline v1.15.0 docs/auth.md,
    "Using SSH authentication in git type Tasks")."""
    if transport == "https":
        password = "source-password-5f1e"  # the test server's
        with git_http_server(root, "ci-bot", password) as server:
            yield (f"{server}/gointern-backend.git",
                   tekton_git_credentials(server, "ci-bot", password), "could not read Username")
    else:
        with git_ssh_server(root, root.parent / "sshd") as ssh:
            yield (f"{ssh.url}/gointern-backend.git",
                   tekton_ssh_credentials("gointern-source-read", ssh.address, ssh.client_key,
                                          ssh.known_hosts),
                   "Can't open user config file /tekton/home/.ssh/config")


@pytest.mark.parametrize("transport", ["https", "ssh"])
def test_the_deploy_task_reads_a_private_source_with_the_credentials_tekton_gives_git(
        objects: list[dict[str, Any]], tmp_path: Path, transport: str) -> None:
    """The deploy Task's history step fetches the private source repository as the build's
    fetch does, with the credentials Tekton's entrypoint gives its steps: refused without
    them; with them, a newer commit deploys and an older one then keeps the newer tag."""
    bare = _owned_by_steps(make_deploy_repo(tmp_path, {OVERLAY: KUSTOMIZATION}, branch="dev"))
    _, [older, newer] = source_repository(tmp_path / "git", mounted=False)
    secrets = {("gointern-deploy-token", "token"): "unused-for-file-remotes"}
    with private_source(transport, tmp_path / "git") as (url, credentials, refusal):
        def deploy(revision: str, pod: str, given: dict[str, str] | None) -> Any:
            result, _ = run_task(objects, "gointern-backend-deploy",
                                 {**deploy_params(revision), "repo-url": url}, secrets,
                                 tmp_path / pod, {str(bare): DEPLOYMENT}, network="host",
                                 credentials=given)
            for secret in credentials.values():
                assert secret.strip() not in result.stdout + result.stderr
            return result

        refused = deploy(newer, "without", None)
        assert refused.returncode != 0 and refusal in refused.stderr, refused.stderr
        landed = deploy(newer, "newer", credentials)
        assert landed.returncode == 0, landed.stderr
        late = deploy(older, "older", credentials)
    assert (late.returncode, late.stdout) == (0, (
        f"kept system at system-dev-{newer[:8]}: a newer commit's tag, deployed already\n"
        "already up to date on dev: nothing to commit\n")), late.stderr
    assert len(commits(bare, "dev")) == 2


def test_the_builds_first_step_removes_what_failed_runs_left_a_day_ago(
        objects: list[dict[str, Any]], tmp_path: Path) -> None:
    """A run removes its own directory on the module's claim when it succeeds, and a failed
    one leaves it: each build's first step, before the source is fetched, removes those of
    a day ago (no run lasts that long) and nothing newer, a run beside it or its own. The
    cleanup of each module did this before, on every closed pull request, one pod each.
    In the stand-in for alpine/git (the shipspec image's find, as root)."""
    claim = tmp_path / "claim"
    for name, hours in (("failed-two-days-ago", 48), ("failed-25-hours-ago", 25),
                        ("building-beside-it", 2), ("run-3", 0)):
        (claim / "runs" / name / "src").mkdir(parents=True)
        (claim / "runs" / name / "src" / "build.gradle").write_text("plugins {}\n")
        then = time.time() - hours * 3600
        os.utime(claim / "runs" / name, (then, then))
    result, _ = run_task(objects, "gointern-backend-build", {"run-id": "run-3"}, {},
                         tmp_path / "pod", {}, only="remove-stale-runs",
                         claims={"work": claim})
    assert (result.returncode, result.stdout) == (0, "removed 2 stale run directories\n"), (
        result.stderr)
    assert sorted(path.name for path in (claim / "runs").iterdir()) == [
        "building-beside-it", "run-3"]


@pytest.mark.parametrize("transport", ["https", "ssh"])
def test_the_builds_fetch_checks_out_a_private_source_with_the_credentials_tekton_gives_git(
        objects: list[dict[str, Any]], tmp_path: Path, transport: str) -> None:
    """The build's first step, in a stand-in for its image (alpine/git, which this machine
    cannot pull: the shipspec image's git and ssh, as root with HOME=/root, as alpine/git
    runs, where Tekton copies the credentials) checks out the pushed commit, by its id,
    into the run's directory of the module's claim."""
    _, [_, newer] = source_repository(tmp_path / "git", mounted=False)
    with private_source(transport, tmp_path / "git") as (url, credentials, _):
        result, _ = run_task(objects, "gointern-backend-build",
                             {"run-id": "run-1", "repo-url": url, "revision": newer}, {},
                             tmp_path / "pod", {}, network="host", credentials=credentials,
                             only="fetch")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"fetched {url} at {newer}\n"
    assert (tmp_path / "pod" / "claim-work" / "runs" / "run-1" / "src" / "README.md"
            ).read_text() == "two\n"


def test_the_steps_fetches_get_past_a_server_that_fails_once(objects: list[dict[str, Any]],
                                                           tmp_path: Path) -> None:
    """A forge's load balancer answers 502 now and then, or drops a connection: the build's
    fetch and the deploy's history fetches ask again (render.SHELL_FETCH), and the deploy's
    bump (bump/git.py) too. Each fault is answered once, to the next request of its kind."""
    bare = _owned_by_steps(make_deploy_repo(tmp_path, {OVERLAY: KUSTOMIZATION}, branch="dev"))
    _, [_, newer] = source_repository(tmp_path / "git", mounted=False)
    secrets = {("gointern-deploy-token", "token"): "unused-for-file-remotes"}
    faults = [Fault("GET", "info/refs", "502"), Fault("POST", "git-upload-pack", "drop")]
    with git_http_server(tmp_path / "git", None, None, faults=faults) as server:
        url = f"{server}/gointern-backend.git"
        fetched, _ = run_task(objects, "gointern-backend-build",
                              {"run-id": "run-1", "repo-url": url, "revision": newer}, {},
                              tmp_path / "build", {}, network="host", only="fetch")
        left_by_fetch = list(faults)
        faults += [Fault("POST", "git-upload-pack", "502"), Fault("GET", "info/refs", "drop")]
        deployed, _ = run_task(objects, "gointern-backend-deploy",
                               {**deploy_params(newer), "repo-url": url}, secrets,
                               tmp_path / "deploy", {str(bare): DEPLOYMENT}, network="host")
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout == f"fetched {url} at {newer}\n"
    # both faults met by the one fetch: its second and third attempts
    assert [line for line in fetched.stderr.splitlines() if "asking again" in line] == [
        "git fetch: asking again in 2 s", "git fetch: asking again in 6 s"]
    assert left_by_fetch == []
    assert deployed.returncode == 0, deployed.stderr
    assert faults == []
    assert len(commits(bare, "dev")) == 2


def test_a_steps_fetch_that_stalls_is_given_up_and_asked_again(
        objects: list[dict[str, Any]], tmp_path: Path) -> None:
    """A proxy or load balancer that keeps the connection open and passes nothing on hung
    git's HTTP for ever, and the step with it until the run's timeout (Tekton's 60 minutes
    by default). Each step that fetches the source has git's stall limit in its environment
    (render.GIT_STALL_LIMITS), here lowered to 2 s against the server's 10 s of silence:
    curl's own "Operation too slow" ends the stalled exchange and SHELL_FETCH asks again."""
    stalling = copy.deepcopy(objects)
    limited = []
    for task in (o for o in stalling if o["kind"] == "Task"):
        for step in task["spec"]["steps"]:
            env = {entry["name"]: entry for entry in step.get("env", [])}
            if "REPO_URL" in env:  # the steps that fetch the source
                assert (env["GIT_HTTP_LOW_SPEED_LIMIT"]["value"],
                        env["GIT_HTTP_LOW_SPEED_TIME"]["value"]) == ("1", str(STALLED_AFTER))
                env["GIT_HTTP_LOW_SPEED_TIME"]["value"] = "2"
                limited.append((task["metadata"]["name"], step["name"]))
    assert sorted(limited) == [("gointern-backend-build", "fetch"),
                               ("gointern-backend-deploy", "history"),
                               ("gointern-backend-tag", "changes")]
    _, [_, newer] = source_repository(tmp_path / "git", mounted=False)
    faults = [Fault("POST", "git-upload-pack", "stall")]
    with git_http_server(tmp_path / "git", None, None, faults=faults) as server:
        url = f"{server}/gointern-backend.git"
        fetched, _ = run_task(stalling, "gointern-backend-build",
                              {"run-id": "run-1", "repo-url": url, "revision": newer}, {},
                              tmp_path / "build", {}, network="host", only="fetch")
    assert fetched.returncode == 0, fetched.stderr
    assert (fetched.stdout, faults) == (f"fetched {url} at {newer}\n", [])
    assert [line for line in fetched.stderr.splitlines() if "asking again" in line] == [
        "git fetch: asking again in 2 s"]
    assert "Operation too slow" in fetched.stderr, fetched.stderr


def test_the_runs_trust_the_ca_bundle_the_spec_names(objects: list[dict[str, Any]],
                                                    tmp_path: Path) -> None:
    """A GitHub Enterprise Server (or a registry, or the deployment repository) whose
    certificate a company's own CA signed: every fetch of the runs failed to verify it, and
    nothing in the spec could name the CA. ci.caBundle mounts a ConfigMap of certificates
    where each tool of the steps reads it: here the deploy Task's history step, whose git
    (Debian's, GnuTLS) reads GIT_SSL_CAINFO, fetches the source over HTTPS from a server
    that CA signed; seed A's CI as it was is refused."""
    ca = private_ca(tmp_path / "ca")
    bare = _owned_by_steps(make_deploy_repo(tmp_path, {OVERLAY: KUSTOMIZATION}, branch="dev"))
    _, [_, newer] = source_repository(tmp_path / "git", mounted=False)
    trusting = seed_a_objects(tmp_path / "spec", {
        SEED_A_DEPLOYMENT: f"url: file://{DEPLOYMENT}", "  cacheSize: 10Gi\n": (
            "  cacheSize: 10Gi\n  caBundle: {configMap: corporate-ca, key: ca-bundle.crt}\n")})
    bundle = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "corporate-ca"},
              "data": {"ca-bundle.crt": ca.certificate}}
    secrets = {("gointern-deploy-token", "token"): "unused-for-file-remotes"}
    password = "source-password-5f1e"
    with git_http_server(tmp_path / "git", "ci-bot", password, tls=ca) as server:
        def deploy(ci: list[dict[str, Any]], pod: str) -> Any:
            result, _ = run_task(ci, "gointern-backend-deploy",
                                 {**deploy_params(newer),
                                  "repo-url": f"{server}/gointern-backend.git"},
                                 secrets, tmp_path / pod, {str(bare): DEPLOYMENT},
                                 network="host", credentials=tekton_git_credentials(
                                     server, "ci-bot", password))
            return result

        refused = deploy(objects, "without")
        landed = deploy([*trusting, bundle], "with")
    assert refused.returncode != 0
    # curl 8.14 with GnuTLS (Debian 13's git); a refusal, not asked again (SHELL_FETCH)
    assert "server verification failed: certificate signer not trusted" in refused.stderr, \
        refused.stderr
    assert "asking again" not in refused.stderr
    assert landed.returncode == 0, landed.stderr
    assert len(commits(bare, "dev")) == 2


def test_the_deploy_step_signs_with_the_key_beside_the_token(tmp_path: Path) -> None:
    """deploy.signing with keyEnv: the Task reads the key from the credentials Secret's
    `signing-key`, and ssh-keygen in the image signs the commit."""
    objects = seed_a_objects(tmp_path / "spec", {
        SEED_A_DEPLOYMENT: f"url: file://{DEPLOYMENT}",
        "  credentialsSecret: gointern-deploy-token\n":
            "  credentialsSecret: gointern-deploy-token\n"
            "  signing: {format: ssh, keyEnv: SIGNING_KEY}\n"})
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    bare = _owned_by_steps(make_deploy_repo(tmp_path, {OVERLAY: KUSTOMIZATION}, branch="dev"))
    source, [revision, _] = source_repository(tmp_path)
    secrets = {("gointern-deploy-token", "token"): "unused-for-file-remotes",
               ("gointern-deploy-token", "signing-key"): key.read_text()}
    result, _ = run_task(objects, "gointern-backend-deploy",
                         deploy_params(revision, "system-dev-5678abcd"), secrets,
                         tmp_path / "pod", {str(bare): DEPLOYMENT, str(source): SOURCE})
    assert result.returncode == 0, result.stderr
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"shipspec-bot@localhost {(tmp_path / 'key.pub').read_text()}")
    verified = subprocess.run(["git", "--git-dir", str(bare), "-c", "gpg.format=ssh", "-c",
                               f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", "dev"],
                              capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stderr


def test_the_deploy_step_delivers_by_pull_request(tmp_path: Path) -> None:
    """An environment delivered by pull request: the step, in the image, pushes the branch
    over HTTP with the Secret's token and opens the pull request through the API (the
    stand-in that checks GitHub's contract, tests/forge_contract.py)."""
    bare = make_deploy_repo(tmp_path / "git", {OVERLAY: KUSTOMIZATION},
                            name="gointern-deployment.git", branch="dev")
    hub = GitHub(bare, "goyoai", "gointern-deployment", TOKEN)
    with git_http_server(tmp_path / "git", "x-access-token", TOKEN) as git, serve(hub) as api:
        objects = seed_a_objects(tmp_path / "spec", {
            SEED_A_DEPLOYMENT: f"url: {git}/gointern-deployment.git\n  forge: {{type: github, "
                               f"api: '{api}', repository: goyoai/gointern-deployment}}",
            "\nmodules:\n": "\nenvironments:\n  dev:\n    branch: dev\n"
                            "    delivery: {method: pull-request}\n\nmodules:\n"})
        source, [revision, _] = source_repository(tmp_path / "source")
        secrets = {("gointern-deploy-token", "token"): TOKEN}
        result, _ = run_task(objects, "gointern-backend-deploy",
                             deploy_params(revision, "system-dev-9abc1234"), secrets,
                             tmp_path / "pod", {str(source): SOURCE}, network="host")
    assert result.returncode == 0, result.stderr
    assert hub.violations == []
    [pull] = hub.pulls.values()
    assert (pull["head"], pull["base"]) == ("shipspec/dev/gointern-backend.system", "dev")
    assert "newTag: system-dev-9abc1234" in remote_file(bare, OVERLAY, pull["head"])
    assert len(commits(bare, "dev")) == 1
    assert TOKEN not in result.stdout + result.stderr
