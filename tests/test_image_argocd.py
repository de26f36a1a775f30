"""The built image as Argo CD runs it: the sidecar of argocd-repo-server that cmp/kustomize
adds, with the plugin run the way argocd-cmp-server runs it.

The container is the one the kustomize patch describes (cmp/kustomize/repo-server-sidecar.yaml,
checked against Argo CD v3.5.1's install.yaml in test_argocd.py): its user, read-only root,
dropped capabilities, no privilege escalation, memory limit, env and emptyDir volumes.
argocd-cmp-server itself is Argo CD's binary and is not here; `sleep` keeps the container up
in its place, and each render is what the server does for a request, from Argo CD v3.5.1's
source:
- cmpserver/plugin/plugin.go `generateManifestGeneric`: the repository is received into a
  new directory under common.GetCMPWorkDir() (common/common.go: os.TempDir() +
  "_cmp_server", so /tmp/_cmp_server), named by util/io/files CreateTempDir (a random
  UUID); files arrive as the server's user (util/io/files/tar.go: 0644, directories 0755);
- `runCommand`: the generate command of the plugin.yaml the server read from
  /home/argocd/cmp-server/config/plugin.yaml (inside the image), no shell, its directory the
  application's path, its environment the sidecar's own followed by Argo CD's
  (tests/argo_cd.py).
Each render must equal, byte for byte, the same render on the host.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import posixpath
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import argo_cd
import pytest
import yaml
from conftest import REPO
from container import emptydir, memory_bytes, podman, running, security_options
from test_argocd import (
    EXAMPLE_OF,
    SIDECAR,
    example_spec,
    repository_for,
    run_application,
    shipped_application,
)
from test_bump import git
from test_helmfile import BIN, EXPECTED, FIXTURE, SPEC_DIR, images

PATCH = yaml.safe_load((REPO / "cmp" / "kustomize" / "repo-server-sidecar.yaml").read_text())
CONTAINER = next(c for c in PATCH["spec"]["template"]["spec"]["containers"]
                 if c["name"] == "shipspec")
WORK_DIR = "/tmp/_cmp_server"


class Sidecar:
    """The running sidecar and the host directories behind its emptyDir volumes."""

    def __init__(self, name: str, volumes: dict[str, Path], user: tuple[int, int]) -> None:
        self.name = name
        self.volumes = volumes
        self.user = user  # (uid, gid): the server's, who owns what it unpacks
        self.tmp = volumes["/tmp"]
        self.env = dict(entry.split("=", 1) for entry in json.loads(podman(
            "inspect", "--format", "{{json .Config.Env}}", name).stdout))

    def plugin(self) -> dict[str, Any]:
        """The plugin.yaml the server reads: the one inside the image."""
        text = podman("exec", self.name, "cat",
                      "/home/argocd/cmp-server/config/plugin.yaml").stdout
        plugin: dict[str, Any] = yaml.safe_load(text)
        return plugin

    def receive(self, repository: Path) -> str:
        """The repository as the server receives it: a fresh UUID directory, its files the
        server user's. Returns the directory's path inside the container."""
        work_dir = self.tmp / "_cmp_server"
        work_dir.mkdir(mode=0o700, exist_ok=True)
        received = work_dir / str(uuid.uuid4())
        shutil.copytree(repository, received, symlinks=True)
        for path in [work_dir, received, *received.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o700 if path == work_dir else 0o755 if path.is_dir() else 0o644)
                os.chown(path, *self.user)
        return f"{WORK_DIR}/{received.name}"

    def generate(self, application: dict[str, Any], repository: Path) -> Any:
        root = self.receive(repository)
        app_path = posixpath.normpath(f"{root}/{application['spec']['source'].get('path', '.')}")
        command = self.plugin()["spec"]["generate"]
        env = argo_cd.plugin_environment(application, self.env)
        flags = [flag for name, value in env.items() for flag in ("--env", f"{name}={value}")]
        return podman("exec", "--workdir", app_path, *flags, self.name,
                      *command["command"], *command.get("args", []), check=False)

    def peak_memory(self) -> int:
        """The container's peak memory use so far (cgroup v1, as on this machine)."""
        return int(podman("exec", self.name, "cat",
                          "/sys/fs/cgroup/memory/memory.max_usage_in_bytes").stdout)


