"""`shipspec promote`: deploy to one environment the image another one runs."""

from __future__ import annotations

import argparse

from shipspec.bump import bump, deployed_tag, plan
from shipspec.cli.bump import options, report
from shipspec.cli.options import deployment_repository, dry_run, spec_path, today_utc
from shipspec.images import tag_and_digest
from shipspec.render import select_options
from shipspec.specfile.resolve import load_spec


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--module", required=True, help="the module to promote")
    parser.add_argument("--from", dest="source", required=True, metavar="ENV",
                        help="the environment whose tag is copied")
    parser.add_argument("--to", dest="target_env", required=True, metavar="ENV",
                        help="the environment that gets it")
    dry_run(parser)
    deployment_repository(parser)


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    for environment in (args.source, args.target_env):  # each named as what it is
        select_options(spec, environment, [args.module])
    module = spec.module(args.module)
    today = today_utc()
    bump_options = options(spec, args, today)
    # The same image moves on: its tag is copied, not rebuilt or renamed, and a digest
    # pinned with it too (what is pulled).
    tag, digest = tag_and_digest(
        deployed_tag(spec, module, module.deployment(args.source), bump_options))
    changes = plan(spec, [module.name], args.target_env, tags={module.name: tag}, sha=None,
                   digests={module.name: digest} if digest else None, set_repository=False,
                   date=today)
    return report(bump(spec, changes, bump_options._replace(action="promote")))
