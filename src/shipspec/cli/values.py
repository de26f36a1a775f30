"""`shipspec values`: an environment's image values; merged into a file, or checked."""

from __future__ import annotations

import argparse
import difflib
import os
import shlex
from collections import Counter

from shipspec import emit
from shipspec.cli.options import spec_path
from shipspec.errors import SpecError
from shipspec.files import read_text, write_text
from shipspec.render import select_options
from shipspec.render import values as render_values
from shipspec.specfile.resolve import load_spec
from shipspec.values.merge import added_note, merge_file, targets


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--env", required=True, help="the environment whose values these are")
    into = parser.add_mutually_exclusive_group()
    into.add_argument("--write", metavar="FILE",
                      help="merge into FILE: keeps its comments, other keys and every tag")
    into.add_argument("--check", metavar="FILE",
                      help="exit 1 with a diff when FILE is out of date (CI drift check)")


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    options = select_options(spec, args.env, [])
    entries = targets(spec, args.env)
    if not entries:
        raise SpecError.single(
            f"no module of {spec.file} has a values target in '{args.env}'",
            hint="give a module `values: <dotted key>` and the environment a `values` file")
    rendered = render_values.render(spec, options)
    file = args.write or args.check
    if file is None:
        return emit.to_yaml_stream([r.document for r in rendered])
    write_command = shlex.join(["shipspec", "values", args.path, "--env", args.env,
                                "--write", file])
    if args.check and not os.path.isfile(file):
        raise SpecError.single(f"{file} does not exist", hint=f"create it: {write_command}")
    old = read_text(file)
    merged_text, problems, added = merge_file(old, file, entries, rendered[0].document,
                                              to_write=args.write is not None)
    if merged_text == old:
        return f"{file} is up to date with {spec.file}\n"
    if args.check:
        raise SpecError([*problems, *SpecError.single(
            f"{file} is out of date with {spec.file}:\n{drift(old, merged_text, file)}",
            hint=f"run: {write_command}").problems])
    write_text(file, merged_text)
    news = "".join(added_note(module) for module in added)
    return f"wrote {file}\n{news}"


# difflib's time grows with the places that changed times the lines of the file (each
# change splits what is left of it once more): 2,000 modules without their tag in a
# 44,000-line file took 16 s to diff. Past this many (changed lines x lines), about 0.2 s
# here, the diff is left out: the errors printed with it name every key anyway.
DIFF_BUDGET = 2_000_000


def drift(old: str, new: str, file: str) -> str:
    """The unified diff from `old` to `new`, or a line that says why it is left out."""
    old_lines, new_lines = old.splitlines(True), new.splitlines(True)
    before, after = Counter(old_lines), Counter(new_lines)
    changed = sum(((before - after) + (after - before)).values())
    if changed * (len(old_lines) + len(new_lines)) > DIFF_BUDGET:
        return (f"about {changed:,} of its lines differ (the diff is left out at this size; "
                "the errors name every key)\n")
    return "".join(difflib.unified_diff(old_lines, new_lines, fromfile=file,
                                        tofile=f"{file} (from the spec)"))
