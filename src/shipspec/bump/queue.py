"""Bumps of one branch that arrive together are written as one commit.

Pipelines that finish at the same time would otherwise race: each clones, commits and
pushes, one wins, the others fetch and try again, and N pipelines make about N²/2
attempts (each a fetch, a commit and a push, on the git server too). Instead each bump
posts its request as an *intent* and, in the same push, tries to take the branch's *lock*.
The holder clones once, writes every intent queued so far, and pushes the commit, a
*receipt* for each intent and the release of the lock in one atomic push. The others never
clone: they poll the refs until their receipt appears, and take the lock when it is free.

Everything lives in the deployment repository, in refs outside the branches (so Argo CD and
the branch list never see them), under refs/shipspec/<branch, %-quoted>/ (with
`+pull-request+<merge>` and `+by-<hash>` after the branch for bumps delivered otherwise, or
committed by another author or key, which queue apart: see _Names):

    lock          its holder's intent (the same commit)
    queue/<id>    an intent: a commit with an empty tree and the request in its message
    batch/<time>  the receipts of one batch, by intent: the outcomes, each read by the
                  bump that posted it; deleted by a lock holder an hour on
    done/<id>     a receipt of its own: written for a bump of 0.1.0 (which reads no
                  batch's), and by holders of 0.1.0 for every bump; read and deleted by
                  that bump (or, when it was killed or could not delete it, by a lock
                  holder a day later)

The receipts of a batch share one ref, which its bumps read and leave: a receipt of its own
that the bump deletes after reading it cost each waiting bump a push (five of the 25
processes it started, with the git server's), and receipts of their own left for holders
to delete cost every holder's fetch of the queue half a millisecond a ref (150 ms at 300).

Every update is a compare-and-swap on the server (git's `--force-with-lease`), so a holder
that was presumed dead and comes back cannot write: its atomic push fails as a whole. A lock
that stays the same for `lease` seconds is taken over; a queued intent is written by
whoever holds the lock next. A server that refuses refs outside the branches gets direct
pushes (see bump()).

Conflicts: a target that holds a third value when the lock holder writes an intent (set by
someone else, or by an earlier intent of the same batch) fails that intent alone, as in the
direct path. The check starts when the holder reads the file, not when the intent was
posted: a change made in that gap (usually well under a second) is overwritten.
"""

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from shipspec.bump import (
    BumpOptions,
    Outcome,
    Sleep,
    backoff,
    gave_up,
    newer_proposals,
    propose,
    signing_environment,
)
from shipspec.bump.git import Author, Checkout, Refs, RefUpdate
from shipspec.bump.request import Changed, Edit, Request, changed_tags, message, write
from shipspec.bump.targets import NewImage
from shipspec.errors import Location, RuntimeFailure, ShipspecError, note, one_line, shown
from shipspec.paths import relative_path_problem
from shipspec.spec import (
    DEFAULT_AUTHOR,
    Delivery,
    HelmValuesTarget,
    KustomizeTarget,
    ManifestTarget,
    Signing,
    Template,
    target_paths,
)

# An intent; one bump's receipt; the receipts of a batch, by intent
_INTENT, _RECEIPT, _RECEIPTS = "shipspec intent", "shipspec receipt", "shipspec receipts"
# Targets' flags, written only when set: a bump of an older version reads the target's
# fields as they were, and refuses (as unreadable) only an intent that needs the flag.
_TARGET_FLAGS = ("reference",)
_TARGETS: dict[str, type[HelmValuesTarget | KustomizeTarget | ManifestTarget]] = {
    "values": HelmValuesTarget, "kustomize": KustomizeTarget, "manifest": ManifestTarget}


