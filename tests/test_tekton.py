"""Tekton CI from the spec, checked with schemas and evaluators that no one here wrote."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import kubernetes_validate
import pytest
import yaml
from celpy import celtypes
from conftest import EXAMPLES, REPO, assert_golden
from forge_contract import DESCRIPTION
from hypothesis import given, settings
from hypothesis import strategies as st

from shipspec.emit import to_yaml_stream
from shipspec.errors import SpecError
from shipspec.render import RenderOptions, tekton, tekton_triggers
from shipspec.render.tekton_names import trigger_name
from shipspec.specfile.resolve import load_spec

GOLDEN = Path(__file__).parent / "golden"
SCHEMAS = REPO / "tests" / "fixtures" / "tekton-pipeline-v1.15.0"  # README.md there
PAYLOADS = Path(__file__).parent / "payloads"
CORE_KINDS = {"ConfigMap", "ServiceAccount", "Role", "RoleBinding", "ClusterRoleBinding",
              "PersistentVolumeClaim"}


def render(path: Path, **options: Any) -> list[dict[str, Any]]:
    spec = load_spec(str(path))
    return [r.document for r in tekton.render(spec, RenderOptions(**options))]


def objects_of(example: str) -> list[dict[str, Any]]:
    return render(EXAMPLES / example)


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_examples_render_deterministically_and_match_golden(example: str) -> None:
    first = to_yaml_stream(objects_of(example))
    assert first == to_yaml_stream(objects_of(example))
    assert_golden(GOLDEN / f"tekton-{example}.yaml", first)


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_emitted_stream_reads_back_as_the_objects_in_yaml_11_and_12(example: str) -> None:
    from ruamel.yaml import YAML

    objects = objects_of(example)
    text = to_yaml_stream(objects)
    assert list(yaml.safe_load_all(text)) == objects
    assert list(YAML(typ="safe", pure=True).load_all(text)) == objects


def test_disabled_module_renders_nothing() -> None:
    text = to_yaml_stream(objects_of("gointern-backend"))
    names = [o["metadata"]["name"] for o in objects_of("gointern-backend")]
    assert not [n for n in names if "new-module" in n or "gointern-backend-new" in n]
    assert "gointern-backend-new" in text  # only inside the spec ConfigMap, which is the spec


def test_changing_one_module_changes_only_its_objects(example_copy) -> None:
    directory = example_copy("gointern-backend")
    before = {(o["kind"], o["metadata"]["name"]): o for o in render(directory)}
    spec_file = directory / "shipspec.yaml"
    spec_file.write_text(spec_file.read_text().replace("dockerfile-portal-dev", "Dockerfile.portal"))
    after = {(o["kind"], o["metadata"]["name"]): o for o in render(directory)}
    assert before.keys() == after.keys()
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {
        ("ConfigMap", "gointern-backend-spec"),  # the spec itself, which runs tag and bump by
        ("TriggerBinding", "gointern-backend-portal"),  # the module's build settings
    }


def test_seed_a_claim_names_are_honoured_and_protected_from_argo_cd() -> None:
    claims = by_kind(objects_of("gointern-backend"), "PersistentVolumeClaim")
    assert [c["metadata"]["name"] for c in claims] == [
        "gointern-backend-system", "gointern-backend-system-cache",
        "gointern-backend-portal", "gointern-backend-portal-cache",
        "gointern-backend-aify", "gointern-backend-aify-cache"]
    for claim in claims:
        assert claim["metadata"]["annotations"] == {
            "argocd.argoproj.io/sync-options": "Prune=false,Delete=false"}
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def _argo_cd_options(annotations: dict[str, str], key: str) -> list[str]:
    """An Argo CD option annotation's comma-separated values (gitops-engine
    pkg/sync/resource/annotations.go GetAnnotationCSVs, argo-cd 3.6.0-dev 37ee009)."""
    return [option.strip() for option in annotations.get(key, "").split(",") if option.strip()]


def test_runs_are_neither_pruned_nor_out_of_sync_under_argo_cds_label_tracking() -> None:
    """Argo CD tracking resources by label (the default before 3.0, still a setting) labels
    each object it applies `app.kubernetes.io/instance: <application>` (util/kube/kube.go
    SetAppInstanceLabel), and Tekton copies a Pipeline's labels and annotations into each of
    its PipelineRuns, the run's own winning (pkg/reconciler/pipelinerun/pipelinerun.go
    storePipelineSpecAndMergeMeta, tektoncd/pipeline v1.15.0-49-g3ee1745). Every run then
    carries the label of the CI's Application, which takes it for a resource git no longer
    has: OutOfSync, and pruned by an automated sync with prune (cmp/applications) while it
    builds. Argo CD's own options keep such resources out: controller/state.go (an
    extraneous resource leaves the Application in sync with IgnoreExtraneous) and
    gitops-engine pkg/sync/sync_context.go (the live object's `Prune=false`)."""
    spec = load_spec(str(EXAMPLES / "gointern-backend"))
    objects = [r.document for r in tekton.render(spec, RenderOptions())]
    application = "gointern-backend-ci"
    pipelines = {p["metadata"]["name"]: p for p in by_kind(objects, "Pipeline")}
    runs = [run for template in by_kind(objects, "TriggerTemplate")
            for run in template["spec"]["resourcetemplates"]]
    runs += [r.document for r in tekton.runs_by_hand(spec, RenderOptions(), "a" * 40)]
    assert {run["spec"]["pipelineRef"]["name"] for run in runs} == set(pipelines)
    for run in runs:
        pipeline = pipelines[run["spec"]["pipelineRef"]["name"]]["metadata"]
        labels = {**pipeline["labels"], "app.kubernetes.io/instance": application,
                  **run["metadata"]["labels"]}
        annotations = {**pipeline.get("annotations", {}),
                       **run["metadata"].get("annotations", {})}
        assert labels["app.kubernetes.io/instance"] == application  # the Application's, to it
        assert "IgnoreExtraneous" in _argo_cd_options(
            annotations, "argocd.argoproj.io/compare-options")
        assert "Prune=false" in _argo_cd_options(annotations, "argocd.argoproj.io/sync-options")


def test_one_pipeline_serves_every_module_and_pull_requests_never_deploy() -> None:
    objects = objects_of("gointern-backend")
    [pipeline] = [p for p in by_kind(objects, "Pipeline") if p["metadata"]["name"] ==
                  "gointern-backend"]
    tasks = {t["name"]: t for t in pipeline["spec"]["tasks"]}
    assert list(tasks) == ["tag", "build", "deploy"]
    assert {"input": "$(params.event)", "operator": "in", "values": ["push"]} in \
        tasks["deploy"]["when"]
    templates = {t["metadata"]["name"]: t for t in by_kind(objects, "TriggerTemplate")}
    pr_run = templates["gointern-backend-pull-request"]["spec"]["resourcetemplates"][0]
    pr_params = {p["name"]: p["value"] for p in pr_run["spec"]["params"]}
    assert pr_params["event"] == "pull_request"
    assert pr_params["no-push"] == "true"
    assert pr_params["cache-scope"] == "pull-requests"
    # no registry credentials for untrusted code: an empty directory in their place
    assert pr_run["spec"]["workspaces"] == [{"name": "registry-credentials", "emptyDir": {}}]
    # each run's own directory on the module's claim is named by the PipelineRun's uid
    # (tektoncd/pipeline docs/variables.md, context.pipelineRun.uid), whoever started it:
    # a run by hand (generate --run) needs no id of its own
    build_params = {p["name"]: p["value"] for p in tasks["build"]["params"]}
    assert build_params["run-id"] == "$(context.pipelineRun.uid)"
    push_run = templates["gointern-backend-push"]["spec"]["resourcetemplates"][0]
    assert "run-id" not in {p["name"] for p in push_run["spec"]["params"]}


def test_each_run_mounts_only_its_own_directory_and_cache_scope() -> None:
    [build] = [t for t in by_kind(objects_of("gointern-backend"), "Task")
               if t["metadata"]["name"] == "gointern-backend-build"]
    # but the first step, which removes what failed runs left on the claim before any of
    # the source is fetched
    housekeeping, *steps = build["spec"]["steps"]
    assert housekeeping["name"] == "remove-stale-runs"
    assert housekeeping["volumeMounts"] == [{"name": "work", "mountPath": "/runs",
                                             "subPath": "runs"}]
    mounts = [m for step in steps for m in step.get("volumeMounts", [])]
    assert {m["subPath"] for m in mounts if m["name"] == "work"} == {"runs/$(params.run-id)"}
    assert {m["subPath"] for m in mounts if m["name"] == "cache"} == {"$(params.cache-scope)"}
    assert not [w for w in build["spec"].get("workspaces", []) if w["name"] in ("work", "cache")]


def test_every_image_is_pinned_by_digest() -> None:
    for example in ("gointern-backend", "astrago"):
        for task in by_kind(objects_of(example), "Task"):
            for step in task["spec"]["steps"]:
                image = step["image"]
                assert image == "$(params.prebuild-image)" or re.fullmatch(
                    r"[^\s@]+@sha256:[0-9a-f]{64}", image), image
        for binding in by_kind(objects_of(example), "TriggerBinding"):
            for param in binding["spec"]["params"]:
                if param["name"] == "prebuild-image":
                    assert "@sha256:" in param["value"]


# --- validation with schemas no one here wrote -------------------------------------------


def _strict(schema: Any) -> Any:
    """The CRD schema with unknown fields rejected, as the API server's strict mode does."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_strict(item) for item in schema]
    return schema


def _crd_validator(kind: str) -> jsonschema.Validator:
    path = SCHEMAS / f"300-{kind.lower()}.yaml"
    assert path.exists(), f"{path} is missing: Tekton's CRDs are kept in the repository"
    crd = yaml.safe_load(path.read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return jsonschema.Draft7Validator(_strict(version["schema"]["openAPIV3Schema"]))


def _tekton_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tekton objects, including the PipelineRuns inside TriggerTemplates."""
    found = [o for o in objects if o["apiVersion"] == "tekton.dev/v1"]
    for template in by_kind(objects, "TriggerTemplate"):
        found += template["spec"]["resourcetemplates"]
    return found


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_tekton_objects_match_the_v1_15_crd_schemas(example: str) -> None:
    """The Tasks and Pipelines, and the PipelineRun each Trigger creates: the API server
    checks a run once Triggers filled in its TriggerTemplate (a build's resources are
    quantities only then)."""
    objects = objects_of(example)
    event = {"after": "a" * 40, "pull_request.head.sha": "b" * 40,
             "pull_request.base.sha": "c" * 40}
    tekton_objects = [o for o in objects if o["apiVersion"] == "tekton.dev/v1"] + [
        _started_by_triggers(objects, trigger["metadata"]["name"], event)
        for trigger in by_kind(objects, "Trigger")]
    assert {o["kind"] for o in tekton_objects} == {"Task", "Pipeline", "PipelineRun"}
    for obj in tekton_objects:
        errors = list(_crd_validator(obj["kind"]).iter_errors(obj))
        assert not errors, [f"{obj['kind']} {list(e.absolute_path)}: {e.message}" for e in errors]


def test_a_pull_secret_reaches_every_runs_pods_and_nothing_else(example_copy, cli) -> None:
    """A team's shipspec image on ghcr.io is private until made public (and some
    organisations allow no public package): without a pull secret, the tag and deploy
    steps of every run could not start. The kubelet alone reads it: it reaches pod
    templates, never a container, an account's secrets or a binding."""
    directory = example_copy("gointern-backend")
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace("  cacheSize: 10Gi\n",
                                             "  cacheSize: 10Gi\n  pullSecret: ghcr-pull\n"))
    objects = render(directory)
    runs = [*_tekton_objects(objects), *yaml.safe_load_all(cli(
        "generate", str(directory), "--module", "system", "--run", "a" * 40).out)]
    runs = [run for run in runs if run["kind"] == "PipelineRun"]
    assert len(runs) == 4  # push, pull request, cleanup, and one started by hand
    for run in runs:
        pod = run["spec"]["taskRunTemplate"]["podTemplate"]
        assert pod["imagePullSecrets"] == [{"name": "ghcr-pull"}]
        assert not list(_crd_validator("PipelineRun").iter_errors(run))
    # the three TriggerTemplates' runs (and the spec's own text in its ConfigMap)
    assert json.dumps([o for o in objects if o["kind"] != "ConfigMap"]).count("ghcr-pull") == 3
    assert "imagePullSecrets" not in json.dumps(objects_of("gointern-backend"))


