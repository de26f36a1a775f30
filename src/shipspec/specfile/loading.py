"""Safe YAML loading that never surprises: limits, duplicate keys, positions.

PyYAML's `safe_load` already refuses arbitrary tags, but it silently keeps the last of two
equal keys, expands aliases without bound ("billion laughs"), recurses on deep nesting and
forgets where each value came from. So we read the event stream of the safe parser
ourselves: a small node tree first (depth checked while it is built), then plain Python
values (alias expansions counted), recording the line and column of every key and value.
"""

import contextlib
from collections.abc import Iterator
from functools import cache
from typing import Any, NamedTuple

from shipspec.errors import QUOTED_LIMIT, Location, SpecError, shown, text_end
from shipspec.files import MAX_YAML_BYTES, decoded
from shipspec.pyyaml import yaml

# Every safe read of YAML in shipspec: libyaml's parser when PyYAML was built with it (the
# same grammar and the same positions, several times faster), else PyYAML's own.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PathKey = str | int
FieldPath = tuple[PathKey, ...]

_TAG = "tag:yaml.org,2002:"
_STANDARD_SCALAR_TAGS = {_TAG + t for t in ("int", "float", "bool", "null")}
# Kept as the text that was written: no field of ours is a date, and '=' is YAML 1.1's
# obscure "value" key, which PyYAML cannot even construct.
_TEXT_TAGS = {_TAG + t for t in ("str", "timestamp", "value")}


# What helm, Argo CD and the API server read as strings where YAML 1.1 resolves another
# type: `=`, its "value" type, which PyYAML cannot construct and go-yaml does not have
# (prometheus-operator's CRDs list `- =` among their operators); and a plain date, which
# go-yaml v2 (sigs.k8s.io/yaml) leaves a string in interface{} and PyYAML builds, failing
# on one that is no date (2024-02-30).
TEXT_AS_HELM_READS = (_TAG + "value", _TAG + "timestamp")


@cache
def objects_loader() -> Any:
    """SAFE_LOADER for YAML that others wrote (a chart's render, a values file), read as
    helm reads it (TEXT_AS_HELM_READS). Made on first use: the spec's own reading builds
    no objects this way."""
    loader: Any = type("ObjectsLoader", (SAFE_LOADER,), {})
    for tag in TEXT_AS_HELM_READS:
        loader.add_constructor(tag, loader.construct_yaml_str)
    return loader


class Limits(NamedTuple):
    """How much a document may ask of us. Defaults fit a spec for thousands of modules."""

    max_bytes: int = MAX_YAML_BYTES
    max_depth: int = 64
    # Values written, and values built counting every expansion of an alias: a spec of
    # 2,000 modules writes about 36,000; a 4 MiB file of tiny mappings 520,000, which took
    # 2 s and 260 MiB to read before this cap stopped it half-way.
    max_nodes: int = 250_000


DEFAULT_LIMITS = Limits()


class Document:
    """A loaded YAML document: plain data plus where each part of it was written."""

    def __init__(self, file: str, text: str = "") -> None:
        self.file = file
        self.text = text  # as read, so that generated CI can carry the spec itself
        self.data: Any = None
        self.value_marks: dict[FieldPath, tuple[int, int]] = {}
        self.key_marks: dict[FieldPath, tuple[int, int]] = {}
        self._end: tuple[int, int] | None = None  # text_end(text), once asked for

    def locate(self, path: FieldPath, *, key: bool = False) -> Location:
        """Where `path` was written (its key when `key`); falls back to the nearest parent."""
        marks = self.key_marks if key else self.value_marks
        for end in range(len(path), -1, -1):
            mark = marks.get(path[:end]) or self.value_marks.get(path[:end])
            if mark:
                # the resolver locates once per module: measuring the text each time made
                # loading quadratic in modules
                self._end = self._end or text_end(self.text)
                return Location.within(self.file, self.text, *mark, end=self._end)
        return Location(self.file, 1, 1)


def dotted(path: FieldPath) -> str:
    """`("modules", "core", "paths", 0)` → `modules.core.paths[0]`; a key longer than
    messages quote cut as they quote it (a spec may hold a key of megabytes)."""
    text = ""
    for part in path:
        name = shown(part) if isinstance(part, str) and len(part) > QUOTED_LIMIT else part
        text += f"[{name}]" if isinstance(name, int) else (f".{name}" if text else str(name))
    return text


