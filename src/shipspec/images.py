"""Default container images of the generated CI, each pinned by digest.

A digest pins the exact bytes: a moved tag can neither break a build nor slip in other code.
Every digest here is the multi-arch index digest of its tag as published by its project,
seen pinned in at least two independent public repositories. A spec overrides any of them
under `ci.images`. Two have no default: buildah (no published digest could be confirmed)
and shipspec itself, whose image each team builds from this repository's Dockerfile.
"""

from __future__ import annotations

DEFAULT_IMAGES: dict[str, str] = {
    # git and a POSIX shell: fetches sources, measures and cleans the caches
    "git": "docker.io/alpine/git:v2.49.1"
    "@sha256:c0280cf9572316299b08544065d3bf35db65043d5e3963982ec50647d2746e26",
    # the maintained fork of kaniko (upstream was archived on 2025-06-03)
    "kaniko": "ghcr.io/osscontainertools/kaniko:v1.28.5-debug"
    "@sha256:d6d74217dc077acfd3094992e917c357080a2d3fdd1042a49e34e29a7e57c572",
    "gradle": "docker.io/library/gradle:8.14.3-jdk21"
    "@sha256:21bd311ed01360c189b8870c6b6e988199ff10f72d445d02fb39d3cff9da91d7",
    "maven": "docker.io/library/maven:3.9.11-eclipse-temurin-21"
    "@sha256:6fdc855a6ed81d288ca7ca37ac6ff5e9308b612485c0801d70b25a858c83d237",
    "npm": "docker.io/library/node:22.22.1-alpine3.23"
    "@sha256:8094c002d08262dba12645a3b4a15cd6cd627d30bc782f53229a2ec13ee22a00",
    # kubectl, curl and jq: prunes old runs, reports commit statuses and notifications
    "tools": "docker.io/alpine/k8s:1.34.1"
    "@sha256:ec714df3813b5405292860f8a1c55c5727bf8c33c88992f1e981efad8065547f",
}

IMAGE_NAMES = ("git", "kaniko", "buildah", "gradle", "maven", "npm", "tools", "shipspec")


def release_of(reference: str) -> str | None:
    """The release an image's tag names (`ghcr.io/o/shipspec:0.2.0@sha256:...` or `:v0.2.0`),
    None when the tag names none (`main`, `latest`, no tag)."""
    tag = reference.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2].removeprefix("v")
    numbers = tag.split("-", 1)[0].split("+", 1)[0].split(".")
    released = len(numbers) == 3 and all(n.isascii() and n.isdigit() for n in numbers)
    return tag if released else None


def other_release(images: dict[str, str]) -> str | None:
    """The release `ci.images.shipspec` names when it is not this one: the CI runs
    shipspec's commands in that image, with what this release writes into the CI (an older
    plan knows no --spec-before), and a mismatch would fail only at run time."""
    from shipspec import __version__

    version = release_of(images.get("shipspec", ""))
    return None if version in (None, __version__) else version


def other_release_hint() -> str:
    """What to do when `ci.images.shipspec` names another release (other_release)."""
    from shipspec import __version__

    return (f"build the image of {__version__} from this repository's Dockerfile and name it "
            "there")


def canonical_image(reference: str) -> str:
    """`reference` with the name a container runtime pulls: Docker Hub's images may be
    written without their registry, `library/` or with its old name (`nginx:1`,
    `acme/app:1`, `index.docker.io/acme/app:1`), and the kubelet pulls
    `docker.io/library/nginx:1` and `docker.io/acme/app:1` (distribution/reference v0.6.0,
    normalize.go, splitDockerDomain). A first part with '.' or ':', `localhost` or a
    capital letter is a registry."""
    first, slash, rest = reference.partition("/")
    hub = ("docker.io", "index.docker.io")
    if slash and first not in hub and (
            "." in first or ":" in first or first == "localhost" or first != first.lower()):
        return reference  # another registry's (the first test: most images are)
    if not slash or first not in hub:
        rest = reference  # Docker Hub's, written without its host
    return f"docker.io/{rest}" if "/" in rest else f"docker.io/library/{rest}"


def split_image(reference: str) -> tuple[str, str]:
    """`host:5000/team/app:1.2@sha256:...` → (`host:5000/team/app`, `1.2`)."""
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return (name[:colon], name[colon + 1:]) if colon > slash else (name, "")


def pinned(tag: str, digest: str | None) -> str:
    """An image as a bump target's read() gives it: the tag, and `@digest` when one is
    pinned, which is what gets pulled (a rollback or a promotion must carry it)."""
    return f"{tag}@{digest}" if digest else tag


def pinned_in(reference: str) -> str:
    """What a whole reference pins, as read() gives it (`pinned`): its tag, and `@digest`
    when it has one; "" for a reference without a tag."""
    return pinned(split_image(reference)[1], tag_and_digest(reference)[1])


def tag_and_digest(image: str) -> tuple[str, str | None]:
    """`tag@digest`, or `tag`, apart (a whole reference's digest likewise)."""
    tag, at, digest = image.partition("@")
    return tag, digest if at else None


def registry_host(image: str) -> str:
    """The registry of an image reference, which a job logs in to: docker.io for a Docker
    Hub image written without it (`acme/app`), as docker pushes and pulls it."""
    return canonical_image(image).split("/", 1)[0]
