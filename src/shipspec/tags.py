"""Image tags: what a module's image is tagged with when a commit is built for an environment.

CI pipelines call this (through `shipspec tag`) when they build, and `bump` calls it when it
deploys, so the tag pushed to the registry and the tag written to the deployment repo agree.
"""

from __future__ import annotations

import re

from shipspec import templates
from shipspec.errors import SpecError
from shipspec.spec import Deployment, Module, Spec

_SHA = re.compile(r"[0-9a-f]{7,64}")
# The OCI distribution spec's tag grammar, and its descriptor digest: algorithm:encoded.
IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# a pattern, compiled on first use: only --digest needs it, and every generate would pay
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"
_DIGEST_LENGTHS = {"sha256": 64, "sha512": 128}
# The grammar of an image name in distribution/reference (regexp.go, v0.6.0), which docker,
# kaniko and the kubelet parse names with: an optional registry host (with a port), then
# lower-case path components; 255 characters at most (reference.go, NameTotalLengthMax).
_HOST_PART = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_PATH_PART = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_NAME = (rf"(?:(?:{_HOST_PART}(?:\.{_HOST_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?/)?"
               rf"{_PATH_PART}(?:/{_PATH_PART})*")


def tag_problem(tag: str) -> str | None:
    """Why `tag` cannot be an image tag, or None."""
    if not IMAGE_TAG.fullmatch(tag):
        return ("is not an image tag: letters, digits, '_', '.' and '-', at most 128, "
                "not starting with '.' or '-'")
    return None


SHA_HINT = "give the commit id, e.g. from git rev-parse HEAD"


def sha_problem(sha: str) -> str | None:
    """Why `sha` cannot be a commit id, or None (upper case names the same commit)."""
    if not _SHA.fullmatch(sha.lower()):
        return "is not a commit SHA: 7 to 64 hexadecimal digits"
    return None


def is_image_name(name: str) -> bool:
    """True when `name` names an image repository (registry and path, without a tag)."""
    return len(name) <= 255 and re.fullmatch(_IMAGE_NAME, name) is not None


def digest_problem(digest: str) -> str | None:
    """Why `digest` cannot be an image digest (algorithm:hex), or None."""
    algorithm, _, encoded = digest.partition(":")
    if not re.fullmatch(_DIGEST, digest) or (
            algorithm in _DIGEST_LENGTHS and not re.fullmatch(
                f"[0-9a-f]{{{_DIGEST_LENGTHS[algorithm]}}}", encoded)):
        return "is not an image digest such as sha256:<64 hexadecimal digits>"
    return None


def image_tag(spec: Spec, module: Module, deployment: Deployment, *, sha: str,
              branch: str | None, date: str) -> str:
    """The tag for `module` built from commit `sha` (hex) and deployed by `deployment`."""
    sha = sha.lower()  # git prints lower case; an upper-case id names the same commit
    problem = sha_problem(sha)
    if problem:
        raise SpecError.single(f"{sha!r} {problem}", hint=SHA_HINT)
    return templates.render(deployment.tag, {
        "module": module.name,
        "env": deployment.environment,
        "sha": sha,
        "sha8": sha[:8],
        "branch": branch or deployment.trigger_branch,
        "project": spec.project,
        "date": date,
    })