def test_a_ca_bundle_reaches_every_step_that_talks_to_a_server(example_copy) -> None:
    """ci.caBundle: a ConfigMap of the CAs the runs trust, mounted in every step of the
    Tasks that reach a server (the source's git, the registry, the deployment repository,
    GitHub's API) and named in each tool's own variable; the cleanup, which talks to the
    API server alone, and a spec without it get nothing (test_image_tekton.py runs one
    against a server of a private CA)."""
    directory = example_copy("gointern-backend")
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace(
        "  cacheSize: 10Gi\n",
        "  cacheSize: 10Gi\n  caBundle: {configMap: corporate-ca, key: ca-bundle.crt}\n").replace(
        "webhookSecret: gointern-github-webhook",
        "webhookSecret: gointern-github-webhook\n  statusSecret: github-status"))
    tasks = {task["metadata"]["name"].removeprefix("gointern-backend-"): task
             for task in render(directory) if task["kind"] == "Task"}
    assert sorted(tasks) == ["build", "cleanup", "deploy", "report", "tag"]
    for name, task in tasks.items():
        assert not list(_crd_validator("Task").iter_errors(task))
        if name == "cleanup":
            assert "stepTemplate" not in task["spec"]
            assert "corporate-ca" not in json.dumps(task)
            continue
        assert task["spec"]["stepTemplate"] == {
            "env": [{"name": variable, "value": "/etc/shipspec-ca/ca.crt"}
                    for variable in ("SSL_CERT_FILE", "GIT_SSL_CAINFO", "CURL_CA_BUNDLE",
                                     "NODE_EXTRA_CA_CERTS")],
            "volumeMounts": [{"name": "ca-bundle", "mountPath": "/etc/shipspec-ca",
                              "readOnly": True}]}
        assert task["spec"]["volumes"][-1] == {"name": "ca-bundle", "configMap": {
            "name": "corporate-ca", "items": [{"key": "ca-bundle.crt", "path": "ca.crt"}]}}
        for step in task["spec"]["steps"]:  # none sets a variable of its own instead
            assert not {e["name"] for e in step.get("env", [])} & {
                "SSL_CERT_FILE", "GIT_SSL_CAINFO", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"}
    assert "ca-bundle" not in json.dumps(objects_of("gointern-backend"))


def _replaced(tree: Any, values: dict[str, str]) -> Any:
    if isinstance(tree, dict):
        return {_replaced(k, values): _replaced(v, values) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_replaced(item, values) for item in tree]
    if isinstance(tree, str):
        for name, value in values.items():
            tree = tree.replace(f"$(tt.params.{name})", value)
    return tree


def _started_by_triggers(objects: list[dict[str, Any]], trigger: str,
                         body: dict[str, str]) -> dict[str, Any]:
    """The PipelineRun Tekton Triggers creates when `trigger` fires for an event whose
    fields are `body` (`after`, `pull_request.head.sha`): the parameters of its bindings
    (each TriggerBinding it names, `$(body.<field>)` read from the event, then its own
    values), and the defaults of the others, put into its TriggerTemplate's resource
    (Triggers docs/triggertemplates.md, `$(tt.params.<name>)`), created in the
    EventListener's namespace."""
    named = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    trigger_spec = named[("Trigger", trigger)]["spec"]
    values: dict[str, str] = {}
    for binding in trigger_spec["bindings"]:
        params = (named[("TriggerBinding", binding["ref"])]["spec"]["params"]
                  if "ref" in binding else [binding])
        values.update({p["name"]: re.sub(r"\$\(body\.([a-z_.]+)\)",
                                         lambda field: body[field[1]], p["value"])
                       for p in params})
    template = named[("TriggerTemplate", trigger_spec["template"]["ref"])]["spec"]
    defaults = {p["name"]: p["default"] for p in template["params"] if "default" in p}
    assert set(values) - set(defaults) == {p["name"] for p in template["params"]} - set(
        defaults) and set(values) <= {p["name"] for p in template["params"]}
    run: dict[str, Any] = _replaced(template["resourcetemplates"][0], {**defaults, **values})
    [listener] = by_kind(objects, "EventListener")
    run["metadata"]["namespace"] = listener["metadata"]["namespace"]
    return run


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_a_run_started_by_hand_is_the_run_a_push_starts(example: str) -> None:
    """generate --run: for each module and environment, what its push Trigger would create
    for that commit, with nothing left for Triggers to fill in; valid as a PipelineRun."""
    sha = "0123456789abcdef0123456789abcdef01234567"
    spec = load_spec(str(EXAMPLES / example))
    runs = [r.document for r in tekton.runs_by_hand(spec, RenderOptions(), sha)]
    objects = objects_of(example)
    assert runs == [_started_by_triggers(objects, trigger_name(module, deployment, "push"),
                                         {"after": sha})
                    for module in spec.enabled_modules for deployment in module.deployments]
    assert "$(" not in json.dumps(runs)
    # every parameter the Pipeline declares, and no other (Tekton fails a run that misses
    # one: pkg/reconciler/pipelinerun/resources/validate_params.go,
    # ValidateRequiredParametersProvided)
    [pipeline] = [o for o in by_kind(objects, "Pipeline")
                  if o["metadata"]["name"] == spec.project]
    declared = {p["name"] for p in pipeline["spec"]["params"]}
    required = {p["name"] for p in pipeline["spec"]["params"] if "default" not in p}
    for run in runs:
        assert not list(_crd_validator("PipelineRun").iter_errors(run))
        assert run["spec"]["pipelineRef"] == {"name": spec.project}
        assert required <= {p["name"] for p in run["spec"]["params"]} <= declared
    assert {p["name"]: p["value"] for p in runs[0]["spec"]["params"]}["revision"] == sha


def test_build_resources_reach_the_build_task_run_of_each_modules_runs(example_copy,
                                                                       cli) -> None:
    """ci.resources, with a module's own over them, reach the build TaskRun of every push
    and pull request run of the module (the PipelineRun's taskRunSpecs, filled in from the
    module's TriggerBinding), valid for Tekton v1.15.0 once Triggers filled them in, and
    for the Pipeline's task that runs the build Task; a run started by hand carries the
    same, the cleanup none, and a spec without them renders no taskRunSpecs at all."""
    directory = example_copy("gointern-backend")
    spec_file = directory / "shipspec.yaml"
    spec_file.write_text(spec_file.read_text().replace("  cacheSize: 10Gi\n", """\
  cacheSize: 10Gi
  resources:
    requests: {cpu: 500m, memory: 2Gi}
    limits: {memory: 4Gi}
""").replace('    moduleName: "goyoai-gointern-system"\n', """\
    moduleName: "goyoai-gointern-system"
    resources: {limits: {memory: 6Gi}}
"""))
    spec = load_spec(str(directory))
    objects = render(directory)
    [pipeline] = [o for o in by_kind(objects, "Pipeline") if o["metadata"]["name"] == spec.project]
    [build] = [task for task in pipeline["spec"]["tasks"] if task["name"] == "build"]
    assert build["taskRef"] == {"name": f"{spec.project}-build"}
    requests = {"cpu": "500m", "memory": "2Gi"}
    event = {"after": "a" * 40, "pull_request.head.sha": "b" * 40,
             "pull_request.base.sha": "c" * 40}
    started = 0
    for module in spec.enabled_modules:
        limits = {"memory": "6Gi" if module.name == "system" else "4Gi"}
        for deployment in module.deployments:
            for kind in ("push", "pr"):
                run = _started_by_triggers(objects, trigger_name(module, deployment, kind),
                                           event)
                assert run["spec"]["taskRunSpecs"] == [{
                    "pipelineTaskName": "build",
                    "computeResources": {"requests": requests, "limits": limits}}]
                assert not list(_crd_validator("PipelineRun").iter_errors(run))
                started += 1
    assert started == 2 * len(spec.enabled_modules) > 2
    [by_hand] = yaml.safe_load_all(cli("generate", str(directory), "--module", "system",
                                       "--run", "a" * 40).out)
    assert by_hand["spec"]["taskRunSpecs"] == [{"pipelineTaskName": "build", "computeResources": {
        "requests": requests, "limits": {"memory": "6Gi"}}}]
    [cleanup] = [t for t in by_kind(objects, "TriggerTemplate")
                 if t["metadata"]["name"].endswith("-cleanup")]
    assert "taskRunSpecs" not in json.dumps(cleanup)
    assert "taskRunSpecs" not in json.dumps(objects_of("gointern-backend"))


def _merged_with_default(template: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    """A run's pod template merged with Tekton's default-pod-template (config-defaults) as
    Tekton v1.15.0 merges them when the run is created (pkg/apis/pipeline/v1/
    pipelinerun_defaults.go calls pkg/apis/pipeline/pod/template.go,
    MergePodTemplateWithDefault): each field the run's template sets wins whole; env and
    volumes merge by name, the run's entry winning."""
    merged = {**default, **template}
    for field in ("env", "volumes"):
        if field in default or field in template:
            by_name = {item["name"]: item for item in default.get(field, [])}
            by_name.update({item["name"]: item for item in template.get(field, [])})
            merged[field] = list(by_name.values())
    return merged


def test_a_clusters_default_pod_template_places_every_run_but_for_the_fields_runs_set(
        example_copy, cli) -> None:
    """Tekton's default-pod-template is how a cluster puts CI pods on its build nodes: its
    nodeSelector, tolerations and priority class reach every run shipspec renders (push,
    pull request, cleanup, by hand), since no run sets them; the affinity (runs of a module
    near each other) and the security context (seccomp) that runs set replace the
    default's whole, as the Tekton guide says: a nodeAffinity there does not place them."""
    directory = example_copy("gointern-backend")
    default = {
        "nodeSelector": {"pool": "ci"},
        "tolerations": [{"key": "ci", "operator": "Exists", "effect": "NoSchedule"}],
        "priorityClassName": "ci-builds",
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "pool", "operator": "In", "values": ["ci"]}]}]}}},
        "securityContext": {"fsGroup": 1000},
    }
    objects = render(directory)
    runs = [*(t["spec"]["resourcetemplates"][0] for t in by_kind(objects, "TriggerTemplate")),
            *yaml.safe_load_all(cli("generate", str(directory), "--module", "system",
                                    "--run", "a" * 40).out)]
    assert [run["kind"] for run in runs] == ["PipelineRun"] * 4
    for run in runs:
        own = run["spec"]["taskRunTemplate"]["podTemplate"]
        pod = _merged_with_default(own, default)
        assert {field: pod[field] for field in ("nodeSelector", "tolerations",
                                                "priorityClassName")} == {
            field: default[field] for field in ("nodeSelector", "tolerations",
                                                "priorityClassName")}
        if run["spec"]["pipelineRef"]["name"] == "gointern-backend-cleanup":
            # the project's: on no module's claim, anywhere the default puts it
            assert set(own) == {"securityContext"}
            assert pod["affinity"] == default["affinity"]
        else:
            assert set(own) == {"affinity", "securityContext"}
            assert pod["affinity"] == own["affinity"] and "nodeAffinity" not in pod["affinity"]
        assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_every_step_that_fetches_the_source_gives_up_a_dead_ssh_connection(
        example: str) -> None:
    """A connection that dies without a word (a NAT or a load balancer dropping it) hung ssh,
    and the step with it, until the run's timeout. Every step that fetches the source runs
    ssh with keep-alives: as OpenSSH reads the command (`ssh -G`), a question every 15 s
    and a give-up after 8 unanswered, two minutes. (test_image_tekton fetches through
    sshd with these commands.)"""
    steps = {f"{task['metadata']['name']}/{step['name']}":
             {e["name"]: e.get("value") for e in step.get("env", [])}
             for task in by_kind(objects_of(example), "Task") for step in task["spec"]["steps"]
             if any(e["name"] == "REPO_URL" for e in step.get("env", []))}
    assert sorted(name.split("-")[-1] for name in steps) == [
        "build/fetch", "deploy/history", "tag/changes"]
    for env in steps.values():
        command = env["GIT_SSH_COMMAND"].split()
        assert command[0] == "ssh"
        if "-F" in command:  # Tekton's $HOME/.ssh/config, which only a run has
            command[command.index("-F") + 1] = "/dev/null"
        settings = subprocess.run([*command, "-G", "deploy.example"], capture_output=True,
                                  text=True, check=True, stdin=subprocess.DEVNULL).stdout
        assert {"serveraliveinterval 15", "serveralivecountmax 8"} <= set(
            settings.splitlines())


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_a_push_reaches_every_trigger_and_the_cel_filters_of_its_modules_push_triggers(
        example: str) -> None:
    """What the Tekton guide counts for a delivery at scale: the EventListener names 2E
    Triggers a module of E environments and one cleanup; Triggers runs each one's
    interceptors in turn (v0.37.0 pkg/sink/sink.go, ExecuteInterceptors), so a push reaches
    every `github` interceptor, and the `cel` filter of the Triggers whose event types hold
    `push`: E a module."""
    objects = objects_of(example)
    spec = load_spec(str(EXAMPLES / example))
    [listener] = by_kind(objects, "EventListener")
    named = {t["triggerRef"] for t in listener["spec"]["triggers"]}
    triggers = [t for t in by_kind(objects, "Trigger") if t["metadata"]["name"] in named]
    assert len(triggers) == len(named) == sum(2 * len(m.deployments)
                                              for m in spec.enabled_modules) + 1
    first, second = zip(*(t["spec"]["interceptors"] for t in triggers), strict=True)
    assert {i["ref"]["name"] for i in first} == {"github"}
    assert {i["ref"]["name"] for i in second} == {"cel"}
    reached = [t for t, github in zip(triggers, first, strict=True)
               if "push" in next(p["value"] for p in github["params"]
                                 if p["name"] == "eventTypes")]
    assert len(reached) == sum(len(m.deployments) for m in spec.enabled_modules)


def test_the_crd_check_rejects_unknown_fields() -> None:
    task = copy.deepcopy(by_kind(objects_of("astrago"), "Task")[0])
    task["spec"]["steps"][0]["scirpt"] = "echo"
    assert list(_crd_validator("Task").iter_errors(task))


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_core_objects_pass_kubernetes_validate_strict(example: str) -> None:
    version = kubernetes_validate.latest_version()
    core = [o for o in objects_of(example) if o["kind"] in CORE_KINDS]
    assert {o["kind"] for o in core} == CORE_KINDS
    for obj in core:
        kubernetes_validate.validate(obj, version, strict=True)


def test_task_volumes_and_pod_affinity_are_valid_pod_fields() -> None:
    """Task volumes and PipelineRun pod templates are opaque to the CRDs: check them as Pod."""
    version = kubernetes_validate.latest_version()
    objects = objects_of("gointern-backend")
    templates = by_kind(objects, "TriggerTemplate")
    for task in by_kind(objects, "Task"):
        for index, declared in enumerate(task["spec"].get("volumes", [])):
            volume = dict(declared)
            if "persistentVolumeClaim" in volume:  # a Tekton parameter stands for the name
                volume["persistentVolumeClaim"] = {"claimName": f"claim-{index}"}
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check"},
                   "spec": {"containers": [{"name": "c", "image": "i"}], "volumes": [volume]}}
            kubernetes_validate.validate(pod, version, strict=True)
    for template in templates:
        run = template["spec"]["resourcetemplates"][0]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check"},
               "spec": {"containers": [{"name": "c", "image": "i"}],
                        **run["spec"]["taskRunTemplate"]["podTemplate"]}}
        kubernetes_validate.validate(pod, version, strict=True)


