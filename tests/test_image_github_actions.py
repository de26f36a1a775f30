"""The generated workflows' plan and deploy jobs, run in the built image as GitHub's runner
runs a job container (tests/actions_runner.py, from actions/runner v2.336.0): checkout and
every `run:` step as the container's user, plan's outputs read back from GITHUB_OUTPUT, and
deploy bumping a file:// deployment repository with the plan's modules.

The spec names the image under test by digest (container.pinned_image), so each job starts
in exactly the image its workflow names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from actions_runner import Cancel, JobContainer, job_in
from conftest import EXAMPLES, run_process
from container import pinned_image, podman
from test_bump import commits, git, make_deploy_repo, remote_file
from test_bump_queue import hold_lock, refs
from test_helmfile import FIXTURE, VALUES

REPOSITORY = "xiilab/astrago-backend"
BRANCH = "stabilize/1.0"
SOURCE = "/srv/astrago-backend.git"
DEPLOYMENT = "/srv/astrago-deployment.git"


def _spec(pin_digest: bool = False) -> str:
    """The astrago example, its deployment repository reachable inside the job container and
    its shipspec image the one under test; `pin_digest`: deploy.pinDigest."""
    text = (EXAMPLES / "astrago" / "shipspec.yaml").read_text()
    text = text.replace("url: https://github.com/xiilab/astrago-deployment.git",
                        f"url: file://{DEPLOYMENT}")
    if pin_digest:
        text = text.replace("  imageDefaults: astrago.imageDefaults\n",
                            "  imageDefaults: astrago.imageDefaults\n  pinDigest: true\n")
    lines = [f"    shipspec: {pinned_image()}" if line.startswith("    shipspec: ") else line
             for line in text.splitlines()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, str, str]:
    """astrago-backend: the spec at its root, then a push that changes server-core only.
    Returns the bare repository, the commit before the push and the pushed one."""
    bare = make_deploy_repo(tmp_path, {"shipspec.yaml": _spec(),
                                       "server-core/src/Main.java": "class Main {}\n",
                                       "server-batch/src/Batch.java": "class Batch {}\n"},
                            name="astrago-backend.git", branch=BRANCH)
    before = git("--git-dir", str(bare), "rev-parse", BRANCH).strip()
    work = tmp_path / "astrago-backend.git-seed"
    (work / "server-core" / "src" / "Main.java").write_text("class Main { int x; }\n")
    git("commit", "--quiet", "-am", "core: a change", cwd=work)
    git("push", "--quiet", "origin", f"HEAD:{BRANCH}", cwd=work)
    return bare, before, git("rev-parse", "HEAD", cwd=work).strip()


def _workflow(tmp_path: Path, pin_digest: bool = False) -> dict[str, Any]:
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (spec_dir / "shipspec.yaml").write_text(_spec(pin_digest))
    out = tmp_path / "out"
    result = run_process("generate", str(spec_dir), "--target", "github-actions",
                         "--output-dir", str(out))
    assert result.code == 0, result.err
    written = out / REPOSITORY / ".github" / "workflows" / "shipspec.yaml"
    workflow: dict[str, Any] = yaml.safe_load(written.read_text())
    return workflow


@pytest.fixture
def workflow(source: tuple[Path, str, str], tmp_path: Path) -> dict[str, Any]:
    return _workflow(tmp_path)


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    files = {str(path.relative_to(FIXTURE)): path.read_text()
             for path in FIXTURE.rglob("*") if path.is_file()}
    return make_deploy_repo(tmp_path, files, name="astrago-deployment.git")


def _mounts(source: Path, deployment: Path) -> dict[str, str]:
    return {str(source): f"{SOURCE}:ro", str(deployment): DEPLOYMENT}


def test_every_job_container_names_the_image_and_a_user_that_can_write(
        workflow: dict[str, Any]) -> None:
    containers = [job["container"] for job in workflow["jobs"].values() if "container" in job]
    assert [c["image"] for c in containers] == [pinned_image()] * 2
    assert all(c["options"] == "--user root" for c in containers)


def test_plan_then_deploy_run_in_the_image_as_the_runner_runs_them(
        workflow: dict[str, Any], source: tuple[Path, str, str], deployment: Path,
        tmp_path: Path) -> None:
    bare, before, pushed = source
    github = {"sha": pushed, "ref_name": BRANCH, "event": {"before": before}}
    mounts = _mounts(bare, deployment)

    plan = JobContainer(tmp_path / "runner-plan", REPOSITORY, github).run_job(
        job_in(workflow, "plan"), {}, mounts, f"file://{SOURCE}")
    assert plan["any"] == "true"
    # the push changed server-core/ only; the deploy bumps the tag its build pushes
    assert plan["tags"] == f"core=core-stage-{pushed[:8]}"
    assert plan["environment"] == "stage"
    assert '"module":"core"' in plan["matrix"].replace(" ", "")

    secrets = {"DEPLOY_TOKEN": "unused-for-file-remotes"}
    # the build matrix's one leg pushed core's image and said so (test_github_actions.py)
    needs = {"plan": {"outputs": plan}, "build": {"outputs": {"built-core": "true"}}}
    JobContainer(tmp_path / "runner-deploy", REPOSITORY, github).run_job(
        job_in(workflow, "deploy"), {"needs": needs, "secrets": secrets}, mounts,
        f"file://{SOURCE}")
    values = yaml.safe_load(remote_file(deployment, VALUES))
    assert values["astrago"]["components"]["core"]["tag"] == f"core-stage-{pushed[:8]}"
    assert len(commits(deployment)) == 2  # the seed and one bump

    # A run of the commit before, whose build ended last: its deploy keeps the newer tag.
    late = {"sha": before, "ref_name": BRANCH, "event": {"before": ""}}
    late_plan = {**plan, "tags": f"core=core-stage-{before[:8]}"}  # that run's own plan
    JobContainer(tmp_path / "runner-late", REPOSITORY, late).run_job(
        job_in(workflow, "deploy"), {"needs": {**needs, "plan": {"outputs": late_plan}},
                                     "secrets": secrets}, mounts, f"file://{SOURCE}")
    assert yaml.safe_load(remote_file(deployment, VALUES)) == values
    assert len(commits(deployment)) == 2


def test_the_image_as_its_own_user_cannot_write_the_runners_files(
        workflow: dict[str, Any], source: tuple[Path, str, str], deployment: Path,
        tmp_path: Path) -> None:
    """What users met before the workflow chose root: the runner's model reproduces it."""
    bare, before, pushed = source
    job = {**job_in(workflow, "plan"),
           "container": {"image": workflow["jobs"]["plan"]["container"]["image"]}}
    runner = JobContainer(tmp_path / "runner", REPOSITORY,
                          {"sha": pushed, "ref_name": BRANCH, "event": {"before": before}})
    with pytest.raises(AssertionError, match="Permission denied"):
        runner.run_job(job, {}, _mounts(bare, deployment), f"file://{SOURCE}")


