"""What one CI run of a source repository builds: modules, environment, tags.

GitHub Actions runs `shipspec plan` first; the build matrix and the deploy job use what it
decides, so the workflow holds no logic of its own (and no shell handling of paths or
branch names).
"""

from typing import NamedTuple

from shipspec.changes import deploys_only, touched, touches
from shipspec.errors import SpecError
from shipspec.prebuild import JDK_TOOLS, NODE_TOOLS
from shipspec.spec import Deployment, Module, Spec
from shipspec.tags import image_tag


class Build(NamedTuple):
    module: str
    image: str
    tag: str
    dockerfile: str
    context: str
    build: str  # the pre-build tool (prebuild.py), none for none
    build_task: str


class Plan(NamedTuple):
    environment: str
    builds: list[Build]
    # the built modules whose tags the deploy job writes: not one without a target (values,
    # overlay or manifest), whose image is pushed for others to deploy
    deploys: list[str]


def plan(spec: Spec, repository: str, branch: str, sha: str,
         changed_files: list[str] | None, date: str, before: Spec | None = None) -> Plan:
    """The modules of `repository` (owner/name) deployed from `branch` that `changed_files`
    touch (None: the push's files are unknown, so all of them), and those that the spec
    `before` the push built or deployed otherwise, or not at all: a module added to the
    spec, or given another Dockerfile, target or tag, is built though no file of its own
    changed."""
    modules = _modules_of(spec, repository)
    if not modules:
        raise SpecError.single(f"no enabled module builds from {repository}",
                               hint="the workflow belongs to a repository the spec names")
    chosen = _deployed_from(modules, branch)
    if not chosen:
        # Only a run started by hand gets here: pushes start the workflow on the branches
        # that deploy (its `on.push.branches`).
        raise SpecError.single(
            f"no module of {repository} deploys from the branch {branch}",
            hint="run the workflow on a branch an environment deploys from: " + ", ".join(
                sorted({d.trigger_branch for m in modules for d in m.deployments})))
    environments = sorted({d.environment for _, d in chosen})
    if len(environments) > 1:
        raise SpecError.single(f"branch {branch} deploys to several environments: "
                               + ", ".join(environments))
    # the files that would build one of them: a file that builds none touches none anyway
    deployment_files = frozenset().union(*(m.deployment_files for m in modules))
    changed = None if changed_files is None else touched(changed_files, deployment_files)
    deploys_alone = changed_files is not None and deploys_only(changed_files, deployment_files)
    previously = {} if before is None else _previous_deploys(before, repository, branch, sha,
                                                             date)
    builds, deploys = [], []
    for module, deployment in chosen:
        build = _build(spec, module, deployment, sha, branch, date)
        if (changed is None or (not deploys_alone and touches(module.paths, changed)) or
                (before is not None and
                 previously.get(module.name) != _deploy(spec, deployment, build))):
            builds.append(build)
            if deployment.targets:
                deploys.append(module.name)
    return Plan(environments[0], builds, deploys)


def _build(spec: Spec, module: Module, deployment: Deployment, sha: str, branch: str,
           date: str) -> Build:
    return Build(module.name, module.image,
                 image_tag(spec, module, deployment, sha=sha, branch=branch, date=date),
                 module.dockerfile, module.context, module.build, module.build_task)


def _modules_of(spec: Spec, repository: str) -> list[Module]:
    return [m for m in spec.enabled_modules if m.builds_from(repository)]


def _deployed_from(modules: list[Module], branch: str) -> list[tuple[Module, Deployment]]:
    return [(m, d) for m in modules for d in m.deployments if d.trigger_branch == branch]


def _deploy(spec: Spec, deployment: Deployment, build: Build) -> tuple[object, ...]:
    """All a run does for a module: what it builds, with which toolchain, and where the tag
    goes."""
    toolchain = (spec.ci.java if build.build in JDK_TOOLS else
                 spec.ci.node if build.build in NODE_TOOLS else None)
    return (build, toolchain, spec.deploy.url, deployment.environment,
            deployment.deploy_branch, deployment.targets, deployment.delivery)


def _previous_deploys(before: Spec, repository: str, branch: str, sha: str,
                      date: str) -> dict[str, tuple[object, ...] | None]:
    """{module: what a run did for it} under the spec before the push; None for a module
    whose tag that spec cannot render (it is built, as one that changed)."""
    deploys: dict[str, tuple[object, ...] | None] = {}
    for module, deployment in _deployed_from(_modules_of(before, repository), branch):
        try:
            deploys[module.name] = _deploy(before, deployment,
                                           _build(before, module, deployment, sha, branch, date))
        except SpecError:
            deploys[module.name] = None
    return deploys
