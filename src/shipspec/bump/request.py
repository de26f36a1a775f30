"""What one bump asks for, and how requests are written into a checkout.

A request needs no spec: the bump that makes it may not be the one that writes it (see
queue.py, which carries requests between pipelines), and both paths write through `write`.
"""

import contextlib
import posixpath
from collections.abc import Mapping
from typing import NamedTuple

from shipspec import templates
from shipspec.bump.git import Author, Checkout
from shipspec.bump.targets import (
    NewImage,
    argo_cd_source,
    describe,
    kind_of,
    refuse_encrypted,
)
from shipspec.errors import RuntimeFailure, ShipspecError, SpecError, one_line
from shipspec.images import tag_and_digest
from shipspec.paths import linked_to, through_link
from shipspec.spec import HelmValuesTarget, Target, Template, target_paths
from shipspec.values.yamltext import YamlText


class Edit(NamedTuple):
    module: str
    target: Target
    image: NewImage
    # The tags of the commits pushed after the one built (bump --newer-on): a target that
    # holds one of them is kept, since a slower build of an older commit must not undo the
    # deployment of a newer one.
    newer: tuple[str, ...] = ()


class Request(NamedTuple):
    edits: list[Edit]
    title: Template  # the commit message: deploy.commitMessage
    line: Template  # one line per changed module: deploy.commitLine
    variables: dict[str, str]  # what the message may use besides changes, modules, lines
    author: Author
    force: bool  # overwrite a tag that someone else changed meanwhile

    def paths(self) -> list[str]:
        return [path for edit in self.edits for path in target_paths(edit.target)]


# (module, old tag, new tag) of each edit that changed; (module, tag, tag) of each edit that
# was kept because the target holds a newer commit's tag (Edit.newer), or a pull request
# proposes one. Receipts carry these lists between bumps of different versions, so a kept
# edit needs no field of its own.
Changed = list[tuple[str, str, str]]


def kept(change: tuple[str, str, str]) -> bool:
    """True for an edit left out because its target holds a newer commit's tag, or a pull
    request proposes one."""
    return change[1] == change[2]


def changed_tags(result: Changed) -> Changed:
    """The edits of a request that changed a tag: those the commit carries."""
    return [change for change in result if not kept(change)]


def file_of(checkout: Checkout, target: Target) -> str:
    """The file of `target` in the checkout: the first of its candidate paths that exists."""
    for path in target_paths(target):
        if checkout.exists(path):
            return path
    hint = (f"`shipspec values --env <env> --write {target.file}` in a checkout of the "
            "deployment repository writes it with every module's image; commit and push it, "
            "then bump again" if isinstance(target, HelmValuesTarget) else
            "create it in the deployment repository first; bump changes files, never adds them")
    raise SpecError.single(f"{describe(target)} does not exist in the deployment "
                           "repository; nothing was changed", hint=hint)


def write(checkout: Checkout, requests: list[Request], seen: dict[tuple[int, int], str],
          proposed: Mapping[tuple[int, int], str] | None = None,
          ) -> tuple[list[Changed | ShipspecError], list[str]]:
    """Write the requests, in order, into the checkout. For each request, what it changed or
    why it could not be written (then none of its edits is); and the files that changed.

    `seen` keeps what each edit's target held when first looked at, before any request was
    written: a target that holds a third value now was changed by someone else meanwhile
    (or by an earlier request of the same batch), and the request fails as a conflict.
    `proposed`: the edits (request, edit) whose newer tag a pull request proposes already
    (pull_request.proposed_newer); they are kept, as those whose target holds one."""
    proposed = proposed or {}
    files = _Files(checkout)
    for r, request in enumerate(requests):
        for e, edit in enumerate(request.edits):
            if (r, e) not in seen:
                with contextlib.suppress(ShipspecError):  # reported below, as its failure
                    seen[r, e] = _current(files.of(edit.target), edit)
    together = _write_together(files, requests, seen, proposed)
    if together is not None:
        return list(together), files.save()
    results: list[Changed | ShipspecError] = []
    for r, request in enumerate(requests):
        before = files.texts()
        try:
            results.append(_write_edits(files, _items(request, r), seen, proposed)[r])
        except ShipspecError as failure:
            files.restore(before)
            results.append(failure)
    return results, files.save()


