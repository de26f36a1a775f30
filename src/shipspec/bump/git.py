"""The one door to git: clone, read and write files, commit, push, log.

Only this module runs git. A bump runs the git binary itself, a handful of commands (a
bump's floor is clone, commit, push); GitPython is imported only to read a file's text at
many commits for `history`, where its one `git cat-file --batch` process replaces a process
per commit (its import, 80 ms, cost a sixth of a bump when it cloned). A token never appears in
a remote URL, in `.git/config`, in logs or in error text: it reaches git as an
`http.extraHeader` passed through `GIT_CONFIG_*` environment variables, which only the git
processes started here see, and every message that leaves this module is redacted. SSH
remotes use git's usual mechanisms (ssh-agent, `GIT_SSH_COMMAND`).
"""

import base64
import os
import posixpath
import random
import re
import subprocess
import tempfile
import time
from collections.abc import Mapping
from typing import NamedTuple

from shipspec.errors import RuntimeFailure, note
from shipspec.files import MAX_YAML_BYTES, decoded, too_large
from shipspec.paths import SymlinkGuard, file_or_link, files_in, relative_path_problem
from shipspec.render import STALLED_AFTER  # a stalled transfer is cut off (see there)

# How git reports a ref that another writer changed first: non-fast-forward, fetch first
# or stale info when the other push landed before ours was checked; a lock or update failure
# when both arrived at the same moment; an atomic push fails as a whole with its first ref,
# and the server reports a lock it could not take in an atomic push as "atomic transaction
# failed" for every ref (receive-pack.c, execute_commands_atomic, git 2.39).
_MOVED = ("non-fast-forward", "fetch first", "stale info", "cannot lock ref", "failed to lock",
          "failed to update ref", "atomic push failed", "atomic transaction failed",
          "incorrect old value")

# Network failures, in git's, curl's and OpenSSH's words. A command that failed before the
# server answered its first request (the name, the connection or the TLS handshake failed,
# or a forge's load balancer answered 5xx or nothing for the refs) changed nothing there, and
# is run again, a push too. One cut off later is run again when it reads (clone, fetch,
# ls-remote, a partial clone's fetch of missing blobs); a push cut off may have landed, and
# sent again would be judged by a compare-and-swap against our own update: push_refs reads
# the server's refs first, and sends again what did not land. Three
# attempts, as actions/checkout v7 makes of its fetches and ls-remote (src/retry-helper.ts,
# git-command-manager.ts), with shorter pauses than its 10-20 s: a whole pipeline waits on
# its deploy. (Patterns, compiled by `re` when a command first fails.)
_UNREACHED = (
    r"unable to access '[^']*': (?:The requested URL returned error: 5\d\d|Empty reply"
    r"|Could not resolve|Failed to connect|Couldn't connect|Connection reset|Connection timed"
    r"|Operation timed out|Resolving timed out|Recv failure|Send failure|gnutls_handshake"
    r"|OpenSSL SSL_connect|Operation too slow)"
    r"|ssh: connect to host \S+ port \d+: |ssh: Could not resolve hostname"
    r"|kex_exchange_identification|ssh_exchange_identification")
_CUT_OFF = (r"RPC failed|early EOF|remote end hung up unexpectedly|unexpected disconnect"
            r"|Connection reset by peer|Connection closed by")
# ... unless the server answered 4xx: a refusal, which asking again does not change
_REFUSED = r"RPC failed; HTTP 4\d\d|returned error: 4\d\d"
NETWORK_ATTEMPTS = 3
# Seconds before the second attempt, three times as long before the third, each shortened by
# up to half at random: bumps that failed together do not all come back together.
_NETWORK_PAUSE = 2.0


def _network_failure(errors: str) -> str | None:
    """"unreached" or "cut off" (see above), from what git printed; None for a refusal or
    another failure."""
    if re.search(_REFUSED, errors):
        return None
    if re.search(_UNREACHED, errors):
        return "unreached"
    return "cut off" if re.search(_CUT_OFF, errors) else None


def _command(arguments: list[str]) -> str:
    """The git command `arguments` run, past the settings given before it (`-c a=b`)."""
    while arguments[:1] == ["-c"]:
        arguments = arguments[2:]
    return arguments[0] if arguments else ""


def _worth_another_attempt(arguments: list[str], errors: str) -> bool:
    failure = _network_failure(errors)
    return failure == "unreached" or (failure == "cut off" and _command(arguments) != "push")


def _failed_line(errors: str) -> str:
    """The line of git's errors that says what failed on the network."""
    lines = [line.strip() for line in errors.splitlines() if line.strip()]
    found = [line for line in lines if re.search(f"{_UNREACHED}|{_CUT_OFF}", line)]
    return (found or lines or ["no reason given"])[0]


