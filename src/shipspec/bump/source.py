"""The source repository's history, as `bump --newer-on` reads it.

Builds of different commits end in any order: a slow build of an older commit would deploy
its tag over the one a newer commit's pipeline deployed a minute before. The commits of the
branch that the built commit lacks are the ones it must not undo; `plan` renders each one's
tag, and whoever writes the request keeps a target that holds one of them (request.py).
A tag template with `{{ date }}` names the day a commit was built, which may be any day
from its commit to today: `plan` renders such a tag for each of those days.
"""

# Annotations evaluated, as in spec.py: typing compiles a record's string annotations when
# the module is imported, and bump imports this one.
import subprocess
import time
from typing import NamedTuple

from shipspec.bump.git import working_directory_environment
from shipspec.errors import RuntimeFailure, SpecError, one_line
from shipspec.tags import SHA_HINT, sha_problem

# Newest first: a deployment older than this many commits is not guarded. A bound, since
# every one of them is rendered through the module's tag template.
NEWER_LIMIT = 1000
# The days a newer commit's build may have run on, counted back from today: a month. A
# build of an older commit that ends later than that after a newer one's (a run retried
# weeks on) does not recognise a `{{ date }}` tag of the newer one.
BUILD_DAYS_LIMIT = 31
# The builds (a commit on a day) whose tags `plan` renders for each module, newest commits
# first: every commit of NEWER_LIMIT built on its day or the next, and fewer further back,
# where a month of days each would cost seconds on a mono repo's bump of every module (and
# megabytes in the queue's intents).
NEWER_BUILDS_LIMIT = 2 * NEWER_LIMIT
_DAY = 86400  # seconds; UTC days have no daylight saving
# git's exit code for a command that could not run at all: `rev-parse --verify` of an
# unknown commit exits 1, and 128 in a directory that is no repository, or in a bare one
# where safe.bareRepository is `explicit` (which "no such commit" misreported)
_GIT_FATAL = 128


class NewerCommit(NamedTuple):
    sha: str
    # The UTC days (YYYYMMDD) its build may have run on, oldest first: from the day before
    # its committer date (clocks of laptops and CI differ) to today.
    build_days: tuple[str, ...]


def newer_commits(root: str, sha: str, ref: str) -> list[NewerCommit]:
    """The commits of `ref` that commit `sha` does not contain (those pushed after it, or
    that replaced it when the branch was rewritten), newest first, in the repository at
    `root`."""
    problem = sha_problem(sha)
    if problem:
        raise SpecError.single(f"--sha {sha!r} {problem}", hint=SHA_HINT)
    sha = sha.lower()
    if ref.startswith("-"):
        raise SpecError.single(f"--newer-on {ref!r} is not a branch",
                               hint="name the branch as the repository knows it: "
                                    "origin/main")
    problems = []
    for name, value in (("--sha", sha), ("--newer-on", ref)):
        code, said = _git(root, "rev-parse", "--quiet", "--verify", "--end-of-options",
                          f"{value}^{{commit}}")
        if code == _GIT_FATAL:  # no repository there, or one git refuses to use
            raise SpecError.single(
                f"cannot read the history in {root}: {one_line(said.strip())}",
                hint="run bump in a clone of the source repository, or name one with "
                     "--source-repository")
        if code:
            problems.append(f"{name} {value}: no such commit")
    if problems:
        raise SpecError.single(
            f"cannot tell which commits came after {sha} in {root}: {'; '.join(problems)}",
            hint="fetch the branch's history before bumping (git fetch origin <branch>; "
                 "actions/checkout with fetch-depth: 0)")
    # each commit as two lines, `commit <id>` and its committer date in seconds
    code, listed = _git(root, "rev-list", f"--max-count={NEWER_LIMIT}", "--format=%ct",
                        "--end-of-options", f"{sha}..{ref}")
    if code:
        raise RuntimeFailure(f"error: git rev-list failed in {root}: {listed.strip()}")
    words = listed.split()
    today = int(time.time()) // _DAY
    return [NewerCommit(commit, build_days(int(committed) // _DAY, today))
            for commit, committed in zip(words[1::3], words[2::3], strict=True)]


def build_days(committed: int, today: int) -> tuple[str, ...]:
    """The days, as YYYYMMDD, from the day before day `committed` to day `today` (days
    since 1970 in UTC), at most BUILD_DAYS_LIMIT of them."""
    first = max(committed - 1, today - BUILD_DAYS_LIMIT + 1)
    return tuple(time.strftime("%Y%m%d", time.gmtime(day * _DAY))
                 for day in range(first, today + 1))


def _git(root: str, *arguments: str) -> tuple[int, str]:
    """git's exit code, and its output (its errors when it fails)."""
    try:
        completed = subprocess.run(  # noqa: S603 - an argument list, no shell
            ["git", *arguments], cwd=root, capture_output=True, text=True,  # noqa: S607
            errors="replace", stdin=subprocess.DEVNULL, check=False,
            env=working_directory_environment())
    except OSError as err:
        raise RuntimeFailure(f"error: cannot run git in {root}: {err.strerror}") from None
    return completed.returncode, (completed.stderr if completed.returncode
                                  else completed.stdout)
