"""`shipspec bump`: write new image tags into the deployment repository (see `bump/`)."""

from __future__ import annotations

import argparse
import datetime
import os

from shipspec.bump import BumpOptions, Outcome, bump, plan
from shipspec.bump.git import Credentials
from shipspec.errors import SpecError
from shipspec.resolve import load_spec
from shipspec.spec import Spec


def run(args: argparse.Namespace) -> str:
    if (args.sha is None) == (args.tag is None):
        raise SpecError.single("give either --sha or --tag", hint="see 'shipspec bump --help'")
    spec = load_spec(args.path)
    today = today_utc()
    changes = plan(spec, args.module, args.env, tag=args.tag, sha=args.sha,
                   digest=args.digest, set_repository=args.set_repository, date=today)
    return report(bump(spec, changes, options(spec, args, today)))


def today_utc() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")


def options(spec: Spec, args: argparse.Namespace, today: str) -> BumpOptions:
    """Options shared by bump, history and rollback; the token only from the environment."""
    token_env = args.token_env or spec.deploy.token_env
    chosen = {name: getattr(args, name) for name in ("dry_run", "pull_request", "retries",
                                                      "force") if getattr(args, name, None)}
    return BumpOptions(
        repo_url=args.repo, branch=args.branch,
        credentials=Credentials(os.environ.get(token_env) or None, f"${token_env}"),
        date=today)._replace(**chosen)


def report(outcome: Outcome) -> str:
    changes = ", ".join(f"{module} {old or '(none)'} -> {new}"
                        for module, old, new in outcome.changes)
    if outcome.status == "up-to-date":
        return f"already up to date on {outcome.branch}: nothing to commit\n"
    if outcome.status == "dry-run":
        return f"would commit to {outcome.branch}: {changes}\n{outcome.diff}\n"
    retried = f" after {outcome.attempts} attempts" if outcome.attempts > 1 else ""
    line = f"committed {outcome.commit} to {outcome.branch}{retried}: {changes}\n"
    if outcome.status == "pull-request":
        line += f"open a pull request from branch {outcome.branch}\n"
    return line
