"""The pre-build script (prebuild.py), run by a real POSIX shell in repositories laid out like
astrago-backend (a Gradle multi-project build with the wrapper at the root), with stubs that
record how the build tool was called."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLES
from gitserver import git_http_server, private_ca

from shipspec import prebuild
from shipspec.render import RenderOptions, github_actions, tekton
from shipspec.specfile.resolve import load_spec


def _stub(path: Path, log: Path) -> None:
    """A build tool that records its name, working directory and arguments."""
    path.write_text(f'#!/bin/sh\necho "{path.name} $(pwd) $*" >> "{log}"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _run(root: Path, tool: str, context: str, task: str, tools: Path) -> list[str]:
    log = root.parent / "calls.log"
    env = {"PATH": f"{tools}:/usr/bin:/bin", "BUILD_TOOL": tool, "CONTEXT": context,
           "BUILD_TASK": task, "SOURCE_ROOT": str(root)}
    subprocess.run(["sh", "-c", prebuild.SCRIPT], env=env, check=True, capture_output=True,
                   text=True, timeout=30)
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def backend(tmp_path: Path) -> tuple[Path, Path]:
    """astrago-backend's shape: settings.gradle and gradlew at the root, server-* below."""
    root = tmp_path / "astrago-backend"
    for project in ("module-common", "server-core", "server-batch"):
        (root / project).mkdir(parents=True)
    (root / "settings.gradle").write_text("include 'module-common', 'server-core', "
                                          "'server-batch'\n")
    tools = tmp_path / "tools"
    tools.mkdir()
    return root, tools


def test_gradle_uses_the_root_wrapper_for_the_modules_project(backend) -> None:
    root, tools = backend
    log = root.parent / "calls.log"
    _stub(root / "gradlew", log)
    _stub(tools / "gradle", log)  # the image's own Gradle: must not run
    calls = _run(root, "gradle", "server-core", "bootJar", tools)
    assert calls == [f"gradlew {root} --no-daemon :server-core:bootJar"]


def test_gradle_without_a_wrapper_uses_the_images_gradle(backend) -> None:
    root, tools = backend
    _stub(tools / "gradle", root.parent / "calls.log")
    assert _run(root, "gradle", "services/api", "assemble", tools) == [
        f"gradle {root} --no-daemon :services:api:assemble"]
    assert _run(root, "gradle", ".", ":custom:bootJar", tools)[-1] == \
        f"gradle {root} --no-daemon :custom:bootJar"


def test_maven_builds_the_module_and_what_it_needs(backend) -> None:
    root, tools = backend
    _stub(root / "mvnw", root.parent / "calls.log")
    assert _run(root, "maven", "server-core", "package", tools) == [
        f"mvnw {root} -B -DskipTests -pl server-core -am package"]


def test_npm_builds_the_workspace(backend) -> None:
    root, tools = backend
    _stub(tools / "npm", root.parent / "calls.log")
    assert _run(root, "npm", "web", "build", tools) == [
        f"npm {root} ci", f"npm {root} run build --if-present --workspace web"]


def test_values_are_data_not_shell(backend) -> None:
    root, tools = backend
    log = root.parent / "calls.log"
    _stub(root / "gradlew", log)
    calls = _run(root, "gradle", "server-core", "bootJar;touch${IFS}pwned", tools)
    assert calls == [f"gradlew {root} --no-daemon :server-core:bootJar;touch${{IFS}}pwned"]
    assert not (root / "pwned").exists() and not Path("pwned").exists()


def test_both_ci_targets_run_the_same_pre_build() -> None:
    spec = load_spec(str(EXAMPLES / "astrago"))
    objects = [r.document for r in tekton.render(spec, RenderOptions())]
    [task] = [o for o in objects if o["kind"] == "Task"
              and o["metadata"]["name"] == "astrago-build"]
    [tekton_step] = [s for s in task["spec"]["steps"] if s["name"] == "prebuild"]
    assert tekton_step["script"] == prebuild.SCRIPT
    assert {e["name"]: e["value"] for e in tekton_step["env"]}["BUILD_TASK"] == \
        "$(params.build-task)"
    [backend] = [r.document for r in github_actions.render(spec, RenderOptions())
                 if r.path.startswith("xiilab/astrago-backend/")]
    [step] = [s for s in backend["jobs"]["build"]["steps"] if s.get("name") == "pre-build"]
    assert step["run"] == prebuild.SCRIPT
    assert step["env"]["BUILD_TASK"] == "${{ matrix.build_task }}"
    steps = [s.get("name") or s["uses"].split("@")[0] for s in backend["jobs"]["build"]["steps"]]
    assert steps.index("pre-build") < steps.index("docker/build-push-action")
    [frontend] = [r.document for r in github_actions.render(spec, RenderOptions())
                  if r.path.startswith("xiilab/astrago-frontend/")]
    assert not [s for s in frontend["jobs"]["build"]["steps"] if s.get("name") == "pre-build"]