def test_event_listener_name_fits_and_every_trigger_validates_the_webhook() -> None:
    objects = objects_of("gointern-backend")
    [listener] = by_kind(objects, "EventListener")
    assert len(listener["metadata"]["name"]) <= 60
    for trigger in by_kind(objects, "Trigger"):
        github = trigger["spec"]["interceptors"][0]
        assert github["ref"] == {"name": "github", "kind": "ClusterInterceptor"}
        assert github["params"][0] == {"name": "secretRef", "value": {
            "secretName": "gointern-github-webhook", "secretKey": "secret"}}
    assert [t["triggerRef"] for t in listener["spec"]["triggers"]] == [
        t["metadata"]["name"] for t in by_kind(objects, "Trigger")]


def test_rbac_is_least_privilege_and_secrets_are_referenced_by_name_only() -> None:
    objects = objects_of("gointern-backend")
    bindings = {o["roleRef"]["name"]: o["subjects"] for o in objects
                if o["kind"].endswith("RoleBinding")}
    assert set(bindings) == {"tekton-triggers-eventlistener-roles",
                             "tekton-triggers-eventlistener-clusterroles",
                             "gointern-backend-cleanup"}
    assert [s["name"] for s in bindings["gointern-backend-cleanup"]] == [
        "gointern-backend-cleanup"]
    [role] = by_kind(objects, "Role")
    assert role["rules"] == [{"apiGroups": ["tekton.dev"], "resources": ["pipelineruns"],
                              "verbs": ["get", "list", "delete"]}]
    accounts = {o["metadata"]["name"]: o for o in by_kind(objects, "ServiceAccount")}
    assert accounts["gointern-backend-pipeline"]["secrets"] == [
        {"name": "gointern-registry-push"}, {"name": "gointern-deploy-token"}]
    assert not by_kind(objects, "Secret")


# --- what each run's pods can reach ----------------------------------------------------------


def _run_of(objects: list[dict[str, Any]], template: str) -> dict[str, Any]:
    [found] = [t for t in by_kind(objects, "TriggerTemplate")
               if t["metadata"]["name"] == template]
    run: dict[str, Any] = found["spec"]["resourcetemplates"][0]
    return run


def _credentials_in_pod(objects: list[dict[str, Any]], run: dict[str, Any],
                        task_name: str) -> set[str]:
    """Every Secret (and the API token) a pod of `task_name` in `run` carries, as Tekton
    builds the pod (pipeline v1.15.0): creds-init (pkg/pod/creds_init.go) mounts each Secret
    listed on the run's ServiceAccount that dockercreds or gitcreds match, and a
    dockerconfigjson Secret always matches (pkg/credentials/dockercreds/creds.go,
    MatchingAnnotations); so every listed Secret counts. Then the Task's secret volumes,
    secret workspaces bound by the run, env and envFrom references of every step, and the
    ServiceAccount token unless the account turns its automount off."""
    account_name = run["spec"]["taskRunTemplate"]["serviceAccountName"]
    [account] = [a for a in by_kind(objects, "ServiceAccount")
                 if a["metadata"]["name"] == account_name]
    reachable = {entry["name"] for entry in account.get("secrets", [])}
    if account.get("automountServiceAccountToken", True):
        reachable.add(f"token of {account_name}")
    [task] = [t for t in by_kind(objects, "Task") if t["metadata"]["name"] == task_name]
    for volume in task["spec"].get("volumes", []):
        if "secret" in volume:
            reachable.add(volume["secret"]["secretName"])
    declared = {w["name"] for w in task["spec"].get("workspaces", [])}
    for binding in run["spec"].get("workspaces", []):
        if "secret" in binding and (binding["name"] in declared or not declared):
            reachable.add(binding["secret"]["secretName"])
    for step in [*task["spec"]["steps"], task["spec"].get("stepTemplate", {}),
                 *task["spec"].get("sidecars", [])]:
        for variable in step.get("env", []):
            reference = variable.get("valueFrom", {}).get("secretKeyRef")
            if reference:
                reachable.add(reference["name"])
        for source in step.get("envFrom", []):
            if "secretRef" in source:
                reachable.add(source["secretRef"]["name"])
    return reachable


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_pull_request_builds_reach_no_credential(example: str) -> None:
    objects = objects_of(example)
    project = objects[0]["metadata"]["labels"]["app.kubernetes.io/part-of"]
    pull_request = _run_of(objects, f"{project}-pull-request")
    assert _credentials_in_pod(objects, pull_request, f"{project}-build") == set()
    account = pull_request["spec"]["taskRunTemplate"]["serviceAccountName"]
    assert not [b for b in objects if b["kind"].endswith("RoleBinding")
                and account in {s["name"] for s in b["subjects"]}]  # no RBAC at all


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_branch_builds_carry_the_push_credentials_and_cleanup_only_its_token(
        example: str) -> None:
    objects = objects_of(example)
    project = objects[0]["metadata"]["labels"]["app.kubernetes.io/part-of"]
    spec = yaml.safe_load((REPO / "examples" / example / "shipspec.yaml").read_text())
    push = _credentials_in_pod(objects, _run_of(objects, f"{project}-push"), f"{project}-build")
    assert spec["registry"]["pushSecret"] in push  # the emulation sees what is there
    cleanup_run = _run_of(objects, f"{project}-cleanup")
    assert _credentials_in_pod(objects, cleanup_run, f"{project}-cleanup") == {
        f"token of {project}-cleanup"}


def test_a_private_source_is_read_with_its_credentials_and_pull_requests_get_nothing_else(
        tmp_path: Path) -> None:
    """source.credentialsSecret: a pull request cannot fetch a private repository's code
    without it, so its pods carry that Secret (read-only credentials) and nothing more;
    branch builds and the deploy Task's history step carry it beside the push ones."""
    text = (EXAMPLES / "gointern-backend" / "shipspec.yaml").read_text()
    [old] = [line for line in text.splitlines(keepends=True)
             if line.startswith("  webhookSecret: ")]
    (tmp_path / "shipspec.yaml").write_text(text.replace(
        old, old + "  credentialsSecret: gointern-source-read\n"))
    objects = render(tmp_path)
    pull_request = _run_of(objects, "gointern-backend-pull-request")
    assert _credentials_in_pod(objects, pull_request, "gointern-backend-build") == {
        "gointern-source-read"}
    push = _run_of(objects, "gointern-backend-push")
    for task in ("gointern-backend-build", "gointern-backend-deploy"):
        assert "gointern-source-read" in _credentials_in_pod(objects, push, task)
    cleanup = _run_of(objects, "gointern-backend-cleanup")
    assert _credentials_in_pod(objects, cleanup, "gointern-backend-cleanup") == {
        "token of gointern-backend-cleanup"}


# --- no script injection ------------------------------------------------------------------

_RUNTIME_VALUE = re.compile(r"\$\((params|tt\.params|body|header|extensions|tasks|context|"
                            r"steps|workspaces)\b")
_SHELLS = {"sh", "bash", "ash", "/bin/sh", "/bin/bash", "/bin/ash", "/busybox/sh"}


def _script_sinks(obj: Any) -> list[str]:
    """Every shell body in steps, sidecars, stepTemplates and embedded taskSpecs."""
    sinks: list[str] = []
    if isinstance(obj, dict):
        if isinstance(obj.get("script"), str):
            sinks.append(obj["script"])
        command = obj.get("command") or []
        arguments = obj.get("args") or []
        if command and command[0] in _SHELLS and "-c" in [*command, *arguments]:
            sinks += [*command, *arguments]
        for value in obj.values():
            sinks += _script_sinks(value)
    elif isinstance(obj, list):
        for item in obj:
            sinks += _script_sinks(item)
    return sinks


def _hostile_spec(directory: Path) -> Path:
    spec = directory / "shipspec.yaml"
    text = spec.read_text()
    # No `$(` in binding values: Triggers would expand it (refused at validate, see
    # test_spec_checks); the shell's own metacharacters stay.
    text = text.replace('gitBranch: "dev-portal"', "gitBranch: \"dev;`curl${IFS}evil`'\"")
    text = text.replace('directory: "goyoai-portal/overlays/dev"',
                        "directory: \"o'$(id)/overlays\"")
    text = text.replace("dockerfile-portal-dev", "docker;rm${IFS}-rf/Dockerfile")
    spec.write_text(text)
    return directory


@pytest.mark.parametrize("example", ["gointern-backend", "astrago", "hostile"])
def test_no_runtime_value_reaches_a_script(example: str, example_copy) -> None:
    directory = (_hostile_spec(example_copy("gointern-backend")) if example == "hostile"
                 else EXAMPLES / example)
    objects = render(directory)
    sinks = _script_sinks(objects)
    assert sinks, "the Tasks have scripts; the walk must find them"
    for body in sinks:
        assert not _RUNTIME_VALUE.search(body), body
        assert "curl${IFS}evil" not in body and "rm${IFS}" not in body


def test_hostile_branch_reaches_the_run_only_as_a_parameter(example_copy) -> None:
    objects = render(_hostile_spec(example_copy("gointern-backend")))
    [push] = [t for t in by_kind(objects, "Trigger")
              if t["metadata"]["name"] == "gointern-backend-portal-dev-push"]
    values = {b["name"]: b["value"] for b in push["spec"]["bindings"] if "name" in b}
    assert values["branch"] == "dev;`curl${IFS}evil`'"
    [settings] = [b for b in by_kind(objects, "TriggerBinding")
                  if b["metadata"]["name"] == "gointern-backend-portal"]
    assert {"name": "dockerfile", "value": "docker;rm${IFS}-rf/Dockerfile"} in \
        settings["spec"]["params"]
    cel = push["spec"]["interceptors"][1]["params"][0]["value"]
    assert _evaluate(cel, _push_payload(ref="refs/heads/dev;`curl${IFS}evil`'"), "push")
    assert not _evaluate(cel, _push_payload(ref="refs/heads/dev"), "push")


# --- CEL filters, evaluated on recorded GitHub payloads ------------------------------------


def _match(headers: Any, name: Any, value: Any) -> celtypes.BoolType:
    """Tekton Triggers' header.match(name, value): case-insensitive name, any value equal."""
    for key, values in headers.items():
        if str(key).lower() == str(name).lower():
            return celtypes.BoolType(any(str(v) == str(value) for v in values))
    return celtypes.BoolType(False)


def _evaluate(expression: str, body: dict[str, Any], event: str) -> bool:
    """Whether the CEL filter lets the event through: an evaluation error does not, as
    Tekton Triggers' CEL interceptor fails the event on one (pkg/interceptors/cel/cel.go,
    "error evaluating cel expression", tektoncd/triggers v0.37.0-13-g088902973)."""
    environment = celpy.Environment()
    program = environment.program(environment.compile(expression), functions={"match": _match})
    activation = {"body": celpy.json_to_cel(body),
                  "header": celpy.json_to_cel({"X-Github-Event": [event]})}
    try:
        return bool(program.evaluate(activation))
    except celpy.CELEvalError:
        return False