class _Item(NamedTuple):
    """One edit of one request of a batch: `seen` knows it as (request, edit)."""

    request: int
    edit: int
    change: Edit
    force: bool


def _items(request: Request, r: int) -> list[_Item]:
    return [_Item(r, e, edit, request.force) for e, edit in enumerate(request.edits)]


def _write_together(files: "_Files", requests: list[Request], seen: dict[tuple[int, int], str],
                    proposed: Mapping[tuple[int, int], str]) -> list[Changed] | None:
    """The requests of a batch written as one: each values file edited and checked once,
    not once per request (16 queued bumps of a 200-module values file read it with both
    YAML readers 16 times). None, with nothing written, where that might not be what
    writing them one by one does: when two of them write one key (the later one is then a
    conflict, or changes nothing), when one fails (it must fail alone), and for the edits
    that depend on what the others wrote (repositories, --create) or whose place in the
    file is found loosely (a kustomize images entry; kustomize and manifest files are small
    and edited one edit at a time anyway)."""
    if len(requests) < 2:
        return None
    items = [item for r, request in enumerate(requests) for item in _items(request, r)]
    keys = []
    for item in items:
        target, image = item.change.target, item.change.image
        if not isinstance(target, HelmValuesTarget) or image.set_repository or image.create:
            return None
        try:
            document = files.of(target)
        except ShipspecError:
            return None
        keys.append((id(document), target.tag_key))
        if image.digest and target.digest_key:
            keys.append((id(document), target.digest_key))
    if len(set(keys)) < len(keys):
        return None
    before = files.texts()
    try:
        changed = _write_edits(files, items, seen, proposed)
    except ShipspecError:
        files.restore(before)
        return None
    return [changed.get(r, []) for r in range(len(requests))]


def _current(document: YamlText, edit: Edit) -> str:
    """The image the target pins now (images.pinned); with --create, a key that is not
    there holds none."""
    kind = kind_of(edit.target)
    try:
        return kind.read(document, edit.target)
    except SpecError:
        if edit.image.create:
            return ""  # write() adds the key, or says why it cannot
        raise


def _write_edits(files: "_Files", items: list[_Item], seen: dict[tuple[int, int], str],
                 proposed: Mapping[tuple[int, int], str]) -> dict[int, Changed]:
    """What each request of `items` changed, by its number; a failure of any fails all."""
    # Every tag is read before any is written; then each file gets all of its edits at
    # once (targets/: one read and one check of a values file for all the modules in it).
    # No two edits write one place (cross_checks.shared_targets within a spec, and
    # _write_together across them), so reading first reads what reading between the edits
    # did.
    currents = [_current(files.of(item.change.target), item.change) for item in items]
    # the newer tag each kept edit leaves in place: in its target, or in a pull request
    # (a newer tag counts pinned with a digest or not)
    keep = [None if item.force
            else current if tag_and_digest(current)[0] in item.change.newer
            else proposed.get((item.request, item.edit))
            for item, current in zip(items, currents, strict=True)]
    by_file: dict[tuple[YamlText, type], list[Edit]] = {}  # files.of: one per file
    for item, current, kept_at in zip(items, currents, keep, strict=True):
        edit = item.change
        if kept_at is None:
            refuse_encrypted(files.of(edit.target), current)
            by_file.setdefault((files.of(edit.target), type(edit.target)), []).append(edit)
    for (document, _), edits in by_file.items():  # in memory; files.save() writes
        for edit in edits:
            kind_of(edit.target).refuse_overridden(document, edit.target,
                                                   files.argo_cd_sources(edit.target))
        kind_of(edits[0].target).write(document, [(edit.target, edit.image) for edit in edits])
    changed: dict[int, Changed] = {item.request: [] for item in items}
    for item, current, kept_at in zip(items, currents, keep, strict=True):
        edit = item.change
        if kept_at is not None:
            changed[item.request].append((edit.module, kept_at, kept_at))
            continue
        before = seen.setdefault((item.request, item.edit), current)
        after = kind_of(edit.target).read(files.of(edit.target), edit.target)
        if current not in (before, after) and not item.force:
            raise RuntimeFailure(
                f"error: conflict: {describe(edit.target)} was changed to '{current}' by "
                f"someone else while we were setting '{after}' (it was '{before}')\n"
                "  hint: look at the deployment repository's history; --force overwrites it")
        if after != current:
            changed[item.request].append((edit.module, current, after))
    return changed


