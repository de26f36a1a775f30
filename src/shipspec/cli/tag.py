"""`shipspec tag`: print the image tag a module gets for a commit (see `tags.py`)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from shipspec.cli.options import spec_path, today_utc
from shipspec.errors import SpecError
from shipspec.files import read_existing, write_text
from shipspec.specfile.resolve import load_spec
from shipspec.tags import image_tag

if TYPE_CHECKING:
    from shipspec.spec import Module


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
    parser.add_argument("--changed-files", metavar="FILE",
                        help="with --touched-output: the files a pull request changes (git "
                             "diff --name-only, or -z's NUL-separated list); no such file: "
                             "they are not known, and the module counts as touched")
    parser.add_argument("--touched-output", metavar="FILE",
                        help="write true or false: whether --changed-files touch the "
                             "module's paths (a Tekton result: its pull request builds)")


def run(args: argparse.Namespace) -> str:
    if (args.changed_files is None) != (args.touched_output is None):
        raise SpecError.single("--changed-files and --touched-output go together",
                               hint="give both, or neither")
    spec = load_spec(args.path)
    module = spec.module(args.module)
    today = today_utc()
    tag = image_tag(spec, module, module.deployment(args.env), sha=args.sha,
                    branch=args.branch, date=today)
    if args.touched_output:
        write_text(args.touched_output, "true" if _touched(module, args.changed_files)
                   else "false")
    if args.output:
        write_text(args.output, tag)
        return ""
    return tag + "\n"


def _touched(module: Module, listed: str) -> bool:
    if not os.path.exists(listed):  # not known: build, as before paths narrowed
        return True
    # its patterns: compiled only here
    from shipspec.changes import builds, changed_files

    return builds(module.paths, module.deployment_files, changed_files(read_existing(listed)))
