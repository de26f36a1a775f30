from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shipspec.cli.main import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"

# A clone has nothing beside it: a test that reads a sibling of the repository (such as
# ../shared) passes here and fails for everyone else. Every file this process opens is
# checked (sys.addaudithook, event "open"); dot-files beside it (~/.gitconfig when the
# repository sits in a home directory) are the environment's, not data.
_OUTSIDE_READS: list[str] = []


# A clone made in the temporary directory has scratch files beside it (pytest's tmp_path,
# tempfile's directories, shipspec's own clones): those are not data from a sibling.
_SCRATCH = (("tmp", "pytest-of-", "shipspec-") if str(REPO.parent) == tempfile.gettempdir()
            else ())


def _record_outside_reads(event: str, arguments: tuple[object, ...]) -> None:
    if event != "open" or not isinstance(arguments[0], str | bytes | os.PathLike):
        return
    path = os.path.abspath(os.fsdecode(arguments[0]))
    beside = os.path.relpath(path, REPO.parent)
    if (not beside.startswith((os.pardir, ".", *_SCRATCH)) and beside != REPO.name
            and not beside.startswith(REPO.name + os.sep)):
        _OUTSIDE_READS.append(path)


sys.addaudithook(_record_outside_reads)


@pytest.fixture(autouse=True)
def nothing_read_beside_the_repository() -> Iterator[None]:
    yield
    found, _OUTSIDE_READS[:] = list(_OUTSIDE_READS), []
    assert not found, f"the test read files beside the repository: {found}"
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


def wait_for(condition: Callable[[], bool]) -> None:
    """Until `condition()` holds; a failure after a minute."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


_SIGINT_DEFAULT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                   "os.execv(sys.executable, [sys.executable, '-m', 'shipspec', *sys.argv[1:]])")


def stopped_process(*args: str, scratch: Path, started: Callable[[], bool],
                    how: int = signal.SIGTERM) -> tuple[int, str]:
    """The exit code and standard error of shipspec run as a separate process and stopped
    with the signal `how` once `started()`; its temporary files go below `scratch` (a
    killed process cannot remove them)."""
    scratch.mkdir()
    # SIGINT as Ctrl-C finds a command in the foreground: a suite started in the background
    # (`bash tests/run &`, nohup) has SIGINT ignored, which a process inherits, and Python
    # then leaves it ignored. Set to default before shipspec starts (exec keeps it).
    process = subprocess.Popen([sys.executable, "-c", _SIGINT_DEFAULT, *args],
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(scratch)})
    wait_for(started)
    process.send_signal(how)
    _, errors = process.communicate(timeout=60)
    return process.returncode, errors


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


@pytest.fixture
def yaml_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every file read into a YamlText (parsed whole) from now on, in order."""
    from shipspec.values.yamltext import YamlText

    reads: list[str] = []
    original = YamlText.__init__

    def counted(self: YamlText, text: str, name: str) -> None:
        reads.append(name)
        original(self, text, name)

    monkeypatch.setattr(YamlText, "__init__", counted)
    return reads


def assert_golden(path: Path, actual: str) -> None:
    """Compare with a golden file; SHIPSPEC_UPDATE_GOLDEN=1 rewrites it instead."""
    if os.environ.get("SHIPSPEC_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    assert path.exists(), f"{path} is missing: run the tests with SHIPSPEC_UPDATE_GOLDEN=1"
    assert path.read_text() == actual, (
        f"{path} differs: if the change is intended, run the tests with SHIPSPEC_UPDATE_GOLDEN=1")
