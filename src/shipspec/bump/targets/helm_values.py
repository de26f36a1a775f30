"""Helm / helmfile values: the tag at a dotted key (`astrago.core.imageTag`), and the image
repository at the key beside it (`astrago.core.repository`) when asked."""

from __future__ import annotations

from collections.abc import Sequence

from shipspec.bump.targets import NewImage, new_reference, overridden
from shipspec.errors import SpecError
from shipspec.spec import HelmValuesTarget
from shipspec.values.edit_check import check_values_edit
from shipspec.values.image_keys import (
    REFERENCE_HINT,
    image_fixes,
    pinned_image,
    reference_at_tag_key,
    set_keys,
)
from shipspec.values.yamltext import YamlText


def read(doc: YamlText, target: HelmValuesTarget) -> str:
    _pair(doc, target.tag_key)  # a missing key is an error here, not "no tag yet"
    return pinned_image(doc, target)


def write(doc: YamlText, edits: Sequence[tuple[HelmValuesTarget, NewImage]]) -> None:
    """Every key of every edit set in one edit of the file, checked once: the file is read
    twice in all (YAML 1.1 and 1.2), not twice per module."""
    before = doc.text
    owned: dict[str, str] = {}
    for target, image in edits:
        # A layout with a digest key (Bitnami) pins the digest there; else tag@digest.
        tag = (f"{image.tag}@{image.digest}" if image.digest and not target.digest_key
               else image.tag)
        found = doc.find(target.tag_key.split("."))
        if image.create and found is None:
            _require_mapping(doc, target.tag_key)
        else:
            _pair(doc, target.tag_key)  # the key is there: bump keeps it, never invents it
        reference = reference_at_tag_key(doc, target)
        if reference:
            raise SpecError.single(
                f"{doc.name}: {target.tag_key} holds the image reference '{reference[1]}', "
                f"not a tag: the tag alone there would have the chart pull an image named "
                f"'{image.tag}'; nothing was written",
                location=doc.location(reference[0][1].start_mark.index), hint=REFERENCE_HINT)
        if target.reference:  # its repository part stays, unless asked to set it
            current = doc.scalar(found, target.tag_key) if found is not None else ""
            owned[target.tag_key] = new_reference(current, image)
            continue
        owned[target.tag_key] = tag
        if target.digest_key:
            # A digest pinned by an earlier bump is pulled instead of any tag (Bitnami's
            # templates write repository@digest when it is set): without a new one, it is
            # emptied, or the new tag would never deploy.
            earlier = doc.find(target.digest_key.split("."))
            if image.digest or (earlier and doc.holds_value(earlier)):
                owned[target.digest_key] = image.digest or ""
        if image.set_repository:
            owned.update((fix.key, fix.wanted)
                         for fix in image_fixes(doc, target, image.repository))
    set_keys(doc, list(owned.items()))
    check_values_edit(before, doc.text, doc.name, list(owned.items()))


def refuse_overridden(doc: YamlText, target: HelmValuesTarget,
                      sources: list[YamlText]) -> None:
    """Argo CD gives helm a source file's helm.valuesObject (or its helm.values text) as one
    more --values after the value files, and its helm.parameters as --set
    (reposerver/repository/repository.go, helmTemplate; util/helm/cmd.go, template):
    each wins over the values file at the keys that decide the tag."""
    keys = [key for key in (target.tag_key, target.digest_key) if key]
    for source in sources:
        for document in source.documents:
            parameters = source.walk(document, ["helm", "parameters"])
            for parameter in getattr(parameters[1], "value", []) if parameters else []:
                name = source.child(parameter, "name")
                if name and name[1].value in keys:
                    raise overridden(source, parameter, f"the helm parameter {name[1].value}",
                                     f"{name[1].value} of {doc.name}")
            for key in keys:
                found = source.walk(document, ["helm", "valuesObject", *key.split(".")])
                if found:
                    raise overridden(source, found[0], f"helm.valuesObject.{key}",
                                     f"{key} of {doc.name}")
            values = source.walk(document, ["helm", "values"])
            if values and isinstance(values[1].value, str):
                text = YamlText(values[1].value, f"{source.name} (helm.values)")
                for key in keys:
                    if text.find(key.split(".")):
                        raise overridden(source, values[0], f"{key} in helm.values",
                                         f"{key} of {doc.name}")


def _require_mapping(doc: YamlText, key: str) -> None:
    """The module's mapping must exist: --create never invents the module's place in the
    file, only the tag's key inside it."""
    path = key.split(".")
    found = doc.deepest_mapping(path)
    if found is None or found[1] != path[-1:]:
        raise SpecError.single(f"{doc.name} has no mapping {'.'.join(path[:-1])} to add "
                               f"{path[-1]} to",
                               hint="--create adds a tag key inside a module's existing "
                                    "mapping only")


def _pair(doc: YamlText, key: str) -> tuple[object, object]:
    pair = doc.find(key.split("."))
    if pair is None:
        raise SpecError.single(f"{doc.name} has no key {key}",
                               hint="add the key to the values file once (or bump with "
                                    "--create); bump then keeps it current")
    return pair
