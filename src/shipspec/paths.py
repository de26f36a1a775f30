"""Paths a spec names must stay inside the repository they belong to.

A spec is often written by one team and run by another's CI or by Argo CD on a shared
repo-server, so `../../etc/passwd`, `/root/.ssh` or a symlink out of the checkout must never
be read or written because a spec said so.
"""

from __future__ import annotations

import os
import posixpath


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


def relative_path_problem(text: str) -> str | None:
    """Why `text` is not a clean path relative to a repository root, or None when it is."""
    if "\x00" in text or "\\" in text:
        return "must not contain backslashes or NUL characters"
    if text.startswith(("/", "~")) or (len(text) > 1 and text[1] == ":"):
        return "must be relative to the repository root, not absolute"
    if ".." in posixpath.normpath(text).split("/") or ".." in text.split("/"):
        return "must not leave the repository ('..')"
    return None


def escapes_through_symlink(root: str, relative: str) -> bool:
    """True when `relative` below `root` resolves outside it through a symlink on the way.

    The file itself need not exist: a linked directory on its path is enough to escape.
    """
    return not inside(root, os.path.join(root, relative))


def inside(root: str, path: str) -> bool:
    """True when `path`, symlinks resolved, is `root` or below it."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root + os.sep)