@contextlib.contextmanager
def running_sidecar(volumes_root: Path, *runtime: str,
                    user: tuple[int, int] | None = None) -> Iterator[Sidecar]:
    """The container the patch describes, its emptyDir volumes below `volumes_root`;
    `runtime`, podman flags for what the node's container runtime does besides; `user`,
    the (uid, gid) it runs as in place of the patch's (as OpenShift assigns one)."""
    volumes = {mount["mountPath"]: emptydir(volumes_root, mount["name"])
               for mount in CONTAINER["volumeMounts"]}
    limit = CONTAINER["resources"]["limits"]["memory"]
    context = dict(CONTAINER["securityContext"])
    if user is not None:
        context.update(runAsUser=user[0], runAsGroup=user[1])
    flags = [*security_options(context),
             "--memory", str(memory_bytes(limit)), "--memory-swap", str(memory_bytes(limit)),
             *[flag for entry in CONTAINER["env"]
               for flag in ("--env", f"{entry['name']}={entry['value']}")],
             *[flag for path, host in volumes.items() for flag in ("--volume", f"{host}:{path}")],
             *runtime]
    with running(flags) as name:
        yield Sidecar(name, volumes, (context["runAsUser"], context["runAsGroup"]))


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    with running_sidecar(tmp_path_factory.mktemp("volumes")) as started:
        yield started


