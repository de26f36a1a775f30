"""The bump queue (shipspec.bump.queue) against real bare repositories: bumps that arrive
together share one commit; a dead lock holder, a failing or conflicting request, a tired
waiter and a server that refuses the queue's refs are each handled."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import stopped_process, wait_for
from test_bump import commits, git, make_deploy_repo, race_spec, race_values, remote_file

from shipspec.bump import BumpOptions, Outcome, bump, plan, queue
from shipspec.bump.git import Author, Checkout, Credentials, Refs, RefUpdate
from shipspec.bump.request import Edit, Request
from shipspec.errors import RuntimeFailure, ShipspecError
from shipspec.spec import DEFAULT_AUTHOR, Delivery, HelmValuesTarget
from shipspec.specfile.resolve import load_spec

QUEUE = "refs/shipspec/main/"


@pytest.fixture(autouse=True, params=["ls-remote", "fetch"])
def listing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: the queue listed by ls-remote, and by fetching its prefix, as a
    bump does on a server with many refs (Refs.MANY_REFS)."""
    if request.param == "fetch":
        monkeypatch.setattr(Refs, "MANY_REFS", 0)
    return str(request.param)


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, Path]:
    """(spec directory with modules m00..m03, bare deployment repository)."""
    return race_spec(tmp_path / "spec", 4), make_deploy_repo(tmp_path,
                                                             {"values.yaml": race_values(4)})


def refs(bare: Path, under: str = QUEUE) -> list[str]:
    return git("--git-dir", str(bare), "for-each-ref", "--format=%(refname)",
               under).splitlines()


def pending(bare: Path, under: str = QUEUE) -> list[str]:
    """The queue's refs but its batches' receipts, which stay for a lock holder to delete
    an hour on: a lock, intents, receipts of their own."""
    return [ref for ref in refs(bare, under) if "/batch/" not in ref]


def set_ref(bare: Path, ref: str, message: str) -> str:
    """Point `ref` at a new commit with an empty tree that carries `message`, as the queue
    keeps its intents and receipts; its object name."""
    empty = git("--git-dir", str(bare), "hash-object", "-t", "tree", "-w", "/dev/null").strip()
    commit = git("--git-dir", str(bare), "commit-tree", "-m", message, empty).strip()
    git("--git-dir", str(bare), "update-ref", ref, commit)
    return commit


def hold_lock(bare: Path, queue: str = QUEUE) -> str:
    """Take the queue's lock as a bump that then hangs or dies would; its object name."""
    return set_ref(bare, f"{queue}lock", "shipspec lock")


class Bump(threading.Thread):
    """One `bump` running in the background: its outcome or its error."""

    def __init__(self, spec_dir: Path, bare: Path, module: str, tag: str,
                 newer: tuple[str, ...] = (), **options: Any) -> None:
        super().__init__()
        self.spec_dir, self.bare, self.module, self.tag = spec_dir, bare, module, tag
        self.newer = newer  # the tags of newer commits (bump --newer-on)
        self.options = BumpOptions(repo_url=str(bare), **options)
        self.outcome: Outcome | None = None
        self.error: ShipspecError | None = None
        self.start()

    def run(self) -> None:
        spec = load_spec(str(self.spec_dir))
        changes = plan(spec, [self.module], None, tags={self.module: self.tag}, sha=None,
                       set_repository=False, date="20261123")
        changes = [change._replace(newer=self.newer) for change in changes]
        try:
            self.outcome = bump(spec, changes, self.options)
        except ShipspecError as error:
            self.error = error

    def result(self) -> Outcome | ShipspecError | None:
        self.join(timeout=120)
        assert not self.is_alive()
        return self.error or self.outcome


def queued_together(bare: Path, *bumps: tuple[Path, str, str], **options: Any) -> list[Bump]:
    """Start the bumps (spec directory, module, tag) one after another while the lock is
    held, so that they queue up in this order, then free the lock: one of them writes them
    all."""
    lock = hold_lock(bare)
    started = []
    for spec_dir, module, tag in bumps:
        started.append(Bump(spec_dir, bare, module, tag, **options))
        wait_for(lambda: len(refs(bare, f"{QUEUE}queue/")) == len(started))
    git("--git-dir", str(bare), "update-ref", "-d", f"{QUEUE}lock", lock)
    return started


def test_bumps_queued_together_land_in_one_commit(repos: tuple[Path, Path]) -> None:
    spec_dir, bare = repos
    first, second, third = queued_together(bare, (spec_dir, "m00", "t0"),
                                           (spec_dir, "m01", "t1"), (spec_dir, "m02", "t2"))
    outcomes = [first.result(), second.result(), third.result()]
    assert all(isinstance(outcome, Outcome) for outcome in outcomes), outcomes
    [commit] = [line.split()[0] for line in commits(bare)[:-1]]
    assert {(o.status, o.commit, o.batched) for o in outcomes} == {  # type: ignore[union-attr]
        ("committed", commit, 2)}
    assert [o.changes for o in outcomes] == [  # type: ignore[union-attr]
        [("m00", "old", "t0")], [("m01", "old", "t1")], [("m02", "old", "t2")]]
    assert git("--git-dir", str(bare), "show", "-s", "--format=%B", commit) == (
        "deploy(prod): m00=t0; deploy(prod): m01=t1; deploy(prod): m02=t2\n\n"
        "m00: old -> t0\nm01: old -> t1\nm02: old -> t2\n\n")
    # the two that waited read their receipts from their batch's, which stays
    assert pending(bare) == []
    [batch] = refs(bare, f"{QUEUE}batch/")
    message = git("--git-dir", str(bare), "show", "-s", "--format=%B", batch)
    head, _, body = message.partition("\n\n")
    assert head == "shipspec receipts" and len(json.loads(body)) == 2


