"""Kustomize overlays: the `images:` entry of the module's image in kustomization.yaml,
written as `kustomize edit set image` writes it (`newTag`, `digest`, `newName`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipspec.bump.targets import NewImage, overridden
from shipspec.errors import SpecError
from shipspec.images import canonical_image, pinned, split_image
from shipspec.spec import KustomizeTarget
from shipspec.values.yamltext import YamlText


def read(doc: YamlText, target: KustomizeTarget) -> str:
    entry = _entry(doc, target)
    found, digest = doc.child(entry, "newTag"), doc.child(entry, "digest")
    return pinned(doc.scalar(found, "newTag") if found else "",
                  doc.scalar(digest, "digest") if digest and doc.holds_value(digest) else None)


def write(doc: YamlText, edits: Sequence[tuple[KustomizeTarget, NewImage]]) -> None:
    for target, image in edits:  # one by one: a kustomization is small
        _write(doc, target, image)


def _write(doc: YamlText, target: KustomizeTarget, image: NewImage) -> None:
    where = f"the images entry {target.image}"
    earlier = doc.child(_entry(doc, target), "digest")
    # kustomize writes name:tag@digest and the digest is what gets pulled: a digest pinned
    # earlier would keep the old image (`kustomize edit set image` drops it)
    digest = image.digest or ("" if earlier and doc.holds_value(earlier) else None)
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
    """The `images:` entry whose name or newName is the module's image, as a container
    runtime reads it (`acme/app` is `docker.io/acme/app`), or its last part. There must be
    one: kustomize applies every entry in turn to the image the ones before left
    (api/filters/imagetag/updater.go), so a second entry could undo the edit of the
    first."""
    short = target.image.rsplit("/", 1)[-1]
    image = canonical_image(target.image)
    entries = []
    for document in doc.documents:
        images = doc.child(document, "images")
        for entry in getattr(images[1], "value", []) if images else []:
            names = [doc.child(entry, key) for key in ("name", "newName")]
            if any(found and isinstance(found[1].value, str) and (
                    found[1].value == short or canonical_image(found[1].value) == image)
                   for found in names):
                entries.append(entry)
    if len(entries) > 1:
        raise SpecError.single(
            f"{doc.name} has {len(entries)} images entries for {target.image} (the first at "
            f"line {entries[0].start_mark.line + 1}); nothing was written",
            location=doc.location(entries[1].start_mark.index),
            hint="keep one entry for the image: kustomize applies each in turn, so which "
                 "tag is deployed depends on all of them")
    if entries:
        return entries[0]
    raise SpecError.single(
        f"{doc.name} has no images entry for {target.image}",
        hint=f"add one once: kustomize edit set image {short}={target.image}:<tag>")


def refuse_overridden(doc: YamlText, target: KustomizeTarget, sources: list[YamlText]) -> None:
    """Argo CD runs `kustomize edit set image` with a source file's kustomize.images before
    it builds (util/kustomize/kustomize.go), and an image argument replaces the images
    entry of its name whole (kustomize v5.8.1, commands/edit/set/setimage.go, RunSetImage),
    whatever the kustomization says."""
    name = doc.child(_entry(doc, target), "name")
    if not (name and isinstance(name[1].value, str)):
        return
    for source in sources:
        for document in source.documents:
            images = source.walk(document, ["kustomize", "images"])
            for image in getattr(images[1], "value", []) if images else []:
                value = getattr(image, "value", None)
                if isinstance(value, str) and _set_image_name(value) == name[1].value:
                    raise overridden(source, image, f"the image {value} (kustomize edit set "
                                     "image)", f"the images entry {name[1].value} of "
                                     f"{doc.name}")


def _set_image_name(argument: str) -> str:
    """The images entry `kustomize edit set image <argument>` replaces: the name before
    '=', else the image's name without its tag and digest (setimage.go, parse)."""
    key, equals, _ = argument.partition("=")
    return key if equals else split_image(argument)[0]