def test_the_sidecar_runs_as_the_patch_says(sidecar: Sidecar) -> None:
    identity = podman("exec", sidecar.name, "id", "-u").stdout.split()
    assert identity == [str(CONTAINER["securityContext"]["runAsUser"])]
    refused = podman("exec", sidecar.name, "touch", "/home/argocd/x", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    assert sidecar.env["HOME"] == "/tmp"  # the patch's value wins over the image's


@pytest.mark.parametrize("name", ["astrago", "gointern-backend"])
def test_each_example_renders_in_the_sidecar_as_on_the_host(sidecar: Sidecar, tmp_path: Path,
                                                            name: str) -> None:
    application = shipped_application(name)
    app_dir = repository_for(application, tmp_path / "repo", example_spec(EXAMPLE_OF[name]))
    inside = sidecar.generate(application, tmp_path / "repo")
    assert (inside.returncode, inside.stderr) == (0, "")
    on_host = run_application(application, app_dir)
    assert on_host.returncode == 0, on_host.stderr
    assert inside.stdout == on_host.stdout


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    """astrago-deployment as test_helmfile.py models it, the example spec at ci/astrago."""
    checkout = tmp_path / "astrago-deployment"
    shutil.copytree(FIXTURE, checkout)
    (checkout / SPEC_DIR).mkdir(parents=True)
    (checkout / SPEC_DIR / "shipspec.yaml").write_text(example_spec("astrago"))
    git("init", "--quiet", "--initial-branch=main", str(checkout))
    git("add", ".", cwd=checkout)
    git("commit", "--quiet", "-m", "initial", cwd=checkout)
    return checkout


def test_the_applications_and_each_release_render_in_the_sidecar(sidecar: Sidecar,
                                                                 deployment: Path) -> None:
    parent = shipped_application("astrago-stage")
    listed = sidecar.generate(parent, deployment)
    assert (listed.returncode, listed.stderr) == (0, "")
    host_sidecar = {**SIDECAR, "PATH": f"{BIN}:{SIDECAR['PATH']}",
                    "HOME": str(deployment.parent / "home")}
    on_host = run_application(parent, deployment / SPEC_DIR, **host_sidecar)
    assert listed.stdout == on_host.stdout
    children = {child["metadata"]["name"]: child
                for child in yaml.safe_load_all(listed.stdout) if child}
    assert sorted(children) == ["astrago-stage-astrago", "astrago-stage-nfs-provisioner"]
    release = sidecar.generate(children["astrago-stage-astrago"], deployment)
    assert (release.returncode, release.stderr) == (0, "")
    assert images(release.stdout) == EXPECTED
    child_dir = deployment / children["astrago-stage-astrago"]["spec"]["source"]["path"]
    assert release.stdout == run_application(children["astrago-stage-astrago"], child_dir,
                                              **host_sidecar).stdout


def test_a_failing_render_prints_nothing_and_says_why(sidecar: Sidecar, tmp_path: Path) -> None:
    application = shipped_application("astrago")
    repository_for(application, tmp_path / "repo", "project: [unclosed\n")
    inside = sidecar.generate(application, tmp_path / "repo")
    assert (inside.returncode, inside.stdout) == (1, "")
    assert inside.stderr.startswith("shipspec.yaml:1:19: error: invalid YAML: the list opened "
                                    "with '[' at line 1, column 10 is not closed with ']'")


def release_astrago(sidecar: Sidecar, deployment: Path) -> Any:
    """The Application of release astrago in stage, rendered in the sidecar."""
    listed = sidecar.generate(shipped_application("astrago-stage"), deployment)
    assert (listed.returncode, listed.stderr) == (0, "")
    [child] = [child for child in yaml.safe_load_all(listed.stdout)
               if child and child["metadata"]["name"] == "astrago-stage-astrago"]
    return sidecar.generate(child, deployment)


@pytest.mark.parametrize("hostile", ["reads", "writes", "reads the server's environment"])
def test_a_helmfile_reaches_no_other_applications_checkout(sidecar: Sidecar, deployment: Path,
                                                           tmp_path: Path, hostile: str) -> None:
    """Argo CD unpacks each Application it renders with the plugin under /tmp/_cmp_server,
    side by side and as one user: a helmfile that names another one's file as values, or a
    hook that writes into it, fails closed and reaches nothing (confine.py). Nor does it read
    the environment of argocd-cmp-server (PID 1 here), which the same user may read."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "values.yaml").write_text("astrago:\n  password: another-teams\n")
    other_root = sidecar.receive(other)
    helmfile = deployment / "helmfile" / "helmfile.yaml.gotmpl"
    text = helmfile.read_text()
    if hostile.startswith("reads"):
        read = f"{other_root}/values.yaml" if hostile == "reads" else "/proc/1/environ"
        text = text.replace("    - ./values/astrago.yaml.gotmpl\n",
                            f"    - ./values/astrago.yaml.gotmpl\n    - {read}\n")
        assert podman("exec", sidecar.name, "cat", read).returncode == 0  # unconfined, it may
    else:
        text += (f'\nhooks:\n- events: ["prepare"]\n  command: sh\n'
                 f'  args: ["-c", "echo x > {other_root}/values.yaml"]\n')
    helmfile.write_text(text)
    release = release_astrago(sidecar, deployment)
    assert (release.returncode, release.stdout) == (1, ""), release.stderr
    assert "permission denied" in release.stderr and "another-teams" not in release.stderr
    received = sidecar.tmp / "_cmp_server" / posixpath.basename(other_root)
    assert (received / "values.yaml").read_text() == "astrago:\n  password: another-teams\n"


def test_without_landlock_the_plugin_renders_no_release_and_says_why(deployment: Path,
                                                                     tmp_path: Path) -> None:
    """A node whose seccomp profile refuses Landlock's system calls (as ENOSYS, as a kernel
    without it says): the plugin runs no helmfile, unless the sidecar's environment accepts
    an unconfined one; the parent's Applications, which run no helmfile, render."""
    from shipspec.helmfile import UNCONFINED

    profile = tmp_path / "seccomp.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"],
        "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}))
    with running_sidecar(tmp_path / "volumes", "--security-opt",
                         f"seccomp={profile}") as sidecar:
        refused = release_astrago(sidecar, deployment)
        assert (refused.returncode, refused.stdout) == (2, "")
        assert refused.stderr.startswith("error: cannot confine helmfile: this system offers "
                                         "no Landlock: helmfile runs whatever"), refused.stderr
        assert f"set {UNCONFINED}=1 in the sidecar's environment" in refused.stderr
        # a preview outside Argo CD runs it as it is, as before
        preview = podman("exec", "--workdir", sidecar.receive(deployment), sidecar.name,
                         "shipspec", "generate", SPEC_DIR, "--target", "helmfile", "--env",
                         "stage", "--release", "astrago", check=False)
        assert (preview.returncode, preview.stderr) == (0, "")
        assert images(preview.stdout) == EXPECTED
        sidecar.env[UNCONFINED] = "1"
        accepted = release_astrago(sidecar, deployment)
        assert (accepted.returncode, accepted.stderr) == (0, "")
        assert images(accepted.stdout) == EXPECTED


def test_the_plugin_renders_as_openshift_runs_it(deployment: Path, tmp_path: Path) -> None:
    """OpenShift's default SCC (restricted-v2) refuses the patch's runAsUser 999: it runs a
    pod's containers as a uid of the namespace's range, in group 0 (the Argo CD guide says
    to drop runAsUser and runAsGroup there). Nothing in the image needs uid 999: each
    example and a helmfile release render as under it, byte for byte."""
    with running_sidecar(tmp_path / "volumes", user=(1000650000, 0)) as sidecar:
        assert podman("exec", sidecar.name, "id").stdout.startswith(
            "uid=1000650000(1000650000) gid=0(root)")
        for name in ("astrago", "gointern-backend"):
            application = shipped_application(name)
            app_dir = repository_for(application, tmp_path / name,
                                     example_spec(EXAMPLE_OF[name]))
            inside = sidecar.generate(application, tmp_path / name)
            assert (inside.returncode, inside.stderr) == (0, "")
            assert inside.stdout == run_application(application, app_dir).stdout
        release = release_astrago(sidecar, deployment)
        assert (release.returncode, release.stderr) == (0, "")
        assert images(release.stdout) == EXPECTED