class _Names(NamedTuple):
    prefix: str  # refs/shipspec/<branch>/

    @classmethod
    def of(cls, branch: str, delivery: Delivery, author: Author,
           signing: Signing | None) -> "_Names":
        # quoted: branches "a" and "a/b" would otherwise clash as a file and a directory.
        # Bumps delivered by pull request queue apart, by how they are merged, and so do
        # bumps whose commits are by another author or signed with another key, or not
        # signed: a holder authors and signs the batch as itself, which would put another
        # project's change (sharing the deployment repository) under its name and key, or
        # commit a signing spec's change unsigned. One commit holds only what is delivered
        # and committed alike ('+' never appears in a quoted name).
        way = ("" if delivery.method == "push" else
               f"+pull-request+{delivery.auto_merge or 'by-hand'}")
        return cls(f"refs/shipspec/{_quoted(branch)}{way}{_committer(author, signing)}/")

    @property
    def lock(self) -> str:
        return f"{self.prefix}lock"

    def intent(self, identity: str) -> str:
        return f"{self.prefix}queue/{identity}"

    def receipt(self, identity: str) -> str:
        return f"{self.prefix}done/{identity}"

    @property
    def batches(self) -> str:
        return f"{self.prefix}batch/"


def _committer(author: Author, signing: Signing | None) -> str:
    """What names the queue of bumps committed by `author` and signed by `signing`'s key:
    nothing for the default author without a key (the queue of most bumps)."""
    if signing is None and tuple(author) == DEFAULT_AUTHOR:
        return ""
    import hashlib  # loads OpenSSL, which the queue of most bumps does without

    from shipspec.bump.signing import check

    signer = check(signing) if signing is not None else ""  # its public half
    return "+by-" + hashlib.sha256("\n".join([*author, signer]).encode()).hexdigest()[:16]


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def _quoted(branch: str) -> str:
    """`urllib.parse.quote(branch, safe="")`, which bumps of every version must agree on:
    importing urllib.parse (and ipaddress) cost every waiting bump 10 M instructions."""
    return "".join(char if char in _UNRESERVED else
                   "".join(f"%{byte:02X}" for byte in char.encode()) for char in branch)


class _Queued(NamedTuple):
    identity: str
    oid: str  # of the intent commit, to delete exactly that
    request: Request | ShipspecError  # an intent that cannot be read fails alone
    batched: bool  # its bump reads its receipt from its batch's (a bump of this version)


def bump(url: str, branch: str, request: Request, options: BumpOptions, sleep: Sleep,
         jitter: Callable[[], float]) -> Outcome | str:
    """Queue `request` and wait until it is written; the outcome, or why the queue cannot be
    used on this server (the caller then pushes directly)."""
    names = _Names.of(branch, options.delivery, request.author, options.signing)
    # Sortable by time, so that intents are written in the order they were posted. The
    # random part comes from os.urandom, which `secrets` wraps: importing secrets loads
    # OpenSSL, a start-up every waiting bump would pay.
    me = f"{time.time_ns():020d}-{os.urandom(6).hex()}"
    with tempfile.TemporaryDirectory(prefix="shipspec-queue-") as workdir:
        refs = Refs.open(url, f"{workdir}/refs.git", options.credentials)
        [intent] = refs.notes([f"{_INTENT}\n\n{_encode(request)}\n"], request.author)
        # The lock points at its holder's intent: a commit of this bump alone, so that a
        # compare-and-swap tells holders apart, and one the server has, so that taking the
        # lock later sends no object (and writing a note of its own cost a git process).
        try:
            posted = refs.push_refs([RefUpdate(names.intent(me), intent, ""),
                                     RefUpdate(names.lock, intent, "")],
                                    what=f"cannot push to {url}")
            status = posted.get(names.intent(me), "refused: no answer")
            if status != "ok":
                if posted.get(names.lock) == "ok":
                    _release(refs, names, intent)
                return (f"note: the deployment repository refused the queue's refs "
                        f"({status}); pushed directly instead")
            held: str | Outcome | None = intent if posted.get(names.lock) == "ok" else None
            waiter = _Waiter(refs, names, me, intent, options, sleep, jitter)
            while not isinstance(held, Outcome):
                if held:
                    held = _write_queue(refs, names, me, request, held, url, branch, options,
                                        sleep, jitter)
                if not isinstance(held, Outcome):
                    held = waiter.next()
        except BaseException:
            # A bump that fails must not land later: take our intent back if it is still
            # queued (when a holder has just written it, the receipt is simply never read),
            # and free the lock if it still names our intent (a holder that failed while
            # writing, one stopped while the push that posted both was ending, or right
            # after taking the lock). Compare-and-swaps, each alone: what is not ours any
            # more stays as it is; if this push fails too, the lease frees the lock.
            with contextlib.suppress(RuntimeFailure):
                refs.push_refs([RefUpdate(names.intent(me), None, intent),
                                RefUpdate(names.lock, None, intent)])
            raise
        return held


