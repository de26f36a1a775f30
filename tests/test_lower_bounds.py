"""pyproject.toml's lower bounds are honest: the tests of everything that parses, writes
and edits YAML and renders templates pass on the oldest releases it admits.

tests/run installs those releases (requirements/lowest.txt, hash-checked) into
.venv/lowest; this test runs those tests again with that folder first on the import path.
The lock itself (requirements/test.txt) holds the newest releases, which the rest of the
suite runs on; the two differ where it matters (PyYAML 6.0.1's libyaml 0.2.5 against a
newer PyYAML's libyaml 0.2.6, ruamel.yaml 0.18.0 against 0.19).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import REPO

LOWEST = REPO / ".venv" / "lowest"
TESTS = ["test_loading.py", "test_emit.py", "test_properties.py", "test_bump_targets.py",
         "test_values.py", "test_templates.py", "test_spec_checks.py"]
PROBE = ("import yaml, jinja2, ruamel.yaml, git; "
         "print(yaml.__version__, jinja2.__version__, ruamel.yaml.__version__, git.__version__)")


def _pins() -> str:
    text = (REPO / "requirements" / "lowest.txt").read_text()
    pin = {name: version for name, version in re.findall(r"^([a-z0-9-]+)==(\S+)", text, re.M)}
    return " ".join(pin[name] for name in ("pyyaml", "jinja2", "ruamel-yaml", "gitpython"))


def test_parsing_and_rendering_tests_pass_on_the_oldest_admitted_releases() -> None:
    if not LOWEST.is_dir():
        pytest.fail("no .venv/lowest: tests/run installs requirements/lowest.txt there")
    env = {**os.environ, "PYTHONPATH": str(LOWEST)}
    probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                           text=True, check=True)
    assert probe.stdout.split() == _pins().split()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
        cwd=REPO / "tests", env=env, capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
