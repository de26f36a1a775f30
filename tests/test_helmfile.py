"""Targets helmfile and applications, with the real helmfile 0.166.0 and helm 3.18.0
(tests/tools/unpack_binaries.py) over a deployment repository shaped like
xiilab/astrago-deployment (tests/fixtures/astrago-deployment), and the plugin run in the
environment Argo CD v3.5.1 builds (tests/argo_cd.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import argo_cd
from tests.conftest import REPO, run_process
from tests.test_argocd import PLUGIN, SIDECAR, run_plugin, shipped_application
from tests.test_bump import git

FIXTURE = REPO / "tests" / "fixtures" / "astrago-deployment"
BIN = REPO / "tests" / "tools" / "bin"
SPEC_DIR = "ci/astrago"
VALUES = "helmfile/environments/customers/xiilab/values.yaml"
EXPECTED = ["ghcr.io/xiilab/astrago-backend:batch-stage-1.0-31c7ea7a",
            "ghcr.io/xiilab/astrago-backend:core-stage-1.0-31c7ea7a",
            "ghcr.io/xiilab/astrago-backend:monitor-stage-1.0-31c7ea7a",
            "ghcr.io/xiilab/astrago-frontend:frontend-stage-1.0-0b7146d6"]


@pytest.fixture(autouse=True)
def _binaries() -> None:
    for name in ("helm", "helmfile"):
        assert (BIN / name).exists(), f"{name} is missing: run `bash tests/run` " \
                                      "(tests/tools/unpack_binaries.py)"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A checkout of the deployment repository with the example spec at ci/astrago."""
    checkout = tmp_path / "astrago-deployment"
    shutil.copytree(FIXTURE, checkout)
    (checkout / SPEC_DIR).mkdir(parents=True)
    spec = (REPO / "examples" / "astrago" / "shipspec.yaml").read_text()
    (checkout / SPEC_DIR / "shipspec.yaml").write_text(spec)
    git("init", "--quiet", "--initial-branch=main", str(checkout))
    git("add", ".", cwd=checkout)
    git("commit", "--quiet", "-m", "initial", cwd=checkout)
    return checkout


@pytest.fixture
def tools(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "HOME": str(home),
            "XDG_CACHE_HOME": str(tmp_path / "cache")}


def render(root: Path, env: dict[str, str], *args: str) -> Any:
    return run_process("generate", SPEC_DIR, "--target", "helmfile", "--env", "stage", *args,
                       cwd=root, env=env)


def images(stdout: str) -> list[str]:
    return sorted(container["image"] for document in yaml.safe_load_all(stdout) if document
                  for container in document.get("spec", {}).get("template", {})
                  .get("spec", {}).get("containers", []))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def assert_fails_closed(result: Any, *reasons: str) -> None:
    assert (result.code, result.out) == (1, ""), (result.code, result.err)
    assert "Traceback" not in result.err
    for reason in reasons:
        assert reason in result.err, result.err


# --- the render ------------------------------------------------------------------------------

def test_release_renders_the_images_of_the_values_file(root: Path, tools: dict[str, str]) -> None:
    result = render(root, tools, "--release", "astrago")
    assert result.code == 0, result.err
    assert images(result.out) == EXPECTED
    # printed as helm wrote it: its `# Source:` comments stay
    assert result.out.startswith("---\n# Source: astrago/templates/deployments.yaml\n")


def test_the_image_check_reads_a_shared_values_file_once(root: Path,
                                                         yaml_reads: list[str]) -> None:
    """The four modules of the release share their environment's values file: it is read
    once, not once per module (Argo CD runs this check on every refresh; per module, a
    release of 2,000 modules read its file 2,000 times)."""
    from shipspec import helmfile
    from shipspec.specfile.resolve import load_spec

    spec = load_spec(str(root / SPEC_DIR))
    environment = next(e for e in spec.environments if e.name == "stage")
    assert environment.app is not None
    release = next(r for r in environment.app.releases if r.name == "astrago")
    assert sorted(image for _, image in helmfile.expected_images(
        spec, environment, release, str(root))) == EXPECTED
    assert yaml_reads == [VALUES]


# An excerpt of the shape of prometheus-operator's AlertmanagerConfig CRD, which
# kube-prometheus-stack ships in its crds chart (xiilab/astrago-deployment,
# applications/prometheus/kube-prometheus-stack/charts/crds/crds/crd-alertmanagerconfigs.yaml):
# a matcher's operators, `=` among them unquoted. YAML 1.1 resolves a plain `=` to its
# "value" type, which PyYAML has no constructor for; go-yaml has no such type and reads
# the string "=" (sigs.k8s.io/yaml goyaml.v2 resolve.go), as helm, Argo CD and the API
# server do.
MATCHER_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: alertmanagerconfigs.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names: {kind: AlertmanagerConfig, plural: alertmanagerconfigs}
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            matchType:
              type: string
              enum:
                - '!='
                - =
                - =~
                - '!~'
"""


def test_a_chart_shipping_prometheus_operators_crds_renders(root: Path,
                                                            tools: dict[str, str]) -> None:
    """kube-prometheus-stack, a release of the real astrago-deployment, was refused as
    "not YAML" by the image check's reading of the render, and never deployed."""
    crds = root / "helmfile" / "charts" / "astrago" / "crds"
    crds.mkdir()
    (crds / "crd-alertmanagerconfigs.yaml").write_text(MATCHER_CRD)
    result = render(root, tools, "--release", "astrago")
    assert result.code == 0, result.err
    assert MATCHER_CRD in result.out  # printed as helm wrote it (--include-crds)
    [crd] = [d for d in yaml.safe_load_all(result.out.replace("- =\n", "- '='\n"))
             if d and d["kind"] == "CustomResourceDefinition"]
    assert crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "matchType"]["enum"] == ["!=", "=", "=~", "!~"]
    assert images(result.out.replace("- =\n", "- '='\n")) == EXPECTED


def test_a_render_is_read_as_helm_reads_it_dates_as_strings(root: Path,
                                                             tools: dict[str, str]) -> None:
    """go-yaml v2, whose reading helm and the API server keep (sigs.k8s.io/yaml), leaves a
    plain date a string when decoding into interface{} (decode.go, "for backward
    compatibility reasons"), a date that is no date too; PyYAML built a date, and a
    ValueError for 2024-02-30 ended the plugin with an internal error. Numbers PyYAML
    cannot build (`0x_`) are refused as not YAML, never a traceback."""
    template = root / "helmfile" / "charts" / "astrago" / "templates" / "build.yaml"
    template.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: build\n"
                        "data:\n  built: 2024-02-30\n  released: 2024-01-31\n")
    result = render(root, tools, "--release", "astrago")
    assert result.code == 0, result.err
    assert "  built: 2024-02-30\n  released: 2024-01-31\n" in result.out
    assert images(result.out.replace("2024-02-30", "'2024-02-30'")) == EXPECTED  # PyYAML
    template.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: build\n"
                        "data:\n  mask: 0x_\n")
    assert_fails_closed(render(root, tools, "--release", "astrago"),
                        "helmfile's output for release 'astrago'", "is not YAML")


def test_a_release_renders_the_same_bytes_twice(root: Path, tools: dict[str, str]) -> None:
    first = render(root, tools, "--release", "astrago")
    second = render(root, tools, "--release", "astrago")
    assert first.code == second.code == 0
    assert first.out == second.out


def test_json_is_one_list_of_the_same_objects(root: Path, tools: dict[str, str]) -> None:
    import json

    result = render(root, tools, "--release", "astrago", "--format", "json")
    assert result.code == 0, result.err
    listed = json.loads(result.out)
    assert listed["kind"] == "List"
    assert listed["items"] == [d for d in yaml.safe_load_all(
        render(root, tools, "--release", "astrago").out) if d]


