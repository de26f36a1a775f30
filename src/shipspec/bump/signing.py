"""Signed bump commits, for deployment branches that require them.

git signs each commit with the key `deploy.signing` names: an SSH key (git's
`gpg.format=ssh`, signed by ssh-keygen) or an OpenPGP key (gpg, in a keyring made for the
bump alone). The key comes from a file or from an environment variable, never from the
command line, and reaches git through `GIT_CONFIG_*` variables of the commit alone. A key
that is missing or unusable is refused before the bump posts or pushes anything.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile

from shipspec.bump.git import config_variables
from shipspec.errors import SpecError
from shipspec.spec import Signing


def check(signing: Signing) -> str:
    """The key's public half, which its signatures are verified with (an SSH public key,
    or an OpenPGP fingerprint); refuse (SpecError) a key that is not there or that cannot
    sign."""
    return _checked(signing, _key(signing))


@functools.cache  # the command line checks the key, then the queue names itself by it
def _checked(signing: Signing, key: bytes) -> str:
    with tempfile.TemporaryDirectory(prefix="shipspec-signing-") as scratch:
        return _prepared(signing, key, scratch)[1]


def commit_environment(signing: Signing, scratch: str) -> dict[str, str]:
    """The environment of a `git commit` that signs with the key: its file and, for
    OpenPGP, its keyring are made in `scratch`, which must outlive the commits."""
    return _prepared(signing, _key(signing), scratch)[0]


def _prepared(signing: Signing, key: bytes, scratch: str) -> tuple[dict[str, str], str]:
    if signing.format == "ssh":
        path = os.path.join(scratch, "signing-key")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as stream:
            stream.write(key if key.endswith(b"\n") else key + b"\n")
        public = _run(["ssh-keygen", "-y", "-P", "", "-f", path], None, signing,
                      "is not an SSH private key without a passphrase")
        signer = " ".join(public.split()[:2])  # its type and key, without the comment
        config = {"gpg.format": "ssh", "user.signingKey": path}
        extra: dict[str, str] = {}
    else:
        home = os.path.join(scratch, "gnupg")
        os.mkdir(home, 0o700)
        extra = {"GNUPGHOME": home}
        _run(["gpg", "--batch", "--quiet", "--import"], key, signing,
             "is not an OpenPGP key gpg can import", extra)
        listing = _run(["gpg", "--batch", "--with-colons", "--list-secret-keys"], None,
                       signing, "holds no secret key", extra)
        fingerprints = [line.split(":")[9] for line in listing.splitlines()
                        if line.startswith("fpr:")]
        if not fingerprints:
            raise _refusal(signing, "holds no secret key")
        signer = fingerprints[0]
        config = {"gpg.format": "openpgp", "user.signingKey": signer}
    config["commit.gpgSign"] = "true"
    return {**extra, **config_variables(list(config.items()))}, signer


def _key(signing: Signing) -> bytes:
    if signing.key_env is not None:
        value = os.environ.get(signing.key_env, "")
        if not value.strip():
            raise _refusal(signing, "is not set")
        return value.encode()
    assert signing.key_file is not None  # the resolver requires one of the two
    try:
        with open(signing.key_file, "rb") as stream:
            return stream.read()
    except OSError as err:
        raise _refusal(signing, f"cannot be read: {err.strerror}") from None


def _run(argv: list[str], stdin: bytes | None, signing: Signing, problem: str,
         extra: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, check=False,  # noqa: S603
                              env={**os.environ, **(extra or {})},
                              stdin=None if stdin is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise _refusal(signing, f"cannot be used: {argv[0]} is not installed") from None
    if done.returncode:
        raise _refusal(signing, problem)
    return done.stdout.decode("utf-8", "replace")


def _refusal(signing: Signing, problem: str) -> SpecError:
    where = (f"the key in ${signing.key_env}" if signing.key_env is not None
             else f"the key file {signing.key_file}")
    return SpecError.single(
        f"{where} {problem}; nothing was pushed", path="deploy.signing",
        hint=f"deploy.signing asks for a {signing.format} key that signs every bump commit")
