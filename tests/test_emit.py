"""The one emitter: deterministic, and strings stay strings for YAML 1.1 and 1.2 readers."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from shipspec.emit import needs_quotes, objects_to_json, to_flow_stream, to_yaml_stream

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


def test_quotes_inside_are_written_as_they_are_where_double_quotes_need_no_escape() -> None:
    """CEL filters and GitHub expressions: single-quoted, each ' became '' (zizmor read the
    `if:` below from the text, '' and all, and could not parse it). Text a double-quoted
    string would have to escape (", \\, a tab) stays single-quoted."""
    documents = [{"if": "${{ !cancelled() && needs.build.result != 'skipped' }}",
                  "both": "it's \"x\"", "backslash": "'\\d'", "tab": ": 'x'\t"}]
    assert to_yaml_stream(documents) == (
        "---\n"
        "if: \"${{ !cancelled() && needs.build.result != 'skipped' }}\"\n"
        "both: 'it''s \"x\"'\n"
        "backslash: '''\\d'''\n"
        "tab: ': ''x''\t'\n")
    assert yaml.safe_load(to_yaml_stream(documents)) == documents[0]


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


# --- the flow stream: what Argo CD reads -------------------------------------------------

def read_back(text: str) -> tuple[list[object], list[object]]:
    """The documents as a YAML 1.1 reader (PyYAML) and a YAML 1.2 reader (ruamel) see them."""
    return list(yaml.safe_load_all(text)), list(YAML(typ="safe", pure=True).load_all(text))


@pytest.mark.parametrize("text", AMBIGUOUS)
def test_the_flow_stream_quotes_every_string(text: str) -> None:
    documents = [{"value": text, text: [text]}]
    out = to_flow_stream(documents)
    assert out == "---\n" + json.dumps(documents[0], separators=(",", ":")) + "\n"
    assert read_back(out) == (documents, documents)


def test_the_flow_stream_is_one_line_per_document_with_the_block_streams_order() -> None:
    documents = [{"kind": "Task", "apiVersion": "v1", "spec": {"script": "set -eu\necho \"$X\"\n",
                                                               "n": [1, -2, None, True, {}, []]}},
                 {"kind": "Pipeline"}]
    out = to_flow_stream(documents)
    assert out.count("\n") == 4 and out.startswith('---\n{"kind":"Task","apiVersion":"v1",')
    assert read_back(out) == read_back(to_yaml_stream(documents)) == (documents, documents)


# U+0085, U+2028 and U+2029 are line breaks to YAML 1.1 (go-yaml and PyYAML fold a raw
# U+0085 to a space); DEL, C1 controls, U+FFFE and U+FFFF are refused, U+FEFF dropped by some.
ESCAPED = "\x85\u2028\u2029\x7f\x80\x9f\ufeff\ufffe\uffff"


@pytest.mark.parametrize("text", ["a" + "b".join(ESCAPED) + "c", "\x7f"])
def test_the_flow_stream_escapes_what_yaml_11_reads_otherwise(text: str) -> None:
    out = to_flow_stream([{"value": text, text: 1}])
    assert out.isascii() and "\x7f" not in out
    assert read_back(out) == ([{"value": text, text: 1}],) * 2


def test_the_flow_stream_writes_characters_past_the_bmp_raw() -> None:
    # json's \ud83d\ude00 would be two invalid code points to go-yaml and PyYAML
    out = to_flow_stream([{"value": "é 😀 \U0010fffd"}])
    assert out == '---\n{"value":"é 😀 \U0010fffd"}\n'
    assert read_back(out) == ([{"value": "é 😀 \U0010fffd"}],) * 2


@pytest.mark.parametrize("key", [
    "k" * 1022,  # with its quotes, past the 1024 characters a simple key may take
    "x" * 600 + "\n" * 250,  # short, but long once escaped
    'a "quoted" key',  # not measured: any key with a quote in it
])
def test_keys_a_flow_mapping_cannot_hold_send_the_stream_to_the_block_writer(key: str) -> None:
    documents = [{"kind": "A"}, {key: "value"}]
    assert to_flow_stream(documents) == to_yaml_stream(documents)
    assert read_back(to_flow_stream(documents)) == (documents, documents)


@pytest.mark.parametrize("offset", range(0, 1100, 37))
def test_a_long_key_is_found_wherever_it_starts(offset: int) -> None:
    # the search looks at blocks of the text, not at every quote: keys across their edges
    for length, too_long in ((1021, False), (1022, True), (3000, True)):
        documents = [{"kind": "A", "pad": "x" * offset, "k" * length: "v", "after": "y"}]
        flow = to_flow_stream(documents)
        assert (flow == to_yaml_stream(documents)) is too_long, length
        assert read_back(flow) == (documents, documents)


def test_the_longest_simple_key_and_values_that_look_like_keys_stay_in_flow_style() -> None:
    documents = [{"k" * 1021: "v"}, {"script": 'case "$A" in\n  "x":) echo ":$A";;\nesac\n',
                                     "quotes": ["\\", '"' + "y" * 1100 + '"']}]
    out = to_flow_stream(documents)
    assert out.count("\n") == 4
    assert read_back(out) == (documents, documents)


# --- go-yaml v2, as Argo CD, Helm and kustomize read YAML ----------------------------------

HELM = Path(__file__).resolve().parent / "tools" / "bin" / "helm"
# Strings any writer can get wrong, and documents shaped as renderers make them.
TRICKY = [*AMBIGUOUS, "a: b", "a #b", "- x", "[x]", "{x}", "*x", "&x", "!x", "%x", "@x", "`x",
          "'", '"', "\\", "\\n", "\t", "x\n", "x\n\n", "\nx", " x", "x ", "line\nline",
          "set -eu\necho \"$A\" ':'\n", "\x00\x1b", ESCAPED, *ESCAPED, "é", "😀", "\U0010fffd",
          "k" * 1100, "x" * 600 + "\n" * 250, "null\n", "0x1F", "1:2", ".5", "-.5e3"]


def go_yaml_reads(texts: list[str], tmp_path: Path) -> list[object]:
    """What go-yaml v2 reads in each text (one YAML document each): helm 3.18.0 reads a
    file with `fromYaml`, which is sigs.k8s.io/yaml v1.4.0 over its go-yaml v2 fork (helm
    v3.18.0 pkg/engine/funcs.go `fromYAML`, go.mod), the parser of Argo CD v3.5.1's
    sigs.k8s.io/yaml v1.6.0 (gitops-engine pkg/utils/kube/kube.go `SplitYAML`)."""
    return [json.loads(text) for text in go_json(texts, tmp_path)]


def go_json(texts: list[str], tmp_path: Path) -> list[str]:
    """Each text (one YAML document) read by go-yaml v2 as go_yaml_reads says, and written
    by Go's encoding/json (`toJson`: json.Marshal, sprig v3 defaults.go), which also writes
    kubectl's last-applied annotation. They come back as base64, which no YAML step of
    helm's can alter."""
    assert HELM.exists(), "helm is missing: run `bash tests/run` (tests/tools/unpack_binaries.py)"
    chart = tmp_path / "reader"
    (chart / "templates").mkdir(parents=True)
    (chart / "docs").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: reader\nversion: 0.1.0\n")
    (chart / "templates" / "read.yaml").write_text(
        'read:\n{{- range $path, $_ := .Files.Glob "docs/*" }}\n'
        '  {{ base $path }}: {{ $.Files.Get $path | fromYaml | toJson | b64enc }}\n'
        "{{- end }}\n")
    for index, text in enumerate(texts):
        (chart / "docs" / f"d{index:04d}").write_text(text, encoding="utf-8")
    result = subprocess.run([str(HELM), "template", "reader", str(chart)], capture_output=True,
                            text=True, check=True, timeout=120)
    [document] = yaml.safe_load_all(result.stdout)
    read = {name: base64.b64decode(value).decode() for name, value in document["read"].items()}
    return [read[f"d{index:04d}"] for index in range(len(texts))]


@pytest.mark.parametrize("writer", [to_yaml_stream, to_flow_stream])
def test_go_yaml_v2_reads_what_both_writers_wrote(writer: Any, tmp_path: Path) -> None:
    documents = [{"value": text, "list": [text, 1, None, True], text: {"nested": text}}
                 for text in TRICKY]
    documents.append({"kind": "Trigger", "spec": {"interceptors": [
        {"params": [{"name": "filter", "value": "body.ref == 'refs/heads/main'"}]}], "n": -7}})
    texts = [writer([document]) for document in documents]
    assert go_yaml_reads(texts, tmp_path) == documents
