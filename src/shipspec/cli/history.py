"""`shipspec history`: a module's tags in an environment, newest first."""

from __future__ import annotations

import argparse

from shipspec.bump import history
from shipspec.cli.bump import options, today_utc
from shipspec.cli.options import deployment_repository, spec_path
from shipspec.resolve import load_spec


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--module", required=True, help="the module whose tags to list")
    parser.add_argument("--env", help="its environment (needed when it has several)")
    deployment_repository(parser)


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    module = spec.module(args.module)
    entries = history(spec, module, module.deployment(args.env),
                      options(spec, args, today_utc(), writes=False))
    return "".join(f"{e.commit[:12]}  {e.date}  {e.author}  {e.tag}\n" for e in entries)
