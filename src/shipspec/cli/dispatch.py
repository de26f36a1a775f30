"""`shipspec dispatch`: the PipelineRuns a Tekton event starts, under ci.triggers: dispatch.

The project's push and pull-request Triggers start one dispatch run an event. Its steps
fetch the two commits and list the files between them (git), then run this command, which
writes the runs of the modules those files touch (render/tekton.py, dispatched_runs) as a
`v1` List for `kubectl create -f`; the step after it creates them. Everything the webhook
sent reaches it as argv, and only its commit ids reach the runs.
"""

from __future__ import annotations

import argparse
import os

from shipspec.cli.options import branch_name, spec_path, whole_commit_id
from shipspec.errors import SpecError, shown
from shipspec.files import read_existing, write_text

EVENTS = ("push", "pull-request")


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--repository", required=True,
                        help="owner/name of the repository the event comes from")
    parser.add_argument("--source-output", metavar="FILE",
                        help="only write the repository's URL, as the spec names it, there")
    parser.add_argument("--event", choices=EVENTS, help="what happened: a push to --branch, "
                        "or a pull request opened or updated against it")
    parser.add_argument("--branch", type=_branch,
                        help="the branch pushed to, or its ref (refs/heads/<branch>); of a "
                             "pull request, its base branch")
    parser.add_argument("--revision", help="the commit pushed, or the pull request's head: "
                                           "its whole id")
    parser.add_argument("--changed-files", metavar="FILE",
                        help="the files the event changes (git diff --name-only, or -z's "
                             "NUL-separated list); no such file: they are not known, and "
                             "every module of the branch builds")
    parser.add_argument("--env", help="only the runs of this environment (generate's --env)")
    parser.add_argument("--module", action="append", default=[],
                        help="only the runs of this module; repeat for more (generate's)")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                        help="a label every run gets besides its own (generate's labels)")
    parser.add_argument("--output", metavar="FILE",
                        help="write the runs there (default: print them)")


def _branch(text: str) -> str:
    return branch_name(text.removeprefix("refs/heads/"))


def run(args: argparse.Namespace) -> str:
    from shipspec.emit import objects_to_json
    from shipspec.render import select_options, tekton
    from shipspec.specfile.resolve import load_spec

    spec = load_spec(args.path)
    if args.source_output:
        write_text(args.source_output, tekton.source_url(spec, args.repository))
        return ""
    missing = [flag for flag, given in (("--event", args.event), ("--branch", args.branch),
                                        ("--revision", args.revision)) if not given]
    if missing:
        raise SpecError.single(f"{', '.join(missing)} required to dispatch an event",
                               hint="or --source-output alone, for the repository's URL")
    revision = whole_commit_id("--revision", args.revision,
                               "the event's commit: all its hexadecimal digits")
    files = None
    if args.changed_files and os.path.exists(args.changed_files):
        from shipspec.changes import changed_files

        files = changed_files(read_existing(args.changed_files))
    options = select_options(spec, args.env, args.module)._replace(
        labels=tuple(sorted(_labels(args.label).items())))
    runs = tekton.dispatched_runs(spec, options, args.event, args.repository, args.branch,
                                  revision, files)
    text = objects_to_json(runs)
    if not args.output:
        return text
    write_text(args.output, text)
    started = ", ".join(
        f"{run['metadata']['labels']['shipspec.dev/module']} "
        f"({_param(run, 'environment')})" for run in runs)
    return (f"{len(runs)} runs to start: {started}\n" if runs else
            f"no module of {args.repository} that deploys from {args.branch} is touched: "
            "no run to start\n")


def _labels(pairs: list[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise SpecError.single(f"--label {shown(pair)} is not KEY=VALUE")
        labels[key] = value
    return labels


def _param(run: dict[str, object], name: str) -> object:
    spec = run["spec"]
    assert isinstance(spec, dict)
    return next(p["value"] for p in spec["params"] if p["name"] == name)