# When a waiting bump polls (each delay shortened by up to half, at random, so that waiters
# spread out). A receipt comes no sooner than a holder can clone, commit and push, and a
# poll before that only takes CPU from the holder (three processes here: git, sh,
# upload-pack; on the git server too). Then often: bumps that start together end when
# the last waiter polls after the batch landed, and polls growing to half a second apart
# left that tail at 0.4 s (16 bumps at once on 2 cores: 4.4x one bump; 3.9x with these).
# A holder still writing after a few seconds is slow (a big clone, a pull request):
# polls back off to every half a second, for the server's sake.
_FIRST_POLL, _FAST_POLL, _SLOW_POLL = 0.5, 0.15, 0.5
_FAST_POLLING = 2.0  # seconds after posting
_VANISHED = 2.0  # seconds an intent may be seen gone without its receipt


class _Waiter:
    """Polls the queue's refs for our receipt; takes the lock when it is free or dead."""

    def __init__(self, refs: Refs, names: _Names, me: str, intent: str,
                 options: BumpOptions, sleep: Sleep, jitter: Callable[[], float]) -> None:
        self.refs, self.names, self.me, self.intent = refs, names, me, intent
        self.options, self.sleep, self.jitter = options, sleep, jitter
        self.delay = _FIRST_POLL
        self.posted = time.monotonic()
        self.deadline = self.posted + options.wait
        self.lock_seen: tuple[str | None, float] = (None, self.posted)
        # since when polls have seen neither our intent nor our receipt
        self.missing_since: float | None = None
        self.batches_read: set[str] = set()  # receipts of batches that hold none of ours

    def next(self) -> str | Outcome | None:
        """After a pause: our outcome when the receipt is there; the lock's new value when
        we took it; None to keep waiting."""
        self.sleep(self.delay * (0.5 + self.jitter() / 2))
        self.delay = (_FAST_POLL if time.monotonic() - self.posted < _FAST_POLLING else
                      min(self.delay * 1.5, _SLOW_POLL))
        current = self.refs.under(self.names.prefix)
        now = time.monotonic()
        receipt = current.get(self.names.receipt(self.me))
        if receipt:  # a holder of 0.1.0's
            return self._collect(receipt)
        if self.names.intent(self.me) not in current:
            outcome = self._from_batches(current)
            if outcome is not None:
                return outcome
            # A poll may see a holder's atomic push half-way (intent deleted, receipt not
            # yet there): only polls that see it gone for seconds mean it really is.
            self.missing_since = self.missing_since or now
            if now - self.missing_since > _VANISHED:
                raise RuntimeFailure(
                    f"error: our queued change vanished from {self.names.prefix}queue/ "
                    "without a receipt: someone deleted it\n  hint: run the bump again")
            return None
        self.missing_since = None
        holder = current.get(self.names.lock)
        if holder is not None and holder != self.lock_seen[0]:
            self.lock_seen = (holder, now)
        if now > self.deadline:
            self._withdraw()
        if holder is None or now - self.lock_seen[1] > self.options.lease:
            # free, or held by a bump that stopped (the lease ran out while we watched it).
            # Taken again after a batch that failed, the lock holds the same value: a
            # waiter that missed the gap counts the lease from before it, and may take
            # over early, which only fails the holder's push (never forced).
            status = self.refs.push_refs([RefUpdate(self.names.lock, self.intent,
                                                    holder or "")])
            if status.get(self.names.lock) == "ok":
                return self.intent
        return None

    def _from_batches(self, current: dict[str, str]) -> Outcome | None:
        """Our outcome from the batches' receipts not read yet, if one holds ours. Read
        newest first, one at a time: ours is usually the last batch that landed, and the
        queue keeps an hour of them. None is skipped by its time, which is the clock of
        the holder that wrote it."""
        new = sorted(((ref, oid) for ref, oid in current.items()
                      if ref.startswith(self.names.batches) and oid not in self.batches_read),
                     reverse=True)
        for ref, oid in new:
            text = self.refs.messages([ref])[oid]
            if self.me in _batch_intents(text):
                return _outcome(_decode_receipt(text, self.me))
            self.batches_read.add(oid)
        return None

    def _collect(self, receipt: str) -> Outcome:
        ref = self.names.receipt(self.me)
        text = self.refs.messages([ref])[receipt]
        try:
            self.refs.push_refs([RefUpdate(ref, None, receipt)])
        except RuntimeFailure as failure:
            # Our change is written: failing the bump now would fail a deploy that landed.
            # A receipt left behind is deleted by a lock holder a day later (_read_queue).
            note(f"note: our receipt {ref} stays in the deployment repository "
                 f"({one_line(str(failure).splitlines()[0])}); a bump deletes it in a day")
        return _outcome(_decode_receipt(text, self.me))

    def _withdraw(self) -> None:
        ref = self.names.intent(self.me)
        oid = self.refs.under(ref).get(ref)
        if oid and self.refs.push_refs([RefUpdate(ref, None, oid)]).get(ref) == "ok":
            raise RuntimeFailure(
                f"error: waited {self.options.wait:.0f} s for the queue of the deployment "
                "branch; our change was withdrawn, nothing was written\n"
                "  hint: is a bump stuck holding the lock? see refs/shipspec/ in the "
                "deployment repository")
        # gone or moving: a lock holder is writing it right now; its receipt will come


