"""Kustomize overlays: the `images:` entry of the module's image in kustomization.yaml,
written as `kustomize edit set image` writes it (`newTag`, `digest`, `newName`)."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

from shipspec.bump.targets import NewImage
from shipspec.errors import SpecError
from shipspec.spec import KustomizeTarget
from shipspec.values.yamltext import YamlText


def paths(target: KustomizeTarget) -> list[str]:
    return [posixpath.join(target.directory, name)
            for name in ("kustomization.yaml", "kustomization.yml", "Kustomization")]


def read(doc: YamlText, target: KustomizeTarget) -> str:
    found = doc.child(_entry(doc, target), "newTag")
    return doc.scalar(found, "newTag") if found else ""


def write(doc: YamlText, edits: Sequence[tuple[KustomizeTarget, NewImage]]) -> None:
    for target, image in edits:  # one by one: a kustomization is small
        _write(doc, target, image)


def _write(doc: YamlText, target: KustomizeTarget, image: NewImage) -> None:
    where = f"the images entry {target.image}"
    pinned = doc.child(_entry(doc, target), "digest")
    # kustomize writes name:tag@digest and the digest is what gets pulled: a digest pinned
    # earlier would keep the old image (`kustomize edit set image` drops it)
    digest = image.digest or ("" if pinned and doc.holds_value(pinned) else None)
    for key, value in (("newTag", image.tag), ("digest", digest),
                       ("newName", image.repository if image.set_repository else None)):
        if value is None:
            continue
        found = doc.child(_entry(doc, target), key)
        if found:
            doc.replace(found, value, f"{where}: {key}")
        else:
            doc.insert_entries(_entry(doc, target), {key: value}, where)


def _entry(doc: YamlText, target: KustomizeTarget) -> Any:
    """The `images:` entry whose name or newName is the module's image (or its last part)."""
    short = target.image.rsplit("/", 1)[-1]
    for document in doc.documents:
        images = doc.child(document, "images")
        for entry in getattr(images[1], "value", []) if images else []:
            for key in ("name", "newName"):
                found = doc.child(entry, key)
                if found and found[1].value in (target.image, short):
                    return entry
    raise SpecError.single(
        f"{doc.name} has no images entry for {target.image}",
        hint=f"add one once: kustomize edit set image {short}={target.image}:<tag>")