def test_the_deploy_in_the_image_pins_the_digest_the_build_pushed(
        source: tuple[Path, str, str], deployment: Path, tmp_path: Path) -> None:
    """deploy.pinDigest: the build leg's output is the digest it pushed, and the deploy job
    bumps the module's tag with it (tag@digest: seed B's layout has no digest key)."""
    bare, before, pushed = source
    workflow = _workflow(tmp_path, pin_digest=True)
    github = {"sha": pushed, "ref_name": BRANCH, "event": {"before": before}}
    mounts = _mounts(bare, deployment)
    plan = JobContainer(tmp_path / "runner-plan", REPOSITORY, github).run_job(
        job_in(workflow, "plan"), {}, mounts, f"file://{SOURCE}")
    digest = "sha256:" + "5e" * 32
    needs = {"plan": {"outputs": plan}, "build": {"outputs": {"built-core": digest}}}
    JobContainer(tmp_path / "runner-deploy", REPOSITORY, github).run_job(
        job_in(workflow, "deploy"),
        {"needs": needs, "secrets": {"DEPLOY_TOKEN": "unused-for-file-remotes"}}, mounts,
        f"file://{SOURCE}")
    values = yaml.safe_load(remote_file(deployment, VALUES))
    assert values["astrago"]["components"]["core"]["tag"] == f"core-stage-{pushed[:8]}@{digest}"


def test_a_run_cancelled_while_it_deploys_takes_the_change_back(
        workflow: dict[str, Any], source: tuple[Path, str, str], deployment: Path,
        tmp_path: Path) -> None:
    """GitHub cancels a step of a job container by signalling the `docker exec` it started,
    which passes no signal on to the process (moby/moby#9098; podman's exec neither, as seen
    here): the bump went on in the container until the job's end removed it (SIGKILL), and
    the change it had queued behind another deploy landed with that deploy's batch. The step
    that runs on cancellation stops it as Kubernetes stops a Tekton step."""
    bare, before, pushed = source
    github = {"sha": pushed, "ref_name": BRANCH, "event": {"before": before}}
    mounts = _mounts(bare, deployment)
    plan = JobContainer(tmp_path / "runner-plan", REPOSITORY, github).run_job(
        job_in(workflow, "plan"), {}, mounts, f"file://{SOURCE}")
    lock = hold_lock(deployment)  # another run's deploy holds the branch
    queue = "refs/shipspec/main/"
    seen: list[str] = []

    def left_running(container: str) -> None:
        processes = podman("exec", container, "sh", "-c",
                           "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done")
        seen.extend(line for line in processes.stdout.splitlines() if " bump " in line)

    runner = JobContainer(tmp_path / "runner-deploy", REPOSITORY, github)
    runner.run_job(
        job_in(workflow, "deploy"),
        {"needs": {"plan": {"outputs": plan}, "build": {"outputs": {"built-core": "true"}}},
         "secrets": {"DEPLOY_TOKEN": "unused-for-file-remotes"}},
        mounts, f"file://{SOURCE}",
        cancel=Cancel("bump the deployment repository",
                      lambda: bool(refs(deployment, f"{queue}queue/")), left_running))
    # the exec's client was gone, the bump was not
    assert len(seen) == 1 and "shipspec bump shipspec.yaml --module core" in seen[0]
    assert refs(deployment, "refs/shipspec/") == [f"{queue}lock"]
    assert runner.printed[-1].startswith("::warning::the run was cancelled: the bump stopped")
    git("--git-dir", str(deployment), "update-ref", "-d", f"{queue}lock", lock)
    assert len(commits(deployment)) == 1  # the seed alone