def _write_queue(refs: Refs, names: _Names, me: str, mine: Request, lock: str, url: str,
                 branch: str, options: BumpOptions, sleep: Sleep,
                 jitter: Callable[[], float]) -> Outcome | None:
    """As the lock holder: write every queued intent in one commit, push it with the
    receipts and the lock's release; our own outcome, or None when our intent was not
    among them or the lock was lost. When it fails, bump() frees the lock: the queued
    intents stay for the next holder, which need not wait out the lease."""
    receipt = _write_batch(refs, names, me, mine, lock, url, branch, options, sleep, jitter)
    return _outcome(receipt) if receipt else None


def _write_batch(refs: Refs, names: _Names, me: str, mine: Request, lock: str, url: str,
                 branch: str, options: BumpOptions, sleep: Sleep,
                 jitter: Callable[[], float]) -> dict[str, Any] | None:
    with tempfile.TemporaryDirectory(prefix="shipspec-bump-") as workdir:
        # Cloned before the queue is read, so that the bumps that post while we clone are
        # written in this batch too.
        checkout = Checkout.clone(url, branch, f"{workdir}/repo", options.credentials,
                                  paths=mine.paths())
        signed = signing_environment(options, workdir)
        queued, expired = _read_queue(refs, names, me, mine)
        requests = [q.request for q in queued if isinstance(q.request, Request)]
        checkout.include([path for request in requests for path in request.paths()])
        seen: dict[tuple[int, int], str] = {}
        for attempt in range(1, options.retries + 2):
            # read again after a pull request's branch moved under us
            proposed = newer_proposals(checkout, requests, options)
            results, changed_paths = write(checkout, requests, seen, proposed)
            commit, delivered = None, None
            if changed_paths:  # every request of the queue is by one author (_Names)
                text = message(requests, results)
                commit = checkout.commit(text, requests[0].author, changed_paths, signed)
                if options.delivery.method == "pull-request":
                    delivered = propose(checkout, branch, text, requests, results, options,
                                        sleep)
                    if delivered is None:  # its branch moved under us
                        sleep(backoff(attempt, jitter))
                        checkout.refresh(branch)
                        continue
            receipts = _receipts(queued, results, commit, branch, attempt, delivered)
            updates = ([RefUpdate(f"refs/heads/{branch}", "HEAD")]
                       if commit and delivered is None else [])
            updates += [RefUpdate(names.intent(q.identity), None, q.oid) for q in queued]
            updates += _receipt_updates(checkout, names, queued, me, receipts, mine.author)
            updates += expired
            updates.append(RefUpdate(names.lock, None, lock))
            statuses = checkout.push_refs(updates, atomic=True, refused_fails=True)
            if all(status == "ok" for status in statuses.values()):
                return receipts.get(me)
            # Something moved: the branch (someone pushed without the queue), the lock (we
            # were presumed dead) or an intent (withdrawn by a bump tired of waiting).
            # Only the branch is worth another attempt; otherwise start again afresh.
            current = refs.under(names.prefix)
            if current.get(names.lock) != lock:
                return None
            if any(current.get(names.intent(q.identity)) != q.oid for q in queued):
                _release(refs, names, lock)
                return None
            sleep(backoff(attempt, jitter))
            checkout.refresh(branch)
    raise gave_up(branch, options)


