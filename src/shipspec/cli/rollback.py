"""`shipspec rollback`: write a previous tag back, through the same path as bump."""

from __future__ import annotations

import argparse

from shipspec.bump import bump, history, plan
from shipspec.cli.bump import options, report, today_utc
from shipspec.cli.options import deployment_repository, spec_path
from shipspec.errors import SpecError
from shipspec.resolve import load_spec


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--module", required=True)
    parser.add_argument("--env")
    parser.add_argument("--to", metavar="TAG", help="the tag to go back to")
    parser.add_argument("--steps", type=int, help="go back this many tags")
    deployment_repository(parser)


def run(args: argparse.Namespace) -> str:
    if (args.to is None) == (args.steps is None):
        raise SpecError.single("give either --to TAG or --steps N")
    spec = load_spec(args.path)
    module = spec.module(args.module)
    deployment = module.deployment(args.env)
    today = today_utc()
    bump_options = options(spec, args, today)
    tag = args.to
    if tag is None:
        entries = history(spec, module, deployment, bump_options)
        if args.steps < 1 or args.steps >= len(entries):
            raise SpecError.single(
                f"cannot go back {args.steps} steps: {module.name} has had "
                f"{len(entries)} tags in {deployment.environment}",
                hint="see them with shipspec history")
        tag = entries[args.steps].tag
    changes = plan(spec, [module.name], deployment.environment, tag=tag, sha=None,
                   digest=None, set_repository=False, date=today)
    return report(bump(spec, changes, bump_options))
