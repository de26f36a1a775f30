"""`shipspec validate [PATH]`: check a spec; a one-line summary, or every problem found."""

from __future__ import annotations

import argparse

from shipspec.resolve import load_spec


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    enabled = len(spec.enabled_modules)
    environments = spec.environment_names
    return (
        f"{spec.file}: valid: {len(spec.modules)} modules ({enabled} enabled), "
        f"environments: {', '.join(environments) or 'none'}\n"
    )
