"""`shipspec values`: the spec's images merged into a values file without losing anything."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES, REPO, assert_golden, run_process

# Seed B with the values layout before October 2025 (tests/fixtures/astrago-keyed).
ASTRAGO_KEYED = REPO / "tests" / "fixtures" / "astrago-keyed"


GOLDEN = Path(__file__).parent / "golden" / "values"
DEPLOYED = """\
# xiilab customer environment
global:
  domain: astrago.example   # unrelated key, kept
astrago:
  core:
    repository: "xiilab/astrago-posco"   # existing structure kept
    imageTag: "core-stage-a1b2c3d4"      # deployed: never reset
  batch:
    repository: ghcr.io/xiilab/astrago-backend
    imageTag: batch-stage-a1b2c3d4
    resources: {limits: {memory: 2Gi}}
"""


def test_render_prints_each_module_repository_under_its_key(cli) -> None:
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage")
    assert (result.code, result.out) == (0, (
        "---\nastrago:\n"
        "  core:\n    repository: ghcr.io/xiilab/astrago-backend\n"
        "  batch:\n    repository: ghcr.io/xiilab/astrago-backend\n"
        "  monitor:\n    repository: ghcr.io/xiilab/astrago-backend\n"
        "  frontend:\n    repository: ghcr.io/xiilab/astrago-frontend\n"))
    assert cli("generate", str(ASTRAGO_KEYED), "--target", "values").out == result.out


def test_write_changes_only_the_lines_it_must(cli, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(DEPLOYED)
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--write", str(values))
    assert result.code == 0, result.err
    assert result.out == (f"wrote {values}\n"
                          "  monitor: added with no tag yet; shipspec bump sets it\n"
                          "  frontend: added with no tag yet; shipspec bump sets it\n")
    after = values.read_text()
    changed = [line for line in difflib.ndiff(DEPLOYED.splitlines(True), after.splitlines(True))
               if line[:1] in "+-"]
    assert changed == [
        '-     repository: "xiilab/astrago-posco"   # existing structure kept\n',
        '+     repository: "ghcr.io/xiilab/astrago-backend"   # existing structure kept\n',
        "+   monitor:\n", "+     repository: ghcr.io/xiilab/astrago-backend\n",
        "+     imageTag: ''\n", "+   frontend:\n",
        "+     repository: ghcr.io/xiilab/astrago-frontend\n", "+     imageTag: ''\n"]
    assert_golden(GOLDEN / "merged.yaml", after)
    again = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--write", str(values))
    assert again.out == f"{values} is up to date with {ASTRAGO_KEYED / 'shipspec.yaml'}\n"


def test_check_reports_drift_where_the_file_says_it(cli, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(DEPLOYED)
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--check", str(values))
    assert (result.code, result.out) == (1, "")
    assert values.read_text() == DEPLOYED
    assert (f"{values}:6:17: error: astrago.core.repository: 'xiilab/astrago-posco', but CI "
            "pushes module core to 'ghcr.io/xiilab/astrago-backend'") in result.err
    assert f"{values}:1:1: error: astrago.monitor.imageTag: module monitor is missing" \
        in result.err
    assert "+    repository: \"ghcr.io/xiilab/astrago-backend\"" in result.err
    # the spec's path is in the hint, so it runs from where the user stands
    assert (f"hint: run: shipspec values {ASTRAGO_KEYED} --env stage --write {values}"
            in result.err)


def test_check_leaves_out_a_diff_too_costly_to_compute(cli, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """difflib's time grows with changes times lines; past the budget the diff is left out,
    said so, and the errors still name every key (below it: difflib's diff as it is)."""
    from shipspec.cli import values as command

    old = "".join(f"  m{i}:\n    repository: r{i}\n" for i in range(40))
    new = "".join(f"  m{i}:\n    repository: r{i}\n    imageTag: ''\n" for i in range(40))
    assert command.drift(old, new, "v.yaml") == "".join(difflib.unified_diff(
        old.splitlines(True), new.splitlines(True), "v.yaml", "v.yaml (from the spec)"))
    monkeypatch.setattr(command, "DIFF_BUDGET", 40 * (80 + 120) - 1)
    assert command.drift(old, new, "v.yaml") == (
        "about 40 of its lines differ (the diff is left out at this size; the errors name "
        "every key)\n")

    values = tmp_path / "values.yaml"
    values.write_text(DEPLOYED)
    monkeypatch.setattr(command, "DIFF_BUDGET", 10)
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--check", str(values))
    assert (result.code, result.out) == (1, "")
    assert "(the diff is left out at this size; the errors name every key)" in result.err
    assert "+    repository:" not in result.err
    assert f"{values}:1:1: error: astrago.monitor.imageTag: module monitor is missing" \
        in result.err


def test_check_writes_nothing_so_reads_no_result_back(cli, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The edit check (both YAML readers over the old and the new text; ruamel.yaml in
    pure Python) guards what is written: most of --check's time for a large file (one of
    2,000 modules: 1.8-3.2 s, and 0.8-1.4 s without it), where the verdict is only whether
    the file is out of date. --write still reads the result back before writing it."""
    from shipspec.values import edit_check

    reads: list[int] = []
    real_check = edit_check._check
    monkeypatch.setattr(edit_check, "_check", lambda *args: (reads.append(1),
                                                             real_check(*args))[1])
    values = tmp_path / "values.yaml"
    values.write_text(DEPLOYED)
    checked = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--check", str(values))
    assert checked.code == 1 and "module monitor is missing" in checked.err
    assert reads == [] and values.read_text() == DEPLOYED
    written = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--write", str(values))
    assert written.code == 0 and reads == [1]


def test_check_passes_once_written(cli, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(DEPLOYED)
    cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--write", str(values))
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--check", str(values))
    assert result.code == 0


def test_crlf_is_kept_and_a_missing_file_is_created(cli, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_bytes(DEPLOYED.replace("\n", "\r\n").encode())
    cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--write", str(values))
    written = values.read_bytes().decode()
    assert "\n" not in written.replace("\r\n", "")
    assert "core-stage-a1b2c3d4" in written
    new = tmp_path / "new" / "values.yaml"
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--write", str(new))
    assert result.code == 0 and "    imageTag: ''\n" in new.read_text()


@pytest.mark.parametrize("text", ["- a list\n", "astrago: [1, 2]\n"])
def test_a_file_that_is_not_values_is_refused(cli, tmp_path: Path, text: str) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(text)
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--write", str(values))
    assert result.code == 1
    assert "cannot add astrago." in result.err
    assert values.read_text() == text


def test_validate_reports_a_deployed_repository_that_differs_from_ci(cli, tmp_path: Path) -> None:
    """Seed B's own example: values say xiilab/astrago-posco, CI pushes astrago-backend."""
    values = tmp_path / "helmfile" / "environments" / "customers" / "xiilab" / "values.yaml"
    values.parent.mkdir(parents=True)
    values.write_text(DEPLOYED)
    result = cli("validate", str(ASTRAGO_KEYED), "--deployment", str(tmp_path))
    assert (result.code, result.out) == (1, "")
    assert (f"{values}:6:17: error: astrago.core.repository: 'xiilab/astrago-posco', but CI "
            "pushes module core to 'ghcr.io/xiilab/astrago-backend'\n"
            "  hint: fix image in shipspec.yaml, or let `shipspec values --write` set it") \
        in result.err
    cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--write", str(values))
    assert cli("validate", str(ASTRAGO_KEYED), "--deployment", str(tmp_path)).code == 0


def test_validate_names_a_values_file_missing_from_the_checkout(cli, tmp_path: Path) -> None:
    result = cli("validate", str(ASTRAGO_KEYED), "--deployment", str(tmp_path))
    assert result.code == 1
    assert result.err.startswith(f"{ASTRAGO_KEYED}/shipspec.yaml:48:13: error: "
                                 "environments.stage.values: "
                                 f"{tmp_path}/helmfile/environments/customers/xiilab/values.yaml "
                                 "does not exist in the deployment checkout")


def test_validate_refuses_deployment_files_named_through_a_link_as_bump_does(
        cli, tmp_path: Path) -> None:
    """A values file (or an overlay's directory) that is a link to another file of the
    checkout validated, and every bump of it was then refused: git commits the link, not
    the file a bump writes."""
    values = tmp_path / "helmfile" / "environments" / "customers" / "xiilab" / "values.yaml"
    values.parent.mkdir(parents=True)
    shared = tmp_path / "helmfile" / "environments" / "shared.yaml"
    shared.write_text(DEPLOYED.replace("xiilab/astrago-posco", "ghcr.io/xiilab/astrago-backend"))
    values.symlink_to("../../shared.yaml")
    result = cli("validate", str(ASTRAGO_KEYED), "--deployment", str(tmp_path))
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(
        f"{ASTRAGO_KEYED}/shipspec.yaml:48:13: error: environments.stage.values: "
        "helmfile/environments/customers/xiilab/values.yaml in the deployment repository "
        "leads through a link to helmfile/environments/shared.yaml: git would commit the "
        "link, not the file a bump writes\n"
        "  hint: name helmfile/environments/shared.yaml in the spec, the file itself\n")
    for module in ("system", "portal", "aify"):
        overlay = tmp_path / "overlays" / module
        overlay.mkdir(parents=True)
        (overlay / "kustomization.yaml").write_text(
            f"images:\n  - name: ghcr.io/goyoai/goyoai-gointern-{module}\n    newTag: t\n")
        (tmp_path / f"goyoai-{module}" / "overlays").mkdir(parents=True)
        (tmp_path / f"goyoai-{module}" / "overlays" / "dev").symlink_to(f"../../overlays/{module}")
    # and a link out of the checkout is named as one, not as a file that does not exist
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    shutil.copytree(tmp_path / "overlays" / "aify", outside)
    (tmp_path / "goyoai-aify" / "overlays" / "dev").unlink()
    (tmp_path / "goyoai-aify" / "overlays" / "dev").symlink_to(outside)
    result = cli("validate", str(EXAMPLES / "gointern-backend"), "--deployment", str(tmp_path))
    assert result.code == 1
    assert ("error: modules.portal.kustomize.directory: goyoai-portal/overlays/dev/"
            "kustomization.yaml in the deployment repository leads through a link to "
            "overlays/portal/kustomization.yaml" in result.err)
    assert ("error: modules.aify.kustomize.directory: goyoai-aify/overlays/dev/"
            "kustomization.yaml is a link that leads outside the deployment checkout\n"
            in result.err)


def test_values_write_never_replaces_a_link_with_a_file(cli, tmp_path: Path) -> None:
    """Replacing a file whole (written beside it, then renamed) replaced a link to a values
    file that environments share with a file of its own: the link was lost, and the file it
    pointed to never changed."""
    shared = tmp_path / "shared.yaml"
    shared.write_text(DEPLOYED)
    values = tmp_path / "values.yaml"
    values.symlink_to("shared.yaml")
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--write", str(values))
    assert (result.code, result.out) == (1, "")
    assert result.err == (f"error: {values} is a symbolic link (to shared.yaml): shipspec "
                          "replaces a file whole, and would replace the link with a file\n"
                          f"  hint: name the file it leads to, {shared}\n")
    assert values.is_symlink() and shared.read_text() == DEPLOYED


def test_validate_names_the_manifest_field_of_a_file_missing_from_the_checkout(
        cli, tmp_path: Path) -> None:
    spec = REPO / "tests" / "fixtures" / "manifests"
    result = cli("validate", str(spec), "--deployment", str(tmp_path))
    assert result.code == 1
    assert f"{spec}/shipspec.yaml:33:22: error: modules.core.manifest.file: apps/shop.yaml " \
        in result.err


def test_generate_values_into_a_checkout_merges_like_write(cli, tmp_path: Path) -> None:
    """`generate --target values --output-dir <deployment checkout>` used to replace the
    environment's file with repositories only: every deployed tag and comment was lost."""
    values = tmp_path / "helmfile/environments/customers/xiilab/values.yaml"
    values.parent.mkdir(parents=True)
    original = ("# deployed by CI\nastrago:\n  core:\n"
                "    repository: ghcr.io/xiilab/astrago-backend\n"
                '    imageTag: "core-stage-1.0-31c7ea7a"   # keep me\n  other: 1\n')
    values.write_text(original)
    result = cli("generate", str(ASTRAGO_KEYED), "--target", "values",
                 "--output-dir", str(tmp_path))
    assert result.code == 0, result.err
    text = values.read_text()
    assert text.startswith(original)  # tags, comments and other keys untouched
    assert "  frontend:\n    repository: ghcr.io/xiilab/astrago-frontend\n" in text
    assert "frontend: added with no tag yet" in result.out
    same = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--check", str(values))
    assert same.code == 0, same.err  # exactly what `values --write` would have written
    again = cli("generate", str(ASTRAGO_KEYED), "--target", "values",
                "--output-dir", str(tmp_path))
    assert (again.code, again.out) == (0, "every values file is up to date\n")
    refused = cli("generate", str(ASTRAGO_KEYED), "--target", "values",
                  "--output-dir", str(tmp_path), "--format", "json")
    assert refused.code == 1 and values.read_text() == text


def test_validate_deployment_checks_kustomize_overlays(cli, tmp_path: Path) -> None:
    """Seed A's modules deploy through kustomize overlays; validate --deployment checked
    values files only."""
    for module in ("system", "portal", "aify"):
        overlay = tmp_path / f"goyoai-{module}" / "overlays" / "dev"
        overlay.mkdir(parents=True)
        (overlay / "kustomization.yaml").write_text(
            "resources: [../../base]\nimages:\n"
            f"  - name: ghcr.io/goyoai/goyoai-gointern-{module}\n    newTag: dev-1\n")
    assert cli("validate", str(EXAMPLES / "gointern-backend"), "--deployment",
               str(tmp_path)).code == 0
    (tmp_path / "goyoai-aify/overlays/dev/kustomization.yaml").write_text("resources: []\n")
    (tmp_path / "goyoai-portal/overlays/dev/kustomization.yaml").unlink()
    with (tmp_path / "goyoai-system/overlays/dev/kustomization.yaml").open("a") as system:
        system.write("  - name: goyoai-gointern-system\n    newTag: dev-0\n")
    result = cli("validate", str(EXAMPLES / "gointern-backend"), "--deployment", str(tmp_path))
    assert result.code == 1
    assert ("kustomization.yaml has 2 images entries for ghcr.io/goyoai/goyoai-gointern-system "
            "(the first at line 3)" in result.err)
    assert "kustomization.yaml has no images entry for ghcr.io/goyoai/goyoai-gointern-aify" \
        in result.err
    assert ("shipspec.yaml:56:18: error: modules.portal.kustomize.directory: "
            "goyoai-portal/overlays/dev/kustomization.yaml (images: "
            "ghcr.io/goyoai/goyoai-gointern-portal) does not exist in the deployment checkout"
            in result.err)


def test_validate_deployment_reports_what_argo_cd_source_files_set_over(
        cli, tmp_path: Path) -> None:
    """As bump refuses them: Argo CD Image Updater's files beside an overlay and beside a
    values file, each setting the tag shipspec writes, at their lines."""
    overlay = tmp_path / "goyoai-system" / "overlays" / "dev"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(
        "images:\n  - name: ghcr.io/goyoai/goyoai-gointern-system\n    newTag: dev-1\n")
    (overlay / ".argocd-source-goyoai-system.yaml").write_text(
        "kustomize:\n  images:\n  - ghcr.io/goyoai/goyoai-gointern-system:dev-9\n")
    for module in ("portal", "aify"):
        other = tmp_path / f"goyoai-{module}" / "overlays" / "dev"
        other.mkdir(parents=True)
        (other / "kustomization.yaml").write_text(
            f"images:\n  - name: ghcr.io/goyoai/goyoai-gointern-{module}\n    newTag: dev-1\n")
    (other / ".argocd-source.yaml").write_text("kustomize:\n  images: [envoy:1.30]\n")
    result = cli("validate", str(EXAMPLES / "gointern-backend"), "--deployment", str(tmp_path))
    assert result.code == 1
    assert result.err.count("error:") == 1, result.err
    assert (f"{overlay}/.argocd-source-goyoai-system.yaml:3:5: error: {overlay}/"
            ".argocd-source-goyoai-system.yaml sets the image "
            "ghcr.io/goyoai/goyoai-gointern-system:dev-9 (kustomize edit set image) over the "
            "images entry ghcr.io/goyoai/goyoai-gointern-system of") in result.err, result.err

    (tmp_path / "helm").mkdir()
    spec = whole_reference_spec(tmp_path / "helm")
    checkout = deployment_checkout(tmp_path / "helm", WHOLE_VALUES)
    values = checkout / "helmfile/environments/customers/xiilab"
    (values / ".argocd-source-astrago.yaml").write_text(
        "helm:\n  parameters:\n  - name: astrago.core.image\n    value: x\n")
    result = cli("validate", str(spec), "--deployment", str(checkout))
    assert result.code == 1
    assert (f"{values}/.argocd-source-astrago.yaml:3:5: error: {values}/"
            ".argocd-source-astrago.yaml sets the helm parameter astrago.core.image over "
            "astrago.core.image of ") in result.err, result.err


def test_validate_deployment_reads_an_overlay_that_modules_share_once(
        cli, tmp_path: Path, yaml_reads: list[str]) -> None:
    """Modules whose images one kustomization lists: the file is read once, not once per
    module (validate --deployment of 2,000 modules would read it 2,000 times)."""
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / ".git").mkdir()
    text = (EXAMPLES / "gointern-backend" / "shipspec.yaml").read_text()
    for module in ("system", "portal", "aify"):
        text = text.replace(f'directory: "goyoai-{module}/overlays/dev"',
                            'directory: "shared/overlays/dev"')
    (spec / "shipspec.yaml").write_text(text)
    overlay = tmp_path / "deployment" / "shared" / "overlays" / "dev"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("resources: [../../base]\nimages:\n" + "".join(
        f"  - name: ghcr.io/goyoai/goyoai-gointern-{module}\n    newTag: dev-1\n"
        for module in ("system", "portal", "aify")))
    result = cli("validate", str(spec), "--deployment", str(tmp_path / "deployment"))
    assert "shared/overlays/dev/kustomization.yaml" not in result.err, result.err
    assert yaml_reads.count(str(overlay / "kustomization.yaml")) == 1


