"""The last word before a byte-exact edit of a values file is written: did exactly our keys
change, as every reader sees the file?

yamltext.py edits characters, which keeps comments and layout but can go wrong on shapes a
text edit cannot see through: an alias (`core: *base` edited in the anchor), a block scalar
or a flow mapping that the insertion lands beside, a key that ends up twice. So both files
are read back with a YAML 1.1 reader (PyYAML, as go-yaml in Helm and helmfile reads) and a
YAML 1.2 reader (ruamel.yaml), and the edit stands only when the new file reads as the old
one with the owned keys set to their new values, and nothing else changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any

from shipspec.errors import Location, SpecError
from shipspec.values.yamltext import YamlText, too_deep

Reader = Callable[[str], Any]


def check_values_edit(old: str, new: str, name: str,
                      owned: Sequence[tuple[str, str]]) -> None:
    """Refuse (SpecError) unless `new` reads as `old` with each dotted key of `owned` set to
    its value in the first document (where yamltext edits), and every other document as it
    was, for a YAML 1.1 and a YAML 1.2 reader alike."""
    if old == new:
        return
    try:
        _check(old, new, name, owned)
    except RecursionError:  # a reader or the comparison recurses once per level
        raise too_deep(name) from None


def _check(old: str, new: str, name: str, owned: Sequence[tuple[str, str]]) -> None:
    for reader_name, read in (("YAML 1.1 (PyYAML)", _pyyaml), ("YAML 1.2 (ruamel.yaml)",
                                                                _ruamel)):
        try:
            before, after = read(old) if old.strip() else [{}], read(new)
        except Exception as err:  # any reader error: the new text is not what we meant
            raise _refusal(old, name, None, f"{reader_name} cannot read the result: "
                           f"{str(err).splitlines()[0]}") from None
        for tree in (before, after):
            if _expanded_size(tree) > MAX_EXPANDED:
                raise SpecError.single(
                    f"cannot edit {name} safely: it expands to more than {MAX_EXPANDED:,} "
                    "values through its aliases (*name); nothing was written",
                    location=Location(name, 1, 1),
                    hint="this looks like a 'billion laughs' file: use fewer aliases")
        expected = _unshared(before) or [{}]
        if expected[0] is None:
            expected[0] = {}
        for key, value in owned:
            if not _put(expected[0], key.split("."), value):
                raise _refusal(old, name, key.split("."), f"{key} does not sit in mappings "
                               "all the way down")
        if after != expected:
            path = (_first_difference(expected[0], after[0]) or []) if len(after) == len(
                expected) else []
            raise _refusal(old, name, path,
                           f"the edit would also change {'.'.join(map(str, path)) or 'the file'}"
                           f" as {reader_name} reads it")


# A batch of queued bumps edits one file once per module: each check reads the text the
# previous one read as its result. Remembering the last reads halves the parses (16 bumps
# at once spent 0.2 s in pure-Python ruamel.yaml). What a reader returns is never changed.
@lru_cache(maxsize=2)
def _pyyaml(text: str) -> list[Any]:
    from shipspec.pyyaml import yaml
    from shipspec.specfile.loading import objects_loader

    return list(yaml.load_all(text, Loader=objects_loader()))


@lru_cache(maxsize=2)
def _ruamel(text: str) -> list[Any]:
    from ruamel.yaml import YAML  # only when a values file is written

    reader = YAML(typ="safe", pure=True)
    reader.Constructor = _ruamel_constructor()
    return list(reader.load_all(text))


@cache
def _ruamel_constructor() -> Any:
    """ruamel.yaml's safe constructor, reading what helm reads as strings as strings
    (loading.TEXT_AS_HELM_READS): ruamel.yaml resolves both types in YAML 1.2 too."""
    from ruamel.yaml.constructor import SafeConstructor

    from shipspec.specfile.loading import TEXT_AS_HELM_READS

    constructor: Any = type("Constructor", (SafeConstructor,), {})
    for tag in TEXT_AS_HELM_READS:
        constructor.add_constructor(tag, SafeConstructor.construct_yaml_str)
    return constructor


# Values a file may expand to, counting each alias as often as it is used: readers share
# an anchored value, but the copy below and the comparison walk every use, so a few lines
# of nested aliases ("billion laughs") would take them hours. A values file of 2,000
# modules expands to about 20,000.
MAX_EXPANDED = 1_000_000


def _expanded_size(tree: Any) -> int:
    """How many values `tree` holds with every shared object counted at each use, counted
    in time linear in the distinct objects (and stopping past MAX_EXPANDED)."""
    sizes: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, dict | list):
            return 1
        known = sizes.get(id(node))
        if known is None:
            children = node.values() if isinstance(node, dict) else node
            known = 1
            for child in children:
                known += size(child)
                if known > MAX_EXPANDED:
                    break
            sizes[id(node)] = known
        return known

    return size(tree)


def _unshared(tree: Any) -> Any:
    """A copy in which no two places share an object. Readers hand an alias back as the
    anchored object itself; a copy that kept that sharing would change the anchor along with
    the key, and so accept an edit that wrote into the anchor."""
    if isinstance(tree, dict):
        return {key: _unshared(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_unshared(item) for item in tree]
    return tree


def _put(tree: Any, path: list[str], value: str) -> bool:
    for key in path[:-1]:
        if not isinstance(tree, dict):
            return False
        tree = tree.setdefault(key, {})
    if not isinstance(tree, dict):
        return False
    tree[path[-1]] = value
    return True


def _first_difference(expected: Any, actual: Any, path: list[Any] | None = None
                      ) -> list[Any] | None:
    path = path or []
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in [*expected, *(k for k in actual if k not in expected)]:
            found = _first_difference(expected.get(key), actual.get(key), [*path, key])
            if found is not None:
                return found
        return None
    return None if expected == actual else path


def _refusal(old: str, name: str, path: list[Any] | None, why: str) -> SpecError:
    location = Location(name, 1, 1)
    if path and all(isinstance(part, str) for part in path) and old.strip():
        doc = YamlText(old, name)
        for end in range(len(path), 0, -1):  # the key itself, else its nearest parent
            found = doc.find(list(path[:end]))
            if found is not None:
                mark = found[0].start_mark
                location = Location(name, mark.line + 1, mark.column + 1)
                break
    return SpecError.single(
        f"cannot edit {name} safely: {why}; nothing was written", location=location,
        hint="this shape (an alias, a block or flow collection in the way) is edited by "
             "hand: set the key there, and shipspec keeps it current afterwards")
