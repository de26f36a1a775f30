"""The files a change touches: git's lists of changed files read back, and whether they
touch a module's paths. `plan` decides a GitHub Actions run's builds with them, `tag` whether
a Tekton pull request run builds its module, `dispatch` which modules' Tekton runs start."""

from __future__ import annotations

import re

# git's C-style quoting (quote.c: quote_c_style, read back by unquote_c_style): what
# `git diff --name-only` prints for a path holding a byte above 0x7f (core.quotePath is on
# by default: any name in Korean, or with an accent), a control character, `"` or `\`.
_GIT_QUOTED = re.compile(r'"((?:[^"\\]|\\(?:[abtnvfr"\\]|[0-3][0-7]{2}))*)"')
_GIT_ESCAPE = re.compile(rb'\\(?:([abtnvfr"\\])|([0-3][0-7]{2}))')
_GIT_ESCAPED = {b"a": b"\a", b"b": b"\b", b"t": b"\t", b"n": b"\n", b"v": b"\v",
                b"f": b"\f", b"r": b"\r", b'"': b'"', b"\\": b"\\"}


def changed_files(text: str) -> list[str]:
    """The paths of a --changed-files list: NUL-separated (`git diff -z`, paths verbatim) or
    one a line, where a path git quoted is read back as git wrote it."""
    if "\0" in text:
        return [path for path in text.split("\0") if path]
    return [_unquoted(line.strip()) for line in text.splitlines() if line.strip()]


def _unquoted(line: str) -> str:
    quoted = _GIT_QUOTED.fullmatch(line)
    if not quoted:  # not git's quoting: the path as it is
        return line
    raw = _GIT_ESCAPE.sub(lambda escape: _GIT_ESCAPED[escape[1]] if escape[1]
                          else bytes([int(escape[2], 8)]), quoted[1].encode())
    return raw.decode("utf-8", errors="surrogateescape")


def touched(files: list[str], deployment_files: frozenset[str] = frozenset()) -> set[str]:
    """Every changed file but the deployment files (Module.deployment_files), and every
    directory above one (what stands before each '/'). Made once: matching each module's
    paths against every file took 12 s for 2,000 modules and a push of 20,000 files that
    none of them holds."""
    if deployment_files:
        files = [file for file in files if file not in deployment_files]
    found = set(files)
    for file in files:
        slash = file.find("/")
        while slash >= 0:
            found.add(file[:slash])
            slash = file.find("/", slash + 1)
    return found


def touches(paths: tuple[str, ...], changed: set[str]) -> bool:
    """True when a file of `changed` (see touched) is one of `paths` or below one; no
    paths means every change."""
    return not paths or any(path.rstrip("/") in changed for path in paths)


def deploys_only(files: list[str], deployment_files: frozenset[str]) -> bool:
    """Whether a change is of deployment files alone: a deploy's own commit (see
    Module.deployment_files), which builds nothing, even a module without paths. An empty
    change is not: a commit pushed empty, to build again, builds those modules."""
    return bool(files) and all(file in deployment_files for file in files)


def builds(paths: tuple[str, ...], deployment_files: frozenset[str], files: list[str]) -> bool:
    """Whether a change of `files` builds a module of these paths and deployment files (see
    Module.deployment_files): files below its paths, but for a deploy's own commit."""
    return not deploys_only(files, deployment_files) and touches(
        paths, touched(files, deployment_files))