def _payload(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return loaded


def _push_payload(**changes: Any) -> dict[str, Any]:
    return {**_payload("push"), **changes}


def _filters(objects: list[dict[str, Any]]) -> dict[str, str]:
    return {t["metadata"]["name"]: t["spec"]["interceptors"][1]["params"][0]["value"]
            for t in by_kind(objects, "Trigger")}


def test_push_to_a_module_branch_builds_that_module_only() -> None:
    filters = _filters(objects_of("gointern-backend"))
    chosen = {name for name, cel in filters.items()
              if name.endswith("-push") and _evaluate(cel, _payload("push"), "push")}
    assert chosen == {"gointern-backend-portal-dev-push"}


def test_deleted_branch_push_builds_nothing() -> None:
    filters = _filters(objects_of("gointern-backend"))
    deleted = _push_payload(deleted=True, after="0" * 40, commits=[])
    assert not [n for n, cel in filters.items() if n.endswith("-push")
                and _evaluate(cel, deleted, "push")]


def _astrago_push(files: list[str], commits: int = 1) -> dict[str, Any]:
    commit = {"id": "a1b2c3d4", "added": [], "removed": [], "modified": files}
    return _push_payload(ref="refs/heads/stabilize/1.0", commits=[commit] * commits,
                         repository={"full_name": "xiilab/astrago-backend"})


def test_mono_repo_paths_narrow_a_push_to_the_modules_it_touches() -> None:
    filters = {n: c for n, c in _filters(objects_of("astrago")).items() if n.endswith("-push")}

    def built(payload: dict[str, Any]) -> set[str]:
        return {n.split("-")[1] for n, cel in filters.items() if _evaluate(cel, payload, "push")}

    assert built(_astrago_push(["server-core/src/main/java/Core.java"])) == {"core"}
    assert built(_astrago_push(["server-batch/Dockerfile"])) == {"batch"}
    assert built(_astrago_push(["module-common/src/Util.java"])) == {"core", "batch",
                                                                     "monitor"}
    assert built(_astrago_push(["settings.gradle"])) == {"core", "batch", "monitor"}
    assert built(_astrago_push(["README.md"])) == set()
    assert built(_astrago_push(["server-core-old/x"])) == set()  # a prefix is not the dir
    assert built(_astrago_push(["README.md"], commits=21)) == set()  # 20 built everything


def test_a_push_at_a_limit_of_what_its_delivery_lists_builds_every_module(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A delivery lists so many commits, and so many files of each (the next test checks
    the numbers against GitHub's): a push that reaches either limit may have changed files
    it does not name. The limits are made small here: cel-python evaluates both sides of
    `||`, and a list of 2048 commits takes it seconds."""
    monkeypatch.setattr(tekton_triggers, "PUSH_COMMITS_LISTED", 4)
    monkeypatch.setattr(tekton_triggers, "COMMIT_FILES_LISTED", 6)
    core = _filters(objects_of("astrago"))["astrago-core-stage-push"]

    def commit(added: int, modified: int, removed: int) -> dict[str, Any]:
        return {"id": "a1b2c3d4", "added": [f"docs/{n}.md" for n in range(added)],
                "modified": [f"docs/{n}.txt" for n in range(modified)],
                "removed": [f"docs/{n}.rst" for n in range(removed)]}

    def built(*commits: dict[str, Any]) -> bool:
        return bool(_evaluate(core, {**_astrago_push([]), "commits": list(commits)}, "push"))

    assert not built(*[commit(1, 0, 0)] * 3)
    assert built(*[commit(1, 0, 0)] * 4)
    assert not built(commit(2, 2, 1), commit(5, 0, 0))
    assert built(commit(1, 0, 0), commit(2, 2, 2))
    assert built(commit(6, 0, 0))


def test_the_push_limits_are_those_githubs_rest_description_states() -> None:
    """What a push delivery lists, in GitHub's own words (the webhook-push schema of its
    REST description, @octokit/openapi 23.0.2, installed by tests/run)."""
    schema = json.loads(DESCRIPTION.read_text())["components"]["schemas"]["webhook-push"]
    commits = schema["properties"]["commits"]
    [listed] = re.findall(r"includes a maximum of (\d+) commits", commits["description"])
    assert int(listed) == tekton_triggers.PUSH_COMMITS_LISTED
    for files in ("added", "modified", "removed"):
        [per_commit] = re.findall(r"A maximum of (\d+) changed files will be reported per "
                                  "commit", commits["items"]["properties"][files]["description"])
        assert int(per_commit) == tekton_triggers.COMMIT_FILES_LISTED


# One repository for the source and the deployment (spelt two ways, as people do): api has
# no paths, web's take in the deployment directory, worker deploys through a manifest.
ONE_REPOSITORY = """\
project: shop
namespace: shop-ci
source: {url: https://github.com/Acme/Shop.git, webhookSecret: hook}
registry: {url: ghcr.io/acme}
deploy: {url: https://github.com/acme/shop, credentialsSecret: deploy-token}
ci: {images: {shipspec: "ghcr.io/acme/shipspec:1@sha256:0000000000000000000000000000000000000000000000000000000000000000"}}
environments:
  stage: {branch: main, values: deploy/stage.yaml}
modules:
  api: {values: apps.api}
  web: {paths: [web/, deploy/], values: apps.web}
  worker:
    paths: [worker/]
    manifest: {file: deploy/worker.yaml, name: worker}
"""
ONE_REPOSITORY_FILES = {
    "deploy/stage.yaml": "apps:\n  api: {repository: ghcr.io/acme/api, imageTag: old}\n"
                         "  web: {repository: ghcr.io/acme/web, imageTag: old}\n",
    "deploy/worker.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker}\n"
                          "spec:\n  template:\n    spec:\n      containers:\n"
                          "      - {name: worker, image: 'ghcr.io/acme/worker:old'}\n",
    "web/index.html": "<p>shop</p>\n",
}


def test_a_deploys_own_commit_builds_nothing_when_the_source_is_the_deployment_repository(
        tmp_path: Path) -> None:
    """Each deploy commits to the branch it built from: were that commit a push like any
    other, api (no paths: every change) and web (its paths hold deploy/) would build again,
    deploy again, and so on without end. The commit is the one `bump` really makes."""
    from test_bump import SHA, git, make_deploy_repo

    app = tmp_path / "app"
    app.mkdir()
    (app / ".git").mkdir()
    (app / "shipspec.yaml").write_text(ONE_REPOSITORY)
    bare = make_deploy_repo(tmp_path, ONE_REPOSITORY_FILES)
    bumped = subprocess.run(
        [sys.executable, "-m", "shipspec", "bump", str(app), "--module", "api", "--module",
         "web", "--module", "worker", "--sha", SHA, "--repo", f"file://{bare}"],
        capture_output=True, text=True, check=False)
    assert bumped.returncode == 0, bumped.stderr
    deployed = git("--git-dir", str(bare), "diff-tree", "--no-commit-id", "--name-only", "-r",
                   "main").split()
    assert sorted(deployed) == ["deploy/stage.yaml", "deploy/worker.yaml"]
    filters = {name.split("-")[1]: cel for name, cel in _filters(render(app)).items()
               if name.endswith("-push")}

    def built(*commits: list[str]) -> set[str]:
        payload = _push_payload(ref="refs/heads/main", repository={"full_name": "acme/shop"},
                                commits=[{"id": SHA, "added": [], "removed": [],
                                          "modified": files} for files in commits])
        return {module for module, cel in filters.items() if _evaluate(cel, payload, "push")}

    assert built(deployed) == set()
    assert built(deployed, deployed) == set()
    # a person's change beside it builds as before; so does a push of an empty commit
    assert built(deployed, ["web/index.html"]) == {"api", "web"}
    assert built(["deploy/README.md"]) == {"api", "web"}  # not a file bumps write
    assert built(["worker/main.go", "deploy/worker.yaml"]) == {"api", "worker"}
    assert built([]) == {"api"}
    # a pull request's run decides the same from its changed files (tag --touched-output),
    # which its Trigger gives it the base commit to find, paths or not
    pull_requests = [t for t in by_kind(render(app), "Trigger")
                     if t["metadata"]["name"].endswith("-pr")]
    assert len(pull_requests) == 3 and all(
        {"name": "base-revision", "value": "$(body.pull_request.base.sha)"}
        in t["spec"]["bindings"] for t in pull_requests)
    listed = tmp_path / "changed"
    listed.write_text("\n".join(deployed) + "\n")
    for module in ("api", "web", "worker"):
        touched = tmp_path / f"{module}-touched"
        tagged = subprocess.run(
            [sys.executable, "-m", "shipspec", "tag", str(app), "--module", module, "--sha",
             SHA, "--changed-files", str(listed), "--touched-output", str(touched)],
            capture_output=True, text=True, check=False)
        assert tagged.returncode == 0, tagged.stderr
        assert touched.read_text() == "false", module


def test_each_push_filter_names_only_the_deployment_files_that_would_build_its_module(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module without paths would build on any of them, one with paths on those below;
    a Trigger lists no others, and a bound on them all keeps the output linear: 1,000
    modules without paths, each with a manifest, rendered 26 MB of filters."""
    from shipspec.specfile import resolve

    (tmp_path / ".git").mkdir()
    (tmp_path / "shipspec.yaml").write_text(ONE_REPOSITORY)
    modules = {m.name: m.deployment_files for m in load_spec(str(tmp_path)).modules}
    assert modules == {"api": {"deploy/stage.yaml", "deploy/worker.yaml"},
                       "web": {"deploy/stage.yaml", "deploy/worker.yaml"},
                       "worker": set()}
    assert "!(f in [" not in _filters(render(tmp_path))["shop-worker-stage-push"]
    monkeypatch.setattr(resolve, "DEPLOYMENT_FILES_LISTED", 3)
    with pytest.raises(SpecError) as refused:
        load_spec(str(tmp_path))
    assert re.search(r"shipspec.yaml:5:15: error: deploy.url: .* push filters would name 4 "
                     r"of them in all, more than 3\n  hint: give those modules paths",
                     str(refused.value))


def test_the_filters_of_a_module_of_another_repository_ignore_no_file(tmp_path: Path) -> None:
    """Only the deployment repository's own modules leave deploy commits out: in another
    repository a file of that name is the team's to build from."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "shipspec.yaml").write_text(ONE_REPOSITORY.replace(
        "https://github.com/acme/shop,", "https://github.com/acme/shop-deploy.git,"))
    filters = _filters(render(tmp_path))
    assert filters and not [cel for cel in filters.values() if "!(f in [" in cel]


@pytest.mark.parametrize("spelt", ["XiiLab/Astrago-Backend", "xiilab/astrago-backend"])
def test_a_repository_name_matches_its_events_whatever_its_case(tmp_path: Path,
                                                                spelt: str) -> None:
    """GitHub names repositories without regard to case and sends them as spelt when
    created: a spec that typed them otherwise built nothing, silently. Other names, and
    a '.' where the name has another character, still do not match."""
    (tmp_path / ".git").mkdir()
    text = (EXAMPLES / "astrago" / "shipspec.yaml").read_text()
    (tmp_path / "shipspec.yaml").write_text(text.replace(
        "https://github.com/xiilab/astrago-backend.git", f"https://github.com/{spelt}.git"))
    filters = {n: c for n, c in _filters(render(tmp_path)).items()
               if n == "astrago-core-stage-push"}

    def built(full_name: str) -> bool:
        payload = _astrago_push(["server-core/src/main/java/Core.java"])
        return _evaluate(filters["astrago-core-stage-push"],
                         {**payload, "repository": {"full_name": full_name}}, "push")

    assert built("xiilab/astrago-backend") and built("XIILAB/ASTRAGO-BACKEND")
    assert not built("xiilab/astrago-backend2") and not built("other/xiilab/astrago-backend")


def test_a_dot_in_a_repository_name_is_a_dot() -> None:
    from shipspec.render.tekton_triggers import from_repository

    for name, expected in (("o/my.app", True), ("O/My.App", True), ("o/myxapp", False)):
        assert _evaluate(from_repository("o/my.app"),
                         {"repository": {"full_name": name}}, "push") is expected


def test_frontend_repository_events_select_only_the_frontend() -> None:
    filters = {n: c for n, c in _filters(objects_of("astrago")).items() if n.endswith("-push")}
    payload = _push_payload(ref="refs/heads/stabilize/1.0",
                            repository={"full_name": "xiilab/astrago-frontend"})
    assert {n for n, c in filters.items() if _evaluate(c, payload, "push")} == {
        "astrago-frontend-stage-push"}


# GitHub's own example events (npm @octokit/webhooks-examples 7.6.1, from github/docs)
WEBHOOK_EXAMPLES = (REPO / "tests" / "tools" / "node_modules" / "@octokit" /
                    "webhooks-examples" / "api.github.com" / "index.json")


def _github_pull_request(action: str, repository: str, base: str,
                         head_in: str | None = "") -> dict[str, Any]:
    """GitHub's example pull_request event with this action, for a pull request into
    `base` of `repository` whose branch is in the repository itself (`head_in` ""), in a
    fork owned by `head_in`, or in a fork since deleted (None: GitHub sends `head.repo`
    null)."""
    [examples] = [e["examples"] for e in json.loads(WEBHOOK_EXAMPLES.read_text())
                  if e["name"] == "pull_request"]
    event: dict[str, Any] = copy.deepcopy(next(e for e in examples if e["action"] == action))
    own = event["repository"]
    assert event["pull_request"]["head"]["repo"]["id"] == own["id"]  # the example's shape
    own["full_name"] = repository
    own["owner"]["login"], own["name"] = repository.split("/")
    event["pull_request"]["base"].update(ref=base, repo=own)
    head = event["pull_request"]["head"]
    head["repo"] = own
    if head_in is None:
        head["repo"] = None
    elif head_in:
        fork = copy.deepcopy(own)
        fork.update(id=own["id"] + 1, fork=True, full_name=f"{head_in}/{own['name']}")
        fork["owner"]["login"] = head_in
        head.update(repo=fork, label=f"{head_in}:{head['ref']}")
    return event


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened"])
def test_pull_request_builds_modules_of_its_base_branch(action: str) -> None:
    filters = {n: c for n, c in _filters(objects_of("gointern-backend")).items()
               if n.endswith("-pr")}
    pr = _github_pull_request(action, "goyoai/gointern-backend", "dev-portal")
    assert {n for n, c in filters.items() if _evaluate(c, pr, "pull_request")} == {
        "gointern-backend-portal-dev-pr"}
    closed = _github_pull_request("closed", "goyoai/gointern-backend", "dev-portal")
    assert not [n for n, c in filters.items() if _evaluate(c, closed, "pull_request")]


def test_a_forks_pull_request_builds_only_where_the_spec_says_so(example_copy) -> None:
    """On a public repository anyone may open a pull request from a fork, and its build
    runs their code in the cluster (its Dockerfile, its gradle build): only pull requests
    from the repository's own branches build, unless source.forkPullRequests."""
    directory = example_copy("gointern-backend")
    spec_file = directory / "shipspec.yaml"

    def built(head_in: str | None) -> set[str]:
        pr = _github_pull_request("opened", "goyoai/gointern-backend", "dev-portal", head_in)
        return {n for n, c in _filters(render(directory)).items()
                if n.endswith("-pr") and _evaluate(c, pr, "pull_request")}

    def cleaned(head_in: str | None) -> set[str]:  # when the pull request closes
        pr = _github_pull_request("closed", "goyoai/gointern-backend", "dev-portal", head_in)
        return {n for n, c in _filters(render(directory)).items()
                if n.endswith("-cleanup") and _evaluate(c, pr, "pull_request")}

    portal = {"gointern-backend-portal-dev-pr"}
    project = {"gointern-backend-cleanup"}  # one for every module
    assert (built(""), built("someone"), built(None)) == (portal, set(), set())
    assert (cleaned(""), cleaned("someone"), cleaned(None)) == (project, set(), set())
    text = spec_file.read_text()
    assert "  webhookSecret: " in text
    spec_file.write_text(text.replace("  webhookSecret: ",
                                      "  forkPullRequests: true\n  webhookSecret: ", 1))
    assert (built(""), built("someone"), built(None)) == (portal, portal, portal)
    assert cleaned("someone") == cleaned(None) == project


def test_a_pull_request_run_builds_a_module_with_paths_only_where_it_touches_them() -> None:
    """A pull request's event lists no files: the Trigger of a module with paths passes
    its base commit, the tag Task tells whether the pull request's files touch the paths
    (test_image_tekton runs it), and the build waits on that. A module without paths, and
    a push, give no base: the tag Task says touched, and they build as before."""
    objects = objects_of("astrago")
    head, base = "a" * 40, "b" * 40
    event = {"pull_request.head.sha": head, "pull_request.base.sha": base}
    core = _started_by_triggers(objects, "astrago-core-stage-pr", event)
    frontend = _started_by_triggers(objects, "astrago-frontend-stage-pr", event)
    push = _started_by_triggers(objects, "astrago-core-stage-push", {"after": head})
    assert {p["name"]: p["value"] for p in core["spec"]["params"]}["base-revision"] == base
    assert {p["name"]: p["value"] for p in frontend["spec"]["params"]}["base-revision"] == ""
    assert "base-revision" not in {p["name"] for p in push["spec"]["params"]}
    [pipeline] = [o for o in by_kind(objects, "Pipeline") if o["metadata"]["name"] == "astrago"]
    assert {"name": "base-revision", "type": "string", "default": ""} in pipeline["spec"][
        "params"]
    tasks = {task["name"]: task for task in pipeline["spec"]["tasks"]}
    assert {p["name"]: p["value"] for p in tasks["tag"]["params"]}["base-revision"] == (
        "$(params.base-revision)")
    assert tasks["build"]["when"] == [{"input": "$(tasks.tag.results.touched)",
                                       "operator": "in", "values": ["true"]}]

def test_branch_deletion_and_closed_pull_requests_clean_up() -> None:
    """One cleanup Trigger for the project: a cleanup Trigger for each module started 200
    runs, a pod each, for every pull request closed in a mono repo of 200 modules."""
    [(name, cel)] = [(n, c) for n, c in _filters(objects_of("gointern-backend")).items()
                     if n.endswith("-cleanup")]
    assert name == "gointern-backend-cleanup"
    assert _evaluate(cel, _payload("delete"), "delete")
    closed = _github_pull_request("closed", "goyoai/gointern-backend", "dev-portal")
    assert _evaluate(cel, closed, "pull_request")
    opened = _github_pull_request("opened", "goyoai/gointern-backend", "dev-portal")
    assert not _evaluate(cel, opened, "pull_request")
    tag_deleted = {**_payload("delete"), "ref_type": "tag"}
    assert not _evaluate(cel, tag_deleted, "delete")


def test_the_cleanup_listens_to_every_repository_of_the_modules_and_no_other() -> None:
    """Seed B's modules come from two repositories: a branch deleted in either (its name in
    any case, as GitHub compares them) cleans up; one of the deployment repository, whose
    pushes only deploy, or of another repository, does not."""
    [cel] = [c for n, c in _filters(objects_of("astrago")).items() if n == "astrago-cleanup"]
    deleted_in = {repository: _evaluate(cel, {**_payload("delete"), "repository": {
                      **_payload("delete")["repository"], "full_name": repository}}, "delete")
                  for repository in ("xiilab/astrago-backend", "XiiLab/Astrago-Frontend",
                                     "xiilab/astrago-deployment", "xiilab/astrago-backend2",
                                     "xiilab/astrago-backendxastrago-frontend")}
    assert deleted_in == {"xiilab/astrago-backend": True, "XiiLab/Astrago-Frontend": True,
                          "xiilab/astrago-deployment": False,
                          "xiilab/astrago-backend2": False,
                          "xiilab/astrago-backendxastrago-frontend": False}
    closed = _github_pull_request("closed", "xiilab/astrago-frontend", "master")
    assert _evaluate(cel, closed, "pull_request")


def test_render_options_select_modules_and_environment() -> None:
    objects = render(EXAMPLES / "astrago", modules=("core",), namespace="ci")
    triggers = [t["metadata"]["name"] for t in by_kind(objects, "Trigger")]
    assert triggers == ["astrago-core-stage-push", "astrago-core-stage-pr", "astrago-cleanup"]
    assert {o["metadata"].get("namespace") for o in objects} == {"ci", None}


def _without_shipspec_image(text: str) -> str:
    text = re.sub(r"  images:\n(    #.*\n)*    shipspec: .*\n", "", text)
    return text.replace("engine: github-actions", "engine: tekton")


@pytest.mark.parametrize(("example", "edit", "needed"), [
    pytest.param("astrago", _without_shipspec_image,
                 "ci.images.shipspec: Tekton runs `shipspec tag` and `shipspec bump` in the "
                 "shipspec image: set ci.images.shipspec\n    hint: build this repository's "
                 "Dockerfile, push it, and pin it as name:tag@sha256:<digest>\n",
                 id="shipspec-image"),
    pytest.param("gointern-backend",
                 lambda text: text.replace("  credentialsSecret: gointern-deploy-token\n", ""),
                 "deploy.credentialsSecret: the deploy Task pushes new tags to the deployment "
                 "repository with a token from a Secret: set deploy.credentialsSecret\n"
                 "    hint: name a Secret whose key `token` holds a token that may push there, "
                 "e.g. credentialsSecret: deploy-token\n",
                 id="deploy-credentials"),
    # the deploy Task pushes with that token: it failed on every run (a bump by hand, with
    # the user's key, takes one: test_bump.py's race over ssh)
    pytest.param("gointern-backend",
                 lambda text: text.replace("https://github.com/goyoai/gointern-deployment",
                                           "git@github.com:goyoai/gointern-deployment"),
                 "deploy.url: 'git@github.com:goyoai/gointern-deployment.git' is an SSH URL, "
                 "and the CI's deploy step pushes with the token of deploy.credentialsSecret "
                 "over HTTPS: it has no SSH key\n    hint: give the deployment repository's "
                 "https:// clone URL, such as https://github.com/<owner>/<name>.git\n",
                 id="ssh-deploy-url"),
])
def test_what_only_the_rendered_ci_needs_is_listed_by_validate_and_refused_by_generate(
        repo: Path, cli, example: str, edit: Any, needed: str) -> None:
    """A first spec validates before its shipspec image exists; without the deploy Secret the
    deploy step would fail at run time. validate says what is still needed; generate
    refuses, naming it."""
    (repo / "shipspec.yaml").write_text(edit((EXAMPLES / example / "shipspec.yaml").read_text()))
    checked = cli("validate", str(repo))
    assert checked.code == 0, checked.err
    assert checked.out.endswith(f"  still needed by generate --target tekton: {needed}")
    generated = cli("generate", str(repo))
    assert (generated.code, generated.out) == (1, "")
    # where the file would say it: the field, else the nearest one above it that is written
    field = needed.split(":", maxsplit=1)[0].split(".")
    where = (repo / "shipspec.yaml").read_text().splitlines().index(f"{field[0]}:") + 1
    assert re.match(rf"{re.escape(str(repo / 'shipspec.yaml'))}:(\d+):\d+: error: "
                    + re.escape(needed.split("\n", maxsplit=1)[0]), generated.err)
    assert int(re.match(r"[^:]*:(\d+)", generated.err)[1]) > where, generated.err


def test_a_source_off_github_is_said_to_start_no_run(repo: Path, cli) -> None:
    """The Triggers take GitHub's webhooks only (the github interceptor, repository.full_name):
    a module of a repository elsewhere renders, but no push there starts its run. validate
    warns, generate says so beside its output; runs started by hand work as for any."""
    text = (EXAMPLES / "gointern-backend" / "shipspec.yaml").read_text()
    assert text.count("https://github.com/goyoai/gointern-backend.git") == 1
    (repo / "shipspec.yaml").write_text(text.replace(
        "https://github.com/goyoai/gointern-backend.git", "https://gitlab.com/goyoai/backend.git"))
    said = ("https://gitlab.com/goyoai/backend.git is not on GitHub, whose webhooks alone "
            "start the Triggers' runs: no push there builds system, portal, aify\n    hint: start a "
            "run by hand, shipspec generate --run <commit> | kubectl create -f -; on a GitHub "
            "Enterprise Server, set source.provider: github-enterprise\n")
    checked = cli("validate", str(repo))
    assert checked.code == 0 and checked.out.endswith(f"  warning: {said}"), checked.out
    generated = cli("generate", str(repo))
    assert (generated.code, generated.err) == (0, f"note: {said}")
    assert "kind: Trigger\n" in generated.out
    started = cli("generate", str(repo), "--module", "portal", "--run", "ab" * 20)
    assert started.code == 0 and "kind: PipelineRun" in started.out and started.err == ""


# --- names: the listing `validate` checks is what the renderer makes ----------------------


GHES_SOURCE = ("  url: https://ghe.corp.example/goyoai/gointern-backend.git\n"
               "  provider: github-enterprise\n")


def _seed_a_reporting(directory: Path, source: str,
                      notify: bool = False) -> list[dict[str, Any]]:
    """Seed A's Tekton CI reporting commit statuses, its source repository as `source` says
    (the lines after `source:` up to its webhookSecret); `notify`: to a chat webhook too."""
    text = (EXAMPLES / "gointern-backend" / "shipspec.yaml").read_text()
    github = "  url: https://github.com/goyoai/gointern-backend.git\n"
    assert github in text
    text = text.replace(github, f"{source}  statusSecret: github-status\n", 1)
    if notify:
        text = text.replace("  images:\n", "  notifySecret: chat-webhook\n  images:\n", 1)
    (directory / "shipspec.yaml").write_text(text)
    return render(directory)


def _go_minutes(duration: str) -> float:
    """A Go duration (time.ParseDuration) of hours, minutes and seconds, in minutes."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, duration
    hours, minutes, seconds = (int(part or 0) for part in parts.groups())
    return hours * 60 + minutes + seconds / 60


def _what_tekton_does_with_a_run_that_never_ends(
        run: dict[str, Any], default_minutes: int) -> tuple[float, float]:
    """When Tekton v1.15.0 stops the build of a run whose build never ends, and when it
    stops the run, in minutes from its start; the run's `finally` report runs between the
    two, and not at all when they are the same. The admission webhook defaults
    timeouts.pipeline to config-defaults' default-timeout-minutes (tektoncd/pipeline
    pkg/apis/pipeline/v1/pipelinerun_defaults.go, SetDefaults) and refuses a finally timeout
    longer than it (pipelinerun_validation.go, validatePipelineTimeout); the tasks' timeout
    is timeouts.tasks, else pipeline less finally when both are set, else none
    (pipelinerun_types.go, TasksTimeout). Each TaskRun of the tasks gets that timeout when
    it exceeds the default, else the default (pkg/reconciler/pipelinerun/pipelinerun.go,
    pipelineRunTimeout; taskrun_defaults.go). When the tasks' timeout passes, the
    reconciler cancels them and starts the `finally` tasks; when the run's own passes, it
    cancels everything, `finally` tasks included (pipelinerun.go, reconcile; timeout.go,
    timeoutPipelineRun)."""
    timeouts = run["spec"].get("timeouts", {})
    pipeline = _go_minutes(timeouts["pipeline"]) if "pipeline" in timeouts else default_minutes
    final = _go_minutes(timeouts["finally"]) if "finally" in timeouts else None
    assert final is None or pipeline == 0 or final <= pipeline, "refused at admission"
    tasks: float | None = None
    if "tasks" in timeouts:
        tasks = _go_minutes(timeouts["tasks"])
    elif final is not None and pipeline and final:
        tasks = pipeline - final
    task_run = tasks if tasks is not None and tasks > default_minutes else default_minutes
    return min(t for t in (tasks, task_run, pipeline) if t), pipeline


@pytest.mark.parametrize("default_minutes", [60, 180])
def test_a_build_that_times_out_is_still_reported(repo: Path, cli,
                                                   default_minutes: int) -> None:
    """A run that reports (commit statuses, chat) leaves its `finally` report minutes of
    its own: with the run's timeout alone (Tekton's default, 60 minutes, or the cluster's),
    a build that never ends had the report cancelled with it, and the one build a team most
    needs to hear of was never reported. The build gets the cluster's timeout less five
    minutes; runs that report nothing keep Tekton's defaults as they are."""
    objects = _seed_a_reporting(repo, "  url: https://github.com/goyoai/gointern-backend.git\n",
                                notify=True)
    started = cli("generate", str(repo), "--module", "portal", "--run", "ab" * 20)
    assert started.code == 0, started.err
    runs = [template["spec"]["resourcetemplates"][0]
            for template in by_kind(objects, "TriggerTemplate")]
    builds = [run for run in runs if run["spec"]["pipelineRef"]["name"] == "gointern-backend"]
    assert len(builds) == 2  # a push's and a pull request's
    for run in [*builds, *yaml.safe_load_all(started.out)]:
        assert not list(_crd_validator("PipelineRun").iter_errors(run))
        assert _what_tekton_does_with_a_run_that_never_ends(run, default_minutes) == (
            default_minutes - 5, default_minutes)
    cleanup = next(run for run in runs if run not in builds)
    assert "timeouts" not in cleanup["spec"]  # no `finally`
    quiet = [template["spec"]["resourcetemplates"][0]
             for template in by_kind(objects_of("gointern-backend"), "TriggerTemplate")]
    assert all("timeouts" not in run["spec"] for run in quiet)


@pytest.mark.parametrize("reporting", [True, False])
def test_ci_timeout_minutes_is_the_runs_timeout(repo: Path, cli, reporting: bool) -> None:
    """ci.timeoutMinutes is how long the build may take, in place of the cluster's
    default, for the run and for the build's TaskRun (which otherwise gets the default,
    whatever the run's timeout); a run that reports keeps five minutes of it for the
    report."""
    text = (EXAMPLES / "gointern-backend" / "shipspec.yaml").read_text()
    text = text.replace("  images:\n", "  timeoutMinutes: 120\n  images:\n", 1)
    if reporting:
        text = text.replace("  images:\n", "  notifySecret: chat-webhook\n  images:\n", 1)
    (repo / "shipspec.yaml").write_text(text)
    started = cli("generate", str(repo), "--module", "portal", "--run", "ab" * 20)
    assert started.code == 0, started.err
    runs = [template["spec"]["resourcetemplates"][0]
            for template in by_kind(render(repo), "TriggerTemplate")
            if template["spec"]["resourcetemplates"][0]["spec"]["pipelineRef"]["name"]
            == "gointern-backend"]
    for run in [*runs, *yaml.safe_load_all(started.out)]:
        assert not list(_crd_validator("PipelineRun").iter_errors(run))
        assert _what_tekton_does_with_a_run_that_never_ends(run, 60) == (
            115 if reporting else 120, 120)


def test_a_github_enterprise_servers_webhooks_start_runs(repo: Path, cli) -> None:
    """With source.provider github-enterprise, the Server's webhooks (GitHub's, its
    repository.full_name owner/name) start the runs of the repositories on its host."""
    objects = _seed_a_reporting(repo, GHES_SOURCE)
    chosen = {name for name, cel in _filters(objects).items()
              if name.endswith("-push") and _evaluate(cel, _payload("push"), "push")}
    assert chosen == {"gointern-backend-portal-dev-push"}
    generated = cli("generate", str(repo))
    assert (generated.code, generated.err) == (0, "")


@pytest.mark.parametrize(("source", "expected"), [
    ("  url: https://github.com/goyoai/gointern-backend.git\n  provider: github-enterprise\n",
     ":14:13: error: source.provider: a GitHub Enterprise Server serves source.url on its own "
     "host, and https://github.com/goyoai/gointern-backend.git has none but github.com\n"
     "  hint: provider: github for github.com\n"),
    ("  url: https://ghe.corp.example/goyoai/gointern-backend.git\n"
     "  api: https://ghe.corp.example/api/v3\n",
     ":14:3: error: source.api: the API of a GitHub Enterprise Server, and source.provider "
     "does not say it is one\n  hint: set provider: github-enterprise, or leave api out "
     "(github.com's is known)\n"),
    (GHES_SOURCE + "  api: http://ghe.corp.example/api/v3\n",
     ":15:8: error: source.api: the API is reached over plain HTTP, which would send the "
     "token in clear text\n  hint: use an https:// URL\n"),
], ids=["github.com", "api without the provider", "plain http"])
def test_a_github_enterprise_server_that_cannot_be_is_refused(repo: Path, cli, source: str,
                                                              expected: str) -> None:
    text = (EXAMPLES / "gointern-backend" / "shipspec.yaml").read_text()
    (repo / "shipspec.yaml").write_text(text.replace(
        "  url: https://github.com/goyoai/gointern-backend.git\n", source, 1))
    result = cli("validate", str(repo))
    assert (result.code, result.out) == (1, "")
    assert result.err == f"{repo / 'shipspec.yaml'}{expected}"

# The curl and jq of the report step: curl writes what it was asked, the headers and the
# configuration it read from files included, to /log/curl; jq prints a body.
_FAKE_CURL = """#!/bin/sh
previous=
for argument in "$@"; do
  printf '%s\\n' "$argument" >> /log/curl
  case "$argument" in @-) ;; @*) cat "${argument#@}" >> /log/curl ;; esac
  if [ "$previous" = --config ]; then cat "$argument" >> /log/curl; fi
  previous=$argument
done
cat > /dev/null
"""
_FAKE_JQ = "#!/bin/sh\necho '{}'\n"


def _report(objects: list[dict[str, Any]], run: dict[str, Any], root: Path,
            secrets: dict[str, str] | None = None, status: str = "Succeeded"
            ) -> tuple[str, list[str]]:
    """Run the report step of the Pipeline's `finally` for `run`, a PipelineRun whose tasks
    ended as `status` says, as Tekton v1.15.0 fills its parameters ($(params.*) of the run,
    then the Task's, their defaults where the Pipeline gives none; $(tasks.status),
    $(context.pipelineRun.name)): its output, and what curl was asked. The step's script
    runs in the image under test, with curl and jq faked; each Secret's value is
    `secrets`' or `token-of-<its name>`."""
    from container import emptydir, podman, require_image

    def filled(text: str, params: dict[str, str]) -> str:
        text = text.replace("$(tasks.status)", status)
        text = text.replace("$(context.pipelineRun.name)", "run-1")
        return re.sub(r"\$\(params\.([a-z-]+)\)", lambda m: params[m.group(1)], text)

    run_params = {p["name"]: p["value"] for p in run["spec"]["params"]}
    [pipeline] = [o for o in by_kind(objects, "Pipeline")
                  if o["metadata"]["name"] == run["spec"]["pipelineRef"]["name"]]
    [report] = pipeline["spec"]["finally"]
    task = _task(objects, report["taskRef"]["name"])
    task_params = {**{p["name"]: p["default"] for p in task["spec"]["params"] if "default" in p},
                   **{p["name"]: filled(p["value"], run_params) for p in report["params"]}}
    [step] = task["spec"]["steps"]
    env = {e["name"]: filled(e["value"], task_params) if "value" in e
           else (secrets or {}).get(e["valueFrom"]["secretKeyRef"]["name"],
                                    f"token-of-{e['valueFrom']['secretKeyRef']['name']}")
           for e in step["env"]}
    tools, log = emptydir(root, "tools"), emptydir(root, "log")
    for name, script in (("curl", _FAKE_CURL), ("jq", _FAKE_JQ), ("report", step["script"])):
        (tools / name).write_text(script)
        (tools / name).chmod(0o755)
    result = podman("run", "--rm", "--network", "none", "--volume", f"{tools}:/tools:ro",
                    "--volume", f"{log}:/log", "--env", "PATH=/tools:/usr/bin:/bin",
                    *(f"--env={name}={value}" for name, value in env.items()),
                    "--entrypoint", "/tools/report", require_image())
    asked = log / "curl"
    return result.stdout, asked.read_text().splitlines() if asked.exists() else []


@pytest.mark.parametrize(("source", "api"), [
    ("  url: https://github.com/goyoai/gointern-backend.git\n", "https://api.github.com"),
    (GHES_SOURCE, "https://ghe.corp.example/api/v3"),
    (GHES_SOURCE + "  api: https://ghe.corp.example/rest/\n", "https://ghe.corp.example/rest"),
    ("  url: https://gitlab.com/goyoai/gointern-backend.git\n", None),
], ids=["github.com", "enterprise server", "its api named", "elsewhere"])
def test_a_commit_status_goes_to_the_api_of_the_github_hosting_the_repository(
        repo: Path, source: str, api: str | None) -> None:
    """The status token goes to the API of the repository's GitHub, and nowhere else: a
    repository elsewhere gets no status (its token went to api.github.com)."""
    sha = "0123456789abcdef0123456789abcdef01234567"
    objects = _seed_a_reporting(repo, source)
    spec = load_spec(str(repo))
    [run] = [r.document for r in tekton.runs_by_hand(spec, RenderOptions(modules=("portal",)),
                                                     sha)]
    said, asked = _report(objects, run, repo / "report")
    if api is None:
        assert asked == []
        assert said == ("no commit status: https://gitlab.com/goyoai/gointern-backend.git is "
                        "not on github.com (see source.provider)\n")
        return
    assert asked[-1] == f"{api}/repos/goyoai/gointern-backend/statuses/{sha}"
    assert "Authorization: Bearer token-of-github-status" in asked
    assert said == f"reported success to goyoai/gointern-backend@{sha}\n"

@pytest.mark.parametrize("fault", ["502", "stall"])
def test_the_report_asks_again_when_an_api_fails_once(repo: Path, fault: str) -> None:
    """A `finally` task that fails fails its PipelineRun (Tekton v1.15.0,
    pkg/reconciler/pipelinerun/resources/pipelinerunstate.go: getPipelineTasksCount counts
    it among the failed, and GetPipelineConditionStatus fails the run on any): one 502 of
    GitHub's API turned a run whose builds succeeded red,
    and left its commit without a status. The report's curl asks again after a transient
    failure (--retry: 408, 429, 5xx and time-outs; --retry-connrefused), the chat webhook's
    too. A call that stalls is cut off after REPORT_CALL_SECONDS (lowered to 1 s here
    against the server's 4 s of silence): it held the step until the `finally` timeout,
    which failed the run as well. The step's script with the real curl and jq, against a
    server failing once each."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from shipspec.render.tekton_tasks import REPORT_CALL_SECONDS

    seen: list[str] = []

    class Flaky(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            first = self.path not in seen
            seen.append(self.path)
            if first and fault == "stall":
                time.sleep(4)  # then answers, to a client that has given up
            with contextlib.suppress(OSError):
                self.send_response(502 if first and fault == "502" else 201)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

    objects = _seed_a_reporting(repo, "  url: https://github.com/goyoai/gointern-backend.git\n",
                                notify=True)
    [step] = _task(objects, "gointern-backend-report")["spec"]["steps"]
    limit = f"--max-time {REPORT_CALL_SECONDS} "
    assert step["script"].count(limit) == 2  # each call
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    sha = "0123456789abcdef0123456789abcdef01234567"
    try:
        result = subprocess.run(
            ["sh", "-c", step["script"].replace(limit, "--max-time 1 ")],
            capture_output=True, text=True, check=False,
            env={"PATH": "/usr/bin:/bin", "STATUS": "Succeeded", "MODULE": "portal",
                 "REVISION": sha, "REPOSITORY": "goyoai/gointern-backend", "RUN": "run-1",
                 "GITHUB_API": base, "GITHUB_TOKEN": "status-token",
                 "NOTIFY_URL": f"{base}/hook\n", "NOTIFY_ON": "any"})  # the param's default
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"reported success to goyoai/gointern-backend@{sha}\nnotified\n"
    assert seen == [f"/repos/goyoai/gointern-backend/statuses/{sha}"] * 2 + ["/hook"] * 2


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
@pytest.mark.parametrize("reporting", [False, True])
def test_name_listing_is_exactly_what_renders(example: str, reporting: bool,
                                              tmp_path: Path) -> None:
    from shipspec.render.tekton_names import object_names

    directory = tmp_path / example
    shutil.copytree(EXAMPLES / example, directory)
    (directory / ".git").mkdir()
    if reporting:
        spec_file = directory / "shipspec.yaml"
        text = spec_file.read_text()
        spec_file.write_text(text.replace("webhookSecret:", "statusSecret: status\n  "
                                          "webhookSecret:", 1))
    spec = load_spec(str(directory))
    assert tekton.reports(spec) == reporting
    rendered = sorted((o.document["kind"], o.document["metadata"]["name"])
                      for o in tekton.render(spec, RenderOptions()))
    assert spec.namespace
    listed = sorted((n.kind, n.name) for n in object_names(
        spec, spec.namespace, spec.enabled_modules, reporting))
    assert listed == rendered


@pytest.mark.parametrize(("url", "written"), [
    ("https://chat.example/hook?room=ci\n", 'url = "https://chat.example/hook?room=ci"'),
    ("https://chat.example/h\"o\\ok\r\n", 'url = "https://chat.example/h\\"o\\\\ok"'),
], ids=["newline of its file", "quote and backslash"])
def test_a_chat_webhook_url_reaches_curl_as_one_quoted_url(repo: Path, url: str,
                                                           written: str) -> None:
    """A Secret made from a file keeps the file's last newline: written into curl's
    configuration as it was, it ended the quoted URL, curl refused it ("URL using
    bad/illegal format", curl 7.88) and the report step, a `finally` task, failed the run."""
    sha = "0123456789abcdef0123456789abcdef01234567"
    objects = _seed_a_reporting(repo, "  url: https://github.com/goyoai/gointern-backend.git\n",
                                notify=True)
    [run] = [r.document for r in tekton.runs_by_hand(
        load_spec(str(repo)), RenderOptions(modules=("portal",)), sha)]
    said, asked = _report(objects, run, repo / "report", {"chat-webhook": url})
    assert written in asked
    assert said.endswith("notified\n")


# kubectl for the cleanup's prune step: the PipelineRuns in the JSON file $RUNS, listed by
# equality selectors in name order as the API server lists them (`get pipelineruns -l
# SELECTOR -o json`), and deleted by name (`delete [--wait=false] pipelinerun NAME...`). A
# run with finalizers stays, marked with a deletionTimestamp, until they are removed; and
# kubectl, unless told not to wait, waits for that (here: it fails, as it does once its
# timeout runs out).
_FAKE_KUBECTL = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["RUNS"]) as state:
    runs = sorted(json.load(state), key=lambda run: run["metadata"]["name"])
verb, *rest = sys.argv[1:]
wait = "--wait=false" not in rest
kind, *names = [word for word in rest if word != "--wait=false"]
if verb == "get":
    wanted = dict(pair.split("=", 1) for pair in names[names.index("-l") + 1].split(","))
    items = [r for r in runs if wanted.items() <= r["metadata"]["labels"].items()]
    print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    sys.exit(0)
deleted = [r for r in runs if r["metadata"]["name"] in names]
for run in deleted:
    run["metadata"]["deletionTimestamp"] = "2026-12-05T09:00:00Z"
with open(os.environ["RUNS"], "w") as state:
    json.dump([r for r in runs if r not in deleted or r["metadata"].get("finalizers")], state)
if wait and any(run["metadata"].get("finalizers") for run in deleted):
    sys.exit("error: timed out waiting for the condition on pipelineruns")
"""


def test_the_cleanup_prunes_only_finished_runs_and_its_own_runs_too(tmp_path: Path) -> None:
    """The cleanup keeps each module's newest `ci.keepRuns` finished runs, and as many of
    its own. It deleted the oldest runs whatever their state, so a branch's build still
    deploying was stopped when enough newer runs (a pull request's pushes) came before a
    cleanup; and it never pruned the cleanup runs, one for every closed pull request. The
    prune step runs in sh with the real jq, its parameters filled as Tekton fills them,
    over runs labelled as the TriggerTemplates label them, and the cleanup runs of each
    module that the cleanup Trigger of each module started before (their label's value the
    module's name)."""
    objects = objects_of("gointern-backend")
    templates = {t["metadata"]["name"].removeprefix("gointern-backend-"):
                 t["spec"]["resourcetemplates"][0]
                 for t in by_kind(objects, "TriggerTemplate")}

    def run(name: str, event: str, minute: int, succeeded: str | None,
            module: str = "portal", project: str = "gointern-backend") -> dict[str, Any]:
        labels = {key: value.replace("$(tt.params.module)", module).replace(
                      "gointern-backend", project)
                  for key, value in templates[event]["metadata"]["labels"].items()}
        return {"metadata": {"name": name, "labels": labels,
                             "creationTimestamp": f"2026-12-05T08:{minute:02d}:00Z"},
                "status": {} if succeeded is None else {
                    "conditions": [{"type": "Succeeded", "status": succeeded}]}}

    # Tekton Results' watcher holds its finalizer on runs until it has stored them: p7, one
    # an earlier cleanup deleted, and p6, which this one deletes
    held, stored_later = run("p7", "push", 0, "True"), run("p6", "push", 0, "True")
    for waiting in (held, stored_later):
        waiting["metadata"]["finalizers"] = ["results.tekton.dev/pipelinerun"]
    held["metadata"]["deletionTimestamp"] = "2026-12-05T07:00:00Z"
    a_modules_cleanup = run("c4", "cleanup", 0, "True")
    a_modules_cleanup["metadata"]["labels"]["shipspec.dev/cleanup-of"] = "portal"
    runs = [held, stored_later, run("p5", "push", 1, "Unknown"),  # still deploying
            run("p4", "pull-request", 2, "False"), run("p3", "push", 3, "True"),
            run("p2", "pull-request", 4, "True"), run("p1", "push", 5, None),  # not started yet
            run("s2", "push", 0, "True", module="system"),
            run("s1", "push", 1, "True", module="system"),
            run("o1", "push", 0, "True", project="other"), a_modules_cleanup,
            run("c3", "cleanup", 1, "True"), run("c2", "cleanup", 2, "False"),
            run("c1", "cleanup", 3, "True"), run("c0", "cleanup", 4, "Unknown")]  # this one
    state = tmp_path / "runs.json"
    state.write_text(json.dumps(runs))
    (tmp_path / "kubectl").write_text(_FAKE_KUBECTL)
    (tmp_path / "kubectl").chmod(0o755)
    [step] = _task(objects, "gointern-backend-cleanup")["spec"]["steps"]
    params = {"keep-runs": "2"}
    env = {e["name"]: re.sub(r"\$\(params\.([a-z-]+)\)", lambda m: params[m.group(1)],
                             e["value"]) for e in step["env"]}
    result = subprocess.run(["sh", "-c", step["script"]], capture_output=True, text=True,
                            env={**env, "HOME": str(tmp_path), "RUNS": str(state),
                                 "PATH": f"{tmp_path}:/usr/bin:/bin"}, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("kept the newest 2 of 4 finished runs of portal\n"
                             "kept the newest 2 of 2 finished runs of system\n"
                             "kept the newest 2 of 4 finished runs of the cleanup\n")
    left = {r["metadata"]["name"] for r in json.loads(state.read_text())}
    assert left == {"p7", "p6", "p5", "p3", "p2", "p1", "s2", "s1", "o1", "c2", "c1", "c0"}
    assert [r["metadata"].get("deletionTimestamp") is not None
            for r in json.loads(state.read_text()) if r["metadata"]["name"] in ("p6", "p7")
            ] == [True, True]


# --- Pod Security ---------------------------------------------------------------------------
# Pod Security admission's checks (kubernetes staging/src/k8s.io/pod-security-admission/
# policy/check_*.go), for the fields our pods use: privileged, capabilities (baseline and
# restricted), allowPrivilegeEscalation, runAsNonRoot, runAsUser, seccompProfile, volumes.
_BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
                          "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP",
                          "SETUID", "SYS_CHROOT"}
_RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                       "persistentVolumeClaim", "projected", "secret"}


def _tekton_pod(task: dict[str, Any], run: dict[str, Any],
                set_security_context: bool) -> dict[str, Any]:
    """The pod Tekton v1.15.0 makes for a TaskRun of `task` in `run` (pkg/pod/pod.go): the
    steps as containers; init containers `prepare` and, for script steps, `place-scripts`,
    which get a restricted securityContext only with the feature flag set-security-context
    (pkg/pod/security_context_config.go, default false); emptyDir implicit volumes; the
    podTemplate's securityContext; the Task's volumes and the run's workspace bindings."""
    own = {"restricted": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                          "capabilities": {"drop": ["ALL"]},
                          "seccompProfile": {"type": "RuntimeDefault"}}}
    init = [{"name": "prepare"}, *([{"name": "place-scripts"}] if any(
        "script" in step for step in task["spec"]["steps"]) else [])]
    if set_security_context:
        for container in init:
            container["securityContext"] = own["restricted"]
    template = run["spec"]["taskRunTemplate"].get("podTemplate", {})
    volumes = [{"name": f"tekton-internal-{n}", "emptyDir": {}}
               for n in ("workspace", "home", "results", "steps", "scripts", "bin")]
    volumes += task["spec"].get("volumes", [])
    volumes += [{k: v for k, v in b.items()} for b in run["spec"].get("workspaces", [])]
    return {"securityContext": template.get("securityContext", {}), "initContainers": init,
            "containers": [{"name": f"step-{s['name']}",
                            "securityContext": s.get("securityContext", {})}
                           for s in task["spec"]["steps"]],
            "volumes": volumes}


def _pod_security_violations(pod: dict[str, Any], level: str) -> list[str]:
    found: list[str] = []
    pod_context = pod["securityContext"]
    for container in [*pod["initContainers"], *pod["containers"]]:
        context = container.get("securityContext", {})
        name = container["name"]
        capabilities = context.get("capabilities", {})
        added = set(capabilities.get("add", []))
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        if added - _BASELINE_CAPABILITIES:
            found.append(f"{name}: adds {sorted(added - _BASELINE_CAPABILITIES)}")
        if seccomp.get("type") == "Unconfined":
            found.append(f"{name}: seccomp Unconfined")
        if level == "baseline":
            continue
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation not false")
        if "ALL" not in capabilities.get("drop", []) or added - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: capabilities not dropped to NET_BIND_SERVICE at most")
        if context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is not True:
            found.append(f"{name}: runAsNonRoot not true")
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            found.append(f"{name}: runAsUser 0")
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: no seccomp profile")
    for volume in pod["volumes"]:
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds or (level == "restricted" and kinds - _RESTRICTED_VOLUMES):
            found.append(f"volume {volume['name']}: {sorted(kinds)}")
    return found


def _task(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [task] = [t for t in by_kind(objects, "Task") if t["metadata"]["name"] == name]
    return task


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_every_step_has_a_security_context(example: str) -> None:
    for task in by_kind(objects_of(example), "Task"):
        for step in task["spec"]["steps"]:
            assert step.get("securityContext"), (task["metadata"]["name"], step["name"])


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_every_pod_is_admitted_in_a_baseline_namespace(example: str) -> None:
    objects = objects_of(example)
    project = objects[0]["metadata"]["labels"]["app.kubernetes.io/part-of"]
    runs = {event: _run_of(objects, f"{project}-{event}")
            for event in ("push", "pull-request", "cleanup")}
    tasks_of = {"push": ("tag", "build", "deploy"), "pull-request": ("tag", "build"),
                "cleanup": ("cleanup",)}
    for event, task_names in tasks_of.items():
        for task_name in task_names:
            pod = _tekton_pod(_task(objects, f"{project}-{task_name}"), runs[event], False)
            assert _pod_security_violations(pod, "baseline") == [], (event, task_name)


def test_which_pods_could_be_restricted_and_why_the_rest_cannot() -> None:
    """With Tekton's set-security-context flag, the shipspec steps and the cleanup (on no
    claim) meet `restricted`; the build (kaniko as root, root on the claims) cannot."""
    objects = objects_of("gointern-backend")
    push = _run_of(objects, "gointern-backend-push")
    for name in ("tag", "deploy"):
        pod = _tekton_pod(_task(objects, f"gointern-backend-{name}"), push, True)
        assert _pod_security_violations(pod, "restricted") == [], name
    cleanup = _tekton_pod(_task(objects, "gointern-backend-cleanup"),
                          _run_of(objects, "gointern-backend-cleanup"), True)
    assert _pod_security_violations(cleanup, "restricted") == []
    build = _tekton_pod(_task(objects, "gointern-backend-build"), push, True)
    assert {v.split(":")[0] for v in _pod_security_violations(build, "restricted")} == {
        "step-remove-stale-runs", "step-fetch", "step-check-cache-status", "step-prebuild",
        "step-build-image", "step-post-build-analysis"}
    without_flag = _tekton_pod(_task(objects, "gointern-backend-tag"), push, False)
    assert "prepare: allowPrivilegeEscalation not false" in _pod_security_violations(
        without_flag, "restricted")


def test_untrusted_code_runs_without_privilege_escalation_or_extra_capabilities() -> None:
    build = _task(objects_of("gointern-backend"), "gointern-backend-build")
    [prebuild] = [s for s in build["spec"]["steps"] if s["name"] == "prebuild"]
    context = prebuild["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"],
                                       "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"]}
    assert "privileged" not in context


def test_buildah_needs_a_privileged_namespace(example_copy) -> None:
    directory = example_copy("gointern-backend")
    spec_file = directory / "shipspec.yaml"
    text = spec_file.read_text().replace("builder: kaniko      # seed A's builder",
                                         "builder: buildah")
    digest = "quay.io/buildah/stable:v1@sha256:" + "1" * 64
    spec_file.write_text(text.replace("  images:\n", f"  images:\n    buildah: {digest}\n"))
    objects = render(directory)
    pod = _tekton_pod(_task(objects, "gointern-backend-build"),
                      _run_of(objects, "gointern-backend-push"), False)
    assert _pod_security_violations(pod, "baseline") == ["step-build-image: privileged"]


def _chains_images(results: dict[str, str]) -> set[str]:
    """The images Tekton Chains signs and attests for a run with these results: each pair of
    results named <prefix>IMAGE_URL and <prefix>IMAGE_DIGEST whose values, trimmed, are both
    set, as url@digest (tektoncd/chains v0.29.0-18-ge44b60fe6, pkg/artifacts/structured.go
    `extract`, pkg/artifacts/signable.go ExtractOCIImagesFromResults)."""
    pairs: dict[str, dict[str, str]] = {}
    for name, value in results.items():
        for suffix in ("IMAGE_URL", "IMAGE_DIGEST"):
            if name.endswith(suffix) and value.strip():
                pairs.setdefault(name.removesuffix(suffix), {})[suffix] = value.strip()
    return {f"{pair['IMAGE_URL']}@{pair['IMAGE_DIGEST']}" for pair in pairs.values()
            if len(pair) == 2}


_FAKE_BUILDAH = """#!/bin/sh
# the two calls of the build step: bud, and push --digestfile FILE, which writes the digest
[ "$2" = push ] && [ "$3" = --digestfile ] && printf 'sha256:%s' "$DIGEST" > "$4"
exit 0
"""


@pytest.mark.parametrize(("builder", "event"), [("buildah", "push"), ("buildah", "pull-request"),
                                                ("kaniko", "push"), ("kaniko", "pull-request")])
def test_tekton_chains_signs_the_pushed_image_and_nothing_else(
        example_copy, tmp_path: Path, builder: str, event: str) -> None:
    """The build Task's results, written by its steps (kaniko, which cannot run here, writes
    its --digest-file even with --no-push), name the image for Tekton Chains; a pull
    request's image, built but never pushed, must not be named: Chains would try to sign
    it in the registry."""
    directory = example_copy("gointern-backend")
    spec_file = directory / "shipspec.yaml"
    if builder == "buildah":
        text = spec_file.read_text().replace("builder: kaniko      # seed A's builder",
                                             "builder: buildah")
        spec_file.write_text(text.replace(
            "  images:\n", "  images:\n    buildah: quay.io/buildah/stable:v1@sha256:"
            + "1" * 64 + "\n"))
    objects = render(directory)
    task = _task(objects, "gointern-backend-build")
    params = {p["name"]: p["value"] for p in
              _run_of(objects, f"gointern-backend-{event}")["spec"]["params"]}
    params.update({"image-tag": "portal-dev-0123abcd", "image": "ghcr.io/goyoai/portal"})
    results = tmp_path / "results"
    results.mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / ".started").write_text("0")
    (tmp_path / "cache").mkdir()
    (tmp_path / "buildah").write_text(_FAKE_BUILDAH)
    (tmp_path / "buildah").chmod(0o755)

    def substituted(text: str) -> str:  # as Tekton does (pkg/reconciler/taskrun/resources)
        text = re.sub(r"\$\(results\.([A-Za-z_-]+)\.path\)",
                      lambda m: str(results / m.group(1)), text)
        return re.sub(r"\$\(params\.([a-z-]+)\)", lambda m: params[m.group(1)], text)

    steps = {step["name"]: step for step in task["spec"]["steps"]}
    if builder == "kaniko":
        digest_file = [a for a in steps["build-image"]["args"] if a.startswith("--digest-file=")]
        assert digest_file == ["--digest-file=$(results.IMAGE_DIGEST.path)"]
        (results / "IMAGE_DIGEST").write_text("sha256:" + "7" * 64)
    for name in ([] if builder == "kaniko" else ["build-image"]) + ["post-build-analysis"]:
        script = steps[name]["script"].replace("/work/", f"{tmp_path}/work/")
        script = substituted(script.replace("/cache", f"{tmp_path}/cache"))
        env = {e["name"]: substituted(e["value"]) for e in steps[name]["env"]
               if "value" in e}
        result = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                                check=False,
                                env={**env, "PATH": f"{tmp_path}:/usr/bin:/bin",
                                     "DIGEST": "7" * 64})
        assert result.returncode == 0, result.stderr
    written = {path.name: path.read_text() for path in results.iterdir()}
    assert set(written) <= {r["name"] for r in task["spec"]["results"]}
    pushed = f"ghcr.io/goyoai/portal:portal-dev-0123abcd@sha256:{'7' * 64}"
    assert _chains_images(written) == ({pushed} if event == "push" else set())
    # the PipelineRun's results name it too, for Chains' provenance of the whole run
    [pipeline] = [p for p in by_kind(objects, "Pipeline")
                  if p["metadata"]["name"] == "gointern-backend"]
    pipeline_results = {r["value"]: r["name"] for r in pipeline["spec"]["results"]}
    assert _chains_images({pipeline_results[f"$(tasks.build.results.{name})"]: written[name]
                           for name in ("IMAGE_URL", "IMAGE_DIGEST")}) == \
        _chains_images(written)


