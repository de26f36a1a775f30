"""ci.triggers: dispatch. The project's push and pull-request Triggers start one dispatch run
an event, which starts the runs of the modules the event changes: checked against what the
modules' own Triggers start for the same events (their CEL filters evaluated by cel-python,
their pull requests narrowed by `shipspec tag` as their runs narrow them)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from conftest import EXAMPLES
from test_tekton import (
    _FAKE_KUBECTL,
    _astrago_push,
    _crd_validator,
    _evaluate,
    _filters,
    _github_pull_request,
    _pod_security_violations,
    _push_payload,
    _report,
    _started_by_triggers,
    _task,
    _tekton_pod,
    _what_tekton_does_with_a_run_that_never_ends,
    by_kind,
    objects_of,
    render,
)

from shipspec.render import RenderOptions, tekton
from shipspec.render.tekton_names import object_names
from shipspec.render.tekton_tasks import SPEC_FILE
from shipspec.specfile.resolve import load_spec

SHA = "0123456789abcdef0123456789abcdef01234567"
BASE = "fedcba9876543210fedcba9876543210fedcba98"
BACKEND = "xiilab/astrago-backend"
BRANCH = "stabilize/1.0"
# astrago-backend's files, as its mono repo lays them out (settings.gradle includes the
# module-* libraries into every server-*)
FILE_SETS = [["server-core/src/main/java/Core.java"], ["server-batch/Dockerfile"],
             ["module-common/src/Util.java"], ["settings.gradle"], ["README.md"],
             ["server-core-old/x"], ["server-core/a", "server-monitor/b"]]


def dispatch_spec(directory: Path, example: str = "astrago") -> Path:
    """The example's spec with ci.triggers: dispatch."""
    shutil.copytree(EXAMPLES / example, directory)
    (directory / ".git").mkdir(exist_ok=True)
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace("\nci:\n", "\nci:\n  triggers: dispatch\n", 1))
    return directory


@pytest.fixture
def astrago(tmp_path: Path) -> Path:
    return dispatch_spec(tmp_path / "astrago")


def _without_namespace(run: dict[str, Any]) -> dict[str, Any]:
    """A Trigger's run is created in its listener's namespace; the dispatch's, by kubectl
    in the dispatch run's own (the Task's start-runs step)."""
    del run["metadata"]["namespace"]
    return run


@pytest.mark.parametrize("files", FILE_SETS, ids=",".join)
def test_a_push_starts_the_runs_its_modules_own_triggers_would(astrago: Path,
                                                               files: list[str]) -> None:
    modules_own = objects_of("astrago")
    expected = [_without_namespace(_started_by_triggers(modules_own, name, {"after": SHA}))
                for name, cel in _filters(modules_own).items()
                if name.endswith("-push") and _evaluate(cel, _astrago_push(files), "push")]
    runs = tekton.dispatched_runs(load_spec(str(astrago)), RenderOptions(), "push", BACKEND,
                                  BRANCH, SHA, files)
    assert runs == expected


@pytest.mark.parametrize("files", FILE_SETS, ids=",".join)
def test_a_pull_request_starts_the_runs_its_modules_own_runs_would_build(
        astrago: Path, files: list[str], tmp_path: Path, cli) -> None:
    """The modules' own pull-request Triggers start a run of every module of the base
    branch, whose tag Task (`shipspec tag --changed-files`) says whether it builds; the
    dispatch starts those that build, and their tag Tasks need not look again."""
    modules_own = objects_of("astrago")
    listed = tmp_path / "files"
    listed.write_text("\0".join(files) + "\0")
    event = _github_pull_request("opened", BACKEND, BRANCH)
    expected = []
    for name, cel in _filters(modules_own).items():
        if not (name.endswith("-pr") and _evaluate(cel, event, "pull_request")):
            continue
        run = _without_namespace(_started_by_triggers(modules_own, name, {
            "pull_request.head.sha": SHA, "pull_request.base.sha": BASE}))
        params = {p["name"]: p for p in run["spec"]["params"]}
        touched = tmp_path / "touched"
        result = cli("tag", str(EXAMPLES / "astrago"), "--module", params["module"]["value"],
                     "--sha", SHA, "--changed-files", str(listed),
                     "--touched-output", str(touched))
        assert result.code == 0, result.err
        if touched.read_text() == "true":
            params["base-revision"]["value"] = ""
            expected.append(run)
    assert expected or "README.md" in files or "server-core-old/x" in files
    runs = tekton.dispatched_runs(load_spec(str(astrago)), RenderOptions(), "pull-request",
                                  BACKEND, BRANCH, SHA, files)
    assert runs == expected


