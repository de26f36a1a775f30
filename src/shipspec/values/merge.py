"""Merge what the spec says of an environment's images into its values file.

Byte-exact like `bump`: the file is parsed only to find places, and only those change.
A module's repository is set to the image CI pushes; a module new to the file gets its
repository and an empty tag (`shipspec bump` fills it after the first build); a tag already
there is never touched; keys shipspec does not own, comments and order stay.
"""

from typing import Any, NamedTuple

from shipspec.errors import Location, Problem
from shipspec.spec import HelmValuesTarget, Spec
from shipspec.values.edit_check import check_values_edit
from shipspec.values.image_keys import (
    REFERENCE_HINT,
    image_fixes,
    reference_at_tag_key,
    set_keys,
)
from shipspec.values.yamltext import YamlText


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


def added_note(module: str) -> str:
    """What `values --write` and `generate --target values` say of a module new to a file."""
    return f"  {module}: added with no tag yet; shipspec bump sets it\n"


def merge_file(text: str, name: str, entries: list[tuple[str, HelmValuesTarget, str]],
               rendered: dict[str, Any], *, to_write: bool = True) -> Merge:
    """Merge into a values file's text; a new (empty) file starts as the rendered document,
    and merging then adds the empty tags."""
    from shipspec import emit

    return merge(text if text.strip() else emit.to_yaml(rendered), name, entries,
                 to_write=to_write)


def merge(text: str, name: str, entries: list[tuple[str, HelmValuesTarget, str]], *,
          to_write: bool = True) -> Merge:
    """The file with every entry's keys set, and what disagrees with the spec. A result
    `to_write` is first read back by both YAML readers, which refuse an edit that changed
    more than its keys (edit_check.py): most of the time for a large file, and left out by
    `values --check`, which writes nothing."""
    # Everything is read from the file as the user wrote it, then every key is set in one
    # edit: the modules' keys never overlap (the spec's check), so no module's edit changes
    # what another needs, and the problems point at the user's lines.
    doc = YamlText(text, name)
    problems: list[Problem] = []
    added: list[str] = []
    owned: list[tuple[str, str]] = []  # every key set, for the check before writing
    for module, target, image in entries:
        for fix in image_fixes(doc, target, image):
            owned.append((fix.key, fix.wanted))
            if fix.where is not None:  # nothing said at all: added below, not a mismatch
                mark = fix.where[1].start_mark
                said = (f"'{fix.current}'" if fix.pulled == fix.current
                        else f"'{fix.current}', so the chart pulls '{fix.pulled}'")
                problems.append(Problem(
                    Location(name, mark.line + 1, mark.column + 1), fix.key,
                    f"{said}, but CI pushes module {module} to '{image}'",
                    "fix image in shipspec.yaml, or let `shipspec values --write` set it"))
        reference = reference_at_tag_key(doc, target)
        if reference:
            mark = reference[0][1].start_mark
            problems.append(Problem(
                Location(name, mark.line + 1, mark.column + 1), target.tag_key,
                f"holds the image reference '{reference[1]}', not a tag: a bump would "
                "write the tag alone over it", REFERENCE_HINT))
        if doc.find(target.tag_key.split(".")) is None:
            if not target.reference:  # (a whole reference's key is set above, tag-less)
                owned.append((target.tag_key, ""))
            added.append(module)
            problems.append(Problem(Location(name, 1, 1), target.tag_key,
                                    f"module {module} is missing",
                                    "`shipspec values --write` adds it"))
    set_keys(doc, owned)
    if to_write:
        check_values_edit(text, doc.text, name, owned)
    return Merge(doc.text, problems, added)

