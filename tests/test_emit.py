"""The one emitter: deterministic, and strings stay strings for YAML 1.1 and 1.2 readers."""

from __future__ import annotations

import json

import pytest
import yaml
from ruamel.yaml import YAML

from shipspec.emit import needs_quotes, objects_to_json, to_yaml_stream

AMBIGUOUS = ["12345e67", "1e10", "089", "0012", "0x1f", "0o17", "0b101", "1_000", "y", "Y",
             "n", "yes", "No", "on", "OFF", "true", "False", "null", "NULL", "~", "", ".inf",
             "-.INF", ".nan", "+1", "-5", "1.5", "2001-12-14", "12:30:45", "190:20:30", "=",
             "<<"]


@pytest.mark.parametrize("text", AMBIGUOUS)
def test_ambiguous_strings_are_quoted_and_read_back_as_strings(text: str) -> None:
    out = to_yaml_stream([{"value": text}])
    assert out == f"---\nvalue: '{text}'\n"
    assert yaml.safe_load(out) == {"value": text}
    assert YAML(typ="safe", pure=True).load(out) == {"value": text}
    assert YAML(typ="rt").load(out)["value"] == text


def test_plain_words_stay_plain() -> None:
    assert not needs_quotes("ghcr.io/xiilab/astrago-backend")
    assert to_yaml_stream([{"name": "core", "branch": "stabilize/1.0"}]) == (
        "---\nname: core\nbranch: stabilize/1.0\n")


def test_keys_keep_their_order_and_multiline_text_is_a_literal_block() -> None:
    out = to_yaml_stream([{"kind": "Task", "apiVersion": "v1", "script": "set -eu\necho hi\n"}])
    assert out == "---\nkind: Task\napiVersion: v1\nscript: |\n  set -eu\n  echo hi\n"


def test_shared_objects_are_written_out_not_anchored() -> None:
    shared = {"a": 1}
    assert to_yaml_stream([{"first": shared, "second": shared}]) == (
        "---\nfirst:\n  a: 1\nsecond:\n  a: 1\n")


def test_ambiguous_keys_are_quoted_too() -> None:
    assert to_yaml_stream([{"y": 1, "on": 2}]) == "---\n'y': 1\n'on': 2\n"


def test_same_input_gives_the_same_bytes() -> None:
    documents = [{"b": [1, "on", {"c": None}], "a": True}, {"z": "1e10"}]
    assert to_yaml_stream(documents) == to_yaml_stream(documents)


def test_json_output_is_a_kubernetes_list() -> None:
    out = objects_to_json([{"kind": "A"}, {"kind": "B"}])
    assert json.loads(out) == {"apiVersion": "v1", "kind": "List",
                               "items": [{"kind": "A"}, {"kind": "B"}]}
