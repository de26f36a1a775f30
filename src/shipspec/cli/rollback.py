"""`shipspec rollback`: write a previous tag back, through the same path as bump."""

from __future__ import annotations

import argparse

from shipspec.bump import bump, deployment_line, history, plan
from shipspec.cli.bump import options, report
from shipspec.cli.options import at_least, deployment_repository, dry_run, spec_path, today_utc
from shipspec.errors import SpecError
from shipspec.images import tag_and_digest
from shipspec.specfile.resolve import load_spec


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--module", required=True, help="the module to roll back")
    parser.add_argument("--env", help="its environment (needed when it has several)")
    parser.add_argument("--to", metavar="TAG",
                        help="a tag the module had before (see shipspec history)")
    parser.add_argument("--steps", type=at_least(1),
                        help="go back this many tags: a step is one deployed tag in the line "
                             "that led to the current one, rollbacks undone, so --steps 1 "
                             "twice goes back two tags")
    parser.add_argument("--force", action="store_true",
                        help="write a --to tag that is not in the module's history, or over a "
                             "tag someone else changed meanwhile")
    dry_run(parser)
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
    if tag is None or not args.force:
        entries = history(spec, module, deployment, bump_options)
    if tag is None:
        line = deployment_line(entries)
        if args.steps >= len(line):
            where = f"{module.name} in {deployment.environment}"
            raise SpecError.single(
                f"cannot go back {args.steps} tags: {where} has "
                + (f"{len(line) - 1} before {line[-1]}" if line else "no tag yet"),
                hint="see them with shipspec history, or name one with --to TAG")
        tag = line[-1 - args.steps]
    elif not args.force:
        # named with the digest it was pinned with, or without: its newest deployment's
        had = [entry.tag for entry in entries if tag in (entry.tag, tag_and_digest(entry.tag)[0])]
        if not had:
            raise SpecError.single(
                f"{module.name} never had the tag {tag!r} in {deployment.environment}",
                hint="see its tags with shipspec history, or write it anyway with --force")
        tag = had[0]
    # a digest pinned with the tag comes back with it: it is what gets pulled
    tag, digest = tag_and_digest(tag)
    changes = plan(spec, [module.name], deployment.environment, tags={module.name: tag},
                   sha=None, digests={module.name: digest} if digest else None,
                   set_repository=False, date=today)
    return report(bump(spec, changes, bump_options._replace(action="rollback")))
