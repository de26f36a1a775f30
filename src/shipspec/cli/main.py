"""The command line: parse arguments, run one verb, turn errors into messages and exit codes.

Each verb lives in `cli/<verb>.py` and exposes `run(args) -> str`, the text for stdout.
Nothing is printed until the verb has finished, so a failure never leaves partial output
(Argo CD would read half a stream as the whole application). Verb modules are imported
only when chosen: `shipspec generate` runs on every Argo CD refresh and must start fast.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from shipspec import __version__
from shipspec.errors import ShipspecError, SpecError

TARGETS = ("tekton", "github-actions", "values")
SPEC_PATH_HELP = "a shipspec.yaml, or a directory holding one (default: .)"


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is a user error (exit 1) like any other."""

    def error(self, message: str) -> NoReturn:
        raise SpecError.single(message, hint=f"see '{self.prog} --help'")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    parser = _Parser(prog="shipspec", description="CI/CD for many services from one file.",
                     parents=[common])
    parser.add_argument("--version", action="version", version=f"shipspec {__version__}")
    subparsers = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND",
                                       parser_class=_Parser)

    def verb(name: str, help: str) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, help=help, parents=[common])

    generate = verb("generate", "render CI objects, workflows or values")
    generate.add_argument("path", nargs="?", default=".", help=SPEC_PATH_HELP)
    generate.add_argument("--target", choices=TARGETS,
                          help="what to render (default: tekton)")
    generate.add_argument("--env", help="limit to one environment")
    generate.add_argument("--module", action="append", default=[],
                          help="limit to this module (repeatable)")
    generate.add_argument("--output-dir", help="write files there instead of stdout")
    generate.add_argument("--format", choices=("yaml", "json"), default="yaml")
    generate.add_argument("--argocd", action="store_true",
                          help="run as Argo CD's plugin: settings from its environment "
                               "(ARGOCD_APP_PARAMETERS, ARGOCD_ENV_SHIPSPEC_*, ...)")

    announce = verb("argocd-parameters",
                    "print the Argo CD plugin's parameter announcements for a spec (JSON)")
    announce.add_argument("path", nargs="?", default=".", help=SPEC_PATH_HELP)

    validate = verb("validate", "check a spec; print a one-line summary")
    validate.add_argument("path", nargs="?", default=".", help=SPEC_PATH_HELP)
    validate.add_argument("--deployment", metavar="DIR",
                          help="a checkout of the deployment repository: check its values "
                               "files against the spec too")

    verb("schema", "print the JSON Schema of shipspec.yaml")

    plan = verb("plan", "what a CI run builds: modules, environment, tags (GitHub outputs)")
    plan.add_argument("path", nargs="?", default=".", help=SPEC_PATH_HELP)
    plan.add_argument("--repository", required=True, help="owner/name ($GITHUB_REPOSITORY)")
    plan.add_argument("--branch", required=True, help="the pushed branch ($GITHUB_REF_NAME)")
    plan.add_argument("--sha", required=True, help="the pushed commit ($GITHUB_SHA)")
    plan.add_argument("--changed-files", metavar="FILE",
                      help="the files the push changed, one a line (default: all changed)")
    plan.add_argument("--github-output", metavar="FILE", help="append outputs ($GITHUB_OUTPUT)")

    values = verb("values", "an environment's image values: print, merge into a file, check")
    values.add_argument("path", nargs="?", default=".", help=SPEC_PATH_HELP)
    values.add_argument("--env", required=True)
    into = values.add_mutually_exclusive_group()
    into.add_argument("--write", metavar="FILE",
                      help="merge into FILE: keeps its comments, other keys and every tag")
    into.add_argument("--check", metavar="FILE",
                      help="exit 1 with a diff when FILE is out of date (CI drift check)")

    tag = verb("tag", "print the image tag of a module for a commit")
    tag.add_argument("path", nargs="?", default=".", help=SPEC_PATH_HELP)
    tag.add_argument("--module", required=True)
    tag.add_argument("--sha", required=True, help="the full commit SHA that was built")
    tag.add_argument("--env", help="the environment (needed when the module has several)")
    tag.add_argument("--branch", help="the branch that was built (default: the environment's)")
    tag.add_argument("--output", help="write the tag to this file (a Tekton result) instead")
    _deployment_commands(verb)
    return parser