def test_a_receipt_that_cannot_be_deleted_stays_and_its_bump_succeeds(
        repos: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A waiting bump that reads a receipt of its own (one a holder of 0.1.0 wrote, as this
    version writes them for intents that ask for no batch's) then deletes it: that push
    failing (the server gone after three attempts) failed a bump whose change had landed.
    The receipt stays, for a lock holder to delete a day later, and the bump says so."""
    spec_dir, bare = repos
    push_refs, encode = Refs.push_refs, queue._encode
    monkeypatch.setattr(queue, "_encode", lambda request: json.dumps(
        {k: v for k, v in json.loads(encode(request)).items() if k != "receipt"}))

    def deleting_a_receipt_fails(self: Refs, updates: list[RefUpdate],
                                 *args: Any, **kwargs: Any) -> dict[str, str]:
        if any("/done/" in u.ref and u.new is None for u in updates):
            raise RuntimeFailure("error: git push failed: fatal: unable to access '...': "
                                 "Could not resolve host: deploy.example\n  hint: ...")
        return push_refs(self, updates, *args, **kwargs)

    monkeypatch.setattr(Refs, "push_refs", deleting_a_receipt_fails)
    first, second = queued_together(bare, (spec_dir, "m00", "t0"), (spec_dir, "m01", "t1"))
    outcomes = [first.result(), second.result()]
    assert all(isinstance(o, Outcome) and o.status == "committed" for o in outcomes), outcomes
    assert len(commits(bare)) == 2  # one commit for both
    [receipt] = refs(bare, f"{QUEUE}done/")
    assert [record.getMessage() for record in caplog.records] == [
        f"note: our receipt {receipt} stays in the deployment repository (error: git push "
        "failed: fatal: unable to access '...': Could not resolve host: deploy.example); a "
        "bump deletes it in a day"]


def test_an_intent_of_0_1_0_gets_a_receipt_of_its_own_beside_the_batchs(
        repos: tuple[Path, Path]) -> None:
    """A bump of 0.1.0 posts no `receipt` field and reads a receipt of its own, in its
    format: the holder writes it one beside the batch's receipts."""
    spec_dir, bare = repos
    lock = hold_lock(bare)
    request = queued_request(spec_dir, "m00", "t0")._replace(
        author=Author(*DEFAULT_AUTHOR), variables={
            "action": "deploy", "env": "prod", "branch": "main", "sha": "", "sha8": "",
            "project": "race", "date": "20261123"})
    fields = json.loads(queue._encode(request))
    del fields["receipt"]
    set_ref(bare, f"{QUEUE}queue/00000000000000000001-old",
            f"shipspec intent\n\n{json.dumps(fields, sort_keys=True)}\n")
    bumps = [Bump(spec_dir, bare, "m01", "t1")]
    wait_for(lambda: len(refs(bare, f"{QUEUE}queue/")) == 2)
    bumps.append(Bump(spec_dir, bare, "m02", "t2"))
    wait_for(lambda: len(refs(bare, f"{QUEUE}queue/")) == 3)
    git("--git-dir", str(bare), "update-ref", "-d", f"{QUEUE}lock", lock)
    assert all(isinstance(b.result(), Outcome) for b in bumps), [b.result() for b in bumps]
    assert all(f"imageTag: t{n}" in remote_file(bare, "values.yaml") for n in range(3))
    [own] = refs(bare, f"{QUEUE}done/")
    head, _, body = git("--git-dir", str(bare), "show", "-s", "--format=%B",
                        own).partition("\n\n")
    assert own.endswith("-old") and head == "shipspec receipt"
    assert json.loads(body)["changes"] == [["m00", "old", "t0"]]
    [batch] = refs(bare, f"{QUEUE}batch/")
    message = git("--git-dir", str(bare), "show", "-s", "--format=%B", batch)
    assert message.startswith("shipspec receipts\n\n") and len(
        json.loads(message.partition("\n\n")[2])) == 1  # the one of m01, m02 that waited


def test_a_waiting_bump_finds_its_receipt_in_whichever_batch_holds_it(
        repos: tuple[Path, Path]) -> None:
    """A waiting bump reads the batches newest first, one at a time: a newer batch without
    its receipt (one that landed after its own, or whose holder's clock runs ahead) does
    not hide the one that holds it."""
    spec_dir, bare = repos
    lock = hold_lock(bare)
    waiting = Bump(spec_dir, bare, "m00", "t0")
    wait_for(lambda: len(refs(bare, f"{QUEUE}queue/")) == 1)
    [intent] = refs(bare, f"{QUEUE}queue/")
    receipt = {"status": "committed", "branch": "main", "commit": "a" * 40,
               "changes": [["m00", "old", "t0"]], "attempts": 1, "batched": 1,
               "delivered": ""}
    now = time.time_ns()
    for name, identity in ((f"{now:020d}-ours", intent.rsplit("/", 1)[1]),
                           (f"{now + 10**9:020d}-newer", "00000000000000000001-other")):
        set_ref(bare, f"{QUEUE}batch/{name}",
                f"shipspec receipts\n\n{json.dumps({identity: receipt})}\n")
    git("--git-dir", str(bare), "update-ref", "-d", intent)
    git("--git-dir", str(bare), "update-ref", "-d", f"{QUEUE}lock", lock)
    assert waiting.result() == Outcome("committed", "main", "a" * 40, [("m00", "old", "t0")],
                                       "", 1, 1)


def test_bumps_queue_where_git_finds_no_bare_repository_by_itself(
        repos: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`safe.bareRepository = explicit` (git 2.38+), which security policies set in a
    runner's global config, makes git refuse a bare repository found from the directory
    it runs in: every queued bump failed at its first commit ("cannot use bare repository
    ..."). The queue names its scratch repository to git."""
    spec_dir, bare = repos
    config = tmp_path / "gitconfig"
    config.write_text("[safe]\n\tbareRepository = explicit\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    first, second = queued_together(bare, (spec_dir, "m00", "t0"), (spec_dir, "m01", "t1"))
    outcomes = [first.result(), second.result()]
    assert all(isinstance(o, Outcome) and o.status == "committed" for o in outcomes), outcomes
    assert len(commits(bare)) == 2 and pending(bare) == []


def test_the_lock_is_the_holders_intent(repos: tuple[Path, Path]) -> None:
    """Taking the lock sends no object of its own: the lock names its holder's intent."""
    spec_dir, bare = repos
    log = bare / "updates.log"
    hook = bare / "hooks" / "reference-transaction"
    hook.write_text(f"#!/bin/sh\n[ \"$1\" = committed ] && cat >> {log}\nexit 0\n")
    hook.chmod(0o755)
    assert isinstance(Bump(spec_dir, bare, "m00", "t0").result(), Outcome)
    created = {ref: new for old, new, ref in (line.split() for line in
                                              log.read_text().splitlines())
               if set(old) == {"0"}}
    intent = next(new for ref, new in created.items() if ref.startswith(f"{QUEUE}queue/"))
    assert created[f"{QUEUE}lock"] == intent
    assert refs(bare) == []


def test_notes_written_together_are_the_objects_commit_tree_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A holder writes its batch's receipts in one process; each is the commit that
    `git commit-tree` would make, identity cleaned as git cleans it."""
    monkeypatch.setenv("GIT_AUTHOR_DATE", "1700000000 +0000")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "1700000000 +0000")
    repository = Refs.open(str(tmp_path), str(tmp_path / "scratch.git"), Credentials(None, ""))
    author = Author(" Bot <x> ", "bot@example.com")
    messages = ["shipspec receipt\n\n{\"a\": 1}\n", "second\n\nécrit\n", "third\n"]
    together = repository.notes(messages, author)
    assert together == [repository.notes([message], author)[0] for message in messages]
    assert git("--git-dir", str(tmp_path / "scratch.git"), "log", "--no-walk=unsorted",
               "--format=%an|%B", *together).split("\n\n", 1)[0] == (
        "Bot x|shipspec receipt")


def test_a_request_that_fails_fails_alone(repos: tuple[Path, Path], tmp_path: Path) -> None:
    spec_dir, bare = repos
    broken = tmp_path / "broken"
    race_spec(broken, 4)
    spec_file = broken / "shipspec.yaml"
    spec_file.write_text(spec_file.read_text().replace("values: values.yaml",
                                                       "values: missing.yaml"))
    failing, good = queued_together(bare, (broken, "m00", "t0"), (spec_dir, "m01", "t1"))
    error, outcome = failing.result(), good.result()
    assert isinstance(error, RuntimeFailure)
    assert str(error) == ("error: missing.yaml (apps.m00.imageTag) does not exist in the "
                          "deployment repository; nothing was changed\n  hint: `shipspec values "
                          "--env <env> --write missing.yaml` in a checkout of the deployment "
                          "repository writes it with every module's image; commit and push it, "
                          "then bump again")
    assert isinstance(outcome, Outcome) and outcome.changes == [("m01", "old", "t1")]
    assert "imageTag: t1" in remote_file(bare, "values.yaml")
    assert len(commits(bare)) == 2 and pending(bare) == []


def test_an_error_reaches_the_waiting_bump_as_it_would_directly(repos: tuple[Path, Path],
                                                                 tmp_path: Path) -> None:
    _, bare = repos
    wider = race_spec(tmp_path / "wider", 10)  # m09 has no key in the values file
    direct = Bump(wider, bare, "m09", "t9", queue=False).result()
    holder, waiting = queued_together(bare, (wider, "m00", "t0"), (wider, "m09", "t9"))
    queued = waiting.result()
    assert isinstance(holder.result(), Outcome)
    assert isinstance(direct, ShipspecError) and isinstance(queued, ShipspecError)
    assert (str(queued), queued.exit_code) == (str(direct), direct.exit_code)
    assert direct.exit_code == 1 and "has no key apps.m09.imageTag" in str(direct)


def test_the_later_of_two_queued_tags_for_one_module_is_a_conflict(
        repos: tuple[Path, Path]) -> None:
    spec_dir, bare = repos
    first, second = queued_together(bare, (spec_dir, "m00", "first"),
                                    (spec_dir, "m00", "second"))
    assert isinstance(first.result(), Outcome)
    error = second.result()
    assert isinstance(error, RuntimeFailure)
    assert str(error).startswith("error: conflict: values.yaml (apps.m00.imageTag) was "
                                 "changed to 'first' by someone else while we were setting "
                                 "'second' (it was 'old')")
    assert "imageTag: first" in remote_file(bare, "values.yaml") and pending(bare) == []


def test_a_queued_older_commits_tag_is_kept_behind_a_newer_ones(
        repos: tuple[Path, Path]) -> None:
    """The bumps of two commits queue together, the newer commit's first: the older one's
    keeps the newer tag instead of failing as a conflict (the holder reads its newer tags
    from its intent, whichever of the two holds the lock)."""
    spec_dir, bare = repos
    lock = hold_lock(bare)
    newer = Bump(spec_dir, bare, "m00", "m00-bbbb")
    wait_for(lambda: len(refs(bare, f"{QUEUE}queue/")) == 1)
    older = Bump(spec_dir, bare, "m00", "m00-aaaa", newer=("m00-cccc", "m00-bbbb"))
    wait_for(lambda: len(refs(bare, f"{QUEUE}queue/")) == 2)
    git("--git-dir", str(bare), "update-ref", "-d", f"{QUEUE}lock", lock)
    landed, kept = newer.result(), older.result()
    assert isinstance(landed, Outcome) and isinstance(kept, Outcome), (landed, kept)
    assert (landed.status, landed.changes) == ("committed", [("m00", "old", "m00-bbbb")])
    assert (kept.status, kept.commit, kept.changes, kept.batched) == (
        "up-to-date", None, [("m00", "m00-bbbb", "m00-bbbb")], 0)
    assert "imageTag: m00-bbbb" in remote_file(bare, "values.yaml")
    assert len(commits(bare)) == 2 and pending(bare) == []


def queued_request(spec_dir: Path, module: str, tag: str,
                   newer: tuple[str, ...] = ()) -> Request:
    """The request a bump of `module` to `tag` queues, as author a <a@example.com>."""
    spec = load_spec(str(spec_dir))
    [change] = plan(spec, [module], None, tags={module: tag}, sha=None,
                    set_repository=False, date="20261123")
    target = HelmValuesTarget("values.yaml", f"apps.{module}.imageTag", "")
    return Request([Edit(module, target, change.image, newer)], spec.deploy.commit_message,
                   spec.deploy.commit_line, {}, Author("a", "a@example.com"), False)


def test_an_intent_carries_its_newer_tags_and_one_without_them_is_read_as_before(
        repos: tuple[Path, Path]) -> None:
    spec_dir, _ = repos
    request = queued_request(spec_dir, "m00", "t0", newer=("t2", "t1"))
    text = f"shipspec intent\n\n{queue._encode(request)}\n"
    assert queue._decode(text) == (request, True)
    # a bump of an older version posts no "newer": its request is written as it asks
    older = text.replace(', "newer": ["t2", "t1"]', "")
    assert older != text and queue._decode(older)[0] == request._replace(
        edits=[request.edits[0]._replace(newer=())])
    with pytest.raises(TypeError, match="expected a list of tags"):
        queue._decode(text.replace('"newer": ["t2", "t1"]', '"newer": "t2"'))
    # the lock holder fails such an intent alone; an IndexError or AttributeError got past
    # it and ended the holder, leaving every queued bump to wait out the lease
    for bad in [text.replace('"author": ["a", "a@example.com"]', '"author": []'),
                text.replace('"image": {', '"image": [{').replace('"tag": "t0"}', '"tag": "t0"}]'),
                text.replace('"edits": [{', '"edits": [[{').replace('"t1"]}]', '"t1"]}]]')]:
        assert bad != text
        with pytest.raises(queue._UNREADABLE):
            queue._decode(bad)


def test_an_intent_for_a_whole_reference_says_so_and_others_read_as_before(
        repos: tuple[Path, Path]) -> None:
    """deploy.imageKey's targets carry `reference`; others are written without it, so a
    bump of an older version, which expects a target's fields exactly, still reads them,
    and refuses as unreadable only an intent it could not write rightly."""
    spec_dir, _ = repos
    request = queued_request(spec_dir, "m00", "t0")
    text = queue._encode(request)
    assert '"reference"' not in text
    assert queue._decode(f"shipspec intent\n\n{text}\n") == (request, True)
    edit = request.edits[0]
    whole = request._replace(edits=[edit._replace(target=edit.target._replace(
        tag_key="apps.m00.image", repository_key="apps.m00.image", reference=True))])
    text = f"shipspec intent\n\n{queue._encode(whole)}\n"
    assert '"reference": true' in text and queue._decode(text) == (whole, True)
    with pytest.raises(queue._UNREADABLE):
        queue._decode(text.replace('"reference": true', '"reference": "yes"'))


def test_a_lock_holder_reads_the_queue_with_one_fetch(repos: tuple[Path, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """One fetch brings the queue's refs and the intents the holder reads next (it listed
    every ref of the server, then fetched the intents: two round trips)."""
    spec_dir, bare = repos
    requests = [queued_request(spec_dir, "m00", "t0"), queued_request(spec_dir, "m01", "t1")]
    names = queue._Names.of("main", Delivery(), requests[0].author, None)
    poster = Refs.open(str(bare), str(tmp_path / "poster.git"), Credentials(None, ""))
    intents = poster.notes([f"shipspec intent\n\n{queue._encode(request)}\n"
                            for request in requests], requests[0].author)
    poster.push_refs([RefUpdate(names.intent(f"0{number}"), oid, "")
                      for number, oid in enumerate(intents)])
    holder = Refs.open(str(bare), str(tmp_path / "holder.git"), Credentials(None, ""))
    commands: list[str] = []
    run_git = Refs._git

    def recorded(self: Refs, *arguments: str, **options: Any) -> str:
        commands.append(arguments[0])
        return run_git(self, *arguments, **options)

    monkeypatch.setattr(Refs, "_git", recorded)
    queued, unread = queue._read_queue(holder, names, "00", requests[0])
    assert [(q.identity, q.oid, q.request) for q in queued] == [
        ("00", intents[0], requests[0]), ("01", intents[1], requests[1])] and unread == []
    assert commands == ["fetch", "for-each-ref", "log"]


def test_a_receipt_is_read_field_by_field_and_a_bad_one_is_refused_clearly() -> None:
    """Receipts come from the repository, written by a bump of any version or by anyone
    who may push there: one that is not what this version writes ended the waiting bump
    in an internal error, and an error receipt with exit code 0 would have hidden it."""
    import json

    written = {"status": "committed", "branch": "main", "commit": "a" * 40,
               "changes": [["m00", "old", "new"]], "attempts": 1, "batched": 2,
               "delivered": ""}

    def receipt(fields: object) -> str:
        return f"shipspec receipt\n\n{json.dumps(fields)}\n"

    def batch(fields: object) -> str:  # a batch's receipts, by intent
        return f"shipspec receipts\n\n{json.dumps({'1-a': fields, '2-b': {}})}\n"

    expected = Outcome("committed", "main", "a" * 40, [("m00", "old", "new")], "", 1, 2)
    assert queue._outcome(queue._decode_receipt(receipt(written), "1-a")) == expected
    assert queue._outcome(queue._decode_receipt(batch(written), "1-a")) == expected
    assert queue._batch_intents(batch(written)) == {"1-a", "2-b"}
    for other in [receipt(written), "shipspec receipts\n\n{", "shipspec receipts\n\n[1]"]:
        assert queue._batch_intents(other) == set()
    older = {key: value for key, value in written.items() if key != "delivered"}
    assert queue._outcome(queue._decode_receipt(receipt(older), "1-a")) == expected
    with pytest.raises(RuntimeFailure) as caught:
        queue._outcome(queue._decode_receipt(receipt({"error": "error: no", "exit": 1}),
                                             "1-a"))
    assert (str(caught.value), caught.value.exit_code) == ("error: no", 1)
    for bad in ["shipspec receipt\n\n{", receipt([1]), receipt({**written, "changes": [["m"]]}),
                receipt({**written, "commit": 7}), receipt({"error": "error: no", "exit": 0}),
                receipt({**written, "status": None}), "another\n\n{}",
                batch(written).replace("1-a", "3-c"), batch([1]),
                "shipspec receipts\n\n[1]\n"]:
        with pytest.raises(RuntimeFailure) as caught:
            queue._decode_receipt(bad, "1-a")
        assert str(caught.value).startswith(
            "error: our receipt in the deployment repository is unreadable ("), bad
        assert str(caught.value).endswith(": whether our change was written is unknown\n"
                                          "  hint: see the deployment branch's log; shipspec "
                                          "bumps of one version write receipts that each "
                                          "other can read"), bad


def test_force_lets_the_later_tag_win(repos: tuple[Path, Path]) -> None:
    spec_dir, bare = repos
    first, second = queued_together(bare, (spec_dir, "m00", "first"),
                                    (spec_dir, "m00", "second"), force=True)
    assert isinstance(first.result(), Outcome) and isinstance(second.result(), Outcome)
    assert "imageTag: second" in remote_file(bare, "values.yaml")


def test_a_dead_lock_holder_is_taken_over_after_the_lease(repos: tuple[Path, Path]) -> None:
    spec_dir, bare = repos
    hold_lock(bare)  # and never release it
    started = time.monotonic()
    outcome = Bump(spec_dir, bare, "m00", "t0", lease=0.5).result()
    assert isinstance(outcome, Outcome) and outcome.status == "committed"
    assert time.monotonic() - started >= 0.5
    assert "imageTag: t0" in remote_file(bare, "values.yaml") and refs(bare) == []


def test_a_bump_tired_of_waiting_withdraws_its_intent(repos: tuple[Path, Path]) -> None:
    spec_dir, bare = repos
    lock = hold_lock(bare)
    error = Bump(spec_dir, bare, "m00", "t0", wait=0.3).result()
    assert isinstance(error, RuntimeFailure)
    assert str(error).startswith("error: waited 0 s for the queue of the deployment branch; "
                                 "our change was withdrawn, nothing was written")
    assert refs(bare) == [f"{QUEUE}lock"] and len(commits(bare)) == 1
    git("--git-dir", str(bare), "update-ref", "-d", f"{QUEUE}lock", lock)
    assert isinstance(Bump(spec_dir, bare, "m01", "t1").result(), Outcome)
    assert "imageTag: t0" not in remote_file(bare, "values.yaml")


def test_an_intent_someone_deletes_fails_its_bump_and_writes_nothing(
        repos: tuple[Path, Path]) -> None:
    spec_dir, bare = repos
    lock = hold_lock(bare)
    waiting = Bump(spec_dir, bare, "m00", "t0")
    wait_for(lambda: len(refs(bare, f"{QUEUE}queue/")) == 1)
    [intent] = refs(bare, f"{QUEUE}queue/")
    git("--git-dir", str(bare), "update-ref", "-d", intent)
    error = waiting.result()
    assert isinstance(error, RuntimeFailure)
    assert str(error).startswith("error: our queued change vanished from "
                                 f"{QUEUE}queue/ without a receipt: someone deleted it")
    assert refs(bare) == [f"{QUEUE}lock"] and len(commits(bare)) == 1
    git("--git-dir", str(bare), "update-ref", "-d", f"{QUEUE}lock", lock)


class _QueueHeldByAnother:
    """The refs a waiting bump sees while another bump holds the lock and never writes."""

    def __init__(self, names: queue._Names) -> None:
        self.listing = {names.lock: "1" * 40, names.intent("me"): "2" * 40}

    def under(self, prefix: str) -> dict[str, str]:
        return self.listing


def test_a_waiting_bump_polls_once_a_holder_could_be_done_then_often_then_less(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Bumps that start together end when the last waiter polls after the batch landed:
    no poll before a holder could have written it, then every 0.15 s for two seconds,
    then backing off to every half a second (a slow holder: a big clone, a pull request)."""
    clock = [1000.0]
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(round(seconds, 4))
        clock[0] += seconds

    monkeypatch.setattr(queue.time, "monotonic", lambda: clock[0])
    names = queue._Names.of("main", Delivery(), Author("a", "a@example.com"), None)
    options = BumpOptions(repo_url="unused", lease=3600)
    waiter = queue._Waiter(_QueueHeldByAnother(names), names, "me", "2" * 40,  # type: ignore[arg-type]
                           options, sleep, jitter=lambda: 1.0)
    for _ in range(16):
        assert waiter.next() is None
    assert delays == [0.5, *[0.15] * 11, 0.225, 0.3375, 0.5, 0.5]  # 11: to 1.99.. s


def _stopped_bump(spec_dir: Path, bare: Path, module: str, scratch: Path,
                  started: Callable[[], bool], how: int = signal.SIGTERM) -> tuple[int, str]:
    """A `bump` of `module` to tag `<module>-stopped`, stopped as stopped_process says."""
    return stopped_process("bump", str(spec_dir), "--module", module, "--tag",
                           f"{module}-stopped", "--repo", str(bare), scratch=scratch,
                           started=started, how=how)


def test_the_intent_of_a_killed_bump_is_written_by_the_next(repos: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    spec_dir, bare = repos
    lock = hold_lock(bare)
    killed = _stopped_bump(spec_dir, bare, "m00", tmp_path / "tmp",
                           lambda: len(refs(bare, f"{QUEUE}queue/")) == 1, signal.SIGKILL)
    assert killed == (-signal.SIGKILL, "")
    git("--git-dir", str(bare), "update-ref", "-d", f"{QUEUE}lock", lock)
    outcome = Bump(spec_dir, bare, "m01", "t1").result()
    assert isinstance(outcome, Outcome) and outcome.batched == 1
    text = remote_file(bare, "values.yaml")
    assert "imageTag: m00-stopped" in text and "imageTag: t1" in text
    # its receipt, in its batch's, stays until a lock holder finds the batch an hour old;
    # a receipt of its own (for a bump of 0.1.0) until it is a day old
    [batch] = refs(bare)
    assert batch.startswith(f"{QUEUE}batch/")
    now = time.time_ns()
    kept = [f"{QUEUE}batch/{(now - 3500 * 10**9):020d}-kept",
            f"{QUEUE}done/{(now - 86_000 * 10**9):020d}-kept"]
    for ref in [f"{QUEUE}batch/{(now - 3601 * 10**9):020d}-old",
                f"{QUEUE}done/{(now - 86_401 * 10**9):020d}-old", *kept]:
        git("--git-dir", str(bare), "update-ref", ref, batch)
    assert isinstance(Bump(spec_dir, bare, "m02", "t2").result(), Outcome)
    assert sorted(refs(bare)) == sorted([batch, *kept])


# SIGTERM is how a cancelled run is stopped: Kubernetes sends it when it deletes a Tekton
# step's pod, and Tekton's entrypoint passes it to the step's process group
# (tektoncd/pipeline v1.15, cmd/entrypoint/runner.go); timeout(1) sends it too. Unlike a
# bump killed outright (above), a stopped one cleans up as an interrupted one does: its
# change does not land later, the lock is free at once, no scratch repository stays.


@pytest.mark.parametrize(("how", "ended"), [
    (signal.SIGTERM, (143, "shipspec: terminated\n")),
    (signal.SIGINT, (130, "shipspec: interrupted\n")),  # Ctrl-C
], ids=["sigterm", "sigint"])
def test_a_waiting_bump_stopped_with_a_signal_takes_its_change_back(
        repos: tuple[Path, Path], tmp_path: Path, how: int, ended: tuple[int, str]) -> None:
    spec_dir, bare = repos
    lock = hold_lock(bare)
    stopped = _stopped_bump(spec_dir, bare, "m00", tmp_path / "tmp",
                            lambda: len(refs(bare, f"{QUEUE}queue/")) == 1, how)
    assert stopped == ended
    assert refs(bare) == [f"{QUEUE}lock"] and list((tmp_path / "tmp").iterdir()) == []
    git("--git-dir", str(bare), "update-ref", "-d", f"{QUEUE}lock", lock)
    assert isinstance(Bump(spec_dir, bare, "m01", "t1").result(), Outcome)
    text = remote_file(bare, "values.yaml")
    assert "imageTag: t1" in text and "m00-stopped" not in text


@pytest.mark.parametrize(("hook", "held", "then"), [
    # the server has taken the intent and the lock; the push that posted them has not ended
    ("post-receive", f"*' '{QUEUE}queue/*", 0),
    # the lock holder pushes its batch; the server refuses it once the holder has stopped
    ("pre-receive", "*' 'refs/heads/main", 1),
], ids=["while posting", "while writing the batch"])
def test_a_bump_stopped_mid_push_takes_its_change_and_the_lock_back(
        repos: tuple[Path, Path], tmp_path: Path, hook: str, held: str, then: int) -> None:
    spec_dir, bare = repos
    pushing, finish = tmp_path / "pushing", tmp_path / "finish"
    # the server's hook holds a push that updates a ref as `held` says ("<new> <ref>"),
    # deletions aside, until the test lets it end with `then`
    script = bare / "hooks" / hook
    script.write_text("#!/bin/sh\nwhile read old new ref; do\n  case \"$new $ref\" in\n"
                      f"    {'0' * 40}' '*) ;;\n"
                      f"    {held}) touch '{pushing}'; ended={then}\n"
                      f"      while [ ! -e '{finish}' ]; do sleep 0.05; done;;\n"
                      "  esac\ndone\nexit ${ended:-0}\n")
    script.chmod(0o755)
    try:
        stopped = _stopped_bump(spec_dir, bare, "m00", tmp_path / "tmp", pushing.exists)
    finally:
        finish.touch()
    assert stopped == (143, "shipspec: terminated\n")
    assert refs(bare) == [] and list((tmp_path / "tmp").iterdir()) == []
    script.unlink()
    assert isinstance(Bump(spec_dir, bare, "m01", "t1").result(), Outcome)
    text = remote_file(bare, "values.yaml")
    assert "imageTag: t1" in text and "m00-stopped" not in text


def test_a_server_that_refuses_the_queue_gets_direct_pushes(repos: tuple[Path, Path]) -> None:
    spec_dir, bare = repos
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nwhile read old new ref; do\n"
                    "  case $ref in refs/heads/*) ;; *) echo \"only branches\"; exit 1;; esac\n"
                    "done\n")
    hook.chmod(0o755)
    outcome = Bump(spec_dir, bare, "m00", "t0").result()
    assert isinstance(outcome, Outcome) and outcome.status == "committed"
    assert outcome.note.startswith("note: the deployment repository refused the queue's refs")
    assert outcome.note.endswith("pushed directly instead")
    assert "imageTag: t0" in remote_file(bare, "values.yaml") and refs(bare) == []


def test_a_queued_request_cannot_reach_outside_the_repository(repos: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    """Intents come from the repository, not from a checked spec: their paths are checked
    where files are opened."""
    spec_dir, bare = repos
    spec = load_spec(str(spec_dir))
    [change] = plan(spec, ["m00"], None, tags={"m00": "t0"}, sha=None,
                    set_repository=False, date="20261123")
    target = HelmValuesTarget("../outside.yaml", "apps.m00.imageTag", "")
    request = Request([Edit("m00", target, change.image)], spec.deploy.commit_message,
                      spec.deploy.commit_line,
                      {"env": "prod", "project": "race", "date": "20261123"},
                      Author("mallory", "mallory@example.com"), False)
    (tmp_path / "outside.yaml").write_text("apps: {m00: {imageTag: old}}\n")
    set_ref(bare, f"{QUEUE}queue/00000000000000000001-x",
            f"shipspec intent\n\n{queue._encode(request)}\n")
    outcome = Bump(spec_dir, bare, "m01", "t1").result()
    assert isinstance(outcome, Outcome) and outcome.changes == [("m01", "old", "t1")]
    assert (tmp_path / "outside.yaml").read_text() == "apps: {m00: {imageTag: old}}\n"
    [receipt] = refs(bare)
    message = git("--git-dir", str(bare), "show", "-s", "--format=%B", receipt)
    error = json.loads(message.partition("\n\n")[2])["error"]
    assert error.endswith('is unreadable: "../outside.yaml: must not leave the repository (\'..\')"')


@pytest.mark.parametrize("queue_mode", [True, False])
def test_a_protected_branch_fails_clearly_and_leaves_no_queue(repos: tuple[Path, Path],
                                                              queue_mode: bool) -> None:
    spec_dir, bare = repos
    hook = bare / "hooks" / "pre-receive"
    # what GitHub says of a branch protected by a ruleset (its own words, GH013), and a
    # line with a terminal's escape sequence, which a message must not carry
    hook.write_text("#!/bin/sh\nwhile read old new ref; do\n"
                    "  [ \"$ref\" = refs/heads/main ] && {\n"
                    "    echo 'error: GH013: Repository rule violations found for "
                    "refs/heads/main.'\n    echo\n"
                    "    echo '- Changes must be made through a pull request.'\n"
                    "    printf '\\033]0;title\\007\\033[31mred\\n'\n    exit 1; }\n"
                    "done\nexit 0\n")
    hook.chmod(0o755)
    error = Bump(spec_dir, bare, "m00", "t0", queue=queue_mode).result()
    assert isinstance(error, RuntimeFailure)
    # (a pre-receive hook declines the whole push: git names every ref of it; the server's
    # words say which of its rules, where the hint can only guess)
    said = str(error).split("; the server said:\n", 1)[1].split("\n  hint: ")[0]
    assert str(error).startswith("error: the deployment repository refused the push to "
                                 "refs/heads/main ([remote rejected] (pre-receive hook "
                                 "declined)")
    assert said.splitlines() == [
        "    error: GH013: Repository rule violations found for refs/heads/main.",
        "    - Changes must be made through a pull request.",
        "    ]0;title[31mred"]
    assert str(error).endswith("\n  hint: is the branch protected against direct pushes? "
                               "then use --pull-request")
    assert len(commits(bare)) == 1 and refs(bare) == []


def test_two_spellings_of_one_values_file_lose_no_change(repos: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    """Two source repositories' specs may name the deployment repository's values file
    differently (`./values.yaml`): written as two files, the later would undo the earlier,
    whose bump was told its change was committed."""
    spec_dir, bare = repos
    dotted = race_spec(tmp_path / "dotted", 4)
    spec_file = dotted / "shipspec.yaml"
    spec_file.write_text(spec_file.read_text().replace("values: values.yaml",
                                                       "values: ./values.yaml"))
    first, second = queued_together(bare, (spec_dir, "m00", "t0"), (dotted, "m01", "t1"))
    outcomes = [first.result(), second.result()]
    assert [o.changes for o in outcomes] == [  # type: ignore[union-attr]
        [("m00", "old", "t0")], [("m01", "old", "t1")]]
    values = remote_file(bare, "values.yaml")
    assert "  m00:\n    repository: r\n    imageTag: t0\n" in values
    assert "  m01:\n    repository: r\n    imageTag: t1\n" in values


def test_a_batch_reads_and_checks_a_values_file_once(repos: tuple[Path, Path],
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     yaml_reads: list[str]) -> None:
    """The holder writes every queued request into a shared values file with one edit and
    one check (both YAML readers), not one per request: a batch of 16 bumps of a 200-module
    file read it 32 times."""
    from shipspec.bump.targets import helm_values

    spec_dir, bare = repos
    checks: list[str] = []
    check = helm_values.check_values_edit

    def counted(before: str, after: str, name: str, *rest: Any) -> None:
        checks.append(name)
        check(before, after, name, *rest)

    monkeypatch.setattr(helm_values, "check_values_edit", counted)
    bumps = queued_together(bare, *[(spec_dir, f"m{i:02d}", f"t{i}") for i in range(4)])
    outcomes = [b.result() for b in bumps]
    assert [o.changes for o in outcomes] == [  # type: ignore[union-attr]
        [(f"m{i:02d}", "old", f"t{i}")] for i in range(4)]
    assert checks == ["values.yaml"]
    assert yaml_reads.count("values.yaml") == 1
    assert len(commits(bare)) == 2 and pending(bare) == []


@pytest.mark.parametrize("shape", ["disjoint", "a module twice", "a module missing"])
@pytest.mark.parametrize("seed", range(2))
def test_a_batch_written_at_once_is_what_writing_it_request_by_request_makes(
        tmp_path: Path, shape: str, seed: int) -> None:
    """Same file, same outcomes, same commit message as the one-by-one path, for batches
    with digests, tags YAML would misread and both spellings of the file; a batch with a
    module asked for twice (the later one is a conflict, unless forced) or one the file
    lacks (that request fails alone) is written one by one."""
    import random

    from shipspec.bump import request as requests_module
    from shipspec.bump.targets import NewImage
    from shipspec.errors import Location
    from shipspec.spec import Template

    rng = random.Random(seed)
    text = "# deployed by shipspec\napps:\n" + "".join(
        f"  m{i:02d}:  # module {i}\n    repository: r\n    imageTag: 'old'\n"
        f"    imageDigest: ''\n    replicas: 2\n" for i in range(12))
    bare = make_deploy_repo(tmp_path, {"values.yaml": text})
    here = Location("shipspec.yaml", 1, 1)
    modules = rng.sample(range(12), 8)
    groups = [modules[:1], modules[1:3], modules[3:4], modules[4:7], modules[7:]]
    if shape == "a module twice":
        groups[3].append(groups[0][0])
    elif shape == "a module missing":
        groups[2].append(12)
    batch = [Request([Edit(f"m{m:02d}", HelmValuesTarget(
        rng.choice(["values.yaml", "./values.yaml"]), f"apps.m{m:02d}.imageTag",
        f"apps.m{m:02d}.repository", digest_key=f"apps.m{m:02d}.imageDigest"),
        NewImage("ghcr.io/o/x", rng.choice(["0012", "1e10", "on", f"v{number}"]),
                 rng.choice([None, "sha256:" + "ab" * 32]), False)) for m in group],
        Template("deploy: {{ changes }}", here, "t"),
        Template("- {{ module }}: {{ new }}", here, "l"), {}, Author("a", "a@example.com"),
        force=number == 3) for number, group in enumerate(groups)]
    original = requests_module._write_together
    taken: list[bool] = []

    def written(together: bool) -> tuple[str, list[Any], str]:
        def spied(*args: Any) -> Any:
            result = original(*args) if together else None
            taken.append(result is not None)
            return result

        checkout = Checkout.clone(str(bare), "main", str(tmp_path / f"clone-{together}"),
                                  Credentials(None, "no token"), paths=["values.yaml"])
        requests_module._write_together = spied  # type: ignore[assignment]
        try:
            results, _ = requests_module.write(checkout, batch, {})
        finally:
            requests_module._write_together = original  # type: ignore[assignment]
        return (checkout.read("values.yaml"), [str(r) if isinstance(r, ShipspecError) else r
                                              for r in results],
                requests_module.message(batch, results))

    assert written(True) == written(False)
    assert taken == [shape == "disjoint", False]


def test_a_bump_that_signs_is_never_written_by_a_holder_that_does_not(
        repos: tuple[Path, Path], tmp_path: Path) -> None:
    """deploy.signing differs between the specs of two source repositories: a holder
    without a key would commit the signing spec's change unsigned (and the branch's
    protection, if it asks for signatures, would then refuse the whole batch). Signed and
    unsigned bumps queue apart, as bumps delivered apart do."""
    from shipspec.spec import Signing

    spec_dir, bare = repos
    key = tmp_path / "signing-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bot", "-f",
                    str(key)], check=True)
    lock = hold_lock(bare)  # an unsigned batch is being written
    unsigned = Bump(spec_dir, bare, "m00", "t0")
    wait_for(lambda: len(refs(bare, f"{QUEUE}queue/")) == 1)
    signed = Bump(spec_dir, bare, "m01", "t1", signing=Signing("ssh", str(key), None))
    outcome = signed.result()  # not held up by the unsigned batch's lock
    assert isinstance(outcome, Outcome) and outcome.changes == [("m01", "old", "t1")]
    assert "gpgsig" in git("--git-dir", str(bare), "cat-file", "commit", outcome.commit or "")
    git("--git-dir", str(bare), "update-ref", "-d", f"{QUEUE}lock", lock)
    written = unsigned.result()
    assert isinstance(written, Outcome) and written.changes == [("m00", "old", "t0")]
    values = remote_file(bare, "values.yaml")
    assert "imageTag: t0" in values and "imageTag: t1" in values
    assert refs(bare, "refs/shipspec/") == []


def _project_spec(directory: Path, project: str, deploy: str) -> Path:
    """A second project's spec (modules m00..m03) writing to the same deployment
    repository: `deploy` is what its deploy mapping adds to the url."""
    race_spec(directory, 4)
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace("project: race", f"project: {project}").replace(
        "deploy: {url: https://github.com/o/deploy.git}",
        f"deploy: {{url: https://github.com/o/deploy.git{deploy}}}"))
    return directory


def _first_holder_held(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Hold up the first bump that clones (a lock holder) until the event is set, with the
    lock held; every later clone goes ahead."""
    release, clones = threading.Event(), []
    original = Checkout.clone

    def clone(*args: Any, **kwargs: Any) -> Checkout:
        clones.append(args)
        if len(clones) == 1:
            assert release.wait(60)
        return original(*args, **kwargs)

    monkeypatch.setattr(Checkout, "clone", staticmethod(clone))
    return release


def _locks(bare: Path) -> list[str]:
    return [ref for ref in refs(bare, "refs/shipspec/") if ref.endswith("/lock")]


def _author(bare: Path, commit: str | None) -> str:
    return git("--git-dir", str(bare), "show", "-s", "--format=%an <%ae>", commit or "").strip()


def test_projects_that_commit_as_different_authors_queue_apart(
        repos: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two projects share the deployment repository (concepts: the deployment repository),
    one with its own deploy.authorName: a lock holder of the other would commit its change
    authored as itself. Bumps that commit as one author queue together, whatever their
    project; others queue apart, as bumps delivered apart do."""
    spec_dir, bare = repos
    team_b = _project_spec(tmp_path / "b", "team-b",
                           ", authorName: team-b, authorEmail: b@example.com")
    team_c = _project_spec(tmp_path / "c", "team-c", "")  # the default author, as race's
    release = _first_holder_held(monkeypatch)
    holder = Bump(spec_dir, bare, "m00", "t0")
    wait_for(lambda: len(_locks(bare)) == 1)
    same_author = Bump(team_c, bare, "m01", "t1")
    wait_for(lambda: len(refs(bare, f"{QUEUE}queue/")) == 2)
    other = Bump(team_b, bare, "m02", "t2").result()  # not held up by the held lock
    assert isinstance(other, Outcome) and other.changes == [("m02", "old", "t2")]
    assert other.batched == 0 and _author(bare, other.commit) == "team-b <b@example.com>"
    release.set()
    written, batched = holder.result(), same_author.result()
    assert isinstance(written, Outcome) and isinstance(batched, Outcome)
    assert written.commit == batched.commit and written.batched == 1
    assert _author(bare, written.commit) == "shipspec-bot <shipspec-bot@localhost>"
    assert pending(bare, "refs/shipspec/") == []


def test_bumps_that_sign_with_different_keys_queue_apart(
        repos: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two projects sign with keys of their own: a lock holder would sign the other
    project's change with its own key, which the forge shows as the wrong bot, or as
    unverified. A commit is signed with the key of every bump it holds."""
    from shipspec.spec import Signing

    spec_dir, bare = repos
    keys = []
    for name in ("a", "b"):
        key = tmp_path / f"key-{name}"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                        str(key)], check=True)
        keys.append(Signing("ssh", str(key), None))
    release = _first_holder_held(monkeypatch)
    holder = Bump(spec_dir, bare, "m00", "t0", signing=keys[0])
    wait_for(lambda: len(_locks(bare)) == 1)
    same_key = Bump(spec_dir, bare, "m01", "t1", signing=keys[0])
    wait_for(lambda: len([ref for ref in refs(bare, "refs/shipspec/")
                          if "/queue/" in ref]) == 2)
    other = Bump(spec_dir, bare, "m02", "t2", signing=keys[1]).result()
    assert isinstance(other, Outcome) and other.batched == 0
    release.set()
    written, batched = holder.result(), same_key.result()
    assert isinstance(written, Outcome) and isinstance(batched, Outcome)
    assert written.commit == batched.commit and written.changes == [("m00", "old", "t0")]
    for key, commit in ((keys[0], written.commit), (keys[1], other.commit)):
        allowed = tmp_path / "allowed_signers"
        allowed.write_text(f"bot@example.com {Path(f'{key.key_file}.pub').read_text()}")
        verified = subprocess.run(
            ["git", "--git-dir", str(bare), "-c", "gpg.format=ssh", "-c",
             f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", commit or ""],
            capture_output=True, text=True, check=False)
        assert verified.returncode == 0, verified.stderr
    assert pending(bare, "refs/shipspec/") == []
