"""The one writer of everything shipspec outputs: YAML streams (block style for people,
flow style for Argo CD) and JSON.

Renderers hand over plain dicts, lists, strings, integers, booleans and None; the order
they chose is kept, so the same spec always gives the same bytes.

Strings are quoted whenever *any* common reader could take them for something else:
PyYAML and go-yaml v2 (what Helm, kustomize and the API server use) read YAML 1.1, where
`on`, `y`, `0012` (octal) and `1_000` are not strings, and go-yaml also reads `1e10` as a
float where PyYAML keeps a string; ruamel.yaml reads YAML 1.2, where `12345e67` and `0o17`
are numbers. We quote instead of trusting one resolver.

The YAML is written here rather than by PyYAML's dumper, whose pure-Python representer
made `generate` spend seconds on a thousand modules. The subset written is small: block
mappings and sequences, `{}` and `[]` when empty, and four scalar styles chosen per string
(plain, single-quoted, literal block, double-quoted with escapes); property tests read
every style back with PyYAML and ruamel.yaml, and a test with go-yaml v2 (through helm).
The flow style is JSON from the json module, with the few changes YAML 1.1 needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

# Anything that starts like a number (sign, digit, or '.' before a digit) may be one to some
# reader: ints in any base, floats, sexagesimals (1.1), dates and times. Quoting a version
# such as 1.2.3 is harmless; leaving 0012 plain is not. ruamel.yaml 0.19 lets '_' stand
# for a digit after a sign or a '.' (`-_` an int, `._` a float) and fails to convert them.
_NUMBER_LIKE = re.compile(
    r"[-+]?(?:\.[0-9_]|[0-9])|[-+]_|[-+]?\.(inf|Inf|INF)$|\.(nan|NaN|NAN)$")
_SPECIAL_WORDS = frozenset(
    word
    for base in ("y", "yes", "n", "no", "true", "false", "on", "off", "null")
    for word in (base, base.capitalize(), base.upper())
) | {"~", "", "=", "<<"}
# Plain only when no YAML indicator can be misread: a conservative alphabet, no ': ' or ' #',
# no indicator first, nothing that ends like a key.
_PLAIN = re.compile(r"([A-Za-z0-9_$(/.]|-(?=[^ ]))[A-Za-z0-9_./@$()=+,:;' -]*")
# YAML's printable characters (both versions) minus line breaks (\x85, \u2028, \u2029) and
# the byte order mark, which some readers drop. Compiling the full class costs milliseconds
# that `generate` pays on every Argo CD refresh, so ASCII text, nearly all of it, is
# checked against the short class and the full one is compiled on first need.
_PRINTABLE_ASCII = re.compile("[\t\x20-\x7e]*")


@cache
def _printable_unicode() -> re.Pattern[str]:
    return re.compile("[\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                      "\U00010000-\U0010ffff]*")


def _printable_line(text: str) -> bool:
    """True when `text` is one line of YAML-printable characters (tabs allowed)."""
    pattern = _PRINTABLE_ASCII if text.isascii() else _printable_unicode()
    return pattern.fullmatch(text) is not None


class Commented(str):
    """A string written with a trailing `# comment` (the version of a pinned action)."""

    comment: str

    def __new__(cls, text: str, comment: str) -> Commented:
        value = super().__new__(cls, text)
        value.comment = comment
        return value


def needs_quotes(text: str) -> bool:
    """True when a YAML 1.1 or 1.2 reader could read the plain scalar as a non-string."""
    return text in _SPECIAL_WORDS or _NUMBER_LIKE.match(text) is not None


def _is_plain(text: str) -> bool:
    return (_PLAIN.fullmatch(text) is not None and not text.endswith((":", " "))
            and ": " not in text and "  " not in text and not text.startswith(("---", "..."))
            and not needs_quotes(text))


def _single_quoted(text: str) -> str | None:
    if not _printable_line(text):
        return None
    return "'" + text.replace("'", "''") + "'"


def _double_quoted(text: str) -> str:
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char != "\t" and _printable_line(char):
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02X}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        else:
            out.append(f"\\U{code:08X}")
    return '"' + "".join(out) + '"'


def _literal_lines(text: str) -> list[str] | None:
    """The lines of a `|` block for `text`, or None when a block cannot hold it exactly."""
    if not text.endswith("\n") or text.endswith("\n\n") or text.startswith((" ", "\t", "\n")):
        return None
    lines = text[:-1].split("\n")
    for line in lines:
        if line != line.rstrip(" \t") or not _printable_line(line):
            return None
    return lines


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict | list) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    if not isinstance(value, str):
        raise TypeError(f"cannot emit {type(value).__name__}")
    return _string(value)


def string_scalar(text: str, style: str | None = None) -> str:
    """`text` as a YAML scalar: in the quote style asked for ("'" or '"') when that style
    can hold it, else in the plainest style that every reader reads back as this string."""
    if style == '"':
        return _double_quoted(text)
    if style == "'":
        return _single_quoted(text) or _double_quoted(text)
    return _string(text)


@cache  # keys and values repeat across thousands of objects: decide each style once
def _string(text: str) -> str:
    if _is_plain(text):
        return text
    # Quotes inside (CEL filters, GitHub expressions) read as written between double quotes,
    # which need no escape here; single ones double them ('' for '), which zizmor 1.33.1
    # cannot parse in an `if:` (it reads the expression from the file's text).
    if "'" in text and not any(c in text for c in '"\\\t') and _printable_line(text):
        return f'"{text}"'
    return _single_quoted(text) or _double_quoted(text)


def _write(value: Any, indent: str, out: list[str], first_prefix: str) -> None:
    """Append the block lines of a non-empty mapping or sequence to `out`.

    `first_prefix` starts the first line (`- ` when the collection is a sequence item);
    the other lines start with `indent`. Sequences under a key are not indented further,
    as PyYAML and kubectl write them.
    """
    prefix = first_prefix
    nested = indent + "  "
    is_mapping = type(value) is dict
    for key, item in value.items() if is_mapping else ((None, item) for item in value):
        if is_mapping:
            written = _key(key)
            # an explicit key's `:` starts the next line, at the mapping's indent
            head = prefix + (written + indent if written[-1] == "\n" else written) + ":"
        else:
            head = prefix + "-"
        prefix = indent
        kind = type(item)
        if kind is Commented:
            out.append(f"{head} {_string(str(item))}  # {item.comment}")
        elif kind is str:
            if "\n" in item and (lines := _literal_lines(item)):
                out.append(head + " |")
                out.extend(nested + line if line else "" for line in lines)
            else:
                out.append(f"{head} {_string(item)}")
        elif (kind is dict or kind is list) and item:
            if not is_mapping:
                _write(item, nested, out, head + " ")
            elif kind is dict:
                out.append(head)
                _write(item, nested, out, nested)
            else:
                out.append(head)
                _write(item, indent, out, indent)
        else:
            out.append(f"{head} {_scalar(item)}")


# YAML readers take a key written `key: value` only when it is at most 1024 characters
# long (PyYAML's scanner forgets a possible simple key further back); a longer one is
# written as an explicit key, `? key` with `: value` on the next line.
SIMPLE_KEY_LIMIT = 1024


@cache  # a few hundred distinct keys, written tens of thousands of times
def _key(key: Any) -> str:
    """A mapping key as written before its `:`; an explicit `? key` ends with a line break."""
    if type(key) is str:
        text = _string(key) if "\n" not in key else _double_quoted(key)
    else:
        text = _scalar(key)
    return text if len(text) < SIMPLE_KEY_LIMIT else f"? {text}\n"


def to_yaml(document: Any) -> str:
    """One YAML document, block style, keys in the order given."""
    if type(document) not in (dict, list) or not document:
        return _scalar(document) + "\n"
    out: list[str] = []
    _write(document, "", out, "")
    return "\n".join(out) + "\n"


def to_yaml_stream(documents: Iterable[Any]) -> str:
    """A multi-document stream, each document starting with `---`."""
    return "".join("---\n" + to_yaml(document) for document in documents)


# Flow output (`to_flow_stream`). JSON is YAML 1.2, but a YAML 1.1 reader, such as the
# go-yaml v2 that reads a plugin's output in Argo CD (sigs.k8s.io/yaml), differs in three
# ways. It folds a raw U+0085 to a space (a line break in YAML 1.1, as are U+2028 and
# U+2029, which go-yaml and PyYAML happen to keep), and refuses raw DEL, C1 controls,
# surrogates, U+FFFE and U+FFFF (some readers drop a U+FEFF too); the json module writes
# all of these raw, so they are escaped (`\u0085` means the same in JSON and YAML). It
# reads `\ud83d\ude00` as two invalid code points, not one character: ensure_ascii=False
# writes such characters raw, which YAML allows. And a key longer than 1024 characters
# cannot be a simple key: those need the block writer's `? key`.
# Patterns, compiled by `re` on first use: the unsafe characters' class alone costs 4 M
# instructions, which output without non-ASCII text never needs.
_FLOW_UNSAFE = "[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
# A key a flow mapping cannot hold: SIMPLE_KEY_LIMIT characters or more with its quotes.
# Found in the text, since walking the documents for their keys costs as much as writing
# them, and a pattern run over the whole text costs a fifth of writing it (a try at every
# quote): a key without an escaped quote is a run free of quotes, followed by `":`, and
# any run as long holds a whole block of half its length; a key holding an escaped quote
# (after `\"`, escaped pairs but no other quote up to `":`) is not measured but taken as
# too long. Such keys are rare, and what else is taken for one only costs the slower writer.
_KEY_RUN = SIMPLE_KEY_LIMIT - 2
_QUOTED_FLOW_KEY = r'\\"(?:[^"\\]++|\\[^"])*+":'


def _has_long_flow_key(text: str) -> bool:
    """True when `text`, a flow stream, may have a key too long for a simple key."""
    step = _KEY_RUN // 2
    measured_to = 0  # runs are measured once, however many blocks they hold
    for start in range(0, len(text), step):
        if start >= measured_to and text.find('"', start, start + step) < 0:
            opening = text.rfind('"', 0, start)
            measured_to = text.find('"', start + step)
            if measured_to - opening > _KEY_RUN and text.startswith(":", measured_to + 1):
                return True
            if measured_to < 0:
                break
    quoted_key = re.compile(_QUOTED_FLOW_KEY)  # from re's cache after the first time
    escaped = text.find('\\"')
    while escaped >= 0:
        if quoted_key.match(text, escaped):
            return True
        escaped = text.find('\\"', escaped + 2)
    return False


def _unicode_escape(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


def to_flow_stream(documents: Iterable[Any]) -> str:
    """A multi-document stream like `to_yaml_stream`'s, each document one line in flow
    style, written by the json module's C encoder at twice the speed: for readers that are
    programs (Argo CD reads the plugin's output on every refresh). Keys are strings, as in
    Kubernetes objects (json writes any other key as a string). Documents with a key a flow
    mapping cannot hold are all written in block style instead."""
    import json  # off the start-up of every other output

    # No check for cycles (a tenth of the encoder's time): renderers build trees, and a
    # cycle would still end in a RecursionError rather than in output.
    encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False,
                              separators=(",", ":")).encode
    documents = list(documents)
    text = "".join([f"---\n{encode(document)}\n" for document in documents])
    if not text.isascii() or "\x7f" in text:
        text = re.sub(_FLOW_UNSAFE, _unicode_escape, text)
    if _has_long_flow_key(text):
        return to_yaml_stream(documents)
    return text


def to_json(document: Any) -> str:
    import json  # only for --format json

    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def objects_to_json(objects: list[dict[str, Any]]) -> str:
    """Kubernetes objects as one JSON document: a `v1` List, as kubectl writes several."""
    return to_json({"apiVersion": "v1", "kind": "List", "items": objects})
