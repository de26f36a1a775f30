"""Helm / helmfile values: the tag at a dotted key (`astrago.core.imageTag`), and the image
repository at the key beside it (`astrago.core.repository`) when asked."""

from __future__ import annotations

from shipspec.bump.targets import NewImage
from shipspec.errors import SpecError
from shipspec.spec import HelmValuesTarget
from shipspec.values.edit_check import check_values_edit
from shipspec.values.image_keys import image_fixes, set_keys
from shipspec.values.yamltext import YamlText


def paths(target: HelmValuesTarget) -> list[str]:
    return [target.file]


def read(doc: YamlText, target: HelmValuesTarget) -> str:
    return doc.scalar(_pair(doc, target.tag_key), target.tag_key)


def write(doc: YamlText, target: HelmValuesTarget, image: NewImage) -> None:
    before = doc.text
    # A layout with a digest key (Bitnami) pins the digest there; else tag@digest.
    tag = f"{image.tag}@{image.digest}" if image.digest and not target.digest_key else image.tag
    if image.create and doc.find(target.tag_key.split(".")) is None:
        _create(doc, target.tag_key, tag)
    else:
        doc.replace(_pair(doc, target.tag_key), tag, target.tag_key)
    others = [(target.digest_key, image.digest)] if image.digest and target.digest_key else []
    if image.set_repository:
        others += [(fix.key, fix.wanted) for fix in image_fixes(doc, target, image.repository)]
    set_keys(doc, others)
    check_values_edit(before, doc.text, doc.name, [(target.tag_key, tag), *others])


def _create(doc: YamlText, key: str, value: str) -> None:
    """The key added to the module's mapping, which must exist: --create never invents the
    module's place in the file, only the tag's key inside it."""
    path = key.split(".")
    found = doc.deepest_mapping(path)
    if found is None or found[1] != path[-1:]:
        raise SpecError.single(f"{doc.name} has no mapping {'.'.join(path[:-1])} to add "
                               f"{path[-1]} to",
                               hint="--create adds a tag key inside a module's existing "
                                    "mapping only")
    set_keys(doc, [(key, value)])


def _pair(doc: YamlText, key: str) -> tuple[object, object]:
    pair = doc.find(key.split("."))
    if pair is None:
        raise SpecError.single(f"{doc.name} has no key {key}",
                               hint="add the key to the values file once (or bump with "
                                    "--create); bump then keeps it current")
    return pair
