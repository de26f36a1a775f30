"""Properties over random input: the loader fails only in our own way; strings round-trip;
the bump queue names branches as every earlier version did; the spec takes a branch name
exactly when git does."""

from __future__ import annotations

import contextlib
import io
import subprocess
from pathlib import Path

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from shipspec.emit import to_flow_stream, to_yaml_stream
from shipspec.errors import SpecError
from shipspec.specfile.check import schema_pattern
from shipspec.specfile.loading import load_bytes
from shipspec.specfile.schema import BRANCH

_ruamel = YAML(typ="safe", pure=True)

# Random YAML-ish text: YAML's own punctuation, keywords and numbers-like words, mixed.
_TOKENS = st.sampled_from([
    ":", " ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "&b ", "*b", "!!str ",
    "!!int ", "!tag ", "'", '"', "#", "? ", "|", ">", "---\n", "...\n", "<<: ", "~", "on",
    "0012", "1e10", "2001-13-45", "key", "value", "\t", "%YAML 1.1\n", "\\", "\x00", "é",
])
_YAMLISH = st.lists(st.one_of(_TOKENS, st.text(max_size=5)), max_size=40).map("".join)

# Text as renderers produce it (scripts, indented lines, quotes, YAML punctuation) and any text.
_LINES = st.lists(st.sampled_from(["set -eu", "  echo \"$X\"", "", "\tcase $A in", "# c",
                                   "- x", "key: value", "'q'", " lead", "trail ", "{{ a }}"]),
                  min_size=1, max_size=6).map("\n".join)
_TEXT = st.one_of(st.text(max_size=20), _LINES, _LINES.map(lambda t: t + "\n"))
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), _TEXT)
_DOCUMENTS = st.recursive(
    _SCALAR,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(_TEXT, children, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_YAMLISH)
def test_loader_raises_only_shipspec_errors_on_random_text(text: str) -> None:
    with contextlib.suppress(SpecError):  # anything else fails the test
        load_bytes(text.encode("utf-8", "surrogatepass"), "fuzz.yaml")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_loader_raises_only_shipspec_errors_on_random_bytes(raw: bytes) -> None:
    with contextlib.suppress(SpecError):
        load_bytes(raw, "fuzz.yaml")


# Plain scalars each YAML 1.1 resolver claims (PyYAML's: int, float, bool, null, timestamp,
# value, merge), some of which no constructor can build, and any short text.
_CLAIMED_SCALARS = st.one_of(st.sampled_from([
    "2001-13-45", "2024-02-30", "2001-12-14t21:59:43.10-05:00", "2001-1-1 25:61:61", "0x_",
    "0b_", "0o7", "._", "1:_", "190:20:30", "1_000", "=", "<<", "~", "yes", ".inf", "-.nan",
]), st.text(max_size=8))


# Explicit tags on what they cannot tag, among collection punctuation.
_TAGGED = st.lists(st.sampled_from([
    "!!int ", "!!float ", "!!bool ", "!!null ", "!!timestamp ", "!!binary ", "!!set ",
    "!!omap ", "!!pairs ", "!!seq ", "!!map ", "!!str ", "k: ", "- ", "[", "]", "{", "}", "x",
    "1", "'a'", "\n", "? "]), max_size=12).map("".join)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(_YAMLISH, _TAGGED, st.lists(_CLAIMED_SCALARS, min_size=1, max_size=4).map(
    lambda values: "apiVersion: v1\nkind: ConfigMap\ndata:\n" + "".join(
        f"  k{index}: {value}\n" for index, value in enumerate(values)))))
def test_a_render_is_read_or_refused_with_a_shipspec_error(text: str) -> None:
    """What helmfile printed, read for the image check: read, or refused with a clear
    error, never an internal error (a date that is no date was one)."""
    from shipspec import helmfile

    with contextlib.suppress(SpecError):
        helmfile.parse(text.encode("utf-8", "surrogatepass"), "release 'fuzz'")


@settings(max_examples=300, deadline=None)
@given(_DOCUMENTS)
def test_loader_reads_what_pyyaml_wrote(document: object) -> None:
    text = yaml.safe_dump(document)
    assert load_bytes(text.encode(), "doc.yaml").data == yaml.safe_load(text)


