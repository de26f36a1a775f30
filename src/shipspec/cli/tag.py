"""`shipspec tag`: print the image tag a module gets for a commit (see `tags.py`)."""

from __future__ import annotations

import argparse

from shipspec.cli.options import spec_path, today_utc
from shipspec.files import write_text
from shipspec.specfile.resolve import load_spec
from shipspec.tags import image_tag


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--module", required=True, help="the module whose image is tagged")
    parser.add_argument("--sha", required=True,
                        help="the commit that was built: its id, 7 to 64 hexadecimal digits "
                             "(git rev-parse HEAD); upper case is read as lower")
    parser.add_argument("--env", help="the environment (needed when the module has several)")
    parser.add_argument("--branch",
                        help="the branch that was built (default: the environment's)")
    parser.add_argument("--output", help="write the tag to this file (a Tekton result) instead")


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    module = spec.module(args.module)
    today = today_utc()
    tag = image_tag(spec, module, module.deployment(args.env), sha=args.sha,
                    branch=args.branch, date=today)
    if args.output:
        write_text(args.output, tag)
        return ""
    return tag + "\n"
