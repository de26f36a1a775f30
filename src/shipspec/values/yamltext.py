"""Byte-exact edits of YAML text: change one scalar, keep every other byte.

A YAML library that loads and dumps a file re-formats it (ruamel.yaml's round trip keeps
comments, but not always quoting, indentation of sequences or line widths). A deployment
repository is read by people in review, so instead the file is only *parsed* to find the
exact characters of the value to change, and those characters are replaced in the text.
Comments, key order, quoting of other values, indentation, blank lines, CRLF line endings,
document markers and the other documents of a stream stay as they were.
"""

import re
from typing import Any, NamedTuple

from shipspec.emit import string_scalar, to_yaml
from shipspec.errors import Location, SpecError
from shipspec.files import MAX_YAML_BYTES, too_large
from shipspec.pyyaml import yaml
from shipspec.specfile import loading

_ANCHOR_OR_TAG = re.compile(r"(?:[&!]\S*\s+)+")
_BOM = "\ufeff"


class Splice(NamedTuple):
    """One planned edit: text[start:end] becomes `text`."""

    start: int
    end: int
    text: str
    # Of edits at one place, the higher rank ends up first in the text: the value written
    # there (IN_PLACE), then inserted entries, deeper ones before shallower (their column).
    rank: int


IN_PLACE = 1 << 20  # deeper than any column


def too_deep(name: str) -> SpecError:
    """The refusal of a file nested deeper than PyYAML (and our checks of an edit) go."""
    return SpecError.single(f"{name} is nested too deeply to edit safely",
                            location=Location(name, 1, 1),
                            hint="values files this deep are edited by hand")


# libyaml 0.2.6 (PyYAML 6.0.4) refuses a block collection at the 1,000th level and a flow
# one at the 1,001st; the releases before it read on, and the file was refused only by the
# recursion of an edit's check, which `values --check` does not run. Counted here (the
# lower of the two), the refusal is the same with any PyYAML.
MAX_NESTING = 999


def _nested_deeper_than(documents: list[Any], limit: int) -> bool:
    """Whether collections nest more than `limit` levels in the text: walked in document
    order, each node once, so an alias (`*name`) adds no level, as it adds none in the
    text, and no walk can be longer than the file."""
    seen: set[int] = set()
    stack = [(document, 1) for document in reversed(documents)]
    while stack:
        node, level = stack.pop()
        if id(node) in seen or isinstance(node, yaml.ScalarNode):
            continue
        seen.add(id(node))
        if level > limit:
            return True
        children = ([child for pair in node.value for child in pair]
                    if isinstance(node, yaml.MappingNode) else node.value)
        stack.extend((child, level + 1) for child in reversed(children))
    return False


GO_TEMPLATE_HINT = ("the file holds {{ }}: a Go template, which helmfile (or helm) renders "
                    "before YAML is read, and shipspec edits YAML only; keep the tags in a "
                    "plain .yaml values file that the environment lists too")


