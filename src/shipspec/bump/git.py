"""The one door to git: clone, read and write files, commit, push, log.

Only this module imports GitPython (which drives the git binary). A token never appears in
argv, in a remote URL, in `.git/config`, in logs or in error text: it reaches git as an
`http.extraHeader` passed through `GIT_CONFIG_*` environment variables, which only the git
processes started here see, and every message that leaves this module is redacted. SSH
remotes use git's usual mechanisms (ssh-agent, `GIT_SSH_COMMAND`).
"""

from __future__ import annotations

import base64
import os
import posixpath
from typing import Any, NamedTuple

import git

from shipspec.errors import RuntimeFailure
from shipspec.paths import SymlinkGuard

_LOST_RACE = ("[rejected]", "fetch first", "non-fast-forward", "cannot lock ref",
              "failed to update ref")


class Credentials(NamedTuple):
    token: str | None
    source: str  # where the token came from, for messages: "$DEPLOY_TOKEN"

    def environment(self) -> dict[str, str]:
        env = {"GIT_TERMINAL_PROMPT": "0"}
        if self.token:
            header = "Authorization: Basic " + self._basic()
            env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="http.extraHeader",
                       GIT_CONFIG_VALUE_0=header)
        return env

    def redact(self, text: str) -> str:
        if self.token:
            for secret in (self.token, self._basic()):
                text = text.replace(secret, "***")
        return text

    def _basic(self) -> str:
        # GitHub and most git servers take a token as the password of basic auth.
        return base64.b64encode(f"x-access-token:{self.token}".encode()).decode()


class Author(NamedTuple):
    name: str
    email: str


class Checkout:
    """A working copy of one branch of the deployment repository."""

    def __init__(self, repo: git.Repo, credentials: Credentials) -> None:
        self.repo = repo
        self.root = str(repo.working_tree_dir)
        self.credentials = credentials
        self.guard = SymlinkGuard(self.root)

    @classmethod
    def clone(cls, url: str, branch: str, directory: str, credentials: Credentials,
              paths: list[str] | None = None, history: bool = False) -> Checkout:
        """Clone only what is needed: one branch; without history unless asked; with the
        blobs of `paths` only, where the server can filter (others ignore the filter)."""
        options: dict[str, Any] = {"branch": branch, "single_branch": True,
                                   "filter": "blob:none", "no_checkout": paths is not None}
        if not history:
            options["depth"] = 1
        try:
            repo = git.Repo.clone_from(_url(url), directory, env=_env(credentials), **options)
        except git.GitCommandError as err:
            raise _failure(err, credentials, f"cannot clone {url} (branch {branch})") from None
        checkout = cls(repo, credentials)
        if paths is not None:
            # Cone mode with a sparse index: only the targets' directories are checked out,
            # and the index holds just those (20,000 files make a 2.7 MB index otherwise,
            # rewritten on every retry of a race).
            directories = sorted({posixpath.dirname(path) for path in paths} - {""})
            checkout._git("sparse-checkout", "set", "--cone", "--sparse-index", *directories)
            checkout._git("checkout", branch)
        return checkout

    def _git(self, *arguments: str) -> str:
        try:
            output: str = self.repo.git.execute(["git", *arguments],
                                                env={**os.environ,
                                                     **self.credentials.environment()})
        except git.GitCommandError as err:
            raise _failure(err, self.credentials, f"git {arguments[0]} failed") from None
        return output

    # --- files -------------------------------------------------------------------------------

    def _path(self, relative: str) -> str:
        if self.guard.escapes(relative):
            raise RuntimeFailure(f"{relative} is a link that leads outside the deployment "
                                 "repository; refusing to read or write it")
        return os.path.join(self.root, relative)

    def exists(self, relative: str) -> bool:
        return os.path.isfile(self._path(relative))

    def read(self, relative: str) -> str:
        # newline="" keeps CRLF line endings exactly as they are
        with open(self._path(relative), encoding="utf-8", newline="") as stream:
            return stream.read()

    def write(self, relative: str, text: str) -> None:
        with open(self._path(relative), "w", encoding="utf-8", newline="") as stream:
            stream.write(text)

    def diff(self) -> str:
        return self._git("diff")

    # --- history -----------------------------------------------------------------------------

    def commit(self, message: str, author: Author, paths: list[str]) -> str:
        """Commit the changed `paths` (the caller only commits what it changed)."""
        environment = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
                       "GIT_COMMITTER_NAME": author.name, "GIT_COMMITTER_EMAIL": author.email}
        try:
            self.repo.git.execute(["git", "commit", "--quiet", "--no-verify", "-m", message,
                                   "--", *paths], env={**os.environ, **environment})
        except git.GitCommandError as err:
            raise _failure(err, self.credentials, "git commit failed") from None
        return str(self.repo.head.commit.hexsha)

    def push(self, branch: str) -> bool:
        """Push HEAD to `branch`; False when someone pushed first (never forces)."""
        try:
            self._git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        except RuntimeFailure as failure:
            # A push that lost the race is refused as non-fast-forward when the other one
            # landed before ours was checked, or as a ref lock failure when both arrived at
            # the same moment.
            if any(sign in str(failure) for sign in _LOST_RACE):
                return False
            raise
        return True

    def refresh(self, branch: str) -> None:
        """Move to the remote tip of `branch`, dropping the local commit."""
        self._git("fetch", "--quiet", "--depth", "1", "origin", branch)
        self._git("reset", "--quiet", "--hard", "FETCH_HEAD")

    def log(self, relative: str) -> list[tuple[str, str, str]]:
        """(commit, ISO date, author) of the commits that touched a file, newest first."""
        output = self._git("log", "--format=%H%x00%aI%x00%an", "--", relative)
        entries = []
        for line in output.splitlines():
            commit, date, author = line.split("\x00")
            entries.append((commit, date, author))
        return entries

    def show(self, commit: str, relative: str) -> str | None:
        try:
            text: str = self.repo.git.show(f"{commit}:{relative}", strip_newline_in_stdout=False)
        except git.GitCommandError:
            return None
        return text


def _url(url: str) -> str:
    # A local path is cloned by hard links without honouring depth or filters; say file://.
    return f"file://{os.path.abspath(url)}" if os.path.isdir(url) else url


def _env(credentials: Credentials) -> dict[str, str]:
    return {**os.environ, **credentials.environment()}


def _failure(err: git.GitCommandError, credentials: Credentials, what: str) -> RuntimeFailure:
    stderr = credentials.redact(str(err.stderr or "").strip())
    for prefix in ("stderr: ", "'", '"'):
        stderr = stderr.removeprefix(prefix)
    stderr = stderr.rstrip("'\"").strip()
    stderr = "\n".join(line for line in stderr.splitlines()
                       if line.strip() and not line.startswith("Cloning into"))
    hint = ""
    refused = ("Authentication failed", "could not read Username", "403", "401")
    if any(sign in stderr for sign in refused):
        state = "is it set? " if credentials.token is None else ""
        hint = (f"\n  hint: check the token in {credentials.source} ({state}it needs write "
                "access, contents: write, to the deployment repository)")
    return RuntimeFailure(f"error: {what}: {stderr}{hint}")
