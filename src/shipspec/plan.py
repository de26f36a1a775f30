"""What one CI run of a source repository builds: modules, environment, tags.

GitHub Actions runs `shipspec plan` first; the build matrix and the deploy job use what it
decides, so the workflow holds no logic of its own (and no shell handling of paths or
branch names).
"""

from __future__ import annotations

from typing import NamedTuple

from shipspec.errors import SpecError
from shipspec.spec import Spec
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


def plan(spec: Spec, repository: str, branch: str, sha: str,
         changed_files: list[str] | None, date: str) -> Plan:
    """The modules of `repository` (owner/name) deployed from `branch` that `changed_files`
    touch (None: the push's files are unknown, so all of them)."""
    # GitHub names repositories without regard to case ($GITHUB_REPOSITORY spells it as
    # GitHub does, the spec as its author typed it)
    modules = [m for m in spec.enabled_modules if m.repo_slug.lower() == repository.lower()]
    if not modules:
        raise SpecError.single(f"no enabled module builds from {repository}",
                               hint="the workflow belongs to a repository the spec names")
    chosen = [(m, d) for m in modules for d in m.deployments if d.trigger_branch == branch]
    environments = sorted({d.environment for _, d in chosen})
    if len(environments) > 1:
        raise SpecError.single(f"branch {branch} deploys to several environments: "
                               + ", ".join(environments))
    changed = None if changed_files is None else touched(changed_files)
    builds = [
        Build(module.name, module.image,
              image_tag(spec, module, deployment, sha=sha, branch=branch, date=date),
              module.dockerfile, module.context, module.build, module.build_task)
        for module, deployment in chosen
        if changed is None or touches(module.paths, changed)
    ]
    return Plan(environments[0] if environments else "", builds)


def touched(files: list[str]) -> set[str]:
    """Every changed file, and every directory above one (what stands before each '/').
    Made once: matching each module's paths against every file took 12 s for 2,000
    modules and a push of 20,000 files that none of them holds."""
    found = set(files)
    for file in files:
        slash = file.find("/")
        while slash >= 0:
            found.add(file[:slash])
            slash = file.find("/", slash + 1)
    return found


def touches(paths: tuple[str, ...], changed: set[str]) -> bool:
    """True when a file of `changed` (see touched) is one of `paths` or below one; no
    paths means every change."""
    return not paths or any(path.rstrip("/") in changed for path in paths)