def test_files_not_known_start_every_module_of_the_branch_and_no_other(astrago: Path) -> None:
    """A new branch's push (its `before` all zeros), or commits that cannot be fetched: the
    changes step lists no files."""
    spec = load_spec(str(astrago))
    backend = [m.name for m in spec.enabled_modules if m.repo_slug == BACKEND]
    runs = tekton.dispatched_runs(spec, RenderOptions(), "push", BACKEND.upper(), BRANCH, SHA,
                                  None)
    assert [r["metadata"]["labels"]["shipspec.dev/module"] for r in runs] == backend
    assert tekton.dispatched_runs(spec, RenderOptions(), "push", BACKEND, "main", SHA,
                                  None) == []
    assert tekton.dispatched_runs(spec, RenderOptions(), "push", "xiilab/other", BRANCH, SHA,
                                  None) == []


def test_the_projects_triggers_replace_every_modules_own(astrago: Path) -> None:
    objects = render(astrago)
    triggers = {t["metadata"]["name"]: t for t in by_kind(objects, "Trigger")}
    assert set(triggers) == {"astrago-push", "astrago-pull-request", "astrago-cleanup"}
    assert {b["metadata"]["name"] for b in by_kind(objects, "TriggerBinding")} == set()
    assert {t["metadata"]["name"] for t in by_kind(objects, "TriggerTemplate")} == {
        "astrago-dispatch", "astrago-cleanup"}
    [listener] = by_kind(objects, "EventListener")
    assert [t["triggerRef"] for t in listener["spec"]["triggers"]] == [
        "astrago-push", "astrago-pull-request", "astrago-cleanup"]
    # each module keeps its claims, and nothing else
    assert {o["kind"] for o in objects if "shipspec.dev/module" in o["metadata"]["labels"]
            } == {"PersistentVolumeClaim"}
    for name in ("astrago-push", "astrago-pull-request"):
        assert triggers[name]["spec"]["interceptors"][0]["ref"]["name"] == "github"
    spec = load_spec(str(astrago))
    listed = sorted((n.kind, n.name) for n in object_names(
        spec, spec.namespace or "", spec.enabled_modules, tekton.reports(spec)))
    assert listed == sorted((o["kind"], o["metadata"]["name"]) for o in objects)


def _dispatch_filters(objects: list[dict[str, Any]]) -> dict[str, str]:
    filters = _filters(objects)
    return {"push": filters["astrago-push"], "pull_request": filters["astrago-pull-request"]}


def test_the_filters_pass_the_events_of_the_modules_repositories_and_branches_alone(
        astrago: Path) -> None:
    filters = _dispatch_filters(render(astrago))
    pushed = _astrago_push(["README.md"])
    assert _evaluate(filters["push"], pushed, "push")
    assert _evaluate(filters["push"], {**pushed, "repository": {
        "full_name": "XiiLab/Astrago-Backend"}}, "push")
    assert _evaluate(filters["push"], {**pushed, "repository": {
        "full_name": "xiilab/astrago-frontend"}}, "push")
    assert not _evaluate(filters["push"], {**pushed, "repository": {
        "full_name": "xiilab/astrago-deployment"}}, "push")
    assert not _evaluate(filters["push"], {**pushed, "ref": "refs/heads/main"}, "push")
    assert not _evaluate(filters["push"], {**pushed, "ref": f"refs/tags/{BRANCH}"}, "push")
    assert not _evaluate(filters["push"], _push_payload(
        ref=f"refs/heads/{BRANCH}", deleted=True, after="0" * 40,
        repository={"full_name": BACKEND}), "push")
    for action in ("opened", "synchronize", "reopened"):
        assert _evaluate(filters["pull_request"], _github_pull_request(action, BACKEND, BRANCH),
                         "pull_request")
    assert not _evaluate(filters["pull_request"],
                         _github_pull_request("closed", BACKEND, BRANCH), "pull_request")
    assert not _evaluate(filters["pull_request"],
                         _github_pull_request("opened", BACKEND, "main"), "pull_request")
    assert not _evaluate(filters["pull_request"],
                         _github_pull_request("opened", BACKEND, BRANCH, head_in="stranger"),
                         "pull_request")