# --- chart image layouts: compare the image each chart pulls ----------------------------------

REAL_LAYOUT_DEPLOY = """\
deploy:
  url: https://github.com/xiilab/astrago-deployment.git
  tagKey: tag
  repositoryKey: repository
  registryKey: registry
  imageDefaults: astrago.imageDefaults
"""
# helmfile/environments/customers/xiilab/values.yaml on astrago-deployment's stabilize/1.0
# since October 2025 (modelled on the shape the issue quotes): the chart pulls
# <imageDefaults.registry>/<components.X.repository or imageDefaults.repository>:<tag>.
REAL_LAYOUT_VALUES = """\
astrago:
  imageDefaults:
    registry: "ghcr.io"
    repository: "xiilab/astrago-backend"
  components:
    core:
      tag: "core-stage-1.0-31c7ea7a"
    batch:
      tag: "batch-stage-1.0-31c7ea7a"
    monitor:
      tag: "monitor-stage-1.0-31c7ea7a"
    frontend:
      repository: "xiilab/astrago-frontend" # own repository
      tag: "frontend-stage-1.0-0b7146d6"
"""


def real_layout_spec(tmp_path: Path) -> Path:
    directory = tmp_path / "spec"
    directory.mkdir()
    (directory / ".git").mkdir()
    text = (ASTRAGO_KEYED / "shipspec.yaml").read_text()
    start, end = text.index("deploy:\n"), text.index("\nci:\n")
    text = text[:start] + REAL_LAYOUT_DEPLOY + text[end:]
    for module in ("core", "batch", "monitor", "frontend"):
        text = text.replace(f"values: astrago.{module}", f"values: astrago.components.{module}")
    (directory / "shipspec.yaml").write_text(text)
    return directory


