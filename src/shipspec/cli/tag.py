"""`shipspec tag`: print the image tag a module gets for a commit (see `tags.py`)."""

from __future__ import annotations

import argparse
import datetime

from shipspec.files import write_text
from shipspec.resolve import load_spec
from shipspec.tags import image_tag


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    module = spec.module(args.module)
    today = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    tag = image_tag(spec, module, module.deployment(args.env), sha=args.sha,
                    branch=args.branch, date=today)
    if args.output:
        write_text(args.output, tag)
        return ""
    return tag + "\n"
