"""The one writer of everything shipspec outputs: YAML streams and JSON.

Renderers hand over plain dicts and lists; the order they chose is kept, so the same spec
always gives the same bytes. Strings are quoted whenever *any* common reader could take
them for something else: PyYAML and go-yaml v2 (what Helm, kustomize and the API server use)
read YAML 1.1, where `on`, `y`, `0012` (octal) and `1_000` are not strings, and go-yaml also
reads `1e10` as a float where PyYAML keeps a string; ruamel.yaml reads YAML 1.2, where
`12345e67` and `0o17` are numbers. We quote instead of trusting one resolver.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import yaml

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Anything that starts like a number (sign, digit, or '.' before a digit) may be one to some
# reader: ints in any base, floats, sexagesimals (1.1), dates and times. Quoting a version
# such as 1.2.3 is harmless; leaving 0012 plain is not.
_NUMBER_LIKE = re.compile(r"[-+]?\.?[0-9]|[-+]?\.(inf|Inf|INF)$|\.(nan|NaN|NAN)$")
_SPECIAL_WORDS = frozenset(
    word
    for base in ("y", "yes", "n", "no", "true", "false", "on", "off", "null")
    for word in (base, base.capitalize(), base.upper())
) | {"~", "", "=", "<<"}


def needs_quotes(text: str) -> bool:
    """True when a YAML 1.1 or 1.2 reader could read the plain scalar as a non-string."""
    return text in _SPECIAL_WORDS or _NUMBER_LIKE.match(text) is not None


def _represent_str(dumper: Any, text: str) -> yaml.ScalarNode:
    style: str | None = None
    if "\n" in text:
        style = "|"  # scripts and certificates stay readable; the emitter falls back if unsafe
    elif needs_quotes(text):
        style = "'"
    node: yaml.ScalarNode = dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)
    return node


class _ShipspecDumper(_Dumper):  # type: ignore[misc]
    """The C dumper when available, with our string rule; never emits anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_ShipspecDumper.add_representer(str, _represent_str)


def to_yaml(document: Any) -> str:
    """One YAML document, block style, keys in the order given."""
    text: str = yaml.dump(
        document,
        Dumper=_ShipspecDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,  # no folding of long lines: diffs and greps stay simple
        indent=2,
    )
    return text


def to_yaml_stream(documents: Iterable[Any]) -> str:
    """A multi-document stream, each document starting with `---`."""
    return "".join("---\n" + to_yaml(document) for document in documents)


def to_json(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def objects_to_json(objects: list[dict[str, Any]]) -> str:
    """Kubernetes objects as one JSON document: a `v1` List, as kubectl writes several."""
    return to_json({"apiVersion": "v1", "kind": "List", "items": objects})
