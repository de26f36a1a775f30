"""Merge what the spec says of an environment's images into its values file.

Byte-exact like `bump`: the file is parsed only to find places, and only those change.
A module's repository is set to the image CI pushes; a module new to the file gets its
repository and an empty tag (`shipspec bump` fills it after the first build); a tag already
there is never touched; keys shipspec does not own, comments and order stay.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from shipspec.errors import Location, Problem, SpecError
from shipspec.spec import HelmValuesTarget, Spec
from shipspec.yamltext import YamlText


class Merge(NamedTuple):
    text: str
    problems: list[Problem]  # what differs from the spec, where the file says it
    added: list[str]  # modules new to the file


def targets(spec: Spec, environment: str) -> list[tuple[str, HelmValuesTarget, str]]:
    """(module, values target, image) of every enabled module in `environment`."""
    return [(module.name, target, module.image)
            for module in spec.enabled_modules
            for deployment in module.deployments if deployment.environment == environment
            for target in deployment.targets if isinstance(target, HelmValuesTarget)]


def merge_file(text: str, name: str, entries: list[tuple[str, HelmValuesTarget, str]],
               rendered: dict[str, Any]) -> Merge:
    """Merge into a values file's text; a new (empty) file starts as the rendered document,
    and merging then adds the empty tags."""
    from shipspec import emit

    return merge(text if text.strip() else emit.to_yaml(rendered), name, entries)


def merge(text: str, name: str, entries: list[tuple[str, HelmValuesTarget, str]]) -> Merge:
    doc = YamlText(text, name)
    problems: list[Problem] = []
    added: list[str] = []
    for module, target, image in entries:
        repository = doc.find(target.repository_key.split("."))
        if repository is not None:
            current = doc.scalar(repository, target.repository_key)
            if current != image:
                mark = repository[1].start_mark
                problems.append(Problem(
                    Location(name, mark.line + 1, mark.column + 1), target.repository_key,
                    f"'{current}', but CI pushes module {module} to '{image}'",
                    "fix image in shipspec.yaml, or let `shipspec values --write` set it"))
                doc.replace(repository, image, target.repository_key)
        else:
            _add(doc, target.repository_key, image)
        if doc.find(target.tag_key.split(".")) is None:
            _add(doc, target.tag_key, "")
            added.append(module)
            problems.append(Problem(Location(name, 1, 1), target.tag_key,
                                    f"module {module} is missing",
                                    "`shipspec values --write` adds it"))
    return Merge(doc.text, problems, added)


def _add(doc: YamlText, key: str, value: str) -> None:
    found = doc.deepest_mapping(key.split("."))
    if found is None or not found[1]:
        raise SpecError.single(f"{doc.name}: cannot add {key}: the file is not a mapping "
                               "of values there", hint="fix the file, or start a new one")
    mapping, missing = found
    nested: object = value
    for part in reversed(missing[1:]):
        nested = {part: nested}
    doc.insert_entry(mapping, missing[0], nested, key)
