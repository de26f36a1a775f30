"""`shipspec promote`: deploy to one environment the image another one runs."""

from __future__ import annotations

import argparse

from shipspec.bump import bump, deployed_tag, plan
from shipspec.cli.bump import options, report, today_utc
from shipspec.resolve import load_spec


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    module = spec.module(args.module)
    today = today_utc()
    bump_options = options(spec, args, today)
    # The same image moves on: its tag is copied, not rebuilt or renamed.
    tag = deployed_tag(spec, module, module.deployment(args.source), bump_options)
    changes = plan(spec, [module.name], args.target_env, tag=tag, sha=None, digest=None,
                   set_repository=False, date=today)
    return report(bump(spec, changes, bump_options))
