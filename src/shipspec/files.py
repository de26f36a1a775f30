"""Reading and writing files: text as it is (line endings kept); writes whole or not at all."""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import stat
from collections.abc import Mapping

from shipspec.errors import Location, RuntimeFailure, SpecError


def write_text(path: str, text: str) -> None:
    """Replace `path` with `text` atomically: readers see the old file or the new one."""
    write_texts({path: text})


def write_texts(texts: Mapping[str, str]) -> None:
    """Replace each path with its text, all or none: every text is written to a new file
    beside its own first, and only once all are written are they renamed over theirs. A
    write that fails (a full disk) removes the new files, and the directories made for
    them, and leaves every file as it was.

    A file that was there keeps its permissions; a new one gets those the umask gives (0644
    under the usual 022), as any editor or shell redirect would make it. Never a symbolic
    link: the rename would replace the link (to a values file environments share, say)
    with a file of its own, and the file it leads to would never change."""
    staged: list[tuple[str, str]] = []  # (new file, the path it replaces)
    made: list[str] = []  # directories made for them, parents first
    try:
        for path, text in texts.items():
            staged.append((_staged(path, text, made), path))
        for temporary, path in staged:
            try:
                os.replace(temporary, path)
            except OSError as err:  # not for want of space: a rename needs none
                raise _cannot_write(path, err) from None
    except BaseException:  # Ctrl-C too: no stray file beside the user's
        for temporary, _ in staged:
            with contextlib.suppress(FileNotFoundError):  # renamed already
                os.unlink(temporary)
        for directory in reversed(made):
            with contextlib.suppress(OSError):  # not empty: a rename reached it
                os.rmdir(directory)
        raise


def _staged(path: str, text: str, made: list[str]) -> str:
    """A new file beside `path` holding `text`, with the mode `path` has; the directories
    it needed are added to `made`."""
    _refuse_directory(path)
    if os.path.islink(path):
        raise SpecError.single(
            f"{path} is a symbolic link (to {os.readlink(path)}): shipspec replaces a file "
            "whole, and would replace the link with a file",
            hint=f"name the file it leads to, {os.path.realpath(path)}")
    directory = os.path.dirname(path) or "."
    try:
        kept_mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        kept_mode = None
    except OSError as err:
        raise _cannot_write(path, err) from None
    try:
        missing = []
        parent = directory
        while not os.path.isdir(parent) and parent not in ("", "/", "."):
            missing.append(parent)
            parent = os.path.dirname(parent)
        for new_directory in reversed(missing):
            with contextlib.suppress(FileExistsError):  # made by another process: theirs
                os.mkdir(new_directory)
                made.append(new_directory)
        descriptor, temporary = _new_file_beside(directory)
    except OSError as err:
        raise _cannot_write(path, err) from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            if kept_mode is not None:
                os.fchmod(stream.fileno(), kept_mode)
            stream.write(text)
    except BaseException as err:
        os.unlink(temporary)
        if isinstance(err, OSError):
            raise _cannot_write(path, err) from None
        raise
    return temporary


def _cannot_write(path: str, err: OSError) -> RuntimeFailure:
    return RuntimeFailure(f"error: cannot write {path}: {err.strerror}")


def _new_file_beside(directory: str) -> tuple[int, str]:
    """A new, empty file in `directory` to be renamed over the real one. Not tempfile's
    mkstemp, which makes every file 0600 whatever the umask (and importing tempfile costs
    `generate` its start-up)."""
    for _ in range(100):  # a name is taken once in 2^48 tries
        name = os.path.join(directory, f".shipspec-{os.urandom(6).hex()}")
        try:  # the umask applies to 0o666, as to any new file; the descriptor is not inherited
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free name for a new file")


def append_text(path: str, text: str) -> None:
    """Add `text` at the end of `path` (a CI runner's output file)."""
    _refuse_directory(path)
    try:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as err:
        raise _cannot_write(path, err) from None


def read_text(path: str) -> str:
    """The file's text with its line endings as they are; "" when there is no file."""
    return read_existing(path) if os.path.exists(path) else ""


def read_existing(path: str) -> str:
    """The text of a file the user named, which must be there."""
    _refuse_directory(path)
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except OSError as err:
        raise SpecError.single(f"cannot read {path}: {err.strerror}") from None
    return decoded(raw, path)


# The most a YAML file may hold: the spec (specfile/loading.py's Limits), a values file, a
# file of a deployment repository. Reading 10 MB took libyaml alone 13 s, and an edit's
# check reads the result twice more (ruamel.yaml in pure Python). Helm keeps a release's
# values in one Secret anyway.
MAX_YAML_BYTES = 4 * 1024 * 1024


def too_large(path: str) -> SpecError:
    return SpecError.single(f"{path} is larger than {MAX_YAML_BYTES:,} bytes",
                            location=Location(path, 1, 1),
                            hint="values files, overlays and manifests this large are "
                                 "edited by hand")


# What git-crypt writes in front of every file it encrypts, which is how it tells one
# (git-crypt 0.8.0 commands.cpp, clean). The rest is random bytes, UTF-8 by chance or not.
_GIT_CRYPT_HEADER = b"\0GITCRYPT\0"


def decoded(raw: bytes, path: str, *, keep_byte_order_mark: bool = True) -> str:
    """The text of a file's bytes, which must be UTF-8. A byte order mark stays in front of
    a file an edit writes back; a reader of YAML drops it (`keep_byte_order_mark=False`)."""
    if raw.startswith(_GIT_CRYPT_HEADER):
        # a checkout where git-crypt is not unlocked, as every CI's and Argo CD's is
        raise SpecError.single(
            f"{path} is encrypted with git-crypt", location=Location(path, 1, 1),
            hint="shipspec reads and edits plain text: keep what it reads (the spec, the "
                 "image tags) in files that .gitattributes does not give to git-crypt")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _not_utf8(raw, path, err.start) from None
    return text if keep_byte_order_mark else text.removeprefix("\ufeff")


def _not_utf8(raw: bytes, path: str, start: int) -> SpecError:
    """The error for the byte at `start` (the first that is not UTF-8), at the line and
    column an editor shows for it: columns count characters, and the mark is not one."""
    line_start = raw.rfind(b"\n", 0, start) + 1
    if line_start == 0 and raw.startswith(codecs.BOM_UTF8):
        line_start = len(codecs.BOM_UTF8)
    # everything before `start` is UTF-8: it decoded
    column = len(raw[line_start:start].decode("utf-8")) + 1
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    return SpecError.single(f"{path} is not UTF-8 text (byte 0x{raw[start]:02x})",
                            location=Location(path, raw.count(b"\n", 0, start) + 1, column),
                            hint="it is UTF-16 (its first bytes say so): save it as UTF-8"
                            if utf16 else
                            "YAML files are UTF-8; convert it, or name another file")


def _refuse_directory(path: str) -> None:
    if os.path.isdir(path):
        raise SpecError.single(f"{path} is a directory, not a file",
                               hint="name the file itself")
