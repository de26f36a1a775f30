"""`shipspec schema`: the JSON Schema of shipspec.yaml, for editors and other tools."""

from __future__ import annotations

import argparse

from shipspec.emit import to_json
from shipspec.specfile.schema import SPEC_SCHEMA


def arguments(parser: argparse.ArgumentParser) -> None:
    """`schema` takes no arguments."""


def run(args: argparse.Namespace) -> str:
    return to_json(SPEC_SCHEMA)
