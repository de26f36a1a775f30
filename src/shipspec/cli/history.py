"""`shipspec history`: a module's tags in an environment, newest first."""

from __future__ import annotations

import argparse

from shipspec.bump import history
from shipspec.cli.bump import options
from shipspec.cli.options import deployment_repository, spec_path, today_utc
from shipspec.errors import SpecError, one_line
from shipspec.specfile.resolve import load_spec


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--module", required=True, help="the module whose tags to list")
    parser.add_argument("--env", help="its environment (needed when it has several)")
    deployment_repository(parser)


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    module = spec.module(args.module)
    deployment = module.deployment(args.env)
    entries = history(spec, module, deployment, options(spec, args, today_utc(), writes=False))
    if not entries:
        raise SpecError.single(
            f"{module.name} has no tag in {deployment.environment} in any commit of the "
            "deployment repository",
            hint="check that its file holds the module's tag key: shipspec validate "
                 "--deployment <a checkout> reads it as bump does")
    # authors and tags are whatever the deployment repository's commits hold
    return "".join(f"{e.commit[:12]}  {e.date}  {one_line(e.author)}  {one_line(e.tag)}\n"
                   for e in entries)