def deployment_checkout(tmp_path: Path, values: str) -> Path:
    checkout = tmp_path / "deployment"
    path = checkout / "helmfile/environments/customers/xiilab/values.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(values)
    return checkout


def test_the_real_layout_reports_no_false_problem(cli, tmp_path: Path) -> None:
    spec = real_layout_spec(tmp_path)
    checkout = deployment_checkout(tmp_path, REAL_LAYOUT_VALUES)
    validated = cli("validate", str(spec), "--deployment", str(checkout))
    assert validated.code == 0, validated.err
    values = checkout / "helmfile/environments/customers/xiilab/values.yaml"
    checked = cli("values", str(spec), "--env", "stage", "--check", str(values))
    assert (checked.code, checked.err) == (0, ""), checked.err
    assert cli("values", str(spec), "--env", "stage", "--write", str(values)).code == 0
    assert values.read_text() == REAL_LAYOUT_VALUES  # no repository keys the chart ignores


def test_the_real_layout_finds_a_module_whose_chart_pulls_another_image(cli,
                                                                        tmp_path: Path) -> None:
    spec = real_layout_spec(tmp_path)
    wrong = REAL_LAYOUT_VALUES.replace(
        '    monitor:\n', '    monitor:\n      repository: "xiilab/astrago-posco"\n')
    checkout = deployment_checkout(tmp_path, wrong)
    values = checkout / "helmfile/environments/customers/xiilab/values.yaml"
    expected = (f"{values}:11:19: error: astrago.components.monitor.repository: "
                "'xiilab/astrago-posco', so the chart pulls 'ghcr.io/xiilab/astrago-posco', "
                "but CI pushes module monitor to 'ghcr.io/xiilab/astrago-backend'")
    validated = cli("validate", str(spec), "--deployment", str(checkout))
    assert validated.code == 1 and expected in validated.err, validated.err
    checked = cli("values", str(spec), "--env", "stage", "--check", str(values))
    assert checked.code == 1 and expected in checked.err  # the two agree
    assert cli("values", str(spec), "--env", "stage", "--write", str(values)).code == 0
    assert values.read_text() == wrong.replace('"xiilab/astrago-posco"',
                                               '"xiilab/astrago-backend"')


