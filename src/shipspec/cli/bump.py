"""`shipspec bump`: write new image tags into the deployment repository (see `bump/`)."""

from __future__ import annotations

import argparse
import os

from shipspec.bump import BumpOptions, Outcome, bump, delivery_of, plan
from shipspec.bump.git import Credentials, redacted
from shipspec.bump.request import changed_tags, kept
from shipspec.cli.options import at_least, deployment_repository, dry_run, spec_path, today_utc
from shipspec.errors import SpecError, one_line
from shipspec.spec import Spec
from shipspec.specfile.resolve import load_spec


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--module", action="append", required=True,
                        help="module to bump (repeatable: one commit for all)")
    parser.add_argument("--sha", help="commit that was built: the tag comes from the spec")
    parser.add_argument("--tag", action="append", default=[], metavar="[MODULE=]TAG",
                        help="the tag itself: for every module, or MODULE=TAG for one "
                             "(repeatable; modules without one take theirs from --sha)")
    parser.add_argument("--create", action="store_true",
                        help="add the tag's key where the module's mapping in the values "
                             "file lacks it (the mapping itself must exist)")
    parser.add_argument("--newer-on", metavar="REF",
                        help="with --sha: keep a tag of a commit on REF that --sha lacks "
                             "(pushed after it), so that a slower build of an older commit "
                             "does not undo a newer one's deployment; REF as the spec's "
                             "repository knows it, such as origin/main, fetched whole")
    parser.add_argument("--source-repository", metavar="DIR",
                        help="the git repository whose history --newer-on reads (default: "
                             "the one holding the spec)")
    parser.add_argument("--digest", action="append", default=[], metavar="[MODULE=]DIGEST",
                        help="pin the image digest too (sha256:...): MODULE=DIGEST for each "
                             "module when several are bumped (repeatable)")
    parser.add_argument("--env", help="the environment (needed when a module has several)")
    parser.add_argument("--set-repository", action="store_true",
                        help="write the image repository too, where the target has a place")
    dry_run(parser)
    parser.add_argument("--pull-request", action="store_true",
                        help="deliver by pull request this time, whatever the environment's "
                             "delivery says")
    parser.add_argument("--retries", type=at_least(0),
                        help="how often to re-apply on a moved branch (default 20)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite a tag that someone else changed meanwhile")
    parser.add_argument("--no-queue", dest="queue", action="store_false",
                        help="push directly instead of batching with the bumps that arrive "
                        "at the same time (for servers that refuse refs outside branches)")
    deployment_repository(parser)


def run(args: argparse.Namespace) -> str:
    if args.sha is None and not args.tag:
        raise SpecError.single("give --sha or --tag", hint="see 'shipspec bump --help'")
    if args.newer_on is not None and args.sha is None:
        raise SpecError.single("--newer-on compares with the commit built: give --sha too")
    if args.source_repository is not None and args.newer_on is None:
        raise SpecError.single("--source-repository is where --newer-on reads history: "
                               "give --newer-on too")
    if args.source_repository is not None and not os.path.isdir(args.source_repository):
        raise SpecError.single(f"--source-repository {args.source_repository}: no such "
                               "directory", hint="name a clone of the source repository")
    spec = load_spec(args.path)
    today = today_utc()
    newer = []
    if args.newer_on is not None:
        from shipspec.bump.source import newer_commits

        newer = newer_commits(args.source_repository or spec.root, args.sha, args.newer_on)
    changes = plan(spec, args.module, args.env,
                   tags=per_module("--tag", args.tag, args.module),
                   sha=args.sha, digests=digests_by_module(args.digest, args.module),
                   set_repository=args.set_repository, date=today, create=args.create,
                   newer_commits=newer)
    bump_options = options(spec, args, today)._replace(sha=(args.sha or "").lower())
    outcome = bump(spec, changes, bump_options)
    return report(outcome, proposed=delivery_of(changes, bump_options).method == "pull-request")


def per_module(flag: str, given: list[str], modules: list[str]) -> dict[str, str]:
    """--FLAG VALUE (every module) and --FLAG MODULE=VALUE (one), as module → value. Neither
    an image tag nor a digest holds '=', so the two forms cannot be confused."""
    common = [value for value in given if "=" not in value]
    if len(common) > 1:
        raise SpecError.single(f"{flag} without MODULE= may be given once",
                               hint=f"give each module its own: {flag} MODULE=...")
    values = dict.fromkeys(modules, common[0]) if common else {}
    for pair in given:
        if "=" in pair:
            module, _, value = pair.partition("=")
            values[module] = value
    return values