def test_kaniko_asks_a_registry_again_as_buildah_does(example_copy) -> None:
    """kaniko pushes and downloads a base image once unless told otherwise (`--push-retry`
    and `--image-download-retry` default to 0: osscontainertools/kaniko v1.28.3,
    cmd/executor/cmd/root.go; pkg/util/util.go Retry waits 1, 2, 4 s), so one 5xx of a
    registry failed a build that had run to its end. buildah retries three times by
    default (`--retry`)."""
    objects = render(example_copy("gointern-backend"))
    step = next(s for s in _task(objects, "gointern-backend-build")["spec"]["steps"]
                if s["name"] == "build-image")
    assert step["command"] == ["/kaniko/executor"]
    assert {"--push-retry=3", "--image-download-retry=3"} <= set(step["args"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_cel_string_literals_read_back_as_exactly_their_text(text: str) -> None:
    """CEL forbids raw control characters in a literal (a path with a carriage return broke
    the filter); cel-python, a real CEL implementation, must read the literal back exactly."""
    from shipspec.render.tekton_triggers import cel_string

    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        return  # no YAML or JSON carries a lone surrogate into a spec
    environment = celpy.Environment()
    assert environment.program(environment.compile(cel_string(text))).evaluate({}) == text


def _spec_with_paths(directory: Path, paths: list[str], deploy: tuple[str, ...] = ()) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / ".git").mkdir(exist_ok=True)
    (directory / "shipspec.yaml").write_text(ONE_REPOSITORY.replace(
        "  web: {paths: [web/, deploy/], values: apps.web}",
        "  web:\n    values: apps.web\n    paths:\n"
        + "".join(f"    - {json.dumps(path, ensure_ascii=False)}\n"
                  for path in [*paths, *deploy])))
    return directory


@pytest.mark.parametrize(("paths", "refused"), [(1245, False), (1246, True)])
def test_a_push_filter_longer_than_cel_go_parses_is_refused(tmp_path: Path, cli,
                                                             paths: int, refused: bool) -> None:
    """Tekton Triggers' cel interceptor parses a filter with cel-go's defaults, which refuse
    an expression of more than 100,000 code points (tekton_triggers.CEL_CODE_POINTS): the
    Trigger was applied, and every push failed its filter and built nothing. A module of
    1,246 paths and its Dockerfile (80 characters of filter each) is refused where its
    paths are, as a Tekton name too long is; one of 1,245 renders."""
    spec = _spec_with_paths(tmp_path, [f"services/component-{n:05d}/" for n in range(paths)])
    generated = cli("generate", str(spec))
    validated = cli("validate", str(spec))
    if refused:
        for result in (generated, validated):
            assert (result.code, result.out) == (1, "")
            assert re.search(r"shipspec.yaml:13:5: error: modules.web.paths: the CEL filter "
                             r"of its Triggers would be 100,025 characters long \(1,247 "
                             r"paths\): Tekton Triggers parses at most 100,000 \(cel-go's "
                             r"limit\), so every push would fail the filter and build "
                             r"nothing\n  hint: name fewer paths", result.err), result.err
        return
    assert (generated.code, validated.code) == (0, 0), generated.err + validated.err
    longest = max(map(len, _filters(list(yaml.safe_load_all(generated.out))).values()))
    assert longest == 99_945


def test_more_paths_than_any_filter_holds_are_refused_before_any_path_is_checked(
        tmp_path: Path, cli) -> None:
    """Each path adds at least 34 characters to its module's push filter (one of one
    character: `f == 'a' || f.startsWith('a/')` and ` || `), so a module of more than
    100,000 / 34 paths is refused by their count on the parsed document, before any path is
    checked (all of these are absolute: not one is reported). One path fewer, the filter is
    measured and refused as too long. The GitHub Actions engine writes no filter: the same
    paths are valid there."""
    assert tekton_triggers.MAX_FILTER_PATHS == 2_941
    counted = _spec_with_paths(tmp_path / "counted", ["/a"] * 2_942)
    result = cli("validate", str(counted))
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"{counted / 'shipspec.yaml'}:13:5: error: modules.web.paths: 2,942 paths: the CEL "
        "filter of the module's Triggers holds at most 2,941 (Tekton Triggers parses at most "
        "100,000 characters, cel-go's limit, and each path adds at least 34)\n"
        "  hint: name fewer paths (a directory covers every file below it)\n")
    measured = cli("validate", str(_spec_with_paths(tmp_path / "measured", ["a"] * 2_941)))
    assert (measured.code, measured.out) == (1, "")
    assert re.search(r"error: modules.web.paths: the CEL filter of its Triggers would be "
                     r"[0-9,]+ characters long \(2,942 paths\)", measured.err), measured.err
    hosted = _spec_with_paths(tmp_path / "hosted", ["a"] * 2_942)
    spec_file = hosted / "shipspec.yaml"
    spec_file.write_text(spec_file.read_text().replace("ci: {images:",
                                                       "ci: {engine: github-actions, images:"))
    assert cli("validate", str(hosted)).code == 0