def test_a_bump_changes_exactly_one_rendered_image(root: Path, tools: dict[str, str],
                                                   tmp_path: Path) -> None:
    bare = tmp_path / "deploy.git"
    git("clone", "--quiet", "--bare", str(root), str(bare))
    before = images(render(root, tools, "--release", "astrago").out)
    bumped = run_process("bump", SPEC_DIR, "--module", "batch", "--tag",
                         "batch-stage-1.0-0a1b2c3d", "--env", "stage", "--repo",
                         f"file://{bare}", cwd=root, env=tools)
    assert bumped.code == 0, bumped.err
    git("pull", "--quiet", "--ff-only", str(bare), "main", cwd=root)
    after = images(render(root, tools, "--release", "astrago").out)
    assert set(before) - set(after) == {"ghcr.io/xiilab/astrago-backend:batch-stage-1.0-31c7ea7a"}
    assert set(after) - set(before) == {"ghcr.io/xiilab/astrago-backend:batch-stage-1.0-0a1b2c3d"}


# --- failing closed --------------------------------------------------------------------------

def test_an_unknown_helmfile_environment_fails_closed(root: Path, tools: dict[str, str]) -> None:
    edit(root / SPEC_DIR / "shipspec.yaml", "environment: xiilab", "environment: xiilabb")
    assert_fails_closed(render(root, tools, "--release", "astrago"), "helmfile failed",
                        "environment(xiilabb)")


def test_a_release_helmfile_does_not_have_fails_closed(root: Path,
                                                       tools: dict[str, str]) -> None:
    edit(root / SPEC_DIR / "shipspec.yaml", "        astrago:\n", "        astragoo:\n")
    assert_fails_closed(render(root, tools, "--release", "astragoo"), "helmfile failed",
                        "selector(name=astragoo,namespace=astrago)",
                        f"`shipspec validate {SPEC_DIR}/shipspec.yaml --deployment {root}` says "
                        "which releases and namespaces it has")


def test_a_release_the_spec_does_not_name_is_refused(root: Path, tools: dict[str, str]) -> None:
    assert_fails_closed(render(root, tools, "--release", "astragoo"),
                        "environment 'stage' renders the releases nfs-provisioner, astrago, "
                        "not 'astragoo'")
    assert_fails_closed(render(root, tools), "choose one with --release")


def test_a_helmfile_error_fails_closed(root: Path, tools: dict[str, str]) -> None:
    edit(root / "helmfile/values/astrago.yaml.gotmpl", ".Values.offline.registry",
         ".Values.offline.mirror.registry")
    assert_fails_closed(render(root, tools, "--release", "astrago"), "helmfile failed",
                        "astrago.yaml.gotmpl")


def add_release(root: Path, name: str, template: str) -> None:
    chart = root / "helmfile" / "charts" / name
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
    (chart / "templates" / "all.yaml").write_text(template)
    with (root / "helmfile/helmfile.yaml.gotmpl").open("a") as stream:
        stream.write(f"\n  - name: {name}\n    namespace: {name}\n    chart: ./charts/{name}\n")
    edit(root / SPEC_DIR / "shipspec.yaml", "      syncOptions:",
         f"        {name}:\n          namespace: {name}\n      syncOptions:")


def test_empty_output_fails_closed(root: Path, tools: dict[str, str]) -> None:
    # helm prints nothing and exits 0 for a chart whose templates render nothing
    add_release(root, "empty", "{{- if false }}\nkind: ConfigMap\n{{- end }}\n")
    assert_fails_closed(render(root, tools, "--release", "empty"),
                        "helmfile rendered nothing for release 'empty'", "delete everything")


def test_a_document_without_kind_fails_closed(root: Path, tools: dict[str, str]) -> None:
    add_release(root, "kindless", "apiVersion: v1\nmetadata:\n  name: x\n")
    assert_fails_closed(render(root, tools, "--release", "kindless"),
                        "document 1 that helmfile rendered for release 'kindless'",
                        "no apiVersion and kind")


def _deployment(image: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": image}]}}}}


@pytest.mark.parametrize(("module_image", "rendered"), [
    ("docker.io/acme/app:1.0", "acme/app:1.0"),
    ("acme/app:1.0", "docker.io/acme/app:1.0"),
    ("docker.io/acme/app:1.0", "index.docker.io/acme/app:1.0"),
    ("docker.io/library/nginx:1.27", "nginx:1.27"),
    ("nginx:1.27", "docker.io/library/nginx:1.27@sha256:" + "0" * 64),
    ("ghcr.io/acme/app:1.0", "ghcr.io/acme/app:1.0"),
])
def test_an_image_written_as_the_runtime_reads_it_passes_the_image_check(
        module_image: str, rendered: str) -> None:
    """A Docker Hub image may be written without its registry or `library/`: the kubelet
    pulls the same image (distribution/reference v0.6.0, normalize.go), and the check failed
    every sync of such a chart."""
    from shipspec import helmfile

    helmfile.check_images([_deployment(rendered)], [("app", module_image)], "release app")


@pytest.mark.parametrize(("module_image", "rendered"), [
    ("docker.io/acme/app:1.0", "docker.io/library/app:1.0"),  # another image
    ("docker.io/acme/app:1.0", "ghcr.io/acme/app:1.0"),
    ("docker.io/acme/app:1.0", "acme/app:1.1"),
    ("localhost/acme/app:1.0", "acme/app:1.0"),  # localhost is a registry
    ("Acme/app:1.0", "docker.io/Acme/app:1.0"),  # so is a first part with a capital
])
def test_another_image_still_fails_the_image_check(module_image: str, rendered: str) -> None:
    from shipspec import helmfile
    from shipspec.errors import SpecError

    expected = f"does not pull module app's image {module_image};"
    with pytest.raises(SpecError, match=re.escape(expected)):
        helmfile.check_images([_deployment(rendered)], [("app", module_image)], "release app")


PIN = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("rendered", "pulled"), [
    (f"ghcr.io/acme/app:1.0@{PIN}", True),
    (f"ghcr.io/acme/app@{PIN}", True),  # Bitnami's common.images.image drops the tag
    ("ghcr.io/acme/app:1.0", False),  # the digest pinned is not what is pulled
    (f"ghcr.io/acme/app:1.0@sha256:{'cd' * 32}", False),
    (f"ghcr.io/acme/other@{PIN}", False),
])
def test_an_image_pinned_by_digest_passes_the_check_only_at_that_digest(
        rendered: str, pulled: bool) -> None:
    from shipspec import helmfile
    from shipspec.errors import SpecError

    expected = [("app", f"ghcr.io/acme/app:1.0@{PIN}")]
    if pulled:
        helmfile.check_images([_deployment(rendered)], expected, "release app")
    else:
        with pytest.raises(SpecError, match="does not pull module app's image"):
            helmfile.check_images([_deployment(rendered)], expected, "release app")


def test_a_digest_pinned_under_the_digest_key_is_part_of_the_image_checked(
        root: Path) -> None:
    """With deploy.digestKey (Bitnami's layout) `bump --digest` pins the digest beside the
    tag, and the chart pulls it in place of the tag: the check expects that digest."""
    from shipspec import helmfile
    from shipspec.specfile.resolve import load_spec

    edit(root / SPEC_DIR / "shipspec.yaml", "  tagKey: tag\n", "  tagKey: tag\n  digestKey: digest\n")
    edit(root / VALUES, '      tag: "core-stage-1.0-31c7ea7a"\n',
         f'      tag: "core-stage-1.0-31c7ea7a"\n      digest: "{PIN}"\n')
    spec = load_spec(str(root / SPEC_DIR))
    environment = helmfile.choose_environment(spec, "stage")
    assert environment.app is not None
    expected = {image for release in environment.app.releases
                for _, image in helmfile.expected_images(spec, environment, release, str(root))}
    assert expected == {*EXPECTED[:1], f"{EXPECTED[1]}@{PIN}", *EXPECTED[2:]}


