"""Bad specs: every problem found in one run, each with file:line:col, field path and hint."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import SHIPSPEC_IMAGE_LINE

from shipspec.errors import SpecError
from shipspec.spec import HelmValuesTarget
from shipspec.specfile.resolve import load_spec

VALID = """\
project: shop
source: {url: https://github.com/o/shop.git, webhookSecret: hook}
registry: {url: ghcr.io/o}
deploy: {url: https://github.com/o/deploy.git}
environments:
  stage: {branch: main, values: env/stage.yaml}
modules:
  api:
    dockerfile: api/Dockerfile
    values: shop.api
""" + SHIPSPEC_IMAGE_LINE


def errors(repo: Path, text: str) -> str:
    (repo / "shipspec.yaml").write_text(textwrap.dedent(text))
    with pytest.raises(SpecError) as caught:
        load_spec(str(repo))
    return str(caught.value).replace(str(repo) + os.sep, "")


def spec_with(repo: Path, text: str):
    (repo / "shipspec.yaml").write_text(textwrap.dedent(text))
    return load_spec(str(repo))


def test_valid_spec_loads(repo: Path) -> None:
    spec = spec_with(repo, VALID)
    assert [m.name for m in spec.modules] == ["api"]


def test_unknown_field_gets_did_you_mean(repo: Path) -> None:
    message = errors(repo, VALID.replace("    dockerfile:", "    dockerfil:"))
    assert message.endswith(
        "shipspec.yaml:9:5: error: modules.api.dockerfil: unknown field 'dockerfil'\n"
        "  hint: did you mean 'dockerfile'?"
    )


def test_unknown_top_level_field_lists_known_fields_when_nothing_is_close(repo: Path) -> None:
    message = errors(repo, VALID + "zzz: 1\n")
    assert "shipspec.yaml:12:1: error: zzz: unknown field 'zzz'\n  hint: known fields: project," \
        in message


def test_seed_a_entry_with_a_typo_is_rejected_with_the_right_field(repo: Path) -> None:
    message = errors(repo, """\
        project: gointern
        source: {url: https://github.com/o/backend.git, webhookSecret: hook}
        registry: {url: ghcr.io/o}
        modules:
          new-module:
            enabled: true
            gitBranch: "dev-new-module"
            moduleName: "goyoai-gointern-new"
            kustomize:
              branch: "dev"
              directory: "goyoai-new-module/overlays/dev"
              deploymentNmae: "dev-goyoai-new-module"
            dockerfileName: "dockerfile-new-dev"
            pvc:
              workspace: "gointern-backend-new"
              cache: "gointern-backend-new-cache"
        """)
    assert message == (
        "shipspec.yaml:12:7: error: modules.new-module.kustomize.deploymentNmae: "
        "unknown field 'deploymentNmae'\n"
        "  hint: did you mean 'deploymentName'?"
    )


def test_all_problems_are_reported_in_one_run(repo: Path) -> None:
    message = errors(repo, """\
        project: Shop
        registry: {url: ghcr.io/o}
        ci: {builder: kanikko, keepRuns: "5", workspaceSize: 5GB, timeoutMinutes: 5}
        modules:
          Bad_Name: {}
          api: {enabled: yes please}
        """)
    assert message == "\n".join([
        "shipspec.yaml:1:10: error: project: 'Shop' is not in the expected form",
        "  hint: use lower-case letters, digits and '-', starting and ending with a letter"
        " or digit",
        "shipspec.yaml:3:15: error: ci.builder: expected one of kaniko, buildah, got the string"
        " 'kanikko'",
        "  hint: did you mean 'kaniko'?",
        "shipspec.yaml:3:34: error: ci.keepRuns: expected an integer, got the string '5'",
        "shipspec.yaml:3:54: error: ci.workspaceSize: '5GB' is not in the expected form",
        "  hint: write a Kubernetes quantity such as 5Gi",
        "shipspec.yaml:3:75: error: ci.timeoutMinutes: must be at least 10",
        "shipspec.yaml:5:3: error: modules.Bad_Name: 'Bad_Name' is not a valid name",
        "  hint: use lower-case letters, digits and '-', starting and ending with a letter"
        " or digit",
        "shipspec.yaml:6:18: error: modules.api.enabled: expected true or false, got the string"
        " 'yes please'",
    ])


def test_a_message_lists_the_first_problems_in_file_order_and_says_there_are_more(
        repo: Path) -> None:
    """A spec of thousands of mistakes (80,000 fit in the file limit) wrote every one: 25 MB
    of stderr in 2.4 s, which Argo CD keeps whole in the Application's status, an object
    the API server refuses past 1.5 MiB. The first SHOWN_PROBLEMS, then one line more."""
    from shipspec.errors import SHOWN_PROBLEMS

    entries = "".join(f"  m{index}:\n    dockerfile: d\n    bogus: 1\n    values: 'a..b'\n"
                      for index in range(2000))
    lines = errors(repo, VALID.split("modules:\n")[0] + "modules:\n" + entries).splitlines()
    assert SHOWN_PROBLEMS == 100
    assert lines[-2:] == ["error: more problems than these 100; the rest are not shown",
                          "  hint: fix these and run again"]
    shown_problems = [line for line in lines[:-2] if ": error: " in line]
    assert len(shown_problems) == 100
    # in file order: both problems of each of the first fifty modules
    assert shown_problems[:2] == [
        "shipspec.yaml:10:5: error: modules.m0.bogus: unknown field 'bogus'",
        "shipspec.yaml:11:13: error: modules.m0.values: 'a..b' is not in the expected form"]
    assert shown_problems[-1].startswith("shipspec.yaml:207:13: error: modules.m49.values:")


def test_a_key_of_megabytes_is_quoted_cut(repo: Path) -> None:
    """An explicit key (`? key`) has no length limit in YAML: each message about it held the
    key twice, 2 MB for a key of one."""
    key = "k" * 1_000_000
    message = errors(repo, VALID + f"? {key}\n: 1\n")
    cut = f"'{'k' * 60}'... (1,000,000 characters)"
    assert message.startswith(f"shipspec.yaml:12:3: error: {cut}: unknown field {cut}\n")
    assert len(message) < 1000


def test_yaml_11_boolean_where_text_is_expected_gets_a_quoting_hint(repo: Path) -> None:
    message = errors(repo, VALID.replace("branch: main", "branch: on"))
    assert message == (
        "shipspec.yaml:6:19: error: environments.stage.branch: expected a string, "
        "got the boolean true\n"
        "  hint: YAML reads unquoted yes/no/on/off, numbers and null as non-strings; quote it"
    )


def test_missing_required_field_is_reported_at_its_parent(repo: Path) -> None:
    message = errors(repo, VALID.replace("registry: {url: ghcr.io/o}\n", ""))
    assert message == (
        "shipspec.yaml:1:1: error: missing required field 'registry'\n"
        "  hint: add it, e.g. registry: {url: ghcr.io/<org>}"
    )


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../outside/Dockerfile", "must not leave the repository ('..')"),
        ("api/../../Dockerfile", "must not leave the repository ('..')"),
        ("/etc/passwd", "must be relative to the repository root, not absolute"),
        ("~/Dockerfile", "must be relative to the repository root, not absolute"),
        ("api\\\\Dockerfile", "must not contain backslashes or NUL characters"),
    ],
)
def test_paths_outside_the_repository_are_refused(repo: Path, path: str, reason: str) -> None:
    message = errors(repo, VALID.replace("api/Dockerfile", f'"{path}"'))
    shown = path.replace("\\\\", "\\")
    assert message == (
        f"shipspec.yaml:9:17: error: modules.api.dockerfile: '{shown}' {reason}\n"
        "  hint: give a path relative to the repository root, such as src/Dockerfile"
    )


def test_a_module_path_written_as_a_glob_is_refused(repo: Path) -> None:
    """GitHub's paths filters take globs, and `api/**` is how one writes a directory there;
    shipspec compares paths as written (plan.touches, the Triggers' CEL), so such a path
    matched no change and no push built the module."""
    text = VALID.replace("    values: shop.api\n", "    values: shop.api\n"
                         "    paths: ['api/**', 'lib/*/src/', '!docs/', '*.gradle', 'ok/']\n")
    assert errors(repo, text) == (
        "shipspec.yaml:11:13: error: modules.api.paths[0]: 'api/**' is a pattern; paths are "
        "files and directories, compared as written, so it would match no change\n"
        "  hint: write api/: a directory covers every file below it\n"
        "shipspec.yaml:11:23: error: modules.api.paths[1]: 'lib/*/src/' is a pattern; paths "
        "are files and directories, compared as written, so it would match no change\n"
        "  hint: write lib/: a directory covers every file below it\n"
        "shipspec.yaml:11:37: error: modules.api.paths[2]: '!docs/' is a pattern; paths are "
        "files and directories, compared as written, so it would match no change\n"
        "  hint: name the files and directories: a directory covers every file below it\n"
        "shipspec.yaml:11:47: error: modules.api.paths[3]: '*.gradle' is a pattern; paths are "
        "files and directories, compared as written, so it would match no change\n"
        "  hint: name the files and directories: a directory covers every file below it")


def test_symlink_leading_out_of_the_repository_is_refused(repo: Path, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (repo / "api").symlink_to(outside)
    message = errors(repo, VALID)
    assert message == (
        "shipspec.yaml:9:17: error: modules.api.dockerfile: 'api/Dockerfile' is a symbolic link"
        " that leads outside the repository\n"
        "  hint: give a path relative to the repository root, such as src/Dockerfile"
    )


def test_symlink_inside_the_repository_is_fine(repo: Path) -> None:
    (repo / "real").mkdir()
    (repo / "api").symlink_to(repo / "real")
    assert spec_with(repo, VALID).modules[0].dockerfile == "api/Dockerfile"


def test_deployment_repository_paths_are_checked_too(repo: Path) -> None:
    message = errors(repo, VALID.replace("env/stage.yaml", "../x.yaml"))
    assert "environments.stage.values: '../x.yaml' must not leave the repository" in message


def test_spec_that_links_outside_its_repository_is_refused(repo: Path, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "shipspec.yaml"
    outside.write_text(VALID)
    (repo / "shipspec.yaml").symlink_to(outside)
    with pytest.raises(SpecError) as caught:
        load_spec(str(repo))
    assert str(caught.value).endswith(
        "shipspec.yaml:1:1: error: the spec is a link to a file outside its repository\n"
        "  hint: keep shipspec.yaml a regular file inside the repository"
    )


def test_template_escape_is_refused(repo: Path) -> None:
    message = errors(repo, VALID.replace(
        "stage: {branch: main,", "stage: {tag: \"{{ ''.__class__.__mro__ }}\", branch: main,"))
    assert message == (
        "shipspec.yaml:6:16: error: environments.stage.tag: attribute access ('.name') "
        "is not allowed in templates\n"
        "  hint: write expressions such as {{ module }}-{{ sha8 }} or "
        "{{ branch | replace('/', '-') }}; filters: lower, upper, title, capitalize, trim, "
        "replace, truncate, default"
    )


def test_template_with_unknown_variable_is_refused(repo: Path) -> None:
    message = errors(repo, VALID.replace(
        "stage: {branch: main,", 'stage: {tag: "{{ modul }}-{{ sha8 }}", branch: main,'))
    assert message == (
        "shipspec.yaml:6:16: error: environments.stage.tag: unknown template variable 'modul';"
        " known: module, env, sha, sha8, branch, project, date"
    )


def test_tag_template_that_renders_an_invalid_tag_is_refused(repo: Path) -> None:
    message = errors(repo, VALID.replace(
        "stage: {branch: main,", 'stage: {tag: "{{ branch }}-{{ sha8 }}", branch: release/1,'))
    assert message == (
        "shipspec.yaml:6:16: error: environments.stage.tag: renders 'release/1-01234567' for "
        "module api, which is not a valid image tag\n"
        "  hint: a tag has at most 128 letters, digits, '_', '.' and '-'; for branch names use "
        "{{ branch | replace('/', '-') }}"
    )


def test_commit_message_template_is_checked(repo: Path) -> None:
    message = errors(repo, VALID.replace(
        "deploy: {url: https://github.com/o/deploy.git}",
        'deploy: {url: https://github.com/o/deploy.git, commitMessage: "{{ commit }}"}'))
    assert message == (
        "shipspec.yaml:4:63: error: deploy.commitMessage: unknown template variable 'commit';"
        " known: action, env, branch, sha, sha8, changes, modules, lines, project, date"
    )


def test_tekton_needs_a_webhook_secret(repo: Path) -> None:
    message = errors(repo, VALID.replace(", webhookSecret: hook", ""))
    assert message == (
        "shipspec.yaml:2:9: error: source.webhookSecret: Tekton triggers need "
        "source.webhookSecret: "
        "webhooks are always validated\n"
        "  hint: name the Secret that holds the webhook secret, e.g. webhookSecret: github-webhook"
    )


def test_module_name_too_long_for_kubernetes_names(repo: Path) -> None:
    long_name = "a" * 50
    message = errors(repo, VALID.replace("  api:", f"  {long_name}:"))
    assert message.startswith(
        f"shipspec.yaml:8:3: error: modules.{long_name}: makes the PersistentVolumeClaim name "
        f"'shop-{long_name}-workspace', 65 characters: Kubernetes takes at most 63\n"
        "  hint: shorten the project, the module or its environment names")


def test_trigger_names_count_the_environment(repo: Path) -> None:
    """acme-platform-ci + customer-notification-dispatcher-api + production: the claims fit,
    the Triggers do not (Tekton refuses names over 63, pkg/apis/validate/metadata.go)."""
    text = (VALID.replace("project: shop", "project: acme-platform-ci")
            .replace("  api:", "  customer-notification-dispatcher-api:")
            .replace("  stage: {branch: main", "  production: {branch: main"))
    message = errors(repo, text)
    name = "acme-platform-ci-customer-notification-dispatcher-api-production-push"
    assert (f"shipspec.yaml:8:3: error: modules.customer-notification-dispatcher-api: makes "
            f"the Trigger name '{name}', {len(name)} characters: Kubernetes takes at most 63"
            in message)
    assert "-workspace'" not in message  # 61 characters: fits


@pytest.mark.parametrize(("change", "expected"), [
    pytest.param(lambda t: t.replace("  api:", "  push:").replace("shop.api", "shop.push"),
                 "modules.push: makes the TriggerBinding 'shop-push', which the project makes "
                 "too", id="module-named-like-a-shared-binding"),
    pytest.param(lambda t: t.replace("  stage: {branch: main, values: env/stage.yaml}",
                                     "  eu-prod: {branch: main, values: env/eu.yaml}\n"
                                     "  prod: {branch: release, values: env/prod.yaml}")
                 .replace("    values: shop.api\n", "    values: shop.api\n  api-eu:\n"
                          "    dockerfile: eu/Dockerfile\n    values: shop.eu\n"),
                 "makes the Trigger 'shop-api-eu-prod-push', which module 'api' makes too",
                 id="module-and-environment-run-together"),
    pytest.param(lambda t: t.replace("    values: shop.api\n",
                                     "    values: shop.api\n    pvc: {workspace: w, cache: c}\n"
                                     "  web:\n    dockerfile: web/Dockerfile\n"
                                     "    values: shop.web\n"
                                     "    pvc: {workspace: w, cache: c2}\n"),
                 "modules.web: makes the PersistentVolumeClaim 'w', which module 'api' makes "
                 "too", id="two-modules-one-claim"),
])
def test_colliding_object_names_are_refused(repo: Path, change, expected: str) -> None:
    message = errors(repo, change(VALID))
    assert expected in message, message
    assert "one would replace the other" in message


def test_cluster_wide_names_differ_across_specs(repo: Path) -> None:
    """project a-b in namespace c, and project a in namespace b-c: one ClusterRoleBinding
    name before; every cluster-scoped name now holds both, separated by a '.'."""
    from shipspec.render import RenderOptions, tekton

    def cluster_names(project: str, namespace: str) -> set[str]:
        spec = spec_with(repo, VALID.replace(
            "project: shop", f"project: {project}\nnamespace: {namespace}").replace(
            "deploy.git}", "deploy.git, credentialsSecret: deploy-token}"))
        rendered = tekton.render(spec, RenderOptions())
        return {r.document["metadata"]["name"] for r in rendered
                if r.document["kind"].startswith("Cluster")}

    first, second = cluster_names("a-b", "c"), cluster_names("a", "b-c")
    assert first and second and not first & second


@pytest.mark.parametrize(("old", "new"), [
    ("branch: main", "branch: 'rel\"1.0'"),
    ("branch: main", "branch: 'main$(body.head_commit.message)'"),
    ("dockerfile: api/Dockerfile", "dockerfile: '$(body.pusher.name)/Dockerfile'"),
    ("registry: {url: ghcr.io/o}", "registry: {url: 'ghcr.io/$(body.pusher.name)'}"),
    ("images: {", "images: {gradle: '$(body.head_commit.message)@sha256:" + "0" * 64 + "', "),
    ("dockerfile: api/Dockerfile",
     "dockerfile: api/Dockerfile\n    context: '$(body.head_commit.message)'"),
])
def test_values_that_triggers_would_splice_or_expand_are_refused(repo: Path, old: str,
                                                                 new: str) -> None:
    message = errors(repo, VALID.replace(old, new))
    assert "Tekton Triggers copy binding values into the PipelineRun's JSON" in message
    assert message.startswith("shipspec.yaml:"), message


@pytest.mark.parametrize("branch", ["--help", "'--upload-pack=touch${IFS}x'", "HEAD",
                                    "release/.hidden", "main.lock", "refs/heads/main"])
def test_a_branch_git_would_refuse_or_read_as_an_option_is_refused(repo: Path,
                                                                   branch: str) -> None:
    # found by the hostile run (seed 31337): `--help` passed the spec and reached git.
    # refs/heads/main is git's branch refs/heads/refs/heads/main: no push ever matched it.
    message = errors(repo, VALID.replace("branch: main", f"branch: {branch}"))
    assert message.startswith("shipspec.yaml:6:19: error: environments.stage.branch: "), message
    assert message.endswith("  hint: give a valid git branch name such as main (the name "
                            "alone, not refs/heads/main)"), message


def test_module_image_given_twice_is_refused(repo: Path) -> None:
    message = errors(repo, VALID.replace("    values: shop.api",
                                         "    values: shop.api\n    image: a\n    moduleName: b"))
    assert message == (
        "shipspec.yaml:12:5: error: modules.api.moduleName: 'moduleName' and 'image' say the "
        "same thing\n  hint: keep one of them"
    )


def test_unknown_environment_of_a_module(repo: Path) -> None:
    message = errors(repo, VALID.replace("    values: shop.api\n",
                                         "    values: shop.api\n    environments: [prod]\n"))
    assert message == (
        "shipspec.yaml:11:20: error: modules.api.environments[0]: unknown environment 'prod'\n"
        "  hint: declared environments: stage"
    )


def test_values_key_without_a_values_file(repo: Path) -> None:
    message = errors(repo, VALID.replace(", values: env/stage.yaml", ""))
    assert message == (
        "shipspec.yaml:10:5: error: modules.api.values: environment 'stage' has no values file "
        "for this key\n  hint: set environments.stage.values"
    )


def test_missing_spec_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(str(tmp_path / "nowhere"))
    assert str(caught.value) == (
        f"error: '{tmp_path / 'nowhere'}' does not exist\n"
        "  hint: name a shipspec.yaml, or the directory that holds one"
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError) as caught:
        load_spec(str(tmp_path / "empty"))
    assert str(caught.value) == (
        f"error: no shipspec.yaml found in '{tmp_path / 'empty'}'\n"
        "  hint: run shipspec in the directory that holds shipspec.yaml, or name it"
    )


@pytest.mark.parametrize(("old", "new", "error"), [
    ("registry: {url: ghcr.io/o}", "registry: {url: 'https://ghcr.io/o'}",
     "shipspec.yaml:3:17: error: registry.url: 'https://ghcr.io/o' is not the start of "
     "image names\n  hint: write it as image names begin, without a scheme and in lower "
     "case: ghcr.io/<org>, or registry.example.com:5000/<team>"),
    ("registry: {url: ghcr.io/o}", "registry: {url: ghcr.io/XiiLab}",
     "shipspec.yaml:3:17: error: registry.url: 'ghcr.io/XiiLab' is not the start of image "
     "names\n"),
    ("    dockerfile: api/Dockerfile\n", "    dockerfile: api/Dockerfile\n    image: Shop-API\n",
     "shipspec.yaml:10:12: error: modules.api.image: makes the image name 'ghcr.io/o/Shop-API',"
     " which registries refuse\n  hint: image names are lower case: letters and digits, "
     "joined by '.', '_' or '-'; a registry host may come first"),
    ("    dockerfile: api/Dockerfile\n",
     "    dockerfile: api/Dockerfile\n    image: 'registry.example.com:5000/team//api'\n",
     "error: modules.api.image: makes the image name "
     "'registry.example.com:5000/team//api', which registries refuse"),
])
def test_an_image_name_registries_refuse_is_refused(repo: Path, old: str, new: str,
                                                   error: str) -> None:
    """docker, kaniko and the kubelet parse image names with distribution/reference's
    grammar (regexp.go): a scheme or upper case failed the build or the pull later."""
    message = errors(repo, VALID.replace(old, new))
    assert error in message, message


def test_two_modules_writing_the_same_values_key_are_refused(repo: Path) -> None:
    message = errors(repo, VALID.replace("    values: shop.api\n",
                                         "    values: shop.api\n  web:\n    values: shop.api\n"))
    assert message == (
        "shipspec.yaml:12:13: error: modules.web.values: writes shop.api.imageTag in "
        "env/stage.yaml, as module 'api' does\n"
        "  hint: give each module its own values key")


def test_two_environments_writing_one_key_of_one_branch_are_refused(repo: Path) -> None:
    """A bump for stage would change what prod deploys; other files, or another branch of
    the deployment repository (a branch per environment), are what that layout needs."""
    two = VALID.replace("  stage: {branch: main, values: env/stage.yaml}\n",
                        "  stage: {branch: main, values: env/stage.yaml}\n"
                        "  prod: {branch: release, values: env/stage.yaml}\n")
    message = errors(repo, two)
    assert message == (
        "shipspec.yaml:11:13: error: modules.api.values: writes shop.api.imageTag in "
        "env/stage.yaml on branch main for both 'stage' and 'prod': a bump of one would "
        "deploy the other\n"
        "  hint: give each environment its own values file, or its own branch")
    for apart in ("values: env/prod.yaml", "values: env/stage.yaml, deployBranch: prod"):
        (repo / "shipspec.yaml").write_text(two.replace(
            "prod: {branch: release, values: env/stage.yaml}",
            f"prod: {{branch: release, {apart}}}"))
        load_spec(str(repo))


def test_two_modules_writing_one_manifests_container_are_refused(repo: Path) -> None:
    shared = VALID.replace("    values: shop.api\n",
                           "    manifest: {file: apps/shop.yaml, name: shop}\n"
                           "  web:\n    manifest: {file: apps/shop.yaml, name: shop, "
                           "container: api}\n")
    assert errors(repo, shared) == (
        "shipspec.yaml:12:15: error: modules.web.manifest: writes the image of Deployment "
        "shop (container api) in apps/shop.yaml, as module 'api' does\n"
        "  hint: name each module's own container in manifest.container")
    (repo / "shipspec.yaml").write_text(shared.replace("container: api", "container: web"))
    load_spec(str(repo))


def test_two_modules_of_one_image_in_one_kustomize_overlay_are_refused(repo: Path) -> None:
    """kustomize gives every container whose image matches an `images:` entry that entry's
    tag (kustomize v5.8.1, api/filters/imagetag/updater.go and api/internal/image/image.go,
    IsImageMatched): two modules of one image (seed B's core and batch both push
    astrago-backend) in one overlay would both run the tag bumped last."""
    shared = VALID.replace(
        "    values: shop.api\n",
        "    image: shop\n    kustomize: {branch: stage, directory: overlays/stage}\n"
        "  web:\n    image: ghcr.io/o/shop\n"
        "    kustomize: {branch: stage, directory: overlays/stage/}\n")
    assert errors(repo, shared) == (
        "shipspec.yaml:14:16: error: modules.web.kustomize: sets the image ghcr.io/o/shop in "
        "the overlay overlays/stage, as module 'api' does: kustomize gives every container "
        "of one image the same tag, so both modules would run the one bumped last\n"
        "  hint: give each module its own image, or its own overlay")
    for old, apart in (("image: ghcr.io/o/shop", "image: ghcr.io/o/web"),
                       ("directory: overlays/stage/", "directory: overlays/web")):
        spec_with(repo, shared.replace(old, apart))
    # the overlays of two environments, each on a branch of its own (seed A's dev and prod)
    spec_with(repo, shared.replace("{branch: stage, directory: overlays/stage/}",
                                   "{branch: prod, directory: overlays/stage}").replace(
        "  stage: {branch: main, values: env/stage.yaml}\n",
        "  stage: {branch: main, values: env/stage.yaml}\n  prod: {branch: release}\n"))


@pytest.mark.parametrize(("old", "new", "error"), [
    ("    values: shop.api\n",
     "    manifest: {file: apps/shop.yaml, name: shop}\n  web:\n    manifest: "
     "{file: ./apps//shop.yaml, name: shop, container: api}\n",
     "modules.web.manifest: writes the image of Deployment shop (container api) in "
     "apps/shop.yaml, as module 'api' does"),
    ("  stage: {branch: main, values: env/stage.yaml}\n",
     "  stage: {branch: main, values: env/stage.yaml}\n"
     "  prod: {branch: release, values: ./env/stage.yaml}\n",
     "modules.api.values: writes shop.api.imageTag in env/stage.yaml on branch main for "
     "both 'stage' and 'prod'"),
    ("    values: shop.api\n",
     "    kustomize: {branch: stage, directory: overlays/stage}\n  web:\n    image: api\n"
     "    kustomize: {branch: stage, directory: ./overlays/stage}\n",
     "modules.web.kustomize: sets the image ghcr.io/o/api in the overlay overlays/stage, "
     "as module 'api' does"),
])
def test_one_deployment_file_spelled_two_ways_is_one_file(repo: Path, old: str, new: str,
                                                         error: str) -> None:
    """`./apps//shop.yaml` is the file `apps/shop.yaml` that the bump writes: the checks of
    what two modules or two environments write compared the spellings, and passed."""
    assert error in errors(repo, VALID.replace(old, new))


@pytest.mark.parametrize(("old", "new", "field"), [
    ("deploy: {url: https://github.com/o/deploy.git}",
     "deploy: {url: 'https://bot:ghp_Secret0123456789@github.com/o/deploy.git'}", "deploy.url"),
    # GitHub takes a token as the user name alone
    ("source: {url: https://github.com/o/shop.git,",
     "source: {url: 'https://ghp_Secret0123456789@github.com/o/shop.git',", "source.url"),
    ("    dockerfile: api/Dockerfile\n",
     "    dockerfile: api/Dockerfile\n    repo: 'ssh://git:ghp_Secret0123456789@example.com/api'\n",
     "modules.api.repo"),
    ("deploy: {url: https://github.com/o/deploy.git}",
     "deploy: {url: https://github.com/o/deploy.git, forge: {type: github, "
     "api: 'https://x:ghp_Secret0123456789@api.github.com'}}", "deploy.forge.api"),
])
def test_a_url_with_a_token_in_it_is_refused_without_saying_it(cli, repo: Path, old: str,
                                                                new: str, field: str) -> None:
    """A token belongs in a Secret or a variable the spec names: in a URL it went into the
    spec's ConfigMap, the TriggerBindings, git's messages in the CI's logs, and every error
    that quotes the URL. The refusal names the field and never the value."""
    (repo / "shipspec.yaml").write_text(VALID.replace(old, new))
    for verb in ("validate", "generate", "values"):
        result = cli(verb, str(repo), *(["--env", "stage"] if verb == "values" else []))
        assert (result.code, result.out) == (1, ""), verb
        assert f"error: {field}: the URL holds " in result.err, result.err
        assert "Secret0123456789" not in result.err
        assert "hint: give the URL without it" in result.err
    # an SSH user is no secret
    (repo / "shipspec.yaml").write_text(VALID.replace(
        "deploy: {url: https://github.com/o/deploy.git}",
        "deploy: {url: 'ssh://git@github.com/o/deploy.git'}"))
    assert cli("values", str(repo), "--env", "stage").code == 0


def test_a_deployment_url_with_a_token_is_refused_on_the_command_line(cli, repo: Path) -> None:
    """Whatever runs `bump --repo https://user:token@...` shows the token in the process
    list and its shell's history; the error does not repeat it."""
    (repo / "shipspec.yaml").write_text(VALID)
    result = cli("bump", str(repo), "--module", "api", "--tag", "v1", "--dry-run", "--repo",
                 "https://bot:ghp_Secret0123456789@github.com/o/deploy.git")
    assert result.code == 1 and result.out == ""
    assert "--repo: the URL holds a password or token in its user part" in result.err
    assert "Secret0123456789" not in result.err


def test_a_manifest_written_for_every_environment_is_refused(repo: Path) -> None:
    """A module without `environments` deploys to every one declared, and a manifest target
    is one file: stage's bump rewrote the container that prod runs too."""
    two = VALID.replace("  stage: {branch: main, values: env/stage.yaml}\n",
                        "  stage: {branch: main, values: env/stage.yaml}\n"
                        "  prod: {branch: release, values: env/prod.yaml}\n").replace(
        "    values: shop.api\n", "    manifest: {file: apps/api.yaml, name: api}\n")
    message = errors(repo, two)
    assert message == (
        "shipspec.yaml:11:15: error: modules.api.manifest: writes the image of Deployment "
        "api (container api) in apps/api.yaml on branch main for both 'stage' and 'prod': "
        "a bump of one would deploy the other\n"
        "  hint: list the one environment it deploys to in modules.api.environments, or "
        "give each environment its own branch (deployBranch)")
    for old, apart in (("    dockerfile: api/Dockerfile\n",  # one environment
                        "    dockerfile: api/Dockerfile\n    environments: [prod]\n"),
                       ("values: env/prod.yaml}", "deployBranch: prod}")):  # a branch each
        (repo / "shipspec.yaml").write_text(two.replace(old, apart))
        load_spec(str(repo))


@pytest.mark.parametrize(("old", "new", "field"), [
    ("project: shop", 'project: "shop\\n"', "project"),
    ("project: shop", 'project: shop\nnamespace: "ci\\n"', "namespace"),
    ("webhookSecret: hook", 'webhookSecret: "hook\\n"', "source.webhookSecret"),
])
def test_a_trailing_newline_does_not_pass_a_pattern(repo: Path, old: str, new: str,
                                                    field: str) -> None:
    """JSON Schema's `$` ends the string; Python's also matches before a final newline."""
    message = errors(repo, VALID.replace(old, new))
    assert f"error: {field}: " in message, message


GITHUB_FIRST_SPEC = """\
project: shop
source: {url: https://github.com/o/shop.git}
registry: {url: ghcr.io/o}
deploy: {url: https://github.com/o/deploy.git}
ci: {engine: github-actions}
environments:
  stage: {branch: main, values: env/stage.yaml}
modules:
  api: {values: shop.api}
"""


def test_github_actions_spec_without_environments_is_refused(repo: Path) -> None:
    """It rendered `branches: []` (actionlint refuses it) and `image: null`, exit 0."""
    message = errors(repo, GITHUB_FIRST_SPEC.replace(
        "environments:\n  stage: {branch: main, values: env/stage.yaml}\n", ""))
    assert message.startswith(
        "shipspec.yaml:7:3: error: modules.api: no module of o/shop deploys to an environment: "
        "its workflow would run on no branch\n")


def test_deploying_modules_need_a_deployment_repository(repo: Path) -> None:
    message = errors(repo, GITHUB_FIRST_SPEC.replace(
        "deploy: {url: https://github.com/o/deploy.git}\n", ""))
    assert message == (
        "shipspec.yaml:1:1: error: deploy.url: modules deploy (values, kustomize or manifest) "
        "but deploy.url is not set: shipspec bump has no repository to write to\n"
        "  hint: set deploy.url to the deployment repository's clone URL")


@pytest.mark.parametrize(("deploy_url", "needed"), [
    ("https://github.com/o/deploy.git", "ci.images.shipspec: the workflows' plan and deploy"),
    # the deploy job pushes with a token: it failed on every run (bump by hand takes one)
    ("'ssh://git@github.com/o/deploy.git'", "deploy.url: 'ssh://git@github.com/o/deploy.git' "
     "is an SSH URL, and the CI's deploy step pushes with the token of the secret "
     "DEPLOY_TOKEN over HTTPS: it has no SSH key\n  hint: give the deployment repository's "
     "https:// clone URL"),
])
def test_github_workflows_are_not_rendered_without_what_their_jobs_need(
        repo: Path, cli, deploy_url: str, needed: str) -> None:
    (repo / "shipspec.yaml").write_text(GITHUB_FIRST_SPEC.replace(
        "deploy: {url: https://github.com/o/deploy.git}", f"deploy: {{url: {deploy_url}}}"))
    checked = cli("validate", str(repo))
    assert checked.code == 0 and "still needed by generate --target github-actions: " \
        f"{needed}".replace("\n", "\n  ") in checked.out
    generated = cli("generate", str(repo), "--target", "github-actions")
    assert (generated.code, generated.out) == (1, "")
    assert f"error: {needed}" in generated.err


@pytest.mark.parametrize(("tag", "rendered"), [
    ("'{{ module }}-{{ date }}'", "api-20260101"), ("latest", "latest"),
    ("'{{ env }}-{{ branch }}'", "stage-main")])
def test_a_tag_that_does_not_name_the_commit_is_refused(repo: Path, tag: str,
                                                        rendered: str) -> None:
    """Pushes would share the tag: the registry's moves to the newest image, the values
    hold that tag already, so bump changes nothing and the new image never rolls out. One
    error for a template that every module shares."""
    text = VALID.replace("  stage: {branch: main, values: env/stage.yaml}",
                         f"  stage: {{branch: main, values: env/stage.yaml, tag: {tag}}}")
    message = errors(repo, text.replace("    values: shop.api\n", "    values: shop.api\n"
                                        "  web: {dockerfile: web/Dockerfile, values: shop.web}\n"))
    assert message == (
        f"shipspec.yaml:6:54: error: environments.stage.tag: does not name the commit, so "
        f"pushes share a tag ('{rendered}'): the image of a later push would replace it in "
        "the registry, and its bump would find that tag deployed already: the new image "
        "never rolls out\n  hint: name the commit: {{ sha8 }} or {{ sha }}, as the default "
        "{{ module }}-{{ env }}-{{ sha8 }} does")


@pytest.mark.parametrize("tag", ["'{{ module }}-{{ sha[:7] }}'", "'v1-{{ sha }}'",
                                 "'{{ date }}-{{ sha8 | upper }}'"])
def test_a_tag_that_names_the_commit_is_taken(repo: Path, tag: str) -> None:
    spec = spec_with(repo, VALID.replace(
        "  stage: {branch: main, values: env/stage.yaml}",
        f"  stage: {{branch: main, values: env/stage.yaml, tag: {tag}}}"))
    assert spec.environments[0].tag.text == tag.strip("'")


SHARED_IMAGE = VALID.replace(
    "  stage: {branch: main, values: env/stage.yaml}",
    "  stage: {branch: main, values: env/stage.yaml, tag: 'stage-{{ sha8 }}'}").replace(
    "    dockerfile: api/Dockerfile\n    values: shop.api\n",
    "    dockerfile: api/Dockerfile\n    image: shop\n    values: shop.api\n"
    "  worker:\n    dockerfile: api/Dockerfile\n    image: shop\n    values: shop.worker\n")


def test_modules_built_otherwise_pushing_one_image_and_tag_are_refused(repo: Path) -> None:
    """astrago's core, batch and monitor push to one image: without the module in the tag,
    a commit's second build would replace the first in the registry, and every module would
    run the last one built."""
    message = errors(repo, SHARED_IMAGE.replace(
        "  worker:\n    dockerfile: api/Dockerfile", "  worker:\n    dockerfile: worker/Dockerfile"))
    assert message == (
        "shipspec.yaml:12:3: error: modules.worker: pushes ghcr.io/o/shop:stage-01234567 for a "
        "commit, as module api does, built otherwise: one image would replace the other in "
        "the registry, and both would run it\n"
        "  hint: name the module in the tag ({{ module }}-...), or give it an image of its own")


def test_one_docker_hub_image_in_two_spellings_is_one_image(repo: Path) -> None:
    """`acme/shop` and `docker.io/acme/shop` are one image to docker and the kubelet
    (distribution/reference v0.6.0, normalize.go): the check compared them as written."""
    text = SHARED_IMAGE.replace("registry: {url: ghcr.io/o}", "registry: {url: acme}").replace(
        "  worker:\n    dockerfile: api/Dockerfile\n    image: shop",
        "  worker:\n    dockerfile: worker/Dockerfile\n    image: docker.io/acme/shop")
    message = errors(repo, text)
    assert message.startswith(
        "shipspec.yaml:12:3: error: modules.worker: pushes docker.io/acme/shop:stage-01234567 "
        "for a commit, as module api does, built otherwise"), message


@pytest.mark.parametrize("edit", [
    pytest.param(lambda text: text, id="one build, two modules (an API and its worker)"),
    pytest.param(lambda text: text.replace(
        "  worker:\n    dockerfile: api/Dockerfile",
        "  worker:\n    repo: https://github.com/o/worker.git\n    dockerfile: Dockerfile"),
        id="two repositories: their commits differ"),
    pytest.param(lambda text: text.replace("tag: 'stage-{{ sha8 }}'",
                                           "tag: '{{ module }}-{{ sha8 }}'").replace(
        "  worker:\n    dockerfile: api/Dockerfile", "  worker:\n    dockerfile: worker/Dockerfile"),
        id="the module in the tag"),
])
def test_modules_may_share_an_image_where_their_tags_cannot_collide(repo: Path, edit: Any
                                                                   ) -> None:
    spec = spec_with(repo, edit(SHARED_IMAGE))
    assert {module.image for module in spec.modules} == {"ghcr.io/o/shop"}


def test_a_statement_in_a_shared_tag_template_is_one_error(repo: Path) -> None:
    """The template is rendered once per module at validation; the error is said once."""
    text = VALID.replace("  stage: {branch: main, values: env/stage.yaml}",
                         "  stage: {branch: main, values: env/stage.yaml,\n"
                         "          tag: '{% for x in module %}{{ x }}{% endfor %}'}")
    text = text.replace("    values: shop.api\n", "    values: shop.api\n  web:\n"
                        "    dockerfile: web/Dockerfile\n    values: shop.web\n")
    message = errors(repo, text)
    assert message.count("error:") == 1, message
    assert "environments.stage.tag: 'For' is not allowed in templates" in message


@pytest.mark.parametrize(("old", "new", "field"), [
    ("dockerfile: api/Dockerfile", "dockerfile: api/Dockerfile\n    image: "
     "'${{ github.event.head_commit.author.email }}/core'", "modules.api.image"),
    ("registry: {url: ghcr.io/o}", "registry: {url: 'ghcr.io/${{ github.actor }}'}",
     "registry.url"),
    ("branch: main", "branch: 'main${{github.token}}'", "environments.stage.branch"),
])
def test_no_spec_value_becomes_a_workflow_expression(repo: Path, old: str, new: str,
                                                     field: str) -> None:
    message = errors(repo, VALID.replace(old, new))
    assert f"error: {field}: holds '${{{{', which GitHub Actions would evaluate" in message
    assert message.startswith("shipspec.yaml:")


def test_control_characters_are_escaped_in_messages(repo: Path) -> None:
    message = errors(repo, VALID.replace("  api:", '  "api\\e[31mred\\r":'))
    assert "\x1b" not in message and "\r" not in message
    assert "api\\x1b[31mred\\x0d" in message


def test_a_spec_too_large_for_its_configmap_is_refused(repo: Path) -> None:
    padding = "# " + "x" * 98 + "\n"
    message = errors(repo, VALID + padding * 11_000)
    assert message.startswith("shipspec.yaml:1:1: error: the spec is 1,1")
    assert "the ConfigMap that carries it to the runs holds at most 1,044,480" in message


def test_a_spec_too_large_for_its_configmap_is_refused_before_any_module_is_read(
        repo: Path) -> None:
    """Every module is wrong too: on Tekton only the size is reported, as nothing else was
    read (a spec of 2,000 modules of 60 paths each took 1.3 s to be refused for its size)."""
    modules = "".join(f"  m{index}: {{bogus: {'x' * 600}}}\n" for index in range(2_000))
    text = VALID.replace("modules:\n  api:\n    dockerfile: api/Dockerfile\n"
                         "    values: shop.api\n", "modules:\n" + modules)
    assert errors(repo, text) == (
        f"shipspec.yaml:1:1: error: the spec is {len(text.encode()):,} bytes; the ConfigMap "
        "that carries it to the runs holds at most 1,044,480\n  hint: the API server refuses "
        "objects over 1 MiB: shorten the file (comments count too), or split it by team")


def test_a_values_key_below_another_modules_is_refused(repo: Path) -> None:
    """`x` and `x.repository` on two modules: a TypeError before, or one module's value
    silently dropped in the other order."""
    message = errors(repo, VALID.replace("    values: shop.api\n",
                                         "    values: shop.api\n  web:\n"
                                         "    values: shop.api.repository\n"))
    assert "error: modules.web.values: writes shop.api.repository.imageTag in env/stage.yaml, " \
        "where module 'api' writes shop.api.repository" in message


def test_end_of_stream_errors_point_into_the_file(repo: Path) -> None:
    assert errors(repo, "---\n").startswith("shipspec.yaml:1:4: error: expected a mapping")
    truncated = errors(repo, "project: p\nsource: {url: x")
    assert truncated.startswith("shipspec.yaml:2:16: error: invalid YAML:"), truncated


def test_a_spec_larger_than_one_render_may_be_is_refused_before_any_module_is_read(
        repo: Path) -> None:
    """Every module is wrong too: only the count is reported, as nothing else was read."""
    modules = "".join(f"  m{index}: {{bogus: 1}}\n" for index in range(2_001))
    text = VALID.replace("modules:\n  api:\n    dockerfile: api/Dockerfile\n"
                         "    values: shop.api\n", "modules:\n" + modules)
    assert errors(repo, text) == (
        "shipspec.yaml:7:1: error: modules: 2,001 modules: one spec holds at most 2,000\n"
        "  hint: split the spec, by team or by repository")


def test_too_many_deployments_are_refused(repo: Path) -> None:
    environments = "".join(f"  e{index}: {{branch: b{index}, values: env/{index}.yaml}}\n"
                           for index in range(3))
    modules = "".join(f"  m{index}: {{values: shop.m{index}}}\n" for index in range(1_400))
    text = VALID.replace("  stage: {branch: main, values: env/stage.yaml}\n", environments)
    text = text.replace("modules:\n  api:\n    dockerfile: api/Dockerfile\n"
                        "    values: shop.api\n", "modules:\n" + modules)
    assert errors(repo, text) == (
        "shipspec.yaml:9:1: error: modules: 1,400 modules with 4,200 deployments (module and "
        "environment pairs) in 3 environments: one spec holds at most 4,000 of either\n"
        "  hint: split the spec, by team or by repository")


def test_too_many_environments_are_refused_before_they_are_read(repo: Path) -> None:
    """Each environment wrong too: nothing but the count is reported."""
    environments = "".join(f"  e{index}: {{bogus: 1}}\n" for index in range(4_001))
    text = VALID.replace("  stage: {branch: main, values: env/stage.yaml}\n", environments)
    text = text.replace("    values: shop.api\n", "    values: shop.api\n"
                        "    environments: [e1]\n")
    assert errors(repo, text).endswith(
        "error: modules: 1 modules with 1 deployments (module and environment pairs) in 4,001 "
        "environments: one spec holds at most 4,000 of either\n"
        "  hint: split the spec, by team or by repository")


@pytest.mark.parametrize(("old", "new", "field"), [
    ("webhookSecret: hook}", "webhookSecret: hook, webhookSecretKey: 'a: b'}",
     "source.webhookSecretKey"),
    ("webhookSecret: hook}", "webhookSecret: " + "h" * 300 + "}", "source.webhookSecret"),
    ("registry: {url: ghcr.io/o}", "registry: {url: ghcr.io/o}\nci: {storageClass: Fast SSD}",
     "ci.storageClass"),
    ("values: shop.api", "values: shop." + "k" * 1100, "modules.api.values"),
    ("deploy: {url: https://github.com/o/deploy.git}",
     "deploy: {url: https://github.com/o/deploy.git, tagKey: 'image tag'}", "deploy.tagKey"),
])
def test_kubernetes_facing_values_follow_kubernetes_rules(repo: Path, old: str, new: str,
                                                          field: str) -> None:
    message = errors(repo, VALID.replace(old, new).replace(
        SHIPSPEC_IMAGE_LINE, "") + ("" if "ci:" in new else SHIPSPEC_IMAGE_LINE))
    assert f"error: {field}: " in message, message


def test_a_token_variable_name_is_bounded(repo: Path) -> None:
    """A name past YAML's 1024-character simple keys made a workflow PyYAML could not read."""
    message = errors(repo, VALID.replace("deploy.git}", "deploy.git, tokenEnv: " + "T" * 1100
                                         + "}"))
    assert "error: deploy.tokenEnv: " in message
    assert "a variable name of at most 128 letters, digits and '_'" in message


def test_a_missing_field_hint_says_what_to_write(repo: Path) -> None:
    message = errors(repo, "project: p\nregistry: {}\nmodules: {core: {}}\n")
    assert message == ("shipspec.yaml:2:11: error: registry: missing required field 'url'\n"
                       "  hint: add it, e.g. url: ghcr.io/<org>")
    assert errors(repo, "project: p\nmodules: {core: {}}\n").endswith(
        "  hint: add it, e.g. registry: {url: ghcr.io/<org>}")


def test_every_required_field_has_an_example_for_its_hint() -> None:
    from shipspec.specfile.schema import SPEC_SCHEMA

    def walk(schema: object, path: str) -> list[str]:
        if isinstance(schema, dict):
            found = [f"{path}.{name}" for name in schema.get("required", ())
                     if "examples" not in schema["properties"][name]]
            return found + [missing for key, item in schema.items()
                            for missing in walk(item, f"{path}.{key}")]
        if isinstance(schema, list):
            return [missing for item in schema for missing in walk(item, path)]
        return []

    assert walk(SPEC_SCHEMA, "") == []


def _with_resources(ci: str, modules: str) -> str:
    """VALID with `ci` as ci.resources (flow style) and `modules` for its modules."""
    return (VALID.split("modules:\n")[0] + "modules:\n"
            + textwrap.indent(textwrap.dedent(modules), "  ")
            + SHIPSPEC_IMAGE_LINE.replace("ci: {", f"ci: {{resources: {ci}, ", 1))


def test_build_resources_are_kubernetes_quantities_each_request_within_its_limit(
        repo: Path) -> None:
    """ci.resources and a module's own: quantities as Kubernetes reads them (a plain number
    is not a string; a sign or a word is no quantity), and no request above its limit,
    compared exactly across suffixes, which the API server would refuse in every run's pod;
    a module's own pair is reported at the module, ci's at ci."""
    message = errors(repo, _with_resources(
        "{requests: {cpu: 1, memory: -1Gi, ephemeral-storage: lots, gpu: '1'}}", """\
          api:
            dockerfile: api/Dockerfile
            values: shop.api
            resources: {limits: {cpu: 1e999}}
        """))
    assert message.splitlines() == [
        "shipspec.yaml:11:31: error: modules.api.resources.limits.cpu: '1e999' is not in the "
        "expected form",
        "  hint: a Kubernetes quantity such as 500m or '2' (a plain number is not a "
        "string: quote it)",
        "shipspec.yaml:12:34: error: ci.resources.requests.cpu: expected a string, got the "
        "number 1",
        "  hint: YAML reads unquoted yes/no/on/off, numbers and null as non-strings; quote it",
        "shipspec.yaml:12:45: error: ci.resources.requests.memory: '-1Gi' is not in the "
        "expected form",
        "  hint: a Kubernetes quantity such as 512Mi or 4Gi (a plain number is not a "
        "string: quote it)",
        "shipspec.yaml:12:70: error: ci.resources.requests.ephemeral-storage: 'lots' is not "
        "in the expected form",
        "  hint: a Kubernetes quantity such as 10Gi (a plain number is not a "
        "string: quote it)",
        "shipspec.yaml:12:76: error: ci.resources.requests.gpu: unknown field 'gpu'",
        "  hint: did you mean 'cpu'?",
    ]
    message = errors(repo, _with_resources(
        "{requests: {cpu: '1.5', memory: 2Gi, ephemeral-storage: 1e9}, "
        "limits: {cpu: 1500m, memory: '2147483648', ephemeral-storage: 999999999999n}}", """\
          api:
            dockerfile: api/Dockerfile
            values: shop.api
            resources: {limits: {memory: 1.5Gi}}
          web:
            dockerfile: web/Dockerfile
            values: shop.web
            resources: {requests: {cpu: '2'}}
          worker:
            dockerfile: worker/Dockerfile
            values: shop.worker
            resources: {requests: {cpu: 1501m}, limits: {cpu: '1.502'}}
        """))
    # 1.5 and 1500m, 2Gi and 2147483648 are equal; 1501m is below 1.502
    assert message.splitlines() == [
        "shipspec.yaml:11:34: error: modules.api.resources.limits.memory: the build would "
        "request 2Gi of memory and be limited to 1.5Gi: Kubernetes refuses such a pod, so no "
        "build would start",
        "  hint: raise limits.memory to 2Gi at least, or lower the request",
        "shipspec.yaml:15:33: error: modules.web.resources.requests.cpu: the build would "
        "request 2 of cpu and be limited to 1500m: Kubernetes refuses such a pod, so no build "
        "would start",
        "  hint: raise limits.cpu to 2 at least, or lower the request",
        "shipspec.yaml:20:73: error: ci.resources.requests.ephemeral-storage: the build would "
        "request 1e9 of ephemeral-storage and be limited to 999999999999n: Kubernetes refuses "
        "such a pod, so no build would start",
        "  hint: raise limits.ephemeral-storage to 1e9 at least, or lower the request",
    ]


def test_a_module_sets_only_the_build_resources_ci_sets(repo: Path) -> None:
    """Every module's runs come from one TriggerTemplate, which needs each resource's value
    in every run: a module's own resource without ci's would leave the others' runs
    without it (Triggers refuse to create a run that misses a parameter)."""
    text = _with_resources("{limits: {memory: 4Gi}}", """\
          api:
            dockerfile: api/Dockerfile
            values: shop.api
            resources: {requests: {memory: 2Gi}, limits: {memory: 6Gi, cpu: '2'}}
        """)
    assert errors(repo, text).splitlines() == [
        "shipspec.yaml:11:28: error: modules.api.resources.requests.memory: sets "
        "requests.memory, which ci.resources does not: on Tekton, every module's runs come "
        "from one TriggerTemplate, which needs a value for each module",
        "  hint: set ci.resources.requests.memory too, the value of the modules without "
        "their own",
        "shipspec.yaml:11:64: error: modules.api.resources.limits.cpu: sets limits.cpu, "
        "which ci.resources does not: on Tekton, every module's runs come from one "
        "TriggerTemplate, which needs a value for each module",
        "  hint: set ci.resources.limits.cpu too, the value of the modules without their own",
    ]
    spec = spec_with(repo, text.replace("requests: {memory: 2Gi}, ", "").replace(
        ", cpu: '2'", ""))
    assert spec.ci.resources == (("limits.memory", "4Gi"),)
    assert spec.modules[0].resources == (("limits.memory", "6Gi"),)


def test_image_key_names_the_values_key_of_the_whole_reference(repo: Path) -> None:
    spec = spec_with(repo, VALID.replace("deploy: {url: https://github.com/o/deploy.git}",
                                         "deploy: {url: https://github.com/o/deploy.git, "
                                         "imageKey: image}"))
    [target] = spec.module("api").deployments[0].targets
    assert target == HelmValuesTarget("env/stage.yaml", "shop.api.image", "shop.api.image",
                                      reference=True)


def test_image_key_with_a_key_of_a_split_layout_is_refused(repo: Path) -> None:
    """Both would say where the tag is: which one bump wrote would be a guess."""
    message = errors(repo, VALID.replace(
        "deploy: {url: https://github.com/o/deploy.git}",
        "deploy: {url: https://github.com/o/deploy.git, imageKey: image, tagKey: tag,\n"
        "         digestKey: digest}"))
    assert message == (
        "shipspec.yaml:4:65: error: deploy.tagKey: says where a part of the image is, but "
        "imageKey says one key holds it whole\n"
        "  hint: remove tagKey, digestKey, or imageKey")