@pytest.mark.parametrize(("repositories", "refused"), [(1072, False), (1073, True)])
def test_a_cleanup_filter_longer_than_cel_go_parses_is_refused(
        tmp_path: Path, cli, repositories: int, refused: bool) -> None:
    """The project's one cleanup Trigger names every repository of its modules in its
    filter: modules each in a repository of its own, of a name of 90 characters, make it
    longer than cel-go parses from 1,073 of them, and no run would ever be pruned. Such a
    spec is refused at `modules`; one of fewer repositories renders."""
    spec = _mono_spec(tmp_path / "spec", 0)
    (spec / "shipspec.yaml").write_text((spec / "shipspec.yaml").read_text() + "".join(
        f"  s{n:04d}: {{repo: 'https://github.com/o/{'r' * 85}{n:05d}.git', "
        f"dockerfile: Dockerfile, values: apps.s{n:04d}}}\n" for n in range(repositories)))
    result = cli("validate", str(spec))
    if refused:
        assert (result.code, result.out) == (1, ""), result.out
        assert re.search(r"shipspec.yaml:11:1: error: modules: the modules come from 1,073 "
                         r"repositories: the CEL filter of the cleanup Trigger, which names "
                         r"them all, would be 100,047 characters long, and Tekton "
                         r"Triggers parses at most 100,000 \(cel-go's limit\), so no run "
                         r"would ever be pruned\n  hint: split the modules into specs of "
                         r"their own", result.err), result.err
        return
    assert result.code == 0, result.err
    [cleanup] = [cel for name, cel in _filters(render(spec)).items()
                 if name == "mono-cleanup"]
    assert len(cleanup) == 99_954


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(whitelist_categories=("L", "N"),
                                      whitelist_characters="-_.'@+,!#"),
                        min_size=1, max_size=30).map(lambda text: f"p{text}"),
                min_size=1, max_size=40, unique=True),
       st.integers(min_value=300, max_value=6000))
