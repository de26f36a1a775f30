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
from container import BASE_IMAGE, PODMAN_ENV, podman, require_image

import shipspec

PACKAGE = "/opt/shipspec/lib/python3.13/site-packages/shipspec"
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


# Prints each module whose bytecode Python would not take as it is, by the rules of
# importlib's SourceFileLoader (Lib/importlib/_bootstrap_external.py, _validate_*_pyc): the
# magic number; then a hash-based file's hash when it asks to be checked, or a timestamp
# file's recorded mtime and size of its source. A module of the venv without bytecode counts.
STALE_MODULES = """
import importlib.util, pathlib, struct, sys
for root, required in ((pathlib.Path(sys.argv[1]), True), (pathlib.Path(sys.argv[2]), False)):
    for path in sorted(root.rglob("*.py")):
        cache = pathlib.Path(importlib.util.cache_from_source(str(path)))
        if not cache.is_file():
            if required:
                print("missing", path)
            continue
        header = cache.read_bytes()[:16]
        flags = int.from_bytes(header[4:8], "little")
        if flags & 1:
            fresh = not flags & 2 or header[8:] == importlib.util.source_hash(path.read_bytes())
        else:
            status = path.stat()
            fresh = header[8:] == struct.pack("<II", int(status.st_mtime) & 0xFFFFFFFF,
                                              status.st_size & 0xFFFFFFFF)
        if header[:4] != importlib.util.MAGIC_NUMBER or not fresh:
            print("stale", path)
"""


def test_every_module_was_compiled_for_the_python_that_runs_it_and_stays_fresh() -> None:
    """The sidecar's root is read-only and the image sets PYTHONDONTWRITEBYTECODE: a module
    whose bytecode Python finds stale is compiled again on every run of `generate`, each
    Argo CD refresh. pip records each source's mtime in its bytecode, and the image's layers
    keep whole seconds, rounded: about half the modules of a build went stale, at random
    (the plugin started in 70 ms in one build, 42 ms with its bytecode taken). The venv's bytecode is hash-based and
    unchecked, as fits files no one changes; Debian's own stays as its packages made it."""
    site_packages = PACKAGE.rsplit("/", 1)[0]
    stdlib = run("python", "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))")
    assert run("python", "-c", STALE_MODULES, site_packages, stdlib.strip()) == ""


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
                   f"{base.group(1)}=container-image://{BASE_IMAGE}",
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
        f"FROM {BASE_IMAGE}\nLABEL replaced=yes\n")
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