# What Gradle and Maven do first: fetch over HTTPS (the wrapper's distribution, the
# dependencies) with the JVM's default trust. A Java program run by the JDK's single-file
# launcher, in place of the build tool.
_FETCH_JAVA = """
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;

public class Fetch {
    public static void main(String[] args) throws Exception {
        HttpsURLConnection connection = (HttpsURLConnection) new URL(args[0]).openConnection();
        System.out.println("HTTP " + connection.getResponseCode());
    }
}
"""


@pytest.mark.parametrize("tool", ["gradle", "maven"])
def test_a_jvm_build_trusts_the_runs_ca_bundle(backend, tool: str) -> None:
    """ci.caBundle reaches the Tekton steps as SSL_CERT_FILE, which no JVM reads: a build
    that fetched from a company's Nexus (its certificate signed by the company's CA) failed
    with "PKIX path building failed". The pre-build makes the bundle the JVM's trust store
    (JAVA_TOOL_OPTIONS). Here the real JDK fetches from a server that a private CA signed,
    the bundle being the public CAs and that CA, as the tekton guide asks of it."""
    root, _ = backend
    ca = private_ca(root.parent / "ca")
    bundle = root.parent / "bundle.pem"
    bundle.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text() + ca.certificate)
    (root.parent / "Fetch.java").write_text(_FETCH_JAVA)
    wrapper = root / ("gradlew" if tool == "gradle" else "mvnw")
    wrapper.write_text(f'#!/bin/sh\nexec java "{root.parent}/Fetch.java" "$URL"\n')
    wrapper.chmod(0o755)
    served = root.parent / "served"
    subprocess.run(["git", "init", "--quiet", "--bare", str(served / "nexus.git")], check=True)
    with git_http_server(served, None, None, tls=ca) as base:
        env = {"PATH": "/usr/bin:/bin", "BUILD_TOOL": tool, "CONTEXT": "server-core",
               "BUILD_TASK": "assemble" if tool == "gradle" else "package",
               "SOURCE_ROOT": str(root),
               "URL": f"{base}/nexus.git/info/refs?service=git-upload-pack"}
        trusted, refused = (subprocess.run(["sh", "-c", prebuild.SCRIPT], env=environment,
                                           capture_output=True, text=True, timeout=120,
                                           check=False)
                            for environment in ({**env, "SSL_CERT_FILE": str(bundle)}, env))
    assert trusted.returncode == 0, trusted.stderr
    certificates = bundle.read_text().count("-----BEGIN CERTIFICATE-----")
    assert f"pre-build: Java trusts the certificates of {bundle} ({certificates})\n" in \
        trusted.stdout
    assert trusted.stdout.endswith("HTTP 200\n")
    assert refused.returncode != 0
    assert "PKIX path building failed" in refused.stderr, refused.stderr


def test_a_jdk_that_cannot_make_the_trust_store_keeps_its_own(backend) -> None:
    """A JDK 8 has no single-file launcher: the build goes on with the JVM's own trust
    store, as it did before, and says why."""
    root, tools = backend
    log = root.parent / "calls.log"
    _stub(root / "gradlew", log)
    (tools / "java").write_text("#!/bin/sh\necho 'Error: Could not find or load main class "
                                "Trust.java' >&2\nexit 1\n")
    (tools / "java").chmod(0o755)
    env = {"PATH": f"{tools}:/usr/bin:/bin", "BUILD_TOOL": "gradle", "CONTEXT": "server-core",
           "BUILD_TASK": "assemble", "SOURCE_ROOT": str(root), "SSL_CERT_FILE": "/ca.crt"}
    ran = subprocess.run(["sh", "-c", prebuild.SCRIPT], env=env, capture_output=True,
                         text=True, timeout=30, check=True)
    assert log.read_text() == f"gradlew {root} --no-daemon :server-core:assemble\n"
    assert ran.stderr == (
        "pre-build: Java keeps its own trust store, without /ca.crt: Error: Could not find or "
        "load main class Trust.java (the single-file launcher needs a JDK 11 or newer)\n")