# A batch's receipts are kept this long after it landed (its name starts with that time),
# for its bumps to read at their next poll, half a second on: an hour, for holders whose
# clocks are minutes off. A busy queue lands a few batches a minute: each costs a holder's
# fetch of the queue half a millisecond.
_BATCH_KEPT = 3600  # seconds


def _named_before(ref: str, under: str, seconds: int) -> bool:
    """`ref` is under `under`, named by a time (nanoseconds, 20 digits) more than `seconds`
    ago."""
    return (ref.startswith(under) and
            ref.removeprefix(under) < f"{time.time_ns() - seconds * 10**9:020d}")


def _read_queue(refs: Refs, names: _Names, me: str,
                mine: Request) -> tuple[list[_Queued], list[RefUpdate]]:
    """The queued intents, oldest first; and deletions of the batches' receipts an hour
    old, and of receipts of their own that no one came for in a day (their bump was
    killed)."""
    # Listed by fetching the refs with their objects, which the messages are read from next.
    try:
        current = refs.under(names.prefix, fetch=True)
    except RuntimeFailure:  # a server may refuse an intent withdrawn as it was fetched
        current = refs.under(names.prefix, fetch=True)
    queue, done = f"{names.prefix}queue/", f"{names.prefix}done/"
    pending = {ref: oid for ref, oid in current.items() if ref.startswith(queue)}
    texts = refs.messages(sorted(set(pending) - {names.intent(me)}))
    expired = [RefUpdate(ref, None, oid) for ref, oid in current.items()
               if _named_before(ref, done, 86_400) or _named_before(ref, names.batches,
                                                                    _BATCH_KEPT)]
    queued = []
    for ref, oid in sorted(pending.items()):
        identity = ref.removeprefix(queue)
        request: Request | ShipspecError
        try:
            request, batched = (mine, True) if identity == me else _decode(texts[oid])
        except _UNREADABLE as err:
            request, batched = RuntimeFailure(f"error: the queued request {ref} is "
                                              f"unreadable: {shown(str(err), 120)}"), False
        queued.append(_Queued(identity, oid, request, batched))
    return queued, expired


def _receipt_updates(checkout: Checkout, names: _Names, queued: list[_Queued], me: str,
                     receipts: dict[str, dict[str, Any]], author: Author) -> list[RefUpdate]:
    """The refs that carry the receipts of the intents of others: one for the batch, and
    one each for bumps of 0.1.0, which read a receipt of their own."""
    others = [q for q in queued if q.identity != me]
    batched = {q.identity: receipts[q.identity] for q in others if q.batched}
    alone = [q.identity for q in others if not q.batched]
    notes = checkout.notes(
        [f"{_RECEIPT}\n\n{json.dumps(receipts[identity])}\n" for identity in alone]
        + ([f"{_RECEIPTS}\n\n{json.dumps(batched, sort_keys=True)}\n"] if batched else []),
        author)
    updates = [RefUpdate(names.receipt(identity), note, "")
               for identity, note in zip(alone, notes[:len(alone)], strict=True)]
    if batched:  # named by when it lands, to the nanosecond (a new name on each attempt)
        name = f"{time.time_ns():020d}-{os.urandom(6).hex()}"
        updates.append(RefUpdate(f"{names.batches}{name}", notes[-1], ""))
    return updates


