"""The built shipspec image, run with podman the way each system that runs it would.

tests/run builds the image first (image/build-local.sh → localhost/shipspec:dev); the
tests here fail, never skip, when it is missing: what ships is what is tested.
SHIPSPEC_TEST_IMAGE names another build to test.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import REPO

IMAGE = os.environ.get("SHIPSPEC_TEST_IMAGE", "localhost/shipspec:dev")
# The Debian base that image/build-local.sh makes and keeps in podman's storage.
BASE_IMAGE = re.search(r"^base_image=(\S+)$",
                       (REPO / "image" / "build-local.sh").read_text(), re.M).group(1)
# runc with the cgroupfs manager (image/containers.conf): what works on this kind of machine.
PODMAN_ENV = {**os.environ,
              "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF",
                                                str(REPO / "image" / "containers.conf"))}


def podman(*args: str, input: str | None = None, check: bool = True,
           timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], input=input, capture_output=True, text=True,
                            env=PODMAN_ENV, check=False, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stderr}")
    return result


def require_image() -> str:
    """The image under test; a failure naming the build command when it was not built."""
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.fail(f"no image {IMAGE}: build it with `bash image/build-local.sh` "
                    "(tests/run does)")
    return IMAGE


def memory_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity (256Mi, 1G) in bytes."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9}
    for unit, factor in units.items():
        if quantity.endswith(unit):
            return int(quantity[: -len(unit)]) * factor
    return int(quantity)


def security_options(context: dict[str, object]) -> list[str]:
    """podman flags for what a Kubernetes securityContext asks of the container runtime."""
    flags = []
    if "runAsUser" in context:
        flags += ["--user", f"{context['runAsUser']}:{context.get('runAsGroup', 0)}"]
    if context.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    if context.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    capabilities = context.get("capabilities")
    if isinstance(capabilities, dict):
        flags += [flag for cap in capabilities.get("drop", []) for flag in ("--cap-drop", cap)]
        flags += [flag for cap in capabilities.get("add", []) for flag in ("--cap-add", cap)]
    return flags  # seccomp RuntimeDefault: podman's default profile applies already


def pinned_image() -> str:
    """The image under test as a spec names it: by digest (podman resolves it locally)."""
    digest = podman("image", "inspect", "--format", "{{.Digest}}", require_image()).stdout
    return f"{IMAGE}@{digest.strip()}"


@contextmanager
def running(flags: Sequence[str], command: Sequence[str] = ("sleep", "infinity"),
            image: str | None = None) -> Iterator[str]:
    """A container of the image (or of `image`, the same build named otherwise) kept
    running, as a sidecar or a job container is; removed afterwards. Yields its name."""
    name = f"shipspec-test-{uuid.uuid4().hex[:12]}"
    podman("run", "--detach", "--name", name, "--network", "none", *flags,
           image or require_image(), *command)
    try:
        yield name
    finally:
        podman("rm", "--force", "--time", "0", name, check=False)


def emptydir(root: Path, name: str) -> Path:
    """A host directory standing in for a Kubernetes emptyDir: world-writable, as the
    kubelet makes it (pkg/volume/emptydir: mode 0777)."""
    path = root / name
    path.mkdir(parents=True)
    path.chmod(0o777)
    return path
