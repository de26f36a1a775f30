"""Reading and writing files: text as it is (line endings kept); writes whole or not at all."""

from __future__ import annotations

import os

from shipspec.errors import Location, RuntimeFailure, SpecError


def write_text(path: str, text: str) -> None:
    """Replace `path` with `text` atomically: readers see the old file or the new one."""
    import tempfile  # only when writing: `generate` to stdout must start fast

    _refuse_directory(path)
    directory = os.path.dirname(path) or "."
    try:
        os.makedirs(directory, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".shipspec-")
    except OSError as err:
        raise RuntimeFailure(f"cannot write {path}: {err.strerror}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError as err:
        os.unlink(temporary)
        raise RuntimeFailure(f"cannot write {path}: {err.strerror}") from None


def append_text(path: str, text: str) -> None:
    """Add `text` at the end of `path` (a CI runner's output file)."""
    _refuse_directory(path)
    try:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as err:
        raise RuntimeFailure(f"cannot write {path}: {err.strerror}") from None


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
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise SpecError.single(f"{path} is not UTF-8 text (byte 0x{raw[err.start]:02x})",
                               location=Location(path, line, column),
                               hint="YAML files are UTF-8; convert it, or name another file"
                               ) from None


def _refuse_directory(path: str) -> None:
    if os.path.isdir(path):
        raise SpecError.single(f"{path} is a directory, not a file",
                               hint="name the file itself")
