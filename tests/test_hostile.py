"""A short, seeded hostile run of every verb (tests/hostile.py); the long one is
`python benchmarks/hostile.py --minutes N`."""

from __future__ import annotations

import random
from pathlib import Path

import hostile
import pytest


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_hostile_round_ends_in_output_or_a_located_error(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    findings = [finding for _ in range(25) for finding in hostile.hostile_round(tmp_path, rng)]
    assert findings == []


def test_the_harness_notices_what_it_looks_for() -> None:
    """The checks themselves: a crash, stdout on failure, readers that disagree."""
    crash = hostile.Outcome(["x"], 2, "", "shipspec: internal error: KeyError\n")
    assert hostile.problems(crash) == ["exit 2", "traceback or internal error"]
    partial = hostile.Outcome(["x"], 1, "kind: A\n", "error: no\n")
    assert hostile.problems(partial) == ["stdout written on failure"]
    disagree = hostile.Outcome(["x"], 0, "a: 1e10\n", "")  # 1.1 reads a string, 1.2 a float
    assert hostile.problems(disagree) == ["YAML 1.1 and 1.2 readers disagree"]


def test_a_branch_the_deployment_repository_lacks_is_the_servers_answer() -> None:
    def clone_failure(branch: str) -> hostile.Outcome:
        return hostile.Outcome(["history"], 2, "", (
            f"error: cannot clone /tmp/d.git (branch {branch}): warning: Could not find "
            f"remote branch {branch} to clone.\nfatal: Remote branch {branch} not found in "
            "upstream origin\n"))

    assert hostile.problems(clone_failure("T" * 1100)) == []  # seed 777: git accepts it
    # a branch git refuses must never get as far as git
    assert hostile.problems(clone_failure("--help")) == ["exit 2"]
    assert hostile.problems(clone_failure("a..b")) == ["exit 2"]


def test_the_harness_notices_a_location_past_the_end_and_a_webhook_reference(
        tmp_path: Path) -> None:
    short = tmp_path / "values.yaml"
    short.write_text("a: 1\n")
    past = hostile.Outcome(["x"], 1, "", f"{short}:22:7: error: cannot edit\n")
    assert hostile.problems(past) == ["a location past the end of values.yaml"]
    spec = tmp_path / "shipspec.yaml"
    spec.write_text("project: p\n")
    rendered = ("kind: TriggerBinding\nmetadata:\n  labels:\n"
                "    app.kubernetes.io/managed-by: shipspec\n    app.kubernetes.io/part-of: p\n"
                "spec:\n  params:\n  - {name: context, value: $(body.pusher.name)}\n")
    json_text = '{"items": ' + __import__("json").dumps(
        list(__import__("yaml").safe_load_all(rendered))) + "}"
    assert hostile.render_problems(rendered, json_text, spec) == [
        "$(body.pusher.name) from the spec reaches the render, where Tekton Triggers would "
        "fill it from the webhook event"]
    # the spec's own text, held in a ConfigMap for the bump step, is data: Triggers fills
    # binding params only
    data = rendered.replace("kind: TriggerBinding", "kind: ConfigMap").replace(
        "spec:\n  params:\n  - {name: context, value: $(body.pusher.name)}\n",
        "data:\n  shipspec.yaml: 'deploymentName: $(body.pusher.name)'\n")
    json_text = '{"items": ' + __import__("json").dumps(
        list(__import__("yaml").safe_load_all(data))) + "}"
    assert hostile.render_problems(data, json_text, spec) == []


@pytest.mark.parametrize("shape", hostile.LARGE_SHAPES)
def test_large_specs_end_in_output_or_a_located_error(tmp_path: Path, shape: str) -> None:
    """Specs at the file limit in the shapes that cost the most to read (the benchmark
    measures how long they take: benchmarks/hostile.py --large)."""
    findings = hostile.hostile_round(tmp_path, random.Random(7), git=False, large=1.0,
                                     shape=shape)
    assert findings == []