def _receipts(queued: list[_Queued], results: list[Changed | ShipspecError],
              commit: str | None, branch: str, attempt: int,
              delivered: Outcome | None) -> dict[str, dict[str, Any]]:
    """{intent: receipt}: what became of each queued request; `delivered`, the pull request
    that proposes the commit instead of the branch."""
    outcomes = iter(results)
    landed = sum(1 for result in results
                 if not isinstance(result, ShipspecError) and changed_tags(result))
    receipts: dict[str, dict[str, Any]] = {}
    for q in queued:
        result = q.request if isinstance(q.request, ShipspecError) else next(outcomes)
        if isinstance(result, ShipspecError):
            receipts[q.identity] = {"error": str(result), "exit": result.exit_code}
        else:
            written = bool(changed_tags(result)) and commit is not None
            proposed = delivered if written else None  # the pull request its change is in
            receipts[q.identity] = {
                "status": proposed.status if proposed else
                "committed" if written else "up-to-date",
                "branch": proposed.branch if proposed else branch,
                "commit": commit if written else None, "changes": result,
                "attempts": attempt, "batched": landed - 1 if written else 0,
                "delivered": proposed.delivered if proposed else ""}
    return receipts


def _release(refs: Refs, names: _Names, lock: str) -> None:
    refs.push_refs([RefUpdate(names.lock, None, lock)])


def _outcome(receipt: dict[str, Any]) -> Outcome:
    if "error" in receipt:
        # the error as the bump that wrote our request met it: same text, same exit code
        failure = RuntimeFailure(str(receipt["error"]))
        failure.exit_code = int(receipt["exit"])
        raise failure
    return Outcome(receipt["status"], receipt["branch"], receipt["commit"],
                   [tuple(change) for change in receipt["changes"]], "", receipt["attempts"],
                   receipt["batched"], delivered=str(receipt.get("delivered", "")))


# --- the messages of intents and receipts -------------------------------------------------------

# What reading a message that is not one of ours raises: a field missing or of another
# type (a list where a mapping was written has no .items()), JSON that is not JSON.
_UNREADABLE = (ValueError, LookupError, TypeError, AttributeError)


def _encode(request: Request) -> str:
    kinds = {cls: name for name, cls in _TARGETS.items()}
    return json.dumps({
        "edits": [{"module": edit.module,
                   "target": {"kind": kinds[type(edit.target)],
                              **{name: value for name, value in edit.target._asdict().items()
                                 if name not in _TARGET_FLAGS or value}},
                   "image": edit.image._asdict(),
                   # beside the image, which a bump of an older version reads field by
                   # field: it ignores this, writing the request as it did (no guard)
                   "newer": list(edit.newer)} for edit in request.edits],
        "title": _template_fields(request.title), "line": _template_fields(request.line),
        "variables": request.variables,
        "author": list(request.author), "force": request.force,
        # read from its batch's receipts (_receipt_updates); a holder of 0.1.0 ignores
        # this and writes it one of its own, which this version reads too
        "receipt": "batch",
    }, sort_keys=True)