def test_a_shared_default_that_is_wrong_is_overridden_per_module(cli, tmp_path: Path) -> None:
    """The fix goes to the module's own keys: the shared mapping serves other modules."""
    spec = real_layout_spec(tmp_path)
    wrong = REAL_LAYOUT_VALUES.replace('registry: "ghcr.io"', 'registry: "docker.io"')
    checkout = deployment_checkout(tmp_path, wrong)
    values = checkout / "helmfile/environments/customers/xiilab/values.yaml"
    checked = cli("values", str(spec), "--env", "stage", "--check", str(values))
    assert "astrago.components.core.registry: 'docker.io', so the chart pulls " \
        "'docker.io/xiilab/astrago-backend'" in checked.err
    assert cli("values", str(spec), "--env", "stage", "--write", str(values)).code == 0
    written = values.read_text()
    assert 'registry: "docker.io"' in written  # the shared value stays
    assert "    core:\n      tag: \"core-stage-1.0-31c7ea7a\"\n      registry: ghcr.io\n" \
        in written


# Charts that pull one string (`image: {{ .Values.astrago.core.image }}`): the whole
# reference in one key, deploy.imageKey.
WHOLE_DEPLOY = """\
deploy:
  url: https://github.com/xiilab/astrago-deployment.git
  imageKey: image
"""
WHOLE_VALUES = """\
astrago:
  core:
    image: "ghcr.io/xiilab/astrago-backend:core-stage-1.0-31c7ea7a"  # one string
  batch:
    image: ghcr.io/xiilab/astrago-backend:batch-stage-1.0-31c7ea7a@sha256:%s
  monitor:
    image: ghcr.io/xiilab/astrago-backend:monitor-stage-1.0-31c7ea7a
""" % ("a" * 64)


