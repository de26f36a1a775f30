"""Options that several commands share."""

from __future__ import annotations

import argparse


def spec_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".",
                        help="a shipspec.yaml, or a directory holding one (default: .)")


def deployment_repository(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", help="deployment repository URL (default: deploy.url)")
    parser.add_argument("--branch", help="its branch (default: the environment's)")
    parser.add_argument("--token-env", metavar="NAME",
                        help="environment variable with the push token "
                             "(default: deploy.tokenEnv)")