def test_a_forks_pull_request_is_dispatched_only_where_the_spec_says_so(tmp_path: Path
                                                                        ) -> None:
    directory = dispatch_spec(tmp_path / "astrago")
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace("  webhookSecret:", "  forkPullRequests: true\n"
                                             "  webhookSecret:", 1))
    filters = _dispatch_filters(render(directory))
    assert _evaluate(filters["pull_request"],
                     _github_pull_request("opened", BACKEND, BRANCH, head_in="stranger"), "pull_request")


def test_the_dispatch_objects_and_runs_pass_the_schemas(astrago: Path) -> None:
    objects = render(astrago)
    event = {"repository.full_name": BACKEND, "ref": f"refs/heads/{BRANCH}", "after": SHA,
             "before": BASE, "pull_request.base.ref": BRANCH, "pull_request.head.sha": SHA,
             "pull_request.base.sha": BASE}
    dispatches = [_started_by_triggers(objects, name, event)
                  for name in ("astrago-push", "astrago-pull-request")]
    runs = tekton.dispatched_runs(load_spec(str(astrago)), RenderOptions(), "push", BACKEND,
                                  BRANCH, SHA, None)
    tekton_objects = [*(o for o in objects if o["apiVersion"] == "tekton.dev/v1"),
                      *dispatches, *runs]
    for obj in tekton_objects:
        errors = list(_crd_validator(obj["kind"]).iter_errors(obj))
        assert not errors, [f"{obj['kind']} {list(e.absolute_path)}: {e.message}"
                            for e in errors]
    [pipeline] = [o for o in by_kind(objects, "Pipeline")
                  if o["metadata"]["name"] == "astrago-dispatch"]
    declared = {p["name"] for p in pipeline["spec"]["params"]}
    for dispatch in dispatches:
        assert {p["name"] for p in dispatch["spec"]["params"]} == declared
        assert dispatch["spec"]["taskRunTemplate"]["serviceAccountName"] == "astrago-dispatch"
    for obj in objects:
        if obj["kind"] in {"ServiceAccount", "Role", "RoleBinding"}:
            kubernetes_validate.validate(obj, "1.31", strict=True)


def test_the_dispatch_account_may_create_runs_and_nothing_else(astrago: Path) -> None:
    objects = render(astrago)
    roles = {r["metadata"]["name"]: r["rules"] for r in by_kind(objects, "Role")}
    assert roles["astrago-dispatch"] == [{"apiGroups": ["tekton.dev"],
                                          "resources": ["pipelineruns"], "verbs": ["create"]}]
    [binding] = [b for b in by_kind(objects, "RoleBinding")
                 if b["roleRef"]["name"] == "astrago-dispatch"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "astrago-dispatch",
                                    "namespace": "astrago-ci"}]
    accounts = {a["metadata"]["name"]: a for a in by_kind(objects, "ServiceAccount")}
    assert "secrets" not in accounts["astrago-dispatch"]  # a public source: no credentials
    # the runs it starts use the accounts the modules' own Triggers' runs use
    spec = load_spec(str(astrago))
    for event, account in (("push", "astrago-pipeline"),
                           ("pull-request", "astrago-pull-request")):
        for run in tekton.dispatched_runs(spec, RenderOptions(), event, BACKEND, BRANCH, SHA,
                                          None):
            assert run["spec"]["taskRunTemplate"]["serviceAccountName"] == account