def whole_reference_spec(tmp_path: Path, deploy: str = WHOLE_DEPLOY) -> Path:
    directory = tmp_path / "spec"
    directory.mkdir()
    (directory / ".git").mkdir()
    text = (ASTRAGO_KEYED / "shipspec.yaml").read_text()
    start, end = text.index("deploy:\n"), text.index("\nci:\n")
    (directory / "shipspec.yaml").write_text(text[:start] + deploy + text[end:])
    return directory


def test_one_key_holding_the_whole_image_is_compared_by_its_repository(cli,
                                                                       tmp_path: Path) -> None:
    """The tags and the digest stay as the file has them; a module new to the file gets its
    repository alone (no tag yet), and one whose chart pulls another repository gets ours
    in front of its own tag."""
    spec = whole_reference_spec(tmp_path)
    wrong = WHOLE_VALUES.replace("image: ghcr.io/xiilab/astrago-backend:monitor",
                                 "image: ghcr.io/xiilab/astrago-posco:monitor")
    values = deployment_checkout(tmp_path, wrong) / \
        "helmfile/environments/customers/xiilab/values.yaml"
    expected = (f"{values}:7:12: error: astrago.monitor.image: 'ghcr.io/xiilab/astrago-posco',"
                " but CI pushes module monitor to 'ghcr.io/xiilab/astrago-backend'")
    checked = cli("values", str(spec), "--env", "stage", "--check", str(values))
    assert checked.code == 1 and expected in checked.err, checked.err
    assert cli("values", str(spec), "--env", "stage", "--write", str(values)).code == 0
    assert values.read_text() == WHOLE_VALUES + (
        "  frontend:\n    image: ghcr.io/xiilab/astrago-frontend\n")
    checked = cli("values", str(spec), "--env", "stage", "--check", str(values))
    assert (checked.code, checked.err) == (0, "")


