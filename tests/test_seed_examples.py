"""Both seed systems load from shipspec, and resolve to what their teams run today."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import SHIPSPEC_IMAGE_LINE

from shipspec.spec import HelmValuesTarget, KustomizeTarget
from shipspec.specfile.resolve import load_spec

SEED_A_VALUES_YAML = """\
modules:
  new-module:
    enabled: true
    gitBranch: "dev-new-module"          # pushes to this branch build this module
    moduleName: "goyoai-gointern-new"
    kustomize:
      branch: "dev"                       # branch of the deployment repo
      directory: "goyoai-new-module/overlays/dev"
      deploymentName: "dev-goyoai-new-module"
    dockerfileName: "dockerfile-new-dev"
    pvc:
      workspace: "gointern-backend-new"
      cache: "gointern-backend-new-cache"
"""

SEED_A_GLOBALS = """\
project: gointern
source: {url: https://github.com/goyoai/gointern-backend.git, webhookSecret: hook}
registry: {url: ghcr.io/goyoai}
deploy: {url: https://github.com/goyoai/deployment.git}
""" + SHIPSPEC_IMAGE_LINE


def test_seed_a_module_entry_is_accepted_verbatim(repo: Path) -> None:
    (repo / "shipspec.yaml").write_text(SEED_A_GLOBALS + SEED_A_VALUES_YAML)
    module = load_spec(str(repo)).module("new-module")
    assert module.enabled
    assert module.image == "ghcr.io/goyoai/goyoai-gointern-new"
    assert module.dockerfile == "dockerfile-new-dev"
    assert (module.claims.workspace, module.claims.cache) == (
        "gointern-backend-new", "gointern-backend-new-cache")
    [deployment] = module.deployments
    assert deployment.environment == "dev"
    assert deployment.trigger_branch == "dev-new-module"
    assert deployment.deploy_branch == "dev"
    assert deployment.targets == (KustomizeTarget(
        "goyoai-new-module/overlays/dev", "ghcr.io/goyoai/goyoai-gointern-new",
        "dev-goyoai-new-module"),)


def test_seed_a_values_file_shape_loads_with_its_globals(example_copy) -> None:
    spec = load_spec(str(example_copy("gointern-backend")))
    assert [m.name for m in spec.modules] == ["system", "portal", "aify", "new-module"]
    assert [m.name for m in spec.enabled_modules] == ["system", "portal", "aify"]
    assert spec.namespace == "gointern-ci"
    assert spec.ci.builder == "kaniko"
    assert spec.ci.build == "gradle"
    portal = spec.module("portal")
    assert portal.deployments[0].trigger_branch == "dev-portal"
    assert portal.claims.cache == "gointern-backend-portal-cache"


def test_disabled_module_is_kept_in_the_spec(example_copy) -> None:
    spec = load_spec(str(example_copy("gointern-backend")))
    assert not spec.module("new-module").enabled
    assert spec.module("new-module").deployments[0].environment == "dev"


def test_default_names_follow_project_and_module(repo: Path) -> None:
    (repo / "shipspec.yaml").write_text(textwrap.dedent("""\
        project: shop
        source: {url: https://github.com/o/shop.git, webhookSecret: hook}
        registry: {url: ghcr.io/o/}
        ci: {images: {shipspec: 'registry.test/shipspec:1@sha256:""" + "0" * 64 + """'}}
        environments: {stage: {branch: main}}
        modules:
          api: {}
          web: {image: registry.example.com:5000/team/web}
        """))
    spec = load_spec(str(repo))
    api = spec.module("api")
    assert api.claims.workspace == "shop-api-workspace"
    assert api.claims.cache == "shop-api-cache"
    assert api.image == "ghcr.io/o/api"
    assert api.dockerfile == "Dockerfile"
    assert api.context == "."
    assert api.repo == "https://github.com/o/shop.git"
    assert api.deployments[0].tag.text == "{{ module }}-{{ env }}-{{ sha8 }}"
    assert api.deployments[0].deploy_branch == "main"
    assert spec.module("web").image == "registry.example.com:5000/team/web"


def test_seed_b_resolves_to_helmfile_values_keys(example_copy) -> None:
    spec = load_spec(str(example_copy("astrago")))
    assert spec.environment_names == ("stage",)
    core = spec.module("core")
    assert core.image == "ghcr.io/xiilab/astrago-backend"
    assert (core.dockerfile, core.context) == ("server-core/Dockerfile", "server-core")
    assert (core.build, core.build_task) == ("gradle", "bootJar")
    assert spec.module("frontend").build == "none"
    [deployment] = core.deployments
    assert deployment.trigger_branch == "stabilize/1.0"
    assert deployment.targets == (HelmValuesTarget(
        "helmfile/environments/customers/xiilab/values.yaml",
        "astrago.components.core.tag", "astrago.components.core.repository",
        registry_key="astrago.components.core.registry",
        default_registry_key="astrago.imageDefaults.registry",
        default_repository_key="astrago.imageDefaults.repository"),)
    frontend = spec.module("frontend")
    assert frontend.repo == "https://github.com/xiilab/astrago-frontend.git"
    assert frontend.image == "ghcr.io/xiilab/astrago-frontend"


