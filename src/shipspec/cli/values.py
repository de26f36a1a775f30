"""`shipspec values`: an environment's image values; merged into a file, or checked."""

from __future__ import annotations

import argparse
import difflib
import os

from shipspec import emit
from shipspec.errors import SpecError
from shipspec.files import write_text
from shipspec.render import RenderOptions
from shipspec.render import values as render_values
from shipspec.resolve import load_spec
from shipspec.values import merge, targets


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    if args.env not in spec.environment_names:
        raise SpecError.single(f"no environment named '{args.env}' in {spec.file}",
                               hint="environments: " + ", ".join(spec.environment_names))
    file = args.write or args.check
    if file is None:
        rendered = render_values.render(spec, RenderOptions(environment=args.env))
        return "".join(emit.to_yaml_stream([r.document for r in rendered]))
    entries = targets(spec, args.env)
    if not entries:
        raise SpecError.single(f"no module of '{args.env}' has a values key")
    old = _read(file)
    # A new file starts as the rendered document; merging then adds the empty tags.
    start = old if old.strip() else emit.to_yaml(
        render_values.render(spec, RenderOptions(environment=args.env))[0].document)
    merged_text, problems, added = merge(start, file, entries)
    if args.check:
        if merged_text == old:
            return f"{file} is up to date with {spec.file}\n"
        diff = "".join(difflib.unified_diff(old.splitlines(True), merged_text.splitlines(True),
                                            fromfile=file, tofile=f"{file} (from the spec)"))
        raise SpecError([*problems, *SpecError.single(
            f"{file} is out of date with {spec.file}:\n{diff}",
            hint=f"run: shipspec values --env {args.env} --write {file}").problems])
    if merged_text == old:
        return f"{file} is up to date with {spec.file}\n"
    write_text(file, merged_text)
    news = "".join(f"  {module}: added with no tag yet; shipspec bump sets it\n"
                   for module in added)
    return f"wrote {file}\n{news}"


def _read(file: str) -> str:
    if not os.path.exists(file):
        return ""
    with open(file, encoding="utf-8", newline="") as stream:
        return stream.read()