def test_a_chart_pulling_one_string_is_checked_at_the_whole_reference(
        root: Path, tools: dict[str, str]) -> None:
    """deploy.imageKey: the values hold `image: <repository>:<tag>` and the chart pulls that
    string as it is. Rendered by the real helmfile and helm, the check expects each
    module's image at the tag (and digest) in the reference, and fails closed on another
    repository there."""
    chart = root / "helmfile/charts/astrago"
    (chart / "values.yaml").write_text("core: {image: docker.io/xiilab/astrago-backend:latest}\n")
    edit(chart / "templates/deployments.yaml",
         '"{{ default $component.image.registry $.Values.global.imageRegistry }}/'
         '{{ $component.image.repository }}:{{ $component.image.tag }}"',
         "{{ $component.image | quote }}")
    (root / "helmfile/values/astrago.yaml.gotmpl").write_text(
        '{{- range $name := list "core" "batch" "monitor" "frontend" }}\n'
        "{{ $name }}:\n  image: {{ index $.Values.astrago $name \"image\" | quote }}\n"
        "{{- end }}\n")
    (root / VALUES).write_text("astrago:\n" + "".join(
        f"  {module}:\n    image: {reference}\n" for module, reference in zip(
            ("batch", "core", "monitor", "frontend"),
            [EXPECTED[0], f"{EXPECTED[1]}@{PIN}", *EXPECTED[2:]], strict=True)))
    spec = root / SPEC_DIR / "shipspec.yaml"
    edit(spec, "  tagKey: tag\n  repositoryKey: repository\n  registryKey: registry\n"
               "  imageDefaults: astrago.imageDefaults\n", "  imageKey: image\n")
    edit(spec, "values: astrago.components.", "values: astrago.")
    result = render(root, tools, "--release", "astrago")
    assert result.code == 0, result.err
    assert images(result.out) == sorted([EXPECTED[0], f"{EXPECTED[1]}@{PIN}", *EXPECTED[2:]])
    edit(root / VALUES, "ghcr.io/xiilab/astrago-backend:monitor",
         "ghcr.io/xiilab/astrago-posco:monitor")
    assert_fails_closed(render(root, tools, "--release", "astrago"),
                        "does not pull module monitor's image "
                        "ghcr.io/xiilab/astrago-backend:monitor-stage-1.0-31c7ea7a")


def test_a_global_registry_that_wins_fails_the_image_check(root: Path,
                                                          tools: dict[str, str]) -> None:
    # an air-gapped mirror set for everything: the chart's `default` then ignores the
    # module's registry, and helm exits 0 with images CI never pushed
    edit(root / VALUES, "nfs:\n", 'offline:\n  registry: "mirror.local:5000"\nnfs:\n')
    result = render(root, tools, "--release", "astrago")
    assert_fails_closed(result, "module core's image "
                        "ghcr.io/xiilab/astrago-backend:core-stage-1.0-31c7ea7a",
                        "mirror.local:5000/xiilab/astrago-backend:core-stage-1.0-31c7ea7a")


def test_values_that_never_reach_the_chart_fail_the_image_check(root: Path,
                                                               tools: dict[str, str]) -> None:
    # the values file straight into the chart, without the .gotmpl: the chart's defaults
    edit(root / "helmfile/helmfile.yaml.gotmpl", "- ./values/astrago.yaml.gotmpl",
         "- ./environments/customers/xiilab/values.yaml")
    result = render(root, tools, "--release", "astrago")
    assert_fails_closed(result, "does not pull module core's image",
                        "docker.io/xiilab/astrago-backend:latest")


def test_a_module_without_a_tag_yet_has_no_image_to_check(root: Path,
                                                         tools: dict[str, str]) -> None:
    edit(root / VALUES, '      tag: "core-stage-1.0-31c7ea7a"\n', '      tag: ""\n')
    assert_fails_closed(render(root, tools, "--release", "astrago"),
                        f"{VALUES}:", "module core has no tag at astrago.components.core.tag")


# --- the memo: a refresh of the same spec starts helmfile first -----------------------------

@pytest.fixture
def logged(tmp_path: Path, tools: dict[str, str]) -> tuple[dict[str, str], Path]:
    """PATH with a helmfile that notes its arguments, then runs the real one."""
    wrapper = tmp_path / "wrapper"
    wrapper.mkdir()
    log = tmp_path / "helmfile.log"
    script = wrapper / "helmfile"
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {BIN}/helmfile "$@"\n')
    script.chmod(0o755)
    return {**tools, "PATH": f"{wrapper}:{tools['PATH']}"}, log


def memos(tools: dict[str, str]) -> dict[str, Any]:
    import json

    directory = Path(tools["XDG_CACHE_HOME"]) / "shipspec" / "helmfile"
    return {path.name: json.loads(path.read_text()) for path in directory.iterdir()}


def environments_run(log: Path) -> list[str]:
    return [line.split("--environment ")[1].split()[0] for line in log.read_text().splitlines()]


def test_a_refresh_remembers_the_run_and_the_next_starts_from_it(
        root: Path, logged: tuple[dict[str, str], Path]) -> None:
    tools, log = logged
    first = render(root, tools, "--release", "astrago")
    assert first.code == 0, first.err
    [memo] = memos(tools).values()
    assert memo == ["helmfile/helmfile.yaml.gotmpl", "xiilab", "astrago", "astrago"]
    # a memo that asks for another environment is found out by the checked spec: that run
    # is stopped and the right one runs, and is remembered
    [name] = memos(tools)
    (Path(tools["XDG_CACHE_HOME"]) / "shipspec" / "helmfile" / name).write_text(
        '["helmfile/helmfile.yaml.gotmpl", "default", "astrago", "astrago"]')
    log.write_text("")
    second = render(root, tools, "--release", "astrago")
    assert (second.code, second.out) == (0, first.out), second.err
    assert environments_run(log) == ["default", "xiilab"]
    assert memos(tools) == {name: memo}
    log.write_text("")
    third = render(root, tools, "--release", "astrago")
    assert (third.code, third.out) == (0, first.out)
    assert environments_run(log) == ["xiilab"]


def test_a_memo_belongs_to_the_spec_bytes_and_the_parameters(
        root: Path, tools: dict[str, str]) -> None:
    assert render(root, tools, "--release", "astrago").code == 0
    assert render(root, tools, "--release", "nfs-provisioner").code == 0
    edit(root / SPEC_DIR / "shipspec.yaml", "environments:", "# a comment\nenvironments:")
    assert render(root, tools, "--release", "astrago").code == 0
    assert sorted(map(tuple, memos(tools).values())) == [
        ("helmfile/helmfile.yaml.gotmpl", "xiilab", "astrago", "astrago"),
        ("helmfile/helmfile.yaml.gotmpl", "xiilab", "astrago", "astrago"),
        ("helmfile/helmfile.yaml.gotmpl", "xiilab", "nfs-provisioner", "nfs-provisioner")]


@pytest.mark.parametrize("memo", [
    '["../outside.yaml", "xiilab", "astrago", "astrago"]',
    '["helmfile/helmfile.yaml.gotmpl", "x --debug", "astrago", "astrago"]',
    '["helmfile/helmfile.yaml.gotmpl", "xiilab", "a,b", "astrago"]',
    '["helmfile/helmfile.yaml.gotmpl", "xiilab", "astrago", "astrago,name=x"]',
    '["helmfile/helmfile.yaml.gotmpl", "xiilab", "astrago"]',  # an earlier version's
    '{"not": "a list"}', "not json"])
def test_a_memo_a_checked_spec_could_not_ask_for_starts_nothing(
        root: Path, logged: tuple[dict[str, str], Path], memo: str) -> None:
    tools, log = logged
    assert render(root, tools, "--release", "astrago").code == 0
    [path] = (Path(tools["XDG_CACHE_HOME"]) / "shipspec" / "helmfile").iterdir()
    path.write_text(memo)
    log.write_text("")
    result = render(root, tools, "--release", "astrago")
    assert result.code == 0, result.err
    assert environments_run(log) == ["xiilab"]