def big_crds(total_bytes: int) -> str:
    """CustomResourceDefinitions of at least `total_bytes`, shaped like prometheus-operator's:
    schemas of nested objects, each field with a sentence of description."""
    words = ("the", "field", "selects", "which", "endpoints", "of", "a", "service", "are",
             "scraped", "when", "set", "and", "how")
    crds: list[str] = []
    while sum(map(len, crds)) < total_bytes:
        index = len(crds)
        lines = ["apiVersion: apiextensions.k8s.io/v1", "kind: CustomResourceDefinition",
                 "metadata:", f"  name: things{index}.example.com", "spec:",
                 "  group: example.com", f"  names: {{kind: Thing{index}, plural: "
                 f"things{index}}}", "  scope: Namespaced", "  versions:", "    - name: v1",
                 "      served: true", "      storage: true", "      schema:",
                 "        openAPIV3Schema:", "          type: object", "          properties:"]
        for group in range(40):
            lines += [f"            group{group}:", "              type: object",
                      "              description: " + " ".join(
                          words[(group + i) % len(words)] for i in range(24)),
                      "              properties:"]
            for field in range(25):
                lines += [f"                field{field}:", "                  type: string",
                          "                  description: " + " ".join(
                              words[(group * field + i) % len(words)] for i in range(20))]
        crds.append("\n".join(lines) + "\n")
    return "---\n".join(crds)


def test_eight_releases_of_kube_prometheus_stacks_size_render_at_once_within_the_limit(
        deployment: Path, tmp_path: Path) -> None:
    """Argo CD renders the releases of a refresh at once: the repo server's
    reposerver.parallelism.limit is none unless set (argo-cd
    cmd/argocd-repo-server/commands/argocd_repo_server.go, `--parallelismlimit` 0;
    reposerver/repository/repository.go, runRepoOperation's semaphore), and a bump
    changes the values file every release reads. kube-prometheus-stack, a release of
    astrago-deployment, renders 3.3 MB with its CRDs: one render took 114 MiB, helmfile and
    helm included, two at once 237 MiB, and at the sidecar's former 256Mi, helm was killed
    in two renders of four (measured with the real chart, in this image). Here, eight
    releases rendering as many bytes (CRDs of the same shape) render at once within the
    limit, and fail at 256Mi; the real chart's templates make helm larger still (634 MiB
    for eight, BENCHMARKS.md), also within it."""
    crds = deployment / "helmfile" / "charts" / "astrago" / "crds"
    crds.mkdir()
    (crds / "big.yaml").write_text(big_crds(3_400_000))
    with running_sidecar(tmp_path / "volumes") as fresh, \
            concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        listed = fresh.generate(shipped_application("astrago-stage"), deployment)
        [child] = [child for child in yaml.safe_load_all(listed.stdout)
                   if child and child["metadata"]["name"] == "astrago-stage-astrago"]
        renders = list(pool.map(lambda _: fresh.generate(child, deployment), range(8)))
        peak = fresh.peak_memory()
    assert [(render.returncode, render.stderr) for render in renders] == [(0, "")] * 8
    assert all(render.stdout == renders[0].stdout for render in renders)
    objects = list(yaml.load_all(renders[0].stdout, Loader=yaml.CSafeLoader))  # 3.4 MB
    assert sorted(container["image"] for obj in objects if obj["kind"] == "Deployment"
                  for container in obj["spec"]["template"]["spec"]["containers"]) == EXPECTED
    assert peak < memory_bytes(CONTAINER["resources"]["limits"]["memory"])


def test_every_render_stayed_under_the_memory_limit(sidecar: Sidecar, tmp_path: Path) -> None:
    application = shipped_application("gointern-backend")
    repository_for(application, tmp_path / "repo", example_spec("gointern-backend"))
    assert sidecar.generate(application, tmp_path / "repo").returncode == 0
    limit = memory_bytes(CONTAINER["resources"]["limits"]["memory"])
    peak = sidecar.peak_memory()
    assert 0 < peak < limit, f"peak {peak:,} bytes, limit {limit:,}"