@settings(max_examples=1000, deadline=None)
@given(st.text())
@example("._")  # ruamel.yaml 0.19.1 fails on these plain: its number patterns take '_'
@example("-_")
@example("k" * 1100)  # past the 1024 characters of a simple key: written as `? key`
def test_emitted_strings_read_back_identically_in_yaml_11_and_12(text: str) -> None:
    out = to_yaml_stream([{"key": text, text: "value"}])
    expected = {"key": text, text: "value"}
    assert yaml.safe_load(out) == expected
    assert _ruamel.load(io.StringIO(out)) == expected
    assert load_bytes(out.encode(), "out.yaml").data == expected


@settings(max_examples=1000, deadline=None)
@given(_DOCUMENTS)
def test_emitted_documents_read_back_identically(document: object) -> None:
    out = to_yaml_stream([document])
    assert yaml.safe_load(out) == document
    assert _ruamel.load(io.StringIO(out)) == document


@settings(max_examples=1000, deadline=None)
@given(st.text())
@example("k" * 1100)  # too long for a flow mapping's key: the stream is written in block style
@example("\x85\u2028\ufeff😀")
def test_flow_strings_read_back_identically_in_yaml_11_and_12(text: str) -> None:
    documents = [{"key": text, text: "value"}, {"list": [text]}]
    out = to_flow_stream(documents)
    assert list(yaml.safe_load_all(out)) == documents
    assert list(_ruamel.load_all(io.StringIO(out))) == documents


@settings(max_examples=1000, deadline=None)
@given(st.lists(_DOCUMENTS, max_size=3))
def test_flow_documents_read_back_identically(documents: list[object]) -> None:
    out = to_flow_stream(documents)
    assert list(yaml.safe_load_all(out)) == documents
    assert list(_ruamel.load_all(io.StringIO(out))) == documents


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
@example("release/1.0")
@example("feature/ünïcode ☃")
def test_queue_names_quote_a_branch_as_urllib_does(branch: str) -> None:
    # bumps of 0.1.0 name a branch's queue with urllib.parse.quote: every version must agree
    from urllib.parse import quote

    from shipspec.bump.queue import _quoted

    assert _quoted(branch) == quote(branch, safe="")


# Branch names built from what git's rules are about: dots, slashes, '@{', '.lock', a
# leading '-', HEAD, and characters git refuses.
_BRANCH_PARTS = st.sampled_from(["main", "release", "1.0", ".", "..", "/", "//", "-", "@",
                                 "{", "@{", ".lock", "lock", "HEAD", "a", "_", "ü", " ", "~",
                                 "^", ":", "?", "*", "[", "\\", "\x7f", "\t", "$", "#"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_BRANCH_PARTS, min_size=1, max_size=6).map("".join))
@example("--help")
@example("--upload-pack=touch${IFS}x")
@example("HEAD")
@example("HEAD/x")
@example("a/.hidden")
@example("a.lock/b")
@example("@")  # refs/heads/@ is a ref; only a whole ref named "@" is refused
def test_branch_pattern_agrees_with_git_check_ref_format(branch: str) -> None:
    """The spec's branch pattern, as the checker runs it, accepts what `git check-ref-format
    --branch` accepts, and nothing else: git decides, not our reading of its rules."""
    # outside a repository, as the spec names a branch of a remote: git interprets no '@{-1}'
    git = subprocess.run(["git", "check-ref-format", "--branch", branch], cwd=Path("/"),
                         capture_output=True, check=False)
    accepted = schema_pattern(BRANCH).search(branch) is not None
    assert accepted == (git.returncode == 0), git.stderr


# --- which modules a push touches (plan.py): the set of prefixes matches as the scan did ----

_PATH = st.lists(st.sampled_from(["a", "b", "a.b", "ab", ""]), min_size=1, max_size=4).map(
    "/".join)


@given(paths=st.lists(st.one_of(_PATH, _PATH.map(lambda path: path + "/")), max_size=3),
       files=st.lists(_PATH, max_size=6))
@settings(max_examples=500, deadline=None)
def test_touched_prefixes_decide_as_matching_every_file_did(paths: list[str],
                                                            files: list[str]) -> None:
    """`touches` looks a module's paths up in the set `touched` makes once; it must decide
    as the definition: a file is a path, or below it (starts with the path and a '/')."""
    from shipspec.changes import touched, touches

    prefixes = [path.rstrip("/") for path in paths]
    expected = not paths or any(file == prefix or file.startswith(prefix + "/")
                                for file in files for prefix in prefixes)
    assert touches(tuple(paths), touched(files)) == expected
