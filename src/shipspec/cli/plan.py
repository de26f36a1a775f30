"""`shipspec plan`: what a GitHub Actions run builds, as step outputs (see `plan.py`)."""

from __future__ import annotations

import argparse
import json
import os
import re

from shipspec.cli.options import Output, spec_path, today_utc
from shipspec.errors import SpecError
from shipspec.files import append_text, read_existing
from shipspec.plan import plan
from shipspec.specfile.resolve import load_spec


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--repository", required=True, help="owner/name ($GITHUB_REPOSITORY)")
    parser.add_argument("--branch", required=True, help="the pushed branch ($GITHUB_REF_NAME)")
    parser.add_argument("--sha", required=True, help="the pushed commit ($GITHUB_SHA)")
    parser.add_argument("--changed-files", metavar="FILE",
                        help="the files the push changed: one a line, as git diff "
                             "--name-only prints them, or -z's NUL-separated list "
                             "(default: all changed)")
    parser.add_argument("--spec-before", metavar="FILE",
                        help="the spec as it was before the push (git cat-file blob "
                             "\"$BEFORE:shipspec.yaml\"): modules it builds or deploys "
                             "otherwise, or not at all, are built too")
    parser.add_argument("--github-output", metavar="FILE",
                        help="append outputs ($GITHUB_OUTPUT)")


def run(args: argparse.Namespace) -> str | Output:
    spec = load_spec(args.path)
    changed = None
    if args.changed_files:
        changed = changed_files(read_existing(args.changed_files))
    before, notice = None, ""
    if args.spec_before:
        try:
            # read where it lies, as the root of a repository of its own: only what it
            # says matters, not the files beside it
            before = load_spec(args.spec_before,
                               root=os.path.dirname(os.path.abspath(args.spec_before)))
        except SpecError as err:
            changed, notice = None, (f"note: the spec before this push cannot be read, so "
                                     f"every module is built:\n{err}\n")
    today = today_utc()
    decided = plan(spec, args.repository, args.branch, args.sha, changed, today, before)
    builds = [build._asdict() for build in decided.builds]
    lines = (f"environment={decided.environment}\n"
             f"modules={' '.join(b['module'] for b in builds)}\n"
             f"matrix={json.dumps({'include': builds}, separators=(',', ':'))}\n"
             f"any={'true' if builds else 'false'}\n")
    if args.github_output:
        append_text(args.github_output, lines)
    return Output(lines, notice) if notice else lines


# git's C-style quoting (quote.c: quote_c_style, read back by unquote_c_style): what
# `git diff --name-only` prints for a path holding a byte above 0x7f (core.quotePath is on
# by default: any name in Korean, or with an accent), a control character, `"` or `\`.
_GIT_QUOTED = re.compile(r'"((?:[^"\\]|\\(?:[abtnvfr"\\]|[0-3][0-7]{2}))*)"')
_GIT_ESCAPE = re.compile(rb'\\(?:([abtnvfr"\\])|([0-3][0-7]{2}))')
_GIT_ESCAPED = {b"a": b"\a", b"b": b"\b", b"t": b"\t", b"n": b"\n", b"v": b"\v",
                b"f": b"\f", b"r": b"\r", b'"': b'"', b"\\": b"\\"}


def changed_files(text: str) -> list[str]:
    """The paths of a --changed-files list: NUL-separated (`git diff -z`, paths verbatim) or
    one a line, where a path git quoted is read back as git wrote it."""
    if "\0" in text:
        return [path for path in text.split("\0") if path]
    return [_unquoted(line.strip()) for line in text.splitlines() if line.strip()]


def _unquoted(line: str) -> str:
    quoted = _GIT_QUOTED.fullmatch(line)
    if not quoted:  # not git's quoting: the path as it is
        return line
    raw = _GIT_ESCAPE.sub(lambda escape: _GIT_ESCAPED[escape[1]] if escape[1]
                          else bytes([int(escape[2], 8)]), quoted[1].encode())
    return raw.decode("utf-8", errors="surrogateescape")
