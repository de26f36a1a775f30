"""What `generate --output-dir` writes: one file per document below the directory, and the
list of those files; or, for the target values, the values files merged as `values --write`
merges them. Every document is rendered before the first file is written."""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

from shipspec import emit
from shipspec.errors import RuntimeFailure, SpecError
from shipspec.files import read_text, write_texts
from shipspec.paths import inside, link_on_the_way, relative_path_problem

if TYPE_CHECKING:
    from shipspec.render import Rendered, RenderOptions
    from shipspec.spec import Spec


def write_values_files(spec: Spec, options: RenderOptions, directory: str,
                       rendered: list[Rendered], output_format: str) -> str:
    """Merge into the values files below `directory` exactly as `values --write` does: every
    deployed tag, comment and other key stays. All merge before any is written."""
    from shipspec.values.merge import added_note, merge_file, targets  # off other targets' start-up

    if output_format == "json":
        raise SpecError.single("values files are merged into YAML; --format json does not "
                               "apply with --output-dir", hint="leave out --format json")
    merged: list[tuple[str, str, list[str]]] = []
    for item in rendered:
        refuse_links(directory, item.path)
        path = os.path.join(directory, item.path)
        entries = [entry for environment in spec.environment_names
                   if options.environment in (None, environment)
                   for entry in targets(spec, environment)
                   if entry[1].file == item.path
                   and (not options.modules or entry[0] in options.modules)]
        old = read_text(path)
        result = merge_file(old, path, entries, item.document)
        if result.text != old:
            merged.append((path, result.text, result.added))
    write_texts({path: text for path, text, _ in merged})
    return "".join(f"wrote {path}\n" + "".join(map(added_note, added))
                   for path, _, added in merged) or "every values file is up to date\n"


def refuse_links(directory: str, path: str) -> None:
    link = link_on_the_way(directory, path)
    if link:
        raise SpecError.single(f"{link} is a symbolic link: shipspec does not write through one",
                               hint="remove the link, or choose another --output-dir")


# The files an earlier run wrote below --output-dir, a line each as `sha256sum` writes them
# (`<SHA-256>  <path>`, so `sha256sum -c .shipspec-output` checks them): a later full run
# removes those it no longer renders, when they are still as it wrote them. A file changed
# since, or listed without its checksum (by an earlier shipspec, or by hand), is kept: the
# list is a file in the user's repository, anyone's to edit, and a user's edits are theirs.
# A list naming another file with that file's true checksum still has it removed: it holds
# bytes whoever edited the list had, and so could have restored.
MANIFEST = ".shipspec-output"


def write_files(directory: str, rendered: list[Rendered], output_format: str,
                narrowed: bool) -> tuple[str, str, list[str]]:
    """Write each document to its file below `directory`, and remove the files an earlier
    full run wrote that nothing renders now (a run narrowed by --env or --module removes
    nothing). Returns the summary, for stdout, notes of the files kept although no longer
    rendered, for stderr, and the files removed."""
    contents: dict[str, str] = {}
    for path, documents in _documents_by_file(directory, rendered, output_format).items():
        if output_format == "json":
            contents[path] = emit.to_json(documents[0]) if len(documents) == 1 else (
                emit.objects_to_json(documents))
        else:
            contents[path] = emit.to_yaml_stream(documents)
    earlier = _listed_files(directory)  # read before anything is written: it may be unreadable
    stale, kept = ([], []) if narrowed else _no_longer_rendered(directory, earlier, contents)
    digests: dict[str, str | None] = {path: hashlib.sha256(text.encode()).hexdigest()
                                      for path, text in contents.items()}
    if narrowed:  # what the full run wrote stays listed, to be removed by the next one
        digests = {**{path: digest for path, digest in earlier.items() if path not in digests},
                   **digests}
    manifest = "".join(f"{digests[path]}  {path}\n" if digests[path] else f"{path}\n"
                       for path in sorted(digests))
    # all or none: a full disk leaves the directory as the earlier run left it
    write_texts({**{os.path.join(directory, path): text for path, text in contents.items()},
                 os.path.join(directory, MANIFEST): manifest})
    for path in stale:
        try:
            os.unlink(os.path.join(directory, path))
        except OSError as err:
            raise RuntimeFailure(f"error: cannot remove {os.path.join(directory, path)}: "
                                 f"{err.strerror}; nothing lists it now: remove it by "
                                 "hand") from None
    summary = "".join([*(f"wrote {os.path.join(directory, path)}\n" for path in contents),
                       *(f"removed {os.path.join(directory, path)}: no longer rendered\n"
                         for path in stale)])
    return summary, "".join(kept), stale


def _no_longer_rendered(directory: str, earlier: dict[str, str | None],
                        contents: dict[str, str]) -> tuple[list[str], list[str]]:
    """Of the files an earlier run listed and nothing renders now: those to remove, as
    shipspec wrote them, and notes of those kept."""
    stale, kept = [], []
    for path, digest in earlier.items():
        full = os.path.join(directory, path)
        if (path in contents or relative_path_problem(path) or not os.path.isfile(full)
                or os.path.islink(full) or not inside(directory, full)):
            continue
        if digest is None:
            kept.append(f"note: kept {full}: no longer rendered, but {MANIFEST} lists it "
                        "without its checksum (as shipspec 0.1.0 wrote it): remove it "
                        "by hand if nothing else needs it\n")
        elif _file_digest(full) != digest:
            kept.append(f"note: kept {full}: no longer rendered, but changed since shipspec "
                        "wrote it: it is yours now\n")
        else:
            stale.append(path)
    return stale, kept


def _documents_by_file(directory: str, rendered: list[Rendered],
                       output_format: str) -> dict[str, list[Any]]:
    """The documents of each file, by its path below `directory`."""
    documents: dict[str, list[Any]] = {}
    for item in rendered:
        problem = relative_path_problem(item.path)
        if problem:  # renderers choose these names; a bad one is our bug, not the user's
            raise RuntimeFailure(f"error: shipspec chose the output path '{item.path}', which "
                                 f"{problem}: a bug of shipspec's, please report it")
        path = os.path.splitext(item.path)[0] + ".json" if output_format == "json" else item.path
        refuse_links(directory, path)
        documents.setdefault(path, []).append(item.document)
    return documents


def _listed_files(directory: str) -> dict[str, str | None]:
    """The files `MANIFEST` lists, each with its SHA-256 (None where the line has none)."""
    listed: dict[str, str | None] = {}
    for line in read_text(os.path.join(directory, MANIFEST)).splitlines():
        digest, separator, path = line.partition("  ")
        if separator and len(digest) == 64 and not digest.strip("0123456789abcdef"):
            listed[path] = digest
        elif line:
            listed[line] = None
    return listed


def _file_digest(path: str) -> str:
    try:
        with open(path, "rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError as err:
        raise RuntimeFailure(f"error: cannot read {path}: {err.strerror}") from None