_URL_CREDENTIALS = re.compile(r"://[^/@\s]+@")
_AUTHORIZATION = re.compile(r"(?i)(authorization:\s*(?:\w+\s+)?)\S+")
MIN_TOKEN_LENGTH = 8  # shorter than any token a forge issues


# Repositories made here start without git's template: copying its sample hooks was most of
# `git init` (6-9 ms of CPU on every bump, 2 ms without), and hooks from a user's template
# would run in pushes (commits are made with --no-verify anyway).
NO_TEMPLATE = "--template="

# The repositories made here are shipspec's, not the user's, whose global git config still
# applies (a proxy, a CA, `url.insteadOf` must): but hooks of a global `core.hooksPath`
# (a secret scanner's pre-push, say) ran in every push of the queue and could refuse it,
# and a global `push.gpgSign` fails on servers that take no signed pushes. Given as `-c`,
# which no file overrides. (A global `commit.gpgSign` is countermanded in commit().) They
# are thrown away after one bump, so they need no maintenance: every commit and fetch
# started `git maintenance run --auto` after its work, another process each. Files are
# committed as a bump writes them: a global attributes file saying `text` turned a CRLF
# values file's every line into LF (the repository's own .gitattributes still apply). And
# output is read, not shown: a global `log.showSignature` put each signed commit's
# verification in the lines `git log --format` prints (diff() turns off the display
# settings of `git diff`, commit() the user's message cleanup).
_OURS_ALONE = ("-c", "core.hooksPath=/dev/null", "-c", "push.gpgSign=false",
               "-c", "maintenance.auto=false", "-c", "core.attributesFile=/dev/null",
               "-c", "log.showSignature=false")

