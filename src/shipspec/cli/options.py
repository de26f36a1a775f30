"""Options that several commands share."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from shipspec.errors import SpecError, shown


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`."""

    def whole_number(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = minimum - 1
        if number < minimum:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number of at least {minimum}")
        return number

    return whole_number


def branch_name(text: str) -> str:
    """An argparse type: a branch name git accepts (the spec's rule for branches)."""
    from shipspec.specfile.check import schema_pattern  # imported only when --branch is given
    from shipspec.specfile.schema import BRANCH

    if not schema_pattern(BRANCH).search(text):
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a branch name git accepts (see git check-ref-format)")
    return text


def repository(text: str) -> str:
    """An argparse type: a clone URL or a path, which git must never read as an option, and
    without a token, which the process list and shell histories would show."""
    from shipspec.specfile.resolve import url_credentials

    if text.startswith("-"):
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a repository URL or path")
    reason = url_credentials(text)
    if reason:  # (not quoted: the message would repeat the token)
        raise argparse.ArgumentTypeError(f"the URL {reason}; export the token in the variable "
                                         "--token-env names (deploy.tokenEnv)")
    return text


def whole_commit_id(flag: str, text: str, hint: str) -> str:
    """`text` in lower case when it is a whole commit id (40 or 64 hexadecimal digits), as
    a Tekton run's `git fetch origin <id>` needs it; else a SpecError naming `flag`."""
    revision = text.lower()
    if len(revision) not in (40, 64) or revision.strip("0123456789abcdef"):
        raise SpecError.single(f"{flag} {shown(text)} is not a whole commit id", hint=hint)
    return revision


def spec_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".",
                        help="a shipspec.yaml, or a directory holding one (default: .)")


def dry_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="show the change, commit nothing")


def deployment_repository(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=repository,
                        help="deployment repository URL (default: deploy.url; pull "
                        "requests to another are pushed as branches for a person to open)")
    parser.add_argument("--branch", type=branch_name,
                        help="its branch (default: the environment's)")
    parser.add_argument("--token-env", metavar="NAME",
                        help="environment variable with the deployment repository's token "
                             "(default: deploy.tokenEnv)")


class Output:
    """What a verb prints besides its result: `text` goes to stdout, as a plain string
    would, and `notice`, for the person running it, to stderr after it."""

    __slots__ = ("notice", "text")

    def __init__(self, text: str, notice: str) -> None:
        self.text, self.notice = text, notice


def today_utc() -> str:
    """Today's date in UTC as tags use it (YYYYMMDD); from `time`, since importing datetime
    cost each start-up 1.8 ms."""
    return time.strftime("%Y%m%d", time.gmtime())
