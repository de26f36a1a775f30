"""Image tags: what a module's image is tagged with when a commit is built for an environment.

CI pipelines call this (through `shipspec tag`) when they build, and `bump` calls it when it
deploys, so the tag pushed to the registry and the tag written to the deployment repo agree.
"""

from __future__ import annotations

import re

from . import templates
from .errors import SpecError
from .spec import Deployment, Module, Spec

_SHA = re.compile(r"^[0-9a-f]{7,64}$")


def image_tag(spec: Spec, module: Module, deployment: Deployment, *, sha: str,
              branch: str | None, date: str) -> str:
    """The tag for `module` built from commit `sha` (hex) and deployed by `deployment`."""
    if not _SHA.match(sha):
        raise SpecError.single(
            f"'{sha}' is not a commit SHA",
            hint="give the full hexadecimal commit id, e.g. from git rev-parse HEAD",
        )
    return templates.render(deployment.tag, {
        "module": module.name,
        "env": deployment.environment,
        "sha": sha,
        "sha8": sha[:8],
        "branch": branch or deployment.trigger_branch,
        "project": spec.project,
        "date": date,
    })
