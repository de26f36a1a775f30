"""Bump targets: one small protocol, one module per kind of file in a deployment repository.

Each module exposes (where the file is: `spec.target_paths`)
- `read(doc, target) -> str`: the image the file pins now: its tag, and `@<digest>` after
  it where a digest is pinned too (`images.pinned`; "" when it holds no tag yet);
- `write(doc, edits) -> None`: for each (target, image) of `edits`, all of them in the
  one file `doc` (a `YamlText`) holds, the new tag (and digest, and repository if asked)
  written, changing nothing else. A bump of every module of a mono repo writes them all
  into one values file: written and checked one by one, 200 of them took 14 s.
- `refuse_overridden(doc, target, sources) -> None`: a SpecError where one of the Argo
  CD source files beside the target (`sources`, ARGO_CD_SOURCE_FILES) sets what the
  target's tag decides: the bump would land, and Argo CD would deploy the file's image.
"""

import importlib
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from shipspec.errors import SpecError
from shipspec.images import split_image
from shipspec.spec import HelmValuesTarget, KustomizeTarget, ManifestTarget, Target
from shipspec.values.yamltext import YamlText


class NewImage(NamedTuple):
    repository: str  # ghcr.io/xiilab/astrago-backend
    tag: str
    digest: str | None  # sha256:..., to pin the exact image
    set_repository: bool  # also write the repository where the target has a place for it
    create: bool = False  # add the tag's key where the module's mapping lacks it (on request)


def new_reference(current: str, image: NewImage) -> str:
    """A whole image reference (`repository:tag[@digest]`, as `current` holds it) at the
    image's tag and digest: its own repository kept, unless the image sets it
    (--set-repository) or `current` names none (an empty value)."""
    kept = "" if image.set_repository else split_image(current)[0]
    return f"{kept or image.repository}:{image.tag}" + (f"@{image.digest}" if image.digest
                                                        else "")


class TargetKind(Protocol):
    def read(self, doc: YamlText, target: Target) -> str: ...

    def write(self, doc: YamlText, edits: Sequence[tuple[Target, NewImage]]) -> None: ...

    def refuse_overridden(self, doc: YamlText, target: Target,
                          sources: list[YamlText]) -> None: ...


# Argo CD merges `.argocd-source.yaml` and `.argocd-source-<application>.yaml` of an
# Application's directory into its source before it renders (v3.5.1,
# reposerver/repository/repository.go, mergeSourceParameters): their kustomize.images and
# helm.parameters / helm.valuesObject win over the files bump writes. Argo CD Image Updater
# writes such files (its "git" write-back), and a team that moves to shipspec keeps them.
ARGO_CD_SOURCE_FILES = (".argocd-source.yaml", ".argocd-source-")


def argo_cd_source(name: str) -> bool:
    """Whether Argo CD reads a file of this name in an Application's directory."""
    whole, prefix = ARGO_CD_SOURCE_FILES
    return name == whole or (name.startswith(prefix) and name.endswith(".yaml"))


def overridden(source: YamlText, node: Any, setting: str, written: str) -> SpecError:
    """How a target refuses an edit that `setting` at `node` of Argo CD source file `source`
    would set over."""
    return SpecError.single(
        f"{source.name} sets {setting} over {written}: Argo CD applies it whenever it renders "
        "the Application, so the tag written there would never deploy; nothing was written",
        location=source.location(node.start_mark.index),
        hint="remove it from that file (Argo CD Image Updater writes them), so that the "
             "deployment files decide the tag")


_MODULES = {
    HelmValuesTarget: "shipspec.bump.targets.helm_values",
    KustomizeTarget: "shipspec.bump.targets.kustomize",
    ManifestTarget: "shipspec.bump.targets.manifest",
}


def kind_of(target: Target) -> TargetKind:
    module: TargetKind = importlib.import_module(_MODULES[type(target)])
    return module


def describe(target: Target) -> str:
    """How messages name a target."""
    if isinstance(target, HelmValuesTarget):
        return f"{target.file} ({target.tag_key})"
    if isinstance(target, KustomizeTarget):
        return f"{target.directory}/kustomization.yaml (images: {target.image})"
    return f"{target.file} ({target.kind} {target.name}, container {target.container})"


# SOPS keeps its metadata in a top-level `sops` mapping and authenticates every value of
# the file, encrypted or not, unless `mac_only_encrypted` (sops v3.13.2, sops.go,
# Tree.Encrypt and Tree.Decrypt): a value changed in place fails every later decryption
# ("MAC mismatch"), which helm-secrets and helmfile run at every render of the environment.
_SOPS_HINT = ("keep the image tags in a file of their own, outside SOPS (helmfile and "
              "helm-secrets merge several values files), or encrypt this one with "
              "mac_only_encrypted: true and the tags left in clear (encrypted_regex, "
              "unencrypted_suffix)")


def refuse_encrypted(doc: YamlText, current: str) -> None:
    """Refuse to change `current`, the value a target holds in `doc`, where doc is a SOPS
    file whose authentication the change would break, or where the value is encrypted."""
    for document in doc.documents:
        sops = doc.child(document, "sops")
        if not (sops and doc.child(sops[1], "mac")):
            continue
        only = doc.child(sops[1], "mac_only_encrypted")
        encrypted = current.startswith("ENC[")
        if only and only[1].value in ("true", "True", "TRUE") and not encrypted:
            continue  # the authentication covers the encrypted values alone
        said = ("the tag there is encrypted ('ENC[...]')" if encrypted else
                "its authentication code covers every value, so a tag changed in place "
                "would fail every later decryption (MAC mismatch), and every render")
        raise SpecError.single(f"{doc.name} is encrypted with SOPS: {said}; nothing was "
                               "written", location=doc.location(sops[0].start_mark.index),
                               hint=_SOPS_HINT)
