"""`shipspec plan`: what a GitHub Actions run builds, as step outputs (see `plan.py`)."""

from __future__ import annotations

import argparse
import datetime
import json

from shipspec.plan import plan
from shipspec.resolve import load_spec


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    changed = None
    if args.changed_files:
        with open(args.changed_files, encoding="utf-8") as stream:
            changed = [line.strip() for line in stream if line.strip()]
    today = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    decided = plan(spec, args.repository, args.branch, args.sha, changed, today)
    builds = [build._asdict() for build in decided.builds]
    lines = (f"environment={decided.environment}\n"
             f"modules={' '.join(b['module'] for b in builds)}\n"
             f"matrix={json.dumps({'include': builds}, separators=(',', ':'))}\n"
             f"any={'true' if builds else 'false'}\n")
    if args.github_output:
        with open(args.github_output, "a", encoding="utf-8") as stream:
            stream.write(lines)
    return lines