def test_without_a_writable_cache_the_render_still_works(root: Path,
                                                         tools: dict[str, str]) -> None:
    blocked = Path(tools["XDG_CACHE_HOME"])
    blocked.write_text("a file where the cache directory would be")
    result = render(root, tools, "--release", "astrago")
    assert result.code == 0, result.err
    assert images(result.out) == EXPECTED


def test_a_spec_too_large_to_hash_renders_without_a_memo(root: Path,
                                                        tools: dict[str, str]) -> None:
    from shipspec.helmfile import EARLY_READ_LIMIT

    spec = root / SPEC_DIR / "shipspec.yaml"
    spec.write_text(spec.read_text() + "# padding\n" * (EARLY_READ_LIMIT // 10 + 1))
    result = render(root, tools, "--release", "astrago")
    assert result.code == 0, result.err
    assert images(result.out) == EXPECTED
    assert not (Path(tools["XDG_CACHE_HOME"]) / "shipspec").exists()


def test_the_memo_keeps_the_newest_entries(root: Path, tools: dict[str, str]) -> None:
    directory = Path(tools["XDG_CACHE_HOME"]) / "shipspec" / "helmfile"
    directory.mkdir(parents=True)
    for index in range(300):
        old = directory / f"{index:064x}"
        old.write_text('["helmfile/helmfile.yaml.gotmpl", "xiilab", "astrago"]')
        os.utime(old, (1_000_000 + index, 1_000_000 + index))
    assert render(root, tools, "--release", "astrago").code == 0
    kept = sorted(path.name for path in directory.iterdir())
    assert len(kept) == 256
    assert f"{299:064x}" in kept and f"{44:064x}" not in kept


def test_a_spec_that_fails_its_checks_stops_the_remembered_helmfile(
        root: Path, tools: dict[str, str]) -> None:
    assert render(root, tools, "--release", "astrago").code == 0
    # the same spec bytes, so the memo starts helmfile; the checks then fail
    edit(root / VALUES, '      tag: "core-stage-1.0-31c7ea7a"\n', '      tag: ""\n')
    assert_fails_closed(render(root, tools, "--release", "astrago"),
                        "module core has no tag at astrago.components.core.tag")


# --- the cluster: Argo CD's KUBE_VERSION and KUBE_API_VERSIONS -------------------------------

def test_a_chart_needing_a_newer_kubernetes_fails(root: Path, tools: dict[str, str]) -> None:
    old = render(root, tools, "--release", "nfs-provisioner", "--kube-version", "1.20.0")
    assert_fails_closed(old, "chart requires kubeVersion: >=1.21.0-0")
    new = render(root, tools, "--release", "nfs-provisioner", "--kube-version", "1.31.2")
    assert new.code == 0, new.err
    assert [d["kind"] for d in yaml.safe_load_all(new.out) if d] == ["StorageClass"]


def test_api_versions_reach_helm(root: Path, tools: dict[str, str]) -> None:
    without = render(root, tools, "--release", "astrago")
    assert "ServiceMonitor" not in without.out
    served = render(root, tools, "--release", "astrago", "--api-version", "apps/v1",
                    "--api-version", "monitoring.coreos.com/v1/ServiceMonitor")
    assert served.code == 0, served.err
    assert "kind: ServiceMonitor" in served.out


def test_the_largest_kube_api_versions_argo_cd_can_pass_reaches_helm(
        root: Path, tools: dict[str, str]) -> None:
    """Argo CD passes every API version and kind of the cluster in one variable,
    KUBE_API_VERSIONS (reposerver/repository/repository.go, v3.5.1), which execve takes up
    to 128 KiB (Linux's MAX_ARG_STRLEN, with the name and a NUL). helmfile got them as one
    `--args` string of a flag each, 15 characters an entry longer: at the largest Argo CD
    can pass, helmfile never started ("Argument list too long")."""
    kinds = ["monitoring.coreos.com/v1/ServiceMonitor",
             *(f"group-{n:04d}.example.com/v1/Kind{n:04d}" for n in range(3500))]
    while len("KUBE_API_VERSIONS=" + ",".join(kinds)) + 1 > 128 * 1024:
        kinds.pop()
    env = {**tools, "KUBE_API_VERSIONS": ",".join(kinds), "KUBE_VERSION": "1.31.2"}
    served = run_process("generate", SPEC_DIR, "--argocd", "--target", "helmfile", "--env",
                         "stage", "--release", "astrago", cwd=root, env=env)
    assert served.code == 0, served.err
    assert "kind: ServiceMonitor" in served.out


@pytest.mark.parametrize("flag", [["--kube-version", "1.31 --post-renderer=/bin/sh"],
                                  ["--api-version", "apps/v1 --post-renderer=/bin/sh"],
                                  ["--api-version=--post-renderer=/bin/sh"]])
def test_cluster_settings_cannot_smuggle_arguments(root: Path, tools: dict[str, str],
                                                   flag: list[str]) -> None:
    assert_fails_closed(render(root, tools, "--release", "astrago", *flag), "is not a")


def test_charts_that_generate_secrets_never_settle(root: Path, tools: dict[str, str]) -> None:
    """Documented (docs/guides/argo-cd.md): Argo CD compares each render with the cluster, so a chart that
    makes a random password differs on every refresh and never shows Synced."""
    add_release(root, "random", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: admin\n"
                "stringData:\n  password: {{ randAlphaNum 16 | quote }}\n")
    first = render(root, tools, "--release", "random")
    second = render(root, tools, "--release", "random")
    assert first.code == second.code == 0
    assert first.out != second.out


# --- the plugin, as Argo CD runs it ----------------------------------------------------------

def applications(root: Path, tools: dict[str, str]) -> list[dict[str, Any]]:
    result = run_process("generate", SPEC_DIR, "--target", "applications", cwd=root, env=tools)
    assert result.code == 0, result.err
    return [d for d in yaml.safe_load_all(result.out) if d]


def children_of_the_shipped_parent(root: Path,
                                   sidecar: dict[str, str]) -> list[dict[str, Any]]:
    """cmp/applications/astrago-stage.yaml rendered by the plugin as Argo CD runs it."""
    parent = shipped_application("astrago-stage")
    app_dir = root / parent["spec"]["source"]["path"]
    assert argo_cd.routing_error(parent, PLUGIN, str(app_dir)) is None
    result = run_plugin(PLUGIN["spec"]["generate"], app_dir,
                        argo_cd.plugin_environment(parent, sidecar))
    assert (result.returncode, "Traceback" in result.stderr) == (0, False), result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def test_the_shipped_parent_renders_each_release_in_argo_cds_environment(
        root: Path, tools: dict[str, str]) -> None:
    sidecar = {**SIDECAR, "PATH": f"{BIN}:{SIDECAR['PATH']}", "HOME": tools["HOME"]}
    children = children_of_the_shipped_parent(root, sidecar)
    assert children == applications(root, tools)  # the plugin renders what the CLI previews
    rendered: dict[str, list[dict[str, Any]]] = {}
    for application in children:
        app_dir = root / application["spec"]["source"]["path"]
        assert argo_cd.routing_error(application, PLUGIN, str(app_dir)) is None
        env = argo_cd.plugin_environment(application, sidecar)
        assert env["KUBE_VERSION"] == argo_cd.KUBE_VERSION
        result = run_plugin(PLUGIN["spec"]["generate"], app_dir, env)
        assert (result.returncode, "Traceback" in result.stderr) == (0, False), result.stderr
        rendered[application["metadata"]["name"]] = [
            d for d in yaml.safe_load_all(result.stdout) if d]
    assert sorted(rendered) == ["astrago-stage-astrago", "astrago-stage-nfs-provisioner"]
    assert images(yaml.safe_dump_all(rendered["astrago-stage-astrago"])) == EXPECTED
    assert [d["kind"] for d in rendered["astrago-stage-nfs-provisioner"]] == ["StorageClass"]


def test_the_plugin_finds_the_checkout_root_without_git(root: Path,
                                                       tools: dict[str, str]) -> None:
    """cmp/skip-git leaves .git out of the stream: the root is the application's directory
    without ARGOCD_APP_SOURCE_PATH, for the parent Application and for its children."""
    shutil.rmtree(root / ".git")
    sidecar = {**SIDECAR, "PATH": f"{BIN}:{SIDECAR['PATH']}", "HOME": tools["HOME"]}
    [application] = [a for a in children_of_the_shipped_parent(root, sidecar)
                     if a["metadata"]["name"] == "astrago-stage-astrago"]
    assert application["spec"]["source"]["path"] == SPEC_DIR
    env = argo_cd.plugin_environment(application, sidecar)
    result = run_plugin(PLUGIN["spec"]["generate"], root / SPEC_DIR, env)
    assert result.returncode == 0, result.stderr
    assert images(result.stdout) == EXPECTED


def test_the_plugin_refuses_settings_the_helmfile_target_cannot_honour(
        root: Path, tools: dict[str, str]) -> None:
    sidecar = {**SIDECAR, "PATH": f"{BIN}:{SIDECAR['PATH']}", "HOME": tools["HOME"]}
    [application] = [a for a in applications(root, tools)
                     if a["metadata"]["name"] == "astrago-stage-astrago"]
    application["spec"]["source"]["plugin"]["parameters"].append(
        {"name": "namespace", "string": "elsewhere"})
    env = argo_cd.plugin_environment(application, sidecar)
    result = run_plugin(PLUGIN["spec"]["generate"], root / SPEC_DIR, env)
    assert (result.returncode, result.stdout) == (1, "")
    assert "the release's namespace comes from the helmfile" in result.stderr


# --- helmfile confined: what a repository's helmfile may not do in the sidecar ----------------
# helmfile v0.166.0 runs a state's `prepare` hooks on `template` (pkg/app/run.go,
# withPreparedCharts: TriggerGlobalPrepareEvent), a template's `exec` (pkg/tmpl/context_funcs.go),
# a release's postRenderer through helm (pkg/state/helmx.go, appendPostRenderFlags) and the
# state's helmBinary in place of helm (pkg/app/app.go, getHelm); it reads a values file from any
# path. Each hostile helmfile below writes a file outside the checkout, or reads one: confined
# it fails closed and the file stays as it was; run unconfined, the same helmfile does what it
# asks, which shows that the confinement is what stopped it.

def _script(path: Path, marker: Path, then: str) -> str:
    path.write_text(f"#!/bin/sh\necho ran > {marker}\n{then}\n")
    path.chmod(0o755)
    return str(path)


def _hook(root: Path, marker: Path) -> None:
    with (root / "helmfile/helmfile.yaml.gotmpl").open("a") as stream:
        stream.write(f'\nhooks:\n- events: ["prepare"]\n  command: sh\n'
                     f'  args: ["-c", "echo ran > {marker}"]\n')


def _exec(root: Path, marker: Path) -> None:
    with (root / "helmfile/values/astrago.yaml.gotmpl").open("a") as stream:
        stream.write(f'# {{{{ exec "sh" (list "-c" "echo ran > {marker}") }}}}\n')


def _post_renderer(root: Path, marker: Path) -> None:
    script = _script(root / "helmfile" / "render.sh", marker, "exec cat")
    edit(root / "helmfile/helmfile.yaml.gotmpl", "    chart: ./charts/astrago\n",
         f"    chart: ./charts/astrago\n    postRenderer: {script}\n")


def _helm_binary(root: Path, marker: Path) -> None:
    script = _script(root / "helmfile" / "helm.sh", marker, f'exec {BIN}/helm "$@"')
    edit(root / "helmfile/helmfile.yaml.gotmpl", "helmDefaults:\n",
         f"helmBinary: {script}\nhelmDefaults:\n")


def _values_outside(root: Path, marker: Path) -> None:
    """A values file of another checkout: the marker, which the confined run cannot read."""
    marker.write_text("astrago:\n  note: another application's\n")
    edit(root / "helmfile/helmfile.yaml.gotmpl", "    - ./values/astrago.yaml.gotmpl\n",
         f"    - ./values/astrago.yaml.gotmpl\n    - {marker}\n")


def _values_over_http(root: Path, marker: Path) -> Callable[[], None]:
    """A values file fetched from a server (helmfile's go-getter), which writes the marker
    when asked; only Linux 6.7's Landlock (ABI 4) refuses the connection, as this machine's
    does, and helmfile 0.166 then panics (a nil pointer) rather than saying "permission
    denied". Returns the server's shutdown."""
    import http.server
    import threading

    class Values(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            marker.write_text("ran\n")
            self.send_response(200)
            self.end_headers()

        def do_GET(self) -> None:
            self.do_HEAD()
            self.wfile.write(b"astrago: {}\n")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Values)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    edit(root / "helmfile/helmfile.yaml.gotmpl", "    - ./values/astrago.yaml.gotmpl\n",
         f"    - ./values/astrago.yaml.gotmpl\n"
         f"    - http://127.0.0.1:{server.server_address[1]}/values.yaml\n")
    return server.shutdown


HOSTILE: dict[str, Callable[[Path, Path], Callable[[], None] | None]] = {
    "a prepare hook": _hook, "exec in a template": _exec, "a postRenderer": _post_renderer,
    "a helmBinary": _helm_binary, "a values file outside the checkout": _values_outside,
    "a values file over HTTP": _values_over_http}


def plugin_renders_astrago(root: Path, tools: dict[str, str], **sidecar: str) -> Any:
    """The release astrago of stage, rendered by the plugin as Argo CD runs it."""
    environment = {**SIDECAR, "PATH": f"{BIN}:{SIDECAR['PATH']}", "HOME": tools["HOME"],
                   **sidecar}
    [application] = [a for a in applications(root, tools)
                     if a["metadata"]["name"] == "astrago-stage-astrago"]
    return run_plugin(PLUGIN["spec"]["generate"], root / SPEC_DIR,
                      argo_cd.plugin_environment(application, environment))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_helmfile_is_stopped_by_the_confinement(
        root: Path, tools: dict[str, str], tmp_path: Path, hostile: str,
        request: pytest.FixtureRequest) -> None:
    from shipspec.helmfile import UNCONFINED

    marker = tmp_path / "elsewhere" / "marker"
    marker.parent.mkdir()
    stop = HOSTILE[hostile](root, marker)
    if stop is not None:
        request.addfinalizer(stop)
    before = marker.read_text() if marker.exists() else None
    sidecar_tmp = tmp_path / "sidecar-tmp"
    sidecar_tmp.mkdir()
    confined = plugin_renders_astrago(root, tools, TMPDIR=str(sidecar_tmp))
    assert (confined.returncode, confined.stdout) == (1, ""), confined.stderr
    if hostile != "a values file over HTTP":  # helmfile crashes on it: see _values_over_http
        assert "permission denied" in confined.stderr, confined.stderr
    assert "helmfile runs confined" in confined.stderr
    # a Go panic says its message, without the goroutines' stacks
    assert "goroutine" not in confined.stderr and "Traceback" not in confined.stderr
    assert (marker.read_text() if marker.exists() else None) == before
    assert list(sidecar_tmp.iterdir()) == []  # its scratch directory is gone

    unconfined = plugin_renders_astrago(root, tools, **{UNCONFINED: "1"})
    if hostile == "a values file outside the checkout":
        assert unconfined.returncode == 0, unconfined.stderr
    else:
        assert marker.read_text() == "ran\n", unconfined.stderr


def test_an_application_cannot_turn_the_confinement_off(root: Path, tools: dict[str, str],
                                                        tmp_path: Path) -> None:
    """Argo CD passes an Application's plugin env prefixed (ARGOCD_ENV_), so only the
    sidecar's own environment can say UNCONFINED."""
    from shipspec.helmfile import UNCONFINED

    marker = tmp_path / "marker"
    _hook(root, marker)
    sidecar = {**SIDECAR, "PATH": f"{BIN}:{SIDECAR['PATH']}", "HOME": tools["HOME"]}
    [application] = [a for a in applications(root, tools)
                     if a["metadata"]["name"] == "astrago-stage-astrago"]
    application["spec"]["source"]["plugin"]["env"] = [{"name": UNCONFINED, "value": "1"}]
    env = argo_cd.plugin_environment(application, sidecar)
    assert env[f"ARGOCD_ENV_{UNCONFINED}"] == "1" and UNCONFINED not in env
    result = run_plugin(PLUGIN["spec"]["generate"], root / SPEC_DIR, env)
    assert (result.returncode, result.stdout) == (1, "")
    assert not marker.exists()


def test_a_refresh_argo_cd_stops_leaves_no_scratch_directory(root: Path, tools: dict[str, str],
                                                             tmp_path: Path) -> None:
    """Argo CD stops a refresh that ran out of time with SIGTERM to the plugin's process
    group, then SIGKILL 5 s later (v3.5.1 cmpserver/plugin/plugin.go, runCommand): shipspec
    stops helmfile and removes the confined run's scratch directory, as on Ctrl-C."""
    import signal
    import time

    with (root / "helmfile/values/astrago.yaml.gotmpl").open("a") as stream:
        stream.write("# {{ range $i := until 100000 }}{{ range $j := until 100000 }}"
                     "{{ end }}{{ end }}\n")  # helmfile busy for hours
    sidecar_tmp = tmp_path / "sidecar-tmp"
    sidecar_tmp.mkdir()
    sidecar = {**SIDECAR, "PATH": f"{BIN}:{SIDECAR['PATH']}", "HOME": tools["HOME"],
               "TMPDIR": str(sidecar_tmp)}
    [application] = [a for a in applications(root, tools)
                     if a["metadata"]["name"] == "astrago-stage-astrago"]
    process = subprocess.Popen(
        PLUGIN["spec"]["generate"]["command"], cwd=root / SPEC_DIR,
        env=argo_cd.plugin_environment(application, sidecar), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True)  # its own group, as Argo CD starts it
    deadline = time.monotonic() + 30
    while not any(path.name.startswith("helmfile") for scratch in sidecar_tmp.iterdir()
                  for path in scratch.iterdir()):  # helmfile has begun its own temporary files
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out) == (143, b""), err
    assert err.decode().endswith("shipspec: terminated\n")
    assert list(sidecar_tmp.iterdir()) == []


def test_a_confined_render_equals_the_unconfined_one(root: Path, tools: dict[str, str]) -> None:
    from shipspec.helmfile import UNCONFINED

    confined = plugin_renders_astrago(root, tools)
    assert (confined.returncode, confined.stderr) == (0, ""), confined.stderr
    assert confined.stdout == plugin_renders_astrago(root, tools, **{UNCONFINED: "1"}).stdout
    assert images(confined.stdout) == EXPECTED


# --- Applications ----------------------------------------------------------------------------

def parent_renders(root: Path, tools: dict[str, str], **changes: Any) -> Any:
    """The shipped parent of stage, its spec changed as `changes` say, rendered as Argo
    CD runs it."""
    parent = shipped_application("astrago-stage")
    parent["spec"].update(changes.pop("spec", {}))
    parent["spec"]["source"]["plugin"]["parameters"] += changes.pop("parameters", [])
    sidecar = {**SIDECAR, "PATH": f"{BIN}:{SIDECAR['PATH']}", "HOME": tools["HOME"]}
    return run_plugin(PLUGIN["spec"]["generate"], root / parent["spec"]["source"]["path"],
                      argo_cd.plugin_environment(parent, sidecar))


def test_the_applications_stay_in_the_parents_project(root: Path, tools: dict[str, str]) -> None:
    """Whoever may push to the deployment repository (every CI run's deploy token) may
    change the spec; the AppProject of the Applications it renders is the parent's, an
    object in the cluster, to give: Argo CD v3.5.1 calls creating Applications in any
    project admin-level (docs/operator-manual/cluster-bootstrapping.md)."""
    edit(root / SPEC_DIR / "shipspec.yaml", "      syncOptions: [CreateNamespace=true]\n",
         "      syncOptions: [CreateNamespace=true]\n      project: platform-admin\n")
    refused = parent_renders(root, tools)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr.startswith("shipspec.yaml:62:16: error: environments.stage.app.project: ")
    assert ("the Applications of environment 'stage' would be in project 'platform-admin', "
            "and the parent Application is in project 'default'") in refused.stderr
    assert "set app.project to 'default', or list the projects" in refused.stderr
    # the parent in that project, or listing it, hands it out
    moved = parent_renders(root, tools, spec={"project": "platform-admin"})
    assert moved.returncode == 0, moved.stderr
    listed = parent_renders(root, tools, parameters=[
        {"name": "projects", "array": ["astrago", "platform-admin"]}])
    assert listed.returncode == 0, listed.stderr
    assert {child["spec"]["project"] for child in yaml.safe_load_all(listed.stdout)
            if child} == {"platform-admin"}
    # a list that leaves it out refuses it, the parent's own project included
    narrow = parent_renders(root, tools, spec={"project": "platform-admin"},
                            parameters=[{"name": "projects", "array": ["astrago"]}])
    assert (narrow.returncode, narrow.stdout) == (1, "")
    assert "which may create them in astrago" in narrow.stderr



@pytest.mark.parametrize("values", [VALUES, "environments/xiilab/values.yaml"])
def test_a_bump_renders_the_environments_applications_again(root: Path, tools: dict[str, str],
                                                            values: str) -> None:
    """A bump commits the environment's values file alone; Argo CD renders an Application
    again only when a changed file is under its manifest-generate-paths (tests/argo_cd.py,
    renders_again), and otherwise keeps the manifests of the revision before: the new tag
    was never deployed where the values file sat outside the helmfile's directory."""
    if values != VALUES:
        (root / values).parent.mkdir(parents=True)
        shutil.move(root / VALUES, root / values)
        edit(root / "helmfile" / "helmfile.yaml.gotmpl",
             "./environments/customers/xiilab/values.yaml", "../environments/xiilab/values.yaml")
        edit(root / SPEC_DIR / "shipspec.yaml", f"values: {VALUES}", f"values: {values}")
    assert images(render(root, tools, "--release", "astrago").out) == EXPECTED
    for application in applications(root, tools):
        assert argo_cd.renders_again(application, [values])
        assert not argo_cd.renders_again(application, ["README.md"])


def test_one_application_per_release(root: Path, tools: dict[str, str]) -> None:
    found = {a["metadata"]["name"]: a for a in applications(root, tools)}
    astrago = found["astrago-stage-astrago"]
    assert astrago["metadata"]["namespace"] == "argocd"
    assert astrago["metadata"]["annotations"] == {
        "argocd.argoproj.io/manifest-generate-paths": ".;/helmfile"}
    assert astrago["spec"] == {
        "project": "default",
        "source": {"repoURL": "https://github.com/xiilab/astrago-deployment.git",
                   "targetRevision": "main", "path": SPEC_DIR,
                   "plugin": {"name": "shipspec-v1", "parameters": [
                       {"name": "target", "string": "helmfile"},
                       {"name": "environment", "string": "stage"},
                       {"name": "release", "string": "astrago"}]}},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "astrago"},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true", "FailOnSharedResource=true"]},
    }
    assert found["astrago-stage-nfs-provisioner"]["spec"]["destination"]["namespace"] == \
        "nfs-provisioner"


