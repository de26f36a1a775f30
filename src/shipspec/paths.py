"""Paths a spec names must stay inside the repository they belong to.

A spec is often written by one team and run by another's CI or by Argo CD on a shared
repo-server, so `../../etc/passwd`, `/root/.ssh` or a symlink out of the checkout must never
be read or written because a spec said so.
"""

from __future__ import annotations

import os
import posixpath
import stat


def repository_root(start: str) -> str:
    """The nearest directory at or above `start` holding `.git`; `start` itself if none."""
    directory = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return os.path.abspath(start)
        directory = parent


def link_on_the_way(root: str, relative: str) -> str | None:
    """The first part of `root`/`relative` below `root` that is a symbolic link, or None:
    what shipspec writes below a directory it is given never goes through one."""
    current = root
    for part in relative.split("/"):
        current = os.path.join(current, part)
        if os.path.islink(current):
            return current
    return None


def linked_to(root: str, relative: str) -> str | None:
    """Where `relative` leads, relative to `root`, when a part of it is a symbolic link
    (the file it names may be missing: a sparse checkout leaves out where a link points);
    None when it goes through none. Git commits a link as a link: a tool that writes a
    deployment file must be named the file itself."""
    if link_on_the_way(root, relative) is None:
        return None
    real_root = os.path.realpath(root)
    return os.path.relpath(os.path.realpath(os.path.join(real_root, relative)),
                           real_root).replace(os.sep, "/")


def file_or_link(root: str, relative: str) -> bool:
    """Whether a deployment file is at `relative`: a file, or a path through a link (which
    may lead where a sparse checkout left out), so that a tool can say where it leads."""
    return os.path.isfile(os.path.join(root, relative)) or linked_to(root, relative) is not None


def files_in(directory: str) -> list[str]:
    """The names of the files directly in `directory`, links followed as Argo CD's os.Stat
    follows them (a link to a directory or to nothing is no file), sorted; none where there
    is no such directory."""
    try:
        with os.scandir(directory) as entries:
            return sorted(entry.name for entry in entries if entry.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []


def through_link(given: str, real: str) -> str:
    """Why a deployment file named through a link (`linked_to`) cannot be bumped."""
    return (f"{given} in the deployment repository leads through a link to {real}: git "
            "would commit the link, not the file a bump writes")


def relative_path_problem(text: str) -> str | None:
    """Why `text` is not a clean path relative to a repository root, or None when it is."""
    if "\x00" in text or "\\" in text:
        return "must not contain backslashes or NUL characters"
    if text.startswith(("/", "~")) or (len(text) > 1 and text[1] == ":"):
        return "must be relative to the repository root, not absolute"
    # (measured only where it may be: a spec may list 100,000 paths)
    if ".." in text and (".." in posixpath.normpath(text).split("/") or ".." in text.split("/")):
        return "must not leave the repository ('..')"
    return None


class SymlinkGuard:
    """Answers "does this relative path leave `root` through a symlink?" for many paths.

    Walks each path's components from the root, stops at the first one that does not
    exist (nothing below it can be a link) and resolves only real symlinks; the answer for
    each prefix is cached, since modules share directories (`libs/common/`).
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.verdicts: dict[str, str] = {}  # absolute prefix → "absent" | "inside" | "escapes"

    def escapes(self, relative: str) -> bool:
        current = self.root
        separator = "" if current.endswith("/") else "/"  # as os.path.join, at a fifth the cost
        for part in relative.split("/"):
            if part in ("", "."):
                continue
            current = f"{current}{separator}{part}"
            separator = "/"
            verdict = self.verdicts.get(current) or self._verdict(current)
            self.verdicts[current] = verdict
            if verdict != "inside":
                return verdict == "escapes"
        return False

    def _verdict(self, path: str) -> str:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return "absent"
        if stat.S_ISLNK(mode) and not _below(self.real_root, os.path.realpath(path)):
            return "escapes"
        return "inside"


def covers(directory: str, path: str) -> bool:
    """Whether the "/"-separated relative `path` is `directory` itself or below it, as a
    module's paths take changed files ("" and "." being the root)."""
    directory = directory.rstrip("/")
    return directory in ("", ".") or path == directory or path.startswith(directory + "/")


def inside(root: str, path: str) -> bool:
    """True when `path`, symlinks resolved, is `root` or below it."""
    return _below(os.path.realpath(root), os.path.realpath(path))


def _below(real_root: str, real: str) -> bool:
    return real == real_root or real.startswith(real_root + os.sep)
