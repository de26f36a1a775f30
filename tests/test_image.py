"""The built image holds this tree's shipspec, compiled, with tools any user can run.

How the three systems run it: test_image_argocd.py, test_image_github_actions.py,
test_image_tekton.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import uuid
from pathlib import Path

from conftest import REPO
from container import PODMAN_ENV, podman, require_image

import shipspec

PACKAGE = "/opt/shipspec/lib/python3.11/site-packages/shipspec"
LIST_FILES = """
import hashlib, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
print(json.dumps({str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                  for p in sorted(root.rglob("*.py"))}))
"""


def run(*command: str, user: str = "999:999") -> str:
    return podman("run", "--rm", "--network", "none", "--user", user, require_image(),
                  *command).stdout


def test_the_image_carries_this_trees_shipspec() -> None:
    source = REPO / "src" / "shipspec"
    here = {str(p.relative_to(source)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(source.rglob("*.py"))}
    assert json.loads(run("python", "-c", LIST_FILES, PACKAGE)) == here
    assert run("shipspec", "--version") == f"shipspec {shipspec.__version__}\n"
    label = podman("image", "inspect", "--format",
                   '{{index .Labels "org.opencontainers.image.version"}}', require_image())
    assert label.stdout.strip() == shipspec.__version__


def test_every_module_was_compiled_for_the_python_that_runs_it() -> None:
    missing = run("python", "-c", f"""
import importlib.util, pathlib
for path in sorted(pathlib.Path("{PACKAGE}").rglob("*.py")):
    if not pathlib.Path(importlib.util.cache_from_source(str(path))).is_file():
        print(path)
""")
    assert missing == ""


def test_the_tools_run_for_any_user_and_nothing_is_left_to_install_with() -> None:
    out = run("sh", "-c", "helm version --short; helmfile --version; git --version; "
              "ssh -V 2>&1; python -m pip --version 2>&1 || true", user="12345:12345")
    lines = out.splitlines()
    assert lines[0].startswith("v3.18.0")
    assert lines[1] == "helmfile version 0.166.0"
    assert lines[2].startswith("git version ")
    assert lines[3].startswith("OpenSSH_")  # SSH remotes and SSH-signed commits
    assert "No module named pip" in lines[4]  # pip and setuptools stay in the build stage


def test_a_build_for_another_platform_stops_before_downloading_anything() -> None:
    """linux/amd64 only: another platform has no checked helm and helmfile, and its build
    fails at once rather than ship unchecked binaries."""
    dockerfile = (REPO / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+@sha256:[0-9a-f]{64}) AS base$", dockerfile, re.M)
    assert base
    # With the layer cache (it keeps the few images of the steps before the failure, the
    # same each run): without it, buildah v1.28.2 removes every stage's image when the
    # build ends, and a stage that only names an image, `base` here, is that very image
    # (imagebuildah/stage_executor.go, Execute) unless a label is given: the base is gone.
    built = podman("build", "--pull=never", "--network=none", "--target", "download",
                   "--build-arg", "TARGETARCH=arm64", "--build-context",
                   f"{base.group(1)}=container-image://localhost/shipspec-base:bookworm",
                   "--file", str(REPO / "Dockerfile"), str(REPO), check=False)
    assert built.returncode != 0
    assert "no checked helm/helmfile for linux/arm64: the image supports linux/amd64" in (
        built.stdout + built.stderr)


def _images() -> set[str]:
    """The ids of every image in podman's storage, intermediate ones included."""
    return {line.removeprefix("sha256:") for line in
            podman("images", "--all", "--no-trunc", "--quiet").stdout.split()}


def test_a_build_replaces_the_image_its_tag_named_and_keeps_no_other(tmp_path: Path) -> None:
    """Each `bash tests/run` builds the image again: the build it replaces goes, and no
    intermediate image stays (each build used to leave the one it replaced and 18
    intermediate images behind)."""
    tag = f"localhost/shipspec-rebuilt:{uuid.uuid4().hex[:12]}"
    # the build it replaces: an image only that tag names
    (tmp_path / "Containerfile").write_text(
        "FROM localhost/shipspec-base:bookworm\nLABEL replaced=yes\n")
    podman("build", "--pull=never", "--network=none", "--layers=false", "--tag", tag,
           str(tmp_path))
    replaced = podman("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
    before = _images()
    try:
        subprocess.run(["bash", "image/build-local.sh"], cwd=REPO, check=True,
                       capture_output=True, env={**PODMAN_ENV, "SHIPSPEC_IMAGE": tag})
        built = podman("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
        assert built != replaced
        assert _images() == before - {replaced} | {built}
    finally:
        podman("image", "rm", "--force", tag, check=False)