def test_an_object_of_another_application_fails_the_sync_unless_the_spec_says(
        root: Path, tools: dict[str, str]) -> None:
    """Two Applications that render one object take it from each other on every sync (Argo
    CD v3.5.1 marks it SharedResourceWarning, controller/state.go); FailOnSharedResource
    fails the sync instead (controller/sync.go). A spec that chose otherwise keeps it."""
    edit(root / SPEC_DIR / "shipspec.yaml", "syncOptions: [CreateNamespace=true]",
         "syncOptions: [CreateNamespace=true, FailOnSharedResource=false]")
    assert {tuple(a["spec"]["syncPolicy"]["syncOptions"]) for a in applications(root, tools)} \
        == {("CreateNamespace=true", "FailOnSharedResource=false")}


def test_validate_checks_the_releases_against_the_helmfile(root: Path,
                                                          tools: dict[str, str]) -> None:
    valid = run_process("validate", SPEC_DIR, "--deployment", ".", cwd=root, env=tools)
    assert valid.code == 0, valid.err
    edit(root / SPEC_DIR / "shipspec.yaml", "namespace: astrago\n", "namespace: astrago-app\n")
    edit(root / SPEC_DIR / "shipspec.yaml", "        nfs-provisioner:", "        nfs:")
    wrong = run_process("validate", SPEC_DIR, "--deployment", ".", cwd=root, env=tools)
    assert wrong.code == 1
    # each at its place in the spec: the namespace's value, the release's name
    spec_lines = (root / SPEC_DIR / "shipspec.yaml").read_text().splitlines()
    line = next(n for n, text in enumerate(spec_lines, 1) if "namespace: astrago-app" in text)
    assert (f"{SPEC_DIR}/shipspec.yaml:{line}:22: error: environments.stage.app.releases."
            "astrago.namespace: 'astrago-app', but helmfile puts the release in 'astrago'"
            ) in wrong.err
    line = next(n for n, text in enumerate(spec_lines, 1) if text == "        nfs:")
    assert (f"{SPEC_DIR}/shipspec.yaml:{line}:9: error: environments.stage.app.releases.nfs: "
            "helmfile/helmfile.yaml.gotmpl has no release 'nfs' in environment 'xiilab'"
            ) in wrong.err


