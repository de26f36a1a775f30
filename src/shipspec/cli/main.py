"""The command line: parse arguments, run one verb, turn errors into messages and exit codes.

Each verb lives in `cli/<verb>.py` and exposes `arguments(parser)` and `run(args)`, which
returns the text for stdout (or an `Output`, when a notice for stderr goes with it); its
summary and example are in VERBS below. Nothing is printed until the verb has finished, so
a failure never leaves partial output (Argo CD would read half a stream as the whole
application). Only the verb that runs is imported and gets a parser: `shipspec generate`
runs on every Argo CD refresh and must start fast (building every verb's parser cost a
sixth of the start-up of Python importing PyYAML).
"""

from __future__ import annotations

import argparse
import codecs
import gc
import importlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, NoReturn

from shipspec import __version__
from shipspec.cli.options import Output
from shipspec.errors import RuntimeFailure, ShipspecError, SpecError, Terminated, printable


class Verb:
    """A command's help: its `summary` (one line, in `shipspec --help` and atop its own
    help), an `example` command line, and the `detail` a user must know before running it.
    A plain class: a NamedTuple's creation cost the start-up of every command 2M
    instructions."""

    __slots__ = ("detail", "example", "summary")

    def __init__(self, summary: str, example: str, detail: str = "") -> None:
        self.summary, self.example, self.detail = summary, example, detail


VERBS = {
    "generate": Verb("render CI objects, workflows or values",
                     "shipspec generate examples/astrago --target github-actions "
                     "--output-dir out",
                     "Everything is rendered before anything is printed or written: a "
                     "failure prints nothing."),
    "validate": Verb("check a spec; print a one-line summary",
                     "shipspec validate examples/astrago --deployment ../astrago-deployment"),
    "schema": Verb("print the JSON Schema of shipspec.yaml",
                   "shipspec schema > shipspec.schema.json"),
    "tag": Verb("print the image tag of a module for a commit",
                "shipspec tag examples/astrago --module core --sha \"$(git rev-parse HEAD)\""),
    "values": Verb("an environment's image values: print, merge into a file, check",
                   "shipspec values examples/astrago --env stage --check values.yaml"),
    "plan": Verb("what a CI run builds: modules, environment, tags (GitHub outputs)",
                 "shipspec plan --repository xiilab/astrago-backend --branch stabilize/1.0 "
                 "--sha \"$GITHUB_SHA\""),
    "dispatch": Verb("the Tekton runs an event starts, under ci.triggers: dispatch",
                     "shipspec dispatch --event push --repository o/mono --branch main "
                     "--revision \"$(git rev-parse HEAD)\" --changed-files files",
                     "The project's dispatch runs call it; the runs go to kubectl create -f."),
    "bump": Verb("write new image tags into the deployment repository",
                 "DEPLOY_TOKEN=... shipspec bump --module core --sha \"$GITHUB_SHA\" "
                 "--env stage",
                 "Clones the deployment repository (deploy.url, or --repo; only the files it "
                 "changes), commits the new tags and pushes them to the environment's branch. "
                 "An HTTPS remote takes the token from the variable deploy.tokenEnv names "
                 "(default DEPLOY_TOKEN; --token-env names another), never from the command "
                 "line."),
    "history": Verb("list a module's tags in an environment, newest first",
                    "shipspec history examples/astrago --module core --env stage"),
    "promote": Verb("deploy to one environment the tag another one runs",
                    "shipspec promote --module core --from stage --to prod",
                    "Clones, commits and pushes as bump does, with the same token."),
    "rollback": Verb("write a previous tag of a module back",
                     "shipspec rollback --module core --env stage --steps 1",
                     "Clones, commits and pushes as bump does, with the same token."),
    "argocd-parameters": Verb("print the Argo CD plugin's parameter announcements (JSON)",
                              "shipspec argocd-parameters examples/astrago",
                              "Argo CD runs it as the plugin's dynamic parameters command."),
}