# Variables that point git at another repository than the one it runs in (`git rev-parse
# --local-env-vars`, less the config ones, which a user may mean for every git): a bump
# run from a git hook inherits GIT_DIR, and its scratch repositories' objects and refs went
# into the hook's repository.
_LOCAL_REPO_ENV = frozenset((
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE", "GIT_INDEX_FILE", "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE", "GIT_PREFIX", "GIT_INTERNAL_SUPER_PREFIX", "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR"))


def working_directory_environment() -> dict[str, str]:
    """This process's environment without the variables above: git run with it works on
    the repository of its working directory."""
    return {name: value for name, value in os.environ.items() if name not in _LOCAL_REPO_ENV}


# git knows the empty tree (SHA-1) in every repository without storing it, and sends it
# along when a commit that names it is pushed.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class Credentials(NamedTuple):
    token: str | None
    source: str  # where the token came from, for messages: "$DEPLOY_TOKEN"

    def settings(self) -> list[tuple[str, str]]:
        """The git settings that send the token (see _run for how they reach git)."""
        if not self.token:
            return []
        # git sends http.extraHeader with every request of the process, to the URL a
        # redirect of its first one named too (git 2.39 checked; curl itself drops it on
        # the redirect): with the token, no redirect is followed.
        return [("http.extraHeader", "Authorization: Basic " + self._basic()),
                ("http.followRedirects", "false")]

    def redact(self, text: str) -> str:
        """`text` without what can be a credential (see `redacted`), this token included
        where it is long enough to be one: a one-character value would mangle every URL."""
        text = redacted(text)
        if self.token:
            # as written, and escaped as a str's or bytes' repr quotes it (urllib's error
            # for a header value it refuses quotes the bytes)
            escaped = (repr(self.token)[1:-1], repr(self.token.encode())[2:-1])
            for secret in (self._basic(), self.token, *escaped):
                if len(secret) >= MIN_TOKEN_LENGTH:
                    text = text.replace(secret, "***")
        return text

    def _basic(self) -> str:
        # GitHub and most git servers take a token as the password of basic auth.
        return base64.b64encode(f"x-access-token:{self.token}".encode()).decode()


# Settings given to git in the environment (GIT_CONFIG_COUNT, then GIT_CONFIG_KEY_<n> and
# GIT_CONFIG_VALUE_<n>: git 2.31+). A CI gives git its proxy or its url.insteadOf this way
# (pre-commit and Renovate pass them on for that reason), and setting the count anew for
# the token's header dropped them: a bump behind such a proxy could not reach its server.
# More than this many is taken for a mistake, which git reports itself.
_MOST_SETTINGS = 1000


def config_settings(environment: Mapping[str, str]) -> list[tuple[str, str]]:
    """The settings `environment` gives git, in order."""
    count = environment.get("GIT_CONFIG_COUNT", "")
    if not count.isdigit() or int(count) > _MOST_SETTINGS:
        return []
    return [(environment.get(f"GIT_CONFIG_KEY_{n}", ""),
             environment.get(f"GIT_CONFIG_VALUE_{n}", "")) for n in range(int(count))]


def config_variables(settings: list[tuple[str, str]]) -> dict[str, str]:
    """The environment variables that give git `settings`."""
    variables = {"GIT_CONFIG_COUNT": str(len(settings))}
    for n, (key, value) in enumerate(settings):
        variables[f"GIT_CONFIG_KEY_{n}"] = key
        variables[f"GIT_CONFIG_VALUE_{n}"] = value
    return variables


def redacted(text: str) -> str:
    """`text` without the user part of a URL or the value of an Authorization header."""
    return _AUTHORIZATION.sub(r"\1***", _URL_CREDENTIALS.sub("://***@", text))


class Author(NamedTuple):
    name: str
    email: str

    def environment(self) -> dict[str, str]:
        return {"GIT_AUTHOR_NAME": self.name, "GIT_AUTHOR_EMAIL": self.email,
                "GIT_COMMITTER_NAME": self.name, "GIT_COMMITTER_EMAIL": self.email}


class RefUpdate(NamedTuple):
    """One ref of the remote to set (`new`, a local revision) or delete (`new` None)."""

    ref: str
    new: str | None
    # The value the remote must still hold for the update to land: an object name, "" for
    # "must not exist", None for git's usual rule (a branch only moves forward).
    expect: str | None = None


class Repository:
    """A local git repository and the remote it talks to."""

    def __init__(self, directory: str, remote: str, credentials: Credentials) -> None:
        self.directory = directory
        self.remote = remote
        self.credentials = credentials

    def _named(self) -> list[str]:
        """How git is told which repository this is, beyond the directory it runs in."""
        return []

    def _run(self, arguments: list[str], env: dict[str, str] | None = None,
             given: str | None = None) -> tuple[int, str, str]:
        """Exit code, output and errors of git (`given` on its standard input); never
        through a shell, the token only in the environment. A network failure is tried
        again (see _UNREACHED), up to NETWORK_ATTEMPTS in all. Settings given to git in
        the environment: this process's first, then the token's, then `env`'s (a signing
        key's)."""
        inherited = working_directory_environment()
        call = env or {}
        environment = {
            **inherited, "GIT_TERMINAL_PROMPT": "0", **call,
            **config_variables([*config_settings(inherited), *self.credentials.settings(),
                                *config_settings(call)]),
            # Paths come from the spec: `:(exclude)x` or `:(top)x` is a file name there,
            # never pathspec magic (`git add -- ':(exclude)x'` adds the rest)
            "GIT_LITERAL_PATHSPECS": "1"}
        for attempt in range(1, NETWORK_ATTEMPTS + 1):
            completed = subprocess.run(  # noqa: S603 - an argument list, no shell
                ["git", *_OURS_ALONE, "-c", "http.lowSpeedLimit=1",  # noqa: S607
                 "-c", f"http.lowSpeedTime={STALLED_AFTER}", *self._named(), *arguments],
                cwd=self.directory,
                capture_output=True,
                encoding="utf-8", errors="replace", check=False, input=given,
                stdin=subprocess.DEVNULL if given is None else None, env=environment)
            if (not completed.returncode or attempt == NETWORK_ATTEMPTS
                    or not _worth_another_attempt(arguments, completed.stderr)):
                break
            self._pause(_command(arguments), completed.stderr, attempt)
        return completed.returncode, completed.stdout, completed.stderr

    def _pause(self, command: str, errors: str, attempt: int, landed: str = "") -> None:
        """Say on stderr that git `command` failed (`landed`: what its refs show of a
        push), and wait before asking again: longer after each attempt, by up to half less
        at random, so that bumps that failed together do not all come back together."""
        spread = 1 - random.random() / 2  # noqa: S311 - a pause, not a secret
        pause = _NETWORK_PAUSE * 3 ** (attempt - 1) * spread
        self._failed(command, errors, f"{landed}; asking again in {pause:.1f} s ({attempt} of "
                     f"{NETWORK_ATTEMPTS} attempts made)")
        time.sleep(pause)

    def _failed(self, command: str, errors: str, then: str) -> None:
        """Say on stderr that git `command` failed on the network, with the line of `errors`
        that says why, and `then`."""
        failed = self.credentials.redact(_failed_line(errors))
        note(f"note: git {command} failed: {failed[:SERVER_LINE]}{then}")

    def _git(self, *arguments: str, env: dict[str, str] | None = None,
             given: str | None = None) -> str:
        code, output, errors = self._run(list(arguments), env, given)
        if code:
            raise _failure(errors, self.credentials, f"git {arguments[0]} failed")
        return output.removesuffix("\n")

    def notes(self, messages: list[str], author: Author) -> list[str]:
        """Commits with an empty tree and no parent that carry `messages`: the objects the
        queue (see queue.py) keeps its intents and receipts in. One takes one git process;
        more take two, however many: a lock holder writes a receipt for every other bump
        of its batch, and a commit-tree for each cost it a tenth of its time."""
        if len(messages) < 2:
            # the message on standard input: an argument may hold 128 KiB (Linux's
            # MAX_ARG_STRLEN), and the intent of a bump of 300 modules is longer
            return [self._git("commit-tree", EMPTY_TREE, env=author.environment(),
                              given=message) for message in messages]
        # the identity as git cleans it for commit-tree, then every object in one process
        ident = self._git("var", "GIT_COMMITTER_IDENT", env=author.environment())
        with tempfile.TemporaryDirectory(prefix="shipspec-notes-") as directory:
            files = [os.path.join(directory, str(number)) for number in range(len(messages))]
            for path, message in zip(files, messages, strict=True):
                with open(path, "w", encoding="utf-8") as stream:
                    stream.write(f"tree {EMPTY_TREE}\nauthor {ident}\ncommitter {ident}\n\n"
                                 f"{message}")
            return self._git("hash-object", "-t", "commit", "-w", "--no-filters", "--",
                             *files).splitlines()

    def under(self, prefix: str) -> dict[str, str]:
        """{ref: object name} of the remote's refs under `prefix`."""
        return _listed(self._git("ls-remote", self.remote, f"{prefix}*"), prefix)

    def push_refs(self, updates: list[RefUpdate], atomic: bool = False,
                  what: str = "git push failed", *, refused_fails: bool = False,
                  ) -> dict[str, str]:
        """Update refs of the remote in one push (all or none when `atomic`). For each ref:
        "ok"; "moved" when another writer changed it first (the caller may retry); or
        "refused: <reason>" when the server's rules forbid it, an error instead when
        `refused_fails`. Never forces past `expect`. A push cut off is read back from the
        server's refs, and what did not land is sent again (see below)."""
        statuses: dict[str, str] = {}
        for attempt in range(1, NETWORK_ATTEMPTS + 1):
            leases = [f"--force-with-lease={u.ref}:{u.expect}" for u in updates
                      if u.expect is not None]
            refspecs = [f"{u.new or ''}:{u.ref}" for u in updates]
            code, output, errors = self._run(["push", "--porcelain",
                                              *(["--atomic"] if atomic else []), *leases,
                                              self.remote, *refspecs])
            statuses.update(_push_statuses(output))
            updates = [u for u in updates if u.ref not in statuses]  # no verdict yet
            if (not code or not updates or attempt == NETWORK_ATTEMPTS
                    or _network_failure(errors) != "cut off"):
                break
            # Cut off once the server had the push (its answer lost, or the connection
            # dropped as it worked): it may have landed, and sent again as it was, each
            # compare-and-swap would fail against our own update. The remote's refs tell;
            # what did not land is sent again.
            pending = self._not_landed(updates, errors, what)
            landed = [u for u in updates if u not in pending]
            statuses.update({u.ref: "ok" for u in landed})
            updates = pending
            if not updates:
                self._failed("push", errors, "; the server's refs show that it landed")
                break
            self._pause("push", errors, attempt, "; the server's refs show that it landed in "
                        "part" if landed else "; the server's refs show that it did not land")
        if code and updates:  # refs without a verdict: the push failed (auth, network)
            raise _failure(errors, self.credentials, what)
        refused = [f"{ref} ({status.removeprefix('refused: ')})"
                   for ref, status in statuses.items() if status.startswith("refused")]
        if refused_fails and refused:
            # with what the server said of them (which rule: GitHub's "Changes must be made
            # through a pull request", "Commits must have verified signatures")
            said = "".join(f"\n    {line}"
                           for line in _server_lines(self.credentials.redact(errors)))
            raise RuntimeFailure(
                "error: the deployment repository refused the push to " + ", ".join(refused)
                + (f"; the server said:{said}" if said else "")
                + "\n  hint: is the branch protected against direct pushes? then use "
                  "--pull-request")
        return statuses

    def _not_landed(self, updates: list[RefUpdate], errors: str,
                    what: str) -> list[RefUpdate]:
        """Those of `updates` that the remote's refs show did not land: a ref landed that
        holds its new object, or is gone when it was to be deleted. Reading them failing
        too, the push's own failure is raised."""
        named = [u.new for u in updates if u.new is not None]
        try:
            objects = dict(zip(named, self._git("rev-parse", *named).split(), strict=True))
            listed = self._git("ls-remote", self.remote, *(u.ref for u in updates))
        except RuntimeFailure:
            raise _failure(errors, self.credentials, what) from None
        remote = {ref: oid for oid, _, ref in
                  (line.partition("\t") for line in listed.splitlines())}
        return [u for u in updates
                if remote.get(u.ref) != (None if u.new is None else objects[u.new])]


class Refs(Repository):
    """The refs of a remote repository, read and written without a clone: through a scratch
    repository that holds only the small commits written or fetched here."""

    # `git ls-remote` asks the server for every ref and matches a pattern itself
    # (builtin/ls-remote.c sends no ref-prefix for patterns): on a GitHub repository with
    # thousands of pull requests (two refs each), every poll of a waiting bump would list
    # them all. Past this many refs, `under` fetches the prefix instead: protocol v2 sends
    # a fetch's refspec as a ref-prefix, so the server lists the queue's refs alone. Below
    # it, ls-remote is one git process instead of two (fetch, then for-each-ref).
    MANY_REFS = 1000

    def __init__(self, directory: str, remote: str, credentials: Credentials) -> None:
        super().__init__(directory, remote, credentials)
        self.many_refs = False  # learnt from the first listing
        self.fetched: set[str] = set()  # the remote's refs that `under` fetched here

    @classmethod
    def open(cls, url: str, directory: str, credentials: Credentials) -> "Refs":
        # What `git init --bare --template=` makes, made here: every waiting bump opens
        # one, and a git process costs ~2 ms of CPU, most of it the kernel starting it
        # (16 bumps at once share 2 cores).
        os.mkdir(directory)
        for subdirectory in ("objects", "refs"):
            os.mkdir(os.path.join(directory, subdirectory))
        with open(os.path.join(directory, "HEAD"), "w", encoding="utf-8") as head:
            head.write("ref: refs/heads/main\n")
        with open(os.path.join(directory, "config"), "w", encoding="utf-8") as config:
            config.write("[core]\n\trepositoryformatversion = 0\n\tbare = true\n")
        return cls(directory, _url(url), credentials)

    def _named(self) -> list[str]:
        # Named (git runs in it: "."), not found from the working directory: git refuses
        # to find a bare repository that way where safe.bareRepository is `explicit` (git
        # 2.38+), which security policies set on runners against repositories buried in
        # others' files.
        return ["--git-dir=."]

    def under(self, prefix: str, fetch: bool = False) -> dict[str, str]:
        """{ref: object name} of the remote's refs under `prefix`; with `fetch`, by fetching
        them and their objects here whatever the number of refs (for a lock holder, which
        reads the queued intents next: listing them first cost it a round trip, and on a
        server with many refs, its first listing is of every ref)."""
        if self.many_refs or fetch:
            self._fetch([f"+{prefix}*:{prefix}*"], prune=True)
            # for-each-ref matches a prefix up to a slash, or a whole name
            listed = _listed(self._git("for-each-ref", "--format=%(objectname)%09%(refname)",
                                       prefix), prefix)
            self.fetched = {ref for ref in self.fetched if not ref.startswith(prefix)}
            self.fetched.update(listed)
            return listed
        output = self._git("ls-remote", self.remote)  # every ref, as the server sent them
        self.many_refs = output.count("\n") >= self.MANY_REFS
        return _listed(output, prefix)

    def _fetch(self, refspecs: list[str], prune: bool = False) -> None:
        self._git("fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
                  *(["--prune"] if prune else []), self.remote, *refspecs)

    def messages(self, refs: list[str]) -> dict[str, str]:
        """{object name: message} of the commits at `refs` of the remote: refs written once
        (the queue's intents and receipts), so that a copy fetched earlier is the same."""
        if not refs:
            return {}
        # Listed by fetching, they are here: fetching again cost a lock holder a round trip
        # before it read the queue, and (past MANY_REFS) a waiting bump another once its
        # receipt came.
        missing = [ref for ref in refs if ref not in self.fetched]
        if missing:
            self._fetch([f"+{ref}:{ref}" for ref in missing])
        output = self._git("log", "--no-walk=unsorted", "--format=%H%x00%B%x1e", *refs)
        messages = {}
        for record in output.split("\x1e"):
            if record.strip():
                oid, message = record.lstrip("\n").split("\x00", 1)
                messages[oid] = message
        return messages


class Checkout(Repository):
    """A working copy of one branch of the deployment repository."""

    def __init__(self, directory: str, credentials: Credentials) -> None:
        super().__init__(directory, "origin", credentials)
        self.directories: list[str] | None = None  # of a sparse checkout
        self.root = directory
        self.guard = SymlinkGuard(self.root)

    @classmethod
    def clone(cls, url: str, branch: str, directory: str, credentials: Credentials,
              paths: list[str] | None = None, history: bool = False) -> "Checkout":
        """Clone only what is needed: one branch; without history unless asked; with the
        blobs of `paths` only, where the server can filter (others ignore the filter)."""
        options = [NO_TEMPLATE, f"--branch={branch}", "--single-branch", "--filter=blob:none",
                   *(["--no-checkout"] if paths is not None else []),
                   *([] if history else ["--depth=1"])]
        parent = Repository(os.path.dirname(os.path.abspath(directory)), "", credentials)
        code, _, errors = parent._run(["clone", "--quiet", *options, "--", _url(url),
                                       directory])
        if code:
            raise _failure(errors, credentials, f"cannot clone {url} (branch {branch})")
        checkout = cls(directory, credentials)
        if paths is not None:
            # Cone mode with a sparse index: only the targets' directories are checked out,
            # and the index holds just those (20,000 files make a 2.7 MB index otherwise,
            # rewritten on every retry of a race).
            checkout.directories = _directories(paths)
            checkout._git("sparse-checkout", "set", "--cone", "--sparse-index",
                          "--end-of-options", *checkout.directories)
            # HEAD is the branch already (--branch): nothing from the spec is an argument
            # that git could read as an option.
            checkout._git("checkout", "HEAD")
        return checkout

    def include(self, paths: list[str]) -> None:
        """Check out the directories of `paths` too, in a sparse checkout."""
        if self.directories is None:
            return  # everything is checked out
        more = [path for path in _directories(paths) if path not in self.directories]
        if more:
            self._git("sparse-checkout", "add", "--end-of-options", *more)
            self.directories += more

    # --- files -------------------------------------------------------------------------------

    def _path(self, relative: str) -> str:
        # Paths come from a checked spec, or from a request another bump queued (queue.py).
        problem = relative_path_problem(relative)
        if problem:
            raise RuntimeFailure(f"error: {relative}: a path in the deployment repository "
                                 f"{problem}; refusing to read or write it")
        if self.guard.escapes(relative):
            raise RuntimeFailure(f"error: {relative} is a link that leads outside the deployment "
                                 "repository; refusing to read or write it")
        return os.path.join(self.root, relative)

    def exists(self, relative: str) -> bool:
        """A file is there, or a link: reading a link is refused with what it leads to
        (request.py)."""
        self._path(relative)  # refuses a path out of the repository
        return file_or_link(self.root, relative)

    def read(self, relative: str) -> str:
        """The file's text, CRLF line endings and all; refused past MAX_YAML_BYTES before
        more is read (a deployment repository's file can be anything)."""
        with open(self._path(relative), "rb") as stream:
            raw = stream.read(MAX_YAML_BYTES + 1)
        if len(raw) > MAX_YAML_BYTES:
            raise too_large(relative)
        return decoded(raw, relative)

    def names_in(self, relative: str) -> list[str]:
        """The names of the files directly in a directory (paths.files_in)."""
        return files_in(self._path(relative))

    def write(self, relative: str, text: str) -> None:
        with open(self._path(relative), "w", encoding="utf-8", newline="") as stream:
            stream.write(text)

    def diff(self) -> str:
        """The change, as `git diff` prints it with no user's settings: no external diff
        tool or textconv filter runs, no colour, the usual a/ and b/ prefixes."""
        return self._git("diff", "--no-ext-diff", "--no-textconv", "--no-color",
                         "--src-prefix=a/", "--dst-prefix=b/", "--no-relative")

    # --- history -----------------------------------------------------------------------------

    def commit(self, message: str, author: Author, paths: list[str],
               signed: dict[str, str] | None = None) -> str:
        """Commit the changed `paths` (the caller only commits what it changed); `signed` is
        the environment that makes git sign it (bump/signing.py)."""
        # Staged first, then committed without a pathspec: `git commit -- paths` expands the
        # sparse index to all 20,000 entries of a big repository, on every retry of a race.
        self._git("add", "--", *paths)
        # Signed as the spec says, and only then: a user's `commit.gpgSign` asked gpg for
        # their key, which failed where it is locked or absent (commit-tree ignores it).
        # --cleanup as git's default for a message from a file: a global commit.cleanup of
        # `strip` removed the lines of a message that start with '#'
        self._git("commit", "--quiet", "--no-verify", "--cleanup=whitespace",
                  "--file=-",  # as notes(): not argv
                  *([] if signed else ["--no-gpg-sign"]),
                  env={**author.environment(), **(signed or {})}, given=message)
        return self.head()

    def push(self, branch: str) -> bool:
        """Push HEAD to `branch`; False when someone pushed first (never forces)."""
        ref = f"refs/heads/{branch}"
        statuses = self.push_refs([RefUpdate(ref, "HEAD")], refused_fails=True)
        return statuses[ref] == "ok"

    def head(self) -> str:
        return self._git("rev-parse", "HEAD")

    def proposes_same(self, branch: str) -> bool:
        """Whether the remote's `branch` holds the files HEAD holds, on the same parent:
        the same change, whenever and by whom it was committed."""
        local = "refs/shipspec/proposed"
        self._git("fetch", "--quiet", "--depth=1", "--no-tags", "--no-write-fetch-head",
                  self.remote, f"+refs/heads/{branch}:{local}")
        return _tree_and_parents(self, local) == _tree_and_parents(self, "HEAD")

    def files_on(self, branches: list[str], paths: list[str]) -> dict[tuple[str, str], str]:
        """The text of each of `paths` on each of the remote's `branches` that has it, by
        (branch, path), without checking anything out: one fetch of the branches' tips (no
        blobs), an ls-tree each, one fetch of the blobs wanted, a cat-file each."""
        local = {branch: f"refs/shipspec/proposals/{n}" for n, branch in enumerate(branches)}
        if not local or not paths:
            return {}
        self._git("fetch", "--quiet", "--depth=1", "--filter=blob:none", "--no-tags",
                  "--no-write-fetch-head", self.remote,
                  *(f"+refs/heads/{branch}:{ref}" for branch, ref in local.items()))
        blobs: dict[tuple[str, str], str] = {}
        for branch, ref in local.items():
            # `<mode> SP <type> SP <object> TAB <path>` NUL, for the paths that exist there
            for entry in self._git("ls-tree", "-z", ref, "--", *paths).split("\0"):
                info, _, path = entry.partition("\t")
                if info.split(" ")[1:2] == ["blob"]:
                    blobs[branch, path] = info.split(" ")[2]
        wanted = sorted(set(blobs.values()))
        if not wanted:
            return {}
        self._fetch_objects(wanted)
        # read as text: only the tag in it is wanted, whatever its line endings
        texts = {blob: self._git("cat-file", "blob", blob) for blob in wanted}
        return {key: texts[blob] for key, blob in blobs.items()}

    def refresh(self, branch: str) -> None:
        """Move to the remote tip of `branch`, dropping the local commit."""
        self._git("fetch", "--quiet", "--depth", "1", "origin", f"refs/heads/{branch}")
        self._git("reset", "--quiet", "--hard", "FETCH_HEAD")

    def log(self, relative: str) -> list[tuple[str, str, str]]:
        """(commit, committer's ISO date, author) of the commits of this branch that changed
        a file, newest first. Only the branch's own line (first parents): a merged pull
        request is the merge commit, when the change reached the branch, never the commit
        of its own branch, made when it was only proposed."""
        output = self._git("log", "--first-parent", "--format=%H%x00%cI%x00%an", "--",
                           relative)
        entries = []
        for line in output.splitlines():
            commit, date, author = line.split("\x00")
            entries.append((commit, date, author))
        return entries

    def texts(self, commits: list[str], relative: str) -> list[str | None]:
        """The file's text at each commit (None where it is not a file), read through
        GitPython's object database: one `git cat-file --batch` for every commit."""
        import git

        self._fetch_versions(relative)
        repo = git.Repo(self.root)
        texts: list[str | None] = []
        try:
            for commit in commits:
                try:
                    blob = repo.commit(commit).tree / relative
                except KeyError:
                    texts.append(None)
                    continue
                data = blob.data_stream.read() if blob.type == "blob" else None
                texts.append(data.decode("utf-8", "replace") if data is not None else None)
        except (git.GitCommandError, ValueError) as err:
            raise _failure(str(err), self.credentials, f"cannot read {relative}'s history"
                           ) from None
        finally:
            repo.close()
        return texts

    def _fetch_versions(self, relative: str) -> None:
        """Every version of the file on the branch's line, fetched at once. The clone has
        no blobs (--filter=blob:none), and git fetches a missing one when it is read, one
        fetch each: the history of a values file bumped 500 times spent 10.6 s in 500
        fetches."""
        raw = self._git("log", "--first-parent", "--diff-merges=first-parent", "--raw",
                        "--no-abbrev", "--format=", "--", relative)
        # `:<mode> <mode> <old blob> <new blob> <status>\t<path>`; a deletion's new blob is 0s
        new = (line.split()[3] for line in raw.splitlines() if line.startswith(":"))
        blobs = sorted({blob for blob in new if blob.strip("0")})
        if blobs:
            self._fetch_objects(blobs)

    def _fetch_objects(self, names: list[str]) -> None:
        """The objects named, in one fetch: the one git makes for a missing object when it
        is read (promisor-remote.c, fetch_objects, git v2.39), made for all of them."""
        self._git("-c", "fetch.negotiationAlgorithm=noop", "fetch", "--quiet", self.remote,
                  "--no-tags", "--no-write-fetch-head", "--recurse-submodules=no",
                  "--filter=blob:none", "--stdin",
                  given="\n".join(names) + "\n")


def _listed(output: str, prefix: str) -> dict[str, str]:
    """{ref: object name} of the lines `<object name><TAB><ref>` for refs under `prefix`."""
    refs = {}
    for line in output.splitlines():
        oid, ref = line.split("\t")
        if ref.startswith(prefix):  # a pattern also matches the tail of longer names
            refs[ref] = oid
    return refs


def _tree_and_parents(repository: Repository, revision: str) -> list[str]:
    # cat-file shows the parents of a shallow clone's commit, which log would hide
    header = repository._git("cat-file", "commit", revision).split("\n\n", 1)[0]
    return [line for line in header.splitlines() if line.startswith(("tree ", "parent "))]


# At most this many of the server's lines, each cut to SERVER_LINE characters: a server
# (or a hook on it) can say anything, at any length.
SERVER_LINES, SERVER_LINE = 20, 300
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _server_lines(errors: str) -> list[str]:
    """What the server and its hooks said (git prints it as `remote: ...` lines), without
    empty lines and control characters (a terminal's escape sequences)."""
    said = [_CONTROL.sub("", line.removeprefix("remote:")).strip()
            for line in errors.splitlines() if line.startswith("remote:")]
    said = [line[:SERVER_LINE] for line in said if line]
    return said[:SERVER_LINES] + ([f"({len(said) - SERVER_LINES} more lines)"]
                                  if len(said) > SERVER_LINES else [])


def _push_statuses(porcelain: str) -> dict[str, str]:
    """{ref: "ok" | "moved" | "refused: reason"} from `git push --porcelain` output, whose
    lines are "<flag> TAB <from>:<to> TAB <summary>" ("!" flags a ref that did not land)."""
    statuses = {}
    for line in porcelain.splitlines():
        fields = line.split("\t")
        if len(fields) != 3 or ":" not in fields[1]:
            continue
        flag, refspec, summary = fields
        ref = refspec.split(":", 1)[1]
        if flag != "!":
            statuses[ref] = "ok"
        elif any(sign in summary for sign in _MOVED):
            statuses[ref] = "moved"
        else:
            statuses[ref] = f"refused: {summary}"
    return statuses


def _directories(paths: list[str]) -> list[str]:
    return sorted({posixpath.dirname(path) for path in paths} - {""})


def _url(url: str) -> str:
    # A local path is cloned by hard links without honouring depth or filters; say file://.
    return f"file://{os.path.abspath(url)}" if os.path.isdir(url) else url


# How git (http.c) reports a redirect it did not follow: "The requested URL returned
# error: 301", and likewise 302, 303, 307 and 308.
_REDIRECTED = "The requested URL returned error: 30"


def _failure(stderr: str, credentials: Credentials, what: str) -> RuntimeFailure:
    stderr = credentials.redact(stderr.strip())
    for prefix in ("stderr: ", "'", '"'):
        stderr = stderr.removeprefix(prefix)
    stderr = stderr.rstrip("'\"").strip()
    stderr = "\n".join(line for line in stderr.splitlines()
                       if line.strip() and not line.startswith("Cloning into"))
    hint = ""
    # (git's words; a bare "403" also matched URLs with those digits, such as a port)
    refused = ("Authentication failed", "could not read Username", "returned error: 403",
               "returned error: 401")
    network = _network_failure(stderr)
    if any(sign in stderr for sign in refused):
        state = "is it set? " if credentials.token is None else ""
        hint = (f"\n  hint: check the token in {credentials.source} ({state}it needs write "
                "access, contents: write, to the deployment repository)")
    elif _REDIRECTED in stderr:
        hint = ("\n  hint: the server answers with a redirect, which shipspec does not follow "
                "with the token: give the URL it redirects to (the URL ending in .git, or a "
                "renamed repository's new name)")
    elif "not found in upstream" in stderr:  # git's words (clone.c) for an absent branch
        hint = ("\n  hint: push the branch to the deployment repository first, or correct "
                "it (the environment's branch in shipspec.yaml, or --branch)")
    elif network == "unreached":
        hint = (f"\n  hint: the server was not reached in {NETWORK_ATTEMPTS} attempts: check "
                "the URL and the network, or rerun the job once the server is back")
    elif network == "cut off":
        hint = ("\n  hint: the connection broke off, and asking again did not help (a push "
                "is sent again only where the server's refs show that it did not land): "
                "rerun the job once the server is back; a bump whose tags are there already "
                "changes nothing")
    return RuntimeFailure(f"error: {what}: {stderr}{hint}")