class _Files:
    """The files of a checkout that requests edit, held in memory until saved: one copy of
    each file however its path is spelt (`values.yaml`, `./values.yaml`), so that no edit
    is lost by saving another copy over it."""

    def __init__(self, checkout: Checkout) -> None:
        self.checkout = checkout
        self.documents: dict[str, YamlText] = {}  # by normalised path

    def of(self, target: Target) -> YamlText:
        given = file_of(self.checkout, target)
        path = posixpath.normpath(given)
        if path not in self.documents:
            real = linked_to(self.checkout.root, path)
            if real is not None:  # (links out of the repository were refused by the checkout)
                raise SpecError.single(f"{through_link(given, real)}; nothing was changed",
                                       hint=f"name {real} in the spec, the file itself")
            self.documents[path] = YamlText(self.checkout.read(path), given)
        return self.documents[path]

    def argo_cd_sources(self, target: Target) -> list[YamlText]:
        """The Argo CD source files beside a target's file (targets.ARGO_CD_SOURCE_FILES)."""
        directory = posixpath.dirname(file_of(self.checkout, target))
        return [YamlText(self.checkout.read(path), path)
                for name in self.checkout.names_in(directory) if argo_cd_source(name)
                for path in [posixpath.join(directory, name)]]

    def texts(self) -> dict[str, str]:
        return {path: document.text for path, document in self.documents.items()}

    def restore(self, texts: dict[str, str]) -> None:
        for path in self.documents:
            text = texts[path] if path in texts else self.checkout.read(path)
            self.documents[path] = YamlText(text, self.documents[path].name)

    def save(self) -> list[str]:
        """Write the files that changed; their paths."""
        changed = []
        for path, document in self.documents.items():
            if document.text != self.checkout.read(path):
                self.checkout.write(path, document.text)
                changed.append(path)
        return changed


def message(requests: list[Request], results: list[Changed | ShipspecError]) -> str:
    """The commit message. Each request's deploy.commitMessage, with its lines (one
    deploy.commitLine per changed tag) where it says {{ lines }}, else after it. Requests
    written together in one commit (queue.py) join their first lines with '; '."""
    titles: list[str] = []
    paragraphs: list[str] = []  # what the messages say below their first lines
    appended: list[str] = []  # lines of messages that do not place {{ lines }} themselves
    for request, result in zip(requests, results, strict=True):
        changes = [] if isinstance(result, ShipspecError) else changed_tags(result)
        if not changes:
            continue
        # the old tag is the file's text: a line break in it would add lines of its own
        # to the message (a forged `Co-authored-by:` trailer, which GitHub shows)
        lines = [templates.render(request.line, {
            "module": module, "old": one_line(old) if old else "(none)", "new": new,
            "env": request.variables.get("env", "")}) for module, old, new in changes]
        lines = [line for line in lines if line]
        text = templates.render(request.title, {
            **request.variables,
            "changes": ", ".join(f"{module}={new}" for module, _, new in changes),
            "modules": ", ".join(dict.fromkeys(module for module, _, _ in changes)),
            "lines": "\n".join(lines),
        }).strip("\n")
        title, _, rest = text.partition("\n")
        titles.append(title)
        if rest.strip("\n"):
            paragraphs.append(rest.strip("\n"))
        if not templates.uses(request.title, "lines"):
            appended += lines
    body = "\n\n".join([*dict.fromkeys(paragraphs), *(["\n".join(appended)] if appended
                                                        else [])])
    return f"{'; '.join(dict.fromkeys(titles))}\n" + (f"\n{body}\n" if body else "")
