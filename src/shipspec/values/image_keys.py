"""Which image a helm values file makes its chart pull, and which keys make it pull ours.

Charts name their image in a few layouts, all described by `deploy` in the spec:
- one key holding the whole repository (`astrago.core.repository: ghcr.io/xiilab/core`);
- the registry in a key of its own (`registryKey`), as Bitnami's `image: {registry,
  repository, tag, digest}` map does;
- a shared mapping (`imageDefaults`) that modules without their own registry or repository
  fall back to, as astrago-deployment's `astrago.imageDefaults` under
  `astrago.components.<module>` does since October 2025.
A module is right when the image its chart pulls is the one CI pushes: values are compared
as the chart combines them, never as strings. Fixes go to the module's own keys, never to the
shared mapping, which other modules pull through too. `values` (merge, check, validate
--deployment) and `bump --set-repository` both decide here.
"""

from typing import Any, NamedTuple

from shipspec.errors import SpecError
from shipspec.images import canonical_image, pinned, pinned_in, split_image
from shipspec.spec import HelmValuesTarget
from shipspec.values.yamltext import YamlText


class Fix(NamedTuple):
    key: str  # the module's own key to set
    wanted: str
    current: str | None  # what decides it now: the module's value or the shared one
    pulled: str  # the image the chart pulls now
    where: Any  # the YAML pair of `current`, to point at; None when nothing says it


def pinned_image(doc: YamlText, target: HelmValuesTarget) -> str:
    """The image the target's keys pin now, as bump reads it: the tag, with `@digest` where
    one is pinned (under the digest key, or in the tag's own value); "" for no tag yet."""
    pair = doc.find(target.tag_key.split("."))
    value = doc.scalar(pair, target.tag_key) if pair is not None else ""
    if target.reference:
        return pinned_in(value)
    return pinned(value, pinned_digest(doc, target))


def reference_at_tag_key(doc: YamlText, target: HelmValuesTarget) -> tuple[Any, str] | None:
    """The tag key's pair and value when it holds a whole image reference (a tag has no
    '/' or ':', and what comes before them names an image), as a chart that pulls one
    string keeps it: a tag written there alone would drop the repository. Such a layout
    is deploy.imageKey's."""
    pair = None if target.reference else doc.find(target.tag_key.split("."))
    value = getattr(pair[1], "value", None) if pair is not None else None
    if not isinstance(value, str):  # none, or not a scalar: said where it is read
        return None
    tag = value.partition("@")[0]
    if not ("/" in tag or ":" in tag):
        return None
    from shipspec.tags import is_image_name  # (a tag has neither: rarely reached)

    return (pair, value) if is_image_name(split_image(value)[0]) else None


REFERENCE_HINT = ("set deploy.imageKey in shipspec.yaml to the key that holds the whole "
                  "reference (in place of tagKey): bump then changes its tag part")


def pinned_digest(doc: YamlText, target: HelmValuesTarget) -> str | None:
    """The digest the target's digest key holds (deploy.digestKey, Bitnami's layout), or
    None where it has none: set, it is what the chart pulls, in place of the tag."""
    if target.digest_key:
        found = doc.find(target.digest_key.split("."))
        if found and doc.holds_value(found):
            return doc.scalar(found, target.digest_key)
    return None


def image_fixes(doc: YamlText, target: HelmValuesTarget, image: str) -> list[Fix]:
    """The module keys to set so that the chart pulls `image` (registry/repository)."""
    if target.reference:
        return _reference_fixes(doc, target, image)
    keys = [(target.repository_key, target.default_repository_key)]
    if target.registry_key:
        keys.insert(0, (target.registry_key, target.default_registry_key))
    found = []
    for own, default in keys:
        pair = doc.find(own.split("."))
        if pair is None and default:
            pair = doc.find(default.split("."))
        found.append((own, doc.scalar(pair, own) if pair is not None else None, pair))
    currents = [current for _, current, _ in found]
    pulled = "/".join(current or "?" for current in currents)
    if canonical_image(pulled) == canonical_image(image):
        return []  # the chart pulls it already, however its keys split or spell it
    wanted = _split(image, *currents) if target.registry_key else [image]
    return [Fix(own, want, current, pulled, pair)
            for (own, current, pair), want in zip(found, wanted, strict=True)
            if current != want]


def _reference_fixes(doc: YamlText, target: HelmValuesTarget, image: str) -> list[Fix]:
    """One key holds the whole reference: its repository part is what the chart pulls, and
    the fix keeps the tag (and digest) beside it."""
    pair = doc.find(target.tag_key.split("."))
    value = doc.scalar(pair, target.tag_key) if pair is not None else ""
    repository = split_image(value)[0]
    if canonical_image(repository or "?") == canonical_image(image):
        return []
    tagged = value[len(repository):] if repository else ""  # ":tag@digest", or nothing
    return [Fix(target.tag_key, image + tagged, repository if pair else None,
                repository or "?", pair)]


def image_values(target: HelmValuesTarget, image: str) -> dict[str, str]:
    """The module's own keys and values that make its chart pull `image`, in a file that
    says nothing of it yet."""
    if target.reference:
        return {target.tag_key: image}  # no tag yet: bump writes <image>:<tag>
    if target.registry_key:
        registry, repository = _split(image, None, None)
        return {target.registry_key: registry, target.repository_key: repository}
    return {target.repository_key: image}


def _split(image: str, registry: str | None, repository: str | None) -> list[str]:
    """[registry, repository] that make `image`, keeping the chart's own split where one
    of its values already fits (a registry with a path, ghcr.io/org; a port,
    registry.local:5000); else at the first '/', the registry's host and the rest. A
    Docker Hub image written without its host (`acme/app`) is split as docker pulls it:
    docker.io, acme/app."""
    image = canonical_image(image)
    if registry and image.startswith(registry + "/"):
        return [registry, image[len(registry) + 1:]]
    if repository and image.endswith("/" + repository):
        return [image[: -len(repository) - 1], repository]
    host, _, path = image.partition("/")
    return [host, path]


def set_keys(doc: YamlText, pairs: list[tuple[str, str]]) -> None:
    """Each key set to its value: replaced where it is, else added to the deepest mapping
    on its path that the file has (with the mappings between). One edit for all of them:
    every edit reads the whole file again, and an edit per key made `values --write` of
    500 modules into an empty file take 4 s (2,000: a minute)."""
    splices = []
    additions: dict[tuple[str, ...], tuple[Any, dict[str, Any], str]] = {}
    for key, value in pairs:
        path = key.split(".")
        pair = doc.find(path)
        if pair is not None:
            splices.append(doc.replacement(pair, value, key))
            continue
        found = doc.deepest_mapping(path)
        if found is None or not found[1]:
            raise SpecError.single(f"{doc.name}: cannot add {key}: the file is not a mapping "
                                   "of values there", hint="fix the file, or start a new one")
        mapping, missing = found
        parent = tuple(path[:len(path) - len(missing)])
        entries = additions.setdefault(parent, (mapping, {}, key))[1]
        for part in missing[:-1]:
            entries = entries.setdefault(part, {})
        entries[missing[-1]] = value
    splices += [doc.insertion(mapping, entries, key)
                for mapping, entries, key in additions.values()]
    if splices:
        doc.edit(splices)