def test_a_tag_key_holding_the_whole_image_is_reported_with_the_setting_to_use(
        cli, tmp_path: Path) -> None:
    """`tagKey: image` on such a chart: a bump would write `core-stage-2` over the whole
    reference, and the chart would pull docker.io/library/core-stage-2."""
    spec = whole_reference_spec(tmp_path, WHOLE_DEPLOY.replace("imageKey", "tagKey"))
    checkout = deployment_checkout(tmp_path, WHOLE_VALUES)
    values = checkout / "helmfile/environments/customers/xiilab/values.yaml"
    validated = cli("validate", str(spec), "--deployment", str(checkout))
    assert validated.code == 1
    assert (f"{values}:3:12: error: astrago.core.image: holds the image reference "
            "'ghcr.io/xiilab/astrago-backend:core-stage-1.0-31c7ea7a', not a tag: a bump "
            "would write the tag alone over it\n  hint: set deploy.imageKey in shipspec.yaml"
            ) in validated.err, validated.err


def test_bitnami_image_map_with_digest() -> None:
    from shipspec.bump.targets import NewImage, helm_values
    from shipspec.spec import HelmValuesTarget
    from shipspec.values.yamltext import YamlText

    text = ("web:\n  image:\n    registry: docker.io\n    repository: bitnami/nginx\n"
            "    tag: 1.27.0\n    digest: \"\"\n  replicaCount: 2\n")
    target = HelmValuesTarget("values.yaml", "web.image.tag", "web.image.repository",
                              registry_key="web.image.registry",
                              digest_key="web.image.digest")
    doc = YamlText(text, "values.yaml")
    digest = "sha256:" + "ab" * 32
    helm_values.write(doc, [(target, NewImage("ghcr.io/o/web", "v2", digest, True))])
    assert doc.text == ("web:\n  image:\n    registry: ghcr.io\n    repository: o/web\n"
                        f"    tag: v2\n    digest: \"{digest}\"\n  replicaCount: 2\n")


# --- nothing written is corrupted: the right result, or a located refusal ---------------------

HOSTILE_SHAPES = {
    "block-scalar-last": ("astrago:\n  core:\n    repository: ghcr.io/xiilab/astrago-backend\n"
                          "    notes: |\n      keep me\n  batch: {}\n"),
    "alias-to-anchor": "base: &b\n  repository: x\nastrago:\n  core: *b\n",
    "anchored-tag": ("astrago:\n  core: {repository: ghcr.io/xiilab/astrago-backend, "
                     "imageTag: &tag v1, previous: *tag}\n"),
    "flow-parent": "astrago: {core: {repository: ghcr.io/xiilab/astrago-backend}}\n",
    "flow-module": ("astrago:\n  core: {repository: ghcr.io/xiilab/astrago-backend}\n"
                    "  batch: {repository: ghcr.io/xiilab/astrago-backend, imageTag: b1}\n"),
    "module-ending-in-an-alias": ("defaults:\n  tag: &t v1\nastrago:\n  core:\n"
                                  "    imageTag: c1\n    previous: *t\n"),
    "comments-and-crlf": ("# top\r\nastrago:\r\n  core:   # the core\r\n"
                          "    imageTag: \"c1\"  # deployed\r\n"),
}


@pytest.mark.parametrize("shape", sorted(HOSTILE_SHAPES))
def test_a_write_is_right_or_refused_with_nothing_written(cli, tmp_path: Path,
                                                          shape: str) -> None:
    import yaml
    from ruamel.yaml import YAML

    original = HOSTILE_SHAPES[shape]
    values = tmp_path / "values.yaml"
    values.write_bytes(original.encode())
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--write", str(values))
    after = values.read_bytes().decode()
    if result.code != 0:
        assert result.code == 1 and after == original  # nothing written
        assert result.err.startswith(f"{values}:") and "cannot edit" in result.err
        return
    for read in (yaml.safe_load, YAML(typ="safe", pure=True).load):
        before, written = read(original), read(after)
        for module in ("core", "batch", "monitor", "frontend"):
            entry = written["astrago"][module]
            assert entry["repository"].startswith("ghcr.io/xiilab/astrago-")
            old = (before.get("astrago") or {}).get(module) or {}
            assert entry["imageTag"] == old.get("imageTag", "")  # a tag is never reset
        assert {k: v for k, v in written.items() if k != "astrago"} == {
            k: v for k, v in before.items() if k != "astrago"}
    if "\r\n" in original:
        assert "\n" not in after.replace("\r\n", "")  # line endings kept


def test_bump_refuses_an_edit_through_an_alias(tmp_path: Path) -> None:
    from test_bump import commits, make_deploy_repo

    values = "base: &b\n  repository: x\n  imageTag: old\nastrago:\n  core: *b\n"
    bare = make_deploy_repo(tmp_path, {"helmfile/environments/customers/xiilab/values.yaml":
                                       values})
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "new",
                         "--repo", str(bare))
    assert result.code == 1 and "cannot edit" in result.err and "nothing was written" \
        in result.err, result.err
    assert len(commits(bare)) == 1