def test_the_filters_are_measured_wherever_one_may_pass_the_limit(
        tmp_path_factory: pytest.TempPathFactory, paths: list[str], limit: int) -> None:
    """overlong_filters measures a module's filters only where a bound says they may be too
    long; with the limit lowered, a module (whose paths leave out the deployment files
    below deploy/) is refused exactly when a filter is longer."""
    spec = load_spec(str(_spec_with_paths(tmp_path_factory.mktemp("spec"), paths,
                                          ("deploy/",))))
    [web] = [module for module in spec.modules if module.name == "web"]
    longest = max(len(cel) for deployment in web.deployments for cel in (
        tekton_triggers.push_filter(web, deployment),
        tekton_triggers.pull_request_filter(web, deployment, False)))
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(tekton_triggers, "CEL_CODE_POINTS", limit)
        refused = [path for path, _, _ in tekton_triggers.overlong_filters(spec)]
    assert (("modules", "web", "paths") in refused) == (longest > limit)


def test_a_module_that_deploys_nowhere_is_flagged_by_validate(repo: Path, cli) -> None:
    text = (EXAMPLES / "astrago" / "shipspec.yaml").read_text().replace(
        "modules: [core, batch, monitor, frontend]", "modules: [core, batch, monitor]"
    ).replace("engine: github-actions", "engine: tekton")
    start = text.index("  frontend:\n")
    module = text[start:].replace("    values: astrago.components.frontend\n",
                                  "    environments: []\n")
    (repo / "shipspec.yaml").write_text(text[:start] + module)
    checked = cli("validate", str(repo))
    assert checked.code == 0, checked.err
    assert checked.out.endswith(
        "  warning: modules.frontend: deploys to no environment, so no push ever builds it\n"
        "    hint: give it values (or a kustomize entry) for an environment, or set "
        "enabled: false\n")