def test_validate_says_where_the_helmfile_it_cannot_list_is_named(
        root: Path, tools: dict[str, str]) -> None:
    (root / "helmfile" / "helmfile.yaml.gotmpl").write_text("releases: [unclosed\n")
    result = run_process("validate", SPEC_DIR, "--deployment", ".", cwd=root, env=tools)
    assert result.code == 1
    spec_lines = (root / SPEC_DIR / "shipspec.yaml").read_text().splitlines()
    line = next(n for n, text in enumerate(spec_lines, 1) if text == "    app:")
    assert result.err.startswith(
        f"{SPEC_DIR}/shipspec.yaml:{line + 1}:7: error: environments.stage.app: helmfile "
        "cannot list the releases of environment 'xiilab':\n"), result.err


def test_a_render_without_the_values_file_or_an_app_names_the_field(
        root: Path, tools: dict[str, str]) -> None:
    spec_lines = (root / SPEC_DIR / "shipspec.yaml").read_text().splitlines()
    (root / VALUES).unlink()
    line = next(n for n, text in enumerate(spec_lines, 1) if text == f"    values: {VALUES}")
    assert_fails_closed(render(root, tools, "--release", "astrago"),
                        f"{SPEC_DIR}/shipspec.yaml:{line}:13: error: environments.stage.values: "
                        f"{VALUES} is not a file in the deployment checkout")
    edit(root / SPEC_DIR / "shipspec.yaml", "environments:\n",
         "environments:\n  prod: {branch: main, values: prod.yaml}\n")
    assert_fails_closed(run_process("generate", SPEC_DIR, "--target", "helmfile", "--env",
                                    "prod", cwd=root, env=tools),
                        f"{SPEC_DIR}/shipspec.yaml:{spec_lines.index('environments:') + 2}:9: "
                        "error: environments.prod.app: environment 'prod' says nothing of how "
                        "its applications render")