def digests_by_module(given: list[str], modules: list[str]) -> dict[str, str]:
    """--digest as module → digest. A digest names one image, so one without MODULE= is
    for a bump of one module only."""
    bumped = list(dict.fromkeys(modules))
    if len(bumped) > 1 and any("=" not in digest for digest in given):
        raise SpecError.single(
            f"--digest without MODULE= would pin every module bumped ({', '.join(bumped)}) "
            "to one image's digest",
            hint="give each module its own: --digest MODULE=sha256:...")
    return per_module("--digest", given, modules)


def options(spec: Spec, args: argparse.Namespace, today: str, *,
            writes: bool = True) -> BumpOptions:
    """Options shared by bump, history, promote and rollback; the token only from the
    environment. A verb that `writes` to an HTTP(S) repository is refused before any git runs
    when that variable is empty: git would only fail later, asking for a password."""
    token_env = args.token_env or spec.deploy.token_env
    token = _token_in(token_env)
    url = args.repo or spec.deploy.url or ""
    if writes and token is None and not getattr(args, "dry_run", False) and url.startswith(
            ("https://", "http://")):
        raise SpecError.single(
            f"{args.verb} pushes to {redacted(url)} with the token in "
            f"${token_env}, which is not set",
            hint=f"export {token_env}=<a token that may push there (contents: write)>, or "
                 "name another variable with --token-env")
    signing = spec.deploy.signing
    if writes and signing is not None and not getattr(args, "dry_run", False):
        from shipspec.bump import signing as signatures

        signatures.check(signing)  # before the bump posts or pushes anything
    chosen = {name: getattr(args, name) for name in ("dry_run", "pull_request", "retries",
                                                      "force") if getattr(args, name, None)}
    return BumpOptions(
        repo_url=args.repo, branch=args.branch,
        credentials=Credentials(token, f"${token_env}"),
        date=today, queue=getattr(args, "queue", True), signing=signing,
        # the forge knows the spec's repository only; another is proposed as a branch
        forge=None if args.repo else spec.deploy.forge)._replace(**chosen)


def _token_in(variable: str) -> str | None:
    """The token in the environment `variable`, None when it is empty. The whitespace around
    it goes: a Secret made from a file (`kubectl create secret --from-file`) keeps the file's
    last newline, and every request with it failed as unauthorised. A value with whitespace
    or a control character inside is no token and is refused unquoted (urllib quotes a header
    value it refuses in its error, escaped beyond what redaction finds)."""
    token = os.environ.get(variable, "").strip()
    if not token:
        return None
    if not (token.isascii() and token.isprintable()) or any(c.isspace() for c in token):
        raise SpecError.single(
            f"${variable} holds a space, a control character or a character outside ASCII "
            "within its value, which no token has",
            hint=f"set {variable} to the token alone")
    return token


def report(outcome: Outcome, proposed: bool = False) -> str:
    """What a bump did, for people; `proposed` when it delivers by pull request, whose kept
    modules may hold their newer tag in a pull request not merged yet."""
    # `changes` lists tag edits; a --set-repository bump may change repositories only. The
    # tags found in the file are anyone's text: each kept on its line (one_line).
    changes = ", ".join(f"{module} {one_line(old) if old else '(none)'} -> {new}"
                        for module, old, new in changed_tags(outcome.changes)
                        ) or "image repositories only"
    where = "deployed or proposed" if proposed else "deployed"
    kept_here = "".join(
        f"kept {module} at {one_line(tag)}: a newer commit's tag, {where} already\n"
        for module, tag, _ in filter(kept, outcome.changes))
    if outcome.status == "up-to-date":
        return f"{kept_here}already up to date on {outcome.branch}: nothing to commit\n"
    if outcome.status == "dry-run":
        return f"{kept_here}would commit to {outcome.branch}: {changes}\n{outcome.diff}\n"
    retried = f" after {outcome.attempts} attempts" if outcome.attempts > 1 else ""
    batched = (f" (one commit with {outcome.batched} other bump"
               f"{'s' if outcome.batched > 1 else ''})" if outcome.batched else "")
    line = f"committed {outcome.commit} to {outcome.branch}{retried}{batched}: {changes}\n"
    delivered = f"{outcome.delivered}\n" if outcome.delivered else ""
    return kept_here + line + delivered + (f"{outcome.note}\n" if outcome.note else "")