# The verbs that change the deployment repository, or clone it, and clean up after
# themselves when SIGTERM stops them, as when Ctrl-C does (cli/termination.py). Only when
# shipspec is its own process: a program that calls main() keeps its own signal handling.
STOPPED_CLEANLY = frozenset({"bump", "promote", "rollback", "history"})


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is a user error (exit 1) like any other, and a flag is
    only ever its whole name: argparse takes a prefix for the one flag it begins
    (`--pull` for `--pull-request`), so a script written that way would fail, or do
    something else, once a flag with the same prefix is added."""

    help_command = ""  # set on the top-level parser when a verb was named

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "allow_abbrev": False})

    def error(self, message: str) -> NoReturn:
        raise SpecError.single(message,
                               hint=f"see '{self.help_command or self.prog} --help'")


class _Help(argparse.HelpFormatter):
    """Wraps help at 78 columns whatever the terminal, as git does; an example keeps its
    lines, so it can be copied. argparse makes a formatter for every argument added, and
    its default asks shutil for the terminal's width: importing shutil (with bz2 and lzma)
    cost the start-up of every command 6 M instructions."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=78)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def verb_module(name: str) -> ModuleType:
    return importlib.import_module(f"shipspec.cli.{name.replace('-', '_')}")


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser of the `chosen` verb only; of every verb when None (help, a typo)."""
    common = _Parser(add_help=False, formatter_class=_Help)
    common.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    parser = _Parser(prog="shipspec", description="CI/CD for many services from one file.",
                     parents=[common], formatter_class=_Help)
    parser.add_argument("--version", action="version", version=f"shipspec {__version__}")
    if chosen:  # `unrecognized arguments` is raised by this parser, about the verb's flags
        parser.help_command = f"shipspec {chosen}"
    subparsers = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND",
                                       parser_class=_Parser)
    for name, verb in VERBS.items():
        if chosen in (None, name):
            verb_module(name).arguments(subparsers.add_parser(
                name, help=verb.summary, parents=[common],
                description=f"{verb.summary[0].upper()}{verb.summary[1:]}. {verb.detail}",
                epilog=f"example:\n  {verb.example}", formatter_class=_Help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # A run is short and builds trees of dicts and lists without cycles; reference counting
    # frees them all, and the cyclic collector would only re-scan the growing tree (a fifth
    # of `generate` at 1000 modules, measured; see BENCHMARKS.md).
    gc.disable()
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    try:
        chosen = next((word for word in arguments if word in VERBS), None)
        args = build_parser(chosen).parse_args(arguments)
        output = _run(args, own_process=argv is None)
    except ShipspecError as err:
        if debug:
            raise
        sys.stderr.write(f"{printable(str(err))}\n")
        return err.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("shipspec: interrupted\n")
        return 130
    except Terminated:
        sys.stderr.write("shipspec: terminated\n")
        return Terminated.exit_code
    except Exception as err:  # a bug of ours: say so briefly, the traceback is for --debug
        if debug:
            raise
        sys.stderr.write(f"shipspec: internal error: {type(err).__name__}: "
                         f"{printable(str(err))}\n"
                         "  run again with --debug for a traceback, and please report it\n")
        return 2
    text, notice = (output.text, output.notice) if isinstance(output, Output) else (output, "")
    failed = _write_stdout(text)
    if failed is not None:
        return failed
    sys.stderr.write(notice)
    if argv is None:
        # The process's own command line: the interpreter exits next, and its last garbage
        # collection would walk every object still alive (2% of a plugin run at 200
        # modules); none is garbage by then.
        gc.freeze()
    return 0


def _run(args: argparse.Namespace, own_process: bool) -> str | Output:
    """Run the verb; while a verb of STOPPED_CLEANLY runs as its own process, SIGTERM
    stops it as Ctrl-C does."""
    run: Callable[[argparse.Namespace], str | Output] = verb_module(args.verb).run
    if not (own_process and args.verb in STOPPED_CLEANLY):
        return run(args)
    from shipspec.cli.termination import sigterm_cleans_up

    with sigterm_cleans_up():
        return run(args)


def _write_stdout(text: str) -> int | None:
    """Write the output; the exit code when stdout cannot take it, else None."""
    if sys.stdout is None:  # started with descriptor 1 closed (`>&-`)
        sys.stderr.write("shipspec: cannot write the output: standard output is closed\n")
        return RuntimeFailure.exit_code
    try:
        # YAML and JSON for other programs are UTF-8 (YAML 1.2 5.2, RFC 8259 8.1), whatever
        # the locale's encoding: under a legacy one (ko_KR.EUC-KR, say) a module path in
        # Korean, or a character the locale lacks, could not be written at all
        if isinstance(sys.stdout, io.TextIOWrapper) and \
                codecs.lookup(sys.stdout.encoding).name != "utf-8":
            sys.stdout.reconfigure(encoding="utf-8")
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as err:
        # stdout goes to /dev/null, so that the interpreter's own flush at exit does not
        # fail again, with a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if isinstance(err, BrokenPipeError):
            # the reader stopped reading (`generate | head`): quiet, as SIGPIPE ends cat or
            # grep, with the status a shell shows for that
            return 141
        sys.stderr.write(f"shipspec: cannot write the output: {err.strerror or err}\n")
        return RuntimeFailure.exit_code  # a full disk behind a redirect
    return None