def _deployment_commands(verb: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """bump, history, promote, rollback: the commands on the deployment repository."""

    def deployment_repo(command: argparse.ArgumentParser) -> None:
        command.add_argument("--repo", help="deployment repository URL (default: deploy.url)")
        command.add_argument("--branch", help="its branch (default: the environment's)")
        command.add_argument("--token-env", metavar="NAME",
                             help="environment variable with the push token "
                                  "(default: deploy.tokenEnv)")

    bump = verb("bump", "write new image tags into the deployment repository")
    bump.add_argument("path", nargs="?", default=".", help=SPEC_PATH_HELP)
    bump.add_argument("--module", action="append", required=True,
                      help="module to bump (repeatable: one commit for all)")
    bump.add_argument("--sha", help="commit that was built: the tag comes from the spec")
    bump.add_argument("--tag", help="the tag itself")
    bump.add_argument("--digest", help="pin the image digest too (sha256:...)")
    bump.add_argument("--env", help="the environment (needed when a module has several)")
    bump.add_argument("--set-repository", action="store_true",
                      help="write the image repository too, where the target has a place")
    bump.add_argument("--dry-run", action="store_true", help="show the change, commit nothing")
    bump.add_argument("--pull-request", action="store_true",
                      help="push to a new branch instead of the target branch")
    bump.add_argument("--retries", type=int,
                      help="how often to re-apply on a moved branch (default 20)")
    bump.add_argument("--force", action="store_true",
                      help="overwrite a tag that someone else changed meanwhile")
    deployment_repo(bump)

    history = verb("history", "list a module's tags in an environment, newest first")
    history.add_argument("path", nargs="?", default=".", help=SPEC_PATH_HELP)
    history.add_argument("--module", required=True)
    history.add_argument("--env")
    deployment_repo(history)

    promote = verb("promote", "deploy to one environment the tag another one runs")
    promote.add_argument("path", nargs="?", default=".", help=SPEC_PATH_HELP)
    promote.add_argument("--module", required=True)
    promote.add_argument("--from", dest="source", required=True, metavar="ENV")
    promote.add_argument("--to", dest="target_env", required=True, metavar="ENV")
    deployment_repo(promote)

    rollback = verb("rollback", "write a previous tag of a module back")
    rollback.add_argument("path", nargs="?", default=".", help=SPEC_PATH_HELP)
    rollback.add_argument("--module", required=True)
    rollback.add_argument("--env")
    rollback.add_argument("--to", metavar="TAG", help="the tag to go back to")
    rollback.add_argument("--steps", type=int, help="go back this many tags")
    deployment_repo(rollback)


def main(argv: Sequence[str] | None = None) -> int:
    # A run is short and builds trees of dicts and lists without cycles; reference counting
    # frees them all, and the cyclic collector would only re-scan the growing tree (a fifth
    # of `generate` at 1000 modules, measured; see BENCHMARKS.md).
    gc.disable()
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    try:
        args = build_parser().parse_args(arguments)
        verb = importlib.import_module(f"shipspec.cli.{args.verb.replace('-', '_')}")
        output: str = verb.run(args)
    except ShipspecError as err:
        if debug:
            raise
        sys.stderr.write(f"{err}\n")
        return err.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("shipspec: interrupted\n")
        return 130
    except Exception as err:  # a bug of ours: say so briefly, the traceback is for --debug
        if debug:
            raise
        sys.stderr.write(f"shipspec: internal error: {type(err).__name__}: {err}\n"
                         "  run again with --debug for a traceback, and please report it\n")
        return 2
    sys.stdout.write(output)
    sys.stdout.flush()
    return 0