def test_validate_asks_for_a_namespace_the_helmfile_does_not_give(
        root: Path, tools: dict[str, str]) -> None:
    """A release without a namespace in the helmfile (astrago-deployment's mpi-operator) is
    rendered in whatever namespace helm runs in; the hint said to give the helmfile's, which
    is none. Its render fails closed: the release is found by the spec's namespace too."""
    edit(root / "helmfile" / "helmfile.yaml.gotmpl", "    namespace: nfs-provisioner\n", "")
    assert_fails_closed(render(root, tools, "--release", "nfs-provisioner"),
                        "selector(name=nfs-provisioner,namespace=nfs-provisioner)",
                        f"`shipspec validate {SPEC_DIR}/shipspec.yaml --deployment {root}` says "
                        "which releases")
    result = run_process("validate", SPEC_DIR, "--deployment", ".", cwd=root, env=tools)
    assert result.code == 1
    assert ("environments.stage.app.releases.nfs-provisioner.namespace: 'nfs-provisioner', "
            "but helmfile gives the release no namespace\n  hint: set `namespace: "
            "nfs-provisioner` on the release in helmfile/helmfile.yaml.gotmpl: helm renders "
            "it in the namespace it runs in otherwise\n") in result.err


def test_a_release_named_as_one_in_another_namespace_renders_alone(
        root: Path, tools: dict[str, str]) -> None:
    """helmfile takes releases of one name in several namespaces (one per tenant, say), and
    `--selector name=` picked them all: the Application of `tenant` in team-a rendered
    team-b's release too, whose namespace-less ConfigMap of the same name Argo CD put in
    team-a, keeping the last. Each release renders alone now, found by its name and
    namespace; validate names the namespaces a release of that name has."""
    add_release(root, "tenant", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings"
                "\ndata:\n  tenant: {{ .Release.Namespace }}\n")
    edit(root / "helmfile/helmfile.yaml.gotmpl", "    namespace: tenant\n",
         "    namespace: team-a\n")
    with (root / "helmfile/helmfile.yaml.gotmpl").open("a") as stream:
        stream.write("\n  - name: tenant\n    namespace: team-b\n    chart: ./charts/tenant\n")
    edit(root / SPEC_DIR / "shipspec.yaml", "          namespace: tenant\n",
         "          namespace: team-a\n")
    rendered = render(root, tools, "--release", "tenant")
    assert rendered.code == 0, rendered.err
    assert [d["data"] for d in yaml.safe_load_all(rendered.out)] == [{"tenant": "team-a"}]
    assert run_process("validate", SPEC_DIR, "--deployment", ".", cwd=root,
                       env=tools).code == 0
    edit(root / SPEC_DIR / "shipspec.yaml", "          namespace: team-a\n",
         "          namespace: team-b\n")
    rendered = render(root, tools, "--release", "tenant")
    assert [d["data"] for d in yaml.safe_load_all(rendered.out)] == [{"tenant": "team-b"}]
    edit(root / SPEC_DIR / "shipspec.yaml", "          namespace: team-b\n",
         "          namespace: team-c\n")
    assert_fails_closed(render(root, tools, "--release", "tenant"),
                        "selector(name=tenant,namespace=team-c)")
    validated = run_process("validate", SPEC_DIR, "--deployment", ".", cwd=root, env=tools)
    assert validated.code == 1
    assert ("environments.stage.app.releases.tenant.namespace: 'team-c', but helmfile puts "
            "the release in 'team-a', 'team-b'\n") in validated.err


@pytest.mark.parametrize(("old", "new", "message"), [
    ("modules: [core, batch, monitor, frontend]", "modules: [core, batch, monitor]",
     "module 'frontend' deploys to 'stage', but no release renders it"),
    ("modules: [core, batch, monitor, frontend]",
     "modules: [core, batch, monitor, frontend, core]",
     "module 'core' is already rendered by the release 'astrago'"),
    ("modules: [core, batch, monitor, frontend]",
     "modules: [core, batch, monitor, frontend, web]",
     "module 'web' does not deploy to 'stage' through the values file"),
    ("      syncOptions:", "      destination: {server: https://k.example, name: prod}\n"
     "      syncOptions:", "give the cluster's server or its name, one of them"),
    ("      helmfile: helmfile/helmfile.yaml.gotmpl", "      helmfile: ../helmfile.yaml",
     "must not leave the repository"),
])
def test_the_spec_checks_its_app(root: Path, tools: dict[str, str], old: str, new: str,
                                 message: str) -> None:
    edit(root / SPEC_DIR / "shipspec.yaml", old, new)
    result = run_process("validate", SPEC_DIR, cwd=root, env=tools)
    assert result.code == 1
    assert message in result.err, result.err


