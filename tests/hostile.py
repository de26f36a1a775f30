"""A random, hostile run of shipspec's verbs: specs mutated from the examples, Argo CD
environments, values files and random bytes. Every run must end in exactly one of two ways:
exit 0 with output that YAML 1.1 and 1.2 readers read alike (and JSON equal to YAML), or
exit 1 with a message on stderr and nothing on stdout. Never exit 2 (that is for git and
the network), never a traceback.

tests/test_hostile.py runs a short seeded round in CI; `python benchmarks/hostile.py
--minutes N` runs a long one.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from ruamel.yaml import YAML

from shipspec.cli.main import main

REPO = Path(__file__).resolve().parent.parent
BASES = [REPO / "examples" / "gointern-backend" / "shipspec.yaml",
         REPO / "examples" / "astrago" / "shipspec.yaml",
         REPO / "tests" / "fixtures" / "manifests" / "shipspec.yaml",
         REPO / "tests" / "fixtures" / "one-string" / "shipspec.yaml"]
SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"

# Values a careless user or an attacker would write into any field.
HOSTILE = ["", " ", "a b", "${{ github.event.head_commit.message }}", "$(body.pusher.name)",
           "\x1b[31mred", "a\nb", "a\r\nb", "'", '"', "\\", "../../etc/passwd", "/abs",
           "C:\\x", "~", "012", "0x1f", "1e10", "12345e67", "null", "~", "on", "y", "*",
           "[", "{", "&a", "*a", "!!python/object:os.system", "{{ module }}",
           "{% for x in module %}{{ x }}{% endfor %}", "{{ ''.__class__ }}", "é" * 70,
           "x" * 300, "core", "stage", "main", "-", "--help", "a/b", "UPPER", "🚀",
           "ghcr.io/o/core,replicaCount:0", "sha256:abc", "5Gi\n", "0",
           "T" * 1100]  # longer than a YAML simple key may be
WEBHOOK_REFERENCE = "$(body.pusher.name)"  # what Triggers would fill from the event


class Outcome(NamedTuple):
    argv: list[str]
    code: int
    out: str
    err: str


def run(argv: list[str], env: dict[str, str] | None = None) -> Outcome:
    """shipspec in-process, as a process would run it, with `env` added to os.environ."""
    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Outcome(argv, code, out.getvalue(), err.getvalue())


# What stderr may hold: a failure's first SHOWN_PROBLEMS problems (errors.py), each with a
# key or value cut as messages quote them; Argo CD keeps the plugin's whole stderr in the
# Application's status.
MESSAGE_LIMIT = 64 * 1024


def problems(outcome: Outcome, output: str = "yaml") -> list[str]:
    """What is wrong with how a run ended; empty when it ended in one of the two ways."""
    found = []
    if outcome.code not in (0, 1) and not _absent_branch(outcome):
        found.append(f"exit {outcome.code}")
    if "Traceback" in outcome.err or "internal error" in outcome.err:
        found.append("traceback or internal error")
    if outcome.code != 0 and outcome.out:
        found.append("stdout written on failure")
    if outcome.code == 1 and not outcome.err.strip():
        found.append("failure without a message")
    if len(outcome.err) > MESSAGE_LIMIT:
        found.append(f"a message of {len(outcome.err):,} characters")
    for file, line in re.findall(r"^(\S+?):(\d+):\d+: error:", outcome.err, re.M):
        if os.path.isfile(file) and int(line) > max(1, _line_count(file)):
            found.append(f"a location past the end of {os.path.basename(file)}")
    if outcome.code == 0 and output == "yaml" and outcome.out:
        try:
            v11 = list(yaml.safe_load_all(outcome.out))
            v12 = list(YAML(typ="safe", pure=True).load_all(outcome.out))
        except Exception as err:  # any reader error is a finding
            found.append(f"output unreadable: {str(err).splitlines()[0]}")
        else:
            if v11 != v12:
                found.append("YAML 1.1 and 1.2 readers disagree")
    if outcome.code == 0 and output == "json":
        try:
            json.loads(outcome.out)
        except ValueError as err:
            found.append(f"JSON unreadable: {err}")
    return found


def _absent_branch(outcome: Outcome) -> bool:
    """Exit 2 because the deployment repository has no such branch: the server's answer,
    not ours to give, when the spec named a branch git accepts (a mutated spec often names
    one the repository lacks). A branch git would refuse stays a finding: the spec check
    should have stopped it (it once let `--help` through to git)."""
    missing = re.search(r"Remote branch (.+) not found in upstream origin", outcome.err)
    if outcome.code != 2 or not missing:
        return False
    # outside any repository, as git checks a branch of a remote
    check = subprocess.run(["git", "check-ref-format", "--branch", missing.group(1)],
                           cwd="/", capture_output=True, check=False)
    return check.returncode == 0


def _line_count(path: str) -> int:
    with open(path, "rb") as stream:
        return len(stream.read().decode("utf-8", "replace").splitlines())


def mutate(text: str, rng: random.Random) -> str:
    """One to three hostile edits of a spec's text."""
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        index = rng.randrange(len(lines))
        line = lines[index]
        if choice < 0.55 and ":" in line and not line.lstrip().startswith("#"):
            key, _, _ = line.partition(":")
            lines[index] = f"{key}: {json.dumps(rng.choice(HOSTILE))}"
        elif choice < 0.65:
            del lines[index]
        elif choice < 0.75:
            lines.insert(index, line)  # a duplicate key, most of the time
        elif choice < 0.85:
            lines[index] = " " * rng.randint(0, 6) + line.lstrip()
        elif choice < 0.92:
            lines = lines[:index]  # truncated
        else:
            lines[index] = line + rng.choice([" &a", " *a", " !!binary", " [", " {", " #"])
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


