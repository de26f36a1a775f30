from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shipspec.cli.main import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
# Specs on Tekton name the team's own shipspec image; tests use this well-formed pin.
SHIPSPEC_IMAGE_LINE = (
    "ci: {images: {shipspec: 'registry.test/shipspec:1@sha256:" + "0" * 64 + "'}}\n"
)


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run shipspec in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def run_process(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
    """Run shipspec as a separate process, as CI and Argo CD do."""
    completed = subprocess.run(
        [sys.executable, "-m", "shipspec", *args],
        cwd=cwd, env=env or dict(os.environ), capture_output=True, text=True, check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git work tree (a `.git` directory marks the repository root)."""
    (tmp_path / ".git").mkdir()
    return tmp_path


@pytest.fixture
def example_copy(tmp_path: Path):
    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(EXAMPLES / name, target)
        (target / ".git").mkdir(exist_ok=True)
        return target

    return copy


def assert_golden(path: Path, actual: str) -> None:
    """Compare with a golden file; SHIPSPEC_UPDATE_GOLDEN=1 rewrites it instead."""
    if os.environ.get("SHIPSPEC_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    assert path.exists(), f"{path} is missing: run the tests with SHIPSPEC_UPDATE_GOLDEN=1"
    assert path.read_text() == actual, (
        f"{path} differs: if the change is intended, run the tests with SHIPSPEC_UPDATE_GOLDEN=1")
