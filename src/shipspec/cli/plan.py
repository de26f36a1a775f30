"""`shipspec plan`: what a GitHub Actions run builds, as step outputs (see `plan.py`)."""

from __future__ import annotations

import argparse
import json
import os

from shipspec.changes import changed_files
from shipspec.cli.options import Output, spec_path, today_utc
from shipspec.errors import SpecError
from shipspec.files import append_text, read_existing
from shipspec.plan import plan
from shipspec.specfile.resolve import find_spec, load_spec


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
    if args.spec_before and _same_bytes(find_spec(args.path), args.spec_before):
        # most pushes leave the spec as it was: it says what it said, and reading it again
        # would be half of plan's time (the whole of it, for a large spec)
        before = spec
    elif args.spec_before:
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
    # module=tag pairs: the deploy job bumps the very tags the builds pushed, where a tag
    # computed again (one of {{ date }}, after midnight) could name no image
    tags = " ".join(f"{build.module}={build.tag}" for build in decided.builds
                    if build.module in decided.deploys)
    lines = (f"environment={decided.environment}\n"
             f"modules={' '.join(b['module'] for b in builds)}\n"
             f"tags={tags}\n"
             f"matrix={json.dumps({'include': builds}, separators=(',', ':'))}\n"
             f"any={'true' if builds else 'false'}\n")
    if args.github_output:
        append_text(args.github_output, lines)
    return Output(lines, notice) if notice else lines


def _same_bytes(path: str, other: str) -> bool:
    import filecmp

    try:
        return filecmp.cmp(path, other, shallow=False)
    except OSError:  # the spec before is read, and its error said, as any other
        return False
