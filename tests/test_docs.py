"""The documentation site builds with `mkdocs build --strict` (no broken link, no page left
out of the navigation), its reference pages hold every field, command and flag, and every
`sh` block of the guides runs as written.

A guide's `sh` blocks run in order, in one shell (`bash -eu -o pipefail`), in a scratch
directory holding a copy of examples/ (a repository root: a `.git` marks it), with the
installed shipspec and the tests' helm and helmfile first on PATH. Blocks that need a
cluster or a registry are fenced as `shell` and are not run; every guide has a block that
runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, REPO

from shipspec.cli.main import VERBS, build_parser
from shipspec.specfile.schema import SPEC_SCHEMA

DOCS = REPO / "docs"
GUIDES = sorted((DOCS / "guides").glob("*.md"))
_BLOCK = re.compile(r"(?ms)^( *)```sh\n(.*?)^\1```")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                            str(out)], cwd=REPO, capture_output=True, text=True, check=False,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert built.returncode == 0, built.stdout + built.stderr
    return out


def _text(page: Path) -> str:
    return re.sub(r"<[^>]+>", " ", page.read_text()).replace("&lt;", "<").replace("&gt;", ">")


def test_the_site_builds_strictly_with_every_page_in_its_navigation(site: Path) -> None:
    pages = {path.relative_to(DOCS).with_suffix("") for path in DOCS.rglob("*.md")}
    built = {path.parent.relative_to(site) for path in site.rglob("index.html")}
    assert {Path(str(page).removesuffix("index")) if page.name == "index" else page
            for page in pages} <= built | {Path(".")}


def test_the_spec_reference_holds_every_field(site: Path) -> None:
    text = _text(site / "reference" / "spec" / "index.html")

    def fields(schema: dict, path: str) -> list[str]:
        found = []
        for name, field in schema.get("properties", {}).items():
            dotted = f"{path}.{name}" if path else name
            found += [dotted, *fields(field, dotted)]
            entries = field.get("additionalProperties")
            if isinstance(entries, dict):
                found += fields(entries, f"{dotted}.<name>")
        return found

    missing = [field for field in fields(SPEC_SCHEMA, "") if field not in text]
    assert missing == []


def test_the_command_reference_holds_every_command_and_flag(site: Path) -> None:
    text = _text(site / "reference" / "commands" / "index.html")
    for verb in VERBS:
        assert f"shipspec {verb}" in text
        parser = build_parser(verb)._subparsers._group_actions[0].choices[verb]
        for action in parser._actions:  # argparse keeps no public list of them
            for flag in action.option_strings:
                assert flag in text or flag in ("-h", "--help"), (verb, flag)


def test_the_home_page_shows_the_readmes_status_table(site: Path) -> None:
    """One table, written in the README: the site's copy of it had fallen behind."""
    readme = (REPO / "README.md").read_text().split("\n## Status\n", 1)[1]
    rows = [line for line in readme.split("\n## ", 1)[0].splitlines()
            if line.startswith("| ") and not line.startswith("| part |")]
    assert len(rows) >= 8
    assert (site / "index.html").read_text().count("<tr>") >= len(rows) + 1  # a table
    home = "".join(_text(site / "index.html").split())  # markup left spaces around code
    for row in rows:
        for cell in row.strip("|").split(" | "):
            assert "".join(cell.replace("`", "").split()) in home, cell


@pytest.mark.parametrize("guide", GUIDES, ids=[path.stem for path in GUIDES])
def test_every_sh_block_of_a_guide_runs(guide: Path, tmp_path: Path) -> None:
    blocks = [textwrap.dedent(body) for _, body in _BLOCK.findall(guide.read_text())]
    assert blocks, f"{guide.name} shows nothing a reader can run without a cluster"
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    (tmp_path / ".git").mkdir()
    bin_dirs = [str(Path(sys.executable).parent), str(REPO / "tests" / "tools" / "bin")]
    env = {**os.environ, "PATH": os.pathsep.join([*bin_dirs, os.environ["PATH"]]),
           "HOME": str(tmp_path / "home")}
    script = "\n".join(blocks)
    ran = subprocess.run(["bash", "-eu", "-o", "pipefail", "-c", script], cwd=tmp_path,
                         env=env, capture_output=True, text=True, check=False, timeout=300)
    assert ran.returncode == 0, f"{guide.name}:\n{script}\n--- stdout\n{ran.stdout}" \
                                f"\n--- stderr\n{ran.stderr}"


def test_the_tekton_guides_prune_selects_and_lists_every_object_it_must_delete(
        tmp_path: Path) -> None:
    """Step 7's `kubectl apply --prune`: `-l` filters what is applied too, so an object
    without both labels would silently never be applied; a kind missing from the allowlist
    would stay in the cluster after its module is removed (kubectl v1.34
    pkg/cmd/apply/prune.go prunes the listed kinds of the applied namespaces only)."""
    guide = (DOCS / "guides" / "tekton.md").read_text()
    command = next(body for _, body in re.findall(r"(?ms)^( *)```shell\n(.*?)^\1```", guide)
                   if "--prune" in body)
    selector = dict(pair.split("=") for pair in re.search(r" -l (\S+)", command)[1].split(","))
    allowlist = set(re.findall(r"--prune-allowlist=(\S+)", command))
    namespaced: set[str] = set()
    for spec in [EXAMPLES / "gointern-backend", _every_tekton_object(tmp_path)]:
        for document in yaml.safe_load_all(subprocess.run(
                [sys.executable, "-m", "shipspec", "generate", str(spec)], check=True,
                capture_output=True, text=True).stdout):
            labels = document["metadata"]["labels"]
            assert {key: labels.get(key) for key in selector} == {
                "app.kubernetes.io/managed-by": "shipspec",
                "app.kubernetes.io/part-of": "gointern-backend"}, document["metadata"]
            group, _, version = document["apiVersion"].rpartition("/")
            if "namespace" in document["metadata"]:
                namespaced.add(f"{group or 'core'}/{version}/{document['kind']}")
    # claims are kept on purpose (the guide says to delete a removed module's by hand)
    assert allowlist == namespaced - {"core/v1/PersistentVolumeClaim"}


def _every_tekton_object(tmp_path: Path) -> Path:
    """Seed A's example with commit statuses and a chat notification: the objects that
    reporting adds."""
    directory = tmp_path / "gointern-backend"
    shutil.copytree(EXAMPLES / "gointern-backend", directory)
    (tmp_path / ".git").mkdir()
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text()
                    .replace("webhookSecret: gointern-github-webhook",
                             "webhookSecret: gointern-github-webhook\n"
                             "  statusSecret: github-status")
                    .replace("  images:\n", "  notifySecret: chat-webhook\n  images:\n"))
    return directory


def test_the_readme_is_a_short_entry_point_into_the_site() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    for target in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (REPO / target).is_file(), target