def test_the_dispatch_pod_meets_restricted(astrago: Path) -> None:
    objects = render(astrago)
    [template] = [t for t in by_kind(objects, "TriggerTemplate")
                  if t["metadata"]["name"] == "astrago-dispatch"]
    pod = _tekton_pod(_task(objects, "astrago-dispatch"),
                      template["spec"]["resourcetemplates"][0], True)
    assert _pod_security_violations(pod, "restricted") == []


def _plan_arguments(objects: list[dict[str, Any]], params: dict[str, str], spec: Path,
                    files: Path, output: Path) -> list[str]:
    """The plan step's arguments as Tekton gives them, the spec and files where they are
    here."""
    [step] = [s for s in _task(objects, "astrago-dispatch")["spec"]["steps"]
              if s["name"] == "plan"]
    assert step["command"] == ["shipspec"]
    paths = {SPEC_FILE: str(spec), "/changes/files": str(files),
             "/plan/runs.json": str(output)}
    return [paths.get(arg, re.sub(r"\$\(params\.([a-z-]+)\)", lambda m: params[m[1]], arg))
            for arg in step["args"]]


@pytest.mark.parametrize("trigger", ["astrago-push", "astrago-pull-request"])
def test_the_plan_step_gets_what_the_trigger_read_from_the_event(astrago: Path, cli,
                                                                 tmp_path: Path,
                                                                 trigger: str) -> None:
    """From the webhook to `shipspec dispatch`: the Trigger's bindings, its template's run,
    the Pipeline's and the Task's parameters, the step's arguments."""
    objects = render(astrago, labels=(("team", "ai"),))
    event = {"repository.full_name": BACKEND, "ref": f"refs/heads/{BRANCH}", "after": SHA,
             "before": BASE, "pull_request.base.ref": BRANCH, "pull_request.head.sha": SHA,
             "pull_request.base.sha": BASE}
    run = _started_by_triggers(objects, trigger, event)
    params = {p["name"]: p["value"] for p in run["spec"]["params"]}
    files = tmp_path / "files"
    files.write_text("server-batch/src/Batch.java\0")
    output = tmp_path / "runs.json"
    result = cli(*_plan_arguments(objects, params, astrago / "shipspec.yaml", files, output))
    assert result.code == 0, result.err
    assert result.out == "1 runs to start: batch (stage)\n"
    event_name = "push" if trigger.endswith("push") else "pull-request"
    expected = tekton.dispatched_runs(
        load_spec(str(astrago)), RenderOptions(labels=(("team", "ai"),)), event_name,
        BACKEND, BRANCH, SHA, ["server-batch/src/Batch.java"])
    assert json.loads(output.read_text()) == {"apiVersion": "v1", "kind": "List",
                                              "items": expected}
    assert expected[0]["metadata"]["labels"]["team"] == "ai"
    files.unlink()  # the files could not be told: every module of the branch
    assert cli(*_plan_arguments(objects, params, astrago / "shipspec.yaml", files,
                                output)).out.startswith("3 runs to start: core (stage), ")


@pytest.mark.parametrize("revision", ["HEAD~1", "--upload-pack=x", SHA[:12]])
def test_a_revision_that_is_not_a_whole_commit_id_is_refused(astrago: Path, cli, tmp_path: Path,
                                                           revision: str) -> None:
    """It would reach the runs' fetches; Tekton passes it as one argument."""
    output = tmp_path / "runs.json"
    result = cli("dispatch", str(astrago), "--event", "push", "--repository", BACKEND,
                 "--branch", BRANCH, f"--revision={revision}", "--output", str(output))
    assert result.code == 1 and result.out == "" and not output.exists()
    assert f"--revision {revision!r} is not a whole commit id" in result.err


def test_the_source_step_names_the_repository_as_the_spec_does(astrago: Path, cli,
                                                               tmp_path: Path) -> None:
    written = tmp_path / "url"
    result = cli("dispatch", str(astrago), "--repository", "XiiLab/Astrago-Backend",
                 "--source-output", str(written))
    assert (result.code, result.out) == (0, "")
    assert written.read_text() == "https://github.com/xiilab/astrago-backend.git"
    result = cli("dispatch", str(astrago), "--repository", "xiilab/elsewhere",
                 "--source-output", str(written))
    assert result.code == 1 and "no enabled module builds from xiilab/elsewhere" in result.err


