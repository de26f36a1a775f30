"""`shipspec argocd-parameters`: the plugin's dynamic parameters, as Argo CD reads them."""

from __future__ import annotations

import argparse

from shipspec.argocd import announcements
from shipspec.cli.options import spec_path
from shipspec.emit import to_json
from shipspec.specfile.resolve import load_spec


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)


def run(args: argparse.Namespace) -> str:
    return to_json(announcements(load_spec(args.path)))