def load_file(path: str, display_name: str, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Read and load one YAML file; `display_name` is how errors name it."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(limits.max_bytes + 1)
    except OSError as err:
        raise SpecError.single(
            f"cannot read the file: {err.strerror}", location=Location(display_name, 1, 1)
        ) from None
    return load_bytes(raw, display_name, limits)


def load_bytes(raw: bytes, display_name: str, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Load exactly one YAML document from `raw`, or raise SpecError."""
    start = Location(display_name, 1, 1)
    if len(raw) > limits.max_bytes:
        raise SpecError.single(
            f"the file is larger than {limits.max_bytes:,} bytes",
            location=start,
            hint="a shipspec file is small; check that the right file was named",
        )
    text = decoded(raw, display_name, keep_byte_order_mark=False)
    builder = _Builder(display_name, limits)
    root = builder.parse(text)
    document = Document(display_name, text)
    if root is not None:
        document.data = _Constructor(document, limits).build(root, ())
    return document


# --- stage 1: events → node tree -------------------------------------------------------


class _Node:
    __slots__ = ("children", "column", "kind", "line", "style", "tag", "value")

    def __init__(self, kind: str, event: Any) -> None:
        self.kind = kind  # "scalar" | "mapping" | "sequence"
        self.line, self.column = _position(event)
        self.tag: str | None = event.tag
        self.value: Any = None
        self.style: str | None = None
        self.children: list[_Node] = []


class _Builder:
    """Builds the node tree from parser events, refusing what we never accept."""

    def __init__(self, file: str, limits: Limits) -> None:
        self.file = file
        self.limits = limits
        self.anchors: dict[str, _Node] = {}
        self.budget = limits.max_nodes  # of nodes written, before any is built

    def error(self, event: Any, message: str, hint: str = "") -> SpecError:
        return SpecError.single(message, location=Location(self.file, *_position(event)),
                                hint=hint)

    def parse(self, text: str) -> _Node | None:
        try:
            return self._documents(yaml.parse(text, Loader=SAFE_LOADER))
        except yaml.YAMLError as err:
            if "maximum nesting depth" in str(err) and isinstance(err, yaml.MarkedYAMLError):
                self._refuse_depth_before(text, err)
            from shipspec.specfile.yaml_problems import (
                problem_of,  # only a refused file pays its import
            )

            raise SpecError([problem_of(err, text, self.file)]) from None

    def _refuse_depth_before(self, text: str, err: yaml.MarkedYAMLError) -> None:
        """libyaml 0.2.6 (PyYAML 6.0.4) stops at its own 1000 levels, having read ahead of
        the events that would reach our limit; the text up to where it stopped reaches our
        limit too, so reading that gives the same refusal, at the same place, as elsewhere."""
        mark = err.problem_mark or err.context_mark
        if mark is None:
            return
        lines = text.splitlines(keepends=True)
        prefix = "".join(lines[: mark.line]) + lines[mark.line][: mark.column]
        self.anchors = {}
        # The prefix ends mid-collection, which the parser refuses after our limit, if
        # reached, raised.
        with contextlib.suppress(yaml.YAMLError):
            self._documents(yaml.parse(prefix, Loader=SAFE_LOADER))

    def _documents(self, events: Iterator[Any]) -> _Node | None:
        root: _Node | None = None
        documents = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise self.error(
                        event,
                        "only one YAML document is allowed here",
                        "remove the second document (after '---')",
                    )
                self.anchors = {}
                root = self._node(next(events), events, 1)
        return root

    def _node(self, event: Any, events: Iterator[Any], depth: int) -> _Node:
        if depth > self.limits.max_depth:
            raise self.error(
                event,
                f"the document is nested more than {self.limits.max_depth} levels deep",
            )
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor or "")
            if target is None:  # libyaml reports this itself; the pure parser does not
                raise self.error(
                    event,
                    f"unknown alias '*{event.anchor}'",
                )
            return target
        self.budget -= 1
        if self.budget < 0:
            raise self.error(event, f"the document holds more than {self.limits.max_nodes:,} "
                                    "values", "split it: a spec of 2,000 modules holds about "
                                              "40,000")
        if isinstance(event, yaml.ScalarEvent):
            node = _Node("scalar", event)
            node.value = event.value
            node.style = event.style
            node.tag = _scalar_tag(event)
        elif isinstance(event, yaml.SequenceStartEvent):
            node = _Node("sequence", event)
            for child in events:  # the recursive call consumes the same event stream
                if isinstance(child, yaml.SequenceEndEvent):
                    break
                node.children.append(self._node(child, events, depth + 1))
        elif isinstance(event, yaml.MappingStartEvent):
            node = _Node("mapping", event)
            for child in events:
                if isinstance(child, yaml.MappingEndEvent):
                    break
                node.children.append(self._node(child, events, depth + 1))
        else:  # pragma: no cover - the parser guarantees one of the above
            raise self.error(event, f"unexpected YAML event {type(event).__name__}")
        if getattr(event, "anchor", None):
            self.anchors[event.anchor] = node
        return node


_resolver: Any = yaml.resolver.Resolver()


def _position(event: Any) -> tuple[int, int]:
    """The 1-based line and column where a parser event starts."""
    return event.start_mark.line + 1, event.start_mark.column + 1


def _scalar_tag(event: Any) -> str:
    if event.tag and event.tag != "!":
        return str(event.tag)
    if event.tag == "!" or not event.implicit[0]:
        return _TAG + "str"  # a quoted or '!'-tagged scalar is always a string
    return str(_resolver.resolve(yaml.ScalarNode, event.value, event.implicit))


# --- stage 2: node tree → plain values ----------------------------------------------------


class _Constructor:
    """Turns the node tree into dicts, lists and scalars, with marks and an expansion budget."""

    _scalars = yaml.constructor.SafeConstructor()

    def __init__(self, document: Document, limits: Limits) -> None:
        self.document = document
        self.budget = limits.max_nodes

    def error(self, node: _Node, message: str, hint: str = "") -> SpecError:
        location = Location(self.document.file, node.line, node.column)
        return SpecError.single(message, location=location, hint=hint)

    def spend(self, node: _Node, units: int = 1) -> None:
        """Every value built and every `<<` merge (even of an empty mapping) costs budget,
        so no document can make loading work longer than its limits allow."""
        self.budget -= units
        if self.budget < 0:
            raise self.error(
                node,
                "the document expands to too many values (aliases repeated too often)",
                "this looks like a 'billion laughs' document; use fewer '*alias' references",
            )

    def build(self, node: _Node, path: FieldPath) -> Any:
        self.spend(node)
        self.document.value_marks[path] = (node.line, node.column)
        if node.kind == "scalar":
            return self._scalar(node)
        if node.tag not in (None, "!", _TAG + "seq", _TAG + "map"):
            raise self.error(node, f"the tag '{node.tag}' is not supported")
        if node.kind == "sequence":
            return [self.build(child, (*path, i)) for i, child in enumerate(node.children)]
        return self._mapping(node, path)

    def _scalar(self, node: _Node) -> Any:
        tag = node.tag or _TAG + "str"
        if tag in _TEXT_TAGS:
            return str(node.value)
        if tag not in _STANDARD_SCALAR_TAGS:
            raise self.error(node, f"the tag '{tag}' is not supported")
        scalar = yaml.ScalarNode(tag, node.value, style=node.style)
        try:
            value = self._scalars.construct_object(scalar)
        except Exception:
            # PyYAML's scalar constructors trust that the resolver's pattern matched; an
            # explicit tag (`!!int ''`) skips it, and they fail with IndexError, ValueError...
            kind = tag.rsplit(":", 1)[-1]
            raise self.error(
                node,
                f"'{node.value}' is not a valid {kind}, as its tag !!{kind} says it is",
                "remove the tag, or correct the value",
            ) from None
        return value

    def _mapping(self, node: _Node, path: FieldPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        pairs = zip(node.children[::2], node.children[1::2], strict=True)
        for key_node, value_node in pairs:
            if key_node.kind == "scalar" and key_node.tag == _TAG + "merge":
                self._merge_into(merged, value_node, path)
                continue
            if key_node.kind != "scalar":
                raise self.error(key_node, "a mapping key must be a plain value, not a collection")
            key = self._scalar(key_node)
            if key in result:
                first = self.document.key_marks[(*path, key)]
                raise self.error(
                    key_node,
                    f"duplicate key '{key}' (first defined at line {first[0]})",
                    "a YAML reader keeps only one of them; remove or rename one",
                )
            self.document.key_marks[(*path, key)] = (key_node.line, key_node.column)
            result[key] = self.build(value_node, (*path, key))
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_into(self, merged: dict[Any, Any], node: _Node, path: FieldPath) -> None:
        sources = node.children if node.kind == "sequence" else [node]
        for source in sources:
            if source.kind != "mapping":
                raise self.error(source, "'<<' merges mappings only")
            self.spend(source)
            merging = self._mapping(source, path)
            self.spend(source, len(merging))
            for key, value in merging.items():
                merged.setdefault(key, value)