@pytest.mark.parametrize("count", [0, 2])
def test_the_start_step_creates_the_runs_in_its_namespace_and_nothing_for_none(
        astrago: Path, tmp_path: Path, count: int) -> None:
    """In sh with the real jq; kubectl records what it is asked (kubectl refuses a List of
    no objects: "no objects passed to create", kubernetes/kubectl pkg/cmd/create/create.go,
    RunCreate, at dee3483a3)."""
    [step] = [s for s in _task(render(astrago), "astrago-dispatch")["spec"]["steps"]
              if s["name"] == "start-runs"]
    plan = tmp_path / "plan"
    plan.mkdir()
    items = [{"kind": "PipelineRun", "metadata": {"generateName": f"r{n}-"}}
             for n in range(count)]
    (plan / "runs.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                                "items": items}))
    (tmp_path / "kubectl").write_text('#!/bin/sh\nprintf "%s\\n" "$*" >> "$CALLS"\n')
    (tmp_path / "kubectl").chmod(0o755)
    env = {e["name"]: e["value"].replace("$(context.taskRun.namespace)", "astrago-ci")
           for e in step["env"]}
    calls = tmp_path / "calls"
    result = subprocess.run(["sh", "-c", step["script"].replace("/plan/", f"{plan}/")],
                            capture_output=True, text=True, check=False,
                            env={**env, "HOME": str(tmp_path), "CALLS": str(calls),
                                 "PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert (calls.read_text() if calls.exists() else "") == (
        f"create --namespace astrago-ci -f {plan}/runs.json -o name\n" if count else "")


def test_the_cleanup_prunes_the_dispatch_runs_too(astrago: Path, tmp_path: Path) -> None:
    objects = render(astrago)
    [template] = [t for t in by_kind(objects, "TriggerTemplate")
                  if t["metadata"]["name"] == "astrago-dispatch"]
    labels = template["spec"]["resourcetemplates"][0]["metadata"]["labels"]
    runs = [{"metadata": {"name": f"d{n}", "labels": labels,
                          "creationTimestamp": f"2026-12-07T08:{n:02d}:00Z"},
             "status": {"conditions": [{"type": "Succeeded", "status": "True"}]}}
            for n in range(4)]
    state = tmp_path / "runs.json"
    state.write_text(json.dumps(runs))
    (tmp_path / "kubectl").write_text(_FAKE_KUBECTL)
    (tmp_path / "kubectl").chmod(0o755)
    [step] = _task(objects, "astrago-cleanup")["spec"]["steps"]
    env = {e["name"]: e["value"].replace("$(params.keep-runs)", "1") for e in step["env"]}
    result = subprocess.run(["sh", "-c", step["script"]], capture_output=True, text=True,
                            env={**env, "HOME": str(tmp_path), "RUNS": str(state),
                                 "PATH": f"{tmp_path}:/usr/bin:/bin"}, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "kept the newest 1 of 4 finished runs of the dispatch\n"
    assert [r["metadata"]["name"] for r in json.loads(state.read_text())] == ["d3"]


def _mono_repo(directory: Path, modules: int) -> Path:
    """The mono repo of benchmarks/run.py, two environments, ci.triggers: dispatch."""
    lines = ["project: bench", "namespace: ci",
             "ci: {triggers: dispatch, images: {shipspec: 'registry.test/shipspec:1@sha256:"
             + "0" * 64 + "'}}",
             "source: {url: https://github.com/o/mono.git, webhookSecret: hook}",
             "registry: {url: ghcr.io/o}",
             "deploy: {url: https://github.com/o/deploy.git, credentialsSecret: t}",
             "environments:", "  stage: {branch: main, values: env/stage.yaml}",
             "  prod: {branch: release, values: env/prod.yaml}", "modules:"]
    for index in range(modules):
        lines += [f"  s{index}: {{paths: [services/s{index}/, libs/common/], dockerfile: "
                  f"services/s{index}/Dockerfile, values: apps.s{index}}}"]
    (directory / ".git").mkdir()
    (directory / "shipspec.yaml").write_text("\n".join(lines) + "\n")
    return directory


def test_a_dispatch_renders_a_few_objects_where_each_module_had_its_own_triggers(
        tmp_path: Path) -> None:
    objects = render(_mono_repo(tmp_path, 200))
    assert len(by_kind(objects, "PersistentVolumeClaim")) == 400
    assert len(objects) - 400 == 26
    assert len(by_kind(objects, "Trigger")) == 3


def test_one_application_holds_every_module_a_spec_may_hold(tmp_path: Path, cli,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """Argo CD records each object in the Application (argocd.py): with each module's own
    Triggers some 538 such modules fit; with dispatch, the spec's cap of 2,000."""
    directory = _mono_repo(tmp_path, 2000)
    monkeypatch.chdir(directory)
    monkeypatch.setenv("ARGOCD_APP_NAME", "ci")
    monkeypatch.setenv("ARGOCD_APP_NAMESPACE", "ci")
    result = cli("generate", "--argocd")
    assert result.code == 0, result.err
    assert result.out.count("---\n") == 4026
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace("triggers: dispatch, ", ""))
    result = cli("generate", "--argocd")
    assert result.code == 1 and result.out == ""
    assert "more than one Argo CD Application can hold" in result.err


@pytest.mark.parametrize(("modules", "triggers", "said"), [
    (tekton.DISPATCH_SUGGESTED_FROM, "modules",
     "200 in all: every webhook delivery goes through each of them, and every push to a "
     "pull request against main of o/mono starts 50 runs, a pod each, whichever modules it "
     "touches"),
    (tekton.DISPATCH_SUGGESTED_FROM - 1, "modules", None),  # 196 Triggers
    (tekton.DISPATCH_SUGGESTED_FROM, "dispatch", None),
], ids=["50 modules of one branch", "49", "dispatch"])
def test_validate_suggests_dispatch_for_a_branch_of_many_modules(
        tmp_path: Path, cli, modules: int, triggers: str, said: str | None) -> None:
    directory = _mono_repo(tmp_path, modules)
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace("triggers: dispatch", f"triggers: {triggers}"))
    result = cli("validate", str(directory))
    assert result.code == 0, result.err
    suggestion = "  warning: the modules have Triggers of their own, "
    assert (suggestion in result.out) == (said is not None)
    if said:
        assert f"{suggestion}{said}\n    hint: set ci.triggers: dispatch" in result.out


def test_validate_suggests_dispatch_for_many_triggers_of_modules_of_their_own(
        tmp_path: Path, cli) -> None:
    """Each module its own repository and branch (seed A's layout, at scale): no pull
    request starts more than one run, but every delivery goes through every Trigger."""
    directory = _mono_repo(tmp_path, tekton.DISPATCH_SUGGESTED_FROM_TRIGGERS // 2)
    spec = directory / "shipspec.yaml"
    text = spec.read_text().replace("triggers: dispatch, ", "").replace(
        "  prod: {branch: release, values: env/prod.yaml}\n", "")
    spec.write_text(re.sub(r"  s(\d+): \{", r"  s\1: {repo: https://github.com/o/s\1.git, "
                           r"gitBranch: b\1, ", text))
    result = cli("validate", str(directory))
    assert result.code == 0, result.err
    assert ("  warning: the modules have Triggers of their own, 200 in all: every webhook "
            "delivery goes through each of them\n    hint: set ci.triggers: dispatch") \
        in result.out


@pytest.mark.parametrize("over", [True, False])
def test_project_filters_longer_than_cel_go_parses_are_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, over: bool) -> None:
    """The dispatch Triggers' filters name every repository and every branch: measured as
    the cleanup's is (test_tekton.py), here with cel-go's limit lowered to their length."""
    from shipspec.render import tekton_triggers

    directory = _mono_repo(tmp_path, 0)
    spec_file = directory / "shipspec.yaml"
    spec_file.write_text(spec_file.read_text().replace(
        "  prod: {branch: release, values: env/prod.yaml}\n", "".join(
            f"  e{n}: {{branch: release/{'b' * 40}-{n}, values: env/e{n}.yaml}}\n"
            for n in range(6))) + "".join(
        f"  s{n}: {{repo: 'https://github.com/o/r{n}.git', dockerfile: Dockerfile, "
        f"values: apps.s{n}}}\n" for n in range(30)))
    spec = load_spec(str(directory))
    modules = list(spec.enabled_modules)
    branches = tuple(sorted({d.trigger_branch for m in modules for d in m.deployments}))
    longest = max(map(len, tekton_triggers.dispatch_filters(modules, branches, False).values()))
    assert longest > len(tekton_triggers.cleanup_filter(modules, False))
    monkeypatch.setattr(tekton_triggers, "CEL_CODE_POINTS", longest - over)
    refused = tekton_triggers.overlong_filters(spec)
    assert [(path, message.endswith("so no event would start a run")) for path, message, _
            in refused] == ([(("modules",), True)] if over else [])


def test_a_private_sources_credentials_reach_the_dispatch_and_nothing_more(
        tmp_path: Path) -> None:
    """Its changes step fetches the source's commits and trees: with source.credentialsSecret
    listed on its account, which Tekton's creds-init copies into each step's $HOME
    (pkg/pod/creds_init.go, pipeline v1.15.0), as for the pull requests' account."""
    directory = dispatch_spec(tmp_path / "astrago")
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace(
        "  webhookSecret:", "  credentialsSecret: astrago-source-read\n  webhookSecret:", 1))
    accounts = {a["metadata"]["name"]: a for a in by_kind(render(directory), "ServiceAccount")}
    assert accounts["astrago-dispatch"]["secrets"] == [{"name": "astrago-source-read"}]
    assert accounts["astrago-dispatch"]["secrets"] == accounts["astrago-pull-request"]["secrets"]
    assert "automountServiceAccountToken" not in accounts["astrago-dispatch"]  # kubectl's


@pytest.mark.parametrize(("status", "said"), [
    ("Failed", "reported failure to xiilab/astrago-backend@{sha}\nnotified\n"),
    ("Succeeded", "reported success to xiilab/astrago-backend@{sha}\n"),
])
def test_a_dispatch_reports_its_outcome_and_tells_the_chat_of_a_failure(
        tmp_path: Path, status: str, said: str) -> None:
    """A dispatch that fails starts no run, so no run would tell of it: with commit statuses
    or a chat webhook set, the dispatch Pipeline reports as the builds' does (`finally`,
    five minutes of its own), to the GitHub of the modules, its status named so that no
    module's can be, and the chat told of failures alone (each run it starts tells of
    itself)."""
    directory = dispatch_spec(tmp_path / "astrago")
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace(
        "  webhookSecret:", "  statusSecret: github-status\n  webhookSecret:", 1).replace(
        "  triggers: dispatch\n", "  triggers: dispatch\n  notifySecret: chat-webhook\n"))
    objects = render(directory)
    run = _started_by_triggers(objects, "astrago-push", {
        "repository.full_name": BACKEND, "ref": f"refs/heads/{BRANCH}", "after": SHA,
        "before": BASE})
    assert _what_tekton_does_with_a_run_that_never_ends(run, 60) == (55, 60)
    [pipeline] = [p for p in by_kind(objects, "Pipeline")
                  if p["metadata"]["name"] == "astrago-dispatch"]
    [report] = pipeline["spec"]["finally"]
    assert {p["name"]: p["value"] for p in report["params"]}["module"] == "dispatch run"
    output, asked = _report(objects, run, tmp_path / "report", status=status)
    assert output == said.format(sha=SHA)
    assert f"https://api.github.com/repos/{BACKEND}/statuses/{SHA}" in asked
    assert any("chat-webhook" in line for line in asked) == (status == "Failed")
