"""What shipspec emits passes linters that no one here wrote (installed by tests/run)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLES, REPO, run_process

TOOLS = REPO / "tests" / "tools" / "node_modules" / ".bin"
BUILDAH = "quay.io/buildah/stable:v1.43@sha256:" + "1" * 64


def tool(name: str) -> Path:
    path = TOOLS / name
    assert path.exists(), f"{name} is missing: run `bash tests/run`, which installs it with npm"
    return path


def tekton_lint(*files: Path) -> list[dict[str, object]]:
    completed = subprocess.run([str(tool("tekton-lint")), "--format", "json",
                                *map(str, files)],
                               capture_output=True, text=True, check=False, cwd=REPO)
    problems: list[dict[str, object]] = json.loads(completed.stdout or "[]")
    return problems


def generated(spec_dir: Path, tmp_path: Path, name: str) -> Path:
    result = run_process("generate", str(spec_dir))
    assert result.code == 0, result.err
    target = tmp_path / f"{name}.yaml"
    target.write_text(result.out)
    return target


def test_tekton_lint_reports_problems_in_a_broken_pipeline(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\n"
                      "spec:\n  tasks:\n    - name: t\n      taskRef: {name: missing}\n")
    assert [p["rule"] for p in tekton_lint(broken)] == ["no-missing-resource"]


@pytest.mark.parametrize("example", ["gointern-backend", "astrago"])
def test_examples_pass_tekton_lint_with_no_errors_or_warnings(example: str,
                                                              tmp_path: Path) -> None:
    assert tekton_lint(generated(EXAMPLES / example, tmp_path, example)) == []


def test_buildah_and_reporting_variant_passes_tekton_lint(example_copy, tmp_path: Path) -> None:
    directory = example_copy("gointern-backend")
    spec = directory / "shipspec.yaml"
    text = spec.read_text()
    text = text.replace("builder: kaniko      # seed A's builder", "builder: buildah")
    text = text.replace("  images:\n",
                        f"  notifySecret: chat-webhook\n  images:\n    buildah: {BUILDAH}\n")
    text = text.replace("webhookSecret: gointern-github-webhook",
                        "webhookSecret: gointern-github-webhook\n  statusSecret: github-status")
    spec.write_text(text)
    output = generated(directory, tmp_path, "variant")
    assert "gointern-backend-report" in output.read_text()
    assert tekton_lint(output) == []