class YamlText:
    """The text of one YAML file, and edits to it."""

    def __init__(self, text: str, name: str) -> None:
        # A byte order mark starts some files saved on Windows. Helm and kustomize read
        # past it (go-yaml), and so does libyaml, but libyaml counts its positions from
        # after it: the text parsed and edited here is the file without it, and `text`
        # puts it back in front.
        self.bom = _BOM if text.startswith(_BOM) else ""
        self.body = text[len(self.bom):]
        self.name = name
        self.original = self.body
        # (start, removed, inserted) of each splice, in the text as it was then: errors
        # after an edit point at the user's lines, not at the edited text's
        self._splices: list[tuple[int, int, int]] = []
        self.newline = "\r\n" if "\r\n" in text else "\n"
        # mapping node (hashed by identity) -> {key: (key node, value node)}, for the
        # documents as they are now (edit() reads new ones and empties it)
        self._keys: dict[Any, dict[str, tuple[Any, Any]]] = {}
        self._twice: dict[tuple[Any, str], Any] = {}  # (mapping, key) -> its second key node
        if len(text) > MAX_YAML_BYTES:  # characters: at least as many bytes
            raise too_large(name)
        try:
            self.documents: list[Any] = list(yaml.compose_all(self.body,
                                                              Loader=loading.SAFE_LOADER))
        except yaml.YAMLError as err:
            if "maximum nesting depth" in str(err):  # libyaml 0.2.6 stops at 1000 levels
                raise too_deep(name) from None
            from shipspec.specfile.yaml_problems import problem_of

            problem = problem_of(err, self.body, name)
            if "{{" in self.body:  # a helmfile .gotmpl, a chart's template: not YAML yet
                problem = problem._replace(hint=GO_TEMPLATE_HINT)
            raise SpecError([problem]) from None
        except RecursionError:  # PyYAML's composers, Python's and C's, recurse per level
            raise too_deep(name) from None
        if _nested_deeper_than(self.documents, MAX_NESTING):
            raise too_deep(name)

    @property
    def text(self) -> str:
        """The whole file as edited so far."""
        return self.bom + self.body

    # --- finding -----------------------------------------------------------------------------

    def child(self, node: Any, key: str) -> tuple[Any, Any] | None:
        """The (key node, value node) of `key` in a mapping node, or None; refused when
        the mapping has the key twice, since readers then disagree on its value (PyYAML
        takes the last, ruamel.yaml and strict go-yaml refuse the file)."""
        if not isinstance(node, yaml.MappingNode):
            return None
        # Each mapping is indexed once: scanning it for every key made merging N modules
        # into a file that has them quadratic (2,000 modules: `values --check` took 2.3 s).
        keys = self._keys.get(node)
        if keys is None:
            keys = self._keys[node] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    first = keys.setdefault(key_node.value, (key_node, value_node))
                    if first[0] is not key_node:
                        self._twice.setdefault((node, key_node.value), key_node)
        again = self._twice.get((node, key))
        if again is not None:
            raise SpecError.single(
                f"cannot edit {self.name} safely: {key} is written twice in one mapping "
                f"(lines {keys[key][0].start_mark.line + 1} and {again.start_mark.line + 1}); "
                "nothing was written", location=self.location(again.start_mark.index),
                hint="remove one of them: readers differ on which one counts")
        return keys.get(key)

    def find(self, path: list[str]) -> tuple[Any, Any] | None:
        """The (key node, value node) at a key path in the first document that has it."""
        for document in self.documents:
            found = self.walk(document, path)
            if found:
                return found
        return None

    def walk(self, node: Any, path: list[str]) -> tuple[Any, Any] | None:
        found = None
        for key in path:
            found = self.child(node, key)
            if found is None:
                return None
            node = found[1]
        return found

    # --- reading and writing -----------------------------------------------------------------

    def scalar(self, pair: tuple[Any, Any], where: str) -> str:
        """The string value of a (key, value) pair that must be a plain value."""
        key_node, value_node = pair
        if not isinstance(value_node, yaml.ScalarNode):
            raise SpecError.single(f"{self.name}: {where} is not a single value",
                                   hint="point the target at a key that holds the tag")
        if value_node.start_mark.index < key_node.end_mark.index:
            raise SpecError.single(
                f"{self.name}: {where} is an alias (*name) of a value defined elsewhere",
                hint="change the anchored value itself, or write the tag without an alias")
        return str(value_node.value)

    @staticmethod
    def holds_value(pair: tuple[Any, Any]) -> bool:
        """False for a key whose value is null (`key:`, `~`, `null`) or an empty string,
        as Go templates and kustomize take it: unset."""
        node = pair[1]
        return not (isinstance(node, yaml.ScalarNode)
                    and (node.value == "" or node.tag == "tag:yaml.org,2002:null"))

    def replace(self, pair: tuple[Any, Any], value: str, where: str) -> None:
        """Write `value` in place of the scalar (see `replacement`)."""
        self.edit([self.replacement(pair, value, where)])

    def insert_entries(self, mapping: Any, entries: dict[str, Any], where: str) -> None:
        """Add `entries` to a block mapping (see `insertion`)."""
        self.edit([self.insertion(mapping, entries, where)])

    def replacement(self, pair: tuple[Any, Any], value: str, where: str) -> Splice:
        """The edit that writes `value` in place of the scalar, in the same quoting style
        where possible.

        A plain value that a YAML 1.1 or 1.2 reader would take for something else (a tag
        such as `12345e67` or `00012345` reads as a number) is quoted.
        """
        self.scalar(pair, where)  # refuses collections and aliases
        node = pair[1]
        start, end = node.start_mark.index, node.end_mark.index
        prefix = _ANCHOR_OR_TAG.match(self.body, start)
        if prefix:  # keep `&anchor` and `!!tag` in front of the value
            start = prefix.end()
        if node.style in ("|", ">"):
            raise SpecError.single(f"{self.name}: {where} is a block scalar",
                                   hint="write the tag as a plain or quoted value")
        written = string_scalar(value, node.style)
        if start == end and self.body[start - 1:start] == ":":
            written = " " + written  # `tag:` with no value: its `:` needs the space after it
        return Splice(start, end, written, IN_PLACE)

    def insertion(self, mapping: Any, entries: dict[str, Any], where: str) -> Splice:
        """The edit that adds `entries` (scalars or nested mappings) after the last entry of
        a block mapping, indented like its other entries, written by shipspec's one
        emitter."""
        key = next(iter(entries))
        if mapping.flow_style or not mapping.value:
            raise SpecError.single(f"cannot edit {self.name} safely: {where} would go into a "
                                   "flow or empty mapping; nothing was written",
                                   location=self.location(mapping.start_mark.index),
                                   hint=f"add `{key}:` to it by hand once")
        column = mapping.value[0][0].start_mark.column
        indent = " " * column
        last_key, last = mapping.value[-1]
        if last.start_mark.index < last_key.end_mark.index:
            # an alias: the reader hands back the anchored node, which ends elsewhere
            raise SpecError.single(
                f"cannot edit {self.name} safely: {where} would follow an alias (*name), "
                "whose anchored value stands elsewhere; nothing was written",
                location=self.location(last_key.start_mark.index),
                hint=f"add `{key}:` above the alias by hand once")
        while isinstance(last, yaml.MappingNode | yaml.SequenceNode) and last.value \
                and not last.flow_style:
            # a block collection ends after its line break; its last scalar ends exactly
            last = last.value[-1][1] if isinstance(last, yaml.MappingNode) else last.value[-1]
        end = last.end_mark.index
        lines = to_yaml(entries).splitlines()
        if isinstance(last, yaml.ScalarNode) and last.style in ("|", ">") \
                and self.body[end - 1:end] == "\n":
            # A block scalar ends after its last line break (with any kept blank lines):
            # the entry starts the next line, and its smaller indent ends the scalar.
            return Splice(end, end, "".join(f"{indent}{line}{self.newline}"
                                            for line in lines), column)
        line_end = self.body.find("\n", end)
        line_end = len(self.body) if line_end < 0 else line_end
        if self.body[line_end - 1:line_end] == "\r":
            line_end -= 1
        entry = "".join(f"{self.newline}{indent}{line}" if line else self.newline
                        for line in lines)
        return Splice(line_end, line_end, entry, column)

    def edit(self, splices: list[Splice]) -> None:
        """Make every edit, all planned on the text as it is now, then read the result once
        (each read is of the whole file: edits made one at a time made bulk edits
        quadratic). The new text is put together in one pass over the old, in the order
        of the places; at one place, the higher rank first."""
        ordered = sorted(splices, key=lambda splice: (splice.start, -splice.rank))
        pieces, position = [], 0
        for splice in ordered:
            pieces += [self.body[position:splice.start], splice.text]
            position = splice.end
        text = "".join([*pieces, self.body[position:]])
        try:
            documents = list(yaml.compose_all(text, Loader=loading.SAFE_LOADER))
        except yaml.YAMLError:
            first = min(splice.start for splice in splices)
            raise SpecError.single(
                f"cannot edit {self.name} safely here: the edit would leave text that is not "
                "YAML; nothing was written", location=self.location(first)._replace(column=1),
                hint="this shape is edited by hand: set the key there, and shipspec keeps it "
                     "current afterwards") from None
        self.body, self.documents = text, documents
        self._keys.clear()
        self._twice.clear()
        # as if made from the end back: each offset holds in the text as it then was
        self._splices += [(splice.start, splice.end - splice.start, len(splice.text))
                          for splice in reversed(ordered)]

    def deepest_mapping(self, path: list[str]) -> tuple[Any, list[str]] | None:
        """The deepest existing mapping along `path` in the first document, and the keys
        still missing below it; None when something other than a mapping is in the way."""
        node = self.documents[0] if self.documents else None
        if not isinstance(node, yaml.MappingNode):
            return None
        for depth, key in enumerate(path):
            found = self.child(node, key)
            if found is None:
                return node, path[depth:]
            if not isinstance(found[1], yaml.MappingNode):
                return None  # the key holds something else: adding beside it would repeat it
            node = found[1]
        return node, []

    def location(self, index: int) -> Location:
        """Where the character at `index` of the text as edited stood in the file as read
        (a character an edit inserted: where that edit was made)."""
        for start, removed, inserted in reversed(self._splices):
            if index >= start + inserted:
                index += removed - inserted
            elif index > start:
                index = start
        return Location.of_offset(self.name, self.original, index)
