"""`shipspec plan`: what a GitHub Actions run builds, as step outputs (see `plan.py`)."""

from __future__ import annotations

import argparse
import json

from shipspec.cli.options import spec_path, today_utc
from shipspec.files import append_text, read_existing
from shipspec.plan import plan
from shipspec.specfile.resolve import load_spec


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--repository", required=True, help="owner/name ($GITHUB_REPOSITORY)")
    parser.add_argument("--branch", required=True, help="the pushed branch ($GITHUB_REF_NAME)")
    parser.add_argument("--sha", required=True, help="the pushed commit ($GITHUB_SHA)")
    parser.add_argument("--changed-files", metavar="FILE",
                        help="the files the push changed, one a line (default: all changed)")
    parser.add_argument("--github-output", metavar="FILE",
                        help="append outputs ($GITHUB_OUTPUT)")


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    changed = None
    if args.changed_files:
        changed = [line.strip() for line in read_existing(args.changed_files).splitlines()
                   if line.strip()]
    today = today_utc()
    decided = plan(spec, args.repository, args.branch, args.sha, changed, today)
    builds = [build._asdict() for build in decided.builds]
    lines = (f"environment={decided.environment}\n"
             f"modules={' '.join(b['module'] for b in builds)}\n"
             f"matrix={json.dumps({'include': builds}, separators=(',', ':'))}\n"
             f"any={'true' if builds else 'false'}\n")
    if args.github_output:
        append_text(args.github_output, lines)
    return lines
