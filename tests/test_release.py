"""What a user installs is what the tests ran: the sdist and wheel `python -m build` makes,
checked as PyPI checks them (`twine check`), and the wheel installed alone into a fresh
venv (with only the locked runtime dependencies), of this Python and of each newer one the
machine has, runs on the examples as the source tree does. One version everywhere: `shipspec --version`, the package metadata, the schema's
`$comment` and CHANGELOG.md's newest release.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import EXAMPLES, REPO, run_process

import shipspec

WHEELHOUSE = REPO / ".venv" / "wheelhouse"  # tests/run: requirements/runtime.txt's wheels


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
                    "--outdir", str(out), str(REPO)], check=True, capture_output=True)
    return out


def test_the_sdist_and_wheel_carry_the_version_and_pass_twine_check(dist: Path) -> None:
    names = sorted(path.name for path in dist.iterdir())
    version = shipspec.__version__
    assert names == [f"shipspec-{version}-py3-none-any.whl", f"shipspec-{version}.tar.gz"]
    checked = subprocess.run([sys.executable, "-m", "twine", "check", "--strict",
                              *map(str, dist.iterdir())], capture_output=True, text=True,
                             check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with zipfile.ZipFile(next(dist.glob("*.whl"))) as wheel:
        files = wheel.namelist()
    assert "shipspec/py.typed" in files
    assert not [name for name in files if name.startswith(("tests/", "examples/"))]


# The newer CPythons of the machine, each beside the runtime's wheels for it (tests/run).
OTHER_PYTHONS = sorted((REPO / ".venv" / "other-pythons").glob("3.*"))


@pytest.mark.parametrize("python", [None, *OTHER_PYTHONS],
                         ids=["this python", *(path.name for path in OTHER_PYTHONS)])
def test_the_wheel_alone_runs_as_the_source_tree_does(dist: Path, tmp_path: Path,
                                                           python: Path | None) -> None:
    """On the tests' Python and on every newer one the machine has (requires-python is
    >=3.11): the same output, byte for byte, as the source tree on the tests' Python."""
    interpreter, wheelhouse = ((sys.executable, WHEELHOUSE) if python is None else
                               (str(python / "python"), python / "wheelhouse"))
    if not wheelhouse.is_dir():
        pytest.fail(f"no {wheelhouse}: tests/run downloads requirements/runtime.txt there")
    venv = tmp_path / "venv"
    subprocess.run([interpreter, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index",
           "--disable-pip-version-check"]
    subprocess.run([*pip, "--find-links", str(wheelhouse), "--require-hashes",
                    "-r", str(REPO / "requirements" / "runtime.txt")], check=True)
    subprocess.run([*pip, "--no-deps", str(next(dist.glob("*.whl")))], check=True)
    if python is not None:
        version = subprocess.run([str(venv / "bin" / "python"), "-c",
                                  "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, check=True).stdout
        assert version == f"{python.name}\n"
    installed = str(venv / "bin" / "shipspec")

    def both(*args: str) -> str:
        """Output of the installed wheel, which must equal the source tree's."""
        wheel = subprocess.run([installed, *args], capture_output=True, text=True, check=False,
                               cwd=tmp_path)  # not the source tree: nothing to import there
        source = run_process(*args)
        assert (wheel.returncode, wheel.stdout, wheel.stderr) == (
            source.code, source.out, source.err)
        return wheel.stdout

    assert both("--version") == f"shipspec {shipspec.__version__}\n"
    assert both("validate", str(EXAMPLES / "astrago")).startswith(
        f"{EXAMPLES / 'astrago' / 'shipspec.yaml'}: valid")
    assert "kind: Pipeline" in both("generate", str(EXAMPLES / "gointern-backend"))
    assert "jobs:" in both("generate", str(EXAMPLES / "astrago"),
                           "--target", "github-actions")
    assert "repository:" in both("values", str(EXAMPLES / "astrago"), "--env", "stage")
    assert json.loads(both("schema"))["$comment"] == f"shipspec {shipspec.__version__}"


def test_the_changelog_names_the_version_as_its_newest_release() -> None:
    text = (REPO / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", text, re.M)
    assert releases and releases[0] == shipspec.__version__
    assert "## [Unreleased]" in text.split(f"## [{releases[0]}]")[0]