def test_a_values_file_nested_too_deep_is_refused_not_a_crash(cli, tmp_path: Path) -> None:
    values = tmp_path / "deep.yaml"
    values.write_text("a:" + " {b:" * 2000 + " 1" + "}" * 2000 + "\n")
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--check", str(values))
    assert result.code == 1
    assert result.err.startswith(f"{values}:1:1: error: {values} is nested too deeply")


@pytest.mark.parametrize(("text", "refused"), [
    ("a:" + " {b:" * 998 + " 1" + "}" * 998 + "\n", False),  # 999 levels
    ("a:" + " {b:" * 999 + " 1" + "}" * 999 + "\n", True),  # libyaml 0.2.6 reads 1,000
    ("- " * 999 + "1\n", False),
    ("- " * 1000 + "1\n", True),  # libyaml 0.2.6 refuses
    ("a: &x [" + "[" * 997 + "]" * 997 + "]\nb: {c: *x}\n", False),  # an alias adds no level
], ids=["flow 999", "flow 1000", "block 999", "block 1000", "alias"])
def test_the_nesting_a_values_file_may_have_does_not_depend_on_pyyaml(text: str,
                                                                      refused: bool) -> None:
    """The same refusal with the locked PyYAML (libyaml 0.2.6 counts levels itself) and the
    oldest admitted one (test_lower_bounds.py runs this too), whose libyaml counts none."""
    from shipspec.errors import SpecError
    from shipspec.values.yamltext import YamlText

    if refused:
        with pytest.raises(SpecError, match="is nested too deeply to edit safely"):
            YamlText(text, "v.yaml")
    else:
        assert YamlText(text, "v.yaml").documents


