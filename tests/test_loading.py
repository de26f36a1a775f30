"""Loading YAML safely: limits, duplicate keys, tags, positions.

Every test here runs with both of PyYAML's parsers, libyaml's (used when PyYAML was built
with it) and the pure-Python one: a user gets the same located error from either.
tests/test_lower_bounds.py runs this file again on the oldest releases pyproject.toml admits.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from shipspec.errors import SpecError
from shipspec.specfile import loading
from shipspec.specfile.loading import DEFAULT_LIMITS, Limits, load_bytes

PARSERS = {"libyaml": getattr(yaml, "CSafeLoader", None), "python": yaml.SafeLoader}


@pytest.fixture(autouse=True, params=sorted(PARSERS))
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    loader = PARSERS[request.param]
    if loader is None:
        pytest.fail("PyYAML was built without libyaml: install a wheel that has it")
    monkeypatch.setattr(loading, "SAFE_LOADER", loader)
    yield request.param


def error_of(text: str | bytes, limits: Limits = DEFAULT_LIMITS) -> str:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(SpecError) as caught:
        load_bytes(raw, "shipspec.yaml", limits)
    return str(caught.value)


def test_values_keep_the_position_of_their_keys_and_values() -> None:
    document = load_bytes(b"modules:\n  core:\n    paths: [a/, b/]\n", "f.yaml")
    assert document.data == {"modules": {"core": {"paths": ["a/", "b/"]}}}
    assert tuple(document.locate(("modules", "core", "paths", 1))) == ("f.yaml", 3, 17)
    assert tuple(document.locate(("modules", "core"), key=True)) == ("f.yaml", 2, 3)
    # a path that does not exist is placed at its nearest existing parent
    assert tuple(document.locate(("modules", "core", "image"))) == ("f.yaml", 3, 5)


def test_duplicate_key_is_rejected_with_both_lines() -> None:
    assert error_of("project: a\nregistry: {}\nproject: b\n") == (
        "shipspec.yaml:3:1: error: duplicate key 'project' (first defined at line 1)\n"
        "  hint: a YAML reader keeps only one of them; remove or rename one"
    )


def test_nested_duplicate_key_is_rejected() -> None:
    message = error_of("modules:\n  core:\n    image: a\n    image: b\n")
    assert message.startswith("shipspec.yaml:4:5: error: duplicate key 'image'")


def test_billion_laughs_is_refused_before_it_expands() -> None:
    lines = ['a0: &a0 "lol"']
    for level in range(1, 10):
        refs = ", ".join(f"*a{level - 1}" for _ in range(10))
        lines.append(f"a{level}: &a{level} [{refs}]")
    message = error_of("\n".join(lines) + "\n")
    assert "error: the document expands to too many values (aliases repeated too often)" in message
    assert "hint: this looks like a 'billion laughs' document" in message


def test_a_ten_megabyte_file_is_refused_unread() -> None:
    message = error_of(b"# " + b"x" * (10 * 1024 * 1024) + b"\n")
    assert message == (
        "shipspec.yaml:1:1: error: the file is larger than 4,194,304 bytes\n"
        "  hint: a shipspec file is small; check that the right file was named"
    )


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    text = "a: " + "[" * 10_000 + "]" * 10_000 + "\n"
    message = error_of(text)
    assert message == "shipspec.yaml:1:67: error: the document is nested more than 64 levels deep"


def test_python_tags_are_refused() -> None:
    message = error_of("x: !!python/object/apply:os.system ['true']\n")
    assert message == (
        "shipspec.yaml:1:4: error: the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system' is not supported"
    )


def test_custom_tag_on_a_mapping_is_refused() -> None:
    assert error_of("x: !thing {a: 1}\n") == (
        "shipspec.yaml:1:4: error: the tag '!thing' is not supported"
    )


def test_a_second_document_is_refused() -> None:
    assert error_of("a: 1\n---\nb: 2\n") == (
        "shipspec.yaml:2:1: error: only one YAML document is allowed here\n"
        "  hint: remove the second document (after '---')"
    )


def test_syntax_error_names_line_and_column() -> None:
    assert error_of("a: b: c\n") == (
        "shipspec.yaml:1:5: error: invalid YAML: unexpected ':' (a new key cannot start here)\n"
        "  hint: quote a value that holds ': ', or starts with '{', '[', '@', '`', '%' or '*'; "
        "a key belongs in the same column as the keys beside it (this one may be indented too "
        "far)"
    )


def test_an_over_indented_key_names_its_likely_cause() -> None:
    message = error_of("deploy:\n  url: https://example.com/d.git\n    branch: main\n")
    assert message.startswith(
        "shipspec.yaml:3:11: error: invalid YAML: unexpected ':' (a new key cannot start here)"
    )
    assert "this one may be indented too far" in message


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param(
        "environments:\n  stage:\n    tag: {{ module }}-x\n",
        "shipspec.yaml:3:22: error: invalid YAML: expected a key of the mapping that starts at "
        "line 3, column 5\n"
        "  hint: a value that starts with '{{' must be quoted, or YAML reads a mapping: "
        'write tag: "{{ module }}-x"',
        id="an_unquoted_template_is_told_to_be_quoted"),
    pytest.param(
        "modules:\n\tcore: {}\n",
        "shipspec.yaml:2:1: error: invalid YAML: a tab character where YAML expects spaces\n"
        "  hint: indent with spaces, never tabs",
        id="a_tab_is_named_as_a_tab"),
    pytest.param(
        "paths: a\n- b\n",
        "shipspec.yaml:2:1: error: invalid YAML: expected a key of the mapping that starts at "
        "line 1, column 1\n"
        "  hint: a '- ' item must be indented under the key whose list it is",
        id="a_list_item_under_a_mapping_says_where_it_belongs"),
    pytest.param(
        "a: 1\nb: 'open\nc: 2\n",
        "shipspec.yaml:2:4: error: invalid YAML: this quoted string is never closed\n"
        "  hint: close it with the quote it was opened with",
        id="an_unclosed_quote_is_reported_where_it_opens"),
    pytest.param(
        "paths: [a/, b/\nimage: x\n",
        "shipspec.yaml:2:6: error: invalid YAML: the list opened with '[' at line 1, column 8 "
        "is not closed with ']'\n"
        "  hint: quote a value that holds ': ', or starts with '{', '[', '@', '`', '%' or '*'",
        id="an_unclosed_flow_list_names_where_it_opened"),
    pytest.param(
        "a: 1\nb: x\x07y\n",
        "shipspec.yaml:2:5: error: invalid YAML: the character U+0007 is not allowed in YAML\n"
        '  hint: remove it, or write it as an escape in a double-quoted string ("\\x07")',
        id="a_control_character_is_located"),
])
def test_a_yaml_mistake_is_located_and_explained(text: str, expected: str) -> None:
    assert error_of(text) == expected


def test_unknown_alias_is_an_error() -> None:
    assert error_of("a: *nowhere\n") == "shipspec.yaml:1:4: error: unknown alias '*nowhere'"


def test_collection_as_key_is_refused() -> None:
    assert error_of("? [a, b]\n: 1\n") == (
        "shipspec.yaml:1:3: error: a mapping key must be a plain value, not a collection"
    )


@pytest.mark.parametrize(("raw", "error"), [
    # at the byte's line and column, counted in characters as an editor counts them
    (b"a: b\nname: \xc3\xa9t\xe9\n", "shipspec.yaml:2:9: error: shipspec.yaml is not UTF-8 "
     "text (byte 0xe9)\n  hint: YAML files are UTF-8; convert it, or name another file"),
    # a byte order mark in front is no column
    (b"\xef\xbb\xbfa: \xff\n", "shipspec.yaml:1:4: error: shipspec.yaml is not UTF-8 text "
     "(byte 0xff)\n  hint: YAML files are UTF-8; convert it, or name another file"),
    # Notepad's "Unicode"
    ("a: b\n".encode("utf-16"), "shipspec.yaml:1:1: error: shipspec.yaml is not UTF-8 text "
     "(byte 0xff)\n  hint: it is UTF-16 (its first bytes say so): save it as UTF-8"),
], ids=["latin-1", "after a byte order mark", "utf-16"])
def test_text_that_is_not_utf8_is_refused_where_it_stops_being_utf8(raw: bytes,
                                                                     error: str) -> None:
    assert error_of(raw) == error


def test_a_byte_order_mark_is_not_part_of_the_first_key() -> None:
    document = load_bytes(b"\xef\xbb\xbfa: 1\n", "f.yaml")
    assert document.data == {"a": 1}
    assert tuple(document.locate(("a",), key=True)) == ("f.yaml", 1, 1)


def test_yaml_11_scalars_are_read_as_pyyaml_does_except_dates() -> None:
    document = load_bytes(b"a: on\nb: 0012\nc: 1e10\nd: 2024-01-02\ne: ~\nf: '0012'\n", "f")
    assert document.data == {"a": True, "b": 10, "c": "1e10", "d": "2024-01-02", "e": None,
                             "f": "0012"}


def test_merge_keys_merge_and_explicit_keys_win() -> None:
    document = load_bytes(b"base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  y: 3\n", "f")
    assert document.data["thing"] == {"x": 1, "y": 3}


def test_empty_file_loads_as_nothing() -> None:
    assert load_bytes(b"", "f").data is None


def test_explicit_tag_on_a_value_that_does_not_fit_it() -> None:
    # found by the property test: PyYAML itself raises IndexError here
    assert error_of("a: !!int ''\n") == (
        "shipspec.yaml:1:4: error: '' is not a valid int, as its tag !!int says it is\n"
        "  hint: remove the tag, or correct the value"
    )


def test_merge_keys_over_empty_mappings_count_towards_the_budget() -> None:
    """Ten anchors, each merging the previous one ten times: 674 bytes that built nothing
    the budget counted, and kept validate busy for minutes (10^10 merges)."""
    lines = ["a0: &a0 {}"]
    lines += [f"a{i}: &a{i} {{<<: [{', '.join([f'*a{i - 1}'] * 10)}]}}" for i in range(1, 11)]
    with pytest.raises(SpecError) as caught:
        load_bytes(("\n".join(lines) + "\n").encode(), "bomb.yaml", DEFAULT_LIMITS)
    assert "too many values (aliases repeated too often)" in str(caught.value)


def test_a_document_of_too_many_values_is_refused_as_it_is_read() -> None:
    """Counted on the parser's events, before anything is built: a 4 MiB file of tiny
    mappings otherwise costs seconds to read only to be refused afterwards."""
    text = "environments:\n" + "".join(f"  e{i}: {{branch: b{i}}}\n" for i in range(10))
    with pytest.raises(SpecError) as caught:
        load_bytes(text.encode(), "shipspec.yaml", Limits(max_nodes=20))
    assert str(caught.value) == (
        "shipspec.yaml:6:7: error: the document holds more than 20 values\n"
        "  hint: split it: a spec of 2,000 modules holds about 40,000")
    assert load_bytes(text.encode(), "shipspec.yaml", Limits(max_nodes=60)).data[
        "environments"]["e9"] == {"branch": "b9"}