LIMIT = 4 * 1024 * 1024  # the spec's file limit (loading.Limits.max_bytes)
LARGE_HEADER = ("project: big\nregistry: {url: ghcr.io/o}\n"
                "source: {url: https://github.com/o/app.git, webhookSecret: hook}\n"
                "deploy: {url: https://github.com/o/deploy.git, credentialsSecret: deploy}\n"
                "environments: {stage: {branch: main, values: values.yaml}}\n")


LARGE_SHAPES = ("modules", "paths", "deep", "aliases", "scalar", "environments", "flow",
                "comments", "modules over the cap", "one repository", "mistakes")


def large_spec(rng: random.Random, shape: str | None = None) -> tuple[str, str]:
    """(shape, text): a spec just within (or just over) what the limits allow, in one of the
    shapes that cost the most to read: many modules, long lists, deep nesting, aliases, long
    scalars, many environments, one long flow line, mostly comments, a mistake a line; on
    Tekton, or on GitHub Actions (the shape says so)."""
    shape = shape or rng.choice(LARGE_SHAPES)
    budget = LIMIT - rng.choice([0, 1, 4096, 200_000])  # at the limit, or just under it
    if shape in ("modules", "modules over the cap"):
        count = rng.choice([500, 1000, 2000]) if shape == "modules" else rng.choice(
            [2001, 10_000, 60_000])
        paths = rng.choice([0, 5, 60])
        entries = "".join(
            f"  m{index}:\n    values: apps.m{index}\n"
            + (f"    paths: [{', '.join(f'src/m{index}/p{p}/' for p in range(paths))}]\n"
               if paths else "") for index in range(count))
        text = LARGE_HEADER + "modules:\n" + entries
    elif shape == "one repository":  # source and deployment: each filter lists files
        count = rng.choice([150, 220, 2000])  # within the bound on them, or over it
        image = f"ghcr.io/o/shipspec:1@sha256:{'0' * 64}"
        text = (LARGE_HEADER.replace("o/deploy.git", "o/app.git")
                + f"namespace: ci\nci: {{images: {{shipspec: '{image}'}}}}\nmodules:\n"
                + "".join(f"  m{index}: {{manifest: {{file: deploy/m{index}.yaml, "
                          f"name: m{index}}}}}\n" for index in range(count)))
    elif shape == "paths":
        each = "      - src/a/very/long/path/segment/that/repeats/"
        count = (budget - len(LARGE_HEADER) - 60) // (len(each) + 1)
        text = LARGE_HEADER + "modules:\n  core:\n    values: apps.core\n    paths:\n" + (
            each + "\n") * count
    elif shape == "deep":
        depth = rng.choice([60, 63, 64, 65, 1000])
        nested = "[" * depth + "]" * depth
        text = LARGE_HEADER + "modules: {core: {values: apps.core}}\nx-extra:\n" + "".join(
            f"  k{index}: {nested}\n" for index in range(budget // (2 * depth + 12)))
    elif shape == "aliases":
        text = (LARGE_HEADER + "modules: {core: {values: apps.core}}\nanchor: &a [" +
                ", ".join(["x"] * 1000) + "]\nmany: [" + ", ".join(["*a"] * 600) + "]\n")
    elif shape == "scalar":
        text = LARGE_HEADER + "modules:\n  core:\n    values: apps.core\n    dockerfile: " + (
            "d" * (budget - len(LARGE_HEADER) - 60)) + "\n"
    elif shape == "environments":
        each = "  e{0}: {{branch: b{0}, values: v{0}.yaml}}\n"
        count = min(200_000, budget // len(each.format(99999)))
        text = (LARGE_HEADER.replace("environments: {stage: {branch: main, values: "
                                     "values.yaml}}\n", "")
                + "environments:\n" + "".join(each.format(i) for i in range(count))
                + "modules: {core: {values: apps.core}}\n")
    elif shape == "flow":
        count = 1500
        text = LARGE_HEADER + "modules: {" + ", ".join(
            f"m{i}: {{values: apps.m{i}, paths: [{', '.join(['src/'] * 40)}]}}"
            for i in range(count)) + "}\n"
    elif shape == "mistakes":  # a problem on every line, each with a hint to compute
        key = "x" * rng.choice([8, 40, 1000])
        each = f"    ? {key}{{}}\n    : 1\n"
        count = (budget - len(LARGE_HEADER) - 40) // (len(each) + 6)
        text = LARGE_HEADER + "modules:\n  core:\n" + "".join(
            each.format(index) for index in range(count))
    else:  # comments
        text = LARGE_HEADER + "modules: {core: {values: apps.core}}\n"
        text += "# a comment line that repeats\n" * ((budget - len(text)) // 31)
    text = text[:budget] if shape == "paths" else text
    # Half on the GitHub Actions engine, which bounds neither the spec's size (a Tekton
    # ConfigMap) nor a module's paths (a Tekton filter): such specs are read whole.
    if rng.random() < 0.5 and "\nci:" not in text:
        return f"{shape} (GitHub Actions)", text.replace("\n", "\nci: {engine: github-actions}\n", 1)
    if rng.random() < 0.3 and "\nci:" not in text:  # the project's Triggers, none a module's
        return f"{shape} (dispatch)", text.replace("\n", "\nci: {triggers: dispatch}\n", 1)
    return shape, text


def argo_environment(rng: random.Random) -> dict[str, str]:
    parameters: Any = rng.choice([
        None, [], [{"name": "namespace"}], [{"name": "modules", "array": ["core", "system"]}],
        [{"name": "labels", "map": {"team": rng.choice(HOSTILE)}}],
        [{"name": rng.choice(HOSTILE), "string": rng.choice(HOSTILE)}],
        [{"name": "environment", "string": rng.choice(HOSTILE)}],
        [{"name": ["x"]}], {"name": "x"}, "[" * rng.randint(1, 3000)])
    env = {"ARGOCD_APP_NAMESPACE": rng.choice(["ci", "", "a b", "Upper", "x" * 70]),
           "ARGOCD_APP_NAME": "app"}
    if parameters is not None:
        env["ARGOCD_APP_PARAMETERS"] = (parameters if isinstance(parameters, str)
                                        else json.dumps(parameters))
    if rng.random() < 0.5:
        name = rng.choice(["MODULES", "NAMESPACE", "ENVIRONMENT", "TARGET"])
        env[f"ARGOCD_ENV_SHIPSPEC_{name}"] = rng.choice(HOSTILE).replace("\x00", "")
    return env


def cases(directory: Path, rng: random.Random) -> Iterator[tuple[list[str], dict[str, str],
                                                                 str]]:
    """(argv, extra environment, output kind) of one round on one mutated spec."""
    path = str(directory)
    yield ["validate", path], {}, "text"
    yield ["generate", path], {}, "yaml"
    yield ["generate", path, "--format", "json"], {}, "json"
    yield ["generate", path, "--target", rng.choice(["github-actions", "values"])], {}, "yaml"
    yield ["generate", "--argocd", path], argo_environment(rng), "yaml"
    module = rng.choice(["core", "system", "portal", rng.choice(HOSTILE)])
    environment = rng.choice(["stage", "dev", rng.choice(HOSTILE)])
    changed = directory / "changed"
    changed.write_bytes(rng.choice([b"shipspec.yaml\n", b"server-core/a\0\0b\0",
                                    os.urandom(32)]))
    # with a pull request's files, as Tekton's tag Task runs it
    yield ["tag", path, "--module", module, "--sha", rng.choice([SHA, SHA.upper(), "xyz"]),
           "--env", environment, *rng.choice([[], ["--changed-files", str(changed),
                                                   "--touched-output",
                                                   str(directory / "touched")]])], {}, "text"
    # as a Tekton dispatch run's steps run it (ci.triggers: dispatch), with what the
    # webhook's sender chose
    repository = rng.choice(["xiilab/astrago-backend", "GoyoAI/gointern-backend",
                             rng.choice(HOSTILE)])
    yield ["dispatch", path, "--repository", repository, "--source-output",
           str(directory / "source-url")], {}, "text"
    printed = rng.random() < 0.5
    yield ["dispatch", path, "--repository", repository,
           "--event", rng.choice(["push", "pull-request", rng.choice(HOSTILE)]),
           "--branch", rng.choice(["refs/heads/stabilize/1.0", "dev-system", "dev",
                                   rng.choice(HOSTILE)]),
           f"--revision={rng.choice([SHA, SHA.upper(), 'xyz', rng.choice(HOSTILE)])}",
           "--changed-files", str(rng.choice([changed, directory / "none"])),
           *rng.choice([[], ["--module", module], ["--env", environment],
                        ["--label", f"team={rng.choice(HOSTILE)}"]]),
           *([] if printed else ["--output", str(directory / "runs.json")])
           ], {}, "json" if printed else "text"
    yield ["values", path, "--env", environment], {}, "yaml"
    values = directory / "values.yaml"
    values.write_bytes(rng.choice([b"", b"astrago: {}\n", b"\xff\xfe", b"a: [\n",
                                   b"astrago:\n  core: *x\n", os.urandom(64),
                                   # the large specs' modules, without their tags
                                   b"apps:\n" + b"".join(
                                       f"  m{index}:\n    repository: r{index}\n".encode()
                                       for index in range(2000))]))
    yield ["values", path, "--env", environment, "--check", str(values)], {}, "text"
    # a Tekton build without a push; GitHub Actions' plan with the spec before the push
    yield ["generate", path, "--run", rng.choice([SHA, SHA.upper(), "xyz", "a" * 64]),
           *rng.choice([[], ["--module", module], ["--env", environment]])], {}, "yaml"
    before = directory / "before" / "shipspec.yaml"
    before.parent.mkdir(exist_ok=True)
    before.write_bytes(rng.choice([(directory / "shipspec.yaml").read_bytes(), b"",
                                   b"modules: [\n", os.urandom(64)]))
    yield ["plan", path, "--repository",
           rng.choice(["xiilab/astrago-backend", "goyoai/gointern-backend",
                       rng.choice(HOSTILE)]),
           "--branch", rng.choice(["stabilize/1.0", "dev-system", rng.choice(HOSTILE)]),
           "--sha", SHA, "--changed-files", str(changed), "--spec-before", str(before)
           ], {}, "text"


# The deployment repository the git verbs run against (dry runs: nothing is pushed), with
# both examples' real layouts: astrago's helmfile values, gointern's kustomize overlays.
DEPLOYMENT_FILES = {
    "helmfile/environments/customers/xiilab/values.yaml": (
        "astrago:\n  imageDefaults:\n    registry: ghcr.io\n"
        "    repository: xiilab/astrago-backend\n  components:\n"
        "    core: {tag: core-1}\n    batch:\n      tag: batch-1\n"
        "    monitor:\n      tag: &t monitor-1\n      previous: *t\n"
        "    frontend:\n      repository: xiilab/astrago-frontend\n      tag: f-1\n"),
    **{f"goyoai-{m}/overlays/dev/kustomization.yaml":
       f"images:\n  - name: ghcr.io/goyoai/goyoai-gointern-{m}\n    newTag: dev-1\n"
       for m in ("system", "portal", "aify")},
    # Argo CD source files, as Argo CD Image Updater leaves them: one sets portal's image
    # (its bumps are refused), one another image
    "goyoai-portal/overlays/dev/.argocd-source-goyoai-portal.yaml":
        "kustomize:\n  images:\n  - ghcr.io/goyoai/goyoai-gointern-portal:dev-9\n",
    "goyoai-system/overlays/dev/.argocd-source.yaml": "kustomize:\n  images: [envoy:1.30]\n",
    "helmfile/environments/customers/xiilab/.argocd-source.yaml":
        "helm:\n  parameters: [{name: replicaCount, value: '2'}]\n",
    # tests/fixtures/one-string's values: each image one string, pinned or not; prod's
    # encrypted by SOPS, its authentication over the encrypted values only (bumped), the
    # tags in clear
    **{f"env/{environment}/values.yaml": (
        f"shop:\n  core:\n    image: ghcr.io/acme/core:core-{environment}-1  # one string\n"
        f"  web:\n    image: 'ghcr.io/acme/web:w-1@sha256:{'c' * 64}'\n    replicas: 2\n"
        + ("  db:\n    password: ENC[AES256_GCM,data:zP/J,iv:qYdA,tag:mZDp,type:str]\n"
           "sops:\n    lastmodified: \"2026-12-06T11:45:30Z\"\n"
           "    mac: ENC[AES256_GCM,data:s9rD,iv:tZ4F,tag:S+9L,type:str]\n"
           "    encrypted_regex: ^password$\n    mac_only_encrypted: true\n"
           "    version: 3.11.0\n" if environment == "prod" else ""))
       for environment in ("stage", "prod")},
    # tests/fixtures/manifests' workloads
    "apps/shop.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: shop}\nspec:\n"
        "  template:\n    spec:\n      containers:\n        - name: core\n"
        "          image: ghcr.io/acme/core:core-stage-1  # bumped\n---\n"
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n"
        "  jobTemplate:\n    spec:\n      template:\n        spec:\n"
        "          containers:\n            - {name: report, image: 'ghcr.io/acme/batch@sha256:"
        + "b" * 64 + "'}\n---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: shop-web}\nspec:\n"
        "  template:\n    spec:\n      containers:\n"
        "      - {name: web, image: ghcr.io/acme/web:w-1}\n"
        "  strategy: {canary: {steps: [{setWeight: 20}, {pause: {}}]}}\n"),
}


# What editors and hands make of those files: a byte order mark with CRLF (Windows),
# UTF-16 (Notepad's "Unicode"), a key written twice, nested aliases ("billion laughs").
_BOMB = "bomb0: &b0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"bomb{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]\n" for i in range(1, 9))
DEPLOYMENT_VARIANTS = {
    "as written": lambda text: text.encode(),
    "bom-crlf": lambda text: ("\ufeff" + text).replace("\n", "\r\n").encode(),
    "utf-16": lambda text: text.encode("utf-16"),
    "key twice": lambda text: text.replace("    core: {tag: core-1}\n", "    core: {tag: core-1}\n"
                                           "    core: {tag: core-0}\n").replace(
        "    newTag: dev-1\n", "    newTag: dev-1\n    newTag: dev-0\n").encode(),
    "billion laughs": lambda text: (_BOMB + text).encode(),
}


def deployment_repository(workdir: Path, variant: str = "as written") -> Path:
    bare = workdir / f"deployment-{variant.replace(' ', '-')}.git"
    if bare.exists():
        return bare
    seed = workdir / f"deployment-seed-{variant.replace(' ', '-')}"
    for path, text in DEPLOYMENT_FILES.items():
        (seed / path).parent.mkdir(parents=True, exist_ok=True)
        (seed / path).write_bytes(DEPLOYMENT_VARIANTS[variant](text))
    environment = {**os.environ, "GIT_AUTHOR_NAME": "seed", "GIT_AUTHOR_EMAIL": "s@example",
                   "GIT_COMMITTER_NAME": "seed", "GIT_COMMITTER_EMAIL": "s@example"}
    for argv in (["git", "init", "-q", "--initial-branch=main", str(seed)],
                 ["git", "-C", str(seed), "add", "."],
                 ["git", "-C", str(seed), "commit", "-q", "-m", "seed"],
                 ["git", "-C", str(seed), "branch", "dev"],  # gointern's overlays' branch
                 ["git", "clone", "-q", "--bare", "--no-single-branch", str(seed), str(bare)]):
        subprocess.run(argv, check=True, env=environment, capture_output=True)
    return bare


def git_cases(path: str, bare: Path, rng: random.Random) -> Iterator[list[str]]:
    """bump, history, rollback and promote: dry runs against a real bare repository."""
    module = rng.choice(["core", "batch", "monitor", "system", "portal", "web",
                         rng.choice(HOSTILE)])
    repo = ["--repo", str(bare)]
    if rng.random() < 0.2:  # the deployment branch named on the command line
        repo.append(f"--branch={rng.choice(['main', 'dev', rng.choice(HOSTILE)])}")
    tag = rng.choice(["v2", "core-stage-1", rng.choice(HOSTILE)])
    bump = ["bump", path, "--module", module, "--dry-run", *repo]
    bump += rng.choice([["--tag", tag], ["--sha", rng.choice([SHA, "nothex"])],
                        ["--tag", f"{module}={tag}"], []])
    if rng.random() < 0.3:
        digest = rng.choice(["sha256:" + "a" * 64, rng.choice(HOSTILE)])
        bump += ["--digest", rng.choice([digest, f"{module}={digest}"])]
    if rng.random() < 0.3:  # the history it reads is not there: a clear refusal
        bump += [f"--newer-on={rng.choice(['main', 'origin/main', rng.choice(HOSTILE)])}",
                 *rng.choice([[], ["--source-repository", rng.choice([path, "/nonexistent"])]])]
    if rng.random() < 0.3:
        bump += rng.choice([["--set-repository"], ["--create"], ["--retries", "-1"]])
    yield bump
    yield ["history", path, "--module", module, *repo]
    yield ["rollback", path, "--module", module, "--dry-run", *repo,
           *rng.choice([["--steps", rng.choice(["1", "0", "-1", "x"])], ["--to", tag]])]
    yield ["promote", path, "--module", module, "--from", "stage", "--to",
           rng.choice(["stage", "dev", "prod"]), "--dry-run", *repo]


def hostile_round(workdir: Path, rng: random.Random, git: bool = True, large: float = 0.0,
                  timings: list[tuple[float, str]] | None = None,
                  shape: str | None = None) -> list[str]:
    """Mutate one example (or, with probability `large`, write a large spec, of `shape` if
    given), run every case on it; the findings, each with its argv. `timings` collects
    (seconds, argv) of every run, for the benchmark's slowest inputs."""
    directory = workdir / f"spec-{rng.randrange(10**9)}"
    directory.mkdir()
    (directory / ".git").mkdir()
    base = rng.choice(BASES).read_text()
    if rng.random() < 0.3:  # Tekton's CI of the project's dispatch (astrago's too)
        base = base.replace("\nci:\n", "\nci:\n  triggers: dispatch\n", 1)
    # A third of the rounds keep the example valid, so that hostile arguments, environments
    # and files reach the renderers and the git verbs instead of stopping at validation.
    draw = rng.random()
    text = base if draw < 0.35 else mutate(base, rng) if draw < 0.97 else ""
    spec = directory / "shipspec.yaml"
    if rng.random() < large:
        drawn, text = large_spec(rng, shape)
        spec.write_text(text)
        (directory / "shape").write_text(drawn)
    elif rng.random() < 0.05:
        spec.write_bytes(os.urandom(rng.randint(0, 256)))
    else:
        spec.write_text(text)
    findings = []
    runs = list(cases(directory, rng))
    if git:
        bare = deployment_repository(workdir, rng.choice(list(DEPLOYMENT_VARIANTS)))
        runs += [(argv, {}, "text") for argv in git_cases(str(directory), bare, rng)]
    outcomes = {}
    for argv, env, output in runs:
        started = time.perf_counter()
        outcome = run(argv, env)
        if timings is not None:
            timings.append((time.perf_counter() - started, " ".join(map(str, argv))))
        outcomes[tuple(argv)] = outcome
        findings += [f"{problem}: shipspec {' '.join(map(repr, argv))} "
                     f"(spec {spec}; stderr {outcome.err[:300]!r})"
                     for problem in problems(outcome, output)]
    if text == base and base == BASES[1].read_text():
        findings += image_split_findings(directory, rng)
    as_yaml = outcomes.get(("generate", str(directory)))
    as_json = outcomes.get(("generate", str(directory), "--format", "json"))
    if as_yaml and as_json and as_yaml.code == as_json.code == 0:
        findings += [f"{problem}: shipspec generate {directory}"
                     for problem in render_problems(as_yaml.out, as_json.out, spec)]
    return findings


def image_split_findings(directory: Path, rng: random.Random) -> list[str]:
    """astrago's charts pull <imageDefaults.registry>/<repository>: a values file that
    splits the image CI pushes anywhere (ghcr.io + xiilab/astrago-backend, ghcr.io/xiilab +
    astrago-backend) is right, and `values --check` (whose comparison `validate
    --deployment` shares) may not call it wrong."""
    parts = ["ghcr.io", "xiilab", "astrago-backend"]
    cut = rng.randint(1, len(parts) - 1)
    registry, repository = "/".join(parts[:cut]), "/".join(parts[cut:])
    values = (f"astrago:\n  imageDefaults:\n    registry: {registry}\n"
              f"    repository: {repository}\n  components:\n"
              "    core: {tag: c}\n    batch: {tag: b}\n    monitor: {tag: m}\n"
              "    frontend:\n      registry: ghcr.io\n      repository: xiilab/astrago-frontend\n"
              "      tag: f\n")
    checkout = directory / "deployment"
    path = checkout / "helmfile/environments/customers/xiilab/values.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(values)
    outcome = run(["values", str(directory), "--env", "stage", "--check", str(path)])
    if "CI pushes module" in outcome.err:
        return [f"a chart that pulls the right image is reported wrong: {registry} + "
                f"{repository} ({outcome.err[:300]!r})"]
    return []


def binding_values(documents: list[Any]) -> list[str]:
    """The values Tekton Triggers fills from the event: binding params only (v0.37.0,
    pkg/template/event.go: ResolveParams applies the event to a trigger's BindingParams;
    templates get $(tt.params...) alone). A ConfigMap holding the spec's text is not one."""
    bindings: list[Any] = []
    for document in documents:
        spec = document.get("spec") or {}
        if document.get("kind") == "TriggerBinding":
            bindings += spec.get("params") or []
        elif document.get("kind") == "Trigger":
            bindings += spec.get("bindings") or []
        elif document.get("kind") == "EventListener":
            for trigger in spec.get("triggers") or []:
                bindings += trigger.get("bindings") or []
    return [str(binding.get("value", "")) for binding in bindings]


def render_problems(yaml_text: str, json_text: str, spec: Path) -> list[str]:
    """JSON equal to YAML, and no object the spec did not ask for: every object is
    shipspec's, of the spec's own project."""
    documents = list(yaml.safe_load_all(yaml_text))
    found = []
    if json.loads(json_text).get("items") != documents:
        found.append("the JSON render differs from the YAML render")
    if any(WEBHOOK_REFERENCE in value for value in binding_values(documents)):
        found.append(f"{WEBHOOK_REFERENCE} from the spec reaches the render, where Tekton "
                     "Triggers would fill it from the webhook event")
    project = yaml.safe_load(spec.read_text()).get("project")
    for document in documents:
        labels = (document.get("metadata") or {}).get("labels") or {}
        if labels.get("app.kubernetes.io/managed-by") != "shipspec" or \
                labels.get("app.kubernetes.io/part-of") != project:
            found.append(f"an object the spec did not ask for: {document.get('kind')} "
                         f"{(document.get('metadata') or {}).get('name')}")
    return found