def _decode(text: str) -> tuple[Request, bool]:
    """A request from an intent's message, and whether its bump reads its batch's
    receipts; one of _UNREADABLE when it is not one (it came from the repository: every
    field is checked)."""
    head, _, body = text.partition("\n\n")
    if head != _INTENT:
        raise ValueError("not an intent")
    data = json.loads(body)
    edits = []
    for edit in data["edits"]:
        fields = dict(edit["target"])
        cls = _TARGETS[fields.pop("kind")]
        flags = {name: fields.pop(name) for name in _TARGET_FLAGS if name in fields}
        if not all(isinstance(value, bool) for value in flags.values()):
            raise TypeError(f"expected true or false, got {flags!r}")
        target = cls(**_texts(fields, tuple(name for name in cls._fields
                                            if name not in _TARGET_FLAGS)), **flags)
        for path in target_paths(target):  # checked like a spec's paths
            problem = relative_path_problem(path)
            if problem:
                raise ValueError(f"{path}: {problem}")
        newer = edit.get("newer", [])  # none from bumps of older versions
        if not isinstance(newer, list):
            raise TypeError(f"expected a list of tags, got {newer!r}")
        edits.append(Edit(_text(edit["module"]), target, NewImage(**_image(edit["image"])),
                          tuple(_text(tag) for tag in newer)))
    author = data["author"]
    return Request(edits, _template(data["title"]), _template(data["line"]),
                   {_text(k): _text(v) for k, v in dict(data["variables"]).items()},
                   Author(_text(author[0]), _text(author[1])), bool(data["force"])
                   ), data.get("receipt") == "batch"


def _template_fields(template: Template) -> dict[str, Any]:
    return {"text": template.text, "path": template.path,
            "location": list(template.location)}


def _template(fields: dict[str, Any]) -> Template:
    file, line, column = fields["location"]
    return Template(_text(fields["text"]), Location(_text(file), int(line), int(column)),
                    _text(fields["path"]))


def _batch_intents(text: str) -> set[str]:
    """The intents whose receipts a batch's message holds; none in another message."""
    head, _, body = text.partition("\n\n")
    try:
        receipts = json.loads(body) if head == _RECEIPTS else {}
    except ValueError:
        return set()
    return set(receipts) if isinstance(receipts, dict) else set()


def _decode_receipt(text: str, identity: str) -> dict[str, Any]:
    """The receipt of intent `identity` from its message (its batch's, or its own), every
    field checked: it came from the repository, written by a bump of any version (or by
    anyone who may push there)."""
    head, _, body = text.partition("\n\n")
    try:
        if head == _RECEIPTS:
            receipt = dict(dict(json.loads(body))[identity])
        elif head == _RECEIPT:
            receipt = dict(json.loads(body))
        else:
            raise ValueError("not a receipt")
        if "error" in receipt:
            exit_code = int(receipt["exit"])
            if exit_code not in (1, 2):  # errors.py's; never 0, which would hide the error
                raise ValueError(f"exit code {exit_code}")
            return {"error": _text(receipt["error"]), "exit": exit_code}
        commit = receipt["commit"]
        return {"status": _text(receipt["status"]), "branch": _text(receipt["branch"]),
                "commit": None if commit is None else _text(commit),
                "changes": [_change(change) for change in receipt["changes"]],
                "attempts": int(receipt["attempts"]), "batched": int(receipt["batched"]),
                "delivered": _text(receipt.get("delivered", ""))}
    except _UNREADABLE as err:
        raise RuntimeFailure(
            f"error: our receipt in the deployment repository is unreadable "
            f"({shown(str(err), 120)}): whether our change was written is unknown\n"
            "  hint: see the deployment branch's log; shipspec bumps of one version write "
            "receipts that each other can read") from None


def _change(value: object) -> list[str]:
    """(module, old tag, new tag)."""
    if not isinstance(value, list) or len(value) != 3:
        raise TypeError(f"expected a change (module, old, new), got {value!r}")
    return [_text(part) for part in value]


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return value


def _texts(fields: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    if set(fields) != set(names):
        raise KeyError(f"fields {sorted(fields)}, expected {sorted(names)}")
    return {name: None if value is None else _text(value) for name, value in fields.items()}


def _image(fields: dict[str, Any]) -> dict[str, Any]:
    image = _texts({k: v for k, v in fields.items() if k not in ("set_repository", "create")},
                   ("repository", "tag", "digest"))
    return {**image, "set_repository": bool(fields["set_repository"]),
            "create": bool(fields.get("create", False))}