def test_workflows_only_for_repositories_on_github(cli, tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(ASTRAGO_KEYED, spec)
    (spec / ".git").mkdir()
    text = (spec / "shipspec.yaml").read_text()
    (spec / "shipspec.yaml").write_text(text.replace(
        "url: https://github.com/xiilab/astrago-backend.git", "url: https://gitlab.com/g/app/"))
    result = cli("generate", str(spec), "--target", "github-actions", "--output-dir",
                 str(tmp_path / "out"))
    assert result.code == 1 and not (tmp_path / "out").exists()
    assert "https://gitlab.com/g/app/ is not a GitHub repository" in result.err


def test_problems_point_at_the_users_lines_not_the_edited_text(cli, tmp_path: Path) -> None:
    """core gets a repository line inserted above batch's; batch's mismatch is still on line
    5 of the user's file (it was reported at 6:17)."""
    values = tmp_path / "v.yaml"
    values.write_text("astrago:\n  core:\n    imageTag: c1\n  batch:\n"
                      "    repository: wrong/repo\n    imageTag: b1\n")
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--check", str(values))
    assert f"{values}:5:17: error: astrago.batch.repository: 'wrong/repo'" in result.err


@pytest.mark.parametrize(("registry", "repository"), [
    pytest.param("ghcr.io/xiilab", "astrago-backend", id="registry-with-a-path"),
    pytest.param("ghcr.io", "xiilab/astrago-backend", id="host-only"),
])
def test_a_chart_that_pulls_the_right_image_is_left_alone_however_it_splits_it(
        cli, tmp_path: Path, registry: str, repository: str) -> None:
    spec = real_layout_spec(tmp_path)
    split = REAL_LAYOUT_VALUES.replace('registry: "ghcr.io"', f'registry: "{registry}"') \
        .replace('repository: "xiilab/astrago-backend"', f'repository: "{repository}"') \
        .replace('repository: "xiilab/astrago-frontend"', 'repository: "astrago-frontend"'
                 if registry.endswith("xiilab") else 'repository: "xiilab/astrago-frontend"')
    checkout = deployment_checkout(tmp_path, split)
    values = checkout / "helmfile/environments/customers/xiilab/values.yaml"
    validated = cli("validate", str(spec), "--deployment", str(checkout))
    assert validated.code == 0, validated.err
    checked = cli("values", str(spec), "--env", "stage", "--check", str(values))
    assert (checked.code, checked.err) == (0, "")
    assert cli("values", str(spec), "--env", "stage", "--write", str(values)).code == 0
    assert values.read_text() == split


@pytest.mark.parametrize(("registry", "repository", "image", "expected"), [
    pytest.param("registry.local:5000/team", "app", "registry.local:5000/team/app", [],
                 id="port-and-path-right"),
    pytest.param("registry.local:5000/team", "app", "registry.local:5000/team/web",
                 [("web.image.repository", "web")], id="port-keeps-the-registry"),
    pytest.param("ghcr.io/xiilab", "web", "ghcr.io/other/web",
                 [("web.image.registry", "ghcr.io/other")], id="path-keeps-the-repository"),
    pytest.param("docker.io", "bitnami/nginx", "ghcr.io/o/web",
                 [("web.image.registry", "ghcr.io"), ("web.image.repository", "o/web")],
                 id="nothing-kept"),
    # Docker Hub's images as docker reads them (distribution/reference v0.6.0, normalize.go):
    # the spec's `registry: {url: bitnami}` names docker.io/bitnami/...
    pytest.param("docker.io", "bitnami/nginx", "bitnami/nginx", [],
                 id="docker-hub-without-its-host-right"),
    pytest.param("index.docker.io", "bitnami/nginx", "docker.io/bitnami/nginx", [],
                 id="docker-hub-by-its-old-name-right"),
    pytest.param("ghcr.io", "o/web", "bitnami/nginx",
                 [("web.image.registry", "docker.io"), ("web.image.repository", "bitnami/nginx")],
                 id="docker-hub-split-as-docker-pulls-it"),
])
def test_fixes_keep_the_charts_own_split(registry: str, repository: str, image: str,
                                         expected: list[tuple[str, str]]) -> None:
    from shipspec.spec import HelmValuesTarget
    from shipspec.values.image_keys import image_fixes
    from shipspec.values.yamltext import YamlText

    doc = YamlText(f"web:\n  image:\n    registry: {registry}\n    repository: {repository}\n"
                   "    tag: v1\n    digest: \"\"\n", "values.yaml")
    target = HelmValuesTarget("values.yaml", "web.image.tag", "web.image.repository",
                              registry_key="web.image.registry", digest_key="web.image.digest")
    assert [(fix.key, fix.wanted) for fix in image_fixes(doc, target, image)] == expected


def test_a_refusal_after_earlier_edits_points_at_the_users_line(cli, tmp_path: Path) -> None:
    """core gets a line first; batch's alias is then refused where the user wrote it."""
    values = tmp_path / "values.yaml"
    values.write_text(
        "common: &tag b1\n"
        "astrago:\n"
        "  core:\n"
        "    imageTag: c1\n"
        "  batch:\n"
        "    imageTag: *tag\n")
    result = cli("values", str(ASTRAGO_KEYED), "--env", "stage", "--write", str(values))
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(f"{values}:6:5: error: cannot edit {values} safely: "
                                 "astrago.batch.repository would follow an alias"), result.err


def test_many_keys_are_set_in_one_edit_each_in_its_place() -> None:
    """set_keys plans every edit on the file as read and reads the result once; two
    insertions at one place (the last module's missing tag, and a new module after it) go
    deeper first."""
    from shipspec.values.image_keys import set_keys
    from shipspec.values.yamltext import YamlText

    text = ("apps:  # the modules\n  m0:\n    repository: old  # kept comment\n"
            "  m1:\n    repository: r1\n")
    doc = YamlText(text, "values.yaml")
    set_keys(doc, [("apps.m0.repository", "new"), ("apps.m0.imageTag", ""),
                   ("apps.m1.imageTag", "0012"), ("apps.m2.repository", "r2"),
                   ("apps.m2.imageTag", "")])
    assert doc.text == ("apps:  # the modules\n  m0:\n    repository: new  # kept comment\n"
                        "    imageTag: ''\n  m1:\n    repository: r1\n    imageTag: '0012'\n"
                        "  m2:\n    repository: r2\n    imageTag: ''\n")
    # errors after the edit still point at the file as the user wrote it
    assert doc.location(doc.text.index("m2:")).line == 5


def test_a_lookup_refuses_a_key_written_twice_and_sees_each_edit() -> None:
    """YamlText indexes each mapping once (scanning it per key made merging N modules
    quadratic), and the index is rebuilt from the text an edit reads. A key written twice
    is refused where it is looked up: PyYAML and Helm take the last, ruamel.yaml refuses
    the file, and the first was read and edited while Helm deployed the other."""
    from shipspec.errors import SpecError
    from shipspec.values.yamltext import YamlText

    doc = YamlText("apps:\n  m0: {tag: a}\n  m0: {tag: b}\n  m1:\n    tag: c\n", "v.yaml")
    with pytest.raises(SpecError) as caught:
        doc.find(["apps", "m0", "tag"])
    assert str(caught.value) == (
        "v.yaml:3:3: error: cannot edit v.yaml safely: m0 is written twice in one mapping "
        "(lines 2 and 3); nothing was written\n"
        "  hint: remove one of them: readers differ on which one counts")
    assert doc.find(["apps", "m2"]) is None
    doc.replace(doc.find(["apps", "m1", "tag"]), "d", "apps.m1.tag")
    assert doc.scalar(doc.find(["apps", "m1", "tag"]), "tag") == "d"
    assert doc.child(doc.documents[0], "apps") is not None
    assert doc.child(doc.find(["apps", "m1", "tag"])[1], "tag") is None  # not a mapping


def test_a_key_with_no_value_gets_one_and_a_new_sibling_after_it() -> None:
    """`tag:` with nothing after it (null to a reader) is an empty scalar right after the
    colon: the value written there needs a space first, and stays before an entry added
    at the same place."""
    from shipspec.values.image_keys import set_keys
    from shipspec.values.yamltext import YamlText

    doc = YamlText("apps:\n  m0:\n    tag:\n", "values.yaml")
    set_keys(doc, [("apps.m0.repository", "r"), ("apps.m0.tag", "1.0"), ("apps.m1.tag", "2")])
    assert doc.text == ("apps:\n  m0:\n    tag: '1.0'\n    repository: r\n"
                        "  m1:\n    tag: '2'\n")