def test_a_binding_value_from_a_github_actions_spec_is_checked_too(repo: Path, cli) -> None:
    """`generate --target tekton` renders any spec: a '$(' that Triggers would fill from the
    webhook event is refused whatever the spec's engine."""
    text = (EXAMPLES / "astrago" / "shipspec.yaml").read_text()
    (repo / "shipspec.yaml").write_text(text.replace(
        "    context: server-core\n", "    context: '$(body.head_commit.message)'\n"))
    for args in (["validate"], ["generate", "--target", "tekton"]):
        result = cli(*args, str(repo))
        assert (result.code, result.out) == (1, "")
        assert "modules.core.context: '$(body.head_commit.message)' holds '$('" in result.err


def _mono_spec(directory: Path, modules: int, comment: str = "") -> Path:
    """A Tekton spec of `modules` modules in one repository, two environments."""
    directory.mkdir()
    (directory / ".git").mkdir()
    (directory / "shipspec.yaml").write_text("\n".join([
        f"# {comment}", "project: mono", "namespace: ci",
        "ci: {images: {shipspec: 'registry.test/shipspec:1@sha256:" + "0" * 64 + "'}}",
        "source: {url: https://github.com/o/mono.git, webhookSecret: hook}",
        "registry: {url: ghcr.io/o, pushSecret: registry-push}",
        "deploy: {url: https://github.com/o/deploy.git, credentialsSecret: deploy-token}",
        "environments:",
        "  stage: {branch: main, values: env/stage.yaml}",
        "  prod: {branch: release, values: env/prod.yaml}",
        "modules:",
        *[f"  s{n:04d}: {{paths: [s{n:04d}/], dockerfile: s{n:04d}/Dockerfile, "
          f"values: apps.s{n:04d}}}" for n in range(modules)]]) + "\n")
    return directory


def test_objects_too_large_for_client_side_apply_ask_for_a_server_side_one(
        tmp_path: Path) -> None:
    """kubectl's client-side apply (Argo CD's default) copies the object into an annotation,
    and the API server refuses 256 KiB of annotations: 1,800 modules make an EventListener
    larger than that, and a spec of 43,000 `&` in a comment a ConfigMap that is, since Go's
    JSON writes `&` in 6 bytes. Sizes are Go's encoding/json's, through helm's toJson."""
    from test_emit import go_json

    def bare(obj: dict[str, Any]) -> dict[str, Any]:  # as it was before it asked
        return {**obj, "metadata": {k: v for k, v in obj["metadata"].items()
                                    if k != "annotations"}}

    under = render(_mono_spec(tmp_path / "under", 100, "&" * 40_000))
    escaped = render(_mono_spec(tmp_path / "escaped", 100, "&" * 43_000))
    listening = render(_mono_spec(tmp_path / "listening", 1800))
    assert tekton.server_side_objects(under) == []
    assert tekton.server_side_objects(escaped) == ["ConfigMap/mono-spec"]
    assert tekton.server_side_objects(listening) == ["EventListener/mono"]
    for asking in (*by_kind(escaped, "ConfigMap"), *by_kind(listening, "EventListener")):
        assert asking["metadata"]["annotations"] == {
            "argocd.argoproj.io/sync-options": "ServerSideApply=true"}
    measured = [*by_kind(under, "ConfigMap"), bare(*by_kind(escaped, "ConfigMap")),
                bare(*by_kind(listening, "EventListener")),
                {"kind": "ConfigMap", "data": {"a": "<b>\u2028\u2029 é"}}]
    written = go_json([json.dumps(obj) for obj in measured], tmp_path)
    for obj, text in zip(measured, written, strict=True):  # kubectl's encoder ends with a line break
        assert tekton._last_applied_size(obj) == len(text.encode()) + 1
    sizes = [len(tekton.LAST_APPLIED) + len(text.encode()) + 1 + tekton.ARGO_CD_MARGIN
             for text in written[:3]]
    assert sizes[0] <= tekton.ANNOTATIONS_LIMIT < min(sizes[1:])


@pytest.mark.parametrize(("registry", "warned"), [
    ("ghcr.io/o", "ghcr.io"), ("o", "docker.io"), ("docker.io/o", "docker.io"),
    ("quay.io/o", "quay.io"), ("ghcr.io/o, pushSecret: registry-push", None),
    ("registry.example.com:5000/o", None),  # may take anonymous pushes
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/o", None),  # credentials from the node
])
def test_a_push_to_a_registry_that_needs_credentials_without_them_is_warned_of(
        tmp_path: Path, cli, registry: str, warned: str | None) -> None:
    """Kaniko and buildah read the registry's credentials from registry.pushSecret alone:
    ghcr.io, Docker Hub and quay.io take no push without them, so every build failed at its
    push, where nobody was told before."""
    directory = _mono_spec(tmp_path / "spec", 1)
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace("{url: ghcr.io/o, pushSecret: registry-push}",
                                             f"{{url: {registry}}}"))
    said = (f"registry.pushSecret is not set, and {warned} takes no push without credentials: "
            "every build would fail to push its image\n    hint: name a "
            "kubernetes.io/dockerconfigjson Secret allowed to push there, e.g. pushSecret: "
            "registry-push\n")
    validated, generated = cli("validate", str(directory)), cli("generate", str(directory))
    assert validated.code == 0 and generated.code == 0, validated.err + generated.err
    if warned:
        assert validated.out.endswith(f"  warning: {said}")
        assert generated.err == f"note: {said}" and generated.out
    else:
        assert "warning" not in validated.out and generated.err == ""


def test_generate_tells_kubectl_users_to_apply_large_objects_server_side(
        tmp_path: Path, cli) -> None:
    directory = _mono_spec(tmp_path / "spec", 1800)
    result = cli("generate", str(directory), "--output-dir", str(tmp_path / "out"))
    assert result.code == 0, result.err
    dispatch, hint, server_side, argo_cd = result.err.splitlines(keepends=True)
    assert dispatch.startswith("note: the modules have Triggers of their own, 7,200 in all")
    assert hint.startswith("    hint: set ci.triggers: dispatch")
    assert server_side == (
        "note: EventListener/mono: too large for kubectl's client-side apply (its "
        "last-applied annotation holds 256 KiB): apply with kubectl apply --server-side; "
        "Argo CD does, as they ask\n")
    # so many objects are more than an Argo CD Application holds (test_argocd.py)
    assert argo_cd.startswith("note: kubectl can apply these objects, Argo CD cannot: the "
                              "12,622 objects of these 1,800 modules are more than one Argo "
                              "CD Application can hold")