def test_two_releases_whose_applications_share_a_name_are_refused(repo: Path) -> None:
    """`<project>-<environment>-<release>`: environment `stage` with release `api-web` and
    `stage-api` with `web` both made `shop-stage-api-web`, and the parent Application kept
    one of the two (argo-cd controller/state.go, NormalizeTargetObjects, at 37ee0097cf:
    "Resource ... appeared 2 times among application resources", only the last applied):
    the other environment's release was never deployed."""
    (repo / "shipspec.yaml").write_text(
        "project: shop\nregistry: {url: ghcr.io/o}\n"
        "source: {url: https://github.com/o/app.git, webhookSecret: hook}\n"
        "deploy: {url: https://github.com/o/deploy.git}\nenvironments:\n"
        "  stage:\n    branch: main\n    values: stage.yaml\n"
        "    app: {helmfile: helmfile.yaml, releases: {api-web: {namespace: a, "
        "modules: [core]}}}\n"
        "  stage-api:\n    branch: release\n    values: stage-api.yaml\n"
        "    app: {helmfile: helmfile.yaml, releases: {web: {namespace: b, modules: [core]}}}\n"
        "modules:\n  core: {values: apps.core}\n")
    result = run_process("generate", str(repo), "--target", "applications")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"{repo}/shipspec.yaml:13:47: error: environments.stage-api.app.releases.web: the "
        "Application name 'shop-stage-api-web' is also that of the release 'api-web' of "
        "environment 'stage': Argo CD would keep one of the two Applications\n"
        "  hint: rename one of the environments (app.environment keeps helmfile's name "
        "for it): release names are helmfile's\n")


def test_an_application_name_past_63_characters_is_refused_with_a_hint_that_works(
        repo: Path) -> None:
    """The hint said to shorten the release's name too, which must stay helmfile's (the
    spec's check refuses a release helmfile does not have)."""
    (repo / "shipspec.yaml").write_text(
        "project: shop\nregistry: {url: ghcr.io/o}\n"
        "source: {url: https://github.com/o/app.git, webhookSecret: hook}\n"
        "deploy: {url: https://github.com/o/deploy.git}\nenvironments:\n"
        f"  {'s' * 40}:\n    branch: main\n    values: stage.yaml\n"
        f"    app: {{helmfile: helmfile.yaml, releases: {{{'r' * 20}: {{namespace: a, "
        "modules: [core]}}}\nmodules:\n  core: {values: apps.core}\n")
    result = run_process("validate", str(repo))
    assert result.code == 1
    assert (f"the Application name 'shop-{'s' * 40}-{'r' * 20}' is longer than 63 "
            "characters\n  hint: shorten the project or the environment (app.environment "
            "keeps helmfile's name for it): release names are helmfile's\n") in result.err


def test_a_disabled_module_leaves_the_image_check(root: Path, tools: dict[str, str]) -> None:
    edit(root / SPEC_DIR / "shipspec.yaml", "  batch:\n", "  batch:\n    enabled: false\n")
    edit(root / VALUES, '"batch-stage-1.0-31c7ea7a"', '""')
    result = render(root, tools, "--release", "astrago")
    assert result.code == 0, result.err


def test_helmfile_missing_is_a_runtime_failure(root: Path, tools: dict[str, str]) -> None:
    env = {**tools, "PATH": "/nonexistent"}
    result = subprocess.run([sys.executable, "-m", "shipspec", "generate", SPEC_DIR,
                             "--target", "helmfile", "--env", "stage", "--release", "astrago"],
                            cwd=root, env=env, capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: cannot run helmfile: No such file or directory")


# --- Applications against Argo CD's own types ------------------------------------------------
# @kubernetes-models/argo-cd (npm, pinned in tests/tools/package.json) is generated from Argo
# CD v3's Go types (github.com/argoproj/argo-cd/v3 pkg/apis/application/v1alpha1): its
# compiled JSON schemas check types and required fields at run time, and TypeScript's excess
# property check on its interfaces refuses every field Argo CD does not know. Its 4.0.0 was
# generated before v3.5 (it lacks v3.5's source.tagPrefix); every field shipspec writes has
# the same JSON name in v3.5.1's types.go, the version the plugin tests emulate.
TOOLS = REPO / "tests" / "tools"


def argo_cd_type_problems(objects: list[dict[str, Any]], scratch: Path) -> list[str]:
    import json

    scratch.mkdir()
    (scratch / "node_modules").symlink_to(TOOLS / "node_modules")
    (scratch / "package.json").write_text('{"type": "module"}\n')
    (scratch / "applications.ts").write_text(
        'import type { IApplication } from '
        '"@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application";\n'
        f"export const applications: IApplication[] = {json.dumps(objects, indent=1)};\n")
    typed = subprocess.run([str(TOOLS / "node_modules" / ".bin" / "tsc"), "--noEmit", "--strict",
                            "--module", "nodenext", "--moduleResolution", "nodenext",
                            "--target", "es2022", "--skipLibCheck", "applications.ts"],
                           cwd=scratch, capture_output=True, text=True, check=False)
    validated = subprocess.run(["node", str(TOOLS / "argo_cd_application.mjs")],
                               input=json.dumps(objects), capture_output=True, text=True,
                               check=True)
    return [line for line in typed.stdout.splitlines() if "error" in line] + [
        f"{index}: {message}" for index, message in json.loads(validated.stdout)]


def test_applications_are_valid_argo_cd_applications(root: Path, tools: dict[str, str],
                                                    tmp_path: Path) -> None:
    rendered = applications(root, tools)
    assert argo_cd_type_problems(rendered, tmp_path / "valid") == []
    # the check is strict: a field Argo CD does not know, and a value of the wrong type
    rendered[0]["spec"]["source"]["plugin"]["parameters"][0]["strng"] = "helmfile"
    rendered[1]["spec"]["destination"]["namespace"] = 7
    problems = argo_cd_type_problems(rendered, tmp_path / "invalid")
    assert any("'\"strng\"' does not exist" in problem for problem in problems), problems
    assert any("destination/namespace must be string" in problem for problem in problems), \
        problems


def test_the_sidecar_image_pins_the_binaries_the_tests_run() -> None:
    from tests.tools.unpack_binaries import BINARIES

    text = (REPO / "Dockerfile").read_text()
    for binary in BINARIES:
        assert f"{binary.sha256} /out/{binary.name}" in text
    assert "HELMFILE_UPGRADE_NOTICE_DISABLED=1" in text
    assert "ARG HELM_VERSION=3.18.0" in text and "ARG HELMFILE_VERSION=0.166.0" in text


def test_a_local_render_outside_the_deployment_checkout_names_the_flag(
        tmp_path: Path, tools: dict[str, str]) -> None:
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "shipspec.yaml").write_text(
        (REPO / "examples" / "astrago" / "shipspec.yaml").read_text())
    result = run_process("generate", "spec", "--target", "helmfile", "--env", "stage",
                         "--release", "astrago", cwd=tmp_path, env=tools)
    line = next(n for n, text in enumerate((REPO / "examples" / "astrago" / "shipspec.yaml")
                                           .read_text().splitlines(), 1)
                if text == "      helmfile: helmfile/helmfile.yaml.gotmpl")
    assert_fails_closed(result, f"spec/shipspec.yaml:{line}:17: error: environments.stage.app"
                        ".helmfile: helmfile/helmfile.yaml.gotmpl is not a file in the "
                        "deployment checkout", "locally, name a checkout of the deployment "
                        "repository with --deployment DIR")
